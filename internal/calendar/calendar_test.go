package calendar

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	ics "github.com/arran4/golang-ical"
)

var stamp = time.Date(2021, 9, 1, 8, 30, 0, 0, time.UTC)

func baseEvent() Event {
	return Event{
		UID:            UID("journey-42", "lab-3"),
		Sequence:       0,
		Start:          time.Date(2021, 10, 5, 9, 0, 0, 0, time.UTC), // 10:00 BST
		End:            time.Date(2021, 10, 5, 11, 0, 0, 0, time.UTC),
		Summary:        "Labordy sgiliau / Skills lab",
		Description:    "Dewch â gliniadur.\nBring a laptop.",
		Location:       "Canolfan Infuse, Caerdydd",
		OrganizerName:  "Infuse Cymru",
		OrganizerEmail: "labs@infuse.example",
		AttendeeName:   "Siân Jones",
		AttendeeEmail:  "sian@example.org",
		Stamp:          stamp,
	}
}

func mustInvite(t *testing.T, e Event) []byte {
	t.Helper()
	b, err := Invite(e)
	if err != nil {
		t.Fatalf("Invite: %v", err)
	}
	return b
}

func parse(t *testing.T, b []byte) (*ics.Calendar, *ics.VEvent) {
	t.Helper()
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("ParseCalendar: %v\n%s", err, b)
	}
	evs := cal.Events()
	if len(evs) != 1 {
		t.Fatalf("got %d VEVENTs, want 1", len(evs))
	}
	return cal, evs[0]
}

func calProp(t *testing.T, cal *ics.Calendar, name ics.Property) string {
	t.Helper()
	for _, p := range cal.CalendarProperties {
		if p.IANAToken == string(name) {
			return p.Value
		}
	}
	t.Fatalf("calendar has no %s", name)
	return ""
}

func prop(t *testing.T, c *ics.ComponentBase, name ics.ComponentProperty) *ics.IANAProperty {
	t.Helper()
	p := c.GetProperty(name)
	if p == nil {
		t.Fatalf("component has no %s", name)
	}
	return p
}

func param(p *ics.IANAProperty, name ics.Parameter) string {
	return strings.Join(p.ICalParameters[string(name)], ",")
}

