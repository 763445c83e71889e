package temporalx

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/workflowservice/v1"
)

func task(run string, started int64, attempt int32) *workflowservice.PollWorkflowTaskQueueResponse {
	return &workflowservice.PollWorkflowTaskQueueResponse{
		TaskToken:         []byte("token"),
		WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: "journey/x", RunId: run},
		StartedEventId:    started,
		Attempt:           attempt,
	}
}

// The attempt a local record is fenced with is the latest task the
// worker's client was handed for the run, from a poll or from the answer
// to a completed task; an empty poll, or a late answer about an earlier
// task, changes nothing.
func TestTaskAttemptsFollowTheTasksHandedOut(t *testing.T) {
	a := NewTaskAttempts(100)
	a.note(task("run-1", 3, 1))
	a.note(&workflowservice.RespondWorkflowTaskCompletedResponse{WorkflowTask: task("run-1", 9, 1)})
	a.note(task("run-1", 12, 2))
	a.note(task("run-1", 12, 3))                             // a transient retry: same event ID, next attempt
	a.note(task("run-1", 12, 2))                             // late
	a.note(task("run-1", 9, 7))                              // late
	a.note(&workflowservice.PollWorkflowTaskQueueResponse{}) // an empty poll
	a.note(&workflowservice.RespondWorkflowTaskCompletedResponse{})
	if got, ok := a.Of("run-1"); !ok || got != (TaskAttempt{Started: 12, Attempt: 3}) {
		t.Errorf("Of(run-1) = %+v, %v; want started 12, attempt 3", got, ok)
	}
	if got, ok := a.Of("run-2"); ok {
		t.Errorf("Of(run-2) = %+v for a run never handed a task", got)
	}
}

// It forgets runs not handed a task for a while, keeping at most its bound.
func TestTaskAttemptsAreBounded(t *testing.T) {
	a := NewTaskAttempts(4)
	for i, run := range []string{"a", "b", "c", "d", "e"} {
		a.note(task(run, int64(i+3), 1))
	}
	if _, ok := a.Of("a"); ok {
		t.Error("the oldest run is still remembered beyond the bound")
	}
	for _, run := range []string{"c", "d", "e"} {
		if _, ok := a.Of(run); !ok {
			t.Errorf("run %s, among the latest, is forgotten", run)
		}
	}
}
