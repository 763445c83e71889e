package cluster_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/programme"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

const (
	benchCoaches  = 50
	bareTaskQueue = "bare"
	// checkpointsEnv, if set, is how many open checkpoints the benchmark
	// makes (one per journey); by default enough for -benchtime 100x at 1
	// and 50 clients. scripts/test, running it once, needs 2.
	checkpointsEnv     = "INFUSE_BENCH_CHECKPOINTS"
	defaultCheckpoints = 210
)

// benchCheckpoints is how many open checkpoints the benchmark makes.
func benchCheckpoints(t testing.TB) int {
	v := os.Getenv(checkpointsEnv)
	if v == "" {
		return defaultCheckpoints
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: give a number of checkpoints, 1 or more", checkpointsEnv, v)
	}
	return n
}

// BenchmarkCluster measures on the cluster over PostgreSQL what a coach
// and a coordinator wait for, each beside a bare Temporal workflow of the
// same shape on the same server in the same run:
//
//   - checkpoint: a coach completing a checkpoint through the HTTP API
//     (idempotency claim, note stored, the journey's Update, the event
//     recorded), by 1 and by 50 clients at once, against bare-update: an
//     Update whose handler only changes the workflow's state;
//   - intake-start: starting an intake of b.N accepted journeys until
//     every journey has planned its schedule and recorded its start,
//     against bare-fan-out: a workflow signalling b.N waiting workflows
//     until all have finished.
//
// The updates report ops/s and p50/p99 latency in ms, the fan-outs
// journeys/s. Run it as README says, -count 1 (each run sets up a new
// cluster; the open checkpoints last one count):
// go test ./e2e/cluster/ -run '^$' -bench Cluster -benchtime 100x -count 1
func BenchmarkCluster(b *testing.B) {
	pg := postgresOrSkip(b)
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	s := startSystem(ctx, b, pg, "")
	bare := s.startBareWorker(b)
	pool := s.openCheckpoints(ctx)
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("checkpoint/clients=%d", clients), func(b *testing.B) {
			closedLoop(b, clients, func(ctx context.Context) error { return s.completeCheckpoint(ctx, pool) })
		})
		b.Run(fmt.Sprintf("bare-update/clients=%d", clients), func(b *testing.B) {
			ids := bare.updaters(ctx, b, clients)
			closedLoop(b, clients, func(ctx context.Context) error { return bare.update(ctx, ids) })
		})
	}
	coord := s.benchCoordinator(ctx)
	b.Run("intake-start", func(b *testing.B) {
		timeFanOut(b, s.reportingTo(b).intakeStart(ctx, coord, pool.clock, b.N))
	})
	b.Run("bare-fan-out", func(b *testing.B) {
		timeFanOut(b, bare.fanOut(ctx, b, b.N))
	})
}

// closedLoop runs b.N operations from clients goroutines, each starting
// its next operation when its last is answered, and reports throughput and
// latency percentiles.
func closedLoop(b *testing.B, clients int, op func(context.Context) error) {
	ctx := context.Background()
	latencies := make([]time.Duration, b.N)
	next := make(chan int, b.N)
	for i := range b.N {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	b.ResetTimer()
	began := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := time.Now()
				if err := op(ctx); err != nil {
					b.Error(err)
					return
				}
				latencies[i] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	reportPercentiles(b, latencies)
}

// timeFanOut times one fan-out to b.N journeys or workflows, prepared
// untimed.
func timeFanOut(b *testing.B, run func()) {
	b.ResetTimer()
	began := time.Now()
	run()
	b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "journeys/s")
}

func reportPercentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	at := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) / 1000 }
	b.ReportMetric(at(0.5), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
}

// checkpointPool holds the open checkpoints the benchmark completes.
type checkpointPool struct {
	mu    sync.Mutex
	open  []*journeyRun
	clock activities.RehearsalClock // the workers' since the pool was made
}

func (p *checkpointPool) take() (*journeyRun, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.open) == 0 {
		return nil, false
	}
	j := p.open[0]
	p.open = p.open[1:]
	return j, true
}

// openCheckpoints sets up an intake of benchCheckpoints journeys and
// rehearses it fast until every journey's first checkpoint is open, then
// at real speed, so the checkpoints stay open for the benchmark.
func (s *system) openCheckpoints(ctx context.Context) *checkpointPool {
	r := &intakeRun{coordinator: s.bootstrapCoordinator(ctx)}
	n := benchCheckpoints(s.t)
	coaches, participants := s.importPeople(ctx, r.coordinator, "pool", min(benchCoaches, n), n)
	startsOn := time.Now().In(starter.London).Add(lead + 24*time.Hour).Format("2006-01-02")
	r.id = s.createIntake(ctx, r.coordinator, startsOn, n)
	r.journeys = s.applyAll(ctx, r, coaches, participants)
	day, _ := starter.ParseTime(startsOn)
	from := time.Now().Add(2 * time.Second).UTC().Truncate(time.Second)
	fast := activities.RehearsalClock{From: from, Speed: 400_000}
	s1, err := (activities.RehearsalPlanner{Clock: fast}).Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: day})
	if err != nil {
		s.t.Fatal(err)
	}
	opens := itemOf(s.t, s1, "checkpoint/1").OpensAt
	// Real speed from a little after the first checkpoint opens.
	r.clock = activities.RehearsalClock{From: from, Speed: fast.Speed, Until: opens.Add(2 * time.Second).Truncate(time.Second)}
	s.rollingRestart(ctx, r.clock)
	if a, err := s.client.post(ctx, r.coordinator.token, "/api/intakes/"+r.id.String()+"/start", struct{}{}); err != nil || !a.ok() {
		s.t.Fatalf("starting the intake: %v %d %s", err, a.status, a.body)
	}
	s.eventually(ctx, "the first checkpoints to open", func() (bool, error) { return time.Now().After(r.clock.Until), nil })
	return &checkpointPool{open: r.journeys, clock: r.clock}
}

