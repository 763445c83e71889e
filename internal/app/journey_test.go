package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/starter"
)

// A journey the store has not heard of yet is found through its workflow.
// To hold the store back for good, the worker here records into a store of
// its own: the service's store never gets the projection, as it has not in
// the moment after an application.
func TestJourneyBeforeItIsProjected(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, workers := sqlitestore.OpenTest(t), sqlitestore.OpenTest(t)
	s := newFixture(testenv.Start(t, workers).GetDefaultClient(), st)
	coord, coach, person := uuid.New(), uuid.New(), uuid.New()
	people := []store.Person{
		{ID: coord, Role: store.RoleCoordinator, GivenName: "Megan", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", EmailAddress: "nia@example.org"},
		{ID: person, Role: store.RoleParticipant, GivenName: "Aled", EmailAddress: "aled@example.org"},
	}
	for _, db := range []store.Store{st, workers} {
		if err := db.CreatePeople(ctx, people); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	in, err := s.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: "Cohort 9", CoordinatorID: coord, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := workers.CreateIntake(ctx, in); err != nil { // the intake workflow records into it
		t.Fatal(err)
	}
	var journey uuid.UUID
	err = starter.WaitFor(ctx, "the intake to open", func() (bool, error) {
		journey, err = s.Commands.Apply(ctx, in.ID, person, coach)
		return err == nil, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetJourney(ctx, journey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the service's store knows the journey (%v): the test cannot hold it back", err)
	}
	var j store.JourneySnapshot
	err = starter.WaitFor(ctx, "the journey workflow", func() (bool, error) {
		j, err = s.Views.Journey(ctx, journey)
		return err == nil, nil
	})
	if err != nil {
		t.Fatalf("Journey before projection: %v", err)
	}
	if j.JourneyID != journey || j.IntakeID != in.ID || j.PersonID != person || j.CoachID != coach {
		t.Errorf("Journey = %+v, want the journey of %s coached by %s in %s", j, person, coach, in.ID)
	}
	for _, who := range []struct {
		id      uuid.UUID
		role    store.Role
		visible bool
	}{{coord, store.RoleCoordinator, true}, {coach, store.RoleCoach, true}, {person, store.RoleParticipant, true},
		{uuid.New(), store.RoleCoach, false}, {uuid.New(), store.RoleParticipant, false}, {person, store.RoleCoach, false}} {
		_, err := s.Views.VisibleJourney(ctx, journey, who.id, who.role)
		if who.visible != (err == nil) || (err != nil && !errors.Is(err, apperr.ErrNotFound)) {
			t.Errorf("VisibleJourney for %s %s: %v, want visible %v (else apperr.ErrNotFound)", who.role, who.id, err, who.visible)
		}
	}
	if _, err := s.Views.Journey(ctx, uuid.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("an unknown journey: %v, want apperr.ErrNotFound", err)
	}
}
