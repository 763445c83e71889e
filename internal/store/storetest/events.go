package storetest

// The event log: Record, exactly once under retries and concurrency.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

func testRecord(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person, coach := uuid.New(), uuid.New(), uuid.New()
	snap := snapshot(in, journey, person, "lab")
	snap.CoachID = coach
	snap.Phase = "lab-1"
	snap.NextDueItem = "adaption-2"
	snap.NextDueAt = base.Add(7 * 24 * time.Hour)
	snap.OverdueCount = 1
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/1", "session.attended", snap)
	ev.IntakeStatus = store.IntakeStarted
	m1 := message(in, journey, "journey/"+journey.String()+"/reminder/adaption-2/7d", base.Add(24*time.Hour))
	m2 := message(in, uuid.Nil, "journey/"+journey.String()+"/reminder/adaption-2/1d", base.Add(6*24*time.Hour))
	m2.Channel, m2.IntakeID = "", uuid.Nil // defaulted from the event
	before := time.Now()

	ok, err := s.Record(ctx, ev, m2, m1)
	must(t, err)
	if !ok {
		t.Fatal("Record of a new event returned false")
	}

	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Fatalf("JourneyEvents = %d events, want 1", len(evs))
	}
	got := evs[0]
	if got.Seq <= 0 {
		t.Errorf("event Seq = %d, want > 0", got.Seq)
	}
	if got.Key != ev.Key || got.IntakeID != in.ID || got.JourneyID != journey || got.Type != ev.Type ||
		got.IntakeStatus != store.IntakeStarted {
		t.Errorf("event = %+v\nwant like %+v", got, ev)
	}
	if want := []byte(`{"item":"adaption-1","n":1}`); !bytes.Equal(got.Data, want) {
		t.Errorf("event Data = %s, want %s (compacted)", got.Data, want)
	}
	sameTime(t, "OccurredAt", got.OccurredAt, ev.OccurredAt)
	recentTime(t, "RecordedAt", got.RecordedAt, before)
	if got.Snapshot == nil {
		t.Fatal("event Snapshot is nil")
	}
	sameSnapshot(t, "event Snapshot", *got.Snapshot, *snap)

	j, err := s.GetJourney(ctx, journey)
	must(t, err)
	sameSnapshot(t, "journey projection", j, *snap)

	gotIn, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != store.IntakeStarted {
		t.Errorf("intake status = %q, want %q", gotIn.Status, store.IntakeStarted)
	}

	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 2 {
		t.Fatalf("ListMessages = %d messages, want 2", len(msgs))
	}
	// Ordered by SendAt: m1 first.
	gm1, gm2 := msgs[0], msgs[1]
	if gm1.Key != m1.Key || gm2.Key != m2.Key {
		t.Fatalf("messages in order %q, %q; want %q, %q (by SendAt)", gm1.Key, gm2.Key, m1.Key, m2.Key)
	}
	sameTime(t, "message SendAt", gm1.SendAt, m1.SendAt)
	recentTime(t, "message CreatedAt", gm1.CreatedAt, before)
	want := m1
	want.Status = store.MessageQueued
	want.SendAt, want.CreatedAt = gm1.SendAt, gm1.CreatedAt
	if gm1 != want {
		t.Errorf("message = %+v\nwant      %+v", gm1, want)
	}
	if gm2.Channel != "email" || gm2.IntakeID != in.ID || gm2.JourneyID != journey || gm2.Status != store.MessageQueued {
		t.Errorf("defaults not applied to message: %+v", gm2)
	}

	// An intake-level event: no journey, no snapshot, no data.
	ok, err = s.Record(ctx, store.Event{Key: "intake/" + in.ID.String() + "/closed", IntakeID: in.ID,
		Type: "intake.closed", IntakeStatus: store.IntakeClosed})
	must(t, err)
	if !ok {
		t.Error("Record of an intake-level event returned false")
	}
	ievs, err := s.IntakeEvents(ctx, in.ID)
	must(t, err)
	if len(ievs) != 2 || ievs[1].JourneyID != uuid.Nil || ievs[1].Snapshot != nil || ievs[1].Data != nil {
		t.Errorf("IntakeEvents = %+v, want the journey event then an intake-level one", ievs)
	}
	recentTime(t, "defaulted OccurredAt", ievs[1].OccurredAt, before)
	gotIn, err = s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != store.IntakeClosed {
		t.Errorf("intake status = %q, want %q", gotIn.Status, store.IntakeClosed)
	}
}

