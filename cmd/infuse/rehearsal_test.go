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

// A rehearsal runs only in a namespace named for it: settings copied to a
// production worker stop it from starting.
func TestRehearsalOnlyInARehearsalNamespace(t *testing.T) {
	t.Setenv(envRehearsalFrom, "2026-12-05T21:00:00Z")
	t.Setenv(envRehearsalSpeed, "100000")
	c := &cli{stdout: io.Discard, stderr: io.Discard}
	for ns, ok := range map[string]bool{"infuse-rehearsal": true, "Staging-Rehearsal-2": true, "infuse": false, "default": false} {
		a, rehearsing, err := c.workerActivities(nil, ns)
		if ok != (err == nil) || rehearsing != ok {
			t.Errorf("namespace %s: rehearsing %v, error %v", ns, rehearsing, err)
		}
		if _, fast := a.Planner.(activities.RehearsalPlanner); fast != ok {
			t.Errorf("namespace %s: planner %T", ns, a.Planner)
		}
	}
}
