package activities

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/infuse-cymru/journeys/internal/programme"
)

// RehearsalClock is the clock of a rehearsal: real time until From, then
// Speed times as fast, and, if Until is set, real speed again from Until
// on. A rehearsal runs a whole intake, six programme months, in minutes on
// a staging cluster (the cluster tests run on one), with the workflow
// code, its timers and its histories exactly as in production: only the
// distances between planned instants shrink. Until fast-forwards to a
// moment of the programme and stays there at real speed: to try the
// coaching months with a checkpoint open for its real fortnight, say.
//
// It is a fixed function of its settings, with no state, so every worker
// given the same settings plans the same instants, and a worker restarted
// half-way picks up where the others are. Before From it is the real
// clock, so a worker without a rehearsal clock and one with it agree on
// everything planned before From (applications and offers made while
// setting up): a rehearsal can begin with a rolling restart.
type RehearsalClock struct {
	From  time.Time
	Speed int64
	Until time.Time // optional
}

// Validate says what is wrong with the settings, if anything.
func (c RehearsalClock) Validate() error {
	if c.From.IsZero() {
		return errors.New("a rehearsal clock needs the instant it starts running fast")
	}
	if c.Speed < 1 {
		return fmt.Errorf("a rehearsal clock's speed must be 1 or more, not %d", c.Speed)
	}
	if !c.Until.IsZero() && !c.Until.After(c.From) {
		return fmt.Errorf("a rehearsal clock must run fast until after it starts (%s), not until %s", c.From, c.Until)
	}
	if !c.Until.IsZero() && scaled(c.Until.Sub(c.From), c.Speed) == math.MaxInt64 {
		return fmt.Errorf("a rehearsal clock cannot run %d times as fast for %s: that is more than 290 years of programme time", c.Speed, c.Until.Sub(c.From))
	}
	return nil
}

// scaled is d·speed, held at the longest duration there is where that
// would not fit (a rehearsal left running for days: its programme is long
// over, and an instant that far ahead means "after everything").
func scaled(d time.Duration, speed int64) time.Duration {
	if speed != 0 && d > math.MaxInt64/time.Duration(speed) {
		return math.MaxInt64
	}
	return d * time.Duration(speed)
}

// fastUntil is where Until falls on the programme's clock, if it is set.
func (c RehearsalClock) fastUntil() (virtualUntil time.Time, bounded bool) {
	if c.Until.IsZero() {
		return time.Time{}, false
	}
	return c.From.Add(scaled(c.Until.Sub(c.From), c.Speed)), true
}

// ToReal maps a programme instant to the real clock.
func (c RehearsalClock) ToReal(v time.Time) time.Time {
	if !v.After(c.From) {
		return v
	}
	if vu, ok := c.fastUntil(); ok && v.After(vu) {
		return c.Until.Add(v.Sub(vu)).In(v.Location())
	}
	return c.From.Add(v.Sub(c.From) / time.Duration(c.Speed)).In(v.Location())
}

// ErrRehearsalOver is a rehearsal asked to plan after its programme time
// ran out: at Speed times as fast, the clock reaches the end of what can
// be counted after 2⁶³ ns / Speed of real time (about a day at 100000).
var ErrRehearsalOver = errors.New("the rehearsal's programme time has run out: end it, and start another with a new " +
	"INFUSE_REHEARSAL_FROM, or set INFUSE_REHEARSAL_UNTIL")

// planningVirtual is ToVirtual for planning: ErrRehearsalOver once the
// clock can count no further.
func (c RehearsalClock) planningVirtual(r time.Time) (time.Time, error) {
	fastTo := r
	if !c.Until.IsZero() && r.After(c.Until) {
		fastTo = c.Until // Validate has checked that Until's stretch fits
	}
	if fastTo.After(c.From) && scaled(fastTo.Sub(c.From), c.Speed) == math.MaxInt64 {
		return time.Time{}, ErrRehearsalOver
	}
	return c.ToVirtual(r), nil
}

// ToVirtual maps a real instant to the programme's clock.
func (c RehearsalClock) ToVirtual(r time.Time) time.Time {
	if !r.After(c.From) {
		return r
	}
	if vu, ok := c.fastUntil(); ok && r.After(c.Until) {
		return vu.Add(r.Sub(c.Until)).In(r.Location())
	}
	return c.From.Add(scaled(r.Sub(c.From), c.Speed)).In(r.Location())
}

// RehearsalPlanner plans as ProgrammePlanner does, on a RehearsalClock:
// the intake's start date, a moved session's new time and a pause's
// length are read on the programme's clock, and every instant planned is
// mapped back to the real one. (A pause is taken to have been in the fast
// stretch: its length is multiplied by Speed.)
type RehearsalPlanner struct{ Clock RehearsalClock }

var _ Planner = RehearsalPlanner{}

func (p RehearsalPlanner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	vin := programme.ScheduleInput{StartsOn: in.StartsOn, Shift: scaled(in.Shift, p.Clock.Speed)}
	if in.SessionMoves != nil {
		vin.SessionMoves = make(map[string]time.Time, len(in.SessionMoves))
		for item, at := range in.SessionMoves {
			v, err := p.Clock.planningVirtual(at)
			if err != nil {
				return programme.Schedule{}, err
			}
			vin.SessionMoves[item] = v
		}
	}
	s, err := ProgrammePlanner{}.Schedule(id, version, vin)
	if err != nil {
		return s, err
	}
	s.MapTimes(p.Clock.ToReal)
	return s, nil
}

func (p RehearsalPlanner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	v, err := p.Clock.planningVirtual(offeredAt)
	if err != nil {
		return programme.OfferPlan{}, err
	}
	o, err := ProgrammePlanner{}.OfferPlan(id, version, v)
	if err != nil {
		return o, err
	}
	o.MapTimes(p.Clock.ToReal)
	return o, nil
}
