package e2e_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/temporalproto"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// maxHistory is the budget for one workflow's history, all its runs
// together: a full journey, a journey deferred in from another intake, and
// an intake all stay well inside what Temporal handles comfortably.
const maxHistory = 2000

// historyDir is where recorded histories go, for workflows/replay_test.go.
var historyDir = filepath.Join("..", "workflows", "testdata")

// run is the history of one run of a workflow.
type run struct {
	runID  string
	events []*historypb.HistoryEvent
}

// chain fetches every run of a workflow, first to last, following
// continue-as-new from the first run the latest one names.
func (w *world) chain(workflowID string) ([]run, error) {
	latest, err := w.history(workflowID, "")
	if err != nil {
		return nil, err
	}
	runID := latest[0].GetWorkflowExecutionStartedEventAttributes().GetFirstExecutionRunId()
	if runID == "" {
		return nil, fmt.Errorf("%s: the start event names no first run", workflowID)
	}
	var runs []run
	for len(runs) < 100 && runID != "" {
		evs, err := w.history(workflowID, runID)
		if err != nil {
			return nil, err
		}
		runs = append(runs, run{runID: runID, events: evs})
		runID = evs[len(evs)-1].GetWorkflowExecutionContinuedAsNewEventAttributes().GetNewExecutionRunId()
	}
	if runID != "" {
		return nil, fmt.Errorf("%s: more than %d runs", workflowID, len(runs))
	}
	return runs, nil
}

func (w *world) history(workflowID, runID string) ([]*historypb.HistoryEvent, error) {
	it := w.c.GetWorkflowHistory(w.ctx, workflowID, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var evs []*historypb.HistoryEvent
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("history of %s run %q: %w", workflowID, runID, err)
		}
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return nil, fmt.Errorf("history of %s run %q is empty", workflowID, runID)
	}
	return evs, nil
}

// labelled is a workflow of a scenario and the label its recorded
// histories are filed under: <kind>-<branch>, kind "intake" or "journey",
// the branch of the workflow the history goes through.
type labelled struct{ label, id string }

// checkHistories fetches the history of every workflow of the scenario and
// checks it (histories), measures a full journey's history and, if asked,
// records the histories for the replay test.
func (w *world) checkHistories(sc scenario, record bool) {
	t := w.t
	t.Helper()
	chains := w.histories(record, []labelled{
		{"intake-a", workflows.IntakeWorkflowID(sc.intakeA.ID)},
		{"journey-completed", workflows.JourneyWorkflowID(sc.completed)},
		{"journey-declined", workflows.JourneyWorkflowID(sc.declined)},
		{"journey-deferred", workflows.JourneyWorkflowID(sc.deferred)},
		{"journey-not-selected", workflows.JourneyWorkflowID(sc.notSelected)},
		{"intake-b", workflows.IntakeWorkflowID(sc.intakeB.ID)},
		{"journey-deferred-in", workflows.JourneyWorkflowID(sc.deferredIn)},
	})

	// Journeys begun by their intake (not the one withdrawn before any
	// decision, which reports its withdrawal first).
	for _, label := range []string{"journey-completed", "journey-declined", "journey-deferred", "journey-not-selected", "journey-deferred-in"} {
		if err := quietUntilTold(chains[label][0].events); err != nil {
			t.Errorf("%s: %v", label, err)
		}
	}

	// The decisions reach their journeys by update (lifecycle-guard 10).
	if took, err := decisionsAnswered(chains["journey-completed"][0].events); err == nil && !took {
		t.Error("journey-completed: its offer did not come by update: the intake signalled it")
	}

	// How a full journey's history is made up, and how late its timers fired.
	total, late := 0, time.Duration(0)
	for i, r := range chains["journey-completed"] {
		total += len(r.events)
		t.Logf("full journey run %d (%s): %d events, ending %s", i+1, r.runID, len(r.events), r.events[len(r.events)-1].GetEventType())
		late = max(late, timerLateness(r.events))
	}
	t.Logf("full journey history: %d events in %d runs; its timers fired at most %s late", total, len(chains["journey-completed"]), late)
}

