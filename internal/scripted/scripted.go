// Package scripted plays what people do, at workflow times, against an
// intake and its journeys running in the Temporal SDK's time-skipping test
// environment, and keeps what each step and update came to until the run is
// over.
//
// It exists because an update sent from a delayed callback is only queued:
// it runs after the callback returns, so its outcome cannot be read where it
// is sent. Reading it there sees "nothing yet" and passes whatever the
// workflow would have answered. And a step scheduled after the workflow has
// ended never runs at all, so whatever it would have checked is silently
// not checked. It also stands in for what a Temporal server does and the
// test environment does not: an update that reached a run which continued
// as new before it saw the update is sent again, to the new run. The
// workflow tests, the mail end-to-end test and the intake
// preview all script people this way; this is the one place that sends the
// updates and the one place that says which steps and updates did not
// succeed.
package scripted

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/workflows"
)

// Script schedules what people do to an intake (the environment's root
// workflow) and its journeys (its children).
type Script struct {
	// SendSignals answers the workflows' SendSignals activity:
	// DeliverSignals, unless a test plays the journeys' part itself.
	SendSignals func(context.Context, activities.SignalsInput) (activities.SignalsResult, error)
	// SendUpdate answers the SendUpdate activity when an intake sends a
	// journey its decision: DeliverUpdate, unless a test plays the
	// journey's part itself.
	SendUpdate func(context.Context, activities.UpdateInput) (json.RawMessage, error)

	env    *testsuite.TestWorkflowEnvironment
	began  time.Time
	intake uuid.UUID
	steps  []*step
	sent   []*Update

	// pending are the moments whose steps have not begun to run, by time
	// (UnixNano). handed counts the moments At handed to the environment
	// itself; waiting (soonest first) are those past handOver,
	// which relays hand over as the run goes on; relayAt is when the
	// latest relay armed runs (zero: none is armed).
	pending map[int64]*moment
	handed  int
	waiting []*moment
	relayAt time.Time
	// running is set once the first step or relay has run: from then on
	// a moment past handOver needs a relay of its own if the one armed
	// comes later.
	running bool
}

// handOver bounds the callbacks the script gives the environment at once.
// The environment queues each on a channel of 1,000 that only its main
// loop empties, and a send to a full one blocks for ever: before the run
// nothing empties it at all. Moments past the bound wait in the script,
// and a relay (a callback of the script's own) hands them over in chunks
// of this size as the run reaches them.
const handOver = 600

// step is one scheduled action and whether it ran.
type step struct {
	at  time.Time
	fn  func()
	ran bool
}

// moment is every step scripted for one time, in the order scripted. The
// environment fires timers due at the same time in no set order, so the
// steps of a moment share one, and run one after another, each in a
// callback of its own (as each had its own timer before).
type moment struct {
	at    time.Time
	steps []*step
}

// New scripts env, whose clock starts at began and whose root workflow is
// the intake's (workflows.IntakeWorkflowID(intake)).
//
// The workflows' activities must be registered with env first: the
// script stands in for SendSignals, and for SendUpdate sending a journey
// its decision, which need a Temporal client.
func New(env *testsuite.TestWorkflowEnvironment, began time.Time, intake uuid.UUID) *Script {
	s := &Script{env: env, began: began, intake: intake, pending: map[int64]*moment{}}
	s.SendSignals, s.SendUpdate = s.DeliverSignals, s.DeliverUpdate
	env.SetOnChildWorkflowStartedListener(s.runStarted)
	env.OnActivity(sendSignals, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.SignalsInput) (activities.SignalsResult, error) {
			return s.SendSignals(ctx, in)
		})
	env.OnActivity(sendUpdate, mock.Anything, mock.MatchedBy(toAJourney)).Return(
		func(ctx context.Context, in activities.UpdateInput) (json.RawMessage, error) {
			return s.SendUpdate(ctx, in)
		})
	return s
}

// The names the worker registers activities.SendSignals and
// activities.SendUpdate by.
const (
	sendSignals = "SendSignals"
	sendUpdate  = "SendUpdate"
)

// toAJourney says whether an update is one an intake sends its journeys
// (a decision), which DeliverUpdate sends; a test stands in for a later
// intake taking a deferral itself.
func toAJourney(in activities.UpdateInput) bool {
	return in.UpdateName == workflows.UpdateDecision
}