// A session at 10:00 London time is written as 10:00 with TZID=Europe/London
// on both sides of the 31 October 2021 clock change, although the UTC instants
// are 09:00Z (BST) and 10:00Z (GMT).
func TestInviteRequestAcrossClockChange(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		start      time.Time
		wantStart  string
		wantEnd    string
		wantOffset int
	}{
		{"BST 5 Oct 2021", time.Date(2021, 10, 5, 9, 0, 0, 0, time.UTC), "20211005T100000", "20211005T120000", 3600},
		{"GMT 2 Nov 2021", time.Date(2021, 11, 2, 10, 0, 0, 0, time.UTC), "20211102T100000", "20211102T120000", 0},
		// Same instant given in a non-London location: still written in London time.
		{"BST via other zone", time.Date(2021, 10, 5, 11, 0, 0, 0, time.FixedZone("CEST", 2*3600)), "20211005T100000", "20211005T120000", 3600},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent()
			e.Start, e.End = tc.start, tc.start.Add(2*time.Hour)
			cal, ev := parse(t, mustInvite(t, e))

			if got := calProp(t, cal, ics.PropertyMethod); got != "REQUEST" {
				t.Errorf("METHOD = %q, want REQUEST", got)
			}
			if got := calProp(t, cal, ics.PropertyProductId); got != ProdID {
				t.Errorf("PRODID = %q", got)
			}
			if got := calProp(t, cal, ics.PropertyVersion); got != "2.0" {
				t.Errorf("VERSION = %q", got)
			}
			if ev.Id() != "lab-3.journey-42@infuse-journeys" {
				t.Errorf("UID = %q", ev.Id())
			}
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertySequence).Value; got != "0" {
				t.Errorf("SEQUENCE = %q, want 0", got)
			}
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyDtstamp).Value; got != "20210901T083000Z" {
				t.Errorf("DTSTAMP = %q", got)
			}
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyStatus).Value; got != "CONFIRMED" {
				t.Errorf("STATUS = %q", got)
			}

			for _, x := range []struct {
				p    ics.ComponentProperty
				want string
			}{{ics.ComponentPropertyDtStart, tc.wantStart}, {ics.ComponentPropertyDtEnd, tc.wantEnd}} {
				p := prop(t, &ev.ComponentBase, x.p)
				if p.Value != x.want {
					t.Errorf("%s = %q, want %q (10:00/12:00 local)", x.p, p.Value, x.want)
				}
				if got := param(p, ics.ParameterTzid); got != "Europe/London" {
					t.Errorf("%s TZID = %q, want Europe/London", x.p, got)
				}
			}

			// The library's own interpretation gives back the original instant.
			start, err := ev.GetStartAt()
			if err != nil {
				t.Fatal(err)
			}
			if !start.Equal(tc.start) {
				t.Errorf("parsed start %v, want instant %v", start, tc.start)
			}
			if h := start.In(london).Hour(); h != 10 {
				t.Errorf("local hour %d, want 10", h)
			}
			if _, off := start.In(london).Zone(); off != tc.wantOffset {
				t.Errorf("offset %d, want %d", off, tc.wantOffset)
			}
			end, err := ev.GetEndAt()
			if err != nil {
				t.Fatal(err)
			}
			if !end.Equal(e.End) {
				t.Errorf("parsed end %v, want %v", end, e.End)
			}

			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertySummary).Value; got != e.Summary {
				t.Errorf("SUMMARY = %q", got)
			}
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyDescription).Value; got != e.Description {
				t.Errorf("DESCRIPTION = %q", got)
			}
			if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyLocation).Value; got != e.Location {
				t.Errorf("LOCATION = %q", got)
			}

			org := prop(t, &ev.ComponentBase, ics.ComponentPropertyOrganizer)
			if org.Value != "mailto:labs@infuse.example" || param(org, ics.ParameterCn) != "Infuse Cymru" {
				t.Errorf("ORGANIZER = %q CN=%q", org.Value, param(org, ics.ParameterCn))
			}
			atts := ev.Attendees()
			if len(atts) != 1 {
				t.Fatalf("got %d attendees", len(atts))
			}
			a := atts[0]
			if a.Value != "mailto:sian@example.org" || a.Email() != "sian@example.org" {
				t.Errorf("ATTENDEE = %q", a.Value)
			}
			for k, want := range map[ics.Parameter]string{
				ics.ParameterCn:                  "Siân Jones",
				ics.ParameterParticipationStatus: "NEEDS-ACTION",
				ics.ParameterRsvp:                "TRUE",
				ics.ParameterRole:                "REQ-PARTICIPANT",
				ics.ParameterCutype:              "INDIVIDUAL",
			} {
				if got := strings.Join(a.ICalParameters[string(k)], ","); got != want {
					t.Errorf("ATTENDEE %s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// A reschedule keeps the UID and raises SEQUENCE; a cancellation keeps the UID,
// raises SEQUENCE again and is METHOD:CANCEL with STATUS:CANCELLED.
func TestRescheduleAndCancel(t *testing.T) {
	first := baseEvent()
	resched := baseEvent()
	resched.Sequence = 1
	resched.Start = time.Date(2021, 11, 2, 10, 0, 0, 0, time.UTC)
	resched.End = resched.Start.Add(90 * time.Minute)
	resched.Stamp = stamp.Add(24 * time.Hour)
	cancel := resched
	cancel.Sequence = 2
	cancel.Cancel = true
	cancel.Stamp = stamp.Add(48 * time.Hour)

	_, ev0 := parse(t, mustInvite(t, first))
	cal1, ev1 := parse(t, mustInvite(t, resched))
	cal2, ev2 := parse(t, mustInvite(t, cancel))

	if ev0.Id() != ev1.Id() || ev1.Id() != ev2.Id() {
		t.Fatalf("UIDs differ: %q %q %q", ev0.Id(), ev1.Id(), ev2.Id())
	}
	seq := func(ev *ics.VEvent) string { return prop(t, &ev.ComponentBase, ics.ComponentPropertySequence).Value }
	if seq(ev0) != "0" || seq(ev1) != "1" || seq(ev2) != "2" {
		t.Errorf("SEQUENCE = %s, %s, %s; want 0, 1, 2", seq(ev0), seq(ev1), seq(ev2))
	}
	if got := calProp(t, cal1, ics.PropertyMethod); got != "REQUEST" {
		t.Errorf("reschedule METHOD = %q, want REQUEST", got)
	}
	if got := prop(t, &ev1.ComponentBase, ics.ComponentPropertyDtStart).Value; got != "20211102T100000" {
		t.Errorf("reschedule DTSTART = %q", got)
	}

	if got := calProp(t, cal2, ics.PropertyMethod); got != "CANCEL" {
		t.Errorf("cancel METHOD = %q, want CANCEL", got)
	}
	if got := prop(t, &ev2.ComponentBase, ics.ComponentPropertyStatus).Value; got != "CANCELLED" {
		t.Errorf("cancel STATUS = %q, want CANCELLED", got)
	}
	if got := prop(t, &ev2.ComponentBase, ics.ComponentPropertyDtstamp).Value; got != "20210903T083000Z" {
		t.Errorf("cancel DTSTAMP = %q", got)
	}
	if prop(t, &ev2.ComponentBase, ics.ComponentPropertyOrganizer).Value != "mailto:labs@infuse.example" {
		t.Error("cancel lost the ORGANIZER")
	}
	atts := ev2.Attendees()
	if len(atts) != 1 || atts[0].Email() != "sian@example.org" {
		t.Fatalf("cancel attendees = %v", atts)
	}
	if _, ok := atts[0].ICalParameters[string(ics.ParameterRsvp)]; ok {
		t.Error("cancel asks for an RSVP")
	}
}

func TestVTimezoneEuropeLondon(t *testing.T) {
	for _, cancel := range []bool{false, true} {
		e := baseEvent()
		e.Cancel = cancel
		e.Sequence = 1
		b := mustInvite(t, e)
		cal, _ := parse(t, b)

		if i, j := bytes.Index(b, []byte("BEGIN:VTIMEZONE")), bytes.Index(b, []byte("BEGIN:VEVENT")); i < 0 || i > j {
			t.Errorf("VTIMEZONE missing or after the VEVENT")
		}
		tzs := cal.Timezones()
		if len(tzs) != 1 {
			t.Fatalf("got %d VTIMEZONEs, want 1", len(tzs))
		}
		tz := tzs[0]
		if got := prop(t, &tz.ComponentBase, ics.ComponentPropertyTzid).Value; got != "Europe/London" {
			t.Errorf("TZID = %q", got)
		}
		var daylight *ics.Daylight
		var standard *ics.Standard
		for _, c := range tz.SubComponents() {
			switch c := c.(type) {
			case *ics.Daylight:
				daylight = c
			case *ics.Standard:
				standard = c
			}
		}
		if daylight == nil || standard == nil {
			t.Fatalf("VTIMEZONE needs DAYLIGHT and STANDARD, got daylight=%v standard=%v", daylight != nil, standard != nil)
		}
		checkRule(t, "DAYLIGHT", &daylight.ComponentBase, "+0000", "+0100", "BST", 3)
		checkRule(t, "STANDARD", &standard.ComponentBase, "+0100", "+0000", "GMT", 10)
	}
}

// checkRule checks one observance and cross-checks its RRULE against Go's
// tzdata: for every year from the observance's DTSTART to 2040, the change
// happens exactly at the local time DTSTART gives, on the last Sunday of the
// month, and the offsets before and after match TZOFFSETFROM/TZOFFSETTO.
func checkRule(t *testing.T, name string, c *ics.ComponentBase, from, to, tzname string, month time.Month) {
	t.Helper()
	get := func(p ics.Property) string { return prop(t, c, ics.ComponentProperty(p)).Value }
	if got := get(ics.PropertyTzoffsetfrom); got != from {
		t.Errorf("%s TZOFFSETFROM = %q, want %q", name, got, from)
	}
	if got := get(ics.PropertyTzoffsetto); got != to {
		t.Errorf("%s TZOFFSETTO = %q, want %q", name, got, to)
	}
	if got := get(ics.PropertyTzname); got != tzname {
		t.Errorf("%s TZNAME = %q, want %q", name, got, tzname)
	}
	wantRule := fmt.Sprintf("FREQ=YEARLY;BYMONTH=%d;BYDAY=-1SU", int(month))
	if got := get(ics.PropertyRrule); got != wantRule {
		t.Errorf("%s RRULE = %q, want %q", name, got, wantRule)
	}

	dtstart, err := time.Parse("20060102T150405", get(ics.PropertyDtstart))
	if err != nil {
		t.Fatalf("%s DTSTART: %v", name, err)
	}
	if dtstart.Month() != month || dtstart.Weekday() != time.Sunday || dtstart.AddDate(0, 0, 7).Month() == month {
		t.Errorf("%s DTSTART %s is not the last Sunday of %s", name, dtstart.Format(time.DateOnly), month)
	}
	fromOff := offsetSeconds(t, from)
	toOff := offsetSeconds(t, to)
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for year := dtstart.Year(); year <= 2040; year++ {
		// Last Sunday of the month, at DTSTART's wall-clock time in the old offset.
		d := time.Date(year, month+1, 1, dtstart.Hour(), dtstart.Minute(), 0, 0, time.UTC).AddDate(0, 0, -1)
		for d.Weekday() != time.Sunday {
			d = d.AddDate(0, 0, -1)
		}
		change := d.Add(-time.Duration(fromOff) * time.Second) // to UTC
		if _, off := change.Add(-time.Second).In(london).Zone(); off != fromOff {
			t.Errorf("%s %d: offset just before %s is %d, want %d", name, year, change, off, fromOff)
		}
		if _, off := change.In(london).Zone(); off != toOff {
			t.Errorf("%s %d: offset at %s is %d, want %d", name, year, change, off, toOff)
		}
		if h := change.UTC().Hour(); h != 1 {
			t.Errorf("%s %d: change at %s, want 01:00 UTC", name, year, change)
		}
	}
}

func offsetSeconds(t *testing.T, s string) int {
	t.Helper()
	tm, err := time.Parse("-0700", s)
	if err != nil {
		t.Fatalf("offset %q: %v", s, err)
	}
	_, off := tm.Zone()
	return off
}

// Content lines end in CRLF, no physical line is longer than 75 octets, no
// fold splits a UTF-8 sequence, and long Welsh text survives the round trip.
func TestLineEndingsAndFolding(t *testing.T) {
	long := strings.Repeat("Croeso i’r labordy sgiliau yng Nghaerdydd; dewch â’ch gliniadur, os gwelwch yn dda. ", 6) +
		strings.Repeat("ŵŷâêîôûŵŷâêîôû", 12) + "\n" + strings.Repeat("x", 200)
	e := baseEvent()
	e.Summary = "Sesiwn labordy: " + strings.Repeat("Llanfairpwllgwyngyll ", 5)
	e.Description = long
	e.Location = strings.Repeat("Adeilad Ŵyn, ", 10)
	e.AttendeeName = "Gwenllïan ap Rhys-Llywelyn " + strings.Repeat("ŵ", 40)
	for _, cancel := range []bool{false, true} {
		e.Cancel = cancel
		b := mustInvite(t, e)

		if !bytes.HasSuffix(b, []byte("END:VCALENDAR\r\n")) {
			t.Errorf("output does not end with END:VCALENDAR CRLF")
		}
		if n, m := bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")); n != m {
			t.Errorf("%d LF but %d CRLF: bare line feeds present", n, m)
		}
		if n, m := bytes.Count(b, []byte("\r")), bytes.Count(b, []byte("\r\n")); n != m {
			t.Errorf("%d CR but %d CRLF: bare carriage returns present", n, m)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n")
		folded := 0
		for i, l := range lines {
			if len(l) > 75 {
				t.Errorf("line %d is %d octets: %q", i+1, len(l), l)
			}
			if !utf8.ValidString(l) {
				t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, l)
			}
			if strings.HasPrefix(l, " ") {
				folded++
			}
		}
		if folded < 10 {
			t.Errorf("only %d continuation lines; long values were not folded", folded)
		}

		_, ev := parse(t, b)
		if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyDescription).Value; got != long {
			t.Errorf("DESCRIPTION did not round-trip:\n got %q\nwant %q", got, long)
		}
		if got := prop(t, &ev.ComponentBase, ics.ComponentPropertySummary).Value; got != e.Summary {
			t.Errorf("SUMMARY did not round-trip: %q", got)
		}
		if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyLocation).Value; got != e.Location {
			t.Errorf("LOCATION did not round-trip: %q", got)
		}
		if got := ev.Attendees()[0].ICalParameters["CN"]; len(got) != 1 || got[0] != e.AttendeeName {
			t.Errorf("CN did not round-trip: %q", got)
		}
	}
}

