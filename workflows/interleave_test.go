package workflows_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// These tests put two people's actions, or a person's and the programme's,
// at the same moment: one handler runs while the workflow waits on an
// activity of another step (during), and must not be undone when that step
// resumes. Each failed before the lifecycle guard (workflows/lifecycle.go).

// withdraw is the participant withdrawing (for a reason that needs no note).
func (h *harness) withdraw(j uuid.UUID) *scripted.Update {
	return h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "other"})
}

// intakeOfTwoAccepted is the harness's intake, open, with two applicants
// who have accepted, for a test that runs the intake alone from when (its
// journeys are not started: the test plays their part).
func (h *harness) intakeOfTwoAccepted(when time.Time) (in workflows.Intake, a, b uuid.UUID) {
	a, b = uuid.New(), uuid.New()
	in = h.intake
	in.Status, in.Published = store.IntakeOpen, store.IntakeOpen
	in.Order = []uuid.UUID{a, b}
	in.Applicants = map[uuid.UUID]*workflows.Applicant{
		a: {PersonID: uuid.New(), Status: contract.StatusAccepted},
		b: {PersonID: uuid.New(), Status: contract.StatusAccepted},
	}
	h.env.SetStartTime(when)
	return in, a, b
}

// startAlone runs the intake of intakeOfTwoAccepted alone from when: the
// coordinator starts it an hour later, and an hour after the counts are
// asked for, each of withdrawn reports that it withdrew, so that the
// intake can finish. It returns the intake's counts two hours after when.
func (h *harness) startAlone(in workflows.Intake, when time.Time, withdrawn ...uuid.UUID) map[workflows.Status]int {
	h.t.Helper()
	var start *scripted.Update
	h.at(when.Add(time.Hour), func() {
		start = h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
	})
	counts := h.intakeCountsAt(when.Add(2 * time.Hour))
	h.at(when.Add(3*time.Hour), func() {
		for _, j := range withdrawn {
			h.env.SignalWorkflow(workflows.SignalJourneyStatus, workflows.JourneyStatusSignal{JourneyID: j, Status: contract.StatusWithdrawn, Seq: 9})
		}
	})
	if stuck := h.executeIntake(in); stuck != nil {
		h.t.Fatalf("the intake did not finish: %v", stuck)
	}
	if err := start.Problem(); err != nil {
		h.t.Fatal(err)
	}
	return *counts
}

// intakeCountsAt asks the intake for its counts by status at when; they
// are filled in once that step has run.
func (h *harness) intakeCountsAt(when time.Time) *map[workflows.Status]int {
	counts := new(map[workflows.Status]int)
	h.at(when, func() {
		q, err := h.env.QueryWorkflow(workflows.QueryIntakeCounts)
		if err == nil {
			err = q.Get(counts)
		}
		if err != nil {
			h.t.Errorf("asking the intake for its counts: %v", err)
		}
	})
	return counts
}

// after lists the events recorded for a journey after the first of type
// first, or fails the test if there is none.
func (h *harness) after(j uuid.UUID, first string) []string {
	h.t.Helper()
	types := h.events(j)
	for i, t := range types {
		if t == first {
			return types[i+1:]
		}
	}
	h.t.Fatalf("no %s among the journey's events %v", first, types)
	return nil
}

// A withdrawal while the end of the programme is being recorded stands:
// the journey is not then assessed as if it had carried on.
func TestWithdrawalDuringTheAssessmentStands(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	// No reflection: at the end it falls overdue in the same step that
	// assesses the journey, after the record.
	h.during("withdraw", workflows.JourneyWorkflowID(j), "Record", recording("task.overdue", "reflection"), func() *scripted.Update {
		h.mustAccept(h.withdraw(j), "withdraw at the end")
		return nil // its own record waits for this one
	})
	h.run()

	if got := h.journey(j).State; got != contract.StatusWithdrawn {
		t.Errorf("journey ended %s, want withdrawn", got)
	}
	if later := h.after(j, "journey.withdrawn"); len(later) != 0 {
		t.Errorf("events after the withdrawal: %v", later)
	}
}

