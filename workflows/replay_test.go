package workflows_test

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/workflows"
)

// The histories under testdata were recorded from the end-to-end tests (a
// real Temporal server, the real worker, six compressed months), one file
// per run of each workflow, named <kind>-<branch>.run-<n>.json (kind
// "intake" or "journey"; branches lists them), in the JSON format of
// `temporal workflow show --output json`. Re-record them all with
//
//	INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -count=1 -run 'TestEndToEnd/sqlite'
//
// which runs every TestEndToEnd* test on SQLite (TestEndToEnd itself also
// on PostgreSQL, which the pattern leaves out; TestEndToEndBranches and
// TestEndToEndContinueAsNew, in e2e/branches_test.go, have no subtests and
// use SQLite only). Each replaces the files of the labels it records, and
// only if it passed; -count=1 keeps go test from answering from its cache
// without running them.
//
// Re-record only when a change to the workflows is meant to be
// incompatible with running journeys (and then guard it with
// workflow.GetVersion instead, if journeys are running in production).
//
// Histories recorded before a versioned change (workflow.GetVersion; see
// CONTRIBUTING.md) are kept in a folder named for it, so that the branch
// running workflows still take keeps being replayed:
//
//	testdata/before-lifecycle-guard/  recorded before the lifecycle guard
//	                                  and the cancelled wake timers
//	testdata/before-record-locally/   recorded before events were recorded
//	                                  by a local activity (lifecycle-guard
//	                                  versions 1 and 3)
//	testdata/before-record-fallback/  recorded with local records that
//	                                  retried for ever (record-locally 1)
//	testdata/before-record-durably/   recorded with local records that
//	                                  fell back to a regular activity
//	                                  (record-locally 2)
//	testdata/before-signals-queued/   recorded before listeners kept a
//	                                  signal queued until they took it
//	                                  (lifecycle-guard 4)
//	testdata/before-listens-on-demand/ recorded with a listener
//	                                  coroutine for each signal type for
//	                                  the run's life (lifecycle-guard 5)
//	testdata/before-record-fenced/    recorded with events recorded by a
//	                                  regular activity (record-locally 3)
//	testdata/before-fewer-round-trips/ recorded with journeys that
//	                                  reported the status they began with
//	                                  and planned offers and schedules
//	                                  by a regular activity
//	                                  (lifecycle-guard 6)
//	testdata/before-starts-assumed/   recorded with journeys that
//	                                  reported back that they awaited
//	                                  the start their intake had just
//	                                  told them of (lifecycle-guard 7)
//	testdata/before-signals-by-activity/ recorded with intakes that
//	                                  signalled each journey themselves
//	                                  (lifecycle-guard 8)
//	testdata/before-decisions-by-update/ recorded with intakes that
//	                                  signalled each decision and waited
//	                                  for the journey's report
//	                                  (lifecycle-guard 9)
const recordedHistories = "testdata/*.run-*.json"

// recordCommand re-records every history (see above).
const recordCommand = "INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -count=1 -run 'TestEndToEnd/sqlite'"

// historiesBefore are the folders of histories recorded before a change.
const historiesBefore = "testdata/before-*/*.run-*.json"

func recordedHistoryFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{recordedHistories, historiesBefore} {
		matched, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, matched...)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded histories match %s: record them with %s", recordedHistories, recordCommand)
	}
	return files
}

