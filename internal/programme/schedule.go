package programme

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// PhaseExperimentation is the key of the phase after the labs. Lab phases
// are keyed by position, "lab-1", "lab-2", …, not by lab key, so search
// attributes and dashboards filter the same way whatever the labs are
// called; PhaseWindow.Lab names the lab.
const PhaseExperimentation = "experimentation"

// LabPhase is the phase key of the n-th lab, counting from 1.
func LabPhase(n int) string { return fmt.Sprintf("lab-%d", n) }

func labPhaseKey(i int) string { return LabPhase(i + 1) }

var errNotParsed = errors.New("programme was not loaded through Parse, Lookup or Default: its clock times and calendar are not set up")

// planned is an item before its reminders are worked out: reminders follow
// the item, so they are computed after session moves are applied.
type planned struct {
	Item
	rules []rule
}

// Schedule turns the programme into dated items and reminders for one
// journey. It is pure: the same input always gives the same schedule.
//
// Dates are worked out as local days and clock times in the programme's
// time zone, so a 10:00 session is at 10:00 on both sides of a clock
// change. Lab i starts i months after StartsOn (lab months add up);
// experimentation starts after the last lab. A whole-day Shift (the pause,
// rounded to the nearest day so sessions keep 10:00 and deadlines 17:00)
// moves every date before it is settled onto a working day. SessionMoves
// replace a session's start exactly as given: a coordinator's choice is
// not second-guessed, but its reminders still keep to working hours.
//
// "before" reminders count back from a session's start or a task's due
// time and move earlier to keep to working hours; "overdue" reminders
// count on from the due time and move later. Reminders that are already in
// the past when the journey reaches them are the caller's to skip.
func (p *Programme) Schedule(in ScheduleInput) (Schedule, error) {
	if p.cal == nil || p.comp == nil {
		return Schedule{}, errNotParsed
	}
	if in.StartsOn.IsZero() {
		return Schedule{}, errors.New("ScheduleInput.StartsOn is zero: give the intake's first day")
	}
	if in.Shift < 0 {
		return Schedule{}, fmt.Errorf("ScheduleInput.Shift is %v: a pause can only delay a journey, give 0 or more", in.Shift)
	}
	start := dateOf(in.StartsOn, p.cal.loc)
	shift := int((in.Shift + 12*time.Hour) / (24 * time.Hour))

	var phases []PhaseWindow
	var items []planned
	months := 0
	for i, l := range p.Labs {
		first := start.addMonths(months).addDays(shift)
		phases = append(phases, PhaseWindow{Key: labPhaseKey(i), Lab: l.Key, Start: p.midnight(first)})
		items = append(items, p.sessions(i, first)...)
		months += l.Months
	}
	expStart := start.addMonths(months).addDays(shift)
	phases = append(phases, PhaseWindow{Key: PhaseExperimentation, Start: p.midnight(expStart)})
	for i := range p.Experimentation.Tasks {
		items = append(items, p.tasks(i, start, months, shift, expStart)...)
	}

	if err := applyMoves(items, in.SessionMoves); err != nil {
		return Schedule{}, err
	}
	s := Schedule{
		ProgrammeID:      p.ID,
		ProgrammeVersion: p.Version,
		Completion: Completion{
			MinLabAttendancePercent: p.Completion.MinLabAttendancePercent,
			MinCheckpoints:          p.Completion.MinCheckpoints,
			ReflectionRequired:      p.Completion.ReflectionRequired,
		},
	}
	for _, it := range items {
		it.Reminders = p.reminders(it.ID, reminderBase(it.Item), it.rules)
		s.Items = append(s.Items, it.Item)
		s.EndsAt = maxTime(s.EndsAt, it.DueAt)
	}
	slices.SortStableFunc(s.Items, func(a, b Item) int {
		return cmp.Or(a.OpensAt.Compare(b.OpensAt), a.DueAt.Compare(b.DueAt))
	})
	for i := range phases {
		if i+1 < len(phases) {
			phases[i].End = phases[i+1].Start
		} else {
			phases[i].End = s.EndsAt
		}
	}
	s.Phases = phases
	return s, nil
}

// sessions plans lab i's sessions from the first day of its month. A
// session on a non-working day moves to the next working day.
func (p *Programme) sessions(i int, first date) []planned {
	l, lp := p.Labs[i], p.comp.labs[i]
	out := make([]planned, 0, l.Sessions)
	for n := 1; n <= l.Sessions; n++ {
		at := p.cal.onOrAfter(first.addDays((n-1)*l.EveryDays)).at(lp.startsAt, p.cal.loc)
		out = append(out, planned{
			Item: Item{
				ID:       fmt.Sprintf("%s/%d", l.Key, n),
				Kind:     KindSession,
				Phase:    labPhaseKey(i),
				OpensAt:  at,
				DueAt:    at.Add(lp.duration),
				Assignee: Participant,
			},
			rules: lp.rules,
		})
	}
	return out
}

