package activities_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

// The tests that need one share a Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }

// answering takes the update "ask": its validator refuses "no", its
// handler fails on "fail", and it answers anything else.
func answering(ctx workflow.Context) error {
	err := workflow.SetUpdateHandlerWithOptions(ctx, "ask",
		func(ctx workflow.Context, q string) (string, error) {
			if q == "fail" {
				return "", errors.New("cannot do that now")
			}
			return q + "!", nil
		},
		workflow.UpdateHandlerOptions{Validator: func(ctx workflow.Context, q string) error {
			if q == "no" {
				return errors.New("not taking that")
			}
			return nil
		}})
	if err != nil {
		return err
	}
	return workflow.Await(ctx, func() bool { return false })
}

// SendUpdate tells the workflow's answer apart from a failure to reach
// it, through a real Temporal server: a yes comes back as the result, a
// validator's or handler's no and a workflow that is not running are
// final errors (never retried), and a server out of reach is retried.
func TestSendUpdateTellsARefusalFromAFailure(t *testing.T) {
	c := serving(t, "answering", answering)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id := "answering/" + uuid.NewString()
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "answering"}, answering); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Workflows: c}
	ask := func(workflowID, q string) (json.RawMessage, error) {
		arg, _ := json.Marshal(q)
		return acts.SendUpdate(ctx, activities.UpdateInput{WorkflowID: workflowID, UpdateName: "ask", UpdateID: uuid.NewString(), Arg: arg})
	}

	got, err := ask(id, "yes")
	if err != nil || string(got) != `"yes!"` {
		t.Errorf("asking yes: %s, %v; want \"yes!\"", got, err)
	}
	for _, c := range []struct{ workflowID, q, errType, says string }{
		{id, "no", activities.ErrRefused, "not taking that"},
		{id, "fail", activities.ErrRefused, "cannot do that now"},
		{"answering/nobody", "yes", activities.ErrNotRunning, "answering/nobody is not running"},
	} {
		_, err := ask(c.workflowID, c.q)
		var final *temporal.ApplicationError
		if !errors.As(err, &final) || final.Type() != c.errType || !final.NonRetryable() || !strings.Contains(final.Message(), c.says) {
			t.Errorf("asking %s %q: %v, want a final %s error saying %q", c.workflowID, c.q, err, c.errType, c.says)
		}
	}

	// A no from a workflow whose effect exists all the same (a handler
	// that failed after it) is settled as taken.
	arg, _ := json.Marshal("no")
	_, err = acts.SendUpdate(ctx, activities.UpdateInput{WorkflowID: id, UpdateName: "ask", UpdateID: uuid.NewString(), Arg: arg, TakenIf: id})
	if err != nil {
		t.Errorf("a refusal whose effect exists: %v, want it settled as taken", err)
	}

	unreachable, err := client.NewLazyClient(client.Options{HostPort: testenv.ClosedPort(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer unreachable.Close()
	acts.Workflows = unreachable
	short, stop := context.WithTimeout(ctx, 2*time.Second)
	defer stop()
	arg, _ = json.Marshal("yes")
	_, err = acts.SendUpdate(short, activities.UpdateInput{WorkflowID: id, UpdateName: "ask", UpdateID: uuid.NewString(), Arg: arg})
	var final *temporal.ApplicationError
	if err == nil || (errors.As(err, &final) && final.NonRetryable()) {
		t.Errorf("with the server out of reach: %v, want an error left to retry", err)
	}
}

// endingMidway takes the update "take" and holds its handler until the
// workflow is told to end, which it then does without waiting for it:
// the update was accepted, but its answer never comes.
func endingMidway(ctx workflow.Context) error {
	taking := false
	if err := workflow.SetQueryHandler(ctx, "taking", func() (bool, error) { return taking, nil }); err != nil {
		return err
	}
	err := workflow.SetUpdateHandler(ctx, "take", func(ctx workflow.Context, _ string) (string, error) {
		taking = true
		return "taken", workflow.Await(ctx, func() bool { return false })
	})
	if err != nil {
		return err
	}
	workflow.GetSignalChannel(ctx, "end").Receive(ctx, nil)
	return nil
}

// An update whose workflow ended before it answered is settled by what
// it was to make: taken if that exists (its answer was lost, not its
// effect), else finally not taken. Neither is retried for ever.
func TestSendUpdateSettlesAnAnswerLostToTheWorkflowEnding(t *testing.T) {
	c := serving(t, "ending", endingMidway, answering)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	made := "answering/" + uuid.NewString() // stands for the journey a deferral starts
	if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: made, TaskQueue: "ending"}, answering); err != nil {
		t.Fatal(err)
	}
	acts := &activities.Activities{Workflows: c}
	for _, c2 := range []struct {
		takenIf string
		want    string // "" for taken
	}{{made, ""}, {"answering/never-made", activities.ErrNotRunning}} {
		id := "ending/" + uuid.NewString()
		if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: "ending"}, endingMidway); err != nil {
			t.Fatal(err)
		}
		sent := make(chan error, 1)
		go func() {
			_, err := acts.SendUpdate(ctx, activities.UpdateInput{WorkflowID: id, UpdateName: "take", UpdateID: uuid.NewString(),
				Arg: json.RawMessage(`"x"`), TakenIf: c2.takenIf})
			sent <- err
		}()
		for taking := false; !taking; {
			v, err := c.QueryWorkflow(ctx, id, "", "taking")
			if err == nil {
				err = v.Get(&taking)
			}
			if ctx.Err() != nil {
				t.Fatalf("the update never reached its handler: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := c.SignalWorkflow(ctx, id, "", "end", nil); err != nil {
			t.Fatal(err)
		}
		err := <-sent
		var final *temporal.ApplicationError
		switch {
		case c2.want == "" && err != nil:
			t.Errorf("lost answer, %s exists: %v, want it settled as taken", c2.takenIf, err)
		case c2.want != "" && (!errors.As(err, &final) || final.Type() != c2.want || !final.NonRetryable()):
			t.Errorf("lost answer, %s never made: %v, want a final %s error", c2.takenIf, err, c2.want)
		}
	}
}

// serving gives the test a Temporal namespace with a worker on queue
// running these workflows, and a client for it.
func serving(t *testing.T, queue string, wfs ...any) client.Client {
	t.Helper()
	return servingOn(t, testenv.NewServer(t), queue, wfs...)
}

// servingOn is serving in ts's namespace.
func servingOn(t *testing.T, ts *testenv.Temporal, queue string, wfs ...any) client.Client {
	t.Helper()
	c := ts.GetDefaultClient()
	w := sdkworker.New(c, queue, sdkworker.Options{})
	for _, wf := range wfs {
		w.RegisterWorkflow(wf)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c
}