// A pause while the reminders of a new phase are being recorded holds
// the journey: the phase does not start until it is resumed.
func TestPauseDuringAPhaseChangeHoldsTheJourney(t *testing.T) {
	h := newHarness(t, 20)
	j := h.apply(day(2021, 8, 20, 11))
	h.offerAndAccept(j)
	// Started after the first lab month has begun: the first step of the
	// programme records the reminders still ahead and then starts the
	// phase.
	h.at(day(2021, 10, 2, 12), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}), "late start")
	})
	h.during("pause", workflows.JourneyWorkflowID(j), "Record", recording("reminders.queued", ""), func() *scripted.Update {
		h.mustAccept(h.update(j, workflows.UpdatePause, nil), "pause")
		return nil // its own record waits for this one
	})
	h.at(day(2021, 10, 20, 12), func() { h.mustAccept(h.update(j, workflows.UpdateResume, nil), "resume") })
	h.at(day(2021, 11, 20, 12), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	h.run()

	paused := h.after(j, "journey.paused")
	for _, e := range paused {
		if e == "journey.resumed" {
			break
		}
		if e == "phase.started" {
			t.Errorf("a phase started while the journey was paused: %v", paused)
		}
	}
	if n := count(h.events(j), "phase.started"); n != 2 {
		t.Errorf("%d phases started, want 2 (lab 1 once resumed, lab 2)", n)
	}
}

// A withdrawal while the start of the programme is being planned stands:
// the journey is not then scheduled, and the intake finishes.
func TestWithdrawalWhileTheStartIsPlannedStands(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.during("withdraw", workflows.JourneyWorkflowID(j), "PlanSchedule", nil, func() *scripted.Update {
		u := h.withdraw(j)
		h.mustAccept(u, "withdraw at the start")
		return u
	})
	h.run()

	if got := h.journey(j).State; got != contract.StatusWithdrawn {
		t.Errorf("journey ended %s, want withdrawn", got)
	}
	if later := h.after(j, "journey.withdrawn"); len(later) != 0 {
		t.Errorf("events after the withdrawal: %v", later)
	}
}

// offerWithdrawnWhilePlanned scripts an offer to a new applicant, j, who
// withdraws while it is planned, and runs the intake; a second applicant
// accepts, starts and withdraws, as the intake ends once its journeys
// have and needs one that starts. It returns j and the offer's update.
func (h *harness) offerWithdrawnWhilePlanned() (j uuid.UUID, offer *scripted.Update) {
	j = h.apply(day(2021, 8, 20, 11))
	h.at(day(2021, 9, 14, 10), func() {
		offer = h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer})
		h.mustAccept(offer, "offer")
	})
	h.during("withdraw", workflows.JourneyWorkflowID(j), "PlanOffer", nil, func() *scripted.Update {
		u := h.withdraw(j)
		h.mustAccept(u, "withdraw as the offer is made")
		return u
	})
	k := h.apply(day(2021, 8, 21, 11))
	h.offerAndAccept(k)
	h.startIntake()
	h.at(day(2021, 9, 29, 10), func() { h.mustAccept(h.withdraw(k), "withdraw k") })
	h.run()
	return j, offer
}

// A withdrawal while an offer is being planned stands: the offer is not
// then made.
func TestWithdrawalWhileAnOfferIsPlannedStands(t *testing.T) {
	h := newHarness(t, 20)
	j, _ := h.offerWithdrawnWhilePlanned()

	if got := h.journey(j).State; got != contract.StatusWithdrawn {
		t.Errorf("journey ended %s, want withdrawn", got)
	}
	if n := count(h.events(j), "offer.made"); n != 0 {
		t.Errorf("offer made %d times to a withdrawn applicant", n)
	}
}

