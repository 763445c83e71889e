package workflows_test

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// README's journey lifecycle table is the code's, move for move: a reader
// checking a behaviour against the README checks it against the guard.
func TestReadmeLifecycleIsTheCode(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// Only the lifecycle section's table: other tables have rows of the same shape.
	_, section, ok := strings.Cut(string(readme), "\n### Journey lifecycle\n")
	if !ok {
		t.Fatal(`README has no "### Journey lifecycle" section`)
	}
	if end := regexp.MustCompile("(?m)^##").FindStringIndex(section); end != nil {
		section = section[:end[0]]
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z_]*)` \\| (.*) \\|$")
	documented := map[workflows.Status][]workflows.Status{}
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		var to []workflows.Status
		for _, s := range strings.Split(m[2], ", ") {
			to = append(to, workflows.Status(strings.Trim(s, "`")))
		}
		documented[workflows.Status(m[1])] = to
	}
	if len(documented) == 0 {
		t.Fatal("README has no journey lifecycle table (rows like | `submitted` | `under_review`, ... |)")
	}
	for from, to := range workflows.JourneyMoves {
		if from == "" {
			continue // a new application: the README says so in words
		}
		if got := documented[from]; !slices.Equal(got, to) {
			t.Errorf("README: %s may move to %v; the code: %v\nthe row is: %s", from, got, to, readmeRow(from, to))
		}
	}
	for from := range documented {
		if _, ok := workflows.JourneyMoves[from]; !ok {
			t.Errorf("README lists moves from %q, which the code does not have", from)
		}
	}
}

func readmeRow(from workflows.Status, to []workflows.Status) string {
	var cells []string
	for _, s := range to {
		cells = append(cells, fmt.Sprintf("`%s`", s))
	}
	return fmt.Sprintf("| `%s` | %s |", from, strings.Join(cells, ", "))
}

// Terminal statuses have no moves, and every other status has some.
func TestLifecycleEndsInTerminalStatuses(t *testing.T) {
	for from, to := range workflows.JourneyMoves {
		if from.Terminal() {
			t.Errorf("terminal status %s has moves %v", from, to)
		}
		for _, s := range to {
			if !s.Terminal() && len(workflows.JourneyMoves[s]) == 0 {
				t.Errorf("%s moves to %s, from which there is no way on", from, s)
			}
		}
	}
	if !workflows.Reachable(contract.StatusSubmitted, contract.StatusCompleted) ||
		workflows.Reachable(contract.StatusOffered, contract.StatusUnderReview) ||
		workflows.Reachable(contract.StatusWithdrawn, contract.StatusInLabs) {
		t.Error("Reachable does not follow the lifecycle: submitted→completed must be reachable, offered→under_review and withdrawn→in_labs not")
	}
}

// contract.Statuses, which the API's document lists, is every status the
// lifecycle moves through and no other, each once; its terminal ones are
// exactly those with no way on.
func TestStatusesAreTheLifecycles(t *testing.T) {
	moved := map[workflows.Status]bool{}
	for from, to := range workflows.JourneyMoves {
		if from != "" {
			moved[from] = true
		}
		for _, s := range to {
			moved[s] = true
		}
	}
	listed := map[workflows.Status]bool{}
	for _, s := range contract.Statuses() {
		if listed[s] {
			t.Errorf("contract.Statuses lists %s twice", s)
		}
		listed[s] = true
		if !moved[s] {
			t.Errorf("contract.Statuses lists %s, which the lifecycle never reaches", s)
		}
		if s.Terminal() != (len(workflows.JourneyMoves[s]) == 0) {
			t.Errorf("%s: Terminal() = %v, but it has moves %v", s, s.Terminal(), workflows.JourneyMoves[s])
		}
	}
	for s := range moved {
		if !listed[s] {
			t.Errorf("the lifecycle reaches %s, which contract.Statuses does not list", s)
		}
	}
}
