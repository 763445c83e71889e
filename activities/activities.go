// Package activities is where journeys touch the outside world: the store
// (event log, projections, outbox) and the programme data. Workflows stay
// deterministic by asking activities for anything that reads data which may
// change between releases (holiday calendars, programme files), and by
// recording every fact through an activity with an idempotency key, so a
// retried activity never records or queues anything twice.
//
// Every failure is left retryable on purpose, even one that looks permanent
// (an event the store rejects, a programme version this binary does not
// have): a failed workflow cannot be resumed, while an activity retrying
// with backoff shows its error in the Web UI and succeeds once the right
// code or data is deployed. No journey is lost to a bug. The one exception
// is another workflow refusing an update: that is an answer, not a failure
// (see SendUpdate).
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/infuse-cymru/journeys/internal/temporalx"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Planner turns a pinned programme version into concrete times.
type Planner interface {
	Schedule(programmeID string, version int, in programme.ScheduleInput) (programme.Schedule, error)
	OfferPlan(programmeID string, version int, offeredAt time.Time) (programme.OfferPlan, error)
}

// ProgrammePlanner plans from the programme versions embedded in the binary.
type ProgrammePlanner struct{}

func (ProgrammePlanner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.Schedule{}, err
	}
	return p.Schedule(in)
}

func (ProgrammePlanner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.OfferPlan{}, err
	}
	return p.OfferPlan(offeredAt), nil
}

// Recorder is the store as the activities use it: they only record.
type Recorder interface {
	Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error)
}

// Activities holds what the activities need. Register a *Activities with the worker.
type Activities struct {
	Store   Recorder
	Planner Planner
	// Workflows sends the updates one workflow asks of another (a
	// deferral handed to a later intake); worker.New sets its client here.
	Workflows Updater
	// Attempts fences local records (Record); worker.New sets the
	// process's temporalx.Attempts here.
	Attempts TaskAttempts
}

// New returns activities that plan from the embedded programme data.
func New(s Recorder) *Activities {
	return &Activities{Store: s, Planner: ProgrammePlanner{}}
}

// PlanScheduleInput names the pinned programme version and the journey's dates.
type PlanScheduleInput struct {
	ProgrammeID      string
	ProgrammeVersion int
	Input            programme.ScheduleInput
}

// PlanSchedule computes a journey's schedule. Its result is recorded in the
// workflow history, so the journey keeps this schedule even if a later
// release changes the holiday data or the planning code.
func (a *Activities) PlanSchedule(ctx context.Context, in PlanScheduleInput) (programme.Schedule, error) {
	s, err := a.Planner.Schedule(in.ProgrammeID, in.ProgrammeVersion, in.Input)
	if err != nil {
		return programme.Schedule{}, fmt.Errorf("planning %s v%d: %w", in.ProgrammeID, in.ProgrammeVersion, err)
	}
	return s, nil
}

// PlanOfferInput names the pinned programme version and when the offer was made.
type PlanOfferInput struct {
	ProgrammeID      string
	ProgrammeVersion int
	OfferedAt        time.Time
}

// PlanOffer computes when an offer lapses and when the applicant is reminded.
func (a *Activities) PlanOffer(ctx context.Context, in PlanOfferInput) (programme.OfferPlan, error) {
	p, err := a.Planner.OfferPlan(in.ProgrammeID, in.ProgrammeVersion, in.OfferedAt)
	if err != nil {
		return programme.OfferPlan{}, fmt.Errorf("planning offer for %s v%d: %w", in.ProgrammeID, in.ProgrammeVersion, err)
	}
	return p, nil
}

// RecordInput is one domain event and the messages it queues.
type RecordInput struct {
	Event    store.Event
	Messages []store.Message
	// InTask, when set, fences the record (store.TaskAttempt): it is
	// recorded by a local activity, before its workflow task is committed,
	// or by a regular activity standing in for one.
	InTask *TaskPlace
}

