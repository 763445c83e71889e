package activities

import (
	"context"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
)

// Only what will fail the same way however often it is tried is given up
// on: a failure that may pass is retried, else a journey would miss its
// start for a moment's outage.
func TestOnlyASignalRefusedForGoodIsGivenUp(t *testing.T) {
	for _, c := range []struct {
		err   error
		final bool
	}{
		{serviceerror.NewNotFound("workflow execution already completed"), true},
		{fmt.Errorf("signalling: %w", serviceerror.NewNotFound("no such workflow")), true},
		{serviceerror.NewInvalidArgument("signal count exceeds limit"), true},
		{serviceerror.NewFailedPrecondition("too many signals"), true},
		{serviceerror.NewUnavailable("connection refused"), false},
		{serviceerror.NewResourceExhausted(0, "busy"), false},
		{serviceerror.NewDeadlineExceeded("slow"), false},
		{serviceerror.NewInternal("oops"), false},
		{context.DeadlineExceeded, false},
		{context.Canceled, false},
	} {
		if got := isFinal(c.err); got != c.final {
			t.Errorf("isFinal(%v) = %v, want %v", c.err, got, c.final)
		}
	}
}
