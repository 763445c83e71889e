package main

import (
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/store"
)

// The rehearsal clock's settings (see activities.RehearsalClock): both or neither.
const (
	envRehearsalFrom  = "INFUSE_REHEARSAL_FROM"
	envRehearsalSpeed = "INFUSE_REHEARSAL_SPEED"
)

// workerActivities are the worker's activities on st, planning on the
// rehearsal clock the environment sets, if it sets one (rehearsing).
func (c *cli) workerActivities(st store.Store) (_ *activities.Activities, rehearsing bool, err error) {
	a := activities.New(st)
	clock, ok, err := rehearsalFromEnv()
	if err != nil || !ok {
		return a, false, err
	}
	a.Planner = activities.RehearsalPlanner{Clock: clock}
	c.logger().Warn("REHEARSAL: programme time runs fast from "+envRehearsalFrom+" on; never set this for real journeys",
		zap.Time("from", clock.From), zap.Int64("speed", clock.Speed))
	return a, true, nil
}

// rehearsalFromEnv reads INFUSE_REHEARSAL_FROM (RFC 3339) and
// INFUSE_REHEARSAL_SPEED (how many times as fast). ok is false when
// neither is set.
func rehearsalFromEnv() (clock activities.RehearsalClock, ok bool, err error) {
	from, speed := strings.TrimSpace(os.Getenv(envRehearsalFrom)), strings.TrimSpace(os.Getenv(envRehearsalSpeed))
	if from == "" && speed == "" {
		return clock, false, nil
	}
	if from == "" || speed == "" {
		return clock, false, usage("set both %s and %s for a rehearsal, or neither", envRehearsalFrom, envRehearsalSpeed)
	}
	if clock.From, err = time.Parse(time.RFC3339, from); err != nil {
		return clock, false, usage("%s=%q: give an instant such as 2026-12-05T09:00:00Z", envRehearsalFrom, from)
	}
	if clock.Speed, err = strconv.ParseInt(speed, 10, 64); err != nil {
		return clock, false, usage("%s=%q: give a whole number, such as 100000 (six months in about 2.6 minutes)", envRehearsalSpeed, speed)
	}
	if err := clock.Validate(); err != nil {
		return clock, false, usage("%s: %v", envRehearsalSpeed, err)
	}
	return clock, true, nil
}
