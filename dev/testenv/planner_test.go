package testenv

import (
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/internal/programme"
)

var (
	london       = programme.London
	cohort1Start = time.Date(2021, 10, 1, 0, 0, 0, 0, london)
)

const factor = 400_000

// The compressed planner plans what the real one plans, in the same order,
// each instant mapped onto the fast clock, which starts when the first
// intake's schedule is planned.
func TestPlannerCompressed(t *testing.T) {
	c := NewPlanner(cohort1Start, factor)
	select {
	case <-c.Started():
		t.Fatal("the clock started before any intake did")
	default:
	}
	p, err := programme.Lookup(programme.DefaultID, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	if err != nil {
		t.Fatal(err)
	}
	// The intake's start date on the real clock is only a label: it may be
	// long past or far ahead by the time the test starts the intake.
	startsOn := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now()
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: startsOn})
	if err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	<-c.Started()
	if b := c.Base(); b.Before(before.Add(c.Lead)) || b.After(after.Add(c.Lead)) {
		t.Errorf("the programme begins at %s, want %s after the first schedule was planned (%s-%s)", b, c.Lead, before, after)
	}
	sameSchedule(t, c, got, want, factor)
	if d := got.EndsAt.Sub(c.Base()); d < 30*time.Second || d > 45*time.Second {
		t.Errorf("six months take %s on the compressed clock, want 30-45 s", d)
	}
	// A pause of 14 programme days shifts the plan by as much.
	paused, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: startsOn, Shift: c.RealDuration(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.ToVirtual(paused.EndsAt).Sub(c.ToVirtual(got.EndsAt)); d < 13*24*time.Hour || d > 17*24*time.Hour {
		t.Errorf("a two-week pause moved the end by %s", d)
	}
	// An intake starting two real seconds after the first starts as many
	// programme days later as two seconds are on this clock.
	later, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: startsOn.Add(2 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	wantLater, err := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start.Add(2 * time.Second * factor)})
	if err != nil {
		t.Fatal(err)
	}
	sameSchedule(t, c, later, wantLater, factor)
}

// Offers are planned in real time, whenever they are made: they wait for
// an answer as long as they would for a person, and need no started clock.
func TestPlannerOffersInRealTime(t *testing.T) {
	c := NewPlanner(cohort1Start, factor)
	p, _ := programme.Lookup(programme.DefaultID, 1)
	offeredAt := time.Date(2030, 1, 7, 10, 0, 0, 0, london)
	offer, err := c.OfferPlan(programme.DefaultID, 1, offeredAt)
	if err != nil {
		t.Fatal(err)
	}
	want := p.OfferPlan(offeredAt)
	if !offer.LapsesAt.Equal(want.LapsesAt) || len(offer.Reminders) != len(want.Reminders) {
		t.Errorf("offer made %s: lapses %s with %d reminders, want %s with %d",
			offeredAt, offer.LapsesAt, len(offer.Reminders), want.LapsesAt, len(want.Reminders))
	}
	select {
	case <-c.Started():
		t.Error("planning an offer started the clock")
	default:
	}
}

