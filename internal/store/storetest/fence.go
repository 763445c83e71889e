package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Events recorded from inside a workflow task (Event.Attempt; see
// store.Store.Record): a later attempt replaces a failed one's events, and
// a replaced attempt may write nothing.

// Fences of a journey's task attempts, in order: an earlier task's (which
// committed), a failed attempt at the next task (A), its retry (B).
var (
	fenceEarlier = store.FenceOf(0, 5, 1)
	fenceA       = store.FenceOf(0, 11, 1)
	fenceB       = store.FenceOf(0, 11, 2)
)

// streamOf is a journey's stream, as its workflow names it.
func streamOf(journey uuid.UUID) string { return "journey/" + journey.String() }

// fenced is a journey's event n of its stream, written by the attempt with
// fence, keyed (as the workflow keys it) by stream and number alone.
func fenced(in store.Intake, snap *store.JourneySnapshot, n int64, fence int64, typ string, data string) store.Event {
	ev := journeyEvent(in, snap.JourneyID, fmt.Sprintf("%s/%d", snap.JourneyID, n), typ, snap)
	if data != "" {
		ev.Data = json.RawMessage(data)
	} else {
		ev.Data = nil
	}
	ev.Attempt = &store.TaskAttempt{Stream: streamOf(snap.JourneyID), Seq: n, Fence: fence}
	return ev
}

// withState is a copy of snap in state.
func withState(snap *store.JourneySnapshot, state contract.Status) *store.JourneySnapshot {
	c := *snap
	c.State = state
	return &c
}

// record records ev (with msgs) and fails unless Record says recorded.
func record(t *testing.T, s store.Store, ev store.Event, msgs ...store.Message) {
	t.Helper()
	ok, err := s.Record(ctxFor(t), ev, msgs...)
	if err != nil || !ok {
		t.Fatalf("Record(%q) = %v, %v; want true, nil", ev.Key, ok, err)
	}
}

// streamShows fails unless the journey's events are, in log order, want:
// each "key type fence".
func streamShows(t *testing.T, s store.Store, journey uuid.UUID, want ...string) []store.Event {
	t.Helper()
	evs, err := s.JourneyEvents(ctxFor(t), journey)
	must(t, err)
	var got []string
	for i, ev := range evs {
		if i > 0 && ev.Seq <= evs[i-1].Seq {
			t.Errorf("events out of the log's order: %d after %d", ev.Seq, evs[i-1].Seq)
		}
		fence := "unfenced"
		if ev.Attempt != nil {
			fence = fmt.Sprint(ev.Attempt.Fence)
		}
		got = append(got, fmt.Sprintf("%s %s %s", strings.TrimPrefix(ev.Key, journey.String()+"/"), ev.Type, fence))
	}
	if !slices.Equal(got, want) {
		t.Errorf("journey's events:\n got %q\nwant %q", got, want)
	}
	return evs
}

// outboxShows fails unless the journey's messages are, by key, want.
func outboxShows(t *testing.T, s store.Store, journey uuid.UUID, when string, want ...string) {
	t.Helper()
	msgs, err := s.ListMessages(ctxFor(t), store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if got := slices.Sorted(slices.Values(keys(msgs))); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("journey %s's outbox %s = %v, want %v", journey, when, got, want)
	}
}

// fenceLine is how streamShows writes an event.
func fenceLine(key any, typ string, fence int64) string {
	return fmt.Sprintf("%v %s %d", key, typ, fence)
}

// testFenceReplacesFailedAttempt: attempt A records events 3 and 4 of a
// stream, fails; B, the retry, records a different 3 (under the same key),
// which replaces A's 3 and 4 and shows in the journey's row, then its own 4.
func testFenceReplacesFailedAttempt(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	record(t, s, fenced(in, withState(snap, "started"), 1, fenceEarlier, "journey.started", ""))
	record(t, s, fenced(in, withState(snap, "offered"), 2, fenceEarlier, "offer.made", ""))
	record(t, s, fenced(in, withState(snap, "A3"), 3, fenceA, "coach.assigned", `{"coach":"a"}`))
	record(t, s, fenced(in, withState(snap, "A4"), 4, fenceA, "session.booked", ""))
	before := streamShows(t, s, j, fenceLine(1, "journey.started", fenceEarlier), fenceLine(2, "offer.made", fenceEarlier),
		fenceLine(3, "coach.assigned", fenceA), fenceLine(4, "session.booked", fenceA))

	record(t, s, fenced(in, withState(snap, "B3"), 3, fenceB, "offer.accepted", `{"by":"b"}`), message(in, j, "mB3", base))
	evs := streamShows(t, s, j, fenceLine(1, "journey.started", fenceEarlier), fenceLine(2, "offer.made", fenceEarlier),
		fenceLine(3, "offer.accepted", fenceB))
	if got := evs[2]; got.Seq <= before[3].Seq || string(got.Data) != `{"by":"b"}` ||
		*got.Attempt != (store.TaskAttempt{Stream: streamOf(j), Seq: 3, Fence: fenceB}) {
		t.Errorf("B's event 3 = seq %d, data %s, attempt %+v; want a seq after A's last (%d), B's data and attempt",
			got.Seq, got.Data, got.Attempt, before[3].Seq)
	}
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B3" {
		t.Errorf("journey after B's event 3 = %+v, %v; want B's snapshot (B3)", got, err)
	}

	record(t, s, fenced(in, withState(snap, "B4"), 4, fenceB, "session.booked", `{"by":"b"}`))
	streamShows(t, s, j, fenceLine(1, "journey.started", fenceEarlier), fenceLine(2, "offer.made", fenceEarlier),
		fenceLine(3, "offer.accepted", fenceB), fenceLine(4, "session.booked", fenceB))
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B4" {
		t.Errorf("journey after B's event 4 = %+v, %v; want B's snapshot (B4)", got, err)
	}

	// C, a later attempt still, records event 3 just as B did: the same
	// key, type and data, but another fence. B's 3 stays where it is in
	// the log, with the message it queued (a deliverer may be sending it),
	// and takes C's fence; B's 4 goes.
	kept := evs
	again := fenced(in, withState(snap, "C3"), 3, store.FenceOf(0, 11, 3), "offer.accepted", `{"by":"b"}`)
	if ok, err := s.Record(ctx, again, message(in, j, "mC3", base)); ok || err != nil {
		t.Errorf("Record of B's event 3 again by C = %v, %v; want false, nil: kept, not appended", ok, err)
	}
	evs = streamShows(t, s, j, fenceLine(1, "journey.started", fenceEarlier), fenceLine(2, "offer.made", fenceEarlier),
		fenceLine(3, "offer.accepted", again.Attempt.Fence))
	if len(evs) == 3 && len(kept) == 3 && evs[2].Seq != kept[2].Seq {
		t.Errorf("B's event 3 kept by C moved from seq %d to %d: it was recorded again", kept[2].Seq, evs[2].Seq)
	}
	// C's message for it is the same notice made at another moment (a
	// notice's key holds its time): queued too, it would go twice.
	outboxShows(t, s, j, "once C kept B's event 3", "mB3")
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B3" {
		t.Errorf("journey after C kept event 3 = %+v, %v; want the snapshot of the event kept (B3), not B4's", got, err)
	}
	_, err := s.Record(ctx, fenced(in, withState(snap, "B4"), 4, fenceB, "session.booked", `{"by":"b"}`))
	mustIs(t, "B's event 4 once C kept event 3", err, store.ErrStaleAttempt)
}

