package e2e_test

import (
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/programme"
)

// compressedPlanner is the real planner on a fast clock.
//
// A real Temporal server has no time skipping, and a journey lasts six
// months. The workflows never compute a date themselves: every instant they
// wait for (sessions, due dates, reminders, phase starts, the offer lapsing,
// the assessment) comes from the Planner activity and is then kept in
// workflow state. So the end-to-end test swaps in this planner, which plans
// exactly as the binary does (programme.Lookup(...).Schedule and OfferPlan,
// working days, bank holidays, the October clock change and all) on a
// virtual timeline and then maps every planned instant v back to real time:
//
//	real(v) = base + (v - origin) / factor
//
// Inputs that come from the real clock (the intake's start date, the moment
// an offer is made, session moves, pause shifts) go the other way first.
// The workflow code, its timers, its continue-as-new points and the shape of
// its history are identical to production; only the distances between
// instants shrink, so six months pass in well under a minute.
type compressedPlanner struct {
	// origin is the programme (virtual) instant that corresponds to base.
	origin time.Time
	// base is the real instant at which the virtual clock reads origin.
	base time.Time
	// factor is how many virtual nanoseconds pass per real nanosecond.
	factor time.Duration
}

var _ activities.Planner = compressedPlanner{}

// toReal maps a programme instant to the real clock.
func (c compressedPlanner) toReal(v time.Time) time.Time {
	if v.IsZero() {
		return v // "no time" (e.g. an absence reminder) stays no time
	}
	return c.base.Add(v.Sub(c.origin) / c.factor).In(v.Location())
}

// toVirtual maps a real instant to the programme's clock.
func (c compressedPlanner) toVirtual(r time.Time) time.Time {
	if r.IsZero() {
		return r
	}
	return c.origin.Add(r.Sub(c.base) * c.factor)
}

// realDuration is how long a programme duration lasts on the real clock.
func (c compressedPlanner) realDuration(d time.Duration) time.Duration { return d / c.factor }

func (c compressedPlanner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.Schedule{}, err
	}
	vin := programme.ScheduleInput{StartsOn: c.toVirtual(in.StartsOn), Shift: in.Shift * c.factor}
	if in.SessionMoves != nil {
		vin.SessionMoves = make(map[string]time.Time, len(in.SessionMoves))
		for id, at := range in.SessionMoves {
			vin.SessionMoves[id] = c.toVirtual(at)
		}
	}
	s, err := p.Schedule(vin)
	if err != nil {
		return programme.Schedule{}, err
	}
	for i := range s.Phases {
		s.Phases[i].Start, s.Phases[i].End = c.toReal(s.Phases[i].Start), c.toReal(s.Phases[i].End)
	}
	for i := range s.Items {
		it := &s.Items[i]
		it.OpensAt, it.DueAt = c.toReal(it.OpensAt), c.toReal(it.DueAt)
		c.reminders(it.Reminders)
	}
	s.EndsAt = c.toReal(s.EndsAt)
	return s, nil
}

func (c compressedPlanner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.OfferPlan{}, err
	}
	plan := p.OfferPlan(c.toVirtual(offeredAt))
	plan.LapsesAt = c.toReal(plan.LapsesAt)
	c.reminders(plan.Reminders)
	return plan, nil
}

func (c compressedPlanner) reminders(rs []programme.Reminder) {
	for i := range rs {
		rs[i].At = c.toReal(rs[i].At)
	}
}

// The compressed planner plans what the real one plans, in the same order,
// each instant mapped onto the fast clock.
func TestCompressedPlanner(t *testing.T) {
	c := compressedPlanner{origin: cohort1Start, base: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), factor: factor}
	p, err := programme.Lookup(programme.DefaultID, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: c.base})
	if err != nil {
		t.Fatal(err)
	}
	// Integer division loses less than factor nanoseconds of programme time.
	same := func(what string, real, virtual time.Time) {
		t.Helper()
		if d := c.toVirtual(real).Sub(virtual); d < -factor || d > factor {
			t.Errorf("%s: %s maps back to %s, want %s", what, real, c.toVirtual(real), virtual)
		}
	}
	if len(got.Items) != len(want.Items) || len(got.Phases) != len(want.Phases) {
		t.Fatalf("compressed schedule has %d items and %d phases, want %d and %d",
			len(got.Items), len(got.Phases), len(want.Items), len(want.Phases))
	}
	for i, it := range got.Items {
		w := want.Items[i]
		if it.ID != w.ID || it.Kind != w.Kind || len(it.Reminders) != len(w.Reminders) {
			t.Fatalf("item %d is %s %s, want %s %s", i, it.Kind, it.ID, w.Kind, w.ID)
		}
		same(it.ID+" opens", it.OpensAt, w.OpensAt)
		same(it.ID+" due", it.DueAt, w.DueAt)
		for k, r := range it.Reminders {
			if r.At.IsZero() != w.Reminders[k].At.IsZero() {
				t.Errorf("%s: zero time not kept", r.Key)
			} else if !r.At.IsZero() {
				same(r.Key, r.At, w.Reminders[k].At)
			}
		}
	}
	for i, ph := range got.Phases {
		same(ph.Key+" start", ph.Start, want.Phases[i].Start)
	}
	if d := got.EndsAt.Sub(c.base); d < 30*time.Second || d > 45*time.Second {
		t.Errorf("six months take %s on the compressed clock, want 30-45 s", d)
	}
	// A pause of 14 programme days shifts the plan by as much.
	paused, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: c.base, Shift: c.realDuration(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.toVirtual(paused.EndsAt).Sub(c.toVirtual(got.EndsAt)); d < 13*24*time.Hour || d > 17*24*time.Hour {
		t.Errorf("a two-week pause moved the end by %s", d)
	}

	offeredAt := c.toReal(time.Date(2021, 9, 14, 10, 0, 0, 0, london))
	offer, err := c.OfferPlan(programme.DefaultID, 1, offeredAt)
	if err != nil {
		t.Fatal(err)
	}
	wantOffer := p.OfferPlan(time.Date(2021, 9, 14, 10, 0, 0, 0, london))
	same("offer lapses", offer.LapsesAt, wantOffer.LapsesAt)
	if len(offer.Reminders) != len(wantOffer.Reminders) {
		t.Errorf("offer reminders %v, want %v", offer.Reminders, wantOffer.Reminders)
	}
}