func TestCarriageReturnsInTextAreNormalised(t *testing.T) {
	e := baseEvent()
	e.Description = "one\r\ntwo\rthree"
	b := mustInvite(t, e)
	if bytes.Contains(b, []byte("\r\r")) || bytes.Count(b, []byte("\r")) != bytes.Count(b, []byte("\r\n")) {
		t.Fatalf("stray CR in output:\n%q", b)
	}
	_, ev := parse(t, b)
	if got := prop(t, &ev.ComponentBase, ics.ComponentPropertyDescription).Value; got != "one\ntwo\nthree" {
		t.Errorf("DESCRIPTION = %q", got)
	}
}

// Names are put into CN without characters the library would backslash-escape
// (RFC 5545 has no escapes in parameter values).
func TestCommonNameIsSafe(t *testing.T) {
	e := baseEvent()
	e.AttendeeName = `Siân O'Brien, "Sî"; Jones: \x`
	b := mustInvite(t, e)
	if bytes.Contains(b, []byte(`\'`)) || bytes.Contains(b, []byte(`\,`+"Siân")) {
		t.Errorf("CN has backslash escapes:\n%s", b)
	}
	_, ev := parse(t, b)
	got := ev.Attendees()[0].ICalParameters["CN"]
	if want := "Siân O’Brien ”Sî” Jones x"; len(got) != 1 || got[0] != want {
		t.Errorf("CN = %q, want %q", got, want)
	}
	if unfolded := strings.ReplaceAll(string(b), "\r\n ", ""); !strings.Contains(unfolded, "ATTENDEE;CN=Siân O’Brien ”Sî” Jones x;") {
		t.Errorf("ATTENDEE line not as expected:\n%s", unfolded)
	}
}