func itemOf(t testing.TB, s programme.Schedule, id string) programme.Item {
	for _, it := range s.Items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("the programme has no %s", id)
	return programme.Item{}
}

// completeCheckpoint is one coach completing one open checkpoint.
func (s *system) completeCheckpoint(ctx context.Context, pool *checkpointPool) error {
	j, ok := pool.take()
	if !ok {
		return fmt.Errorf("no open checkpoint left: run with -benchtime 100x -count 1 (or raise %s), and repeat the command for more samples", checkpointsEnv)
	}
	a, err := s.client.post(ctx, j.coach.token, "/api/journeys/"+j.id.String()+"/checkpoints/1/complete",
		api.CompleteCheckpointRequest{Notes: "Going well.", Status: workflows.RAGGreen})
	if err == nil && !a.ok() {
		err = fmt.Errorf("completing a checkpoint: %d %s", a.status, a.body)
	}
	return err
}

// benchCoordinator is a coordinator for the intakes the fan-out benchmark starts.
func (s *system) benchCoordinator(ctx context.Context) person {
	p, err := s.store.FindPersonByEmail(ctx, "cara@cluster.test")
	if err != nil {
		s.t.Fatal(err)
	}
	tok, _, err := s.store.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: store.RoleCoordinator, Name: "fan-out benchmark"})
	if err != nil {
		s.t.Fatal(err)
	}
	return person{id: p.ID, email: p.EmailAddress, token: tok}
}

// intakeStart sets up an intake of n accepted journeys and returns its
// start: the API call, then every journey planned and recorded as started.
// The intake starts a month ahead on the workers' clock (which the pool
// moved months ahead of the real one), so each journey plans its schedule
// and waits, as at a real intake's start.
func (s *system) intakeStart(ctx context.Context, coord person, clock activities.RehearsalClock, n int) func() {
	r := &intakeRun{coordinator: coord}
	coaches, participants := s.importPeople(ctx, coord, "fan-"+uuid.NewString()[:8], 1, n)
	startsOn := clock.ToVirtual(time.Now()).In(starter.London).Add(30 * 24 * time.Hour).Format("2006-01-02")
	r.id = s.createIntake(ctx, coord, startsOn, n)
	s.applyAll(ctx, r, coaches, participants)
	return func() {
		if a, err := s.client.post(ctx, coord.token, "/api/intakes/"+r.id.String()+"/start", struct{}{}); err != nil || !a.ok() {
			s.t.Fatalf("starting the intake: %v %d %s", err, a.status, a.body)
		}
		s.eventually(ctx, "every journey to start", func() (bool, error) {
			counts, err := s.store.IntakeCounts(ctx, r.id)
			return counts[string(workflows.StatusAwaitingStart)] == n, err
		})
	}
}

// bareWorker runs the bare reference workflows on the cluster, in this
// process, on a task queue of their own.
type bareWorker struct {
	tc client.Client
}

func (s *system) startBareWorker(t testing.TB) *bareWorker {
	w := sdkworker.New(s.tc, bareTaskQueue, sdkworker.Options{})
	w.RegisterWorkflow(bareUpdated)
	w.RegisterWorkflow(bareWaiter)
	w.RegisterWorkflow(bareFanOut)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return &bareWorker{tc: s.tc}
}

// bareUpdated waits for ever, counting the updates it is sent: the least
// an Update can do.
func bareUpdated(ctx workflow.Context) error {
	n := 0
	if err := workflow.SetUpdateHandler(ctx, "bump", func(ctx workflow.Context) (int, error) {
		n++
		return n, nil
	}); err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return false })
}

// bareWaiter finishes when signalled.
func bareWaiter(ctx workflow.Context) error {
	workflow.GetSignalChannel(ctx, "go").Receive(ctx, nil)
	return nil
}

// bareFanOut signals every waiter, all at once.
func bareFanOut(ctx workflow.Context, ids []string) error {
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

// updaters starts one bareUpdated workflow per client.
func (w *bareWorker) updaters(ctx context.Context, t testing.TB, clients int) chan string {
	ids := make(chan string, clients)
	for range clients {
		id := "bare-updated-" + uuid.NewString()
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: bareTaskQueue}, bareUpdated); err != nil {
			t.Fatal(err)
		}
		ids <- id
	}
	t.Cleanup(func() {
		for range clients {
			_ = w.tc.TerminateWorkflow(context.Background(), <-ids, "", "benchmark done")
		}
	})
	return ids
}

// update sends one Update to a bareUpdated workflow no other client is using.
func (w *bareWorker) update(ctx context.Context, ids chan string) error {
	id := <-ids
	defer func() { ids <- id }()
	h, err := w.tc.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: id, UpdateName: "bump", WaitForStage: client.WorkflowUpdateStageCompleted})
	if err == nil {
		err = h.Get(ctx, nil)
	}
	return err
}

// fanOut starts n waiters (untimed) and returns the timed part: the
// fan-out workflow signalling them until every waiter has finished.
func (w *bareWorker) fanOut(ctx context.Context, t testing.TB, n int) func() {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "bare-waiter-" + uuid.NewString()
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: ids[i], TaskQueue: bareTaskQueue}, bareWaiter); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		if _, err := w.tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: bareTaskQueue}, bareFanOut, ids); err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := w.tc.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
}
