package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// sentUpdates watches the decisions the intake sends by update: each
// update, the journey's answer, and any failure.
type sentUpdates struct {
	mu      sync.Mutex // activities run on goroutines of their own
	sent    []activities.UpdateInput
	answers []workflows.JourneyStatusSignal
	failed  []error
}

// watchUpdates has the harness's stand-in for SendUpdate deliver the
// intake's decisions as before, noting what went and came back.
func (h *harness) watchUpdates() *sentUpdates {
	w := &sentUpdates{}
	deliver := h.script.SendUpdate
	h.script.SendUpdate = func(ctx context.Context, in activities.UpdateInput) (json.RawMessage, error) {
		answer, err := deliver(ctx, in)
		var a workflows.JourneyStatusSignal
		if err == nil {
			err = json.Unmarshal(answer, &a)
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		w.sent, w.answers = append(w.sent, in), append(w.answers, a)
		if err != nil {
			w.failed = append(w.failed, err)
		}
		return answer, err
	}
	return w
}

// decisions runs the harness's intake with two applicants, j offered and
// k rejected after the window closes; j accepts the next day, the intake
// starts, and j withdraws once it has. Whichever way the decisions
// travel, it fails the test unless they answer offered and rejected, the
// offer only once j's journey had made it (the applicant can then accept
// at once), and each journey recorded its decision once.
func (h *harness) decisions() (j, k uuid.UUID) {
	j = h.apply(day(2021, 8, 20, 11))
	k = h.apply(day(2021, 8, 20, 12))
	made := -1
	var offer, reject *scripted.Update
	h.at(day(2021, 9, 14, 10), func() {
		offer = h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer})
		offer.OnDone = func() { made = count(h.events(j), "offer.made") }
		reject = h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: k, Decision: workflows.DecisionReject})
	})
	h.at(day(2021, 9, 15, 10), func() {
		h.mustAccept(h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "accept")
	})
	h.startIntake()
	h.at(day(2021, 9, 29, 10), func() { h.mustAccept(h.withdraw(j), "withdraw j") })
	h.run()
	for _, u := range []*scripted.Update{offer, reject} {
		if err := u.Problem(); err != nil {
			h.t.Fatal(err)
		}
	}
	if made != 1 {
		h.t.Errorf("the offer answered when its journey had made %d offers, want it made first", made)
	}
	if offer.Value != contract.StatusOffered || reject.Value != contract.StatusRejected {
		h.t.Errorf("the decisions answered %v and %v, want %s and %s", offer.Value, reject.Value, contract.StatusOffered, contract.StatusRejected)
	}
	if n := count(h.events(j), "offer.made"); n != 1 {
		h.t.Errorf("offer made %d times, want once", n)
	}
	if n := count(h.events(k), "application.rejected"); n != 1 {
		h.t.Errorf("rejection recorded %d times, want once", n)
	}
	if got := h.journey(k).State; got != contract.StatusRejected {
		h.t.Errorf("the rejected applicant's journey is %s, want %s", got, contract.StatusRejected)
	}
	return j, k
}

// A coordinator's decision goes to its journey as an update
// (lifecycle-guard 10), one for each decision, each under an ID of its
// own, which the journey answers (none fails, so none falls back to a
// signal). That the journey then reports nothing back is checked on real
// histories (e2e, decisionsAnswered): the SDK's test environment carries
// the signals between its workflows out of a test's sight.
func TestADecisionGoesToItsJourneyByUpdate(t *testing.T) {
	h := newHarness(t, 20)
	w := h.watchUpdates()
	j, k := h.decisions()
	sent, failed := w.sent, w.failed

	want := map[string]workflows.Decision{workflows.JourneyWorkflowID(j): workflows.DecisionOffer, workflows.JourneyWorkflowID(k): workflows.DecisionReject}
	ids := map[string]bool{}
	for _, in := range sent {
		var d workflows.DecisionSignal
		if err := json.Unmarshal(in.Arg, &d); err != nil {
			t.Fatal(err)
		}
		if in.UpdateName != workflows.UpdateDecision || want[in.WorkflowID] != d.Decision {
			t.Errorf("sent %s %+v to %s, want one of %v", in.UpdateName, d, in.WorkflowID, want)
		}
		delete(want, in.WorkflowID)
		ids[in.UpdateID] = true
	}
	if len(sent) != 2 || len(ids) != 2 || len(failed) != 0 {
		t.Errorf("sent %d decisions under %d update IDs, %d of them failed (%v), want 2 under 2, none failed", len(sent), len(ids), len(failed), failed)
	}
}

