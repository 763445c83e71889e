package testenv

import (
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/programme"
)

var (
	london       = programme.London
	cohort1Start = time.Date(2021, 10, 1, 0, 0, 0, 0, london)
)

const factor = 400_000

// The compressed planner plans what the real one plans, in the same order,
// each instant mapped onto the fast clock.
func TestPlannerCompressed(t *testing.T) {
	c := Planner{Origin: cohort1Start, Base: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC), Factor: factor}
	p, err := programme.Lookup(programme.DefaultID, 1)
	if err != nil {
		t.Fatal(err)
	}
	want, err := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: c.Base})
	if err != nil {
		t.Fatal(err)
	}
	sameSchedule(t, c, got, want, factor)
	if d := got.EndsAt.Sub(c.Base); d < 30*time.Second || d > 45*time.Second {
		t.Errorf("six months take %s on the compressed clock, want 30-45 s", d)
	}
	// A pause of 14 programme days shifts the plan by as much.
	paused, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: c.Base, Shift: c.RealDuration(14 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.ToVirtual(paused.EndsAt).Sub(c.ToVirtual(got.EndsAt)); d < 13*24*time.Hour || d > 17*24*time.Hour {
		t.Errorf("a two-week pause moved the end by %s", d)
	}

	offeredAt := c.ToReal(time.Date(2021, 9, 14, 10, 0, 0, 0, london))
	offer, err := c.OfferPlan(programme.DefaultID, 1, offeredAt)
	if err != nil {
		t.Fatal(err)
	}
	wantOffer := p.OfferPlan(time.Date(2021, 9, 14, 10, 0, 0, 0, london))
	if d := c.ToVirtual(offer.LapsesAt).Sub(wantOffer.LapsesAt); d < -factor || d > factor {
		t.Errorf("offer lapses at %s, want %s", c.ToVirtual(offer.LapsesAt), wantOffer.LapsesAt)
	}
	if len(offer.Reminders) != len(wantOffer.Reminders) {
		t.Errorf("offer reminders %v, want %v", offer.Reminders, wantOffer.Reminders)
	}
}

// UntilOpen rushes to the item's opening and then runs at real speed: the
// first checkpoint opens about 20 s after the start and stays open for
// the programme's days; everything is still planned in the same order.
func TestPlannerUntilOpen(t *testing.T) {
	base := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	c, err := UntilOpen(cohort1Start, base, factor, "checkpoint/1")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := programme.Lookup(programme.DefaultID, 1)
	want, _ := p.Schedule(programme.ScheduleInput{StartsOn: cohort1Start})
	got, err := c.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: base})
	if err != nil {
		t.Fatal(err)
	}
	sameSchedule(t, c, got, want, factor)
	for i, it := range got.Items {
		if it.ID != "checkpoint/1" {
			continue
		}
		if d := it.OpensAt.Sub(base); d < 10*time.Second || d > 30*time.Second {
			t.Errorf("checkpoint/1 opens %s after the start, want 10-30 s", d)
		}
		if open, wantOpen := it.DueAt.Sub(it.OpensAt), want.Items[i].DueAt.Sub(want.Items[i].OpensAt); open != wantOpen {
			t.Errorf("checkpoint/1 is open for %s, want the programme's %s", open, wantOpen)
		}
	}
	// Offers take the programme's days in real time, whenever they are made.
	for _, offeredAt := range []time.Time{base.Add(-time.Minute), base.Add(time.Second), base.Add(time.Hour)} {
		offer, err := c.OfferPlan(programme.DefaultID, 1, offeredAt)
		if err != nil {
			t.Fatal(err)
		}
		want := p.OfferPlan(c.ToVirtual(offeredAt))
		if got, wantIn := offer.LapsesAt.Sub(offeredAt), want.LapsesAt.Sub(c.ToVirtual(offeredAt)); got != wantIn || got < 24*time.Hour {
			t.Errorf("an offer made at %s lapses %s later, want the programme's %s", offeredAt, got, wantIn)
		}
	}
	if _, err := UntilOpen(cohort1Start, base, factor, "no-such-item"); err == nil {
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