// tasks plans task i of the experimentation phase. Due dates count from
// StartsOn in whole months (so they match "the end of month 6" however
// long the months are) and then days. In a series, each item opens when
// the previous one is due.
func (p *Programme) tasks(i int, start date, months, shift int, phaseStart date) []planned {
	t, tp := p.Experimentation.Tasks[i], p.comp.tasks[i]
	count := max(t.Repeat, 1)
	out := make([]planned, 0, count)
	opens := p.midnight(phaseStart)
	for n := 1; n <= count; n++ {
		anchor := start.addMonths(months + n*t.Due.AfterMonths).addDays(n*t.Due.AfterDays + shift)
		due := p.dueDay(anchor, t.Due.WorkingDay, phaseStart).at(tp.at, p.cal.loc)
		id := t.Key
		if t.Repeat > 0 {
			id = fmt.Sprintf("%s/%d", t.Key, n)
		}
		out = append(out, planned{
			Item: Item{
				ID:       id,
				Kind:     t.Kind,
				Phase:    PhaseExperimentation,
				OpensAt:  opens,
				DueAt:    due,
				Assignee: t.Assignee,
			},
			rules: tp.rules,
		})
		opens = due
	}
	return out
}

// dueDay settles a due date onto a working day. "last-before" treats the
// anchor as the first day after a period (day 8 ends week 1), but never
// lets a task fall due before its phase has started.
func (p *Programme) dueDay(anchor date, rule string, phaseStart date) date {
	if rule == LastBefore {
		if d := p.cal.lastBefore(anchor); !d.before(phaseStart) {
			return d
		}
		return p.cal.onOrAfter(phaseStart)
	}
	return p.cal.onOrAfter(anchor)
}

// applyMoves gives rescheduled sessions their new start, keeping their
// length. Moves are checked in ID order so the error text is stable.
func applyMoves(items []planned, moves map[string]time.Time) error {
	var errs []error
	for _, id := range slices.Sorted(maps.Keys(moves)) {
		at := moves[id]
		i := slices.IndexFunc(items, func(it planned) bool { return it.ID == id })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("SessionMoves[%q]: no such item in this programme: expected a session ID such as %q", id, firstSession(items)))
		case items[i].Kind != KindSession:
			errs = append(errs, fmt.Errorf("SessionMoves[%q]: the item is a %s, not a session: only sessions can be moved; pause the journey to delay tasks", id, items[i].Kind))
		case at.IsZero():
			errs = append(errs, fmt.Errorf("SessionMoves[%q]: the new start time is zero: give the session's new start", id))
		default:
			length := items[i].DueAt.Sub(items[i].OpensAt)
			items[i].OpensAt, items[i].DueAt = at.UTC(), at.UTC().Add(length)
		}
	}
	return errors.Join(errs...)
}

func firstSession(items []planned) string {
	for _, it := range items {
		if it.Kind == KindSession {
			return it.ID
		}
	}
	return ""
}

// reminderBase is what an item's "before" reminders count back from: a
// session matters when it starts, a task when it is due.
func reminderBase(it Item) time.Time {
	if it.Kind == KindSession {
		return it.OpensAt
	}
	return it.DueAt
}

// reminders dates an item's reminder rules. Offsets are whole local days,
// at the rule's clock time if it has one, else at base's clock time.
// "overdue" reminders always count from base, which for tasks is the due time.
func (p *Programme) reminders(id string, base time.Time, rules []rule) []Reminder {
	out := make([]Reminder, 0, len(rules))
	for _, r := range rules {
		rem := Reminder{
			Key:       id + "/" + r.Key,
			Trigger:   r.Trigger,
			Recipient: r.Recipient,
			Template:  r.Template,
			Channel:   r.Channel,
		}
		switch r.Trigger {
		case BeforeDue:
			rem.At = p.cal.earlier(p.offset(base, -r.Offset.Days, r))
			if !rem.At.Before(base) {
				// A same-day rule whose clock time is after the item (or a
				// session moved early in the day) must still come first.
				rem.At = p.cal.earlier(base.Add(-time.Minute))
			}
		case Overdue:
			rem.At = p.cal.later(p.offset(base, r.Offset.Days, r))
		}
		out = append(out, rem)
	}
	return out
}

func (p *Programme) offset(base time.Time, days int, r rule) time.Time {
	c := clockOf(base, p.cal.loc)
	if r.hasAt {
		c = r.at
	}
	return dateOf(base, p.cal.loc).addDays(days).at(c, p.cal.loc)
}

// OfferPlan dates an offer made at offeredAt: it lapses at the offer's
// clock time (17:00) on the last valid day, moved to the next working day
// if need be, so an applicant always has a full working day to answer.
// Reminders that would fall before the offer was made are left out.
func (p *Programme) OfferPlan(offeredAt time.Time) OfferPlan {
	last := dateOf(offeredAt, p.cal.loc).addDays(p.Application.OfferValidDays)
	lapses := p.cal.onOrAfter(last).at(p.comp.offerLapsesAt, p.cal.loc)
	var rems []Reminder
	for _, r := range p.reminders("offer", lapses, p.comp.offerRules) {
		if r.At.After(offeredAt) {
			rems = append(rems, r)
		}
	}
	return OfferPlan{LapsesAt: lapses, Reminders: rems}
}

// ItemName is the display name of the lab or task an item ID belongs to
// ("data-lab/2" → Labordy Data / Data Lab).
func (p *Programme) ItemName(id string) (Text, bool) {
	key, _, _ := strings.Cut(id, "/")
	for _, l := range p.Labs {
		if l.Key == key {
			return l.Name, true
		}
	}
	for _, t := range p.Experimentation.Tasks {
		if t.Key == key {
			return t.Name, true
		}
	}
	return Text{}, false
}

// IsSession reports whether an item ID names a lab session ("data-lab/2").
func (p *Programme) IsSession(id string) bool {
	key, _, _ := strings.Cut(id, "/")
	for _, l := range p.Labs {
		if l.Key == key {
			return true
		}
	}
	return false
}

func (p *Programme) midnight(d date) time.Time { return d.at(clock{}, p.cal.loc) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
