package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/dev/cluster"
	"github.com/infuse-cymru/journeys/dev/devserver"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// BenchmarkWorkerMemory measures what one worker holds for b.N open
// journeys: `infuse worker` in a process of its own (the embedded dev
// server and the SQLite store in this one), b.N journeys started as
// accepted and told their intake starts in a month, so each has planned
// its six months and waits on its timers, in the worker's cache. It reads
// the worker's own /metrics before and after: its resident memory
// ("rss-MB") and Go heap in use ("heap-MB"), and what each thousand
// journeys added to them ("rss-MB/1000"). The goal is under 1 GB at 10,000:
//
//	go test ./e2e/ -run '^$' -bench WorkerMemory -benchtime 10000x -timeout 60m
//
// With INFUSE_BENCH_WORKER_GOMEMLIMIT set (e.g. 850MiB) the worker runs
// with that GOMEMLIMIT, as a deployment sized for its container would, and
// with INFUSE_BENCH_WORKER_CACHE (e.g. 1000) it keeps that many journeys in
// memory (INFUSE_WORKER_CACHE).
func BenchmarkWorkerMemory(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Minute)
	defer cancel()
	dir := b.TempDir()
	infuse, err := cluster.BuildInfuse(ctx, dir)
	if err != nil {
		b.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := devserver.Start(ctx, devserver.Options{DataDir: dir, Port: port, SearchAttributes: temporalx.SearchAttributes()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Stop)
	dbPath := filepath.Join(dir, "infuse.db")
	st, err := sqlitestore.Open(ctx, dbPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(st.Close)
	tc, err := client.DialContext(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: devserver.DefaultNamespace,
		Logger: logging.NewTemporalLogger(zap.NewNop())})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(tc.Close)
	metricsPort, err := freePort()
	if err != nil {
		b.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", metricsPort)
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "TEMPORAL_ADDRESS=" + srv.FrontendAddress(),
		"TEMPORAL_NAMESPACE=" + devserver.DefaultNamespace, "INFUSE_LOG_LEVEL=error"}
	if limit := os.Getenv(workerMemoryLimitEnv); limit != "" {
		env = append(env, "GOMEMLIMIT="+limit)
	}
	if size := os.Getenv(workerCacheEnv); size != "" {
		env = append(env, "INFUSE_WORKER_CACHE="+size)
	}
	w, err := cluster.StartProcess("worker", filepath.Join(dir, "worker.log"), infuse,
		[]string{"worker", "--database", dbPath, "--metrics", metrics}, env)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Stop(30 * time.Second) })
	waitFor(ctx, b, "the worker's metrics", func() (bool, error) {
		if !w.Running() {
			return false, fmt.Errorf("the worker stopped: %s", w.Log())
		}
		_, err := workerMemory(ctx, metrics)
		return err == nil, nil
	})
	before, err := workerMemory(ctx, metrics)
	if err != nil {
		b.Fatal(err)
	}

	in := openJourneysIntake(ctx, b, st, b.N)
	b.ResetTimer()
	started, err := benchref.ClosedLoop(ctx, b.N, intakeClients, func(ctx context.Context) error {
		return startAcceptedJourney(ctx, tc, in, uuid.New())
	})
	if err != nil {
		b.Fatal(err)
	}
	waitForCount(ctx, b, st, in.ID, contract.StatusAwaitingStart, b.N)
	b.StopTimer()
	after, err := workerMemory(ctx, metrics)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(after.rss/1e6, "rss-MB")
	b.ReportMetric(after.heap/1e6, "heap-MB")
	b.ReportMetric(before.rss/1e6, "idle-rss-MB")
	b.ReportMetric((after.rss-before.rss)/1e6/float64(b.N)*1000, "rss-MB/1000")
	b.ReportMetric((after.heap-before.heap)/1e6/float64(b.N)*1000, "heap-MB/1000")
	b.ReportMetric(started.PerSecond(), "starts/s")
}

