package workflows_test

import (
	"testing"

	"github.com/infuse-cymru/journeys/workflows"
)

// BenchmarkFullJourney runs one participant's whole six months per
// iteration under the test suite's time skipping: apply, offer, accept,
// start, attend all twelve sessions, hand in the plan, six coaching
// checkpoints, the reflection, and the assessment (completed). The intake
// is the root workflow and the journey its child, as in production, with
// the real activities and a real SQLite store (a new one per iteration,
// set up outside the timer).
//
// ns/op is the wall time of one full journey. It also reports what one
// journey leaves in the store (messages queued, domain events recorded).
// The test suite keeps no history, so a journey's history length is
// measured where a real server runs the current code: the end-to-end test
// (e2e/histories_test.go) logs it and holds it to a budget.
//
//	go test ./workflows/ -run '^$' -bench FullJourney -benchtime 20x -count 6 | benchstat -
func BenchmarkFullJourney(b *testing.B) {
	var msgs, events int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		h := newHarness(b, 20)
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
		if got := h.journey(j).State; got != string(workflows.StatusCompleted) {
			b.Fatalf("journey ended %s, want completed", got)
		}
		msgs += len(h.messages(j))
		events += len(h.events(j))
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/journey")
	b.ReportMetric(float64(events)/float64(b.N), "events/journey")
}
