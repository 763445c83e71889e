package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

// counting keeps every "poke" signal it is sent, and answers the query
// "pokes" with them; the signal "end" ends it.
func counting(ctx workflow.Context) error {
	var pokes []string
	if err := workflow.SetQueryHandler(ctx, "pokes", func() ([]string, error) { return pokes, nil }); err != nil {
		return err
	}
	poked := workflow.GetSignalChannel(ctx, "poke")
	ended := workflow.GetSignalChannel(ctx, "end")
	for done := false; !done; {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(poked, func(c workflow.ReceiveChannel, _ bool) {
			var p string
			c.Receive(ctx, &p)
			pokes = append(pokes, p)
		})
		sel.AddReceive(ended, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
			done = true
		})
		sel.Select(ctx)
	}
	return nil
}

// clientIn is a client whose signals go to the test's namespace (SendSignals
// signals in its calling workflow's, which in the SDK's activity test
// environment is one of its own), counting how many are on their way at
// once.
type clientIn struct {
	client.Client
	namespace string
	inFlight  *inFlight
}

type inFlight struct {
	sync.Mutex
	now, most int
}

func (c clientIn) WorkflowService() workflowservice.WorkflowServiceClient {
	return serviceIn{c.Client.WorkflowService(), c}
}

type serviceIn struct {
	workflowservice.WorkflowServiceClient
	c clientIn
}

func (s serviceIn) SignalWorkflowExecution(ctx context.Context, in *workflowservice.SignalWorkflowExecutionRequest, opts ...grpc.CallOption) (*workflowservice.SignalWorkflowExecutionResponse, error) {
	f := s.c.inFlight
	f.Lock()
	f.now++
	f.most = max(f.most, f.now)
	f.Unlock()
	defer func() {
		f.Lock()
		f.now--
		f.Unlock()
	}()
	in.Namespace = s.c.namespace
	return s.WorkflowServiceClient.SignalWorkflowExecution(ctx, in, opts...)
}

// signalling runs SendSignals as an activity (it heartbeats its progress,
// which it hands to heartbeat if that is given) whose client is c, going
// on from progress if that is given. Every call is the same activity of
// the same workflow run, as a retried attempt is.
func signalling(t *testing.T, c client.Client, in activities.SignalsInput, progress *activities.SignalsProgress, heartbeat func(activities.SignalsProgress)) (activities.SignalsResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Workflows: c})
	if progress != nil {
		env.SetHeartbeatDetails(*progress)
	}
	if heartbeat != nil {
		env.SetOnActivityHeartbeatListener(func(_ *activity.Info, details converter.EncodedValues) {
			var p activities.SignalsProgress
			if err := details.Get(&p); err != nil {
				t.Errorf("reading a heartbeat: %v", err)
			}
			heartbeat(p)
		})
	}
	var got activities.SignalsResult
	v, err := env.ExecuteActivity("SendSignals", in)
	if err == nil {
		err = v.Get(&got)
	}
	return got, err
}

// pokesOf asks a counting workflow what it was sent.
func pokesOf(ctx context.Context, t *testing.T, c client.Client, id string) []string {
	t.Helper()
	v, err := c.QueryWorkflow(ctx, id, "", "pokes")
	var pokes []string
	if err == nil {
		err = v.Get(&pokes)
	}
	if err != nil {
		t.Fatalf("asking %s what it was sent: %v", id, err)
	}
	return pokes
}

// startCounting starts n counting workflows and returns their IDs.
func startCounting(ctx context.Context, t *testing.T, c client.Client, n int) []string {
	t.Helper()
	var ids []string
	for range n {
		id := "counting/" + uuid.NewString()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "counting"}, counting); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// end ends a counting workflow and waits until it has.
