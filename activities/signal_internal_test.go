package activities

import (
	"context"
	"fmt"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
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
		{serviceerror.NewInvalidArgument("signal count exceeds limit"), true}, // consts.ErrSignalsLimitExceeded
		{serviceerror.NewFailedPrecondition("not sent for a signal today"), true},
		{serviceerror.NewNamespaceNotFound("test"), false},
		{serviceerror.NewPermissionDenied("not now", ""), false},
		{serviceerror.NewWorkflowNotReady("busy"), false},
		{serviceerror.NewCanceled("cancelled"), false},
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

// A retried attempt sends each signal with the request ID the last one
// used, so the server takes it once; any other activity (the start after
// the review), another run of the intake or another target has its own,
// or the server would drop it as taken.
func TestASignalsRequestIDIsTheSameOnlyForTheSameActivityAndTarget(t *testing.T) {
	info := activity.Info{ActivityID: "7", Attempt: 1}
	info.WorkflowExecution.ID, info.WorkflowExecution.RunID = "intake/1", "run-1"
	retried := info
	retried.Attempt = 3
	if signalRequestID(info, "journey/a") != signalRequestID(retried, "journey/a") {
		t.Error("a retried attempt sends with another request ID: the server would take its signals twice")
	}
	for name, other := range map[string]func(*activity.Info){
		"another activity":   func(i *activity.Info) { i.ActivityID = "8" },
		"another intake run": func(i *activity.Info) { i.WorkflowExecution.RunID = "run-2" },
		"another intake":     func(i *activity.Info) { i.WorkflowExecution.ID = "intake/2" },
	} {
		changed := info
		other(&changed)
		if signalRequestID(info, "journey/a") == signalRequestID(changed, "journey/a") {
			t.Errorf("%s sends with the same request ID: the server would drop its signal as taken", name)
		}
	}
	if signalRequestID(info, "journey/a") == signalRequestID(info, "journey/b") {
		t.Error("two targets share a request ID")
	}
}