// histories fetches every run of each workflow and checks what must hold
// of any: no personal data in it, in any form the server keeps (payloads:
// inputs, results, signals, updates, queries; search attributes; memo),
// all its runs within the budget, no timer left behind, and nothing
// planned by a regular activity. If asked, and
// nothing failed, it then records the histories for the replay test. It
// returns the runs by label.
func (w *world) histories(record bool, wfs []labelled) map[string][]run {
	t := w.t
	t.Helper()
	chains := map[string][]run{}
	for _, wf := range wfs {
		runs, err := w.chain(wf.id)
		if err != nil {
			t.Fatal(err)
		}
		chains[wf.label] = runs
		total := 0
		for _, r := range runs {
			total += len(r.events)
		}
		t.Logf("%s (%s): %d runs, %d history events", wf.label, wf.id, len(runs), total)
		if total >= maxHistory {
			t.Errorf("%s: %d history events in all its runs, over the budget of %d", wf.label, total, maxHistory)
		}
		w.checkNoPersonalData(wf.id, runs)
		for i, r := range runs {
			if err := plannedLocally(r.events); err != nil {
				t.Errorf("%s run %d: %v", wf.label, i+1, err)
			}
			if err := startTakenAsTold(r.events); err != nil {
				t.Errorf("%s run %d: %v", wf.label, i+1, err)
			}
			if err := toldByActivity(r.events); err != nil {
				t.Errorf("%s run %d: %v", wf.label, i+1, err)
			}
			if err := decidedByUpdate(r.events); err != nil {
				t.Errorf("%s run %d: %v", wf.label, i+1, err)
			}
			if _, err := decisionsAnswered(r.events); err != nil {
				t.Errorf("%s run %d: %v", wf.label, i+1, err)
			}
			most, left := outstandingTimers(r.events)
			if left != 0 {
				t.Errorf("%s run %d: %d timers still pending when the run ended: a wait that ended early left its timer", wf.label, i+1, left)
			}
			if strings.HasPrefix(wf.label, "journey") && most > 1 {
				t.Errorf("%s run %d: %d timers pending at once; a journey waits for one moment at a time", wf.label, i+1, most)
			}
		}
	}
	if record && !t.Failed() {
		w.recordHistories(wfs, chains)
	}
	return chains
}

// shorthand prints payloads as the JSON values they hold, as the Temporal
// UI and CLI show them to people.
var shorthand = temporalproto.CustomJSONMarshalOptions{
	Metadata: map[string]any{commonpb.EnablePayloadShorthandMetadataKey: true},
}

// checkNoPersonalData looks for every name, e-mail address and note of the
// scenario in three forms of every event: binary (payload bytes as they are,
// JSON without a codec), JSON as recorded for replay, and JSON with payloads
// decoded. As a control, the workflow's own ID must be found in the decoded
// form, so a miss means the data is not there, not that the search is blind.
func (w *world) checkNoPersonalData(workflowID string, runs []run) {
	w.mu.Lock()
	private := append([]string(nil), w.private...)
	w.mu.Unlock()
	var all bytes.Buffer
	for _, r := range runs {
		for _, ev := range r.events {
			bin, err := proto.Marshal(ev)
			if err != nil {
				w.t.Fatal(err)
			}
			js, err := temporalproto.CustomJSONMarshalOptions{}.Marshal(ev)
			if err != nil {
				w.t.Fatal(err)
			}
			decoded, err := shorthand.Marshal(ev)
			if err != nil {
				w.t.Fatal(err)
			}
			for _, form := range [][]byte{bin, js, decoded} {
				for _, s := range private {
					if bytes.Contains(form, []byte(s)) {
						w.t.Errorf("personal data %q is in the history of %s (run %s, event %d, %s)",
							s, workflowID, r.runID, ev.GetEventId(), ev.GetEventType())
					}
				}
			}
			all.Write(decoded)
		}
	}
	if len(private) == 0 {
		w.t.Fatal("no personal data to look for")
	}
	// The IDs in payloads are found, so personal data would have been too.
	_, uuidPart, _ := bytes.Cut([]byte(workflowID), []byte("/"))
	if !bytes.Contains(all.Bytes(), uuidPart) {
		w.t.Errorf("control failed: the ID %s is nowhere in its own history, so the search cannot be trusted", uuidPart)
	}
}

