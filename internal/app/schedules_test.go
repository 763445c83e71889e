package app_test

import (
	"context"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Before the start an intake's sessions are the programme's plan for its
// start date, found without Temporal (this service has none); once it has
// started, moves can exist, and without the workflow to ask there is no
// answer rather than one that may be stale.
func TestIntakeSessionsBeforeAndAfterTheStart(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	in := apptest.NewCohort(t, s.Store, "Cohort 1").Intake
	got, err := s.Views.IntakeSessions(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	p, err := programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Schedule(programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	var want []programme.Item
	for _, it := range plan.Items {
		if it.Kind == programme.KindSession {
			want = append(want, it)
		}
	}
	if len(got) == 0 || len(got) != len(want) {
		t.Fatalf("%d sessions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID || !got[i].OpensAt.Equal(want[i].OpensAt) {
			t.Errorf("session %d is %s at %v, want %s at %v", i, got[i].ID, got[i].OpensAt, want[i].ID, want[i].OpensAt)
		}
	}

	in.Status = store.IntakeStarted
	if _, err := s.Views.IntakeSessions(ctx, in); err == nil {
		t.Error("a started intake's sessions without its workflow to ask: no error")
	}
}
