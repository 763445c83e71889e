package testenv

import (
	"fmt"
	"sync"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// Planner is the real planner on a test clock.
//
// A real Temporal server has no time skipping, and a journey lasts six
// months. The workflows never compute a date themselves: every instant they
// wait for (sessions, due dates, reminders, phase starts, the assessment)
// comes from the Planner activity and is then kept in workflow state. So
// end-to-end tests swap in this planner, which plans exactly as the binary
// does (programme.Lookup(...).Schedule, working days, bank holidays, the
// October clock change and all) on a virtual timeline and then maps every
// planned instant v back to real time:
//
//	real(v) = Base + (v - Origin) / Factor
//
// and, when Knee is set, from Knee on at SlowFactor instead, so a test can
// rush through the months it does not look at and then give a person at a
// browser time to act (a checkpoint that opens after 20 s and stays open).
//
// Make one with NewPlanner or UntilOpen: the copies of a Planner share the
// moment its clock started.
//
// The test starts the clock: Base is fixed when the first intake starts
// (its first schedule is planned), Lead after that moment, so however long
// set-up took on a loaded machine, the programme begins a known time after
// the start and nothing planned has already passed. Until then no instant
// is mapped. An intake's start date is read relative to the first one
// planned: an intake starting a real second after it begins a real second
// later on the test clock (Factor seconds on the programme's before the
// knee). Session moves and pause shifts come from the real clock after the
// start and are mapped back.
//
// Offers are made before any intake starts, so they are planned in real
// time: an offer lapses, and is reminded of, as many real days after it is
// made as the programme says, as it would for a person answering it. A test
// that wants to see an offer lapse compresses the offers it makes meanwhile
// (CompressOffers).
//
// The workflow code, its timers, its continue-as-new points and the shape
// of its history are identical to production; only the distances between
// instants change.
type Planner struct {
	// Origin is the programme (virtual) instant the first intake's start
	// maps to.
	Origin time.Time
	// Factor is how many virtual nanoseconds pass per real nanosecond
	// (before the knee; see SetFactor).
	Factor time.Duration
	// Lead is how long after the first intake starts its programme begins
	// on the real clock.
	Lead time.Duration
	// Knee, if not zero, is the programme instant from which virtual time
	// passes SlowFactor times as fast as real time.
	Knee       time.Time
	SlowFactor time.Duration

	start *start
}

// start is when the test clock started, shared by the copies of a Planner.
type start struct {
	mu sync.Mutex
	// factor, if not zero, replaces Planner.Factor (SetFactor).
	factor time.Duration
	// offers, if not zero, is how many times as fast as real time offers
	// run (CompressOffers).
	offers time.Duration
	// startsOn is the start date the first intake was planned with; base is
	// the real instant its programme begins (Origin on the virtual clock).
	startsOn, base time.Time
	started        chan struct{}
}

// DefaultLead leaves room, after an intake starts, for its journeys to plan
// their schedules before the first session is near.
const DefaultLead = 3 * time.Second

var _ activities.Planner = Planner{}

// NewPlanner is a Planner for a programme whose first intake starts (on
// the virtual clock) at origin, running factor times as fast as real time,
// DefaultLead after that intake is started.
func NewPlanner(origin time.Time, factor time.Duration) Planner {
	return Planner{Origin: origin, Factor: factor, Lead: DefaultLead, start: &start{started: make(chan struct{})}}
}

// begin starts the clock the first time an intake's schedule is planned,
// and returns the start date of that first intake and the real instant its
// programme begins.
func (c Planner) begin(startsOn time.Time) (firstStartsOn, base time.Time) {
	c.start.mu.Lock()
	defer c.start.mu.Unlock()
	if c.start.base.IsZero() {
		c.start.startsOn, c.start.base = startsOn, time.Now().Add(c.Lead)
		close(c.start.started)
	}
	return c.start.startsOn, c.start.base
}

// SetFactor changes how fast the clock will run, for a test that learns
// before the start how fast the machine is (the time set-up took): a
// system that takes seconds for what usually takes a fraction of one cannot
// keep up with six months in forty seconds, whatever the test's deadlines.
// It panics once the clock has started: what was planned would not match.
func (c Planner) SetFactor(f time.Duration) {
	c.start.mu.Lock()
	defer c.start.mu.Unlock()
	if !c.start.base.IsZero() {
		panic("testenv.Planner: SetFactor after the clock started")
	}
	c.start.factor = f
}

// speed is how many virtual nanoseconds pass per real nanosecond before
// the knee.
func (c Planner) speed() time.Duration {
	c.start.mu.Lock()
	defer c.start.mu.Unlock()
	if c.start.factor != 0 {
		return c.start.factor
	}
	return c.Factor
}

// Base is the real instant the first intake's programme begins. It panics
// before any intake has started: nothing can be mapped to real time then.
func (c Planner) Base() time.Time {
	c.start.mu.Lock()
	defer c.start.mu.Unlock()
	if c.start.base.IsZero() {
		panic("testenv.Planner: the test clock has not started: start an intake first")
	}
	return c.start.base
}

// Started is closed once the clock has started.
func (c Planner) Started() <-chan struct{} { return c.start.started }

// ToReal maps a programme instant to the real clock.
func (c Planner) ToReal(v time.Time) time.Time {
	if v.IsZero() {
		return v // "no time" (e.g. an absence reminder) stays no time
	}
	if c.Knee.IsZero() || !v.After(c.Knee) {
		return c.Base().Add(v.Sub(c.Origin) / c.speed()).In(v.Location())
	}
	return c.ToReal(c.Knee).Add(v.Sub(c.Knee) / c.SlowFactor).In(v.Location())
}

// ToVirtual maps a real instant to the programme's clock.
func (c Planner) ToVirtual(r time.Time) time.Time {
	if r.IsZero() {
		return r
	}
	if c.Knee.IsZero() || !r.After(c.ToReal(c.Knee)) {
		return c.Origin.Add(r.Sub(c.Base()) * c.speed())
	}
	return c.Knee.Add(r.Sub(c.ToReal(c.Knee)) * c.SlowFactor)
}

// RealDuration is how long a programme duration lasts on the real clock
// before the knee.
func (c Planner) RealDuration(d time.Duration) time.Duration { return d / c.speed() }

// factorNow is the speed of the virtual clock now: a pause that lasted d
// on the real clock lasted d times it on the programme's.
func (c Planner) factorNow() time.Duration {
	if !c.Knee.IsZero() && time.Now().After(c.ToReal(c.Knee)) {
		return c.SlowFactor
	}
	return c.speed()
}

// Schedule plans as activities.ProgrammePlanner does, on the test clock.
func (c Planner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.Schedule{}, err
	}
	// An intake starting a real day after the first begins a real day after
	// it on the test clock, which is Factor days on the programme's before
	// the knee.
	first, base := c.begin(in.StartsOn)
	vin := programme.ScheduleInput{StartsOn: c.ToVirtual(base.Add(in.StartsOn.Sub(first))), Shift: in.Shift * c.factorNow()}
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
	s.MapTimes(c.ToReal)
	return s, nil
}

