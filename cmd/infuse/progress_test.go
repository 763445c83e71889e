package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/preview"
)

// A preview's progress: on a terminal a bar a part, filled to its last
// simulated day as the weeks pass; elsewhere a line as each part starts;
// with --json nothing, for the program reading it.
func TestPreviewProgress(t *testing.T) {
	var steps []preview.Progress
	for part := 1; part <= 2; part++ {
		for day := 0; day < 30; day += 7 {
			steps = append(steps, preview.Progress{Part: part, Parts: 2, People: 3, Day: day, Days: 30})
		}
	}
	steps = append(steps, preview.Progress{Messages: 12})
	parts := []string{"Simulating part 1 of 2: the journeys of 3 people", "Simulating part 2 of 2: the journeys of 3 people"}
	for _, c := range []struct {
		what           string
		terminal, json bool
		want, not      []string
	}{
		{"on a terminal", true, false, append(parts, "30/30", "100%", "Delivering 12 messages"), nil},
		{"in a log", false, false, []string{parts[0] + "...\n", parts[1] + "...\n", "Delivering 12 messages"}, []string{"%", "/30"}},
		{"with --json", true, true, nil, append(parts, "Delivering")},
	} {
		var stderr bytes.Buffer
		c2 := &cli{stderr: &stderr, jsonOut: c.json}
		if report := c2.previewProgress(c.terminal); report != nil {
			for _, p := range steps {
				report(p)
			}
		}
		got := stderr.String()
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in\n%s", c.what, w, got)
			}
		}
		for _, w := range c.not {
			if strings.Contains(got, w) {
				t.Errorf("%s: %q in\n%s", c.what, w, got)
			}
		}
	}
}
