package messages

import (
	"strconv"
	"time"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Welsh day and month names, written out because Go's time package only
// knows English. Days take "Dydd" as in correspondence ("Dydd Mawrth 5
// Hydref"); a label and colon go before a date in the templates, so these
// never need to mutate.
var (
	welshWeekdays = [...]string{
		time.Sunday:    "Dydd Sul",
		time.Monday:    "Dydd Llun",
		time.Tuesday:   "Dydd Mawrth",
		time.Wednesday: "Dydd Mercher",
		time.Thursday:  "Dydd Iau",
		time.Friday:    "Dydd Gwener",
		time.Saturday:  "Dydd Sadwrn",
	}
	welshMonths = [...]string{
		time.January:   "Ionawr",
		time.February:  "Chwefror",
		time.March:     "Mawrth",
		time.April:     "Ebrill",
		time.May:       "Mai",
		time.June:      "Mehefin",
		time.July:      "Gorffennaf",
		time.August:    "Awst",
		time.September: "Medi",
		time.October:   "Hydref",
		time.November:  "Tachwedd",
		time.December:  "Rhagfyr",
	}
)

// MonthName is a month's name in lang: Welsh for cy, English otherwise.
// The web pages write dates with it too, so one list of Welsh months serves.
func MonthName(m time.Month, lang store.Language) string {
	if lang == store.LanguageWelsh {
		return welshMonths[m]
	}
	return m.String()
}

// formatDate writes a day as people write it in each language: "Tuesday 5
// October 2021", "Dydd Mawrth 5 Hydref 2021". A zero time is "", so a
// template can leave out what it was not given.
func formatDate(t time.Time, loc *time.Location, lang store.Language) string {
	if t.IsZero() {
		return ""
	}
	t = t.In(loc)
	if lang == store.LanguageWelsh {
		return welshWeekdays[t.Weekday()] + " " + strconv.Itoa(t.Day()) + " " + MonthName(t.Month(), lang) + " " + strconv.Itoa(t.Year())
	}
	return t.Format("Monday 2 January 2006")
}

// formatDateTime adds the 24-hour clock time, as Welsh public bodies
// write it: "Tuesday 5 October 2021 at 10:00", "Dydd Mawrth 5 Hydref 2021
// am 10:00". The time is local (Europe/London), so a session at 10:00
// says 10:00 on both sides of the clock change.
func formatDateTime(t time.Time, loc *time.Location, lang store.Language) string {
	if t.IsZero() {
		return ""
	}
	at := " at "
	if lang == store.LanguageWelsh {
		at = " am "
	}
	return formatDate(t, loc, lang) + at + formatClock(t, loc)
}

func formatClock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	return t.In(loc).Format("15:04")
}

// formatEnd writes when something ends: the clock time alone on the day it
// started ("10:00 until 13:00"), or in full if it ends on another day.
func formatEnd(start, end time.Time, loc *time.Location, lang store.Language) string {
	if !start.IsZero() && sameDay(start, end, loc) {
		return formatClock(end, loc)
	}
	return formatDateTime(end, loc, lang)
}

func sameDay(a, b time.Time, loc *time.Location) bool {
	ay, am, ad := a.In(loc).Date()
	by, bm, bd := b.In(loc).Date()
	return ay == by && am == bm && ad == bd
}
