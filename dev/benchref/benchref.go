// Package benchref is what every benchmark of the engine measures itself
// against: bare Temporal workflows of the same shape as ours, run on the
// same server in the same run, and the closed-loop measuring both share.
// Absolute figures on a shared two-core machine are noise; the ratio of
// ours to the bare shape's is what a tuning can move and a reader can
// compare between machines (BENCHMARKS.md).
package benchref

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
)

// TaskQueue is the bare workflows' own, so that they never share pollers
// with the engine's.
const TaskQueue = "bare-reference"

// Shape is a bare workflow whose Update does as little as one of ours
// could.
type Shape string

const (
	// StateUpdate only changes the workflow's state: the least an Update
	// can do, and so the limit for ours.
	StateUpdate Shape = "state"
	// ActivityUpdate runs one activity that does nothing and waits for it:
	// an Update that records through a regular activity costs this much.
	ActivityUpdate Shape = "activity"
	// LocalUpdate runs one local activity that does nothing and waits for
	// it: the Update and the activity in one workflow task, as a record
	// made by a local activity would be.
	LocalUpdate Shape = "local"
)

// updateName is the bare workflows' only Update.
const updateName = "bump"

// Worker runs the bare workflows on a Temporal server.
type Worker struct {
	tc client.Client
	w  sdkworker.Worker
}

// Start starts a worker for the bare workflows; Stop it when done.
func Start(tc client.Client) (*Worker, error) {
	w := sdkworker.New(tc, TaskQueue, sdkworker.Options{})
	w.RegisterWorkflow(StateUpdated)
	w.RegisterWorkflow(ActivityUpdated)
	w.RegisterWorkflow(LocalUpdated)
	w.RegisterActivity(Nothing)
	w.RegisterWorkflow(Waiter)
	w.RegisterWorkflow(FanOut)
	w.RegisterWorkflow(Alarm)
	w.RegisterActivity(Now)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("starting the bare reference worker: %w", err)
	}
	return &Worker{tc: tc, w: w}, nil
}

// Stop stops the worker.
func (w *Worker) Stop() { w.w.Stop() }

// StateUpdated waits for ever (continuing as new), counting the updates
// it is sent.
func StateUpdated(ctx workflow.Context) error {
	return updating(ctx, func(workflow.Context) error { return nil })
}

// ActivityUpdated waits for ever, running Nothing for each update.
func ActivityUpdated(ctx workflow.Context) error {
	return updating(ctx, func(ctx workflow.Context) error {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
		return workflow.ExecuteActivity(ctx, Nothing).Get(ctx, nil)
	})
}

// LocalUpdated waits for ever, running Nothing as a local activity for
// each update.
func LocalUpdated(ctx workflow.Context) error {
	return updating(ctx, func(ctx workflow.Context) error {
		ctx = workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 30 * time.Second})
		return workflow.ExecuteLocalActivity(ctx, Nothing).Get(ctx, nil)
	})
}

// updating waits for ever, doing do for each update and answering how
// many its run has taken. do gets the handler's own context: options set
// on the workflow's do not reach it. It continues as new when the server
// suggests it, as the project's workflows do: a run may take only so many
// updates (2,000 by default, history.maxTotalUpdates), and a reference
// that kept one run failed a benchmark of more.
func updating(ctx workflow.Context, do func(workflow.Context) error) error {
	n := 0
	if err := workflow.SetUpdateHandler(ctx, updateName, func(ctx workflow.Context) (int, error) {
		if err := do(ctx); err != nil {
			return 0, err
		}
		n++
		return n, nil
	}); err != nil {
		return err
	}
	err := workflow.Await(ctx, func() bool {
		return workflow.GetInfo(ctx).GetContinueAsNewSuggested() && workflow.AllHandlersFinished(ctx)
	})
	if err != nil {
		return err
	}
	return workflow.NewContinueAsNewError(ctx, workflow.GetInfo(ctx).WorkflowType.Name)
}

// Nothing is the activity that does nothing.
func Nothing(context.Context) error { return nil }

// Waiter finishes when signalled "go".
func Waiter(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return nil
}

// FanOut signals every waiter, all at once.
func FanOut(ctx workflow.Context, ids []string) error {
	var fs []workflow.Future
	for _, id := range ids {
		fs = append(fs, workflow.SignalExternalWorkflow(ctx, id, "", "go", nil))
	}
	for _, f := range fs {
		if err := f.Get(ctx, nil); err != nil {
			return err
		}
	}
	return nil
}

// shapes are the workflows of each shape.
var shapeWorkflows = map[Shape]any{StateUpdate: StateUpdated, ActivityUpdate: ActivityUpdated, LocalUpdate: LocalUpdated}

// Updaters are bare workflows of one shape, one per client, each updated
// by one client at a time.
type Updaters struct {
	tc  client.Client
	ids chan string
}