// testFenceReprojectsJourney: when the replacing event carries no snapshot,
// the journey's row goes back to the latest snapshot left in the log (not
// the dropped one's); when none is left, the journey has no row.
func testFenceReprojectsJourney(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	record(t, s, fenced(in, withState(snap, "offered"), 1, fenceEarlier, "offer.made", ""))
	record(t, s, fenced(in, withState(snap, "withdrawn"), 2, fenceA, "journey.withdrawn", ""))
	noSnapshot := fenced(in, snap, 2, fenceB, "note.added", "")
	noSnapshot.Snapshot = nil
	record(t, s, noSnapshot)
	if got, err := s.GetJourney(ctx, snap.JourneyID); err != nil || got.State != "offered" {
		t.Errorf("journey once A's event 2 is replaced by one without a snapshot = %+v, %v; want event 1's (offered)", got, err)
	}

	other := snapshot(in, uuid.New(), uuid.New(), "submitted")
	record(t, s, fenced(in, other, 1, fenceA, "application.submitted", ""))
	first := fenced(in, other, 1, fenceB, "note.added", "")
	first.Snapshot = nil
	record(t, s, first)
	_, err := s.GetJourney(ctx, other.JourneyID)
	mustNotFound(t, "journey whose only snapshot was dropped", err)
}