// recordHistories writes each run's history as JSON in the format of
// `temporal workflow show --output json`, for workflows/replay_test.go,
// as <label>.run-<n>.json. It first removes the earlier recording of those
// labels only (which may have had more runs): each scenario records its own
// labels, and one command runs every scenario (see the replay test).
func (w *world) recordHistories(order []labelled, chains map[string][]run) {
	t := w.t
	for _, wf := range order {
		old, err := filepath.Glob(filepath.Join(historyDir, wf.label+".run-*.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.MkdirAll(historyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, wf := range order {
		for i, r := range chains[wf.label] {
			js, err := temporalproto.CustomJSONMarshalOptions{Indent: "  "}.Marshal(&historypb.History{Events: r.events})
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(historyDir, fmt.Sprintf("%s.run-%d.json", wf.label, i+1))
			if err := os.WriteFile(name, append(js, '\n'), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("recorded %s (%d events)", name, len(r.events))
		}
	}
}

// quietUntilTold checks that a journey begun by an application signals
// nothing to its intake before the intake has told it something (by a
// signal, or a decision by update): the status it begins with is the one
// the intake gave it (lifecycle-guard 7), and each report costs both
// workflows a task while the intake fills.
func quietUntilTold(events []*historypb.HistoryEvent) error {
	for _, ev := range events {
		switch {
		case ev.GetWorkflowExecutionSignaledEventAttributes() != nil,
			ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName() == workflows.UpdateDecision:
			return nil
		case ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes() != nil:
			return fmt.Errorf("event %d signals %s before the intake has told the journey anything: it reports the status its intake gave it",
				ev.GetEventId(), ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetSignalName())
		}
	}
	return nil
}

// plannedLocally checks that no offer or schedule is planned by a
// regular activity, which costs three events and a workflow task where a
// local one costs a marker (lifecycle-guard 7).
func plannedLocally(events []*historypb.HistoryEvent) error {
	for _, ev := range events {
		a := ev.GetActivityTaskScheduledEventAttributes()
		if name := a.GetActivityType().GetName(); name == "PlanOffer" || name == "PlanSchedule" {
			return fmt.Errorf("event %d schedules %s as a regular activity: plan locally", ev.GetEventId(), name)
		}
	}
	return nil
}

// startTakenAsTold checks that a journey begun at lifecycle-guard 8 or
// later, told to start by an intake that counts it awaiting the start from
// then on (StartSignal.Assumed), does not report that back. A journey
// begun before reports whatever it is told, a start from an older intake
// is reported, and a journey resumed before its programme starts reports
// that it awaits the start again: only the report such a start signal
// would cause is checked.
func startTakenAsTold(events []*historypb.HistoryEvent) error {
	dc := converter.GetDefaultDataConverter()
	if v, err := lifecycleGuard(events); err != nil || v < 8 {
		return err
	}
	assumed := false
	for _, ev := range events {
		if a := ev.GetWorkflowExecutionSignaledEventAttributes(); a != nil && a.GetSignalName() == workflows.SignalStart {
			var start workflows.StartSignal
			if err := dc.FromPayloads(a.GetInput(), &start); err != nil {
				return fmt.Errorf("event %d: reading the start signal: %w", ev.GetEventId(), err)
			}
			assumed = start.Assumed
		}
		a := ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes()
		if a == nil || a.GetSignalName() != workflows.SignalJourneyStatus {
			continue
		}
		var report workflows.JourneyStatusSignal
		if err := dc.FromPayloads(a.GetInput(), &report); err != nil {
			return fmt.Errorf("event %d: reading the status report: %w", ev.GetEventId(), err)
		}
		if assumed && report.Status == contract.StatusAwaitingStart {
			return fmt.Errorf("event %d reports %s to the intake, which counts the journey so since it told it to start",
				ev.GetEventId(), report.Status)
		}
		assumed = false
	}
	return nil
}

// toldByActivity checks that an intake run at lifecycle-guard 9 or later
// tells its journeys what they all hear (the end of applications, that
// they were not selected, that the programme starts) by the SendSignals
// activity, three events for them all, rather than a signal of its own to
// each, two events each and a write to the intake for every journey: no
// such signal of its own, and a run that took the start sends the start by
// SendSignals. (A start goes to one journey on its own too, when it
// accepts or is deferred in after the start, as a decision does.) A
// session move never goes by SendSignals: a retried attempt could deliver
// it after a later move of the same session.
func toldByActivity(events []*historypb.HistoryEvent) error {
	if v, err := lifecycleGuard(events); err != nil || v < 9 {
		return err
	}
	if events[0].GetWorkflowExecutionStartedEventAttributes().GetWorkflowType().GetName() != "IntakeWorkflow" {
		return nil
	}
	started, startSent := false, false
	for _, ev := range events {
		a := ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes()
		if slices.Contains([]string{workflows.SignalReview, workflows.SignalNotSelected}, a.GetSignalName()) {
			return fmt.Errorf("event %d signals %s to %s itself: an intake tells its journeys by SendSignals",
				ev.GetEventId(), a.GetSignalName(), a.GetWorkflowExecution().GetWorkflowId())
		}
		if u := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); u.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateStartIntake {
			started = true
		}
		if act := ev.GetActivityTaskScheduledEventAttributes(); act.GetActivityType().GetName() == "SendSignals" {
			var in activities.SignalsInput
			if err := converter.GetDefaultDataConverter().FromPayloads(act.GetInput(), &in); err != nil {
				return fmt.Errorf("event %d: reading SendSignals' input: %w", ev.GetEventId(), err)
			}
			if in.SignalName == workflows.SignalSessionMoved {
				return fmt.Errorf("event %d sends %s by SendSignals: a retried attempt could undo a later move of the session", ev.GetEventId(), in.SignalName)
			}
			startSent = startSent || in.SignalName == workflows.SignalStart
		}
	}
	if started && !startSent {
		return errors.New("the intake took the start but sent no start by SendSignals")
	}
	return nil
}

// decidedByUpdate checks that an intake run at lifecycle-guard 10 or
// later sends each coordinator's decision to its journey by an update
// (the SendUpdate activity), whose answer is the journey's report, rather
// than by a signal the journey answers with a signal of its own: one
// SendUpdate of UpdateDecision for each decision the intake took.
func decidedByUpdate(events []*historypb.HistoryEvent) error {
	if v, err := lifecycleGuard(events); err != nil || v < 10 {
		return err
	}
	decided, answered := 0, 0
	sent := map[int64]bool{} // the SendUpdates of decisions, by their scheduled event
	for _, ev := range events {
		if u := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes(); u.GetAcceptedRequest().GetInput().GetName() == workflows.UpdateDecide {
			decided++
		}
		if act := ev.GetActivityTaskScheduledEventAttributes(); act.GetActivityType().GetName() == "SendUpdate" {
			var in activities.UpdateInput
			if err := converter.GetDefaultDataConverter().FromPayloads(act.GetInput(), &in); err != nil {
				return fmt.Errorf("event %d: reading SendUpdate's input: %w", ev.GetEventId(), err)
			}
			sent[ev.GetEventId()] = in.UpdateName == workflows.UpdateDecision
		}
		if sent[ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()] {
			answered++
		}
	}
	if answered != decided {
		return fmt.Errorf("the intake took %d decisions and had %d answered by their journeys' updates: it sends each by update, which the journey answers", decided, answered)
	}
	return nil
}

// decisionsAnswered checks that a journey that takes a decision by update
// does not also signal the status it moved to back to its intake, which
// has it from the update's answer: no status report before anything else
// reaches the journey (a signal, another update, a timer). It says
// whether the run took a decision by update.
func decisionsAnswered(events []*historypb.HistoryEvent) (took bool, err error) {
	answered := false
	decisions := map[int64]bool{} // the decisions' updates, by their accepted event
	for _, ev := range events {
		switch {
		case ev.GetWorkflowExecutionUpdateAcceptedEventAttributes() != nil:
			name := ev.GetWorkflowExecutionUpdateAcceptedEventAttributes().GetAcceptedRequest().GetInput().GetName()
			answered = name == workflows.UpdateDecision
			decisions[ev.GetEventId()] = answered
			took = took || answered
		case ev.GetWorkflowExecutionUpdateCompletedEventAttributes() != nil:
			done := ev.GetWorkflowExecutionUpdateCompletedEventAttributes()
			if decisions[done.GetAcceptedEventId()] && done.GetOutcome().GetFailure() != nil {
				return took, fmt.Errorf("event %d: the journey failed the decision's update: it answers every decision with where it is", ev.GetEventId())
			}
		case ev.GetWorkflowExecutionSignaledEventAttributes() != nil, ev.GetTimerFiredEventAttributes() != nil:
			answered = false
		case answered && ev.GetSignalExternalWorkflowExecutionInitiatedEventAttributes().GetSignalName() == workflows.SignalJourneyStatus:
			return took, fmt.Errorf("event %d reports the journey's status to its intake, which has it from the answer to its decision", ev.GetEventId())
		}
	}
	return took, nil
}

// lifecycleGuard is the version of the lifecycle-guard change a run
// records (workflow.GetVersion's marker), or -1 (the SDK's default
// version) if it records none.
func lifecycleGuard(events []*historypb.HistoryEvent) (int, error) {
	dc := converter.GetDefaultDataConverter()
	for _, ev := range events {
		m := ev.GetMarkerRecordedEventAttributes()
		if m.GetMarkerName() != "Version" {
			continue
		}
		var change string
		var version int
		if err := dc.FromPayloads(m.GetDetails()["change-id"], &change); err != nil {
			return 0, fmt.Errorf("event %d: reading a version marker: %w", ev.GetEventId(), err)
		}
		if change != "lifecycle-guard" {
			continue
		}
		if err := dc.FromPayloads(m.GetDetails()["version"], &version); err != nil {
			return 0, fmt.Errorf("event %d: reading a version marker: %w", ev.GetEventId(), err)
		}
		return version, nil
	}
	return -1, nil
}

// outstandingTimers follows a run's timers: the most pending at once, and
// how many were still pending (neither fired nor cancelled) at its end.
func outstandingTimers(events []*historypb.HistoryEvent) (most, left int) {
	for _, ev := range events {
		switch {
		case ev.GetTimerStartedEventAttributes() != nil:
			left++
		case ev.GetTimerFiredEventAttributes() != nil, ev.GetTimerCanceledEventAttributes() != nil:
			left--
		}
		most = max(most, left)
	}
	return most, left
}

// timerLateness is how much later than asked the latest of a run's timers
// fired. On the compressed clock a programme day is about 0.2 s, so this
// shows how much slack the scenario has left.
func timerLateness(events []*historypb.HistoryEvent) time.Duration {
	started := map[int64]*historypb.HistoryEvent{}
	var late time.Duration
	for _, ev := range events {
		if ev.GetTimerStartedEventAttributes() != nil {
			started[ev.GetEventId()] = ev
		}
		if a := ev.GetTimerFiredEventAttributes(); a != nil {
			if st := started[a.GetStartedEventId()]; st != nil {
				due := st.GetEventTime().AsTime().Add(st.GetTimerStartedEventAttributes().GetStartToFireTimeout().AsDuration())
				late = max(late, ev.GetEventTime().AsTime().Sub(due))
			}
		}
	}
	return late
}
