package starter

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/testenv"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
)

// withTemporal is a Service on a real in-process Temporal server with the
// real worker, and a SQLite store.
func withTemporal(t *testing.T) *Service {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	return New(testenv.Start(t, st).GetDefaultClient(), st)
}

func TestSeedDemo(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	d, err := s.SeedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run in %v: %q", time.Since(began).Round(time.Millisecond), d.Done)
	if len(d.ParticipantIDs) != 24 || len(d.CoachIDs) != 3 || d.CoordinatorID == uuid.Nil {
		t.Fatalf("people: %d participants, %d coaches, coordinator %s", len(d.ParticipantIDs), len(d.CoachIDs), d.CoordinatorID)
	}

	again, err := s.SeedDemo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Done) != 0 || again.AlphaID != d.AlphaID || again.Cohort2ID != d.Cohort2ID {
		t.Errorf("second run did something: %q (alpha %s → %s)", again.Done, d.AlphaID, again.AlphaID)
	}

	// Once the start has reached every journey: 18 in the programme, the
	// two unanswered offers and the four waitlisted not selected.
	var dash IntakeDashboard
	err = s.waitFor(ctx, "the start to reach every journey", func() (bool, error) {
		dash, err = s.IntakeDashboard(ctx, d.AlphaID, DashboardPage{})
		return dash.Counts["awaiting_start"] == 18 && dash.Counts["not_selected"] == 6, err
	})
	if err != nil {
		t.Fatalf("%v; counts %v", err, dash.Counts)
	}
	if dash.Intake.Status != store.IntakeStarted || len(dash.Rows) != 24 {
		t.Errorf("Cohort Alpha is %s with %d rows", dash.Intake.Status, len(dash.Rows))
	}
	if len(dash.ByLocalAuthority) != len(LocalAuthorities) || len(dash.ByTheme) != 2 {
		t.Errorf("spread: %v / %v", dash.ByLocalAuthority, dash.ByTheme)
	}
	for _, r := range dash.Rows {
		if r.Name == "" || r.Name == ErasedName || r.CoachName == "" {
			t.Errorf("row without names: %+v", r)
		}
	}
	c2, err := s.IntakeDashboard(ctx, d.Cohort2ID, DashboardPage{})
	if err != nil || len(c2.Rows) != 0 {
		t.Errorf("Cohort 2: %d rows, %v", len(c2.Rows), err)
	}

	detail, err := s.JourneyDetail(ctx, dash.Rows[0].JourneyID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Live == nil || len(detail.Timeline) == 0 || detail.Participant.Name != dash.Rows[0].Name {
		t.Errorf("journey detail: live %v, %d timeline entries, %q", detail.Live != nil, len(detail.Timeline), detail.Participant.Name)
	}
}

// A journey whose workflow is gone (past retention) is shown from the store.
func TestJourneyDetailFallsBackToTheStore(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.ImportPeople(ctx, strings.NewReader(goodPeople)); err != nil {
		t.Fatal(err)
	}
	p, err := s.FindPerson(ctx, "tom@example.org")
	if err != nil {
		t.Fatal(err)
	}
	journey, intake := uuid.New(), uuid.New()
	err = s.Store.CreateIntake(ctx, store.Intake{ID: intake, Name: "Cohort 0", CoordinatorID: p.ID, Capacity: 1})
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
	d, err := s.JourneyDetail(ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	if d.Live != nil || d.LiveError != "" || d.Journey.State != "completed" || d.Participant.Name != "Tom Ashworth" {
		t.Errorf("fallback detail = %+v", d)
	}
	if len(d.Timeline) != 1 || d.Timeline[0].Item != "reflection" {
		t.Errorf("timeline = %+v", d.Timeline)
	}
	if _, err := s.JourneyDetail(ctx, uuid.New()); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown journey: %v", err)
	}
}
