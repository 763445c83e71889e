package worker_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/worker"
)

// impostor is not the journey workflow, but records its history under
// the journey workflow's name: as a build whose journey code changed
// without a version gate would have.
func impostor(ctx workflow.Context) error { return workflow.Sleep(ctx, time.Millisecond) }

// The replay check passes a history the code replays, and lists one it
// does not: what stops a deploy that would strand running journeys.
func TestReplayFindsRunsThisBuildCannotCarryOn(t *testing.T) {
	ts := testenv.NewServer(t)
	tc := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	queue := "replay-" + uuid.NewString()
	w := sdkworker.New(tc, queue, sdkworker.Options{})
	w.RegisterWorkflowWithOptions(impostor, workflow.RegisterOptions{Name: "JourneyWorkflow"})
	w.RegisterWorkflowWithOptions(impostor, workflow.RegisterOptions{Name: "SomeoneElsesWorkflow"})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	id := "replay-check-" + uuid.NewString()
	run, err := tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, "JourneyWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// Another team's workflow in the same namespace is not ours to replay.
	other := "replay-other-" + uuid.NewString()
	run, err = tc.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: other, TaskQueue: queue}, "SomeoneElsesWorkflow")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	query := "WorkflowId = '" + id + "' OR WorkflowId = '" + other + "'"
	// Visibility lags a moment behind the runs: wait until both are listed.
	for ctx.Err() == nil {
		page, err := tc.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: ts.GetDefaultNamespace(), Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.GetExecutions()) == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	res, err := worker.Replay(ctx, tc, ts.GetDefaultNamespace(), worker.ReplayOptions{Query: query})
	if err != nil {
		t.Fatal(err)
	}
	// TMPRL1100 is the SDK's code for non-determinism.
	if res.Runs != 1 || len(res.Failed) != 1 || !strings.Contains(res.Failed[0], id) || !strings.Contains(res.Failed[0], "TMPRL1100") {
		t.Fatalf("the journey workflow replayed a history it did not write, or failed for another reason: %+v", res)
	}
	same, err := worker.Replay(ctx, tc, ts.GetDefaultNamespace(), worker.ReplayOptions{Query: query,
		Register: func(r sdkworker.WorkflowReplayer) {
			r.RegisterWorkflowWithOptions(impostor, workflow.RegisterOptions{Name: "JourneyWorkflow"})
		}})
	if err != nil || same.Runs != 1 || len(same.Failed) != 0 {
		t.Fatalf("the code that wrote the history did not replay it: %+v, %v", same, err)
	}
}
