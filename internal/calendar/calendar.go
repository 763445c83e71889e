// Package calendar builds the iCalendar (RFC 5545) invites that travel with
// lab-session and coaching-session messages, so that a session lands in the
// recipient's own calendar and stays correct there.
//
// It exists because a session is not a one-off e-mail: it is rescheduled and
// sometimes cancelled, and the recipient's calendar must follow. Every session
// of a journey therefore keeps one stable UID (see UID); a reschedule is sent
// as METHOD:REQUEST with the same UID and a higher SEQUENCE, and a withdrawal
// or cancellation as METHOD:CANCEL with STATUS:CANCELLED (RFC 5546 iTIP).
//
// Times are written as Europe/London wall-clock times (DTSTART;TZID=...) with
// a VTIMEZONE carrying the GMT/BST rules, so a 10:00 session reads 10:00 on
// both sides of a clock change in every client. Output is deterministic: the
// DTSTAMP comes from the caller (the outbox entry), never from time.Now, so
// the same input always yields the same bytes and a retried send is identical.
//
// Serialisation (escaping, CRLF line endings, folding at 75 octets) is done by
// github.com/arran4/golang-ical.
package calendar

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	_ "time/tzdata" // Europe/London must resolve even where the host has no zoneinfo.

	ics "github.com/arran4/golang-ical"
)

const (
	// TZID is the time zone every invite is written in.
	TZID = "Europe/London"
	// ProdID identifies this software in the PRODID property.
	ProdID = "-//Infuse Cymru//Infuse Journeys//EN"
	// uidDomain is the right-hand side of every UID we mint.
	uidDomain = "infuse-journeys"

	localFormat = "20060102T150405"
)

// Event is one session invite (or its cancellation) for one attendee.
type Event struct {
	// UID identifies the session for its whole life; use UID(journeyID, itemID).
	UID string
	// Sequence is the revision number: 0 for the first invite, higher for each
	// reschedule, and higher again for the cancellation.
	Sequence int
	// Cancel makes this a METHOD:CANCEL with STATUS:CANCELLED.
	Cancel bool
	// Start and End may be in any location; they are written in Europe/London.
	Start, End time.Time
	// Summary is the title; Description and Location are optional.
	Summary, Description, Location string
	// OrganizerEmail is required (RFC 5546 needs an ORGANIZER); the name is optional.
	OrganizerName, OrganizerEmail string
	// AttendeeEmail is required; the name is optional.
	AttendeeName, AttendeeEmail string
	// Stamp becomes DTSTAMP: when this revision was created (e.g. the outbox
	// entry's creation time). Required, so output does not depend on the clock.
	Stamp time.Time
}

// UID derives the stable UID of a journey item (a session), e.g.
// "lab-3.journey-42@infuse-journeys". The same item of the same journey always
// gets the same UID, so a reschedule updates the existing calendar entry
// instead of adding a second one.
func UID(journeyID, itemID string) string {
	return itemID + "." + journeyID + "@" + uidDomain
}

var london = mustLoadLondon()

// rsvpTrue is RSVP=TRUE as RFC 5545 spells it (ics.WithRSVP writes "true").
var rsvpTrue = &ics.KeyValues{Key: string(ics.ParameterRsvp), Value: []string{"TRUE"}}

func mustLoadLondon() *time.Location {
	loc, err := time.LoadLocation(TZID)
	if err != nil {
		// time/tzdata is linked in, so this cannot happen.
		panic(fmt.Sprintf("calendar: load %s: %v", TZID, err))
	}
	return loc
}