// openJourneysIntake stores an intake starting in a month (its workflow
// is not needed: the journeys are started as accepted), a coordinator,
// and nothing else: the journeys' people are IDs only.
func openJourneysIntake(ctx context.Context, b *testing.B, st store.Store, n int) store.Intake {
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Memory", FamilyName: "Coordinator", EmailAddress: "coord@memory.example.org"}
	if err := st.CreatePeople(ctx, []store.Person{coord}); err != nil {
		b.Fatal(err)
	}
	startsOn := time.Now().In(programme.London).AddDate(0, 1, 0)
	startsOn = time.Date(startsOn.Year(), startsOn.Month(), startsOn.Day(), 0, 0, 0, 0, startsOn.Location())
	in := store.Intake{ID: uuid.New(), Name: "Memory", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: n, CoordinatorID: coord.ID,
		OpensAt: startsOn.AddDate(0, -2, 0), ClosesAt: startsOn.AddDate(0, -1, 0), StartsOn: startsOn, Status: store.IntakeStarted}
	if err := st.CreateIntake(ctx, in); err != nil {
		b.Fatal(err)
	}
	return in
}

// startAcceptedJourney starts the person's journey as its intake would a
// deferred-in one, accepted, and tells it the intake starts. The person
// need not be stored unless a message to them is to be delivered.
func startAcceptedJourney(ctx context.Context, tc client.Client, in store.Intake, person uuid.UUID) error {
	j, opts := deferredIn(in, person)
	_, err := tc.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalStart, intakeStarts(in), opts, workflows.JourneyWorkflow, j)
	return err
}

// deferredIn is the person's journey, accepted, as its intake starts
// a deferred-in one, and how it is started.
func deferredIn(in store.Intake, person uuid.UUID) (workflows.Journey, client.StartWorkflowOptions) {
	j := workflows.Journey{JourneyID: uuid.New(), IntakeID: in.ID, PersonID: person, CoordinatorID: in.CoordinatorID,
		ProgrammeID: in.ProgrammeID, ProgrammeVersion: in.ProgrammeVersion, IntakeStartsOn: in.StartsOn, Status: contract.StatusAccepted}
	return j, client.StartWorkflowOptions{ID: workflows.JourneyWorkflowID(j.JourneyID), TaskQueue: temporalx.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalx.IntakeIDKey.ValueSet(in.ID.String()), temporalx.PhaseKey.ValueSet(string(contract.StatusAccepted)))}
}

// intakeStarts is what an intake tells its journeys when it starts.
func intakeStarts(in store.Intake) workflows.StartSignal {
	return workflows.StartSignal{StartsOn: in.StartsOn}
}

// workerMemoryLimitEnv, when set, is the worker's GOMEMLIMIT, and
// workerCacheEnv its INFUSE_WORKER_CACHE.
const (
	workerMemoryLimitEnv = "INFUSE_BENCH_WORKER_GOMEMLIMIT"
	workerCacheEnv       = "INFUSE_BENCH_WORKER_CACHE"
)

type memory struct{ rss, heap float64 }

// workerMemory reads the worker's resident memory and Go heap in use from
// its /metrics.
func workerMemory(ctx context.Context, addr string) (memory, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return memory{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return memory{}, err
	}
	defer resp.Body.Close()
	var m memory
	found := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		var into *float64
		switch name {
		case "process_resident_memory_bytes":
			into = &m.rss
		case "go_memstats_heap_inuse_bytes":
			into = &m.heap
		}
		if ok && into != nil {
			if *into, err = strconv.ParseFloat(value, 64); err != nil {
				return m, fmt.Errorf("%s: %w", name, err)
			}
			found++
		}
	}
	if found != 2 {
		return m, fmt.Errorf("the worker's /metrics lacks its memory (%d of 2 series)", found)
	}
	return m, sc.Err()
}