// Updaters starts one workflow of the shape per client; Close terminates
// them.
func (w *Worker) Updaters(ctx context.Context, shape Shape, clients int) (*Updaters, error) {
	wf := shapeWorkflows[shape]
	if wf == nil {
		return nil, fmt.Errorf("no bare shape %q: use %q, %q or %q", shape, StateUpdate, ActivityUpdate, LocalUpdate)
	}
	u := &Updaters{tc: w.tc, ids: make(chan string, clients)}
	for range clients {
		id := fmt.Sprintf("bare-%s-%s", shape, uuid.NewString())
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: TaskQueue}, wf); err != nil {
			u.Close()
			return nil, fmt.Errorf("starting a bare %s workflow: %w", shape, err)
		}
		u.ids <- id
	}
	return u, nil
}

// Update sends one Update to a workflow no other client is using and waits
// for its result.
func (u *Updaters) Update(ctx context.Context) error {
	id := <-u.ids
	defer func() { u.ids <- id }()
	h, err := u.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: updateName,
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	return err
}

// Close terminates the workflows (none may be in use).
func (u *Updaters) Close() {
	for {
		select {
		case id := <-u.ids:
			_ = u.tc.TerminateWorkflow(context.Background(), id, "", "benchmark done")
		default:
			return
		}
	}
}

// FanOut starts n waiters (untimed) and returns the part to time: a
// workflow signalling them all, until every waiter has finished.
func (w *Worker) FanOut(ctx context.Context, n int) (func() error, error) {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "bare-waiter-" + uuid.NewString()
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: TaskQueue}, Waiter); err != nil {
			return nil, fmt.Errorf("starting a bare waiter: %w", err)
		}
	}
	return func() error {
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: TaskQueue}, FanOut, ids); err != nil {
			return fmt.Errorf("starting the bare fan-out: %w", err)
		}
		// One waiter after another: a finished one answers in a
		// millisecond or so. Waiting for 50 at once was tried, to spare the
		// reference those round trips, and made it slower (26 against 43
		// a second at 200): 50 long polls weigh on the server doing the
		// fan-out.
		for _, id := range ids {
			if err := w.tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
				return fmt.Errorf("bare waiter %s: %w", id, err)
			}
		}
		return nil
	}, nil
}

// Alarmed is what an Alarm did.
type Alarmed struct {
	// Early says its timer was set before the instant: one set after it
	// fires at once, and its lag measures its start instead.
	Early bool
	// Ran is when its activity ran.
	Ran time.Time
}

// Alarm sleeps until at, then runs Now: a reminder's timer firing into an
// activity, the least a journey's reminder could do.
func Alarm(ctx workflow.Context, at time.Time) (Alarmed, error) {
	d := at.Sub(workflow.Now(ctx))
	r := Alarmed{Early: d > 0}
	if d > 0 {
		if err := workflow.NewTimer(ctx, d).Get(ctx, nil); err != nil {
			return r, err
		}
	}
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second})
	err := workflow.ExecuteActivity(ctx, Now).Get(ctx, &r.Ran)
	return r, err
}

// Now is Nothing that says when it ran, on the worker's clock: the instant
// the activity task reached a worker is what a herd's lag is measured to.
func Now(context.Context) (time.Time, error) { return time.Now(), nil }

// Herd starts n Alarms from clients at once, all due lead after the call,
// and waits for them all: the lags from that instant to each activity
// running, and the rate the server fired them at. Give lead enough to
// start them all: an Alarm started late fails it.
func (w *Worker) Herd(ctx context.Context, n, clients int, lead time.Duration) (Result, error) {
	due := time.Now().Add(lead)
	ids := make(chan string, n)
	_, err := ClosedLoop(ctx, n, clients, func(ctx context.Context) error {
		id := "bare-alarm-" + uuid.NewString()
		_, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: TaskQueue}, Alarm, due)
		if err == nil {
			ids <- id
		}
		return err
	})
	close(ids)
	if err != nil {
		return Result{}, fmt.Errorf("starting the bare alarms: %w", err)
	}
	var ran []time.Time
	for id := range ids {
		var r Alarmed
		if err := w.tc.GetWorkflow(ctx, id, "").Get(ctx, &r); err != nil {
			return Result{}, fmt.Errorf("bare alarm %s: %w", id, err)
		}
		if !r.Early {
			return Result{}, fmt.Errorf("bare alarm %s set its timer after the herd was due: give it more than %s to start %d", id, lead, n)
		}
		ran = append(ran, r.Ran)
	}
	return Lags(due, ran)
}

