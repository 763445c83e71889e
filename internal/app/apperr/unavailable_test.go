package apperr_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
)

// Temporal saying it is unavailable, or that a workflow cannot take
// requests while its tasks fail, is worth a retry later; its own
// deadline, a refusal or a missing workflow are not.
func TestUnavailable(t *testing.T) {
	for _, c := range []struct {
		what string
		err  error
		want bool
	}{
		{"Temporal unavailable", fmt.Errorf("updating: %w", serviceerror.NewUnavailable("shutting down")), true},
		// What the server answers an update while the workflow's tasks fail.
		{"a workflow whose tasks are failing", fmt.Errorf("applying: %w",
			serviceerror.NewWorkflowNotReady("Unable to perform workflow execution update due to Workflow Task in failed state.")), true},
		{"Temporal's deadline", serviceerror.NewDeadlineExceeded("too slow"), false},
		{"the caller's deadline", context.DeadlineExceeded, false},
		{"a refusal", fmt.Errorf("%w: checkpoint closed", apperr.ErrRejected), false},
		{"no such workflow", serviceerror.NewNotFound("no such workflow"), false},
	} {
		if got := apperr.Unavailable(c.err); got != c.want {
			t.Errorf("%s: Unavailable = %v, want %v", c.what, got, c.want)
		}
	}
}

// A request whose own time ran out while it waited (for a workflow held up
// by the store, say) is worth trying again later too; one whose client
// went away, or an error with time left, is not.
func TestTryLater(t *testing.T) {
	live := context.Background()
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	gone, leave := context.WithCancel(context.Background())
	leave()
	waited := errors.New("Timeout or cancellation waiting for update: context deadline exceeded")
	// Temporal ending the wait at the deadline by its clock, a moment before ours.
	cutShort := client.NewWorkflowUpdateServiceTimeoutOrCanceledError(serviceerror.NewCanceled("stream terminated by RST_STREAM"))
	for _, c := range []struct {
		what string
		ctx  context.Context
		err  error
		want bool
	}{
		{"Temporal unavailable", live, serviceerror.NewUnavailable("shutting down"), true},
		{"the request's time up", expired, waited, true},
		{"the wait for an update cut short at the deadline", live, cutShort, true},
		{"the client gone", gone, context.Canceled, false},
		{"the client gone while an update was awaited", gone, cutShort, false},
		{"a bug, with time left", live, errors.New("nil map"), false},
		{"Temporal's own deadline, with time left (a query its worker did not answer)", live,
			fmt.Errorf("asking journey/x for state: %w", serviceerror.NewDeadlineExceeded("context deadline exceeded")), true},
		{"a wait of our own that ran out, with the request's time left", live, fmt.Errorf("asking: %w", context.DeadlineExceeded), true},
	} {
		if got := apperr.TryLater(c.ctx, c.err); got != c.want {
			t.Errorf("%s: TryLater = %v, want %v", c.what, got, c.want)
		}
	}
}
