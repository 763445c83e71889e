package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/store"
)

// The rehearsal clock's settings (see activities.RehearsalClock): FROM
// and SPEED both or neither; UNTIL optional.
const (
	envRehearsalFrom  = "INFUSE_REHEARSAL_FROM"
	envRehearsalSpeed = "INFUSE_REHEARSAL_SPEED"
	envRehearsalUntil = "INFUSE_REHEARSAL_UNTIL"
)

// rehearsalMark must be in the name of the Temporal namespace a rehearsal
// runs in.
const rehearsalMark = "rehearsal"

// workerActivities are the worker's activities on st, planning on the
// rehearsal clock the environment sets, if it sets one (rehearsing).
// A rehearsal runs only in a namespace whose name says so (ns): settings
// copied to a production worker by mistake then stop it from starting
// instead of rushing real journeys and sending their mail out of hours.
func (c *cli) workerActivities(st store.Store, ns string) (_ *activities.Activities, rehearsing bool, err error) {
	a := activities.New(st)
	clock, ok, err := rehearsalFromEnv()
	if err != nil || !ok {
		return a, false, err
	}
	if !strings.Contains(strings.ToLower(ns), rehearsalMark) {
		return a, false, usage("%s is set, but this worker's namespace %q is not a rehearsal's: rehearse only in a namespace "+
			"named for it (e.g. infuse-rehearsal), never where real journeys run", envRehearsalFrom, ns)
	}
	a.Planner = activities.RehearsalPlanner{Clock: clock}
	c.logger().Warn("REHEARSAL: programme time runs fast from "+envRehearsalFrom+" on; never set this for real journeys",
		zap.Time("from", clock.From), zap.Int64("speed", clock.Speed), zap.Time("until", clock.Until))
	return a, true, nil
}

// rehearsalFromEnv reads INFUSE_REHEARSAL_FROM (RFC 3339),
// INFUSE_REHEARSAL_SPEED (how many times as fast) and
// INFUSE_REHEARSAL_UNTIL (RFC 3339, optional). ok is false when none is set.
func rehearsalFromEnv() (clock activities.RehearsalClock, ok bool, err error) {
	from, speed := strings.TrimSpace(os.Getenv(envRehearsalFrom)), strings.TrimSpace(os.Getenv(envRehearsalSpeed))
	until := strings.TrimSpace(os.Getenv(envRehearsalUntil))
	if from == "" && speed == "" && until == "" {
		return clock, false, nil
	}
	if from == "" || speed == "" {
		return clock, false, usage("set both %s and %s for a rehearsal, or neither", envRehearsalFrom, envRehearsalSpeed)
	}
	if clock.From, err = parseInstant(envRehearsalFrom, from); err != nil {
		return clock, false, err
	}
	if until != "" {
		if clock.Until, err = parseInstant(envRehearsalUntil, until); err != nil {
			return clock, false, err
		}
	}
	if clock.Speed, err = strconv.ParseInt(speed, 10, 64); err != nil {
		return clock, false, usage("%s=%q: give a whole number, such as 100000 (six months in about 2.6 minutes)", envRehearsalSpeed, speed)
	}
	if err := clock.Validate(); err != nil {
		return clock, false, usage("the rehearsal clock: %v", err)
	}
	return clock, true, nil
}

func parseInstant(name, value string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339, value)
	if err != nil {
		return t, usage("%s=%q: give an instant such as 2026-12-05T09:00:00Z", name, value)
	}
	return t, nil
}
