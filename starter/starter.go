// Package starter starts the programme's workflows and talks to them: it
// starts an intake's workflow, sends journeys and intakes their updates
// and asks them queries, and turns what Temporal answers into the
// application's error vocabulary (apperr). It is the one place that holds
// a Temporal client for the application: the commands (what people do)
// and the read models (what they see) reach workflows only through it.
package starter

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/workflows"
)

// Workflows reaches the intake and journey workflows through Temporal.
// A nil *Workflows, or one without a client, reaches none: its queries
// fail and the read models fall back to the store.
type Workflows struct {
	Temporal client.Client
}

// New returns a Workflows using c, which may be nil (no Temporal).
func New(c client.Client) *Workflows { return &Workflows{Temporal: c} }

// Connected says whether w has a Temporal client to ask.
func (w *Workflows) Connected() bool { return w != nil && w.Temporal != nil }

// ErrNotConnected is what a Workflows without a client answers: a caller
// put together for the store alone (a read-only command, a test) asked a
// workflow, which is a mistake in how it was put together.
var ErrNotConnected = errors.New("no Temporal client: this process was put together for the store alone")

// StartIntake starts the workflow that carries intake in through its
// application window and start. A workflow already started for this intake
// (by an attempt being retried) is the one wanted, so that is no error;
// one that has ended is not started again.
func (w *Workflows) StartIntake(ctx context.Context, in workflows.Intake) error {
	if !w.Connected() {
		return fmt.Errorf("starting %s: %w", workflows.IntakeWorkflowID(in.IntakeID), ErrNotConnected)
	}
	_, err := w.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    workflows.IntakeWorkflowID(in.IntakeID),
		TaskQueue:             temporalx.TaskQueue,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporalx.IntakeIDKey.ValueSet(in.IntakeID.String())),
	}, workflows.IntakeWorkflow, in)
	// The SDK answers a start of an ID already used with that run, not an
	// error (WorkflowExecutionErrorWhenAlreadyStarted is off); the error is
	// taken as done too, should that option ever be set.
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &started) {
		return err
	}
	return nil
}

// UpdateIntake sends the intake's workflow the update req names, with
// req, and waits for its result, which it decodes into result (nil to
// ignore it). See update for its ID and errors.
func (w *Workflows) UpdateIntake(ctx context.Context, intakeID uuid.UUID, req workflows.IntakeRequest, result any) error {
	return w.update(ctx, workflows.IntakeWorkflowID(intakeID), "", req, result)
}

// UpdateJourney is UpdateIntake for a journey's workflow; updateID, if
// not empty, is the update's ID (a checkpoint's or a task's own request ID).
func (w *Workflows) UpdateJourney(ctx context.Context, journeyID uuid.UUID, updateID string, req workflows.JourneyRequest, result any) error {
	return w.update(ctx, workflows.JourneyWorkflowID(journeyID), updateID, req, result)
}

// update sends an update and waits for its result. A validator's rejection
// or a handler's error comes back as apperr.ErrRejected with the workflow's reason.
// explicitID, if not empty, is its update ID; else it is derived from the
// request's ID (WithRequestID).
func (w *Workflows) update(ctx context.Context, workflowID, explicitID string, req workflows.Request, result any) error {
	name, arg := req.Update()
	if !w.Connected() {
		return fmt.Errorf("sending %s update %s: %w", workflowID, name, ErrNotConnected)
	}
	var args []any
	if arg != nil {
		args = []any{arg}
	}
	h, err := w.Temporal.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{
		WorkflowID: workflowID, UpdateID: updateID(ctx, explicitID, name, arg), UpdateName: name, Args: args,
		WaitForStage: client.WorkflowUpdateStageCompleted,
	})
	if err == nil {
		err = h.Get(ctx, result)
	}
	return workflowError(workflowID, err)
}

// QueryIntake asks the intake's workflow the query name; see query.
func (w *Workflows) QueryIntake(ctx context.Context, intakeID uuid.UUID, name string, result any) error {
	return w.query(ctx, workflows.IntakeWorkflowID(intakeID), name, result)
}

// QueryJourney asks the journey's workflow the query name; see query.
func (w *Workflows) QueryJourney(ctx context.Context, journeyID uuid.UUID, name string, result any) error {
	return w.query(ctx, workflows.JourneyWorkflowID(journeyID), name, result)
}

// AskIntakeCounts is the intake's count of its journeys by status as its
// workflow has it now. Journeys report their acceptances to it by signal,
// a moment after the answer, and it starts only those it has counted.
func (w *Workflows) AskIntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[workflows.Status]int, error) {
	var counts map[workflows.Status]int
	err := w.QueryIntake(ctx, intakeID, workflows.QueryIntakeCounts, &counts)
	return counts, err
}

// query runs a workflow query and decodes its answer into result; a
// workflow that no longer exists is apperr.ErrNotFound.
func (w *Workflows) query(ctx context.Context, workflowID, name string, result any) error {
	if !w.Connected() {
		return fmt.Errorf("asking %s for %s: %w", workflowID, name, ErrNotConnected)
	}
	resp, err := w.Temporal.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("%w: workflow %s (it has ended and been removed after retention, or never existed)", apperr.ErrNotFound, workflowID)
		}
		return fmt.Errorf("asking %s for %s: %w", workflowID, name, err)
	}
	return resp.Get(result)
}

// workflowError is an update's error in the application's vocabulary.
func workflowError(workflowID string, err error) error {
	if err == nil {
		return nil
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("%w: %s is not running (check the ID; ended journeys take no more actions)", apperr.ErrNotFound, workflowID)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return fmt.Errorf("%w: %s", apperr.ErrRejected, appErr.Message())
	}
	var notReady *serviceerror.WorkflowNotReady
	if errors.As(err, &notReady) {
		// Temporal turns requests away while the workflow's tasks keep
		// failing (a worker overloaded, or a bug its logs name); nothing
		// was done, and the same request later may go through.
		return fmt.Errorf("%s cannot take requests just now: its workflow tasks are failing and being retried "+
			"(the worker's logs say why); nothing was done, try again in a moment: %w", workflowID, err)
	}
	return err
}