// TaskPlace is where a record stands among its workflow's: the stream
// and the event's number in it, and which task asked for it.
type TaskPlace struct {
	Stream string
	Seq    int64
	// Generation counts the workflow's runs before this one.
	Generation int64
	// Task is the workflow task that asked for the record, as the worker's
	// client saw it handed out (temporalx.Attempts), if Known. Where the
	// client did not see it (a worker dialled without
	// temporalx.WatchTaskAttempts, the SDK's test environment) it is the
	// task's history length, attempt 1.
	Task  temporalx.TaskAttempt
	Known bool
}

// StaleAttemptError is the type of Record's refusal of a write from a
// replaced attempt at a workflow task (store.ErrStaleAttempt). It is not
// retried: that attempt is over.
const StaleAttemptError = "StaleAttempt"

// IsStaleAttempt says whether err is Record's StaleAttemptError.
func IsStaleAttempt(err error) bool {
	var appErr *temporal.ApplicationError
	return errors.As(err, &appErr) && appErr.Type() == StaleAttemptError
}

// TaskAttempts tells a local activity which attempt at its workflow task
// it runs in (temporalx.Attempts, read off the worker's client).
type TaskAttempts interface {
	Of(runID string) (temporalx.TaskAttempt, bool)
}

// Record appends a domain event, updates the projections and queues its
// messages in one transaction. The event key makes it exactly-once: a retry
// after a lost acknowledgement finds the key taken and does nothing.
//
// A record with InTask is fenced by the attempt at the workflow task that
// asked for it (store.TaskAttempt). A local activity runs inside that
// task, before it is committed: if the server has handed the task out
// again since it asked (the run's tasks polled have changed), that attempt
// is over, and the record is refused unwritten. A regular activity runs
// once the task is committed, with the fence of the attempt that was.
func (a *Activities) Record(ctx context.Context, in RecordInput) error {
	if in.InTask != nil {
		at, err := a.attempt(ctx, *in.InTask)
		if err != nil {
			return temporal.NewNonRetryableApplicationError(err.Error(), StaleAttemptError, err)
		}
		in.Event.Attempt = at
	}
	_, err := a.Store.Record(ctx, in.Event, in.Messages...)
	if errors.Is(err, store.ErrStaleAttempt) {
		return temporal.NewNonRetryableApplicationError(err.Error(), StaleAttemptError, err)
	}
	return err
}

// attempt is the fenced place of a record (fenceOf), asked of the
// worker's record of the tasks handed out where it runs as a local
// activity.
func (a *Activities) attempt(ctx context.Context, at TaskPlace) (*store.TaskAttempt, error) {
	info := activity.GetInfo(ctx)
	if !info.IsLocalActivity || !at.Known || a.Attempts == nil {
		return fenceOf(at, 0, temporalx.TaskAttempt{}, false)
	}
	now, ok := a.Attempts.Of(info.WorkflowExecution.RunID)
	return fenceOf(at, info.Attempt, now, ok)
}

// fenceOf is the fenced place of a record asked for by the task at.Task.
// A local activity's first try runs within that task: if the run has had
// a task polled since (now, where seen), that attempt is over, and the
// record is refused. A later try may run in a later task (the SDK waits
// out a long backoff with a timer, and a new task is polled for it), whose
// attempt it takes. A regular activity runs once the task is committed,
// with its fence: it is not seen.
func fenceOf(at TaskPlace, try int32, now temporalx.TaskAttempt, seen bool) (*store.TaskAttempt, error) {
	task := at.Task
	switch {
	case !seen:
	case try <= 1 && now.Polls != task.Polls:
		return nil, fmt.Errorf("event %d of stream %q: its workflow task (event %d, attempt %d) was handed out again "+
			"while it ran (now event %d, attempt %d): %w", at.Seq, at.Stream, task.Started, task.Attempt,
			now.Started, now.Attempt, store.ErrStaleAttempt)
	case try > 1 && now.Started >= task.Started:
		task = now
	}
	return &store.TaskAttempt{Stream: at.Stream, Seq: at.Seq, Fence: store.FenceOf(at.Generation, task.Started, task.Attempt)}, nil
}
