package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/demo"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/starter"
)

// The tests share one Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }

func TestSeedDemo(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	st := sqlitestore.OpenTest(t)
	s := app.New(testenv.Start(t, st).GetDefaultClient(), st)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	d, err := demo.Seed(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first run in %v: %q", time.Since(began).Round(time.Millisecond), d.Done)
	if len(d.ParticipantIDs) != 24 || len(d.CoachIDs) != 3 || d.CoordinatorID == uuid.Nil {
		t.Fatalf("people: %d participants, %d coaches, coordinator %s", len(d.ParticipantIDs), len(d.CoachIDs), d.CoordinatorID)
	}

	again, err := demo.Seed(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Done) != 0 || again.AlphaID != d.AlphaID || again.Cohort2ID != d.Cohort2ID {
		t.Errorf("second run did something: %q (alpha %s → %s)", again.Done, d.AlphaID, again.AlphaID)
	}

	// Once the start has reached every journey: 18 in the programme, the
	// two unanswered offers and the four waitlisted not selected.
	var dash views.IntakeDashboard
	err = starter.WaitFor(ctx, "the start to reach every journey", func() (bool, error) {
		dash, err = s.Views.IntakeDashboard(ctx, d.AlphaID, views.DashboardPage{})
		return dash.Counts["awaiting_start"] == 18 && dash.Counts["not_selected"] == 6, err
	})
	if err != nil {
		t.Fatalf("%v; counts %v", err, dash.Counts)
	}
	if dash.Intake.Status != store.IntakeStarted || len(dash.Rows) != 24 {
		t.Errorf("Cohort Alpha is %s with %d rows", dash.Intake.Status, len(dash.Rows))
	}
	if len(dash.ByLocalAuthority) != len(programme.LocalAuthorities) || len(dash.ByTheme) != 2 {
		t.Errorf("spread: %v / %v", dash.ByLocalAuthority, dash.ByTheme)
	}
	for _, r := range dash.Rows {
		if r.Name == "" || r.Name == views.ErasedName || r.CoachName == "" {
			t.Errorf("row without names: %+v", r)
		}
	}
	c2, err := s.Views.IntakeDashboard(ctx, d.Cohort2ID, views.DashboardPage{})
	if err != nil || len(c2.Rows) != 0 {
		t.Errorf("Cohort 2: %d rows, %v", len(c2.Rows), err)
	}

	detail, err := s.Views.JourneyDetail(ctx, dash.Rows[0].JourneyID)
	if err != nil {
		t.Fatal(err)
	}
	if detail.Live == nil || len(detail.Timeline) == 0 || detail.Participant.Name != dash.Rows[0].Name {
		t.Errorf("journey detail: live %v, %d timeline entries, %q", detail.Live != nil, len(detail.Timeline), detail.Participant.Name)
	}
}