// testFenceDropsQueuedMessages: the messages a replaced event queued go
// while still queued; one already sent stays as it was, and is not queued
// again when the replacing event queues the same key.
func testFenceDropsQueuedMessages(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	at := base.Add(time.Hour)
	msg := func(key string) store.Message { return message(in, j, key, at) }
	record(t, s, fenced(in, snap, 1, fenceEarlier, "journey.started", ""), msg("welcome"))
	record(t, s, fenced(in, snap, 2, fenceA, "session.booked", ""), msg("invite"), msg("reminder"))
	record(t, s, fenced(in, snap, 3, fenceA, "session.booked", `{"n":2}`), msg("invite-2"))
	sentAt := base.Add(2 * time.Hour)
	must(t, s.MarkSent(ctx, "invite", "<invite@example.org>", sentAt))

	record(t, s, fenced(in, snap, 2, fenceB, "session.booked", `{"n":1}`), msg("invite"), msg("reminder-b"))
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: j})
	must(t, err)
	got := map[string]store.MessageStatus{}
	for _, m := range msgs {
		got[m.Key] = m.Status
	}
	want := map[string]store.MessageStatus{"welcome": store.MessageQueued, "invite": store.MessageSent, "reminder-b": store.MessageQueued}
	if !maps.Equal(got, want) {
		t.Errorf("outbox after B replaced A's events 2 and 3 = %v\nwant %v (A's queued messages gone, its sent one kept, not queued again)", got, want)
	}
	sent := getMessage(t, s, j, "invite")
	sameTime(t, "the sent message's SentAt", sent.SentAt, sentAt)
	if sent.MessageID != "<invite@example.org>" {
		t.Errorf("the sent message's MessageID = %q, want it kept", sent.MessageID)
	}
	due, err := s.DueMessages(ctx, at.Add(time.Hour), 0)
	must(t, err)
	if got := keys(due); !slices.Equal(slices.Sorted(slices.Values(got)), []string{"reminder-b", "welcome"}) {
		t.Errorf("due messages = %v, want reminder-b and welcome", got)
	}
}

