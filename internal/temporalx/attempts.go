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
type TaskAttempt struct {
	Started int64
	Attempt int32
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
	if t, ok := a.recent[runID]; ok {
		return t, true
	}
	t, ok := a.older[runID]
	return t, ok
}

// saw notes a task handed over for a run. Tasks for one run come one after
// another, but a late answer must not put back an earlier one.
func (a *TaskAttempts) saw(runID string, t TaskAttempt) {
	if runID == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if prev, ok := a.recent[runID]; ok && later(prev, t) {
		return
	}
	if len(a.recent) >= a.bound/2 {
		a.older, a.recent = a.recent, make(map[string]TaskAttempt, a.bound/2)
	}
	a.recent[runID] = t
}

func later(a, b TaskAttempt) bool {
	return a.Started > b.Started || a.Started == b.Started && a.Attempt > b.Attempt
}

// note reads the workflow task out of a reply that can carry one: a poll,
// or the completion of a task, which the SDK asks to hand the next task
// back at once.
func (a *TaskAttempts) note(reply any) {
	var task *workflowservice.PollWorkflowTaskQueueResponse
	switch r := reply.(type) {
	case *workflowservice.PollWorkflowTaskQueueResponse:
		task = r
	case *workflowservice.RespondWorkflowTaskCompletedResponse:
		task = r.GetWorkflowTask()
	}
	if len(task.GetTaskToken()) == 0 { // an empty poll
		return
	}
	a.saw(task.GetWorkflowExecution().GetRunId(), TaskAttempt{Started: task.GetStartedEventId(), Attempt: task.GetAttempt()})
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