// The same deferral twice at once (a double click, a retry) hands over
// one journey, and both answer with it; a deferral elsewhere meanwhile is
// refused.
func TestDeferralSentTwiceHandsOverOneJourney(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	later, elsewhere := uuid.New(), uuid.New()
	var (
		mu         sync.Mutex // the environment runs activities on goroutines of their own
		handedOver []workflows.DeferralHandOver
	)
	for _, target := range []uuid.UUID{later, elsewhere} {
		h.laterIntake(target, func(d workflows.DeferralHandOver) error {
			mu.Lock()
			defer mu.Unlock()
			handedOver = append(handedOver, d)
			return nil
		})
	}
	var first, second, other *scripted.Update
	h.at(day(2021, 10, 12, 10), func() {
		first = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
		second = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
		other = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: elsewhere})
	})
	h.run()

	h.mustAccept(first, "first deferral")
	h.mustAccept(second, "the same deferral again")
	if first.Done && second.Done && first.Value != second.Value {
		t.Errorf("the same deferral answered %v and %v, want one journey", first.Value, second.Value)
	}
	if other == nil || other.Problem() == nil {
		t.Errorf("a deferral to another intake during the hand-over succeeded: %+v", other)
	}
	ids := map[uuid.UUID]bool{}
	for _, d := range handedOver {
		ids[d.NewJourneyID] = true
	}
	if len(ids) != 1 {
		t.Errorf("%d journeys handed over (%+v), want 1", len(ids), handedOver)
	}
	if n := count(h.events(j), "journey.deferred"); n != 1 {
		t.Errorf("journey.deferred recorded %d times, want once", n)
	}
}

// An acceptance still being recorded when the coordinator starts the
// intake is not stranded: the journey starts, and the intake finishes.
func TestAcceptanceRacingTheStartIsStarted(t *testing.T) {
	h := newHarness(t, 20)
	a, b := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11))
	h.offerAndAccept(a)
	h.at(day(2021, 9, 14, 11), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: b, Decision: workflows.DecisionOffer}), "offer b")
	})
	h.at(day(2021, 9, 20, 10), func() {
		h.mustAccept(h.update(b, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "b accepts")
	})
	// b's acceptance is recorded, and the intake not yet told, when the
	// coordinator starts: the start runs whole before the intake hears.
	h.during("start", workflows.JourneyWorkflowID(b), "Record", recording("offer.accepted", ""), func() *scripted.Update {
		u := h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
		h.mustAccept(u, "start")
		return u
	})
	counts := h.intakeCountsAt(day(2021, 9, 28, 10))
	for _, j := range []uuid.UUID{a, b} {
		h.at(day(2021, 10, 20, 10), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	}
	h.run()

	if n := count(h.events(b), "programme.scheduled"); n != 1 {
		t.Errorf("b's programme scheduled %d times, want once: %v", n, h.events(b))
	}
	// b's start went out when its acceptance reached the intake, which
	// counts it awaiting the start from then on (lifecycle-guard 8).
	if want := map[workflows.Status]int{contract.StatusAwaitingStart: 2}; !maps.Equal(*counts, want) {
		t.Errorf("the started intake counted %v, want %v", *counts, want)
	}
}

// The intake counts the journeys it tells to start as awaiting the start
// as soon as it has told them (lifecycle-guard 8), and takes a journey's
// news after that: one withdrawn while its start was recorded is counted
// withdrawn. That the journeys do not report the start back is checked on
// the histories a real server keeps (e2e, startTakenAsTold).
func TestAStartedIntakeCountsItsJourneysAwaitingTheStart(t *testing.T) {
	h := newHarness(t, 20)
	a, b, c := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11)), h.apply(day(2021, 8, 22, 11))
	h.offerAndAccept(a)
	h.offerAndAccept(b)
	h.startIntake()
	// Not held: the withdrawal records after the start's record, in turn.
	h.during("b withdraws", workflows.JourneyWorkflowID(b), "Record", recording("programme.scheduled", ""), func() *scripted.Update {
		h.mustAccept(h.withdraw(b), "b withdraws")
		return nil
	})
	counts := h.intakeCountsAt(day(2021, 9, 28, 10))
	h.at(day(2021, 10, 20, 10), func() { h.mustAccept(h.withdraw(a), "a withdraws") })
	h.run()

	want := map[workflows.Status]int{contract.StatusAwaitingStart: 1, contract.StatusWithdrawn: 1, contract.StatusNotSelected: 1}
	if !maps.Equal(*counts, want) {
		t.Errorf("the started intake counted %v, want %v", *counts, want)
	}
	if got := h.after(b, "programme.scheduled"); !slices.Equal(got, []string{"journey.withdrawn"}) {
		t.Errorf("b's events after its start %v, want its withdrawal", got)
	}
	if got := h.journey(c).State; got != contract.StatusNotSelected {
		t.Errorf("c, never offered, ended %s, want %s", got, contract.StatusNotSelected)
	}
}