// Starts starts n waiting workflows from clients at once, as fast as the
// server takes them, then terminates them (untimed): the bare start rate.
func (w *Worker) Starts(ctx context.Context, n, clients int) (Result, error) {
	ids := make(chan string, n)
	r, err := ClosedLoop(ctx, n, clients, func(ctx context.Context) error {
		id := "bare-start-" + uuid.NewString()
		_, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: TaskQueue}, Waiter)
		if err == nil {
			ids <- id
		}
		return err
	})
	close(ids)
	for id := range ids {
		_ = w.tc.TerminateWorkflow(context.Background(), id, "", "benchmark done")
	}
	return r, err
}

// Result is what a closed loop measured.
type Result struct {
	N        int
	Elapsed  time.Duration
	P50, P99 time.Duration
}

// PerSecond is the throughput.
func (r Result) PerSecond() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// ClosedLoop runs n operations from clients goroutines, each starting its
// next operation when its last is answered, and measures throughput and
// latency. The first error stops it.
func ClosedLoop(ctx context.Context, n, clients int, op func(context.Context) error) (Result, error) {
	if n < 1 {
		return Result{}, fmt.Errorf("a closed loop of %d operations measures nothing: give it 1 or more", n)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	latencies := make([]time.Duration, n)
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	began := time.Now()
	for range clients {
		wg.Go(func() {
			for i := range next {
				t := time.Now()
				if err := op(ctx); err != nil {
					cancel(err)
					return
				}
				latencies[i] = time.Since(t)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(began)
	if err := context.Cause(ctx); err != nil {
		return Result{}, err
	}
	return summarise(elapsed, latencies), nil
}

// summarise is n latencies' result over elapsed.
func summarise(elapsed time.Duration, latencies []time.Duration) Result {
	n := len(latencies)
	slices.Sort(latencies)
	// Nearest rank: the p99 of 20 is the slowest, not the second slowest.
	at := func(p float64) time.Duration { return latencies[int(math.Ceil(p*float64(n)))-1] }
	return Result{N: n, Elapsed: elapsed, P50: at(0.5), P99: at(0.99)}
}

// Lags is a herd's result: things all due at due that happened at each of
// at. Its latencies are their lags from due, and its throughput the rate
// from due until the last: how fast the herd drained.
func Lags(due time.Time, at []time.Time) (Result, error) {
	if len(at) == 0 {
		return Result{}, fmt.Errorf("a herd of none measures nothing")
	}
	lags := make([]time.Duration, len(at))
	for i, t := range at {
		lags[i] = t.Sub(due)
	}
	last := slices.Max(lags)
	if last <= 0 {
		return Result{}, fmt.Errorf("the whole herd was done %s before it was due", -last)
	}
	return summarise(last, lags), nil
}

// Reference is a bare shape's result beside ours.
type Reference struct {
	Shape  Shape
	Result Result
}

// Measure runs b.N operations of ours from clients at once, timed, then
// the same number of bare updates of each shape, untimed, and reports
// ours, each shape's figures and our ratio to each (Metrics).
func (w *Worker) Measure(b *testing.B, clients int, ours func(context.Context) error, shapes ...Shape) {
	ctx := context.Background()
	b.ResetTimer()
	r, err := ClosedLoop(ctx, b.N, clients, ours)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	var refs []Reference
	for _, shape := range shapes {
		u, err := w.Updaters(ctx, shape, clients)
		if err != nil {
			b.Fatal(err)
		}
		ref, err := ClosedLoop(ctx, b.N, clients, u.Update)
		u.Close()
		if err != nil {
			b.Fatalf("bare %s updates: %v", shape, err)
		}
		refs = append(refs, Reference{Shape: shape, Result: ref})
	}
	Report(b, r, refs...)
}

// Report reports ours and each reference, with our ratios to them.
func Report(b *testing.B, ours Result, refs ...Reference) {
	for _, m := range Metrics(ours, refs...) {
		b.ReportMetric(m.Value, m.Unit)
	}
}

// Metric is one figure a benchmark reports, in benchstat's terms.
type Metric struct {
	Value float64
	Unit  string
}

// Metrics are ours ("ops/s", "p50-ms", "p99-ms"), then each reference's
// under its shape's name ("state-ops/s"...) with our ratios to it:
// "x-state-ops", our throughput over its (1 is as fast), and
// "x-state-p99", our p99 over its (1 is as quick).
func Metrics(ours Result, refs ...Reference) []Metric {
	ms := resultMetrics("", ours)
	for _, ref := range refs {
		prefix := string(ref.Shape) + "-"
		ms = append(ms, resultMetrics(prefix, ref.Result)...)
		ms = append(ms,
			Metric{ours.PerSecond() / ref.Result.PerSecond(), "x-" + prefix + "ops"},
			Metric{float64(ours.P99) / float64(ref.Result.P99), "x-" + prefix + "p99"})
	}
	return ms
}

func resultMetrics(prefix string, r Result) []Metric {
	return []Metric{{r.PerSecond(), prefix + "ops/s"}, {ms(r.P50), prefix + "p50-ms"}, {ms(r.P99), prefix + "p99-ms"}}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
