package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Updater sends updates and signals to running workflows, and says
// whether a workflow exists (a client.Client does all three). Signals go
// through the service itself, which alone takes a request ID
// (SendSignals).
type Updater interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
	WorkflowService() workflowservice.WorkflowServiceClient
	DescribeWorkflowExecution(ctx context.Context, workflowID, runID string) (*workflowservice.DescribeWorkflowExecutionResponse, error)
}

// UpdateInput is an update one workflow sends another: a workflow cannot
// send an update itself, so it asks this activity to.
type UpdateInput struct {
	WorkflowID string
	UpdateName string
	// UpdateID makes a retried attempt the same update, within one run of
	// the receiving workflow (the server keeps its outcome per run): the
	// receiving workflow's own state must make an attempt that reaches a
	// later run harmless.
	UpdateID string
	Arg      json.RawMessage
	// TakenIf names a workflow that exists once the update has taken
	// effect (the journey a deferral starts). When the answer is lost (the
	// receiving workflow ended, or continued as new, before it answered)
	// its existence says whether the update was applied.
	TakenIf string
}

// The error types SendUpdate fails with when the answer is no. Both are
// final: retrying cannot change them.
const (
	// ErrRefused is the receiving workflow's validator or handler saying no.
	ErrRefused = "Refused"
	// ErrNotRunning is a workflow that has ended, or never existed, without
	// taking the update.
	ErrNotRunning = "NotRunning"
)

// The server's failure types for an update no worker processed (a worker
// that does not know it, during a deploy: worth retrying) and for one
// whose workflow ended before its handler did (taken or not: see TakenIf).
const (
	unprocessedUpdate               = "UnprocessedUpdate"
	acceptedUpdateCompletedWorkflow = "AcceptedUpdateCompletedWorkflow"
)

// SendUpdate sends an update and waits for its result. Unlike every other
// failure of an activity, a refusal is not retried: it is the other
// workflow's answer, and the sender decides what to do with it. Anything
// else (the server out of reach, a timeout) is retried, with the same
// update ID, until the answer comes. An answer that was lost is settled by
// TakenIf.
func (a *Activities) SendUpdate(ctx context.Context, in UpdateInput) (json.RawMessage, error) {
	if a.Workflows == nil {
		return nil, errors.New("these activities have no Temporal client to send updates with: give Activities.Workflows one (worker.New does)")
	}
	handle, err := a.Workflows.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID:   in.WorkflowID,
		UpdateID:     in.UpdateID,
		UpdateName:   in.UpdateName,
		Args:         []any{in.Arg},
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	var result json.RawMessage
	if err == nil {
		err = handle.Get(ctx, &result)
	}
	if err == nil {
		return result, nil
	}
	switch answerOf(ctx, err) {
	case refused:
		var app *temporal.ApplicationError
		errors.As(err, &app)
		return nil, a.settle(ctx, in, temporal.NewNonRetryableApplicationError(app.Message(), ErrRefused, nil))
	case lost:
		return nil, a.settle(ctx, in, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s is not running (it has ended) and did not take %s", in.WorkflowID, in.UpdateName), ErrNotRunning, nil))
	}
	return nil, fmt.Errorf("sending %s to %s (retried): %w", in.UpdateName, in.WorkflowID, err)
}

// answer is what an error from sending an update says.
type answer int

const (
	retry   answer = iota // no answer yet: send it again
	refused               // the workflow said no
	lost                  // the workflow ended before its answer came back
)

func answerOf(ctx context.Context, err error) answer {
	if ctx.Err() != nil {
		return retry // this attempt ran out of time, not the update
	}
	var app *temporal.ApplicationError
	var notFound *serviceerror.NotFound
	var canceled *temporal.CanceledError
	var timeout *temporal.TimeoutError
	switch {
	case errors.As(err, &app) && app.Type() == unprocessedUpdate:
		return retry
	case errors.As(err, &app) && app.Type() == acceptedUpdateCompletedWorkflow:
		return lost
	case errors.As(err, &app):
		return refused
	case errors.As(err, &notFound), errors.As(err, &canceled), errors.As(err, &timeout):
		return lost
	}
	return retry
}

// settle decides an update the workflow said no to, or whose answer was
// lost: taken after all if TakenIf exists (a handler that failed after
// its effect, an answer lost to the workflow ending), else no.
func (a *Activities) settle(ctx context.Context, in UpdateInput, no error) error {
	if in.TakenIf == "" {
		return no
	}
	_, err := a.Workflows.DescribeWorkflowExecution(ctx, in.TakenIf, "")
	var notFound *serviceerror.NotFound
	switch {
	case err == nil:
		return nil // it was taken: its answer was lost, not its effect
	case errors.As(err, &notFound):
		return no
	}
	return fmt.Errorf("finding out whether %s took %s (%s exists if it did): %w", in.WorkflowID, in.UpdateName, in.TakenIf, err)
}