func testRecordSameKey(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/offer", "offer.made", snapshot(in, journey, person, "offered"))
	m := message(in, journey, "journey/"+journey.String()+"/offer/notice", base)

	ok, err := s.Record(ctx, ev, m)
	must(t, err)
	if !ok {
		t.Fatal("first Record returned false")
	}
	// The retry after a lost acknowledgement; even if the activity now
	// computes something different, the first recording stands.
	retry := ev
	retry.Snapshot = snapshot(in, journey, person, "withdrawn")
	retry.IntakeStatus = store.IntakeFinished
	m2 := m
	m2.Key = m.Key + "/other"
	ok, err = s.Record(ctx, retry, m, m2)
	must(t, err)
	if ok {
		t.Error("Record with a used key returned true")
	}

	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Errorf("JourneyEvents = %d events, want exactly 1", len(evs))
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 1 || msgs[0].Key != m.Key {
		t.Errorf("outbox = %+v, want exactly the first message", msgs)
	}
	j, err := s.GetJourney(ctx, journey)
	must(t, err)
	if j.State != "offered" {
		t.Errorf("journey state = %q, want %q (the retry must not apply)", j.State, "offered")
	}
	gotIn, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	if gotIn.Status != in.Status {
		t.Errorf("intake status = %q, want %q (the retry must not apply)", gotIn.Status, in.Status)
	}
}

func testRecordSameKeyConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey, person := uuid.New(), uuid.New()
	ev := journeyEvent(in, journey, "journey/"+journey.String()+"/checkpoint/3", "checkpoint.completed",
		snapshot(in, journey, person, "experimentation"))
	m := message(in, journey, "journey/"+journey.String()+"/checkpoint/3/thanks", base)

	const n = 12
	var wg sync.WaitGroup
	results := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = s.Record(ctx, ev, m)
		}()
	}
	close(start)
	wg.Wait()
	recorded := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("Record #%d: %v", i, errs[i])
		}
		if results[i] {
			recorded++
		}
	}
	if recorded != 1 {
		t.Errorf("%d of %d concurrent Records with one key returned true, want exactly 1", recorded, n)
	}
	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 1 {
		t.Errorf("JourneyEvents = %d events, want exactly 1", len(evs))
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	must(t, err)
	if len(msgs) != 1 {
		t.Errorf("outbox has %d messages, want exactly 1", len(msgs))
	}
}

// testRecordConcurrentWriters is many activities recording at once, as a
// worker does: none may fail (SQLite must not report SQLITE_BUSY).
func testRecordConcurrentWriters(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	const journeys, eventsEach = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, journeys*eventsEach*2)
	ids := make([]uuid.UUID, journeys)
	for j := range journeys {
		ids[j] = uuid.New()
		wg.Add(1)
		go func(journey uuid.UUID) {
			defer wg.Done()
			person := uuid.New()
			for k := range eventsEach {
				key := fmt.Sprintf("journey/%s/%d", journey, k)
				snap := snapshot(in, journey, person, contract.Status(fmt.Sprintf("step-%d", k)))
				ev := journeyEvent(in, journey, key, "step", snap)
				if ok, err := s.Record(ctx, ev, message(in, journey, key+"/msg", base)); err != nil || !ok {
					errs <- fmt.Errorf("Record %s = %v, %v", key, ok, err)
				}
				// Reads interleave with the writes.
				if _, err := s.GetJourney(ctx, journey); err != nil {
					errs <- fmt.Errorf("GetJourney during writes: %w", err)
				}
			}
		}(ids[j])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, journey := range ids {
		evs, err := s.JourneyEvents(ctx, journey)
		must(t, err)
		if len(evs) != eventsEach {
			t.Errorf("journey %s has %d events, want %d", journey, len(evs), eventsEach)
		}
		j, err := s.GetJourney(ctx, journey)
		must(t, err)
		if want := contract.Status(fmt.Sprintf("step-%d", eventsEach-1)); j.State != want {
			t.Errorf("journey %s state = %q, want %q (its latest event)", journey, j.State, want)
		}
	}
	counts, err := s.IntakeCounts(ctx, in.ID)
	must(t, err)
	if want := (map[string]int{fmt.Sprintf("step-%d", eventsEach-1): journeys}); !maps.Equal(counts, want) {
		t.Errorf("IntakeCounts = %v, want %v", counts, want)
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{IntakeID: in.ID})
	must(t, err)
	if len(msgs) != journeys*eventsEach {
		t.Errorf("outbox has %d messages, want %d", len(msgs), journeys*eventsEach)
	}
}