// A compressed offer keeps the programme's plan, shrunk towards the moment
// it is made; setting the factor back to 0 plans the next in real time.
func TestPlannerCompressedOffer(t *testing.T) {
	c := NewPlanner(cohort1Start, factor)
	p, _ := programme.Lookup(programme.DefaultID, 1)
	offeredAt := time.Date(2030, 1, 7, 10, 0, 0, 0, london)
	want := p.OfferPlan(offeredAt)
	if len(want.Reminders) == 0 {
		t.Fatal("the programme plans no reminder for an offer: nothing to compress")
	}
	c.CompressOffers(factor)
	offer, err := c.OfferPlan(programme.DefaultID, 1, offeredAt)
	if err != nil {
		t.Fatal(err)
	}
	shrunk := func(at time.Time) time.Time { return offeredAt.Add(at.Sub(offeredAt) / factor) }
	if !offer.LapsesAt.Equal(shrunk(want.LapsesAt)) || len(offer.Reminders) != len(want.Reminders) {
		t.Fatalf("compressed offer lapses %s with %d reminders, want %s with %d",
			offer.LapsesAt, len(offer.Reminders), shrunk(want.LapsesAt), len(want.Reminders))
	}
	if d := offer.LapsesAt.Sub(offeredAt); d <= 0 || d > 5*time.Second {
		t.Errorf("a compressed offer lapses %s after it is made, want a few seconds", d)
	}
	for i, r := range offer.Reminders {
		if !r.At.Equal(shrunk(want.Reminders[i].At)) || r.Key != want.Reminders[i].Key {
			t.Errorf("reminder %s at %s, want %s at %s", r.Key, r.At, want.Reminders[i].Key, shrunk(want.Reminders[i].At))
		}
	}
	c.CompressOffers(0)
	if offer, _ := c.OfferPlan(programme.DefaultID, 1, offeredAt); !offer.LapsesAt.Equal(want.LapsesAt) {
		t.Errorf("after CompressOffers(0) an offer lapses %s, want %s in real time", offer.LapsesAt, want.LapsesAt)
	}
}

// UntilOpen rushes to the item's opening and then runs at real speed: the
// first checkpoint opens about 20 s after the start and stays open for
// the programme's days; everything is still planned in the same order.
func TestPlannerUntilOpen(t *testing.T) {
	c, err := UntilOpen(cohort1Start, factor, "checkpoint/1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := programme.Lookup(programme.DefaultID, 1)
	want, _ := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	sameSchedule(t, c, got, want, factor)
	for i, it := range got.Items {
		if it.ID != "checkpoint/1" {
			continue
		}
		if d := it.OpensAt.Sub(c.Base()); d < 10*time.Second || d > 30*time.Second {
			t.Errorf("checkpoint/1 opens %s after the start, want 10-30 s", d)
		}
		if open, wantOpen := it.DueAt.Sub(it.OpensAt), want.Items[i].DueAt.Sub(want.Items[i].OpensAt); open != wantOpen {
			t.Errorf("checkpoint/1 is open for %s, want the programme's %s", open, wantOpen)
		}
	}
	if _, err := UntilOpen(cohort1Start, factor, "no-such-item"); err == nil {
		t.Error("UntilOpen accepted an item the programme does not have")
	}
}

// sameSchedule checks got, planned on c's clock, is want item by item.
func sameSchedule(t *testing.T, c Planner, got, want programme.Schedule, tolerance time.Duration) {
	t.Helper()
	same := func(what string, real, virtual time.Time) {
		t.Helper()
		// Integer division loses less than factor nanoseconds of programme time.
		if d := c.ToVirtual(real).Sub(virtual); d < -tolerance || d > tolerance {
			t.Errorf("%s: %s maps back to %s, want %s", what, real, c.ToVirtual(real), virtual)
		}
	}
	if len(got.Items) != len(want.Items) || len(got.Phases) != len(want.Phases) {
		t.Fatalf("planned schedule has %d items and %d phases, want %d and %d",
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
}

// A test that finds the machine slow before the start can slow the clock:
// the programme then takes as much longer; once started, it cannot change.
func TestPlannerSetFactorBeforeTheStart(t *testing.T) {
	c := NewPlanner(cohort1Start, factor)
	c.SetFactor(factor / 2)
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := programme.Lookup(programme.DefaultID, 1)
	want, _ := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	sameSchedule(t, c, got, want, factor)
	if d := got.EndsAt.Sub(c.Base()); d < 60*time.Second || d > 90*time.Second {
		t.Errorf("six months take %s at half speed, want 60-90 s", d)
	}
	defer func() {
		if recover() == nil {
			t.Error("SetFactor after the start did not panic")
		}
	}()
	c.SetFactor(factor)
}
