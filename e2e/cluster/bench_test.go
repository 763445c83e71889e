package cluster_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

const (
	benchCoaches = 50
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
// and a coordinator wait for, each beside bare Temporal workflows of the
// same shape on the same server in the same run (dev/benchref):
//
//   - checkpoint: a coach completing a checkpoint through the HTTP API
//     (idempotency claim, note stored, the journey's Update, the event
//     recorded), by 1 and by 50 clients at once, against an Update whose
//     handler only changes the workflow's state ("state-") and one that
//     runs one activity ("activity-");
//   - intake-start: starting an intake of b.N accepted journeys until
//     every journey has planned its schedule and recorded its start,
//     against a workflow signalling b.N waiting workflows until all have
//     finished ("bare-").
//
// The updates report ops/s and p50/p99 latency in ms, the fan-outs
// journeys/s, each with its ratio to the bare shape's ("x-"). Run it as README says, -count 1 (each run sets up a new
// cluster; the open checkpoints last one count):
// go test ./e2e/cluster/ -run '^$' -bench Cluster -benchtime 100x -count 1
func BenchmarkCluster(b *testing.B) {
	pg := postgresOrSkip(b)
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	s := startSystem(ctx, b, pg, "")
	bare, err := benchref.Start(s.tc)
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Stop()
	pool := s.openCheckpoints(ctx)
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("checkpoint/clients=%d", clients), func(b *testing.B) {
			bare.Measure(b, clients, func(ctx context.Context) error { return s.completeCheckpoint(ctx, pool) },
				benchref.StateUpdate, benchref.ActivityUpdate)
		})
	}
	coord := s.benchCoordinator(ctx)
	b.Run("intake-start", func(b *testing.B) {
		start := s.reportingTo(b).intakeStart(ctx, coord, pool.clock, b.N)
		b.ResetTimer()
		ours := timeFanOut(b, start)
		b.StopTimer()
		fanOut, err := bare.FanOut(ctx, b.N)
		if err != nil {
			b.Fatal(err)
		}
		ref := timeFanOut(b, fanOut)
		b.ReportMetric(ours, "journeys/s")
		b.ReportMetric(ref, "bare-journeys/s")
		b.ReportMetric(ours/ref, "x-bare")
	})
}

// timeFanOut times one fan-out to b.N journeys or workflows, prepared
// beforehand, and says how many it started a second.
func timeFanOut(b *testing.B, run func() error) float64 {
	began := time.Now()
	err := run()
	took := time.Since(began)
	if err != nil {
		b.Fatal(err)
	}
	return float64(b.N) / took.Seconds()
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
	startsOn := time.Now().In(programme.London).Add(lead + 24*time.Hour).Format("2006-01-02")
	r.id = s.createIntake(ctx, r.coordinator, startsOn, n)
	r.journeys = s.applyAll(ctx, r, coaches, participants)
	day, _ := commands.ParseTime(startsOn)
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
func (s *system) intakeStart(ctx context.Context, coord person, clock activities.RehearsalClock, n int) func() error {
	r := &intakeRun{coordinator: coord}
	coaches, participants := s.importPeople(ctx, coord, "fan-"+uuid.NewString()[:8], 1, n)
	startsOn := clock.ToVirtual(time.Now()).In(programme.London).Add(30 * 24 * time.Hour).Format("2006-01-02")
	r.id = s.createIntake(ctx, coord, startsOn, n)
	s.applyAll(ctx, r, coaches, participants)
	return func() error {
		if a, err := s.client.post(ctx, coord.token, "/api/intakes/"+r.id.String()+"/start", struct{}{}); err != nil || !a.ok() {
			return fmt.Errorf("starting the intake: %v %d %s", err, a.status, a.body)
		}
		s.eventually(ctx, "every journey to start", func() (bool, error) {
			counts, err := s.store.IntakeCounts(ctx, r.id)
			return counts[string(contract.StatusAwaitingStart)] == n, err
		})
		return nil
	}
}