func testRecordValidation(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	good := func() store.Event {
		return journeyEvent(in, journey, "k-"+uuid.NewString(), "t", snapshot(in, journey, uuid.New(), "lab"))
	}
	for _, tc := range []struct {
		name   string
		mutate func(*store.Event)
		msg    *store.Message
	}{
		{"no key", func(e *store.Event) { e.Key = "" }, nil},
		{"no intake", func(e *store.Event) { e.IntakeID = uuid.Nil }, nil},
		{"no type", func(e *store.Event) { e.Type = "" }, nil},
		{"bad data", func(e *store.Event) { e.Data = json.RawMessage(`{"a":`) }, nil},
		{"bad intake status", func(e *store.Event) { e.IntakeStatus = "paused" }, nil},
		{"snapshot of another journey", func(e *store.Event) { e.Snapshot.JourneyID = uuid.New() }, nil},
		{"snapshot without journey", func(e *store.Event) { e.JourneyID = uuid.Nil }, nil},
		{"message without recipient", func(*store.Event) {}, &store.Message{Key: "m-" + uuid.NewString(), Template: "x"}},
	} {
		ev := good()
		tc.mutate(&ev)
		var msgs []store.Message
		if tc.msg != nil {
			msgs = append(msgs, *tc.msg)
		}
		ok, err := s.Record(ctx, ev, msgs...)
		if ok || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: Record = %v, %v; want false, store.ErrInvalid", tc.name, ok, err)
		}
	}
	// An event for an intake the store does not know is refused.
	other := store.Intake{ID: uuid.New()}
	ok, err := s.Record(ctx, journeyEvent(other, journey, "unknown-intake", "t", nil))
	if ok || err == nil {
		t.Errorf("Record for an unknown intake = %v, %v; want an error", ok, err)
	}
	evs, err := s.IntakeEvents(ctx, in.ID)
	must(t, err)
	if len(evs) != 0 {
		t.Errorf("rejected events were recorded: %+v", evs)
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{})
	must(t, err)
	if len(msgs) != 0 {
		t.Errorf("messages of rejected events were queued: %+v", msgs)
	}
}

func testMessageKeyNotQueuedTwice(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	journey := uuid.New()
	m := message(in, journey, "journey/"+journey.String()+"/reminder/data-1/1d", base)
	ok, err := s.Record(ctx, journeyEvent(in, journey, "e1", "reminder.planned", nil), m)
	must(t, err)
	if !ok {
		t.Fatal("Record e1 returned false")
	}
	// A different event (a reschedule, say) queues the same reminder again.
	later := m
	later.SendAt = base.Add(time.Hour)
	ok, err = s.Record(ctx, journeyEvent(in, journey, "e2", "session.rescheduled", nil), later, later)
	must(t, err)
	if !ok {
		t.Fatal("Record e2 returned false")
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{})
	must(t, err)
	if len(msgs) != 1 {
		t.Fatalf("outbox has %d messages, want 1", len(msgs))
	}
	sameTime(t, "SendAt", msgs[0].SendAt, m.SendAt) // the first one stands
	evs, err := s.JourneyEvents(ctx, journey)
	must(t, err)
	if len(evs) != 2 {
		t.Errorf("JourneyEvents = %d, want 2 (both events are recorded)", len(evs))
	}
}

func testEventsOrdered(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	other := newIntake(t, s)
	j1, j2 := uuid.New(), uuid.New()
	var keys []string
	record := func(in store.Intake, journey uuid.UUID, key string) {
		t.Helper()
		ev := journeyEvent(in, journey, key, "t", nil)
		// OccurredAt goes backwards: order is the order of recording.
		ev.OccurredAt = base.Add(-time.Duration(len(keys)) * time.Minute)
		ok, err := s.Record(ctx, ev)
		must(t, err)
		if !ok {
			t.Fatalf("Record %s returned false", key)
		}
		keys = append(keys, key)
	}
	record(in, j1, "a")
	record(in, j2, "b")
	record(in, uuid.Nil, "c")
	record(other, uuid.New(), "x")
	record(in, j1, "d")
	record(in, j2, "e")
	record(in, j1, "f")

	check := func(what string, evs []store.Event, err error, want ...string) {
		t.Helper()
		must(t, err)
		var got []string
		for i, e := range evs {
			got = append(got, e.Key)
			if i > 0 && e.Seq <= evs[i-1].Seq {
				t.Errorf("%s: Seq not increasing: %d after %d", what, e.Seq, evs[i-1].Seq)
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	evs, err := s.JourneyEvents(ctx, j1)
	check("JourneyEvents(j1)", evs, err, "a", "d", "f")
	evs, err = s.JourneyEvents(ctx, j2)
	check("JourneyEvents(j2)", evs, err, "b", "e")
	evs, err = s.IntakeEvents(ctx, in.ID)
	check("IntakeEvents", evs, err, "a", "b", "c", "d", "e", "f")
}
