package workflows_test

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/log"
	sdkworker "go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/workflows"
)

// The histories under testdata were recorded from the end-to-end test (a
// real Temporal server, the real worker, six compressed months), one file
// per run of each workflow, in the JSON format of
// `temporal workflow show --output json`. Re-record them with
//
//	INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -run 'TestEndToEnd/sqlite'
//
// only when a change to the workflows is meant to be incompatible with
// running journeys (and then guard it with workflow.GetVersion instead, if
// journeys are running in production).
//
// Histories recorded before a versioned change (workflow.GetVersion; see
// CONTRIBUTING.md) are kept in a folder named for it, so that the branch
// running workflows still take keeps being replayed:
//
//	testdata/before-lifecycle-guard/  recorded before the lifecycle guard
//	                                  and the cancelled wake timers
const recordedHistories = "testdata/*.run-*.json"

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
		t.Fatalf("no recorded histories match %s: record them with "+
			"INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -run 'TestEndToEnd/sqlite'", recordedHistories)
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
		t.Fatalf("no recorded run of the completed journey under testdata: record one with " +
			"INFUSE_RECORD_HISTORIES=1 go test ./e2e/ -run 'TestEndToEnd/sqlite'")
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
