package temporalx

import (
	"context"
	"sync"

	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/grpc"
)

// TaskAttempt is the workflow task a worker is running for a run: the
// event ID of its WorkflowTaskStarted and the server's attempt number.
// Polls counts the tasks of the run this process has polled for (a task
// the server hands back with the completion of the one before, while the
// worker holds on, is not counted): one polled while a task is being run
// means the server has given up on that one.
type TaskAttempt struct {
	Started int64
	Attempt int32
	Polls   uint64
}

// TaskAttempts remembers, for each workflow run, the latest workflow task
// this process's workers were handed. A local activity reads it to fence
// what it writes (store.TaskAttempt): the SDK does not tell workflow code
// which attempt at a task it is in, and the attempts after a task's second
// failure share their event IDs, so only the server's attempt number tells
// a retried task from the one it replaced. The worker's client sees every
// task it is given (WatchTaskAttempts), so the number is read off there.
//
// It keeps two generations of at most half its bound each and forgets the
// older when the newer fills: a run not handed a task for that long is
// not running a local activity either.
type TaskAttempts struct {
	mu            sync.Mutex
	bound         int
	recent, older map[string]TaskAttempt
}

// NewTaskAttempts remembers up to bound runs' tasks.
func NewTaskAttempts(bound int) *TaskAttempts {
	return &TaskAttempts{bound: max(bound, 2), recent: map[string]TaskAttempt{}}
}

// Attempts is this process's: every client dialled with WatchTaskAttempts
// writes here, and the worker's activities read it.
var Attempts = NewTaskAttempts(200_000)

// Of is the latest task handed to this process for the run, if any.
func (a *TaskAttempts) Of(runID string) (TaskAttempt, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.of(runID)
}

func (a *TaskAttempts) of(runID string) (TaskAttempt, bool) {
	if t, ok := a.recent[runID]; ok {
		return t, true
	}
	t, ok := a.older[runID]
	return t, ok
}

// saw notes a task handed over for a run, polled or handed back with a
// completion. Tasks for one run come one after another, but a late answer
// must not put back an earlier one.
func (a *TaskAttempts) saw(runID string, t TaskAttempt, polled bool) {
	if runID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prev, known := a.of(runID)
	if known && later(prev, t) {
		return
	}
	t.Polls = prev.Polls
	if polled {
		t.Polls++
	}
	if _, recent := a.recent[runID]; !recent && len(a.recent) >= a.bound/2 {
		a.older, a.recent = a.recent, make(map[string]TaskAttempt, a.bound/2)
	}
	a.recent[runID] = t
	delete(a.older, runID)
}

func later(a, b TaskAttempt) bool {
	return a.Started > b.Started || a.Started == b.Started && a.Attempt > b.Attempt
}

// note reads the workflow task out of a reply that can carry one: a poll,
// or the completion of a task, which the SDK asks to hand the next task
// back at once. A poll that answers a query only (a legacy query task)
// runs no workflow code and is not a task of the run's.
func (a *TaskAttempts) note(reply any) {
	var task *workflowservice.PollWorkflowTaskQueueResponse
	polled := false
	switch r := reply.(type) {
	case *workflowservice.PollWorkflowTaskQueueResponse:
		task, polled = r, true
	case *workflowservice.RespondWorkflowTaskCompletedResponse:
		task = r.GetWorkflowTask()
	}
	if len(task.GetTaskToken()) == 0 || task.GetQuery() != nil { // an empty poll, or a query
		return
	}
	a.saw(task.GetWorkflowExecution().GetRunId(),
		TaskAttempt{Started: task.GetStartedEventId(), Attempt: task.GetAttempt()}, polled)
}

// interceptor notes the tasks in the client's replies.
func (a *TaskAttempts) interceptor(ctx context.Context, method string, req, reply any,
	cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	err := invoker(ctx, method, req, reply, cc, opts...)
	if err == nil {
		a.note(reply)
	}
	return err
}

// WatchTaskAttempts has a client note in Attempts every workflow task it
// is handed. Every client a worker polls with must be dialled with it.
func WatchTaskAttempts(opts *client.Options) {
	opts.ConnectionOptions.DialOptions = append(opts.ConnectionOptions.DialOptions,
		grpc.WithChainUnaryInterceptor(Attempts.interceptor))
}