func TestOptionalFieldsOmitted(t *testing.T) {
	e := baseEvent()
	e.Description, e.Location, e.OrganizerName, e.AttendeeName = "", "", "", ""
	b := mustInvite(t, e)
	for _, s := range []string{"DESCRIPTION", "LOCATION", "CN="} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("output contains %s although it was empty:\n%s", s, b)
		}
	}
	parse(t, b)
}

func TestDeterministic(t *testing.T) {
	a := mustInvite(t, baseEvent())
	time.Sleep(1100 * time.Millisecond) // a wall-clock DTSTAMP would change now
	b := mustInvite(t, baseEvent())
	if !bytes.Equal(a, b) {
		t.Errorf("same event, different bytes:\n%s\n---\n%s", a, b)
	}
}

func TestInvalidInput(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*Event)
		want   string
	}{
		{"missing UID", func(e *Event) { e.UID = " " }, "UID is missing"},
		{"end equals start", func(e *Event) { e.End = e.Start }, "is not after start"},
		{"end before start", func(e *Event) { e.End = e.Start.Add(-time.Hour) }, "is not after start"},
		{"missing start", func(e *Event) { e.Start = time.Time{} }, "start time is missing"},
		{"missing end", func(e *Event) { e.End = time.Time{} }, "end time is missing"},
		{"missing attendee e-mail", func(e *Event) { e.AttendeeEmail = "" }, "attendee e-mail address is missing"},
		{"malformed attendee e-mail", func(e *Event) { e.AttendeeEmail = "sian at example.org" }, `attendee e-mail address "sian at example.org" is not a plain e-mail address`},
		{"attendee with display name", func(e *Event) { e.AttendeeEmail = "Siân <sian@example.org>" }, "attendee e-mail address"},
		{"missing organizer e-mail", func(e *Event) { e.OrganizerEmail = "" }, "organizer e-mail address is missing"},
		{"missing stamp", func(e *Event) { e.Stamp = time.Time{} }, "stamp (DTSTAMP) is missing"},
		{"missing summary", func(e *Event) { e.Summary = "" }, "summary is missing"},
		{"negative sequence", func(e *Event) { e.Sequence = -1 }, "SEQUENCE -1 is negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := baseEvent()
			tc.mutate(&e)
			b, err := Invite(e)
			if err == nil {
				t.Fatalf("no error; output:\n%s", b)
			}
			if b != nil {
				t.Errorf("output alongside error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}

	// Several problems are all reported at once.
	e := baseEvent()
	e.UID, e.AttendeeEmail, e.End = "", "", e.Start
	_, err := Invite(e)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"UID is missing", "attendee e-mail address is missing", "is not after start"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestUID(t *testing.T) {
	if got := UID("journey-42", "lab-3"); got != "lab-3.journey-42@infuse-journeys" {
		t.Errorf("UID = %q", got)
	}
	if UID("j1", "lab-3") != UID("j1", "lab-3") {
		t.Error("UID not stable")
	}
	seen := map[string]bool{}
	for _, j := range []string{"j1", "j2"} {
		for _, i := range []string{"lab-1", "lab-2", "coach-1"} {
			u := UID(j, i)
			if seen[u] {
				t.Errorf("duplicate UID %q", u)
			}
			seen[u] = true
		}
	}
}
