package e2e_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/interceptor"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A workflow task that fails after its local record has written (here a
// panic in the workflow just after the record, as a bug would; a worker
// killed or cut off before it completes the task does the same) is tried
// again, and each attempt's record replaces the one before: the store
// keeps the event of the attempt the history took. It fails three times:
// the server writes the first two failures to the history, so the next
// attempts start at new event IDs, but not the third, so the last two
// attempts share their event ID and only the server's attempt number,
// which only the worker's client sees (temporalx.WatchTaskAttempts), can
// rank them, as the store must to refuse a replaced attempt's late write.
func TestARetriedTaskReplacesTheFailedAttemptsRecord(t *testing.T) {
	for _, b := range []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"postgres", func(t testing.TB) store.Store { return pgstore.OpenTest(t) }},
		{"sqlite", func(t testing.TB) store.Store { return sqlitestore.OpenTest(t) }},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			st := &keepWrites{Store: b.open(t), eventType: "journey.withdrawn"}
			tt := testenv.NewServer(t)
			c := tt.GetDefaultClient()
			startWorkerFailing(t, tt, st, "journey.withdrawn", 3)
			svc := app.New(c, st)

			journey, coord := appliedJourney(ctx, t, svc, st)
			if err := svc.Commands.Withdraw(ctx, journey, coord, "job-change", ""); err != nil {
				t.Fatalf("withdrawing across the failed tasks: %v", err)
			}

			writes := st.writes()
			if len(writes) != 4 {
				t.Fatalf("the withdrawal was written %d times, want 4 (three failed attempts, then the one taken)", len(writes))
			}
			for i, w := range writes {
				if w.Attempt == nil || w.Key != writes[0].Key {
					t.Fatalf("write %d is not the fenced withdrawal: %+v", i, w)
				}
				if i > 0 && w.Attempt.Fence <= writes[i-1].Attempt.Fence {
					t.Errorf("attempt %d's fence %x does not outrank the failed attempt's before it, %x",
						i+1, w.Attempt.Fence, writes[i-1].Attempt.Fence)
				}
			}
			last, before := writes[3].Attempt.Fence, writes[2].Attempt.Fence
			if last>>16 != before>>16 {
				t.Errorf("the last two attempts did not share their event ID (fences %x, %x): the server wrote the "+
					"third failure, so this test no longer shows that the attempt number ranks them", before, last)
			}
			events, err := st.JourneyEvents(ctx, journey)
			if err != nil {
				t.Fatal(err)
			}
			var withdrawn []store.Event
			for _, e := range events {
				if e.Type == "journey.withdrawn" {
					withdrawn = append(withdrawn, e)
				}
			}
			if len(withdrawn) != 1 {
				t.Fatalf("the store holds %d withdrawals, want 1: %+v", len(withdrawn), withdrawn)
			}
			if got := withdrawn[0].Attempt; got == nil || got.Fence != last {
				t.Errorf("the store holds the withdrawal of attempt %+v, want the last one's (fence %x)", got, last)
			}
			j, err := st.GetJourney(ctx, journey)
			if err != nil || j.State != contract.StatusWithdrawn {
				t.Errorf("the journey's projection: %+v, %v; want withdrawn", j, err)
			}
		})
	}
}

// startWorkerFailing runs the real worker, recording into st, but the
// first times workflow tasks that record an event of eventType panic once
// that record is written.
func startWorkerFailing(t *testing.T, tt *testenv.Temporal, st store.Store, eventType string, times int32) {
	t.Helper()
	w := sdkworker.New(tt.GetDefaultClient(), temporalx.TaskQueue, sdkworker.Options{
		Interceptors: []interceptor.WorkerInterceptor{&failAfterRecord{eventType: eventType, times: times}},
	})
	acts := activities.New(st)
	acts.Attempts = temporalx.Attempts
	worker.Register(w, acts)
	if err := temporalx.RegisterSearchAttributes(context.Background(), tt.GetDefaultClient(), tt.GetDefaultNamespace()); err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// appliedJourney opens an intake and applies a participant to it, coached,
// returning the journey and the intake's coordinator.
func appliedJourney(ctx context.Context, t *testing.T, svc *app.App, st store.Store) (uuid.UUID, uuid.UUID) {
	t.Helper()
	coord, coach, person := uuid.New(), uuid.New(), uuid.New()
	err := st.CreatePeople(ctx, []store.Person{
		{ID: coord, Role: store.RoleCoordinator, GivenName: "Megan", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", EmailAddress: "nia@example.org"},
		{ID: person, Role: store.RoleParticipant, GivenName: "Aled", EmailAddress: "aled@example.org"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	in, err := svc.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: "Cohort 9", CoordinatorID: coord, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for {
		journey, err := svc.Commands.Apply(ctx, in.ID, person, coach)
		if err == nil {
			return journey, coord
		}
		select { // the intake's workflow may not be open for applications yet
		case <-ctx.Done():
			t.Fatalf("applying: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// keepWrites records as its store does and keeps every event of eventType
// it is asked to record, in order.
type keepWrites struct {
	store.Store
	eventType string

	mu   sync.Mutex
	kept []store.Event
}

func (s *keepWrites) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	if ev.Type == s.eventType {
		s.mu.Lock()
		s.kept = append(s.kept, ev)
		s.mu.Unlock()
	}
	return s.Store.Record(ctx, ev, msgs...)
}

func (s *keepWrites) writes() []store.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]store.Event(nil), s.kept...)
}

// failAfterRecord makes the first times workflow tasks that record an
// event of eventType by a local activity panic once the record is
// written: the SDK fails the task and the server hands it out again.
type failAfterRecord struct {
	interceptor.WorkerInterceptorBase
	eventType string
	times     int32
	failed    atomic.Int32
}

func (f *failAfterRecord) InterceptWorkflow(ctx workflow.Context, next interceptor.WorkflowInboundInterceptor) interceptor.WorkflowInboundInterceptor {
	return &failAfterRecordInbound{WorkflowInboundInterceptorBase: interceptor.WorkflowInboundInterceptorBase{Next: next}, f: f}
}

type failAfterRecordInbound struct {
	interceptor.WorkflowInboundInterceptorBase
	f *failAfterRecord
}

func (i *failAfterRecordInbound) Init(outbound interceptor.WorkflowOutboundInterceptor) error {
	return i.Next.Init(&failAfterRecordOutbound{WorkflowOutboundInterceptorBase: interceptor.WorkflowOutboundInterceptorBase{Next: outbound}, f: i.f})
}

type failAfterRecordOutbound struct {
	interceptor.WorkflowOutboundInterceptorBase
	f *failAfterRecord
}

func (o *failAfterRecordOutbound) ExecuteLocalActivity(ctx workflow.Context, activityType string, args ...any) workflow.Future {
	fut := o.Next.ExecuteLocalActivity(ctx, activityType, args...)
	if in, ok := args[0].(activities.RecordInput); !ok || in.Event.Type != o.f.eventType || workflow.IsReplaying(ctx) {
		return fut
	}
	return failingFuture{Future: fut, f: o.f}
}

// failingFuture panics once the record is done, the first times only.
type failingFuture struct {
	workflow.Future
	f *failAfterRecord
}

func (f failingFuture) Get(ctx workflow.Context, valuePtr any) error {
	err := f.Future.Get(ctx, valuePtr)
	if err == nil && f.f.failed.Add(1) <= f.f.times {
		panic("test: the workflow task fails after its record is written")
	}
	return err
}
