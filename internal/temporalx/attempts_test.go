package temporalx

import (
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	querypb "go.temporal.io/api/query/v1"
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
	query := task("run-1", 30, 1) // a legacy query task runs no workflow code
	query.Query = &querypb.WorkflowQuery{QueryType: "state"}
	a.note(query)
	// Three tasks polled; the one handed back with a completion is not counted.
	if got, ok := a.Of("run-1"); !ok || got != (TaskAttempt{Started: 12, Attempt: 3, Polls: 3}) {
		t.Errorf("Of(run-1) = %+v, %v; want started 12, attempt 3, 3 polled", got, ok)
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
	// A run handed a task again is kept with the latest, and a late note
	// about it cannot put back an earlier task even from the older half.
	a.note(task("c", 20, 1))
	a.note(task("f", 21, 1))
	a.note(task("g", 22, 1))
	a.note(task("c", 5, 1))
	if got, ok := a.Of("c"); !ok || got.Started != 20 {
		t.Errorf("Of(c) = %+v, %v; want the task at event 20 kept", got, ok)
	}
}
