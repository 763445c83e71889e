// Package scripted plays what people do, at workflow times, against
// workflows running in the Temporal SDK's time-skipping test environment,
// and keeps what each update came back with until the run is over.
//
// It exists because an update sent from a delayed callback is only queued:
// it runs after the callback returns, so its outcome cannot be read where it
// is sent. Reading it there sees "nothing yet" and passes whatever the
// workflow would have answered. The workflow tests, the mail end-to-end test
// and the intake preview all script people this way; this is the one place
// that sends the updates and the one place that says which did not succeed.
package scripted

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/testsuite"
)

// Script schedules updates to a root workflow and its children.
type Script struct {
	env    *testsuite.TestWorkflowEnvironment
	began  time.Time
	rootID string
	sent   []*Update
}

// New scripts env, whose clock starts at began and whose root workflow
// has the ID rootID (the one given in SetStartWorkflowOptions).
func New(env *testsuite.TestWorkflowEnvironment, began time.Time, rootID string) *Script {
	return &Script{env: env, began: began, rootID: rootID}
}

// ErrBeforeStart is returned by At for a step the clock has already passed.
var ErrBeforeStart = errors.New("scripted step is not after the start of the run")

// At runs fn when the workflow clock reaches when. A step at or before the
// start would run at a time other than the one asked for, so it is refused.
func (s *Script) At(when time.Time, fn func()) error {
	d := when.Sub(s.began)
	if d <= 0 {
		return fmt.Errorf("%w: %s is not after %s", ErrBeforeStart, when, s.began)
	}
	s.env.RegisterDelayedCallback(fn, d)
	return nil
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
}

// Problem says what went wrong with an update expected to succeed: it
// never finished, its validator refused it, or its handler failed.
func (u *Update) Problem() error {
	switch {
	case !u.Done:
		return fmt.Errorf("%s: never completed (the run ended first, or the workflow never ran it)", u.What)
	case u.Rejected != nil:
		return fmt.Errorf("%s: rejected: %w", u.What, u.Rejected)
	case u.Err != nil:
		return fmt.Errorf("%s: failed: %w", u.What, u.Err)
	}
	return nil
}

// Send sends the update name with args to the workflow workflowID (the root
// or one of its children). Call it from a step scheduled with At; the
// update runs after the step returns, and the returned Update is filled in
// then. A unique update ID is chosen unless id is given.
func (s *Script) Send(workflowID, what, name, id string, args ...any) *Update {
	u := &Update{What: what}
	s.sent = append(s.sent, u)
	if id == "" {
		id = uuid.NewString()
	}
	cb := &testsuite.TestUpdateCallback{
		OnReject:   func(err error) { u.Done, u.Rejected = true, err },
		OnAccept:   func() {},
		OnComplete: func(v any, err error) { u.Done, u.Value, u.Err = true, v, err },
	}
	if workflowID == s.rootID {
		s.env.UpdateWorkflow(name, id, cb, args...)
		return u
	}
	if err := s.env.UpdateWorkflowByID(workflowID, name, id, cb, args...); err != nil {
		u.Done, u.Err = true, err
	}
	return u
}

// Sent is every update sent so far, in the order they were sent.
func (s *Script) Sent() []*Update { return s.sent }

// Unfinished is every update sent that the workflows never answered. After
// the run it must be empty: an update still waiting was never checked.
func (s *Script) Unfinished() []*Update {
	var out []*Update
	for _, u := range s.sent {
		if !u.Done {
			out = append(out, u)
		}
	}
	return out
}
