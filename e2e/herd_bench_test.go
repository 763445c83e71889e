package e2e_test

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The herd's timeline on the real clock. The journeys are started, accepted
// and waiting for their intake's start, before the clock does; how long that
// took on this machine, under whatever else it runs, sets the pace. Then
// they are told the intake starts: each plans (an activity), records it and
// queues what is already due (more), and once the programme begins records
// its first phase (another), while the outbox sends the intake-started
// notices and the first session's reminders. All of that must be over
// before the herd falls due, or the herd would share the machine with it:
// the herd falls due herdBase plus herdPace times the starting's time after
// the first journey plans. (Planning 1,000 took 2.8 times as long as
// starting them, 240 s against 85 s, on a machine shared with other suites.)
const (
	herdBase = 10 * time.Second
	herdPace = 4
	// herdMargin is how long before the herd is due all of that must be over.
	herdMargin = time.Second
	// herdDrainBase and herdDrainEach bound the herd's reaching the mailbox:
	// a third of what a quiet machine's 20 messages a second needs for each,
	// so that a loaded one's 8 a second (BENCHMARKS.md) is measured, not
	// failed.
	herdDrainBase, herdDrainEach = 30 * time.Second, 400 * time.Millisecond
	// herdLook is how often the benchmark looks at the store or the
	// mailbox while it waits: looking is not free, and the mailbox's file
	// names, not the looking, say when each message arrived.
	herdLook = 250 * time.Millisecond
	// herdPoll is how often the deliverer looks at the outbox: short, so
	// that the lag is the engine's rather than the poll's; a deployment
	// adds its own (10 s for `infuse worker`, 3 s for `infuse dev`).
	herdPoll = 100 * time.Millisecond
	// bareHerdBase, with as long as starting the journeys took, leaves
	// room to start the bare alarms: the server starts bare workflows
	// several times as fast (BENCHMARKS.md 2).
	bareHerdBase = 2 * time.Second
)

// BenchmarkReminderHerd measures b.N journeys of one intake, all with the
// same schedule, whose first reminder after the programme begins falls due
// for all of them at one instant: each journey's timer fires, its workflow
// queues the reminder in the outbox by an activity, and a deliverer
// (polling every herdPoll) composes it and sends it to a real SMTP mailbox
// on loopback. It reports the lag from the instant to the mailbox having
// each message ("p50-lag-ms", "p99-lag-ms"), the rate the herd drained at
// ("msgs/s", from the instant to the last), and how late the timers
// fired ("fired-p99-ms": when the workflows queued the messages). Beside
// it, on the same server in the same run, b.N bare workflows each with a
// timer due at one instant and one activity after it (benchref.Herd):
// "bare-acts/s", "bare-p50-lag-ms", "bare-p99-lag-ms", and our ratios to
// them, "x-bare-rate" (our drain rate over the bare activities', 1 is as
// fast) and "x-bare-p99" (our p99 lag over theirs, 1 is as quick). b.N is
// the herd's size:
//
//	go test ./e2e/ -run '^$' -bench ReminderHerd -benchtime 1000x -timeout 30m
func BenchmarkReminderHerd(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute+time.Duration(b.N)*1200*time.Millisecond)
	defer cancel()
	h := startHerd(ctx, b)
	t0 := h.plan(ctx, b)
	time.Sleep(time.Until(t0))
	b.ResetTimer()
	stopProfile := profileHerd(b)
	sent := h.awaitDrained(ctx, b, t0.Add(herdDrainBase+time.Duration(b.N)*herdDrainEach))
	stopProfile()
	b.StopTimer()
	ours, fired := h.lags(b, t0, sent)
	bare, err := h.bare.Herd(ctx, b.N, intakeClients, bareHerdBase+h.started)
	if err != nil {
		b.Fatal(err)
	}
	reportHerd(b, ours, fired, bare)
}

// herdProfileEnv, when set, is a file for a CPU profile of the herd alone,
// from the instant it falls due until it has drained: -cpuprofile's would
// be mostly the set-up.
const herdProfileEnv = "INFUSE_BENCH_HERD_CPUPROFILE"

func profileHerd(b *testing.B) (stop func()) { return profileStage(b, herdProfileEnv) }

