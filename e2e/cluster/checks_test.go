package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/infuse-cymru/journeys/dev/cluster"
	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// check compares what the cluster recorded and sent with what the API
// accepted: each journey's outcome, its events (none lost, none twice) and
// its e-mail (each message delivered once).
func (s *system) check(ctx context.Context, r *intakeRun) {
	s.t.Logf("while the intake ran: %s", strings.Join(r.chaos, "; "))
	if len(r.chaos) < 6 {
		s.t.Errorf("only %d of the upgrade, the 4 kills and the restart happened", len(r.chaos))
	}
	for _, p := range append([]*cluster.Process{s.temporal.Process, s.api}, s.workers...) {
		if !p.Running() {
			s.t.Errorf("%s is not running at the end:\n%s", p.Name, tailOf(p.LastRun(), 4000))
		}
	}
	outcomes := map[workflows.Status]int{}
	for _, j := range r.journeys {
		snap, err := s.store.GetJourney(ctx, j.id)
		if err != nil {
			s.t.Fatal(err)
		}
		got := snap.State
		outcomes[got]++
		if want := j.expected(); got != want {
			s.t.Errorf("journey %s (%v): %s, want %s; the API refused: %v", j.id, j.role, got, want, j.refused)
		}
		for _, ref := range j.refused {
			s.t.Errorf("journey %s: the API refused what its people did on time: %s", j.id, ref)
		}
		s.checkEvents(ctx, j)
	}
	s.t.Logf("outcomes: %v", outcomes)
	if outcomes[contract.StatusCompleted] == 0 || outcomes[contract.StatusNotCompleted] == 0 || outcomes[contract.StatusWithdrawn] == 0 {
		s.t.Errorf("the scenario should end with journeys completed, not completed and withdrawn: %v", outcomes)
	}
	s.checkMail(ctx, r)
	s.checkMetrics(ctx, outcomes)
	n, err := s.temporalRows(ctx, "executions")
	if err != nil {
		s.t.Errorf("reading Temporal's PostgreSQL database: %v", err)
	}
	s.t.Logf("Temporal's persistence is PostgreSQL: database %s holds %d workflow executions", s.temporal.Database(), n)
	if n <= len(r.journeys) {
		s.t.Errorf("Temporal's PostgreSQL database holds %d executions; want the intake's and %d journeys'", n, len(r.journeys))
	}
}

// expected is the journey's outcome from what the API accepted, by the
// programme's rules: 75% of the twelve lab sessions, five checkpoints and
// the reflection to complete.
func (j *journeyRun) expected() workflows.Status {
	if j.accepted["withdrawn"] > 0 {
		return contract.StatusWithdrawn
	}
	if j.accepted["attendance.present"]*100 >= 75*12 && j.accepted["checkpoint.completed"] >= 5 && j.accepted["reflection.submitted"] == 1 {
		return contract.StatusCompleted
	}
	return contract.StatusNotCompleted
}

// checkEvents: the journey's events are numbered 1..n with none missing
// (a lost event leaves a gap; the store refuses a number twice), and each
// thing the API accepted is in the log exactly once.
func (s *system) checkEvents(ctx context.Context, j *journeyRun) {
	events, err := s.store.JourneyEvents(ctx, j.id)
	if err != nil {
		s.t.Fatal(err)
	}
	prefix := fmt.Sprintf("journey/%s/", j.id)
	var numbers []int
	byType := map[string]int{}
	for _, ev := range events {
		byType[ev.Type]++
		if n, err := strconv.Atoi(strings.TrimPrefix(ev.Key, prefix)); err == nil {
			numbers = append(numbers, n)
		}
	}
	if len(numbers) == 0 {
		s.t.Errorf("journey %s has no numbered events: %v", j.id, byType)
	}
	slices.Sort(numbers)
	for i, n := range numbers {
		if n != i+1 {
			s.t.Errorf("journey %s: events numbered %v: one is missing before %d", j.id, numbers, n)
			break
		}
	}
	for event, n := range j.accepted {
		if event == "withdrawn" {
			event = "journey.withdrawn"
		}
		if byType[event] != n {
			s.t.Errorf("journey %s: %d %q events for %d accepted requests (events: %v)", j.id, byType[event], event, n, byType)
		}
	}
}