// testFenceJourneyFacts: what the outcomes report counts of a journey
// (attendance, checkpoints, when it ended) forgets the dropped events, and
// keeps what the events left count; RebuildProjections agrees.
func testFenceJourneyFacts(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	p := newPerson(store.RoleParticipant)
	p.LocalAuthority, p.Theme = "Torfaen", "data"
	must(t, s.CreatePeople(ctx, []store.Person{p}))
	snap := snapshot(in, uuid.New(), p.ID, "in_labs")
	record(t, s, fenced(in, snap, 1, fenceEarlier, store.EventAttended, `{"item":"lab/1"}`))
	record(t, s, fenced(in, snap, 2, fenceA, store.EventAttended, `{"item":"lab/2"}`))
	record(t, s, fenced(in, snap, 3, fenceA, store.EventCheckpointCompleted, `{"item":"checkpoint/1"}`))
	withdrawn := withState(snap, "withdrawn")
	withdrawn.Outcome = "withdrawn"
	record(t, s, fenced(in, withdrawn, 4, fenceA, "journey.withdrawn", ""))
	// Another journey, whose facts nothing drops.
	bystander := snapshot(in, uuid.New(), p.ID, "in_labs")
	record(t, s, fenced(in, bystander, 1, fenceA, store.EventAttended, `{"item":"lab/1"}`))

	outcomes := func(when string, want ...store.JourneyOutcome) {
		t.Helper()
		got, err := s.JourneyOutcomes(ctx, in.ID)
		must(t, err)
		slices.SortFunc(want, func(x, y store.JourneyOutcome) int {
			return strings.Compare(x.JourneyID.String(), y.JourneyID.String())
		})
		if len(got) != len(want) {
			t.Fatalf("JourneyOutcomes %s = %+v\nwant %+v", when, got, want)
		}
		for i := range got {
			g, w := got[i], want[i]
			sameTime(t, fmt.Sprintf("JourneyOutcomes %s, journey %s EndedAt", when, g.JourneyID), g.EndedAt, w.EndedAt)
			g.EndedAt, w.EndedAt = time.Time{}, time.Time{}
			if g != w {
				t.Errorf("JourneyOutcomes %s:\n got %+v\nwant %+v", when, g, w)
			}
		}
	}
	other := store.JourneyOutcome{JourneyID: bystander.JourneyID, State: "in_labs", LocalAuthority: "Torfaen", Theme: "data", SessionsAttended: 1}
	outcomes("after A's events", store.JourneyOutcome{JourneyID: snap.JourneyID, State: "withdrawn", Outcome: "withdrawn",
		LocalAuthority: "Torfaen", Theme: "data", SessionsAttended: 2, CheckpointsCompleted: 1, EndedAt: base}, other)

	record(t, s, fenced(in, snap, 2, fenceB, store.EventAbsent, `{"item":"lab/2"}`))
	after := store.JourneyOutcome{JourneyID: snap.JourneyID, State: "in_labs", LocalAuthority: "Torfaen", Theme: "data", SessionsAttended: 1}
	outcomes("after B replaced A's events", after, other)

	wiper, ok := s.(ProjectionWiper)
	if !ok {
		t.Fatalf("%T does not implement storetest.ProjectionWiper", s)
	}
	must(t, wiper.WipeProjections(ctx))
	must(t, s.RebuildProjections(ctx))
	outcomes("rebuilt", after, other)
	if got, err := s.GetJourney(ctx, snap.JourneyID); err != nil || got.State != "in_labs" || got.Outcome != "" {
		t.Errorf("journey rebuilt = %+v, %v; want B's (in_labs, no outcome)", got, err)
	}
}

// testFenceIntakeStatus: an intake whose status a dropped event set goes
// back to that of its latest event left with one, or to the status it was
// created with.
func testFenceIntakeStatus(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s) // open
	stream := "intake/" + in.ID.String()
	ev := func(n, fence int64, status store.IntakeStatus) store.Event {
		return store.Event{Key: fmt.Sprintf("%s/%d", stream, n), IntakeID: in.ID, Type: "intake.changed", IntakeStatus: status,
			Data: json.RawMessage(fmt.Sprintf(`{"fence":%d}`, fence)), Attempt: &store.TaskAttempt{Stream: stream, Seq: n, Fence: fence}}
	}
	status := func(when string, want store.IntakeStatus) {
		t.Helper()
		got, err := s.GetIntake(ctx, in.ID)
		if err != nil || got.Status != want {
			t.Errorf("intake status %s = %q, %v; want %q", when, got.Status, err, want)
		}
	}
	record(t, s, ev(1, fenceEarlier, store.IntakeClosed))
	record(t, s, ev(2, fenceA, store.IntakeStarted))
	status("after A's event", store.IntakeStarted)
	record(t, s, ev(2, fenceB, ""))
	status("once B replaced A's event 2 with one without a status", store.IntakeClosed)
	record(t, s, ev(1, store.FenceOf(0, 11, 3), ""))
	status("once every event with a status is dropped", store.IntakeOpen)
}