// profileStage starts a CPU profile into the file the environment
// variable env names, if it names one, for one stage of a benchmark; stop
// ends it.
func profileStage(b *testing.B, env string) (stop func()) {
	path := os.Getenv(env)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		b.Fatalf("%s: %v", env, err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// herd is the embedded stack with journeys of one intake on a compressed
// clock, and a deliverer sending their messages to a mailbox on loopback.
type herd struct {
	*embedded
	planner testenv.Planner
	first   programme.Reminder // the herd's, on the programme's clock
	item    string             // its item
	// after is how long after the programme begins the herd falls due on
	// the programme's clock.
	after   time.Duration
	intake  store.Intake
	mailbox *devmail.Server
	started time.Duration // what starting the journeys took
	budget  time.Duration // from the first journey planning to the herd
}

// startHerd starts the stack, its clock not yet started, and the
// deliverer.
func startHerd(ctx context.Context, b *testing.B) *herd {
	p, err := programme.Lookup(programme.DefaultID, 1)
	if err != nil {
		b.Fatal(err)
	}
	virtual, err := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	if err != nil {
		b.Fatal(err)
	}
	item, first, err := firstReminder(virtual)
	if err != nil {
		b.Fatal(err)
	}
	after := first.At.Sub(virtual.Phases[0].Start)
	// The factor is set once the pace is known (plan).
	planner := testenv.NewPlanner(cohort1Start, after/herdBase)
	e, err := startEmbedded(ctx, b, planner)
	if err != nil {
		b.Fatal(err)
	}
	h := &herd{embedded: e, planner: planner, first: first, item: item, after: after}
	h.startDelivery(b)
	return h
}

// firstReminder is the schedule's first reminder after the programme
// begins: every journey of an intake has it at the same instant, by timer.
func firstReminder(s programme.Schedule) (item string, first programme.Reminder, err error) {
	if len(s.Phases) == 0 {
		return "", first, fmt.Errorf("the schedule has no phases")
	}
	begins := s.Phases[0].Start
	for _, it := range s.Items {
		for _, r := range it.Reminders {
			if r.Trigger != programme.Absent && r.At.After(begins) && (item == "" || r.At.Before(first.At)) {
				item, first = it.ID, r
			}
		}
	}
	if item == "" {
		return "", first, fmt.Errorf("no reminder falls due after the programme begins")
	}
	return item, first, nil
}

// startDelivery runs a deliverer, as `infuse worker` does, into a mailbox
// on loopback, until the benchmark ends.
func (h *herd) startDelivery(b *testing.B) {
	box, err := devmail.Start(devmail.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = box.Close() })
	h.mailbox = box
	sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: box.Host(), Port: box.Port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second, HELO: "localhost"})
	if err != nil {
		b.Fatal(err)
	}
	st := h.st
	d := delivery.New(st, &notify.Composer{Store: st, From: delivery.Address{Name: "Infuse", Address: "infuse@example.org"}}, sender,
		delivery.Options{Poll: herdPoll})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	b.Cleanup(func() { cancel(); <-done })
}

// plan starts b.N journeys of one intake for stored participants, sets
// the clock's pace from how long that took, tells them the intake starts,
// waits until they have planned and settled, and returns the real instant
// their first reminder falls due, read from the schedule they planned.
func (h *herd) plan(ctx context.Context, b *testing.B) time.Time {
	st := h.st
	h.intake = openJourneysIntake(ctx, b, st, b.N)
	people := participants(ctx, b, st, b.N, "herd.example.org")
	began := time.Now()
	ids := h.startAccepted(ctx, b, people)
	h.started = time.Since(began)
	h.budget = herdBase + herdPace*h.started
	h.planner.SetFactor(h.after / (h.budget - h.planner.Lead))
	if _, err := benchref.ClosedLoop(ctx, b.N, intakeClients, func(ctx context.Context) error {
		return h.svc.Workflows.Temporal.SignalWorkflow(ctx, <-ids, "", workflows.SignalStart, intakeStarts(h.intake))
	}); err != nil {
		b.Fatal(err)
	}
	planned := h.countPlanned(ctx, b)
	t0 := h.due(b)
	b.Logf("%d journeys started in %s, planned %s before the herd", b.N,
		h.started.Round(time.Millisecond), t0.Sub(planned).Round(time.Millisecond))
	if t0.Sub(planned) < herdMargin {
		b.Fatalf("the journeys planned too late for the herd: raise herdPace (%d)", herdPace)
	}
	h.settle(ctx, b, t0)
	return t0
}

// startAccepted starts the people's journeys, accepted, and waits until
// they wait for their intake's start; it returns their workflow IDs.
func (h *herd) startAccepted(ctx context.Context, b *testing.B, people []uuid.UUID) chan string {
	ids := make(chan string, len(people))
	var next atomic.Int64
	if _, err := benchref.ClosedLoop(ctx, len(people), intakeClients, func(ctx context.Context) error {
		j, opts := deferredIn(h.intake, people[next.Add(1)-1])
		ids <- opts.ID
		_, err := h.svc.Workflows.Temporal.ExecuteWorkflow(ctx, opts, workflows.JourneyWorkflow, j)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	waitForCount(ctx, b, h.st, h.intake.ID, contract.StatusAccepted, len(people))
	return ids
}

// due is when the herd falls due on the real clock.
func (h *herd) due(b *testing.B) time.Time {
	s, err := h.planner.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: h.intake.StartsOn})
	if err != nil {
		b.Fatal(err)
	}
	item, r, err := firstReminder(s)
	if err != nil {
		b.Fatal(err)
	}
	if item != h.item || r.Key != h.first.Key {
		b.Fatalf("the planned schedule's first reminder is %s, not %s as the programme's", r.Key, h.first.Key)
	}
	return r.At
}

