package calendar

import (
	"bytes"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
)

// A feed is a calendar file of several events that asks nobody to reply:
// METHOD:PUBLISH, no people in it, each event with its invite's UID and
// SEQUENCE and its Europe/London time.
func TestFeed(t *testing.T) {
	first := baseEvent()
	second := baseEvent()
	second.UID, second.Sequence = UID("journey-42", "lab-4"), 2
	second.Start = time.Date(2021, 11, 2, 10, 0, 0, 0, time.UTC) // 10:00 GMT, after the clock change
	second.End = second.Start.Add(3 * time.Hour)

	b, err := Feed("Infuse: Cohort 1", []Event{first, second})
	if err != nil {
		t.Fatal(err)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ParseCalendar: %v\n%s", err, b)
	}
	if m := calProp(t, cal, ics.PropertyMethod); m != "PUBLISH" {
		t.Errorf("METHOD = %q, want PUBLISH", m)
	}
	evs := cal.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events, want 2", len(evs))
	}
	for i, want := range []struct{ uid, seq, start string }{
		{first.UID, "0", "20211005T100000"},
		{second.UID, "2", "20211102T100000"},
	} {
		ev := evs[i]
		start := ev.GetProperty(ics.ComponentPropertyDtStart)
		if ev.Id() != want.uid || ev.GetProperty(ics.ComponentPropertySequence).Value != want.seq ||
			start.Value != want.start || start.ICalParameters["TZID"][0] != TZID {
			t.Errorf("event %d: UID %s SEQUENCE %s DTSTART %v", i, ev.Id(), ev.GetProperty(ics.ComponentPropertySequence).Value, start)
		}
	}
	for _, personal := range []string{"ORGANIZER", "ATTENDEE", first.AttendeeEmail, first.AttendeeName} {
		if strings.Contains(string(b), personal) {
			t.Errorf("the feed contains %q", personal)
		}
	}

	empty, err := Feed("nothing ahead", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cal, err := ics.ParseCalendar(bytes.NewReader(empty)); err != nil || len(cal.Events()) != 0 {
		t.Errorf("empty feed: %v\n%s", err, empty)
	}

	bad := baseEvent()
	bad.End = bad.Start
	if _, err := Feed("bad", []Event{first, bad}); err == nil || !strings.Contains(err.Error(), "is not after start") {
		t.Errorf("an event ending at its start: %v", err)
	}
}