// testFenceStaleAttempt: once a later attempt has recorded a stream, an
// earlier one's event is refused with ErrStaleAttempt and writes nothing.
func testFenceStaleAttempt(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	at := base.Add(time.Hour)
	record(t, s, fenced(in, withState(snap, "A1"), 1, fenceA, "journey.started", ""), message(in, j, "a1", at))
	record(t, s, fenced(in, withState(snap, "B1"), 1, fenceB, "journey.started", `{"b":1}`), message(in, j, "b1", at))
	for _, n := range []int64{1, 2} {
		ok, err := s.Record(ctx, fenced(in, withState(snap, "A-late"), n, fenceA, "session.booked", ""), message(in, j, fmt.Sprintf("late%d", n), at))
		if ok || !errors.Is(err, store.ErrStaleAttempt) {
			t.Errorf("Record of A's event %d after B's = %v, %v; want false and ErrStaleAttempt", n, ok, err)
		}
		errContains(t, "the stale attempt's error", err, streamOf(j), fmt.Sprint(fenceA), fmt.Sprint(fenceB), "replaced")
	}
	streamShows(t, s, j, fenceLine(1, "journey.started", fenceB))
	outboxShows(t, s, j, "after the stale writes (B's alone)", "b1")
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B1" {
		t.Errorf("journey after the stale writes = %+v, %v; want B's (B1)", got, err)
	}
	// The head's fence never falls: B's own retry, and a later attempt, may still write.
	record(t, s, fenced(in, withState(snap, "B2"), 2, fenceB, "session.booked", ""))
	record(t, s, fenced(in, withState(snap, "C2"), 2, store.FenceOf(1, 3, 1), "session.booked", `{"c":2}`))
	_, err := s.Record(ctx, fenced(in, snap, 3, fenceB, "session.booked", ""))
	mustIs(t, "B's event once a run continued as new has recorded", err, store.ErrStaleAttempt)
}

// testFenceSameEventAgain: the same event again from the same attempt (a
// retried local activity) keeps it and its messages, queueing none; with
// the same fence but other contents, the later write replaces it.
func testFenceSameEventAgain(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	at := base.Add(time.Hour)
	first := fenced(in, withState(snap, "first"), 1, fenceA, "session.booked", `{"item":"lab/1"}`)
	record(t, s, first, message(in, j, "m1", at))
	before := streamShows(t, s, j, fenceLine(1, "session.booked", fenceA))
	for i := range 2 {
		ok, err := s.Record(ctx, first, message(in, j, "m1", at), message(in, j, "m-again", at))
		if ok || err != nil {
			t.Errorf("Record of the same event again (%d) = %v, %v; want false, nil", i, ok, err)
		}
	}
	if after := streamShows(t, s, j, fenceLine(1, "session.booked", fenceA)); len(after) == 1 && after[0].Seq != before[0].Seq {
		t.Errorf("the event's seq went from %d to %d: it was recorded again", before[0].Seq, after[0].Seq)
	}
	outboxShows(t, s, j, "after the same event again (with a message it had not queued)", "m1")

	// Same fence, other data (the data's JSON compacts alike: not other).
	same := first
	same.Data = json.RawMessage(`{ "item": "lab/1" }`)
	if ok, err := s.Record(ctx, same); ok || err != nil {
		t.Errorf("Record of the same event with its data spaced otherwise = %v, %v; want false, nil", ok, err)
	}
	later := fenced(in, withState(snap, "later"), 1, fenceA, "session.booked", `{"item":"lab/2"}`)
	record(t, s, later, message(in, j, "m2", at))
	evs := streamShows(t, s, j, fenceLine(1, "session.booked", fenceA))
	if len(evs) == 1 && (string(evs[0].Data) != `{"item":"lab/2"}` || evs[0].Seq <= before[0].Seq) {
		t.Errorf("event after an equal fence's other write = seq %d, %s; want the later write's data, at a later seq than %d",
			evs[0].Seq, evs[0].Data, before[0].Seq)
	}
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "later" {
		t.Errorf("journey = %+v, %v; want the later write's", got, err)
	}
	outboxShows(t, s, j, "after the later write", "m2")
	// Same fence, same data, another type: replaced too.
	retyped := later
	retyped.Type = "session.moved"
	record(t, s, retyped)
	streamShows(t, s, j, fenceLine(1, "session.moved", fenceA))
}

