package e2e_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/benchref"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// intakeClients is how many coordinators' and participants' requests are
// under way at once while an intake fills.
const intakeClients = 8

// BenchmarkIntake measures, on the embedded dev stack, an intake of b.N
// people from application to start, each stage beside a bare reference on
// the same server in the same run (dev/benchref):
//
//   - apply, offer, accept: b.N applications, decisions and acceptances
//     from intakeClients at once (each an Update: the first two on the
//     intake's workflow, the last on the journey's), against b.N
//     state-only Updates from as many clients ("x-state-apply" is the
//     applications' throughput over the bare Updates');
//   - start: from the call until every journey has planned its schedule
//     and recorded that it awaits the start, against a bare workflow
//     signalling b.N waiting workflows until all have finished
//     ("x-bare-start", what the intake's start does), and against the
//     rate the server starts bare workflows from intakeClients at once
//     ("x-bare-starts").
//
// b.N is the intake's size, so give it one, up to workflows.MaxCapacity:
//
//	go test ./e2e/ -run '^$' -bench Intake -benchtime 200x
func BenchmarkIntake(b *testing.B) {
	if b.N > workflows.MaxCapacity {
		b.Fatalf("an intake of %d: an intake has at most %d places, so give -benchtime %dx or fewer",
			b.N, workflows.MaxCapacity, workflows.MaxCapacity)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	e, err := startEmbedded(ctx, b, activities.ProgrammePlanner{})
	if err != nil {
		b.Fatal(err)
	}
	in, people := intakeOf(ctx, b, e, b.N)
	journeys := make([]uuid.UUID, b.N)
	stage := func(name string, op func(ctx context.Context, i int) error) benchref.Result {
		var next atomic.Int64
		r, err := benchref.ClosedLoop(ctx, b.N, intakeClients, func(ctx context.Context) error {
			return op(ctx, int(next.Add(1)-1))
		})
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		return r
	}
	b.ResetTimer()
	apply := stage("apply", func(ctx context.Context, i int) (err error) {
		journeys[i], err = e.svc.Commands.Apply(ctx, in, people[i], uuid.Nil)
		return err
	})
	offer := stage("offer", func(ctx context.Context, i int) error {
		_, err := e.svc.Commands.Decide(ctx, in, journeys[i], workflows.DecisionOffer)
		return err
	})
	b.StopTimer()
	// An offer reaches its journey a moment after the decision.
	waitForCount(ctx, b, e.st, in, contract.StatusOffered, b.N)
	b.StartTimer()
	accept := stage("accept", func(ctx context.Context, i int) error {
		_, err := e.svc.Commands.RespondToOffer(ctx, journeys[i], true)
		return err
	})
	b.StopTimer()
	// The intake learns of acceptances by signal and starts only those it has counted.
	waitForIntakeCount(ctx, b, e.svc, in, contract.StatusAccepted, b.N)
	b.StartTimer()
	stopProfile := profileStage(b, startProfileEnv)
	began := time.Now()
	if _, err := e.svc.Commands.StartIntake(ctx, in); err != nil {
		b.Fatal(err)
	}
	waitForCount(ctx, b, e.st, in, contract.StatusAwaitingStart, b.N)
	start := time.Since(began)
	stopProfile()
	b.StopTimer()

	u, err := e.bare.Updaters(ctx, benchref.StateUpdate, intakeClients)
	if err != nil {
		b.Fatal(err)
	}
	state, err := benchref.ClosedLoop(ctx, b.N, intakeClients, u.Update)
	u.Close()
	if err != nil {
		b.Fatal(err)
	}
	fanOut, err := e.bare.FanOut(ctx, b.N)
	if err != nil {
		b.Fatal(err)
	}
	began = time.Now()
	if err := fanOut(); err != nil {
		b.Fatal(err)
	}
	bare := time.Since(began)
	starts, err := e.bare.Starts(ctx, b.N, intakeClients)
	if err != nil {
		b.Fatal(err)
	}

	for _, s := range []struct {
		name string
		r    benchref.Result
	}{{"apply", apply}, {"offer", offer}, {"accept", accept}} {
		b.ReportMetric(s.r.PerSecond(), s.name+"-ops/s")
		b.ReportMetric(float64(s.r.P99.Microseconds())/1000, s.name+"-p99-ms")
		b.ReportMetric(s.r.PerSecond()/state.PerSecond(), "x-state-"+s.name)
	}
	b.ReportMetric(state.PerSecond(), "state-ops/s")
	b.ReportMetric(float64(b.N)/start.Seconds(), "start-journeys/s")
	b.ReportMetric(float64(b.N)/bare.Seconds(), "bare-journeys/s")
	b.ReportMetric(bare.Seconds()/start.Seconds(), "x-bare-start")
	b.ReportMetric(starts.PerSecond(), "bare-starts/s")
	b.ReportMetric(float64(b.N)/start.Seconds()/starts.PerSecond(), "x-bare-starts")
}

// startProfileEnv, when set, is a file for a CPU profile of the intake's
// start alone.
const startProfileEnv = "INFUSE_BENCH_START_CPUPROFILE"

// intakeOf makes an intake open for applications, starting in a month,
// and n participants to apply.
func intakeOf(ctx context.Context, b *testing.B, e *embedded, n int) (uuid.UUID, []uuid.UUID) {
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Bench", FamilyName: "Coordinator", EmailAddress: "coord@intake.example.org"}
	if err := e.st.CreatePeople(ctx, []store.Person{coord}); err != nil {
		b.Fatal(err)
	}
	ids := participants(ctx, b, e.st, n, "intake.example.org")
	now := time.Now()
	in, err := e.svc.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: "Bench", CoordinatorID: coord.ID, Capacity: n,
		OpensAt: now.Add(-time.Minute), ClosesAt: now.Add(time.Hour), StartsOn: now.Add(30 * 24 * time.Hour)})
	if err != nil {
		b.Fatal(err)
	}
	// The intake's workflow opens its window a moment after it is made.
	waitFor(ctx, b, "the intake to open", func() (bool, error) {
		var v workflows.IntakeView
		q, err := e.svc.Workflows.Temporal.QueryWorkflow(ctx, workflows.IntakeWorkflowID(in.ID), "", workflows.QueryIntakeState)
		if err == nil {
			err = q.Get(&v)
		}
		return err == nil && v.Status == store.IntakeOpen, nil
	})
	return in.ID, ids
}

