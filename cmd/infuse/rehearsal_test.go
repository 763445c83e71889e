package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/activities"
)

// The rehearsal clock is read from the environment whole or not at all: a
// worker half-configured for a rehearsal must not start.
func TestRehearsalFromEnv(t *testing.T) {
	for _, tc := range []struct {
		from, speed, until string
		ok                 bool
		problem            string
	}{
		{ok: false},
		{from: "2026-12-05T21:00:00Z", speed: "100000", ok: true},
		{from: "2026-12-05T21:00:00Z", speed: "100000", until: "2026-12-05T21:02:00Z", ok: true},
		{from: "2026-12-05T21:00:00Z", problem: "set both"},
		{speed: "100000", problem: "set both"},
		{until: "2026-12-05T21:02:00Z", problem: "set both"},
		{from: "tomorrow", speed: "100000", problem: envRehearsalFrom},
		{from: "2026-12-05T21:00:00Z", speed: "fast", problem: envRehearsalSpeed},
		{from: "2026-12-05T21:00:00Z", speed: "0", problem: "speed must be 1 or more"},
		{from: "2026-12-05T21:00:00Z", speed: "10", until: "2026-12-05T20:00:00Z", problem: "run fast until after it starts"},
	} {
		t.Setenv(envRehearsalFrom, tc.from)
		t.Setenv(envRehearsalSpeed, tc.speed)
		t.Setenv(envRehearsalUntil, tc.until)
		clock, ok, err := rehearsalFromEnv()
		switch {
		case tc.problem != "" && (err == nil || !strings.Contains(err.Error(), tc.problem)):
			t.Errorf("%+v: error %v, want one about %q", tc, err, tc.problem)
		case tc.problem == "" && err != nil:
			t.Errorf("%+v: %v", tc, err)
		case ok != tc.ok:
			t.Errorf("%+v: ok %v", tc, ok)
		case ok && (clock.Speed != 100000 || !clock.From.Equal(time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC))):
			t.Errorf("%+v: read %+v", tc, clock)
		}
	}
}

// A rehearsal runs only in the namespace it names: settings copied to a
// production worker stop it from starting.
func TestRehearsalOnlyInItsNamespace(t *testing.T) {
	t.Setenv(envRehearsalFrom, "2026-12-05T21:00:00Z")
	t.Setenv(envRehearsalSpeed, "100000")
	c := &cli{stdout: io.Discard, stderr: io.Discard}
	for _, tc := range []struct {
		named, ns string
		ok        bool
	}{
		{"staging-rehearsal", "staging-rehearsal", true},
		{"staging-rehearsal", "infuse", false},
		{"", "infuse", false},
	} {
		t.Setenv(envRehearsalNamespace, tc.named)
		a, rehearsing, err := c.workerActivities(nil, tc.ns)
		if tc.ok != (err == nil) || rehearsing != tc.ok {
			t.Errorf("%s named, worker in %s: rehearsing %v, error %v", tc.named, tc.ns, rehearsing, err)
		}
		if _, fast := a.Planner.(activities.RehearsalPlanner); fast != tc.ok {
			t.Errorf("%s named, worker in %s: planner %T", tc.named, tc.ns, a.Planner)
		}
	}
}
