package views

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The inbox shows what a coach can complete now, overdue first, judged
// against the real clock rather than the workflow's last task; checkpoints
// of journeys the coach no longer has, or that are paused, are not theirs
// to complete. The store's projection of the same journeys gives the same
// list as their workflows' views.
func TestInboxOrdersOverdueFirst(t *testing.T) {
	now := time.Date(2022, 2, 14, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	coach := uuid.New()
	a, b := uuid.New(), uuid.New()
	cp := func(id string, opens, due time.Duration) workflows.ItemView {
		return workflows.ItemView{ID: id, OpensAt: now.Add(opens), DueAt: now.Add(due)}
	}
	done := cp("checkpoint/0", -40*day, -30*day)
	done.CompletedAt = now.Add(-31 * day)
	views := []workflows.JourneyView{
		{JourneyID: a, CoachID: coach, Status: contract.StatusExperimenting, Checkpoints: []workflows.ItemView{
			done, cp("checkpoint/1", -20*day, -6*day), cp("checkpoint/2", -6*day, 8*day), cp("checkpoint/3", 8*day, 22*day)}},
		// Its workflow last ran before checkpoint/1 fell due, so the view
		// does not flag it; the inbox must.
		{JourneyID: b, CoachID: coach, Status: contract.StatusInLabs, Checkpoints: []workflows.ItemView{
			cp("checkpoint/1", -20*day, -day), cp("checkpoint/2", -12*day, 2*day)}},
		{JourneyID: uuid.New(), CoachID: uuid.New(), Status: contract.StatusExperimenting, Checkpoints: []workflows.ItemView{
			cp("checkpoint/1", -20*day, -10*day)}},
		{JourneyID: uuid.New(), CoachID: coach, Status: contract.StatusPaused, Checkpoints: []workflows.ItemView{
			cp("checkpoint/1", -20*day, -10*day)}},
		{JourneyID: uuid.New(), CoachID: coach, Status: contract.StatusWithdrawn, Checkpoints: []workflows.ItemView{
			cp("checkpoint/1", -20*day, -10*day)}},
	}
	// The same journeys as the store projects them: checkpoints not yet
	// completed, the completed one gone.
	var snaps []store.JourneySnapshot
	for _, v := range views {
		snap := store.JourneySnapshot{JourneyID: v.JourneyID, CoachID: v.CoachID, State: v.Status, CheckpointsKnown: true}
		for _, c := range v.Checkpoints {
			if c.CompletedAt.IsZero() {
				snap.Checkpoints = append(snap.Checkpoints, store.Checkpoint{ID: c.ID, OpensAt: c.OpensAt, DueAt: c.DueAt})
			}
		}
		snaps = append(snaps, snap)
	}
	list := func(items []InboxItem) string {
		sortInbox(items)
		var got []string
		for _, it := range items {
			j := "a"
			if it.JourneyID == b {
				j = "b"
			}
			got = append(got, fmt.Sprintf("%s %s overdue=%v", j, it.CheckpointID, it.Overdue))
		}
		return strings.Join(got, "\n")
	}
	want := strings.Join([]string{
		"a checkpoint/1 overdue=true",
		"b checkpoint/1 overdue=true",
		"b checkpoint/2 overdue=false",
		"a checkpoint/2 overdue=false",
	}, "\n")
	var fromViews, fromSnaps []InboxItem
	for _, v := range views {
		fromViews = append(fromViews, openCheckpoints(viewCheckpoints(v), coach, PersonSummary{ID: v.PersonID}, now)...)
	}
	for _, j := range snaps {
		fromSnaps = append(fromSnaps, openCheckpoints(snapshotCheckpoints(j), coach, PersonSummary{}, now)...)
	}
	if got := list(fromViews); got != want {
		t.Errorf("inbox from the workflows' views:\n%s\nwant:\n%s", got, want)
	}
	if got := list(fromSnaps); got != want {
		t.Errorf("inbox from the store's projection:\n%s\nwant:\n%s", got, want)
	}
}
