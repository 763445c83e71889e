package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// SignalsInput is one signal for many workflows: what an intake tells all
// its journeys at once (that the programme starts, that applications
// have closed, that they were not selected).
type SignalsInput struct {
	WorkflowIDs []string
	SignalName  string
	Arg         json.RawMessage
}

// SignalsResult names the workflows the signal did not reach: those that
// have ended or never existed, and any the server refused it for good (a
// workflow that has taken the most signals a run may).
type SignalsResult struct {
	NotReached []string
}

// signalsInFlight bounds how many signals one SendSignals has on their way
// at once: enough to keep the server busy, few enough that a start of
// hundreds of journeys does not queue hundreds of workflow tasks at once.
const signalsInFlight = 8

// signalTimeout bounds the time spent on one signal, its retries
// (signalOnce) included, so that an attempt heartbeats well within its
// heartbeat timeout (workflows.withSignalsOptions).
const signalTimeout = 10 * time.Second

// The pause between tries of one signal, doubling from the first to the
// most: a server that is busy for a moment costs a moment, not the whole
// attempt and the activity's growing backoff.
const (
	firstSignalRetry = 50 * time.Millisecond
	mostSignalRetry  = 2 * time.Second
)

// SignalsProgress is what SendSignals heartbeats: how many of its
// workflows have been signalled, and which of those it did not reach. A
// retried attempt goes on from there.
type SignalsProgress struct {
	Done       int
	NotReached []string
}

// SendSignals sends one signal to each of the workflows, a few at a time,
// and says which it did not reach. A workflow signalling each of its
// journeys itself writes two events to its own history for each, and the
// server a write to the sender for each; this activity is three events for
// them all.
//
// Each run of a workflow takes the signal once. A retried attempt goes on
// from the last heartbeat, and a signal it sends again (one on its way
// when the last attempt failed) carries the same request ID, which the
// server takes once in a run, as it does a workflow's own signals. A
// workflow that has continued as new since can be sent it again: the
// signals sent this way are taken only in the status they are sent for.
func (a *Activities) SendSignals(ctx context.Context, in SignalsInput) (SignalsResult, error) {
	if a.Workflows == nil {
		return SignalsResult{}, errors.New("these activities have no Temporal client to send signals with: give Activities.Workflows one (worker.New does)")
	}
	if in.SignalName == "" || slices.Contains(in.WorkflowIDs, "") {
		// Every journey would be refused it, and reported not reached.
		return SignalsResult{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("SendSignals needs a signal name and a workflow ID for each target: given %q for %d targets", in.SignalName, len(in.WorkflowIDs)),
			"InvalidSignals", nil)
	}
	var progress SignalsProgress
	if activity.HasHeartbeatDetails(ctx) {
		if err := activity.GetHeartbeatDetails(ctx, &progress); err != nil {
			progress = SignalsProgress{}
		}
	}
	// The service takes payloads as they go on the wire: encoded as the
	// clients encode them, with the default converter (a codec added to
	// the clients must be applied here too).
	input, err := converter.GetDefaultDataConverter().ToPayloads(in.Arg)
	if err != nil {
		return SignalsResult{}, fmt.Errorf("encoding %s: %w", in.SignalName, err)
	}
	info := activity.GetInfo(ctx)
	for progress.Done < len(in.WorkflowIDs) {
		batch := in.WorkflowIDs[progress.Done:min(progress.Done+signalsInFlight, len(in.WorkflowIDs))]
		missed, err := a.signalEach(ctx, info, batch, in.SignalName, input)
		if err != nil {
			return SignalsResult{}, err
		}
		progress.Done += len(batch)
		progress.NotReached = append(progress.NotReached, missed...)
		activity.RecordHeartbeat(ctx, progress)
	}
	return SignalsResult{NotReached: progress.NotReached}, nil
}

// signalEach signals every workflow in ids at once, and returns those it
// did not reach. A failure that may pass (the server out of reach, busy)
// fails them all, for the attempt to be retried.
func (a *Activities) signalEach(ctx context.Context, info activity.Info, ids []string, signal string, input *commonpb.Payloads) ([]string, error) {
	missed := make([]bool, len(ids))
	failed := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			err := a.signalOnce(ctx, &workflowservice.SignalWorkflowExecutionRequest{
				Namespace:         info.WorkflowNamespace,
				WorkflowExecution: &commonpb.WorkflowExecution{WorkflowId: id},
				SignalName:        signal,
				Input:             input,
				Identity:          info.WorkflowExecution.ID,
				RequestId:         signalRequestID(info, id),
			})
			switch {
			case err == nil:
			case isFinal(err):
				missed[i] = true
				activity.GetLogger(ctx).Warn("signal not delivered", "WorkflowID", id, "Signal", signal, "Error", err)
			default:
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
		if missed[i] {
			out = append(out, id)
		}
	}
	return out, nil
}

// signalOnce sends one signal, trying again after a failure that may
// pass, for at most signalTimeout. (The service's own client retries
// nothing: the SDK's retries are for its own calls.) A retry carries the
// same request ID, so the signal is taken once however many tries reach
// the server.
func (a *Activities) signalOnce(ctx context.Context, req *workflowservice.SignalWorkflowExecutionRequest) error {
	ctx, cancel := context.WithTimeout(ctx, signalTimeout)
	defer cancel()
	for pause := firstSignalRetry; ; pause = min(2*pause, mostSignalRetry) {
		_, err := a.Workflows.WorkflowService().SignalWorkflowExecution(ctx, req)
		if err == nil || isFinal(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
}

// signalRequestNamespace names the request IDs signalRequestID derives.
var signalRequestNamespace = uuid.MustParse("0b5cf2f3-6f57-4f4c-9d0e-4e8a3f0f6a51")

// signalRequestID is the same for every attempt of one activity sending to
// one workflow, and differs for any other.
func signalRequestID(info activity.Info, target string) string {
	return uuid.NewSHA1(signalRequestNamespace, fmt.Appendf(nil, "%s/%s/%s/%s",
		info.WorkflowExecution.ID, info.WorkflowExecution.RunID, info.ActivityID, target)).String()
}

// isFinal says whether a signal's failure will be the same however often
// it is tried: the workflow has ended or never existed (NotFound), or the
// server refuses the signal itself (InvalidArgument: a run that has taken
// the most signals it may, a payload too large; FailedPrecondition, which
// this server does not send for a signal today, is as final).
func isFinal(err error) bool {
	var notFound *serviceerror.NotFound
	var invalid *serviceerror.InvalidArgument
	var precondition *serviceerror.FailedPrecondition
	return errors.As(err, &notFound) || errors.As(err, &invalid) || errors.As(err, &precondition)
}