// A journey that withdrew just before its start reached it ignores the
// start, and the intake, which counted it awaiting the start once told,
// counts it withdrawn when its report comes.
func TestAStartIgnoredByAWithdrawnJourneyIsCountedWithdrawn(t *testing.T) {
	h := newHarness(t, 20)
	a, b := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11))
	h.offerAndAccept(a)
	h.offerAndAccept(b)
	h.at(day(2021, 9, 27, 10), func() { h.mustAccept(h.withdraw(b), "b withdraws") })
	// b has withdrawn and not yet reported it when the coordinator starts:
	// its record is held until the whole start is done.
	h.during("start", workflows.JourneyWorkflowID(b), "Record", recording("journey.withdrawn", ""), func() *scripted.Update {
		u := h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
		h.mustAccept(u, "start")
		return u
	})
	counts := h.intakeCountsAt(day(2021, 9, 28, 10))
	h.at(day(2021, 10, 20, 10), func() { h.mustAccept(h.withdraw(a), "a withdraws") })
	h.run()

	if want := map[workflows.Status]int{contract.StatusAwaitingStart: 1, contract.StatusWithdrawn: 1}; !maps.Equal(*counts, want) {
		t.Errorf("the started intake counted %v, want %v", *counts, want)
	}
	if n := count(h.events(b), "programme.scheduled"); n != 0 {
		t.Errorf("withdrawn b was scheduled %d times: %v", n, h.events(b))
	}
}

// A withdrawal that reaches the intake before the start signal's
// confirmation stands: the intake counts a journey it told as awaiting the
// start only if it still counts it accepted. Journeys in the test
// environment confirm a signal as it is delivered, so this order, which a
// real server allows, is made by the intake's signals to them: the intake
// runs alone, its journeys' reports sent by the test.
func TestAWithdrawalOvertakingTheStartStands(t *testing.T) {
	h := newHarness(t, 20)
	in, a, b := h.intakeOfTwoAccepted(day(2021, 9, 20, 9))
	report := func(j uuid.UUID, s workflows.Status) {
		h.env.SignalWorkflow(workflows.SignalJourneyStatus, workflows.JourneyStatusSignal{JourneyID: j, Status: s, Seq: 9})
	}
	h.script.SendSignals = func(_ context.Context, in activities.SignalsInput) (activities.SignalsResult, error) {
		if in.SignalName == workflows.SignalStart && slices.Contains(in.WorkflowIDs, workflows.JourneyWorkflowID(b)) {
			report(b, contract.StatusWithdrawn) // b withdrew; its report comes first
		}
		return activities.SignalsResult{}, nil
	}
	counts := h.startAlone(in, day(2021, 9, 20, 9), a)

	if want := map[workflows.Status]int{contract.StatusAwaitingStart: 1, contract.StatusWithdrawn: 1}; !maps.Equal(counts, want) {
		t.Errorf("the started intake counted %v, want %v", counts, want)
	}
}

// An intake run begun before lifecycle-guard 8 does not assume: its start
// signals say so, and it counts its journeys accepted until they report,
// as journeys begun since take its word and report.
func TestAnIntakeBeforeStartsAssumedWaitsForTheReports(t *testing.T) {
	h := newHarness(t, 20)
	in, a, b := h.intakeOfTwoAccepted(day(2021, 9, 20, 9))
	// 10 is the most the code asks for: raise it with the next version.
	h.env.OnGetVersion("lifecycle-guard", workflow.DefaultVersion, 10).Return(workflow.Version(7))
	var mu sync.Mutex // the environment runs each signal's mock on a goroutine of its own
	var told []workflows.StartSignal
	h.env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", workflows.SignalStart, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			mu.Lock()
			defer mu.Unlock()
			told = append(told, arg.(workflows.StartSignal))
			return nil
		})
	counts := h.startAlone(in, day(2021, 9, 20, 9), a, b)

	mu.Lock()
	defer mu.Unlock()
	if len(told) != 2 || told[0].Assumed || told[1].Assumed {
		t.Errorf("the version-7 intake's start signals %+v, want two that do not say the start is assumed", told)
	}
	if want := map[workflows.Status]int{contract.StatusAccepted: 2}; !maps.Equal(counts, want) {
		t.Errorf("the version-7 intake counted %v after its start, want %v until the journeys report", counts, want)
	}
}

