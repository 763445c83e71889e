package programme

import (
	"fmt"
	"time"

	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/gb"
)

// date is a local calendar day. Schedules are reasoned about in days and
// local clock times, never in fixed durations, so that a 09:00 reminder
// stays at 09:00 when the clocks change.
type date struct {
	y int
	m time.Month
	d int
}

func dateOf(t time.Time, loc *time.Location) date {
	y, m, d := t.In(loc).Date()
	return date{y, m, d}
}

// addDays relies on time.Date normalising out-of-range days.
func (d date) addDays(n int) date {
	t := time.Date(d.y, d.m, d.d+n, 12, 0, 0, 0, time.UTC)
	return date{t.Year(), t.Month(), t.Day()}
}

// addMonths keeps the day of the month but clamps it to the target
// month's length, so "a month after 31 January" is 28 or 29 February, not
// 3 March as time.AddDate would have it.
func (d date) addMonths(n int) date {
	first := time.Date(d.y, d.m+time.Month(n), 1, 12, 0, 0, 0, time.UTC)
	last := first.AddDate(0, 1, -1).Day()
	return date{first.Year(), first.Month(), min(d.d, last)}
}

func (d date) weekday() time.Weekday {
	return time.Date(d.y, d.m, d.d, 12, 0, 0, 0, time.UTC).Weekday()
}

func (d date) before(o date) bool {
	if d.y != o.y {
		return d.y < o.y
	}
	if d.m != o.m {
		return d.m < o.m
	}
	return d.d < o.d
}

// at is the instant of local clock time c on d, in UTC: schedules are
// stored in workflow state, where a named location would not survive
// serialisation anyway.
func (d date) at(c clock, loc *time.Location) time.Time {
	return time.Date(d.y, d.m, d.d, c.h, c.m, 0, 0, loc).UTC()
}

func (d date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.y, d.m, d.d) }

// clock is a local time of day.
type clock struct{ h, m int }

func clockOf(t time.Time, loc *time.Location) clock {
	l := t.In(loc)
	return clock{l.Hour(), l.Minute()}
}

func (c clock) minutes() int { return c.h*60 + c.m }

// parseClock accepts exactly "HH:MM" on the 24-hour clock.
func parseClock(s string) (clock, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return clock{}, fmt.Errorf("%q is not a clock time: expected \"HH:MM\" on the 24-hour clock, e.g. \"09:00\"", s)
	}
	return clock{t.Hour(), t.Minute()}, nil
}

// calendar knows which days are working days and which hours are working
// hours in the programme's time zone.
type calendar struct {
	loc        *time.Location
	start, end clock
	workdays   [7]bool
	holidays   *cal.Calendar // nil when the programme observes no bank holidays
	closures   map[date]bool
}

// Bank holiday sets a programme can name in working_hours.bank_holidays.
const (
	EnglandAndWales = "england-and-wales"
	NoBankHolidays  = "none"
)

// stateFuneral2022 was a one-off UK bank holiday (19 September 2022) that
// rickar/cal's gb package does not list.
var stateFuneral2022 = &cal.Holiday{
	Name:      "State Funeral of Queen Elizabeth II",
	Type:      cal.ObservanceBank,
	Month:     time.September,
	Day:       19,
	Func:      cal.CalcDayOfMonth,
	StartYear: 2022,
	EndYear:   2022,
}

// bankHolidays returns the named holiday calendar. Caching stays off: the
// library's cache is an unsynchronised map and programmes are shared
// between goroutines.
func bankHolidays(name string) (*cal.Calendar, bool) {
	switch name {
	case EnglandAndWales:
		c := &cal.Calendar{Name: "England and Wales bank holidays"}
		c.AddHoliday(gb.Holidays...)
		c.AddHoliday(stateFuneral2022)
		return c, true
	case NoBankHolidays:
		return nil, true
	}
	return nil, false
}

func (c *calendar) isHoliday(d date) bool {
	if c.closures[d] {
		return true
	}
	if c.holidays == nil {
		return false
	}
	// Both the actual day and its substitute are days off: when Christmas
	// falls on a Sunday, Boxing Day Monday is "actual" and Tuesday is the
	// substitute for Christmas.
	actual, observed, _ := c.holidays.IsHoliday(time.Date(d.y, d.m, d.d, 12, 0, 0, 0, c.loc))
	return actual || observed
}

func (c *calendar) isWorkingDay(d date) bool {
	return c.workdays[d.weekday()] && !c.isHoliday(d)
}

func (c *calendar) isWorkingTime(t time.Time) bool {
	m := clockOf(t, c.loc).minutes()
	return c.isWorkingDay(dateOf(t, c.loc)) && m >= c.start.minutes() && m < c.end.minutes()
}

// onOrAfter is d if it is a working day, else the next working day.
func (c *calendar) onOrAfter(d date) date {
	for !c.isWorkingDay(d) {
		d = d.addDays(1)
	}
	return d
}

// lastBefore is the last working day strictly before d.
func (c *calendar) lastBefore(d date) date {
	d = d.addDays(-1)
	for !c.isWorkingDay(d) {
		d = d.addDays(-1)
	}
	return d
}

// earlier moves t, if it is outside working time, back to the opening of
// working hours on the latest working day that opens at or before t. A
// reminder that must arrive before something can only move earlier.
func (c *calendar) earlier(t time.Time) time.Time {
	if c.isWorkingTime(t) {
		return t
	}
	d := dateOf(t, c.loc)
	if c.isWorkingDay(d) && clockOf(t, c.loc).minutes() >= c.end.minutes() {
		return d.at(c.start, c.loc)
	}
	return c.lastBefore(d).at(c.start, c.loc)
}

// later moves t, if it is outside working time, forward to the opening of
// working hours on the next working day that opens at or after t.
func (c *calendar) later(t time.Time) time.Time {
	if c.isWorkingTime(t) {
		return t
	}
	d := dateOf(t, c.loc)
	if c.isWorkingDay(d) && clockOf(t, c.loc).minutes() < c.start.minutes() {
		return d.at(c.start, c.loc)
	}
	return c.onOrAfter(d.addDays(1)).at(c.start, c.loc)
}
