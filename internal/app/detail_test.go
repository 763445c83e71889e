package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"

	"github.com/infuse-cymru/journeys/internal/store"
)

// A journey whose workflow is gone (past retention) is shown from the store.
func TestJourneyDetailFallsBackToTheStore(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Tom", FamilyName: "Ashworth", EmailAddress: "tom@example.org"}
	if err := s.Store.CreatePeople(ctx, []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	journey, intake := uuid.New(), uuid.New()
	err := s.Store.CreateIntake(ctx, store.Intake{ID: intake, Name: "Cohort 0", CoordinatorID: p.ID, Capacity: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Store.Record(ctx, store.Event{
		Key: "test/1", IntakeID: intake, JourneyID: journey, Type: "journey.completed",
		Data:     json.RawMessage(`{"item":"reflection"}`),
		Snapshot: &store.JourneySnapshot{JourneyID: journey, PersonID: p.ID, State: "completed", Outcome: "completed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Views.JourneyDetail(ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	if d.Live != nil || d.LiveError != "" || d.Journey.State != "completed" || d.Participant.Name != "Tom Ashworth" {
		t.Errorf("fallback detail = %+v", d)
	}
	if len(d.Timeline) != 1 || d.Timeline[0].Item != "reflection" {
		t.Errorf("timeline = %+v", d.Timeline)
	}
	if _, err := s.Views.JourneyDetail(ctx, uuid.New()); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown journey: %v", err)
	}
}