// testFenceUnfencedAlongside: events without an attempt keep their
// semantics beside fenced ones of the same journey: never dropped, the
// same key again does nothing. A fenced event cannot take the key of an
// unfenced one (ErrConflict).
func testFenceUnfencedAlongside(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	unfenced := func(key string, state contract.Status) store.Event {
		return journeyEvent(in, j, j.String()+"/"+key, "note.added", withState(snap, state))
	}
	record(t, s, unfenced("u1", "u1"))
	record(t, s, fenced(in, withState(snap, "A1"), 1, fenceA, "session.booked", ""))
	record(t, s, unfenced("u2", "u2"))
	record(t, s, fenced(in, withState(snap, "A2"), 2, fenceA, "session.booked", ""))
	record(t, s, fenced(in, withState(snap, "B1"), 1, fenceB, "session.moved", ""))
	streamShows(t, s, j, "u1 note.added unfenced", "u2 note.added unfenced", fenceLine(1, "session.moved", fenceB))
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B1" {
		t.Errorf("journey = %+v, %v; want B's", got, err)
	}
	again := unfenced("u1", "changed")
	if ok, err := s.Record(ctx, again); ok || err != nil {
		t.Errorf("Record of an unfenced event again = %v, %v; want false, nil", ok, err)
	}
	// An unfenced event under a fenced one's key is the same key again.
	if ok, err := s.Record(ctx, unfenced("1", "u-1")); ok || err != nil {
		t.Errorf("Record of an unfenced event with a fenced one's key = %v, %v; want false, nil", ok, err)
	}
	// At the head (2) or replacing B's 1, which then stays.
	for _, n := range []int64{2, 1} {
		taken := fenced(in, snap, n, fenceB, "session.booked", "")
		taken.Key = j.String() + "/u2"
		ok, err := s.Record(ctx, taken)
		if ok || !errors.Is(err, store.ErrConflict) {
			t.Errorf("Record of a fenced event %d under an unfenced one's key = %v, %v; want false and ErrConflict", n, ok, err)
		}
	}
	streamShows(t, s, j, "u1 note.added unfenced", "u2 note.added unfenced", fenceLine(1, "session.moved", fenceB))
	record(t, s, unfenced("u3", "u3"))
	if got, err := s.GetJourney(ctx, j); err != nil || got.State != "u3" {
		t.Errorf("journey = %+v, %v; want the latest event's (u3)", got, err)
	}
}