// participants stores n participants with addresses at domain.
func participants(ctx context.Context, b *testing.B, st store.Store, n int, domain string) []uuid.UUID {
	var people []store.Person
	var ids []uuid.UUID
	for i := range n {
		p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Participant", FamilyName: fmt.Sprint(i),
			EmailAddress: fmt.Sprintf("p%d@%s", i, domain), LocalAuthority: "Newport", Theme: "communities"}
		people, ids = append(people, p), append(ids, p.ID)
	}
	if err := st.CreatePeople(ctx, people); err != nil {
		b.Fatal(err)
	}
	return ids
}

// waitForCount waits until n of the intake's journeys are in the status, as the store has them.
func waitForCount(ctx context.Context, b *testing.B, st store.Store, intake uuid.UUID, s workflows.Status, n int) {
	waitFor(ctx, b, fmt.Sprintf("%d journeys %s", n, s), func() (bool, error) {
		counts, err := st.IntakeCounts(ctx, intake)
		return counts[string(s)] == n, err
	})
}

// waitForIntakeCount waits until the intake's workflow counts n journeys in the status.
func waitForIntakeCount(ctx context.Context, b *testing.B, svc *app.App, intake uuid.UUID, s workflows.Status, n int) {
	waitFor(ctx, b, fmt.Sprintf("the intake to count %d %s", n, s), func() (bool, error) {
		counts, err := svc.Workflows.AskIntakeCounts(ctx, intake)
		return err == nil && counts[s] == n, nil
	})
}

func waitFor(ctx context.Context, b *testing.B, what string, done func() (bool, error)) {
	waitEvery(ctx, b, what, 20*time.Millisecond, done)
}

// waitEvery is waitFor looking every period: for a benchmark whose looking
// would take the machine from what it measures.
func waitEvery(ctx context.Context, b *testing.B, what string, period time.Duration, done func() (bool, error)) {
	for {
		ok, err := done()
		if err != nil {
			b.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			b.Fatalf("gave up waiting for %s", what)
		case <-time.After(period):
		}
	}
}
