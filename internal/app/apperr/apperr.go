// Package apperr is the application's error vocabulary: what an error
// means for whoever asked (invalid, refused, not found, unavailable, or
// unexpected) and why, in the application's words. Every application
// package wraps its errors in it, and each face (the API, the pages, the
// command line) maps it once, through Classify, to a status or an exit
// code. It depends on no application package, so all of them can use it.
package apperr

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Errors callers can tell apart (errors.Is). The command line maps them to exit codes.
var (
	// ErrInvalid: the request itself is wrong; fix it and try again.
	ErrInvalid = errors.New("invalid request")
	// ErrRejected: the request is well formed but the journey or intake
	// refused it in its current state (the message says why).
	ErrRejected = errors.New("rejected")
	// ErrNotFound: no such person, intake or journey.
	ErrNotFound = errors.New("not found")
)

// Unavailable says whether err means that the store or Temporal could not
// serve it just now (a connection refused or lost, the server saying it is
// unavailable or that the workflow's tasks are failing, the store's disk
// full): the request may not have been carried out, and the same request
// later may go through. The faces answer 503 with a time to retry after,
// rather than 500, which says something is wrong with the request or the
// code.
func Unavailable(err error) bool {
	var temporalDown *serviceerror.Unavailable
	var notReady *serviceerror.WorkflowNotReady
	return store.Unavailable(err) || errors.As(err, &temporalDown) || errors.As(err, &notReady)
}

// TryLater says whether a request that failed with err, its work done in
// ctx, is worth the same request again later rather than a 500: a service
// Unavailable, or a wait that ran out of time, which is the server's
// doing, not the request's. With the store down for a while, an update
// waits for its workflow's records until the store is back; the update
// still goes through then, once, and a retry with the same request ID
// (starter.WithRequestID) gets its answer. A query waits for the journey's worker,
// which after such an outage has a backlog to work through, and Temporal
// gives up on it at its own deadline. A ctx cancelled (the client gone)
// is not that.
func TryLater(ctx context.Context, err error) bool {
	if Unavailable(err) {
		return true
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return false
	}
	// Temporal ends a wait at ctx's deadline by its own clock, which may
	// be a moment before ctx says its time is up, or at a deadline of its
	// own (a query its worker did not answer in time).
	var waitEnded *client.WorkflowUpdateServiceTimeoutOrCanceledError
	var temporalDeadline *serviceerror.DeadlineExceeded
	return errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &waitEnded) || errors.As(err, &temporalDeadline)
}

// Kind is what an error from the service means for whoever asked: the one
// vocabulary each face (the API, the pages, the command line) maps once,
// to a status or an exit code.
type Kind int

const (
	// KindUnexpected is a fault or a bug: logged, and answered without
	// its details.
	KindUnexpected Kind = iota
	// KindInvalid is ErrInvalid: the request itself is wrong.
	KindInvalid
	// KindRefused is ErrRejected: the journey or intake refused it in its
	// current state.
	KindRefused
	// KindNotFound is ErrNotFound.
	KindNotFound
	// KindUnavailable is TryLater: the store or Temporal could not serve
	// it just now, and the same request later may go through.
	KindUnavailable
)

// Classify says what err, from a request whose work was done in ctx,
// means for whoever asked, and why in the service's own words (Reason)
// when it is the request's to fix: invalid, refused or not found.
func Classify(ctx context.Context, err error) (Kind, string) {
	for _, k := range []struct {
		kind     Kind
		sentinel error
	}{{KindInvalid, ErrInvalid}, {KindRefused, ErrRejected}, {KindNotFound, ErrNotFound}} {
		if errors.Is(err, k.sentinel) {
			return k.kind, Reason(err, k.sentinel)
		}
	}
	if TryLater(ctx, err) {
		return KindUnavailable, ""
	}
	return KindUnexpected, ""
}

// Reason is err's message without kind's "kind: " prefix, starting with a
// capital: what a person is shown of an error of that kind.
func Reason(err, kind error) string {
	msg := err.Error()
	if i := strings.Index(msg, kind.Error()+": "); i >= 0 {
		msg = msg[:i] + msg[i+len(kind.Error())+2:]
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = kind.Error()
	}
	return strings.ToUpper(msg[:1]) + msg[1:]
}

// StoreError is a store's error in this vocabulary: its invalid input,
// conflict and missing record become ErrInvalid, ErrRejected and
// ErrNotFound, with the store's own words; anything else is as it was.
func StoreError(err error) error {
	switch {
	case errors.Is(err, store.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	case errors.Is(err, store.ErrConflict):
		return fmt.Errorf("%w: %v", ErrRejected, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}

// NoIntake is ErrNotFound for an intake ID that names none, saying where
// to find the right one.
func NoIntake(id uuid.UUID) error {
	return fmt.Errorf("%w: no intake %s (see `infuse intake list`)", ErrNotFound, id)
}

// IntakeOf is the intake id names in st, or NoIntake: what every request
// about one intake reads first.
func IntakeOf(ctx context.Context, st interface {
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
}, id uuid.UUID) (store.Intake, error) {
	in, err := st.GetIntake(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return in, NoIntake(id)
	}
	return in, err
}

// Invalidf is ErrInvalid with what is wrong with the request.
func Invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// PersonAs is the person id names in st, who must have the given role:
// what every request naming a participant, coach or coordinator reads first.
func PersonAs(ctx context.Context, st interface {
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
}, id uuid.UUID, role store.Role) (store.Person, error) {
	if id == uuid.Nil {
		return store.Person{}, Invalidf("a %s is required", role)
	}
	p, err := st.GetPerson(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return p, fmt.Errorf("%w: no person %s (import people first)", ErrNotFound, id)
	}
	if err != nil {
		return p, err
	}
	if p.Role != role {
		return p, Invalidf("person %s is a %s, not a %s", id, p.Role, role)
	}
	return p, nil
}