// Every recorded history replays against the current workflow code without
// non-determinism: a change that would break running journeys fails here.
func TestReplayRecordedHistories(t *testing.T) {
	files := recordedHistoryFiles(t)
	kinds := map[string]int{}
	for _, f := range files {
		kinds[strings.SplitN(filepath.Base(f), "-", 2)[0]]++
		name, _ := filepath.Rel("testdata", f)
		t.Run(name, func(t *testing.T) {
			r := sdkworker.NewWorkflowReplayer()
			r.RegisterWorkflow(workflows.IntakeWorkflow)
			r.RegisterWorkflow(workflows.JourneyWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(quietLogger, f); err != nil {
				t.Fatalf("replaying %s: %v", f, err)
			}
		})
	}
	if kinds["intake"] == 0 || kinds["journey"] == 0 {
		t.Errorf("recorded histories %v: want intake and journey runs", files)
	}
}

// Journeys begun before lifecycle-guard 8 report that they await the start
// whatever their intake's start signal says. An intake from version 8 on
// sets StartSignal.Assumed; during a rolling deploy a worker that predates
// the field may handle a journey's start and report it, and that journey's
// replay on the new code must make the same report. Every journey history
// recorded before the change replays with Assumed set in its start signals.
func TestJourneysBegunBeforeStartsAssumedStillReport(t *testing.T) {
	marked := 0
	for _, f := range journeyHistories(t, historiesBefore) {
		h, n := historyWithStartsAssumed(t, f, true)
		if n == 0 {
			continue
		}
		marked += n
		name, _ := filepath.Rel("testdata", f)
		t.Run(name, func(t *testing.T) {
			if err := replay(h); err != nil {
				t.Fatalf("replaying %s told its start is assumed: %v", f, err)
			}
		})
	}
	if marked == 0 {
		t.Fatalf("no journey history recorded before a change has a start signal to mark")
	}
}

// A journey begun at lifecycle-guard 8 takes its intake's word: told by an
// intake from before it (Assumed false) that its start is not assumed, it
// reports that it awaits the start. Replayed with Assumed cleared, each
// recorded journey history that took a start without reporting it must
// now want to report, which its history does not have.
func TestJourneysReportAStartTheIntakeDidNotAssume(t *testing.T) {
	cleared := 0
	for _, f := range journeyHistories(t, recordedHistories) {
		h, n := historyWithStartsAssumed(t, f, false)
		if n == 0 {
			continue
		}
		cleared += n
		t.Run(filepath.Base(f), func(t *testing.T) {
			err := replay(h)
			if err == nil || !strings.Contains(err.Error(), "TMPRL1100") {
				t.Fatalf("replaying %s told its start is not assumed: %v, want the report it did not make (TMPRL1100)", f, err)
			}
		})
	}
	if cleared == 0 {
		t.Fatalf("no recorded journey history has a start signal to clear")
	}
}

func journeyHistories(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	return slices.DeleteFunc(files, func(f string) bool { return !strings.HasPrefix(filepath.Base(f), "journey-") })
}

func replay(h *historypb.History) error {
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.IntakeWorkflow)
	r.RegisterWorkflow(workflows.JourneyWorkflow)
	return r.ReplayWorkflowHistory(quietLogger, h)
}

// historyWithStartsAssumed reads a recorded history and sets Assumed to
// assumed in each of its start signals, returning it and how many it set.
func historyWithStartsAssumed(t *testing.T, path string, assumed bool) (*historypb.History, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := client.HistoryFromJSON(f, client.HistoryJSONOptions{})
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	dc := converter.GetDefaultDataConverter()
	n := 0
	for _, ev := range h.GetEvents() {
		a := ev.GetWorkflowExecutionSignaledEventAttributes()
		if a.GetSignalName() != workflows.SignalStart {
			continue
		}
		var s workflows.StartSignal
		if err := dc.FromPayloads(a.GetInput(), &s); err != nil {
			t.Fatalf("%s event %d: %v", path, ev.GetEventId(), err)
		}
		s.Assumed = assumed
		if a.Input, err = dc.ToPayloads(s); err != nil {
			t.Fatal(err)
		}
		n++
	}
	return h, n
}

