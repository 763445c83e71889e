package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Updater sends an update to a running workflow (a client.Client does).
type Updater interface {
	UpdateWorkflow(ctx context.Context, options client.UpdateWorkflowOptions) (client.WorkflowUpdateHandle, error)
}

// UpdateInput is an update one workflow sends another: a workflow cannot
// send an update itself, so it asks this activity to.
type UpdateInput struct {
	WorkflowID string
	UpdateName string
	// UpdateID makes a retried attempt the same update: the receiving
	// workflow answers it from the first attempt's outcome.
	UpdateID string
	Arg      json.RawMessage
}

// The error types Update fails with when the answer is no. Both are final:
// retrying cannot change them.
const (
	// ErrRefused is the receiving workflow's validator or handler saying no.
	ErrRefused = "Refused"
	// ErrNotRunning is a workflow that has ended (or never existed).
	ErrNotRunning = "NotRunning"
)

// SendUpdate sends an update and waits for its result. Unlike every other
// failure of an activity, a refusal is not retried: it is the other
// workflow's answer, and the sender decides what to do with it. Anything
// else (the server out of reach, a timeout) is retried, with the same
// update ID, until the answer comes.
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
	if err != nil {
		return nil, answer(in, err)
	}
	return result, nil
}

// answer turns a refusal or an ended workflow into a final error, and
// leaves anything else retryable.
func answer(in UpdateInput, err error) error {
	var refused *temporal.ApplicationError
	if errors.As(err, &refused) {
		return temporal.NewNonRetryableApplicationError(refused.Message(), ErrRefused, nil)
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("%s is not running", in.WorkflowID), ErrNotRunning, nil)
	}
	return fmt.Errorf("sending %s to %s: %w", in.UpdateName, in.WorkflowID, err)
}