// DeliverUpdate is the SendUpdate activity in the test environment for an
// update to a journey: it sends the update from the environment's main
// loop, which owns its workflows, and answers as the activity does (the
// result as JSON; a refusal or a failed handler as ErrRefused, a workflow
// that is not running as ErrNotRunning, both final). Unlike the server it
// does not send an update a run had not yet accepted on to the run it
// continued as (journeys do not continue as new while decisions are made),
// and the environment takes an update ID once in all its workflows, where
// the server takes it once in a run.
func (s *Script) DeliverUpdate(ctx context.Context, in activities.UpdateInput) (json.RawMessage, error) {
	type outcome struct {
		result json.RawMessage
		err    error
	}
	done := make(chan outcome, 1)
	refuse := func(err error) {
		done <- outcome{err: temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRefused, nil)}
	}
	callbacks := &testsuite.TestUpdateCallback{
		OnReject: refuse,
		OnComplete: func(v any, err error) {
			if err != nil {
				refuse(err)
				return
			}
			result, err := json.Marshal(v)
			done <- outcome{result: result, err: err}
		},
	}
	s.env.RegisterDelayedCallback(func() {
		if err := s.env.UpdateWorkflowByID(in.WorkflowID, in.UpdateName, in.UpdateID, callbacks, in.Arg); err != nil {
			done <- outcome{err: temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrNotRunning, nil)}
		}
	}, 0)
	select {
	case o := <-done:
		return o.result, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// DeliverSignals is the SendSignals activity in the test environment: it
// signals each workflow and says which it did not reach (ended, or never
// started), as the activity does. Activities run on goroutines of their
// own, so the signals are sent from the environment's main loop, which
// owns its workflows.
func (s *Script) DeliverSignals(ctx context.Context, in activities.SignalsInput) (activities.SignalsResult, error) {
	sent := make(chan activities.SignalsResult, 1)
	s.env.RegisterDelayedCallback(func() {
		var r activities.SignalsResult
		for _, id := range in.WorkflowIDs {
			if err := s.env.SignalWorkflowByID(id, in.SignalName, in.Arg); err != nil {
				r.NotReached = append(r.NotReached, id)
			}
		}
		sent <- r
	}, 0)
	select {
	case r := <-sent:
		return r, nil
	case <-ctx.Done():
		return activities.SignalsResult{}, ctx.Err()
	}
}

// runStarted sends again, to a journey's new run, every update sent to it
// that its last run never saw. A server aborts such an update with a
// retryable "workflow is closing" error when the run continues as new, and
// the client sends it again, to the new run; the test environment instead
// drops it, and it would never be answered.
func (s *Script) runStarted(info *workflow.Info, _ workflow.Context, _ converter.EncodedValues) {
	for _, u := range s.sent {
		if u.workflowID == info.WorkflowExecution.ID && !u.seen && !u.Done {
			u.send(s.env)
		}
	}
}

// ErrBeforeStart is returned by At for a step the clock has already passed.
var ErrBeforeStart = errors.New("scripted step is not after the start of the run")

// At runs fn when the workflow clock reaches when, after the steps
// scripted for the same time before it. A step at or before the start (or,
// scripted by a step, at or before the clock's time) would run at a time
// other than the one asked for, so it is refused.
func (s *Script) At(when time.Time, fn func()) error {
	// The clock is at began until the run starts (New), and delays are
	// counted from where it is when they are given.
	from := s.env.Now()
	d := when.Sub(from)
	if d <= 0 {
		return fmt.Errorf("%w: %s is not after %s", ErrBeforeStart, when, from)
	}
	st := &step{at: when, fn: fn}
	s.steps = append(s.steps, st)
	if m := s.pending[when.UnixNano()]; m != nil {
		m.steps = append(m.steps, st)
		return nil
	}
	m := &moment{at: when, steps: []*step{st}}
	s.pending[when.UnixNano()] = m
	if s.handed < handOver && len(s.waiting) == 0 {
		s.handed++
		s.hand(m, d)
		return nil
	}
	i, _ := slices.BinarySearchFunc(s.waiting, when, func(m *moment, t time.Time) int { return m.at.Compare(t) })
	s.waiting = slices.Insert(s.waiting, i, m)
	switch {
	case !s.running && s.relayAt.IsZero():
		// Before the run the soonest moment waiting is not known yet: the
		// first relay runs as soon as the run has begun.
		s.arm(s.began.Add(time.Nanosecond), time.Nanosecond)
	case s.running && (s.relayAt.IsZero() || when.Before(s.relayAt)):
		s.arm(when, d)
	}
	return nil
}

// hand gives the environment m, to run d from now (from the start before
// the run).
func (s *Script) hand(m *moment, d time.Duration) {
	s.env.RegisterDelayedCallback(func() { s.run(m, 0) }, d)
}

// run runs m's step i, and has the environment run the next one after
// whatever this one sent.
func (s *Script) run(m *moment, i int) {
	s.running = true
	if i == 0 {
		delete(s.pending, m.at.UnixNano())
	}
	st := m.steps[i]
	st.ran = true
	st.fn()
	if i+1 < len(m.steps) {
		s.env.RegisterDelayedCallback(func() { s.run(m, i+1) }, 0)
	}
}

// arm has a relay run at, d from now.
func (s *Script) arm(at time.Time, d time.Duration) {
	s.relayAt = at
	s.env.RegisterDelayedCallback(s.relay, d)
}

// relay hands the environment the next chunk of the moments waiting, and
// arms itself again for the rest at the soonest of them.
func (s *Script) relay() {
	s.running = true
	now := s.env.Now()
	if !now.Before(s.relayAt) {
		s.relayAt = time.Time{}
	}
	n := min(handOver, len(s.waiting))
	for _, m := range s.waiting[:n] {
		s.hand(m, max(m.at.Sub(now), 0))
	}
	s.waiting = s.waiting[n:]
	if len(s.waiting) > 0 && s.relayAt.IsZero() {
		next := s.waiting[0].at
		s.arm(next, max(next.Sub(now), 0))
	}
}

// NotRun says which steps never ran: the workflow had ended before their
// time. After the run it must be empty unless the test meant it.
func (s *Script) NotRun() error {
	var errs []error
	for _, st := range s.steps {
		if !st.ran {
			errs = append(errs, fmt.Errorf("the step at %s never ran: the workflow had ended", st.at.UTC().Format(time.RFC3339)))
		}
	}
	return errors.Join(errs...)
}

// Update is one update sent, filled in when the workflow answers it.
type Update struct {
	// What names the step for people reading a failure.
	What string
	// Done is set once the workflow has rejected or completed the update.
	Done bool
	// Rejected is the validator's refusal, if any.
	Rejected error
	// Err is the handler's error, or why the update could not be sent.
	Err error
	// Value is the handler's result.
	Value any
	// OnDone, if set, runs on the environment's main loop as the update is
	// answered, so a test can see the workflows' state at that moment.
	// Set it in the step that sends the update: it runs only after.
	OnDone func()

	// finished is closed once Done is set.
	finished chan struct{}

	// workflowID, name and args say where and what was sent, and seen
	// whether the workflow has accepted or rejected it yet.
	workflowID string
	name       string
	args       []any
	seen       bool
	// twice is set if a second answer came.
	twice bool
}

// Finished is closed once the workflow has rejected or completed the
// update (or it could not be sent). Unlike Done it may be waited on from
// any goroutine, such as an activity the test holds until then.
func (u *Update) Finished() <-chan struct{} { return u.finished }

func (u *Update) finish() {
	u.Done = true
	close(u.finished)
	if u.OnDone != nil {
		u.OnDone()
	}
}

// answered takes an answer, unless one came already: then the update was
// answered by two runs (a copy sent again to a new run that the first
// run had seen after all), which Problem reports.
func (u *Update) answered(take func()) {
	if u.Done {
		u.twice = true
		return
	}
	take()
	u.finish()
}

// Problem says what went wrong with an update expected to succeed: it
// never finished, its validator refused it, or its handler failed.
func (u *Update) Problem() error {
	switch {
	case u.twice:
		return fmt.Errorf("%s: answered twice, by a run and the run it continued as: it may have been applied twice", u.What)
	case !u.Done:
		return fmt.Errorf("%s: never completed (the run ended first, or the workflow never ran it)", u.What)
	case u.Rejected != nil:
		return fmt.Errorf("%s: rejected: %w", u.What, u.Rejected)
	case u.Err != nil:
		return fmt.Errorf("%s: failed: %w", u.What, u.Err)
	}
	return nil
}

// Send sends the update name with args to a journey, or to the intake when
// journey is uuid.Nil. Call it from a step scheduled with At: the update
// runs after the step returns, and the returned Update is filled in then.
// what names it in failures.
func (s *Script) Send(journey uuid.UUID, what, name string, args ...any) *Update {
	u := &Update{What: what, finished: make(chan struct{}), name: name, args: args}
	s.sent = append(s.sent, u)
	if journey == uuid.Nil {
		s.env.UpdateWorkflow(name, uuid.NewString(), u.callbacks(), args...)
		return u
	}
	u.workflowID = workflows.JourneyWorkflowID(journey)
	u.send(s.env)
	return u
}

// send sends a journey's update, under an ID of its own each time.
func (u *Update) send(env *testsuite.TestWorkflowEnvironment) {
	if err := env.UpdateWorkflowByID(u.workflowID, u.name, uuid.NewString(), u.callbacks(), u.args...); err != nil {
		u.answered(func() { u.Err = err })
	}
}

func (u *Update) callbacks() *testsuite.TestUpdateCallback {
	return &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { u.seen = true; u.answered(func() { u.Rejected = err }) },
		OnAccept:   func() { u.seen = true },
		OnComplete: func(v any, err error) { u.answered(func() { u.Value, u.Err = v, err }) },
	}
}

// Sent is every update sent so far, in the order they were sent.
func (s *Script) Sent() []*Update { return s.sent }

// Problems is every step that never ran and every update sent that did not
// succeed: what a run in which everyone did everything must not have.
func (s *Script) Problems() error {
	errs := []error{s.NotRun()}
	for _, u := range s.sent {
		errs = append(errs, u.Problem())
	}
	return errors.Join(errs...)
}
