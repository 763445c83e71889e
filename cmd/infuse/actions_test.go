package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// jsonKeys runs a --json command that has to succeed and returns the keys
// of the object it prints, sorted.
func (w *world) jsonKeys(args ...string) []string {
	w.t.Helper()
	var m map[string]json.RawMessage
	w.jsonInto(&m, args...)
	return slices.Sorted(maps.Keys(m))
}

// A journey's actions as a script runs them, with --json, on a programme
// that runs fast until the first coaching checkpoint opens and at real
// speed from then on (testenv.UntilOpen): each prints its result in the
// one style (checkJSONOutput, through world.infuse), and a checkpoint
// completed or a task handed in prints what the API answers
// (wire.TaskAnswer), not the workflow's record with its note and request
// IDs.
func TestJourneyActionsAsJSON(t *testing.T) {
	w, st := workerlessWorld(t)
	planner, err := testenv.UntilOpen(time.Date(2026, 10, 1, 0, 0, 0, 0, programme.London), 400_000, "checkpoint/1")
	if err != nil {
		t.Fatal(err)
	}
	testenv.StartWorker(t, w.temporal, &activities.Activities{Store: st, Planner: planner})
	w.must("people", "import", w.writeFile("people.csv", peopleFile+"coach,Rhodri,Morgan,rhodri@example.org,,,en\n"))
	now := time.Now()
	intake := w.jsonField("id", "intake", "create", "--name", "Cohort Fast", "--opens", now.Add(-time.Hour).Format(time.RFC3339),
		"--closes", now.Add(time.Hour).Format(time.RFC3339), "--starts", now.Add(2*time.Hour).Format(time.RFC3339),
		"--coordinator", "megan@example.org")
	w.eventually([]string{": open\n"}, "intake", "dashboard", intake)
	journey := w.jsonField("journey", "apply", "--intake", intake, "--person", "carys@example.org", "--coach", "elin@example.org")
	w.jsonField("status", "decide", "--journey", journey, "offer")
	w.jsonField("status", "offer", "accept", journey)
	w.must("--json", "intake", "start", intake)
	select {
	case <-planner.Started():
	case <-time.After(patience):
		t.Fatal("the intake never started its journeys")
	}

	// Lab months: attendance, once the first session has begun.
	retryUntil(t, "attendance --json", func() (bool, string) {
		r := w.infuse("--json", "attendance", journey, "adaption-lab/1", "present")
		return r.code == exitOK, r.stderr
	})

	// Checkpoint 1 opens at the knee; the participant hands in their plan
	// and the coach completes the checkpoint.
	time.Sleep(time.Until(planner.ToReal(planner.Knee)))
	var keys []string
	retryUntil(t, "checkpoint complete --json", func() (bool, string) {
		r := w.infuse("--json", "checkpoint", "complete", journey, "checkpoint/1", "--coach", "elin@example.org",
			"--status", "green", "--notes", "A clear plan.", "--request-id", "cp-1")
		if r.code != exitOK {
			return false, r.stderr
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
			t.Fatalf("checkpoint complete --json: %v\n%s", err, r.stdout)
		}
		keys = slices.Sorted(maps.Keys(m))
		if m["task"] != "checkpoint/1" || m["status"] != "green" {
			t.Errorf("checkpoint complete --json: %s", r.stdout)
		}
		return true, ""
	})
	if want := []string{"completedAt", "status", "task"}; !slices.Equal(keys, want) {
		t.Errorf("checkpoint complete --json prints the keys %v, want %v (what the API answers)", keys, want)
	}
	if keys := w.jsonKeys("task", "submit", journey, "plan", "--by", "carys@example.org", "--text", "Try a shared van pool."); !slices.Equal(keys, []string{"completedAt", "task"}) {
		t.Errorf("task submit --json prints the keys %v, want [completedAt task] (what the API answers)", keys)
	}

	// The coordinator's actions during the programme.
	w.jsonKeys("journey", "assign-coach", journey, "rhodri@example.org")
	w.jsonKeys("journey", "pause", journey)
	w.jsonKeys("journey", "resume", journey)
	var replayed struct{ Runs int }
	if w.jsonInto(&replayed, "replay"); replayed.Runs < 2 {
		t.Errorf("replay --json: %d runs, want the intake's and the journey's", replayed.Runs)
	}
	if out := w.must("--json", "journey", "withdraw", journey, "--reason", "personal", "--by", "megan@example.org"); !strings.Contains(out, journey) {
		t.Errorf("journey withdraw --json does not name the journey:\n%s", out)
	}
}
