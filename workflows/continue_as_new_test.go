package workflows_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A journey's report that reaches the intake in the same workflow task as
// the step that lets it continue as new is in the state the next run
// starts from. The SDK hands a signal straight to a listener blocked in
// Receive, where the channel's Len no longer counts it; the intake,
// running before that listener, saw nothing pending and continued as new
// without it. The cluster benchmark lost an acceptance that way: the
// journey had accepted, and the intake held it as offered for good.
func TestAReportArrivingAsTheIntakeContinuesAsNewIsKept(t *testing.T) {
	h := newHarness(t, 20)
	b := h.apply(day(2021, 8, 21, 11))
	h.at(day(2021, 9, 12, 10), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: b, Decision: workflows.DecisionOffer}), "offer b")
	})
	// The window closes. While the intake records that, the server
	// suggests continuing as new, and b's acceptance reaches the intake
	// with the end of the record: the task in which the intake, having
	// nobody to put under review, continues. The report is injected (the
	// test environment cannot put a child's signal into a given task of
	// its parent), as b's journey sends it after its third event; b's
	// journey itself stays offered, and this run ends before it matters.
	h.during("b's acceptance", workflows.IntakeWorkflowID(h.intake.IntakeID), "Record", recording("intake.closed", ""), func() *scripted.Update {
		h.env.SetContinueAsNewSuggested(true)
		h.env.SignalWorkflowSkippingWorkflowTask(workflows.SignalJourneyStatus,
			workflows.JourneyStatusSignal{JourneyID: b, Status: contract.StatusAccepted, Seq: 3})
		return nil
	})
	if stuck := h.execute(); stuck != nil {
		t.Fatalf("the intake did not run to its end: %v", stuck)
	}
	if !h.interjections.all[0].fired {
		t.Fatal("the window's close was never recorded")
	}
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("the intake ended with %v, want it to continue as new", err)
	}
	var next workflows.Intake
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if got := next.Applicants[b]; got == nil || got.Status != contract.StatusAccepted {
		t.Errorf("the next run starts with b %+v, want accepted", got)
	}
	if next.Status != store.IntakeClosed {
		t.Errorf("the next run starts %s, want closed", next.Status)
	}
}
