package activities_test

import (
	"errors"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// A rehearsal plans the programme exactly as production does, then brings
// each instant after From closer to it by Speed; before From nothing moves,
// so what was planned before a rehearsal began stays right.
func TestRehearsalPlansTheProgrammeCompressedAfterFrom(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	clock := activities.RehearsalClock{From: from, Speed: 100_000}
	rehearsal := activities.RehearsalPlanner{Clock: clock}
	in := programme.ScheduleInput{StartsOn: time.Date(2027, 1, 11, 0, 0, 0, 0, london)}

	want, err := activities.ProgrammePlanner{}.Schedule("infuse", 1, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := rehearsal.Schedule("infuse", 1, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != len(want.Items) || len(got.Items) == 0 {
		t.Fatalf("the rehearsal planned %d items, production %d", len(got.Items), len(want.Items))
	}
	compressed := func(v time.Time) time.Time { return from.Add(v.Sub(from) / 100_000) }
	for i, it := range got.Items {
		w := want.Items[i]
		if !it.OpensAt.Equal(compressed(w.OpensAt)) || !it.DueAt.Equal(compressed(w.DueAt)) {
			t.Errorf("%s: opens %s, due %s; want %s, %s", it.ID, it.OpensAt, it.DueAt, compressed(w.OpensAt), compressed(w.DueAt))
		}
		for k, r := range it.Reminders {
			if wr := w.Reminders[k]; !wr.At.IsZero() && !r.At.Equal(compressed(wr.At)) || wr.At.IsZero() && !r.At.IsZero() {
				t.Errorf("reminder %s at %s; want %s", r.Key, r.At, compressed(wr.At))
			}
		}
	}
	if !got.EndsAt.Equal(compressed(want.EndsAt)) {
		t.Errorf("ends at %s, want %s", got.EndsAt, compressed(want.EndsAt))
	}
	// Six programme months last minutes.
	if d := got.EndsAt.Sub(from); d <= 0 || d > 5*time.Minute {
		t.Errorf("the rehearsal ends %s after it began; want a few minutes", d)
	}

	// An offer made before From runs on the real clock.
	offered := from.Add(-time.Hour)
	realOffer, err := activities.ProgrammePlanner{}.OfferPlan("infuse", 1, offered)
	if err != nil {
		t.Fatal(err)
	}
	early, err := rehearsal.OfferPlan("infuse", 1, offered)
	if err != nil {
		t.Fatal(err)
	}
	if early.LapsesAt.After(from) && !early.LapsesAt.Equal(compressed(realOffer.LapsesAt)) {
		t.Errorf("an offer made before the rehearsal lapses at %s; want %s", early.LapsesAt, compressed(realOffer.LapsesAt))
	}
	// One made during it lapses in a moment.
	during := from.Add(time.Second)
	late, err := rehearsal.OfferPlan("infuse", 1, during)
	if err != nil {
		t.Fatal(err)
	}
	if d := late.LapsesAt.Sub(during); d <= 0 || d > 10*time.Second {
		t.Errorf("an offer made during the rehearsal lapses %s after it; want seconds", d)
	}
}

func TestRehearsalClockMapsBothWays(t *testing.T) {
	from := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	clock := activities.RehearsalClock{From: from, Speed: 400_000}
	before := from.Add(-time.Minute)
	if !clock.ToReal(before).Equal(before) || !clock.ToVirtual(before).Equal(before) {
		t.Errorf("an instant before the rehearsal moved")
	}
	r := from.Add(3 * time.Second)
	v := clock.ToVirtual(r)
	if want := from.Add(3 * time.Second * 400_000); !v.Equal(want) {
		t.Errorf("3 s into the rehearsal is %s on the programme's clock; want %s", v, want)
	}
	if !clock.ToReal(v).Equal(r) {
		t.Errorf("mapping back gives %s, want %s", clock.ToReal(v), r)
	}
	for _, bad := range []activities.RehearsalClock{{Speed: 10}, {From: from}, {From: from, Speed: -1}} {
		if bad.Validate() == nil {
			t.Errorf("%+v: accepted", bad)
		}
	}
}

// With Until, the rehearsal fast-forwards to a moment of the programme and
// runs at real speed from then on: a checkpoint opening after it stays
// open for its real fortnight.
func TestRehearsalClockRunsAtRealSpeedAfterUntil(t *testing.T) {
	from := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	until := from.Add(time.Minute)
	clock := activities.RehearsalClock{From: from, Speed: 100_000, Until: until}
	if err := clock.Validate(); err != nil {
		t.Fatal(err)
	}
	virtualUntil := from.Add(time.Minute * 100_000)
	if got := clock.ToVirtual(until); !got.Equal(virtualUntil) {
		t.Errorf("Until is %s on the programme's clock, want %s", got, virtualUntil)
	}
	later := virtualUntil.Add(15 * 24 * time.Hour)
	if got, want := clock.ToReal(later), until.Add(15*24*time.Hour); !got.Equal(want) {
		t.Errorf("15 programme days after Until is %s, want %s", got, want)
	}
	if got := clock.ToVirtual(clock.ToReal(later)); !got.Equal(later) {
		t.Errorf("mapping back gives %s, want %s", got, later)
	}
	during := from.Add(30 * time.Second)
	if got := clock.ToReal(clock.ToVirtual(during)); !got.Equal(during) {
		t.Errorf("mapping 30 s into the rehearsal both ways gives %s", got)
	}
	if (activities.RehearsalClock{From: from, Speed: 10, Until: from}).Validate() == nil {
		t.Error("a clock fast until it starts was accepted")
	}
}

// A rehearsal left running for days does not wrap round into the past:
// its clock stays far ahead.
func TestRehearsalClockDoesNotOverflow(t *testing.T) {
	from := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	clock := activities.RehearsalClock{From: from, Speed: 100_000}
	for _, after := range []time.Duration{30 * time.Hour, 300 * 24 * time.Hour} {
		if v := clock.ToVirtual(from.Add(after)); !v.After(from.Add(after)) {
			t.Errorf("%s into the rehearsal is %s on the programme's clock: before the real one", after, v)
		}
	}
	if (activities.RehearsalClock{From: from, Speed: 100_000, Until: from.Add(48 * time.Hour)}).Validate() == nil {
		t.Error("a fast stretch of 48 hours at 100000 times (550 years) was accepted")
	}
}

// A rehearsal left running past the end of its countable time refuses to
// plan, rather than plan instants already past.
func TestRehearsalPlannerRefusesAfterItsTimeRanOut(t *testing.T) {
	from := time.Date(2026, 12, 5, 21, 0, 0, 0, time.UTC)
	p := activities.RehearsalPlanner{Clock: activities.RehearsalClock{From: from, Speed: 100_000}}
	if _, err := p.OfferPlan("infuse", 1, from.Add(30*time.Hour)); !errors.Is(err, activities.ErrRehearsalOver) {
		t.Errorf("an offer 30 hours into a rehearsal at 100000 times: %v, want ErrRehearsalOver", err)
	}
	o, err := p.OfferPlan("infuse", 1, from.Add(time.Hour))
	if err != nil || !o.LapsesAt.After(from.Add(time.Hour)) {
		t.Errorf("an offer an hour in lapses at %s (%v): want after it was made", o.LapsesAt, err)
	}
}
