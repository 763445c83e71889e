package worker

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/workflows"
)

// Workflows are this build's workflows, registered under their function
// names, which histories record as their type.
var Workflows = []any{workflows.IntakeWorkflow, workflows.JourneyWorkflow}

// ours selects runs of Workflows, so that a replay over a namespace shared
// with other code (a bare benchmark's, another team's) replays only ours.
const ours = `WorkflowType IN ("IntakeWorkflow", "JourneyWorkflow")`

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Query selects the runs to replay, in Temporal's visibility syntax;
	// empty replays every run of Workflows the namespace still keeps.
	Query string
	// Register adds the workflow code to replay with; nil is this build's
	// Workflows. (Tests give other code, to see a mismatch caught.)
	Register func(sdkworker.WorkflowReplayer)
	// Logger receives the replayer's logs; nil discards them.
	Logger log.Logger
	// Progress, if set, is told of each run replayed, with its error.
	Progress func(workflowID, runID string, err error)
}

// ReplayResult counts what Replay did.
type ReplayResult struct {
	Runs   int      // runs replayed
	Failed []string // "workflow-id (run run-id): why", for each run that did not replay
}

// Replay exports the histories of the runs the query selects from the
// cluster c is connected to and replays each against this build's
// workflow code, as a worker of this build would on picking one up. A run
// that does not replay would fail its next workflow task under this
// build: the deploy must not go ahead (see CONTRIBUTING.md, "Deploying a
// new version"). Failing runs are listed in the result; err is for the
// cluster not answering.
func Replay(ctx context.Context, c client.Client, namespace string, o ReplayOptions) (ReplayResult, error) {
	replayer := sdkworker.NewWorkflowReplayer()
	if o.Register != nil {
		o.Register(replayer)
	} else {
		for _, w := range Workflows {
			replayer.RegisterWorkflow(w)
		}
	}
	if o.Logger == nil {
		o.Logger = logging.NewTemporalLogger(zap.NewNop())
	}
	query := ours
	if o.Query != "" {
		query = "(" + o.Query + ") AND " + ours
	}
	var res ReplayResult
	var token []byte
	for {
		page, err := c.WorkflowService().ListWorkflowExecutions(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: namespace, Query: query, NextPageToken: token,
		})
		if err != nil {
			return res, fmt.Errorf("listing the workflows to replay: %w", err)
		}
		for _, ex := range page.GetExecutions() {
			id, run := ex.GetExecution().GetWorkflowId(), ex.GetExecution().GetRunId()
			h, err := exportHistory(ctx, c, id, run)
			if err != nil {
				return res, fmt.Errorf("exporting the history of %s (run %s): %w", id, run, err)
			}
			err = replayer.ReplayWorkflowHistory(o.Logger, h)
			res.Runs++
			if err != nil {
				res.Failed = append(res.Failed, fmt.Sprintf("%s (run %s): %v", id, run, err))
			}
			if o.Progress != nil {
				o.Progress(id, run, err)
			}
		}
		if token = page.GetNextPageToken(); len(token) == 0 {
			return res, nil
		}
	}
}

// exportHistory reads a run's whole history, as `temporal workflow show
// --output json` exports it.
func exportHistory(ctx context.Context, c client.Client, id, run string) (*historypb.History, error) {
	it := c.GetWorkflowHistory(ctx, id, run, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	h := &historypb.History{}
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, err
		}
		h.Events = append(h.Events, ev)
	}
	return h, nil
}
