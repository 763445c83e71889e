package app_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A later intake can refuse a deferral, through a real Temporal server:
// one that is full says so, and the participant's journey stays as it
// was, still accepted in their own intake. Once the later intake has room
// the same deferral goes through, and the participant has one journey
// there.
func TestAFullIntakeRefusesADeferralAndTheJourneyStays(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	coordinator, coach, participant := coordinatorCoachAndParticipant(ctx, t, s)
	other := uuid.New()
	err := s.Store.CreatePeople(ctx, []store.Person{{ID: other, Role: store.RoleParticipant,
		GivenName: "Rhian", FamilyName: "Morgan", EmailAddress: "rhian@example.org", LocalAuthority: "Torfaen", Theme: "climate"}})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	open := func(name string, capacity int, startsIn time.Duration) store.Intake {
		in, err := s.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: name, CoordinatorID: coordinator, Capacity: capacity,
			OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(startsIn / 2), StartsOn: now.Add(startsIn)})
		if err != nil {
			t.Fatal(err)
		}
		err = starter.WaitFor(ctx, name+" to open", func() (bool, error) {
			got, err := s.Store.GetIntake(ctx, in.ID)
			return got.Status == store.IntakeOpen, err
		})
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	offer := func(intake, person uuid.UUID) uuid.UUID {
		j, err := s.Commands.Apply(ctx, intake, person, coach)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Commands.Decide(ctx, intake, j, workflows.DecisionOffer); err != nil {
			t.Fatal(err)
		}
		return j
	}
	own, later := open("Cohort 11", 20, 72*time.Hour), open("Cohort 12", 1, 40*24*time.Hour)
	offer(later.ID, other) // the later intake's one place
	journey := offer(own.ID, participant)
	if _, err := s.Commands.RespondToOffer(ctx, journey, true); err != nil {
		t.Fatal(err)
	}

	_, err = s.Commands.Defer(ctx, journey, later.ID)
	if !errors.Is(err, apperr.ErrRejected) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("deferring into a full intake: %v, want it refused as full", err)
	}
	if snap, err := s.Views.Journey(ctx, journey); err != nil || snap.State != contract.StatusAccepted {
		t.Errorf("after the refusal the journey is %q (%v), want it still accepted", snap.State, err)
	}
	if d, err := s.Views.IntakeDashboard(ctx, later.ID, views.DashboardPage{}); err != nil || len(d.Rows) != 1 {
		t.Errorf("the full intake holds %d journeys (%v), want only its own applicant", len(d.Rows), err)
	}

	two := 2
	if _, err := s.Commands.EditIntake(ctx, later.ID, commands.IntakeEdit{Capacity: &two}); err != nil {
		t.Fatal(err)
	}
	moved, err := s.Commands.Defer(ctx, journey, later.ID)
	if err != nil {
		t.Fatalf("deferring once the later intake has room: %v", err)
	}
	var counts map[workflows.Status]int
	err = starter.WaitFor(ctx, "the later intake to hold the deferral", func() (bool, error) {
		err := s.Workflows.QueryIntake(ctx, later.ID, workflows.QueryIntakeCounts, &counts)
		return counts[contract.StatusAccepted] == 1, err
	})
	if err != nil || counts[contract.StatusOffered] != 1 {
		t.Errorf("the later intake counts %v (%v), want its applicant offered and the deferral %s accepted", counts, err, moved)
	}
	err = starter.WaitFor(ctx, "the journey to end deferred", func() (bool, error) {
		snap, err := s.Views.Journey(ctx, journey)
		return snap.State == contract.StatusDeferred, err
	})
	if err != nil {
		t.Error(err)
	}
}