// branches are the paths through the two workflows that the recorded
// histories must keep covering: each is recorded under its label (the
// file name up to ".run-"), in at least runs runs, by the end-to-end test
// named. A scenario that stops taking a branch, or a label renamed,
// fails TestRecordedHistoriesCoverEveryBranch instead of silently leaving
// the branch unreplayed.
var branches = []struct {
	label string
	runs  int
	what  string
}{
	// TestEndToEnd (e2e/e2e_test.go).
	{"intake-a", 1, "an intake: offers, a waitlist, a declined offer promoting the waitlisted applicant, " +
		"a deferral out, an undecided applicant not selected at the start"},
	{"intake-b", 1, "an intake whose window closes with no applications, taking a deferral in"},
	{"journey-completed", 1, "offered, accepted, every session attended and task done, completed (a run per phase)"},
	{"journey-declined", 1, "an offer declined"},
	{"journey-deferred", 1, "waitlisted, promoted when an offer is declined, accepted, deferred after two sessions"},
	{"journey-deferred-in", 1, "a deferred participant's journey in the later intake, carrying their attendance, completed"},
	{"journey-not-selected", 1, "an application undecided when the intake starts"},
	// TestEndToEndBranches (e2e/branches_test.go).
	{"intake-branches", 1, "an intake: a rejection, a waitlist, capacity raised (promoting the waitlisted), " +
		"an offer lapsing, withdrawals in each phase, a session rescheduled after the start"},
	{"journey-withdrawn-applied", 1, "withdrawn before any decision"},
	{"journey-rejected", 1, "rejected"},
	{"journey-withdrawn-offered", 1, "withdrawn while offered"},
	{"journey-offer-lapsed", 1, "an offer lapsing unanswered"},
	{"journey-withdrawn-accepted", 1, "withdrawn after accepting, before the start"},
	{"journey-withdrawn-in-labs", 1, "withdrawn in the labs, after a session was rescheduled"},
	{"journey-withdrawn-experimenting", 1, "withdrawn while experimenting"},
	{"journey-paused", 1, "paused in the labs and resumed (the schedule shifted), not completed"},
	{"journey-escalated", 1, "promoted from the waitlist when the capacity was raised; absent from a session (followed " +
		"up), every task overdue (checkpoints escalated to the coach, then the coordinator), not completed"},
	// TestEndToEndContinueAsNew (e2e/branches_test.go).
	{"intake-continued-as-new", 2, "an intake continuing as new when the server suggests it; its window " +
		"closing puts the applications under review"},
	{"journey-withdrawn-under-review", 1, "withdrawn under review"},
	{"journey-withdrawn-awaiting-start", 1, "under review, offered, accepted, withdrawn once the intake started, " +
		"before the programme began"},
}

// Every branch has its recorded history, and every recorded history is a
// branch listed here (a file no scenario records any more would otherwise
// stay, stale, for good).
func TestRecordedHistoriesCoverEveryBranch(t *testing.T) {
	files, err := filepath.Glob(recordedHistories)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for _, f := range files {
		label, _, _ := strings.Cut(filepath.Base(f), ".run-")
		runs[label]++
	}
	listed := map[string]bool{}
	for _, b := range branches {
		listed[b.label] = true
		if runs[b.label] < b.runs {
			t.Errorf("branch %q (%s): %d recorded runs in testdata/%s.run-*.json, want at least %d: record them with %s",
				b.label, b.what, runs[b.label], b.label, b.runs, recordCommand)
		}
	}
	for label := range runs {
		if !listed[label] {
			t.Errorf("testdata/%s.run-*.json records no listed branch: add it to branches, or delete it if no scenario records it", label)
		}
	}
}

// The replay test has teeth: a journey workflow that does something else
// than the recorded one is reported as non-deterministic, not passed.
func TestReplayDetectsNonDeterminism(t *testing.T) {
	var journey string
	for _, f := range recordedHistoryFiles(t) {
		if strings.HasPrefix(filepath.Base(f), "journey-completed.") {
			journey = f
			break
		}
	}
	if journey == "" {
		t.Fatalf("no recorded run of the completed journey under testdata: record one with %s", recordCommand)
	}
	r := sdkworker.NewWorkflowReplayer()
	r.RegisterWorkflow(workflows.IntakeWorkflow)
	r.RegisterWorkflowWithOptions(func(ctx workflow.Context, in workflows.Journey) (workflows.Status, error) {
		// Waits a day where the real journey runs an activity.
		return "", workflow.Sleep(ctx, 24*time.Hour)
	}, workflow.RegisterOptions{Name: "JourneyWorkflow"})
	// The SDK logs the expected panic with its stack; keep it out of the output.
	silent := log.NewStructuredLogger(slog.New(slog.DiscardHandler))
	if err := r.ReplayWorkflowHistoryFromJSONFile(silent, journey); err == nil {
		t.Errorf("a different JourneyWorkflow replayed %s without error", journey)
	}
}