// An offer to an applicant who withdraws while it is planned answers
// withdrawn: the journey answers where it is.
func TestAnOfferToAnApplicantWhoWithdrewAnswersWithdrawn(t *testing.T) {
	h := newHarness(t, 20)
	w := h.watchUpdates()
	j, offer := h.offerWithdrawnWhilePlanned()

	if offer.Value != contract.StatusWithdrawn {
		t.Errorf("the offer answered %v, want %s", offer.Value, contract.StatusWithdrawn)
	}
	var ofJ []workflows.JourneyStatusSignal
	for _, a := range w.answers {
		if a.JourneyID == j {
			ofJ = append(ofJ, a)
		}
	}
	if len(w.failed) != 0 || len(ofJ) != 1 || ofJ[0].Status != contract.StatusWithdrawn {
		t.Errorf("the journey answered the offer %+v (failures %v), want one answer: withdrawn", ofJ, w.failed)
	}
}

// A journey whose worker does not know the decision's update (one of an
// older release, during a deploy) refuses it: the intake then signals the
// decision, as before (the journey makes the offer, which only the signal
// could have told it of), and the applicant can accept it.
func TestADecisionRefusedByUpdateIsSignalled(t *testing.T) {
	h := newHarness(t, 20)
	var refused atomic.Int32
	h.script.SendUpdate = func(_ context.Context, in activities.UpdateInput) (json.RawMessage, error) {
		refused.Add(1)
		return nil, temporal.NewNonRetryableApplicationError("unknown update "+in.UpdateName, activities.ErrRefused, nil)
	}
	h.decisions()

	if n := refused.Load(); n != 2 {
		t.Errorf("%d decisions sent by update, want 2", n)
	}
}

// An intake run begun before lifecycle-guard 10 signals its decisions,
// and waits for the journeys' reports, as it always did.
func TestAnIntakeBeforeDecisionsByUpdateSignalsThem(t *testing.T) {
	h := newHarness(t, 20)
	h.env.OnGetVersion("lifecycle-guard", workflow.DefaultVersion, 10).Return(workflow.Version(9))
	var sent atomic.Int32
	h.script.SendUpdate = func(_ context.Context, in activities.UpdateInput) (json.RawMessage, error) {
		sent.Add(1)
		return nil, temporal.NewNonRetryableApplicationError("not expected", activities.ErrRefused, nil)
	}
	h.decisions()

	if n := sent.Load(); n != 0 {
		t.Errorf("a version-9 intake sent %d decisions by update", n)
	}
}

// A decision's update that cannot reach its journey (the server out of
// reach for it) is retried only for the minute the decision waits; then
// the decision is signalled, which the journey cannot miss, and the
// applicant still gets the offer and can accept it.
func TestADecisionUnansweredByUpdateIsSignalled(t *testing.T) {
	h := newHarness(t, 20)
	var tries atomic.Int32
	h.script.SendUpdate = func(context.Context, activities.UpdateInput) (json.RawMessage, error) {
		tries.Add(1)
		return nil, errors.New("the server is out of reach")
	}
	h.decisions()

	// Retried, but only for the minute the decision waits: with the
	// backoff doubling from a second, at most six attempts each.
	if n := tries.Load(); n <= 2 || n > 12 {
		t.Errorf("the two decisions' updates were tried %d times, want more than once each and at most six times each", n)
	}
}

// A decision can reach a journey in its first workflow task, when the
// intake decides as soon as the application is taken: the journey takes
// it once it has begun, rather than answer from before it had a status
// (the coach load benchmark's set-up caught a journey that answered an
// offer with no status and never made it).
func TestADecisionInAJourneysFirstTaskWaitsForItToBegin(t *testing.T) {
	h := newHarness(t, 20)
	j := workflows.Journey{
		JourneyID: uuid.New(), IntakeID: h.intake.IntakeID, PersonID: uuid.New(), CoordinatorID: h.intake.CoordinatorID,
		ProgrammeID: "infuse", ProgrammeVersion: 1, IntakeStartsOn: h.intake.StartsOn,
	}
	var answer workflows.JourneyStatusSignal
	answerErr := errors.New("never answered")
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(workflows.UpdateDecision, uuid.NewString(), &testsuite.TestUpdateCallback{
			OnReject: func(err error) { answerErr = err },
			OnAccept: func() {},
			OnComplete: func(v any, err error) {
				answer, answerErr = v.(workflows.JourneyStatusSignal), err
				h.env.CancelWorkflow()
			},
		}, workflows.DecisionSignal{Decision: workflows.DecisionOffer})
	}, 0)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.JourneyWorkflowID(j.JourneyID)})
	h.env.ExecuteWorkflow(workflows.JourneyWorkflow, j)

	if answerErr != nil || answer.Status != contract.StatusOffered {
		t.Errorf("the journey answered %+v, %v; want offered", answer, answerErr)
	}
}