// countPlanned waits until every journey has planned (awaiting the start,
// or in the first lab if it planned after the programme began) and says
// when.
func (h *herd) countPlanned(ctx context.Context, b *testing.B) time.Time {
	waitEvery(ctx, b, fmt.Sprintf("%d journeys to plan", b.N), herdLook, func() (bool, error) {
		counts, err := h.st.IntakeCounts(ctx, h.intake.ID)
		return counts[string(contract.StatusAwaitingStart)]+counts[string(contract.StatusInLabs)] == b.N, err
	})
	return time.Now()
}

// settle waits until every journey is in its first lab and the outbox has
// sent all it was given, and fails unless that was herdMargin before t0:
// the herd's figures would include them.
func (h *herd) settle(ctx context.Context, b *testing.B, t0 time.Time) {
	waitEvery(ctx, b, "the start to settle", herdLook, func() (bool, error) {
		if time.Until(t0) < herdMargin {
			return false, fmt.Errorf("the journeys' start had not settled %s before the herd: raise herdPace (%d)", herdMargin, herdPace)
		}
		counts, err := h.st.IntakeCounts(ctx, h.intake.ID)
		if err != nil || counts[string(contract.StatusInLabs)] != b.N {
			return false, err
		}
		queued, err := h.st.ListMessages(ctx, store.OutboxFilter{IntakeID: h.intake.ID, Status: store.MessageQueued, Limit: 1})
		return len(queued) == 0, err
	})
	b.Logf("settled %s before the herd", time.Until(t0).Round(time.Millisecond))
}

// herdOf keeps the herd's messages of msgs: the first reminder's.
func (h *herd) herdOf(msgs []store.Message) []store.Message {
	return slices.DeleteFunc(msgs, func(m store.Message) bool { return m.Template != h.first.Template || m.ItemID != h.item })
}

// awaitDrained waits until every journey's herd message is sent, or fails
// at deadline, and returns them. It counts the mailbox's files (the herd
// is the last b.N to arrive) and reads the outbox only once they are all
// there: reading the intake's whole outbox every moment took half the
// machine from the herd.
func (h *herd) awaitDrained(ctx context.Context, b *testing.B, deadline time.Time) []store.Message {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	before := h.inMailbox(b)
	var sent []store.Message
	waitEvery(ctx, b, fmt.Sprintf("the herd's %d messages to be sent", b.N), herdLook, func() (bool, error) {
		if h.inMailbox(b) < before+b.N {
			return false, nil
		}
		msgs, err := h.st.ListMessages(ctx, store.OutboxFilter{IntakeID: h.intake.ID, Status: store.MessageSent})
		sent = h.herdOf(msgs)
		return len(sent) >= b.N, err
	})
	if len(sent) != b.N {
		b.Fatalf("%d of the herd's messages sent, want one per journey, %d", len(sent), b.N)
	}
	return sent
}

// inMailbox is how many messages the mailbox has.
func (h *herd) inMailbox(b *testing.B) int {
	entries, err := os.ReadDir(h.mailbox.Dir())
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".eml") {
			n++
		}
	}
	return n
}

// lags are the herd's lags from t0 to the mailbox having each message,
// and to each workflow queueing it. A message missing from the mailbox, or
// there twice, fails it.
func (h *herd) lags(b *testing.B, t0 time.Time, sent []store.Message) (arrived, queued benchref.Result) {
	box, err := devmail.List(h.mailbox.Dir())
	if err != nil {
		b.Fatal(err)
	}
	arrivals := map[string][]time.Time{}
	for _, s := range box {
		arrivals[s.MessageID] = append(arrivals[s.MessageID], s.Received)
	}
	var at, sendAt []time.Time
	for _, m := range sent {
		if got := arrivals[m.MessageID]; len(got) != 1 {
			b.Fatalf("the herd's message %s (%s) reached the mailbox %d times, want once", m.Key, m.MessageID, len(got))
		}
		at, sendAt = append(at, arrivals[m.MessageID][0]), append(sendAt, m.SendAt)
	}
	if arrived, err = benchref.Lags(t0, at); err != nil {
		b.Fatal(err)
	}
	if queued, err = benchref.Lags(t0, sendAt); err != nil {
		b.Fatal(err)
	}
	return arrived, queued
}

func reportHerd(b *testing.B, ours, fired, bare benchref.Result) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ours.PerSecond(), "msgs/s")
	b.ReportMetric(ms(ours.P50), "p50-lag-ms")
	b.ReportMetric(ms(ours.P99), "p99-lag-ms")
	b.ReportMetric(ms(fired.P99), "fired-p99-ms")
	b.ReportMetric(bare.PerSecond(), "bare-acts/s")
	b.ReportMetric(ms(bare.P50), "bare-p50-lag-ms")
	b.ReportMetric(ms(bare.P99), "bare-p99-lag-ms")
	b.ReportMetric(ours.PerSecond()/bare.PerSecond(), "x-bare-rate")
	b.ReportMetric(float64(ours.P99)/float64(bare.P99), "x-bare-p99")
}