// An intake tells its journeys to start by one SendSignals activity
// (lifecycle-guard 9), each start saying it is assumed, and counts
// awaiting the start only the journeys it reached: one whose workflow had
// ended (it withdrew, and its report is yet to come) stays as it was until
// its report.
func TestAJourneyTheStartDidNotReachIsNotCountedAwaitingIt(t *testing.T) {
	h := newHarness(t, 20)
	in, a, b := h.intakeOfTwoAccepted(day(2021, 9, 20, 9))
	var told []activities.SignalsInput // SendSignals runs one at a time: the intake waits for each
	h.script.SendSignals = func(_ context.Context, in activities.SignalsInput) (activities.SignalsResult, error) {
		told = append(told, in)
		if in.SignalName != workflows.SignalStart {
			return activities.SignalsResult{}, nil
		}
		return activities.SignalsResult{NotReached: []string{workflows.JourneyWorkflowID(b)}}, nil
	}
	counts := h.startAlone(in, day(2021, 9, 20, 9), a, b)

	if len(told) != 1 || told[0].SignalName != workflows.SignalStart ||
		!slices.Equal(told[0].WorkflowIDs, []string{workflows.JourneyWorkflowID(a), workflows.JourneyWorkflowID(b)}) {
		t.Fatalf("the intake's start sent %+v, want one start for a and b", told)
	}
	var s workflows.StartSignal
	if err := json.Unmarshal(told[0].Arg, &s); err != nil || !s.Assumed || !s.StartsOn.Equal(in.StartsOn) {
		t.Errorf("the start said %s (%v), want it assumed, starting on %s", told[0].Arg, err, in.StartsOn)
	}
	if want := map[workflows.Status]int{contract.StatusAwaitingStart: 1, contract.StatusAccepted: 1}; !maps.Equal(counts, want) {
		t.Errorf("the started intake counted %v, want %v: b, which the start did not reach, as it was", counts, want)
	}
}

// A participant deferred into an intake that has started is told to start
// at once, and counted awaiting the start.
func TestADeferralIntoAStartedIntakeIsCountedAwaitingTheStart(t *testing.T) {
	h := newHarness(t, 20)
	a := h.apply(day(2021, 8, 20, 11))
	h.offerAndAccept(a)
	h.startIntake()
	d := uuid.New()
	h.at(day(2021, 9, 27, 12), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateAcceptDeferral, workflows.DeferralHandOver{
			FromJourneyID: uuid.New(), NewJourneyID: d, PersonID: uuid.New(),
		}), "deferral in")
	})
	counts := h.intakeCountsAt(day(2021, 9, 28, 10))
	for _, j := range []uuid.UUID{a, d} {
		h.at(day(2021, 10, 20, 10), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	}
	h.run()

	if want := map[workflows.Status]int{contract.StatusAwaitingStart: 2}; !maps.Equal(*counts, want) {
		t.Errorf("the started intake counted %v, want %v", *counts, want)
	}
	if n := count(h.events(d), "programme.scheduled"); n != 1 {
		t.Errorf("the deferred-in journey was scheduled %d times, want once: %v", n, h.events(d))
	}
}