// testFenceConcurrent: two attempts with different fences write one stream
// at once, each its events 1 to n with a message each: the stream ends
// with the higher fence's events alone, in order, and their messages; the
// lower one's writes succeed until the higher has written, then are stale.
func testFenceConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	const streams, n = 4, 8
	at := base.Add(time.Hour)
	var wg sync.WaitGroup
	errs := make(chan error, 2*streams*n)
	journeys := make([]*store.JourneySnapshot, streams)
	for i := range journeys {
		journeys[i] = snapshot(in, uuid.New(), uuid.New(), "in_labs")
		for w, fence := range []int64{fenceA, fenceB} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				snap := journeys[i]
				for k := int64(1); k <= n; k++ {
					ev := fenced(in, withState(snap, contract.Status(fmt.Sprintf("w%d-%d", w, k))), k, fence, fmt.Sprintf("step.w%d", w), fmt.Sprintf(`{"w":%d}`, w))
					_, err := s.Record(ctx, ev, message(in, snap.JourneyID, fmt.Sprintf("%s/w%d-%d", snap.JourneyID, w, k), at))
					if errors.Is(err, store.ErrStaleAttempt) && fence == fenceA {
						return // replaced: its worker gives up
					}
					if err != nil {
						errs <- fmt.Errorf("writer %d, event %d: %w", w, k, err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, snap := range journeys {
		var want, wantMsgs []string
		for k := 1; k <= n; k++ {
			want = append(want, fenceLine(k, "step.w1", fenceB))
			wantMsgs = append(wantMsgs, fmt.Sprintf("%s/w1-%d", snap.JourneyID, k))
		}
		streamShows(t, s, snap.JourneyID, want...)
		outboxShows(t, s, snap.JourneyID, "at the end", wantMsgs...)
		if got, err := s.GetJourney(ctx, snap.JourneyID); err != nil || string(got.State) != fmt.Sprintf("w1-%d", n) {
			t.Errorf("journey %s = %+v, %v; want the higher fence's last snapshot", snap.JourneyID, got, err)
		}
	}
}

// testFenceValidation: an attempt must name its stream and number its
// event from 1, with a fence that is not negative.
func testFenceValidation(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	for _, a := range []store.TaskAttempt{{Stream: "", Seq: 1}, {Stream: "s", Seq: 0}, {Stream: "s", Seq: 1, Fence: -1}} {
		ev := fenced(in, snap, 1, 0, "t", "")
		ev.Attempt = &a
		_, err := s.Record(ctx, ev)
		mustIs(t, fmt.Sprintf("Record with attempt %+v", a), err, store.ErrInvalid)
	}
}

// SeedFenced records, for a backend's migration test, a journey's events as
// a failed task attempt (A) and its retry (B) leave them: one without an
// attempt, A's event 1 (dropped) whose message was sent, and B's event 1
// with a message queued. The check it returns fails unless s holds those
// events and messages, sent saying whether the sent message of the dropped
// event is still there (migrating 00011 down deletes it: the schema before
// cannot hold a message without its event), and unless a new stream's
// events are fenced: a retry's replace a failed attempt's, whose late
// write is refused.
func SeedFenced(t *testing.T, s store.Store) func(t *testing.T, s store.Store, when string, sent bool) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	snap := snapshot(in, uuid.New(), uuid.New(), "in_labs")
	j := snap.JourneyID
	at := base.Add(time.Hour)
	record(t, s, journeyEvent(in, j, j.String()+"/unfenced", "note.added", snap), message(in, j, j.String()+"/note", at))
	record(t, s, fenced(in, withState(snap, "A1"), 1, fenceA, "session.booked", ""), message(in, j, j.String()+"/a", at))
	must(t, s.MarkSent(ctx, j.String()+"/a", "<a@example.org>", at))
	record(t, s, fenced(in, withState(snap, "B1"), 1, fenceB, "session.moved", ""), message(in, j, j.String()+"/b", at))
	return func(t *testing.T, s store.Store, when string, sent bool) {
		t.Helper()
		ctx := ctxFor(t)
		evs, err := s.JourneyEvents(ctx, j)
		must(t, err)
		var got []string
		for _, ev := range evs {
			got = append(got, strings.TrimPrefix(ev.Key, j.String()+"/")+" "+ev.Type)
		}
		if want := []string{"unfenced note.added", "1 session.moved"}; !slices.Equal(got, want) {
			t.Errorf("events %s = %q, want %q", when, got, want)
		}
		msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: j})
		must(t, err)
		statuses := map[string]store.MessageStatus{}
		for _, m := range msgs {
			statuses[strings.TrimPrefix(m.Key, j.String()+"/")] = m.Status
		}
		want := map[string]store.MessageStatus{"note": store.MessageQueued, "b": store.MessageQueued}
		if sent {
			want["a"] = store.MessageSent
		}
		if !maps.Equal(statuses, want) {
			t.Errorf("outbox %s = %v, want %v", when, statuses, want)
		}
		if got, err := s.GetJourney(ctx, j); err != nil || got.State != "B1" {
			t.Errorf("journey %s = %+v, %v; want B's", when, got, err)
		}

		fresh := snapshot(in, uuid.New(), uuid.New(), "in_labs")
		record(t, s, fenced(in, withState(fresh, "A1"), 1, fenceA, "session.booked", ""), message(in, fresh.JourneyID, fresh.JourneyID.String()+"/a", at))
		record(t, s, fenced(in, withState(fresh, "B1"), 1, fenceB, "session.moved", ""), message(in, fresh.JourneyID, fresh.JourneyID.String()+"/b", at))
		_, err = s.Record(ctx, fenced(in, fresh, 2, fenceA, "session.booked", ""))
		mustIs(t, "Record of a replaced attempt's event "+when, err, store.ErrStaleAttempt)
		outboxShows(t, s, fresh.JourneyID, when, fresh.JourneyID.String()+"/b")
		if got, err := s.GetJourney(ctx, fresh.JourneyID); err != nil || got.State != "B1" {
			t.Errorf("a new journey %s = %+v, %v; want B's", when, got, err)
		}
	}
}