func end(ctx context.Context, t *testing.T, c client.Client, id string) {
	t.Helper()
	if err := c.SignalWorkflow(ctx, id, "", "end", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// SendSignals reaches every workflow that runs, through a real Temporal
// server, once each, eight at a time with its progress heartbeated after
// each eight, and names those it did not reach: one not started yet, one
// that has ended, one never started. An attempt retried goes on from the
// last one's progress, keeping what it found, and a signal it sends again
// is taken once.
func TestSendSignalsReachesEveryRunningWorkflowOnce(t *testing.T) {
	ts := testenv.NewServer(t)
	c := clientIn{servingOn(t, ts, "counting", counting), ts.GetDefaultNamespace(), &inFlight{}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ids := startCounting(ctx, t, c, 18)
	late, never := "counting/"+uuid.NewString(), "counting/never-started"
	all := slices.Insert(slices.Clone(ids), 3, late)
	all = slices.Insert(all, 12, never) // 20 in all: two full eights, then four
	ended := all[6]
	end(ctx, t, c, ended)
	in := activities.SignalsInput{WorkflowIDs: all, SignalName: "poke", Arg: json.RawMessage(`"first"`)}

	var beats []activities.SignalsProgress
	got, err := signalling(t, c, in, nil, func(p activities.SignalsProgress) { beats = append(beats, p) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{late, ended, never}; !slices.Equal(got.NotReached, want) {
		t.Errorf("not reached %v, want %v", got.NotReached, want)
	}
	// The SDK sends a heartbeat on at most every so often: the first says
	// how far the first eight went.
	if len(beats) == 0 || beats[0].Done != 8 || !slices.Equal(beats[0].NotReached, []string{late, ended}) {
		t.Errorf("heartbeats %+v, want the first after eight signals, with %s and %s not reached", beats, late, ended)
	}
	if c.inFlight.most > 8 {
		t.Errorf("%d signals on their way at once, want no more than 8", c.inFlight.most)
	}
	for _, id := range ids {
		if id != ended && !slices.Equal(pokesOf(ctx, t, c, id), []string{"first"}) {
			t.Errorf("%s was sent %v, want the one signal", id, pokesOf(ctx, t, c, id))
		}
	}

	// The same activity retried from its heartbeat after the first eight:
	// it does not send to those again (late, started since, hears
	// nothing), and the rest, sent again, take nothing twice.
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: late, TaskQueue: "counting"}, counting); err != nil {
		t.Fatal(err)
	}
	got, err = signalling(t, c, in, &activities.SignalsProgress{Done: 8, NotReached: []string{late, ended}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{late, ended, never}; !slices.Equal(got.NotReached, want) {
		t.Errorf("retried from 8: not reached %v, want %v", got.NotReached, want)
	}
	if pokes := pokesOf(ctx, t, c, late); len(pokes) != 0 {
		t.Errorf("retried from 8, %s, before it, was sent %v, want nothing", late, pokes)
	}
	for _, id := range all[8:] {
		if id != never && !slices.Equal(pokesOf(ctx, t, c, id), []string{"first"}) {
			t.Errorf("retried from 8, %s was sent %v, want the one signal", id, pokesOf(ctx, t, c, id))
		}
	}
}

// A server out of reach fails the attempt, once each signal has been
// tried again for a while, for the activity to be retried: nobody is
// reported not reached for it.
func TestSendSignalsLeavesAServerOutOfReachToRetry(t *testing.T) {
	unreachable, err := client.NewLazyClient(client.Options{HostPort: testenv.ClosedPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	in := activities.SignalsInput{WorkflowIDs: []string{"counting/a", "counting/b"}, SignalName: "poke", Arg: json.RawMessage(`"x"`)}
	// Each signal is tried again for signalTimeout (10 s) before the
	// attempt gives up.
	got, err := signalling(t, unreachable, in, nil, nil)
	var final *temporal.ApplicationError
	if err == nil || (errors.As(err, &final) && final.NonRetryable()) || len(got.NotReached) > 0 ||
		!strings.Contains(err.Error(), "the activity is retried") {
		t.Errorf("with the server out of reach: %v, not reached %v; want an error left to retry", err, got.NotReached)
	}
}

// A signal with no name, or a target with no ID, is refused for good
// before anything is sent: the server would refuse it to every journey,
// which would all be reported not reached.
func TestSendSignalsRefusesAMalformedRequest(t *testing.T) {
	acts := &activities.Activities{Workflows: serving(t, "counting", counting)}
	for _, in := range []activities.SignalsInput{
		{WorkflowIDs: []string{"counting/a"}, Arg: json.RawMessage(`"x"`)},
		{WorkflowIDs: []string{"counting/a", ""}, SignalName: "poke", Arg: json.RawMessage(`"x"`)},
	} {
		var suite testsuite.WorkflowTestSuite
		env := suite.NewTestActivityEnvironment()
		_, err := env.ExecuteLocalActivity(acts.SendSignals, in)
		var final *temporal.ApplicationError
		if !errors.As(err, &final) || !final.NonRetryable() || !strings.Contains(final.Message(), "needs a signal name and a workflow ID") {
			t.Errorf("SendSignals(%+v): %v, want a final error saying what it needs", in, err)
		}
	}
}