// Two offers for the last place at the same moment: one is made, the
// other refused as full.
func TestTwoOffersForTheLastPlace(t *testing.T) {
	h := newHarness(t, 1)
	a, b := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11))
	offers := map[uuid.UUID]*scripted.Update{}
	h.at(day(2021, 9, 14, 10), func() {
		for _, j := range []uuid.UUID{a, b} {
			offers[j] = h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer})
		}
	})
	// Whoever got the place accepts; the intake starts and ends.
	for _, j := range []uuid.UUID{a, b} {
		h.at(day(2021, 9, 15, 10), func() {
			if offers[j].Problem() == nil {
				h.mustAccept(h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "accept")
			}
		})
		h.at(day(2021, 10, 20, 10), func() {
			if offers[j].Problem() == nil {
				h.mustAccept(h.withdraw(j), "withdraw")
			}
		})
	}
	h.startIntake()
	h.run()

	made, full := 0, 0
	for _, u := range offers {
		switch err := u.Problem(); {
		case err == nil:
			made++
		case strings.Contains(err.Error(), "full"):
			full++
		}
	}
	if made != 1 || full != 1 {
		t.Errorf("%d offers made and %d refused as full, want 1 and 1: %v", made, full, []error{offers[a].Problem(), offers[b].Problem()})
	}
	offered := count(h.events(a), "offer.made") + count(h.events(b), "offer.made")
	if offered != 1 {
		t.Errorf("%d offers made to journeys, want 1", offered)
	}
}

// The window closing while an offer is being planned (the journey goes
// under review meanwhile) does not lose the offer: the coordinator was told
// it was made.
func TestReviewWhileAnOfferIsPlannedKeepsTheOffer(t *testing.T) {
	h := newHarness(t, 20)
	j := h.apply(day(2021, 8, 20, 11))
	h.at(day(2021, 9, 10, 10), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer}), "offer before the close")
	})
	h.during("review", workflows.JourneyWorkflowID(j), "PlanOffer", nil, func() *scripted.Update {
		if err := h.env.SignalWorkflowByID(workflows.JourneyWorkflowID(j), workflows.SignalReview, struct{}{}); err != nil {
			t.Errorf("signalling the review: %v", err)
		}
		return nil
	})
	h.at(day(2021, 9, 11, 10), func() {
		h.mustAccept(h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "accept")
	})
	h.startIntake()
	h.at(day(2021, 9, 29, 10), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	h.run()

	if n := count(h.events(j), "offer.made"); n != 1 {
		t.Errorf("offer made %d times, want once: %v", n, h.events(j))
	}
}

// A deferral still being handed over when the programme ends is not
// overtaken by the assessment: the participant is not both assessed here
// and handed to the later intake.
func TestDeferralInFlightAtTheEndIsNotAssessed(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	later := uuid.New()
	// The later intake takes the deferral only once the step that records
	// the end has had its record back and gone on: to the assessment, if
	// nothing stops it.
	var deferral *scripted.Update
	sent, recorded := false, make(chan struct{})
	h.laterIntake(later, func(workflows.DeferralHandOver) error {
		<-recorded
		return nil
	})
	h.during("defer", workflows.JourneyWorkflowID(j), "Record", recording("task.overdue", "reflection"), func() *scripted.Update {
		deferral = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
		sent = true
		return nil
	})
	// The first record of the journey's to finish after the deferral was
	// sent is the one it was sent during (the environment names a local
	// activity's type only when it starts; runs since record-locally 3
	// record by a regular activity).
	finished := func(info *activity.Info, _ converter.EncodedValue, _ error) {
		if sent && info.WorkflowExecution.ID == workflows.JourneyWorkflowID(j) {
			sent = false
			close(recorded)
		}
	}
	h.env.SetOnLocalActivityCompletedListener(finished)
	h.env.SetOnActivityCompletedListener(func(info *activity.Info, v converter.EncodedValue, err error) {
		if info.ActivityType.Name == "Record" {
			finished(info, v, err)
		}
	})
	h.run()

	h.mustAccept(deferral, "defer at the end")
	if got := h.journey(j).State; got != contract.StatusDeferred {
		t.Errorf("journey ended %s, want deferred: %v", got, h.events(j))
	}
	if n := count(h.events(j), "journey.not_completed") + count(h.events(j), "journey.completed"); n != 0 {
		t.Errorf("assessed as well as deferred: %v", h.events(j))
	}
}

