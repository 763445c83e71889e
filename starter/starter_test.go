package starter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/workflows"
)

// A retried request sends each update under the same ID, different
// updates of one request get different IDs, and a request without an ID
// leaves the ID to Temporal (not deduplicated, rather than wrongly).
func TestUpdateIDsFollowTheRequest(t *testing.T) {
	ctx := WithRequestID(context.Background(), "req-1")
	apply := workflows.SubmitApplicationRequest{JourneyID: uuid.New()}
	first := updateID(ctx, "", workflows.UpdateSubmitApplication, apply)
	if first == "" || first != updateID(ctx, "", workflows.UpdateSubmitApplication, apply) {
		t.Errorf("the same request's update has IDs %q and another", first)
	}
	other := workflows.SubmitApplicationRequest{JourneyID: uuid.New()}
	if updateID(ctx, "", workflows.UpdateSubmitApplication, other) == first {
		t.Error("two updates of one request share an ID")
	}
	if updateID(WithRequestID(context.Background(), "req-2"), "", workflows.UpdateSubmitApplication, apply) == first {
		t.Error("two requests share an update ID")
	}
	// The IDs of updates sent before a release must stay what they were, or
	// a request retried across the release would be done twice.
	for _, c := range []struct {
		name string
		arg  any
		want string
	}{
		{workflows.UpdatePause, nil, "pause/req-1/74234e98afe7498f"},
		{workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}, "respond-to-offer/req-1/a2ab0a1c1b423afa"},
	} {
		got := updateID(ctx, "", c.name, c.arg)
		if got != c.want {
			t.Errorf("update %s's ID is %q, was %q", c.name, got, c.want)
		}
	}
	if got := updateID(ctx, "checkpoint-req", workflows.UpdateCompleteCheckpoint, nil); got != "checkpoint-req" {
		t.Errorf("an explicit ID became %q", got)
	}
	if got := updateID(context.Background(), "", workflows.UpdatePause, nil); got != "" {
		t.Errorf("a request without an ID got update ID %q", got)
	}
	if NewIntakeID(ctx) != NewIntakeID(ctx) || ApplicationJourneyID(ctx, apply.JourneyID) != ApplicationJourneyID(ctx, apply.JourneyID) {
		t.Error("a retried request names a different intake or journey")
	}
	if NewIntakeID(context.Background()) == NewIntakeID(context.Background()) {
		t.Error("requests without IDs name the same intake")
	}
}

// What Temporal answers an update with, in the application's words.
func TestWorkflowErrorsInTheApplicationsWords(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
		says string
	}{
		{serviceerror.NewNotFound("gone"), apperr.ErrNotFound, "is not running"},
		{temporal.NewApplicationError("the checkpoint is not open yet", "refused"), apperr.ErrRejected, "the checkpoint is not open yet"},
		{serviceerror.NewWorkflowNotReady("tasks failing"), nil, "try again in a moment"},
	} {
		got := workflowError("journey/x", c.err)
		if c.want != nil && !errors.Is(got, c.want) || !strings.Contains(got.Error(), c.says) {
			t.Errorf("%v became %v, want %v saying %q", c.err, got, c.want, c.says)
		}
	}
	// Failing workflow tasks are worth retrying later: the faces answer 503.
	if got := workflowError("journey/x", serviceerror.NewWorkflowNotReady("tasks failing")); !apperr.Unavailable(got) {
		t.Errorf("%v is not unavailable", got)
	}
	if workflowError("journey/x", nil) != nil {
		t.Error("no error became one")
	}
}

// Without a client, every way to a workflow says so rather than panic.
func TestWithoutTemporalNothingIsSent(t *testing.T) {
	ctx := context.Background()
	for _, w := range []*Workflows{nil, New(nil)} {
		if w.Connected() {
			t.Errorf("%v is connected", w)
		}
		var v workflows.JourneyView
		for what, err := range map[string]error{
			"start":  w.StartIntake(ctx, workflows.Intake{IntakeID: uuid.New()}),
			"update": w.UpdateJourney(ctx, uuid.New(), "", workflows.PauseRequest{}, nil),
			"query":  w.QueryJourney(ctx, uuid.New(), workflows.QueryState, &v),
		} {
			if !errors.Is(err, ErrNotConnected) {
				t.Errorf("%s without Temporal: %v", what, err)
			}
		}
	}
}
