// Package programme holds a skills programme (Infuse) as versioned data and
// turns it into dated schedules.
//
// It exists so that what a programme contains (labs, sessions, tasks,
// reminders, completion criteria) is data a coordinator's team can change
// without touching workflow code, and so that turning that data into dates
// is one pure, deterministic function. Workflows never read the data
// directly: an activity calls Schedule and the result is kept in workflow
// history, so a journey keeps its dates even if a later release changes the
// data, the holiday calendar or this package.
package programme

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
	_ "time/tzdata" // schedules must not depend on the host having a zoneinfo database

	"gopkg.in/yaml.v3"
)

// Programme is one version of a programme definition. Get one from Parse,
// Lookup or Default; values are shared, so treat them as read-only.
type Programme struct {
	ID              string          `yaml:"id"`
	Version         int             `yaml:"version"`
	Name            Text            `yaml:"name"`
	TimeZone        string          `yaml:"time_zone"`
	WorkingHours    WorkingHours    `yaml:"working_hours"`
	Application     Application     `yaml:"application"`
	Labs            []Lab           `yaml:"labs"`
	Experimentation Experimentation `yaml:"experimentation"`
	Completion      CompletionRule  `yaml:"completion"`
	// Delivery is when and how often messages may go out; nil (no
	// delivery section) means as soon as they are due, without a cap.
	Delivery *Delivery `yaml:"delivery"`

	// cal and comp are the parsed forms of the string fields, set by Parse.
	cal  *calendar
	comp *compiled
}

// Text is a name in both official languages of Wales. Both are required:
// the Welsh Language Standards do not allow Welsh to be treated less
// favourably than English.
type Text struct {
	CY string `yaml:"cy"`
	EN string `yaml:"en"`
}

// WorkingHours is when messages may be sent and deadlines may fall.
type WorkingHours struct {
	Start        string   `yaml:"start"`         // "09:00"
	End          string   `yaml:"end"`           // "17:30", exclusive
	Days         []string `yaml:"days"`          // "monday".."sunday"
	BankHolidays string   `yaml:"bank_holidays"` // "england-and-wales" or "none"
	Closures     []string `yaml:"closures"`      // extra non-working dates, "2006-01-02"
}

// Delivery is the delivery policy: the outbox holds messages back outside
// working hours and limits how many e-mails one person gets in a day. It
// never changes when a message is due (schedules do not depend on it), only
// when it is sent.
type Delivery struct {
	// QuietOutsideWorkingHours holds a message that falls due outside
	// working_hours (nights, non-working days, bank holidays, closures)
	// until the next working window opens.
	QuietOutsideWorkingHours bool `yaml:"quiet_outside_working_hours"`
	// MaxPerPersonPerDay is how many e-mails one person may get on one
	// local day; more due at once are folded into a digest sent as the
	// last of them, and any falling due later that day wait for the next
	// working window. At least 1.
	MaxPerPersonPerDay int `yaml:"max_per_person_per_day"`
}

// Application holds the offer rules.
type Application struct {
	OfferValidDays int            `yaml:"offer_valid_days"`
	OfferLapsesAt  string         `yaml:"offer_lapses_at"` // clock time on the last valid day
	Reminders      []ReminderRule `yaml:"reminders"`
}

// Lab is one month of instructive sessions.
type Lab struct {
	Key       string         `yaml:"key"`
	Name      Text           `yaml:"name"`
	Months    int            `yaml:"months"`
	Sessions  int            `yaml:"sessions"`
	EveryDays int            `yaml:"every_days"`
	StartsAt  string         `yaml:"starts_at"` // local clock time of each session
	Duration  string         `yaml:"duration"`  // Go duration, e.g. "3h"
	Reminders []ReminderRule `yaml:"reminders"`
}

// Experimentation is the phase after the labs, with tasks instead of sessions.
type Experimentation struct {
	Name   Text   `yaml:"name"`
	Months int    `yaml:"months"`
	Tasks  []Task `yaml:"tasks"`
}