// Invite renders e as an iCalendar object (text/calendar; method=REQUEST or
// method=CANCEL) with CRLF line endings, lines folded at 75 octets.
func Invite(e Event) ([]byte, error) {
	if err := validate(e, true); err != nil {
		return nil, err
	}
	method := ics.MethodRequest
	if e.Cancel {
		method = ics.MethodCancel
	}
	cal := newCalendar(method)
	ev := vevent(e)

	var orgParams []ics.PropertyParameter
	if cn := commonName(e.OrganizerName); cn != "" {
		orgParams = append(orgParams, ics.WithCN(cn))
	}
	ev.SetOrganizer("mailto:"+e.OrganizerEmail, orgParams...)

	attParams := []ics.PropertyParameter{
		ics.CalendarUserTypeIndividual,
		ics.ParticipationRoleReqParticipant,
	}
	if cn := commonName(e.AttendeeName); cn != "" {
		attParams = append(attParams, ics.WithCN(cn))
	}
	if !e.Cancel {
		attParams = append(attParams, ics.ParticipationStatusNeedsAction, rsvpTrue)
	}
	ev.AddAttendee("mailto:"+e.AttendeeEmail, attParams...)
	cal.AddVEvent(ev)
	return serialise(cal, e.UID)
}

// Feed renders several events as one iCalendar object with METHOD:PUBLISH:
// a calendar file a person downloads (a journey's sessions and
// checkpoints) rather than an invitation to answer. So it has no ORGANIZER
// or ATTENDEE (the Event's people are ignored): nobody is asked to reply,
// and a file that gets passed around carries no addresses. Each event keeps
// the UID and SEQUENCE of the invites e-mailed for it, so a calendar that
// has both shows the item once, at its latest time. An empty list is a
// valid, empty calendar. name becomes X-WR-CALNAME, the name calendar apps show.
func Feed(name string, events []Event) ([]byte, error) {
	var errs []error
	for _, e := range events {
		if err := validate(e, false); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	cal := newCalendar(ics.MethodPublish)
	if n := text(name); n != "" {
		cal.SetXWRCalName(n)
	}
	for _, e := range events {
		cal.AddVEvent(vevent(e))
	}
	return serialise(cal, "calendar "+name)
}

// newCalendar is the VCALENDAR every output starts from: our PRODID, the
// Gregorian calendar, method and the Europe/London VTIMEZONE the events
// refer to.
func newCalendar(method ics.Method) *ics.Calendar {
	cal := ics.NewCalendarFor("Infuse Journeys")
	cal.SetProductId(ProdID)
	cal.SetCalscale("GREGORIAN")
	cal.SetMethod(method)
	cal.AddVTimezone(londonTimezone())
	return cal
}

// vevent is the part of a VEVENT common to invites and feeds: identity,
// revision, Europe/London times, texts and status.
func vevent(e Event) *ics.VEvent {
	ev := ics.NewEvent(e.UID)
	ev.SetSequence(e.Sequence)
	ev.SetDtStampTime(e.Stamp)
	ev.SetProperty(ics.ComponentPropertyDtStart, e.Start.In(london).Format(localFormat), ics.WithTZID(TZID))
	ev.SetProperty(ics.ComponentPropertyDtEnd, e.End.In(london).Format(localFormat), ics.WithTZID(TZID))
	ev.SetSummary(text(e.Summary))
	if d := text(e.Description); d != "" {
		ev.SetDescription(d)
	}
	if l := text(e.Location); l != "" {
		ev.SetLocation(l)
	}
	if e.Cancel {
		ev.SetStatus(ics.ObjectStatusCancelled)
	} else {
		ev.SetStatus(ics.ObjectStatusConfirmed)
	}
	ev.SetTimeTransparency(ics.TransparencyOpaque)
	return ev
}

func serialise(cal *ics.Calendar, what string) ([]byte, error) {
	var b strings.Builder
	if err := cal.SerializeTo(&b, ics.WithNewLine("\r\n"), ics.WithLineLength(75)); err != nil {
		return nil, fmt.Errorf("calendar: serialise %s: %w", what, err)
	}
	return []byte(b.String()), nil
}

// validate checks e. An invitation also needs its organizer's and
// attendee's addresses, since it asks the attendee to reply.
func validate(e Event, invitation bool) error {
	var errs []error
	if strings.TrimSpace(e.UID) == "" {
		errs = append(errs, errors.New("UID is missing"))
	}
	if e.Sequence < 0 {
		errs = append(errs, fmt.Errorf("SEQUENCE %d is negative", e.Sequence))
	}
	if e.Start.IsZero() {
		errs = append(errs, errors.New("start time is missing"))
	}
	if e.End.IsZero() {
		errs = append(errs, errors.New("end time is missing"))
	}
	if !e.Start.IsZero() && !e.End.IsZero() && !e.End.After(e.Start) {
		errs = append(errs, fmt.Errorf("end %s is not after start %s",
			e.End.In(london).Format(time.RFC3339), e.Start.In(london).Format(time.RFC3339)))
	}
	if e.Stamp.IsZero() {
		errs = append(errs, errors.New("stamp (DTSTAMP) is missing"))
	}
	if strings.TrimSpace(e.Summary) == "" {
		errs = append(errs, errors.New("summary is missing"))
	}
	if invitation {
		if err := checkEmail("organizer", e.OrganizerEmail); err != nil {
			errs = append(errs, err)
		}
		if err := checkEmail("attendee", e.AttendeeEmail); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("calendar: invalid event %q: %w", e.UID, errors.Join(errs...))
}

// checkEmail accepts a bare addr-spec ("a@b.example"), nothing else: the value
// goes into a mailto: URI, so a display name or angle brackets would corrupt it.
func checkEmail(role, addr string) error {
	if strings.TrimSpace(addr) == "" {
		return fmt.Errorf("%s e-mail address is missing", role)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Name != "" || a.Address != addr {
		return fmt.Errorf("%s e-mail address %q is not a plain e-mail address", role, addr)
	}
	return nil
}

// text normalises line endings in a TEXT value. The library escapes "\n" but
// not a bare "\r", which would otherwise end the content line early.
func text(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// commonName makes a display name safe for the CN parameter. The library
// writes parameter values unquoted and backslash-escapes , ; : " ' and \, which
// RFC 5545 does not define for parameters (clients would show the backslash or
// split the name). So: an ASCII apostrophe becomes U+2019 (O’Brien), a double
// quote becomes U+201D, the other separators become spaces, control
// characters are dropped and runs of spaces collapse.
func commonName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == '\'':
			b.WriteRune('\u2019')
		case r == '"':
			b.WriteRune('\u201D')
		case r == ',' || r == ';' || r == ':' || r == '\\':
			b.WriteRune(' ')
		case r < 0x20 || r == 0x7f:
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// londonTimezone is the VTIMEZONE for Europe/London under the rules in force
// since 1996 (EU summer time): BST (UTC+1) from 01:00 UTC on the last Sunday of
// March, GMT from 01:00 UTC (02:00 BST) on the last Sunday of October. Each
// DTSTART is a local time in the offset being left, on a date the RRULE
// matches. Sessions are never earlier than 1996, so older rules are not needed.
func londonTimezone() *ics.VTimezone {
	tz := ics.NewTimezone(TZID)

	daylight := &ics.Daylight{}
	daylight.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), "+0000")
	daylight.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), "+0100")
	daylight.AddProperty(ics.ComponentProperty(ics.PropertyTzname), "BST")
	daylight.AddProperty(ics.ComponentPropertyDtStart, "19810329T010000")
	daylight.AddRrule("FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU")

	standard := &ics.Standard{}
	standard.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetfrom), "+0100")
	standard.AddProperty(ics.ComponentProperty(ics.PropertyTzoffsetto), "+0000")
	standard.AddProperty(ics.ComponentProperty(ics.PropertyTzname), "GMT")
	standard.AddProperty(ics.ComponentPropertyDtStart, "19961027T020000")
	standard.AddRrule("FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU")

	tz.Components = append(tz.Components, daylight, standard)
	return tz
}
