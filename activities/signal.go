package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/activity"
)

// SignalsInput is one signal for many workflows: what an intake tells all
// its journeys at once (that the programme starts, that a session moved).
type SignalsInput struct {
	WorkflowIDs []string
	SignalName  string
	Arg         json.RawMessage
}

// SignalsResult says which of the workflows the signal did not reach:
// those that have ended, or never existed.
type SignalsResult struct {
	Gone []string
}

// signalsInFlight bounds how many signals one SendSignals has on their way
// at once: enough to keep the server busy, few enough that a start of a
// thousand journeys does not queue a thousand workflow tasks at one go.
const signalsInFlight = 8

// SignalsProgress is what SendSignals heartbeats: how many of its
// workflows have been signalled, and which of those were gone. A retried
// attempt goes on from there rather than signal them all again.
type SignalsProgress struct {
	Done int
	Gone []string
}

// SendSignals sends one signal to each of the workflows, a few at a time,
// and says which were gone. A workflow signalling each of its journeys
// itself writes two events to its own history for every one of them, each
// a write the server makes to the sender as well as to the receiver; this
// activity is three events for them all. A signal is sent at least once:
// an attempt retried after a failure may send again what the failed one
// sent, so a receiver must ignore a signal it has had already.
func (a *Activities) SendSignals(ctx context.Context, in SignalsInput) (SignalsResult, error) {
	if a.Workflows == nil {
		return SignalsResult{}, errors.New("these activities have no Temporal client to send signals with: give Activities.Workflows one (worker.New does)")
	}
	var progress SignalsProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &progress); err != nil {
			progress = SignalsProgress{}
		}
	}
	for progress.Done < len(in.WorkflowIDs) {
		batch := in.WorkflowIDs[progress.Done:min(progress.Done+signalsInFlight, len(in.WorkflowIDs))]
		gone, err := a.signalEach(ctx, batch, in.SignalName, in.Arg)
		if err != nil {
			return SignalsResult{}, err
		}
		progress.Done += len(batch)
		progress.Gone = append(progress.Gone, gone...)
		activity.RecordHeartbeat(ctx, progress)
	}
	return SignalsResult{Gone: progress.Gone}, nil
}

// signalEach signals every workflow in ids at once, and returns those that
// were gone. Any other failure fails them all: the attempt is retried.
func (a *Activities) signalEach(ctx context.Context, ids []string, signal string, arg json.RawMessage) ([]string, error) {
	gone := make([]bool, len(ids))
	failed := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			err := a.Workflows.SignalWorkflow(ctx, id, "", signal, arg)
			var notFound *serviceerror.NotFound
			switch {
			case errors.As(err, &notFound):
				gone[i] = true
			case err != nil:
				failed[i] = fmt.Errorf("signalling %s to %s (the activity is retried): %w", signal, id, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(failed...); err != nil {
		return nil, err
	}
	var out []string
	for i, id := range ids {
		if gone[i] {
			out = append(out, id)
		}
	}
	return out, nil
}
