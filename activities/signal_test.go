package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/testenv"
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

// signalling runs SendSignals as an activity (it heartbeats its progress)
// whose client is c, going on from progress if that is given.
func signalling(t *testing.T, c client.Client, in activities.SignalsInput, progress *activities.SignalsProgress) (activities.SignalsResult, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(&activities.Activities{Workflows: c})
	if progress != nil {
		env.SetHeartbeatDetails(*progress)
	}
	var got activities.SignalsResult
	v, err := env.ExecuteActivity("SendSignals", in)
	if err == nil {
		err = v.Get(&got)
	}
	return got, err
}

// SendSignals reaches every workflow that runs, through a real Temporal
// server, once each, and names those that have ended or never existed; an
// attempt going on from a failed one's progress signals only those the
// failed one had not, and keeps what it had found gone.
func TestSendSignalsReachesEveryRunningWorkflowOnce(t *testing.T) {
	c := serving(t, "counting", counting)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var ids []string
	for range 19 { // more than one batch in flight, the last one short
		id := "counting/" + uuid.NewString()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "counting"}, counting); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	ended := ids[7]
	if err := c.SignalWorkflow(ctx, ended, "", "end", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.GetWorkflow(ctx, ended, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	never := "counting/never-started"
	all := slices.Insert(slices.Clone(ids), 12, never)
	in := activities.SignalsInput{WorkflowIDs: all, SignalName: "poke", Arg: json.RawMessage(`"first"`)}

	got, err := signalling(t, c, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ended, never}; !slices.Equal(got.Gone, want) {
		t.Errorf("gone %v, want %v", got.Gone, want)
	}
	pokesOf := func(id string) []string {
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
	for _, id := range ids {
		if id != ended && !slices.Equal(pokesOf(id), []string{"first"}) {
			t.Errorf("%s was sent %v, want the one signal", id, pokesOf(id))
		}
	}

	// Going on after the first 10 (the ended one among them):
	in.Arg = json.RawMessage(`"again"`)
	got, err = signalling(t, c, in, &activities.SignalsProgress{Done: 10, Gone: []string{ended}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ended, never}; !slices.Equal(got.Gone, want) {
		t.Errorf("going on from 10: gone %v, want %v", got.Gone, want)
	}
	for i, id := range all {
		want := []string{"first"}
		if i >= 10 {
			want = append(want, "again")
		}
		if id != ended && id != never && !slices.Equal(pokesOf(id), want) {
			t.Errorf("going on from 10, %s (%d) was sent %v, want %v", id, i, pokesOf(id), want)
		}
	}
}

// A server out of reach fails the attempt, to be retried: nobody is
// reported gone for it. (Run as a local activity, whose deadline the test
// sets, rather than wait out the client's own.)
func TestSendSignalsLeavesAServerOutOfReachToRetry(t *testing.T) {
	unreachable, err := client.NewLazyClient(client.Options{HostPort: testenv.ClosedPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.SetTestTimeout(2 * time.Second)
	acts := &activities.Activities{Workflows: unreachable}
	in := activities.SignalsInput{WorkflowIDs: []string{"counting/a", "counting/b"}, SignalName: "poke", Arg: json.RawMessage(`"x"`)}
	var got activities.SignalsResult
	v, err := env.ExecuteLocalActivity(acts.SendSignals, in)
	if err == nil {
		_ = v.Get(&got)
	}
	var final *temporal.ApplicationError
	if err == nil || (errors.As(err, &final) && final.NonRetryable()) || len(got.Gone) > 0 {
		t.Errorf("with the server out of reach: %v, gone %v; want an error left to retry", err, got.Gone)
	}
}