// checkMail: every message the journeys queued was sent, and the mail
// server received each once, with nothing else, but for the second copies
// a killed worker can leave, each of which a deliverer must have warned it
// took over from that worker. Two other designed-in duplicates would fail
// it, and are left to fail: a store too slow to mark a sent message within
// its 10 seconds (the claim then lapses under a live deliverer), and the
// earlier release (which has no claims) stopped by the upgrade between a
// send and its mark. Neither has happened in a run here; if one does, the
// failure names the message, and its worker's log says which it was.
func (s *system) checkMail(ctx context.Context, r *intakeRun) {
	msgs, err := s.store.ListMessages(ctx, store.OutboxFilter{IntakeID: r.id, Limit: 1 << 20})
	if err != nil {
		s.t.Fatal(err)
	}
	want := map[string]bool{}
	for _, m := range msgs {
		if m.Status != store.MessageSent {
			s.t.Errorf("message %s is %s: %s", m.Key, m.Status, m.LastError)
			continue
		}
		want[m.MessageID] = true
	}
	received, err := devmail.List(s.mailbox.Dir())
	if err != nil {
		s.t.Fatal(err)
	}
	got := map[string]int{}
	for _, m := range received {
		got[m.MessageID]++
	}
	takenOver := s.takenOver()
	doubled := map[string]int{} // by killed deliverer, the messages sent again after it
	for id, n := range got {
		if n == 1 {
			continue
		}
		// A worker killed between the mail server's acceptance and the
		// outbox's mark leaves a copy the next deliverer sends again
		// (delivery's "Exactly once, nearly"): each extra copy must be of
		// a message taken over from a killed worker's deliverer, which
		// had at most DefaultConcurrency sends under way. Any other is a
		// fault.
		from := takenOver[id]
		if n > 1+len(from) {
			s.t.Errorf("message %s was delivered %d times, and taken over from killed workers' claims %d times (%v)", id, n, len(from), from)
		}
		// Every deliverer named sent it only when there is a copy for
		// each; otherwise one of them may have died before sending it.
		if n == 1+len(from) {
			for _, owner := range from {
				doubled[owner]++
			}
		}
	}
	for owner, n := range doubled {
		if n > delivery.DefaultConcurrency {
			s.t.Errorf("%d messages of %s were sent twice; it could have had at most %d under way when it was killed", n, owner, delivery.DefaultConcurrency)
		}
	}
	s.t.Logf("%d messages taken over from killed workers' lapsed claims, %d of them delivered twice; %d deliverers killed",
		len(takenOver), countIf(takenOver, func(id string) bool { return got[id] > 1 }), len(s.killedDeliverers))
	for id := range want {
		if got[id] == 0 {
			s.t.Errorf("message %s is marked sent but never arrived", id)
		}
	}
	s.t.Logf("%d messages queued by the intake, %d delivered (%d distinct)", len(msgs), len(received), len(got))
	if extra := len(got) - len(want); extra > 0 {
		// The coordinator's own mail (sign-in links, none here) is not the intake's.
		others := slices.DeleteFunc(slices.Collect(maps.Keys(got)), func(id string) bool { return want[id] })
		s.t.Errorf("%d messages arrived that the intake's outbox does not hold: %v", extra, others)
	}
}

// takenOver is, by Message-ID, the deliverers killed with SIGKILL whose
// lapsed claim on the message another deliverer warned it took over
// (delivery.LapsedClaimWarning), from the workers' logs.
func (s *system) takenOver() map[string][]string {
	from := map[string][]string{}
	for _, w := range s.workers {
		for line := range strings.Lines(w.Log()) {
			var entry struct {
				Msg         string `json:"msg"`
				MessageID   string `json:"message_id"`
				LapsedClaim string `json:"lapsed_claim"`
			}
			if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == delivery.LapsedClaimWarning &&
				s.killedDeliverers[entry.LapsedClaim] {
				from[entry.MessageID] = append(from[entry.MessageID], entry.LapsedClaim)
			}
		}
	}
	return from
}

// countIf is how many keys of m keep holds for.
func countIf[V any](m map[string]V, keep func(string) bool) int {
	n := 0
	for k := range m {
		if keep(k) {
			n++
		}
	}
	return n
}

// replayHistories runs the deploy check, `infuse replay`, on every
// history the cluster wrote: a change that would strand running journeys
// fails here, as it would stop a deploy.
func (s *system) replayHistories(ctx context.Context, r *intakeRun) {
	out := s.cli(ctx, "--json", "replay", "--all")
	var res struct {
		Runs   int      `json:"runs"`
		Failed []string `json:"failed"`
	}
	if err := decodeJSON(out, &res); err != nil {
		s.t.Fatalf("infuse replay printed %q: %v", out, err)
	}
	if res.Runs <= len(r.journeys) || len(res.Failed) > 0 {
		s.t.Errorf("infuse replay replayed %d runs; want the intake's and %d journeys' (and more after continue-as-new), none failing: %v",
			res.Runs, len(r.journeys), res.Failed)
	}
	s.t.Logf("infuse replay: %d workflow runs exported from the cluster replay with this build", res.Runs)
}

// checkMetrics: a worker's /metrics shows the Temporal SDK's own series
// and the programme's figures as the store has them.
func (s *system) checkMetrics(ctx context.Context, outcomes map[workflows.Status]int) {
	resp, err := s.client.http.Get("http://" + s.metrics + "/metrics")
	if err != nil {
		s.t.Fatalf("worker-1's /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	sent, err := s.store.ListMessages(ctx, store.OutboxFilter{Status: store.MessageSent, Limit: 1 << 20})
	if err != nil {
		s.t.Fatal(err)
	}
	for _, want := range []string{
		"\ntemporal_workflow_task_execution_latency",
		fmt.Sprintf("\ninfuse_outbox_messages{status=\"sent\"} %d\n", len(sent)),
		"\ninfuse_outbox_messages{status=\"queued\"} 0\n",
		fmt.Sprintf("state=\"completed\"} %d\n", outcomes[contract.StatusCompleted]),
	} {
		if !strings.Contains(string(body), want) {
			s.t.Errorf("worker-1's /metrics has no %q", want)
		}
	}
}
