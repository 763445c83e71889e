package workflows_test

import (
	"context"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// BenchmarkFullJourney runs one participant's whole six months per
// iteration under the test suite's time skipping: apply, offer, accept,
// start, attend all twelve sessions, hand in the plan, six coaching
// checkpoints, the reflection, and the assessment (completed). The intake
// is the root workflow and the journey its child, as in production, with
// the real activities (a new store per iteration, set up outside the
// timer), recording into
//
//   - store=file: a SQLite file, as `infuse dev` and the workflow tests do;
//   - store=memory: an in-memory SQLite database, as the preview does;
//   - store=none: nothing. Record takes the same calls and writes nothing:
//     what is left is the SDK's test environment running the same
//     workflows, the floor under the other two (the bare reference).
//
// ns/op is the wall time of one full journey. It also reports what one
// journey records (domain events and the messages they queue), the same
// for all three: store=none counts Record's calls, which would count a
// retried record twice, and nothing here is retried. The test suite keeps no history, so a journey's history
// length is measured where a real server runs the current code: the
// end-to-end test (e2e/histories_test.go) logs it and holds it to a budget.
//
//	go test ./workflows/ -run '^$' -bench FullJourney -benchtime 20x -count 6 | benchstat -
func BenchmarkFullJourney(b *testing.B) {
	for _, s := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"file", func(t testing.TB) store.Store { return sqlitestore.OpenTest(t) }},
		{"memory", openInMemory},
		{"none", func(t testing.TB) store.Store { return &recordsNothing{Store: sqlitestore.OpenTest(t)} }},
	} {
		b.Run("store="+s.name, func(b *testing.B) { benchmarkFullJourney(b, s.open) })
	}
}

func benchmarkFullJourney(b *testing.B, open func(testing.TB) store.Store) {
	var msgs, events int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarnessOn(b, 20, open(b))
		j := h.apply(day(2021, 8, 20, 11))
		h.offerAndAccept(j)
		h.startIntake()
		h.attend(j, func(int) bool { return true })
		h.submitTask(j, "plan")
		h.completeCheckpoints(j, func(int) bool { return true })
		h.submitTask(j, "reflection")
		b.StartTimer()

		h.run()

		b.StopTimer()
		if none, ok := h.store.(*recordsNothing); ok {
			ended := none.last[j]
			if ended.Type != "journey."+string(contract.StatusCompleted) {
				b.Fatalf("journey's last record %q, want it completed", ended.Type)
			}
			msgs += none.messages[j]
			events += none.events[j]
			continue
		}
		if got := h.journey(j).State; got != contract.StatusCompleted {
			b.Fatalf("journey ended %s, want completed", got)
		}
		msgs += len(h.messages(j))
		events += len(h.events(j))
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/journey")
	b.ReportMetric(float64(events)/float64(b.N), "events/journey")
}

// openInMemory is the preview's store: a private in-memory database.
func openInMemory(t testing.TB) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// recordsNothing is a store whose Record writes nothing: it only counts,
// by journey, the events and messages it is given, and keeps each
// journey's last event. Everything else is the store it wraps.
type recordsNothing struct {
	store.Store
	mu       sync.Mutex
	events   map[uuid.UUID]int
	messages map[uuid.UUID]int
	last     map[uuid.UUID]store.Event
}

func (r *recordsNothing) Record(_ context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events == nil {
		r.events, r.messages, r.last = map[uuid.UUID]int{}, map[uuid.UUID]int{}, map[uuid.UUID]store.Event{}
	}
	r.events[ev.JourneyID]++
	r.messages[ev.JourneyID] += len(msgs)
	r.last[ev.JourneyID] = ev
	return true, nil
}
