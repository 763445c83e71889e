package testenv

import (
	"fmt"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/programme"
)

// Planner is the real planner on a test clock.
//
// A real Temporal server has no time skipping, and a journey lasts six
// months. The workflows never compute a date themselves: every instant they
// wait for (sessions, due dates, reminders, phase starts, the offer lapsing,
// the assessment) comes from the Planner activity and is then kept in
// workflow state. So end-to-end tests swap in this planner, which plans
// exactly as the binary does (programme.Lookup(...).Schedule and OfferPlan,
// working days, bank holidays, the October clock change and all) on a
// virtual timeline and then maps every planned instant v back to real time:
//
//	real(v) = Base + (v - Origin) / Factor
//
// and, when Knee is set, from Knee on at SlowFactor instead, so a test can
// rush through the months it does not look at and then give a person at a
// browser time to act (a checkpoint that opens after 20 s and stays open).
// Inputs that come from the real clock (the intake's start date, the
// moment an offer is made, session moves, pause shifts) go the other way
// first. The workflow code, its timers, its continue-as-new points and the
// shape of its history are identical to production; only the distances
// between instants change.
type Planner struct {
	// Origin is the programme (virtual) instant that corresponds to Base.
	Origin time.Time
	// Base is the real instant at which the virtual clock reads Origin.
	Base time.Time
	// Factor is how many virtual nanoseconds pass per real nanosecond.
	Factor time.Duration
	// Knee, if not zero, is the programme instant from which virtual time
	// passes SlowFactor times as fast as real time.
	Knee       time.Time
	SlowFactor time.Duration
	// RealTimeOffers plans offers in real time: an offer lapses, and is
	// reminded of, as many real days after it is made as the programme says,
	// whenever it is made. Tests that answer offers as people do (over HTTP,
	// in a browser, under load) need that; a test of lapsing offers does not.
	RealTimeOffers bool
}

var _ activities.Planner = Planner{}

// ToReal maps a programme instant to the real clock.
func (c Planner) ToReal(v time.Time) time.Time {
	if v.IsZero() {
		return v // "no time" (e.g. an absence reminder) stays no time
	}
	if c.Knee.IsZero() || !v.After(c.Knee) {
		return c.Base.Add(v.Sub(c.Origin) / c.Factor).In(v.Location())
	}
	return c.ToReal(c.Knee).Add(v.Sub(c.Knee) / c.SlowFactor).In(v.Location())
}

// ToVirtual maps a real instant to the programme's clock.
func (c Planner) ToVirtual(r time.Time) time.Time {
	if r.IsZero() {
		return r
	}
	if c.Knee.IsZero() || !r.After(c.ToReal(c.Knee)) {
		return c.Origin.Add(r.Sub(c.Base) * c.Factor)
	}
	return c.Knee.Add(r.Sub(c.ToReal(c.Knee)) * c.SlowFactor)
}

// RealDuration is how long a programme duration lasts on the real clock
// before the knee.
func (c Planner) RealDuration(d time.Duration) time.Duration { return d / c.Factor }

// factorNow is the speed of the virtual clock now: a pause that lasted d
// on the real clock lasted d times it on the programme's.
func (c Planner) factorNow() time.Duration {
	if !c.Knee.IsZero() && time.Now().After(c.ToReal(c.Knee)) {
		return c.SlowFactor
	}
	return c.Factor
}

// Schedule plans as activities.ProgrammePlanner does, on the test clock.
func (c Planner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.Schedule{}, err
	}
	vin := programme.ScheduleInput{StartsOn: c.ToVirtual(in.StartsOn), Shift: in.Shift * c.factorNow()}
	if in.SessionMoves != nil {
		vin.SessionMoves = make(map[string]time.Time, len(in.SessionMoves))
		for id, at := range in.SessionMoves {
			vin.SessionMoves[id] = c.ToVirtual(at)
		}
	}
	s, err := p.Schedule(vin)
	if err != nil {
		return programme.Schedule{}, err
	}
	for i := range s.Phases {
		s.Phases[i].Start, s.Phases[i].End = c.ToReal(s.Phases[i].Start), c.ToReal(s.Phases[i].End)
	}
	for i := range s.Items {
		it := &s.Items[i]
		it.OpensAt, it.DueAt = c.ToReal(it.OpensAt), c.ToReal(it.DueAt)
		c.reminders(it.Reminders)
	}
	s.EndsAt = c.ToReal(s.EndsAt)
	return s, nil
}

// OfferPlan plans an offer as activities.ProgrammePlanner does, on the test clock.
func (c Planner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.OfferPlan{}, err
	}
	virtual := c.ToVirtual(offeredAt)
	plan := p.OfferPlan(virtual)
	toReal := c.ToReal
	if c.RealTimeOffers {
		toReal = func(v time.Time) time.Time { return offeredAt.Add(v.Sub(virtual)) }
	}
	plan.LapsesAt = toReal(plan.LapsesAt)
	for i := range plan.Reminders {
		plan.Reminders[i].At = toReal(plan.Reminders[i].At)
	}
	return plan, nil
}

func (c Planner) reminders(rs []programme.Reminder) {
	for i := range rs {
		rs[i].At = c.ToReal(rs[i].At)
	}
}

// UntilOpen is a Planner for a programme starting (on the virtual clock)
// at origin, which the real clock reaches at base, running factor times as
// fast until item opens and at real speed from then on, so the item stays
// open for as long as the programme says (days): for tests that act on an
// open checkpoint, as a coach at a browser would. Offers are planned in
// real time, so they wait for an answer as long as they would for a person.
func UntilOpen(origin, base time.Time, factor time.Duration, item string) (Planner, error) {
	p, err := programme.Lookup(programme.DefaultID, 1)
	if err != nil {
		return Planner{}, err
	}
	s, err := p.Schedule(programme.ScheduleInput{StartsOn: origin})
	if err != nil {
		return Planner{}, err
	}
	for _, it := range s.Items {
		if it.ID == item {
			return Planner{Origin: origin, Base: base, Factor: factor, Knee: it.OpensAt, SlowFactor: 1, RealTimeOffers: true}, nil
		}
	}
	return Planner{}, fmt.Errorf("the programme has no item %q", item)
}