// Task is a plan, checkpoint or reflection; with Repeat it is a series.
type Task struct {
	Key       string         `yaml:"key"`
	Kind      ItemKind       `yaml:"kind"`
	Name      Text           `yaml:"name"`
	Assignee  Role           `yaml:"assignee"`
	Repeat    int            `yaml:"repeat"` // 0: one item named Key; N: Key/1..Key/N
	Due       DueRule        `yaml:"due"`
	Reminders []ReminderRule `yaml:"reminders"`
}

// DueRule places a task's due time relative to the phase start.
type DueRule struct {
	AfterMonths int    `yaml:"after_months"`
	AfterDays   int    `yaml:"after_days"`
	At          string `yaml:"at"`          // local clock time
	WorkingDay  string `yaml:"working_day"` // "on-or-after" or "last-before"
}

// Ways a due date that is not a working day is settled.
const (
	OnOrAfter  = "on-or-after"
	LastBefore = "last-before"
)

// ReminderRule is one reminder attached to every item of a lab or task.
type ReminderRule struct {
	Key       string  `yaml:"key"`
	Trigger   Trigger `yaml:"trigger"`
	Offset    Offset  `yaml:"offset"`
	Recipient Role    `yaml:"recipient"`
	Channel   string  `yaml:"channel"`
	Template  string  `yaml:"template"`
}

// Offset is how far a reminder is from its item, in whole days, and
// optionally at which local clock time.
type Offset struct {
	Days int    `yaml:"days"`
	At   string `yaml:"at"`
}

// CompletionRule is the completion criteria as written in the data.
type CompletionRule struct {
	MinLabAttendancePercent int  `yaml:"min_lab_attendance_percent"`
	MinCheckpoints          int  `yaml:"min_checkpoints"`
	ReflectionRequired      bool `yaml:"reflection_required"`
}

// Parse decodes and validates a programme definition. Unknown fields are
// rejected (a misspelt field would otherwise silently fall back to zero),
// and every problem found is reported, each naming its field.
func Parse(data []byte) (*Programme, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var p Programme
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("programme definition is empty: expected a YAML mapping with id, version, labs, …")
		}
		return nil, fmt.Errorf("programme definition is not valid YAML for this schema (check field names and types): %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("programme definition has more than one YAML document: put one programme version per file")
	}
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("programme %q version %d is invalid:\n%w", p.ID, p.Version, err)
	}
	return &p, nil
}

// Location is the programme's time zone; all clock times in the data are
// local to it.
func (p *Programme) Location() *time.Location { return p.cal.loc }

// IsWorkingDay reports whether t's local date is a working day (a working
// weekday that is not a bank holiday or closure).
func (p *Programme) IsWorkingDay(t time.Time) bool { return p.cal.isWorkingDay(dateOf(t, p.cal.loc)) }

// IsWorkingTime reports whether t falls inside working hours on a working
// day: when a message may be sent.
func (p *Programme) IsWorkingTime(t time.Time) bool { return p.cal.isWorkingTime(t) }

// NextWorkingTime is t if it is working time, else the opening of working
// hours on the next working day that opens after t: when a message held
// back by quiet hours may go.
func (p *Programme) NextWorkingTime(t time.Time) time.Time { return p.cal.later(t) }

// PhaseName is the display name of a schedule phase key ("lab-1",
// "experimentation"), for dashboards and messages.
func (p *Programme) PhaseName(key string) (Text, bool) {
	if key == PhaseExperimentation {
		return p.Experimentation.Name, true
	}
	for i, l := range p.Labs {
		if key == labPhaseKey(i) {
			return l.Name, true
		}
	}
	return Text{}, false
}

// SessionCount is the number of lab sessions in a journey.
func (p *Programme) SessionCount() int {
	n := 0
	for _, l := range p.Labs {
		n += l.Sessions
	}
	return n
}

// CheckpointCount is the number of checkpoint items in a journey.
func (p *Programme) CheckpointCount() int {
	n := 0
	for _, t := range p.Experimentation.Tasks {
		if t.Kind == KindCheckpoint {
			n += max(t.Repeat, 1)
		}
	}
	return n
}

// London is Europe/London, where the Infuse programme's times are meant and
// shown. Programme data names its own time zone (Location); this is for
// showing times to people and reading the times they type.
var London = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err) // the time zone database is embedded (time/tzdata)
	}
	return loc
}()