// A pause and a resumption while the end of the programme is being recorded
// (the status back where it was, but the journey's plan moved): the
// assessment waits for the resumption's new plan, and the record shows
// paused, resumed, assessed, in that order.
func TestPauseAndResumeDuringTheAssessment(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.during("pause and resume", workflows.JourneyWorkflowID(j), "Record", recording("task.overdue", "reflection"), func() *scripted.Update {
		h.mustAccept(h.update(j, workflows.UpdatePause, nil), "pause at the end")
		h.mustAccept(h.update(j, workflows.UpdateResume, nil), "resume at once")
		return nil // their records wait for this one
	})
	h.run()

	if status := h.checkRecord(j, "the journey"); !status.Terminal() {
		t.Errorf("journey still %s after the intake finished", status)
	}
	if later := h.after(j, "journey.resumed"); len(later) == 0 {
		t.Errorf("nothing after the resumption: the journey was assessed before it resumed: %v", h.events(j))
	}
}

// A resumption while a moved session is being planned: the plan the move
// asked for was made without the pause, and must not replace the one the
// resumption made with it. Everything still ahead stays shifted by the
// pause, and the moved session is at its new time.
func TestResumeWhileAMovedSessionIsPlannedKeepsThePause(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	pauseAt, resumeAt := day(2021, 10, 20, 12), day(2021, 11, 3, 12) // two weeks
	moved := h.items(programme.KindSession)[10]
	to := moved.OpensAt.Add(48 * time.Hour)
	h.at(pauseAt, func() { h.mustAccept(h.update(j, workflows.UpdatePause), "pause") })
	h.at(resumeAt, func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateRescheduleSession,
			workflows.RescheduleSessionRequest{SessionID: moved.ID, StartsAt: to}), "reschedule")
	})
	planningTheMove := func(args converter.EncodedValues) bool {
		var in activities.PlanScheduleInput
		return args.Get(&in) == nil && len(in.Input.SessionMoves) > 0
	}
	h.during("resume", workflows.JourneyWorkflowID(j), "PlanSchedule", planningTheMove, func() *scripted.Update {
		resume := h.update(j, workflows.UpdateResume)
		h.mustAccept(resume, "resume while the move is planned")
		return resume // the move's plan comes back only after the resumption's
	})
	var before, after store.JourneySnapshot
	h.at(pauseAt.Add(-time.Hour), func() { before = h.journey(j) })
	h.at(resumeAt.Add(time.Hour), func() { after = h.journey(j) })
	h.run()

	if before.NextDueItem != after.NextDueItem || before.NextDueAt.IsZero() {
		t.Fatalf("next item %s before the pause, %s after: want the same one", before.NextDueItem, after.NextDueItem)
	}
	if shift := after.NextDueAt.Sub(before.NextDueAt); shift < 13*24*time.Hour {
		t.Errorf("next item moved by %s across a two-week pause: the move's plan, made without the pause, replaced the resumption's", shift)
	}
	var reminded []time.Time
	for _, m := range h.messages(j) {
		if m.ItemID == moved.ID && m.Template == "session-reminder-day" {
			reminded = append(reminded, m.ItemStartsAt)
		}
	}
	if len(reminded) != 1 || !reminded[0].Equal(to.Add(14*24*time.Hour)) && !reminded[0].Equal(to) {
		t.Errorf("the moved session was reminded for %v, want once, at its new time", reminded)
	}
}

// A session moved while a journey is planning its start (the intake still
// knows it as accepted): the journey's plan takes the move, and the
// session is reminded at its new time, not its old one.
func TestASessionMovedWhileTheStartIsPlannedIsInThePlan(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	moved := h.items(programme.KindSession)[6]
	to := moved.OpensAt.Add(48 * time.Hour)
	h.during("reschedule", workflows.JourneyWorkflowID(j), "PlanSchedule", nil, func() *scripted.Update {
		move := h.update(uuid.Nil, workflows.UpdateRescheduleSession,
			workflows.RescheduleSessionRequest{SessionID: moved.ID, StartsAt: to})
		h.mustAccept(move, "reschedule while the start is planned")
		return move // the start's plan comes back only after the move
	})
	h.at(to.Add(24*time.Hour), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	h.run()

	var reminded []time.Time
	for _, m := range h.messages(j) {
		if m.ItemID == moved.ID && m.Template == "session-reminder-day" {
			reminded = append(reminded, m.ItemStartsAt)
		}
	}
	if len(reminded) != 1 || !reminded[0].Equal(to) {
		t.Errorf("the moved session was reminded for %v, want once, for its new time %s", reminded, to)
	}
}
