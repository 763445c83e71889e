package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// opsStats is what the metrics read from a backend (internal/store/opsstats.go).
// It is not part of store.Store, so the suite asks for it here: a backend
// without it fails.
type opsStats interface {
	OutboxByStatus(ctx context.Context) ([]store.OutboxCount, error)
	OldestDueMessage(ctx context.Context, now time.Time) (time.Time, error)
	OverdueCheckpoints(ctx context.Context) (int, error)
	JourneysByPhase(ctx context.Context) ([]store.JourneyCount, error)
}

// testOpsStats: the operators' figures count what the outbox, the event log
// and the projections hold, an empty store counting nothing.
func testOpsStats(t *testing.T, s store.Store) {
	ops, ok := s.(opsStats)
	if !ok {
		t.Fatalf("%T has no operators' figures (OutboxByStatus, OldestDueMessage, OverdueCheckpoints, JourneysByPhase)", s)
	}
	sameOpsStats(t, "empty store", ops, base, nil, time.Time{}, 0, nil)
	in := newIntake(t, s)
	oldest := recordOutboxForStats(t, s, in)
	recordJourneysForStats(t, s, in)
	sameOpsStats(t, "filled store", ops, base,
		[]store.OutboxCount{{Status: store.MessageFailed, Messages: 1}, {Status: store.MessageQueued, Messages: 2}, {Status: store.MessageSent, Messages: 1}},
		oldest, 2,
		[]store.JourneyCount{{Phase: "", State: "submitted", Journeys: 1}, {Phase: "experimentation", State: "experimenting", Journeys: 1},
			{Phase: "lab-1", State: "in_labs", Journeys: 2}, {Phase: "lab-1", State: "withdrawn", Journeys: 1}})
	// Once the oldest is sent, nothing is due: the other queued message is not due yet.
	must(t, s.MarkSent(ctxFor(t), "due", "<x@y>", base))
	if got, err := ops.OldestDueMessage(ctxFor(t), base); err != nil || !got.IsZero() {
		t.Errorf("OldestDueMessage with nothing due = %v, %v; want the zero time", got, err)
	}
}

// recordOutboxForStats queues four messages, of which one is then sent
// and one failed (its recipient erased), and returns the SendAt of the
// oldest due one: not the older sent or failed ones, nor the one due later.
func recordOutboxForStats(t *testing.T, s store.Store, in store.Intake) time.Time {
	ctx, journey, erased := ctxFor(t), uuid.New(), newPerson(store.RoleParticipant)
	must(t, s.CreatePeople(ctx, []store.Person{erased}))
	failed := message(in, journey, "failed", base.Add(-4*time.Hour))
	failed.RecipientID = erased.ID
	_, err := s.Record(ctx, journeyEvent(in, journey, "stats-outbox", "t", nil),
		message(in, journey, "due", base.Add(-2*time.Hour)), message(in, journey, "sent", base.Add(-3*time.Hour)),
		failed, message(in, journey, "later", base.Add(time.Hour)))
	must(t, err)
	must(t, s.MarkSent(ctx, "sent", "<sent@x>", base))
	_, err = s.ErasePerson(ctx, erased.ID, base)
	must(t, err)
	return base.Add(-2 * time.Hour)
}

// recordJourneysForStats records five journeys, two of them with a
// checkpoint overdue and not completed. Not counted: a plan overdue, a
// checkpoint completed after it was overdue, and a checkpoint overdue on a
// journey that has since ended. A checkpoint recorded overdue twice (a
// pause moved its due time) counts once.
func recordJourneysForStats(t *testing.T, s store.Store, in store.Intake) {
	type step struct{ typ, item string }
	overdue := func(item string) step { return step{store.EventTaskOverdue, item} }
	completed := func(item string) step { return step{store.EventCheckpointCompleted, item} }
	for i, j := range []struct {
		phase string
		state contract.Status
		steps []step
	}{
		{"lab-1", "in_labs", []step{overdue("checkpoint/1"), overdue("plan"), overdue("checkpoint/1")}},
		{"experimentation", "experimenting", []step{overdue("checkpoint/2"), completed("checkpoint/2"), overdue("checkpoint/3")}},
		{"lab-1", "withdrawn", []step{overdue("checkpoint/1")}},
		{"lab-1", "in_labs", nil},
		{"", "submitted", nil},
	} {
		journey := uuid.New()
		snap := snapshot(in, journey, uuid.New(), j.state)
		snap.Phase = j.phase
		if j.state == "withdrawn" {
			snap.Outcome = j.state
		}
		for n, st := range append([]step{{"journey.recorded", ""}}, j.steps...) {
			ev := journeyEvent(in, journey, fmt.Sprintf("stats-%d-%d", i, n), st.typ, snap)
			ev.Data, _ = json.Marshal(map[string]string{"item": st.item})
			_, err := s.Record(ctxFor(t), ev)
			must(t, err)
		}
	}
}

// sameOpsStats fails unless every figure at now is as wanted (the counts in any order).
func sameOpsStats(t *testing.T, what string, ops opsStats, now time.Time,
	outbox []store.OutboxCount, oldest time.Time, overdue int, journeys []store.JourneyCount) {
	t.Helper()
	ctx := ctxFor(t)
	gotOutbox, err := ops.OutboxByStatus(ctx)
	must(t, err)
	slices.SortFunc(gotOutbox, func(a, b store.OutboxCount) int { return cmp.Compare(a.Status, b.Status) })
	if !reflect.DeepEqual(gotOutbox, outbox) {
		t.Errorf("%s: OutboxByStatus = %+v, want %+v", what, gotOutbox, outbox)
	}
	gotOldest, err := ops.OldestDueMessage(ctx, now)
	must(t, err)
	sameTime(t, what+": OldestDueMessage", gotOldest, oldest)
	gotOverdue, err := ops.OverdueCheckpoints(ctx)
	must(t, err)
	if gotOverdue != overdue {
		t.Errorf("%s: OverdueCheckpoints = %d, want %d", what, gotOverdue, overdue)
	}
	gotJourneys, err := ops.JourneysByPhase(ctx)
	must(t, err)
	slices.SortFunc(gotJourneys, func(a, b store.JourneyCount) int {
		return cmp.Or(cmp.Compare(a.Phase, b.Phase), cmp.Compare(a.State, b.State))
	})
	if !reflect.DeepEqual(gotJourneys, journeys) {
		t.Errorf("%s: JourneysByPhase = %+v, want %+v", what, gotJourneys, journeys)
	}
}