// OfferPlan plans an offer as activities.ProgrammePlanner does, in real
// time or, while CompressOffers is in force, compressed.
func (c Planner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	o, err := activities.ProgrammePlanner{}.OfferPlan(id, version, offeredAt)
	c.start.mu.Lock()
	f := c.start.offers
	c.start.mu.Unlock()
	if err != nil || f == 0 {
		return o, err
	}
	o.MapTimes(func(t time.Time) time.Time { return offeredAt.Add(t.Sub(offeredAt) / f) })
	return o, nil
}

// CompressOffers makes the offers planned from now on run f times as fast
// as real time from the moment each is made: an offer the programme leaves
// open for a week (to 17:00 on a working day) lapses, and is reminded of,
// a week / f after it is made, so a test can see one lapse. f = 0 plans
// them in real time again. An offer is planned by an activity when the
// journey makes it, so a test compresses only the offer it is about to
// make, and sets this back once the journey shows it offered, leaving the
// other offers open for as long as their answers take.
func (c Planner) CompressOffers(f time.Duration) {
	c.start.mu.Lock()
	defer c.start.mu.Unlock()
	c.start.offers = f
}

// UntilOpen is a Planner for a programme whose first intake starts (on
// the virtual clock) at origin, running factor times as fast until item
// opens and at real speed from then on, so the item stays open for as long
// as the programme says (days): for tests that act on an open checkpoint,
// as a coach at a browser would.
func UntilOpen(origin time.Time, factor time.Duration, item string) (Planner, error) {
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
			c := NewPlanner(origin, factor)
			c.Knee, c.SlowFactor = it.OpensAt, 1
			return c, nil
		}
	}
	return Planner{}, fmt.Errorf("the programme has no item %q", item)
}
