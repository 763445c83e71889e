package programme

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// FieldError is one problem in a programme definition. Field is the YAML
// path of the offending value, e.g. "labs[1].sessions".
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// checker collects every problem so an author can fix a file in one pass.
type checker struct{ errs []error }

func (c *checker) add(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (c *checker) clock(field, s string) clock {
	v, err := parseClock(s)
	if err != nil {
		c.add(field, "%v", err)
	}
	return v
}

func (c *checker) text(field string, t Text) {
	if strings.TrimSpace(t.CY) == "" {
		c.add(field+".cy", "missing: give the Welsh name (Welsh Language Standards: Welsh must not be treated less favourably)")
	}
	if strings.TrimSpace(t.EN) == "" {
		c.add(field+".en", "missing: give the English name")
	}
}

var keyPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func (c *checker) key(field, k string) {
	switch {
	case k == "":
		c.add(field, "missing: expected a key of lower-case letters, digits and hyphens")
	case !keyPattern.MatchString(k):
		c.add(field, "%q is not a valid key: expected lower-case letters, digits and single hyphens, e.g. \"data-lab\" (keys become IDs such as \"data-lab/1\", so no \"/\")", k)
	}
}

func (c *checker) atLeast(field string, v, minimum int, what string) {
	if v < minimum {
		c.add(field, "is %d: expected at least %d %s", v, minimum, what)
	}
}

// compiled holds the parsed form of the string fields, filled in by
// validate so that scheduling never has to parse or fail on them.
type compiled struct {
	offerLapsesAt clock
	offerRules    []rule
	labs          []labPlan
	tasks         []taskPlan
}

type labPlan struct {
	startsAt clock
	duration time.Duration
	rules    []rule
}

type taskPlan struct {
	at    clock
	rules []rule
}

// rule is a ReminderRule with its clock time parsed.
type rule struct {
	ReminderRule
	at    clock
	hasAt bool
}

var (
	knownRoles    = []Role{Participant, Coach, Coordinator}
	knownChannels = []string{"email"}
	knownKinds    = []ItemKind{KindPlan, KindCheckpoint, KindReflection}
	weekdays      = map[string]time.Weekday{
		"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
		"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
	}
)

func oneOf[T ~string](v T, known []T) bool {
	for _, k := range known {
		if v == k {
			return true
		}
	}
	return false
}

func list[T ~string](known []T) string {
	s := make([]string, len(known))
	for i, k := range known {
		s[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(s, ", ")
}

// validate checks the whole definition and, if it is sound, records the
// parsed calendar and clock times on p.
func (p *Programme) validate() error {
	c := &checker{}
	c.key("id", p.ID)
	c.atLeast("version", p.Version, 1, "(versions count from 1)")
	c.text("name", p.Name)
	cal := c.calendar(p.TimeZone, p.WorkingHours)

	var comp compiled
	comp.offerLapsesAt, comp.offerRules = c.application(p.Application)

	items := map[string]string{} // item key -> field that first used it
	claim := func(field, key string) {
		if first, dup := items[key]; dup && key != "" {
			c.add(field, "duplicate item key %q (already used by %s): every lab and task needs its own key", key, first)
			return
		}
		items[key] = field
	}
	if len(p.Labs) == 0 {
		c.add("labs", "no labs: expected at least one lab")
	}
	for i, l := range p.Labs {
		f := fmt.Sprintf("labs[%d]", i)
		claim(f+".key", l.Key)
		comp.labs = append(comp.labs, c.lab(f, l))
	}
	c.text("experimentation.name", p.Experimentation.Name)
	c.atLeast("experimentation.months", p.Experimentation.Months, 1, "month")
	if len(p.Experimentation.Tasks) == 0 {
		c.add("experimentation.tasks", "no tasks: expected at least one (the journey is assessed when the last task is due)")
	}
	for i, t := range p.Experimentation.Tasks {
		f := fmt.Sprintf("experimentation.tasks[%d]", i)
		claim(f+".key", t.Key)
		comp.tasks = append(comp.tasks, c.task(f, t))
	}
	c.completion(p)
	c.delivery(p.Delivery)

	if len(c.errs) > 0 {
		return errors.Join(c.errs...)
	}
	p.cal, p.comp = cal, &comp
	return nil
}

func (c *checker) calendar(zone string, wh WorkingHours) *calendar {
	cal := &calendar{closures: map[date]bool{}}
	if zone == "" {
		c.add("time_zone", "missing: expected an IANA time zone name such as \"Europe/London\"")
	} else if loc, err := time.LoadLocation(zone); err != nil {
		c.add("time_zone", "unknown time zone %q: expected an IANA name such as \"Europe/London\"", zone)
	} else {
		cal.loc = loc
	}
	cal.start = c.clock("working_hours.start", wh.Start)
	cal.end = c.clock("working_hours.end", wh.End)
	_, startErr := parseClock(wh.Start)
	_, endErr := parseClock(wh.End)
	if startErr == nil && endErr == nil && cal.start.minutes() >= cal.end.minutes() {
		c.add("working_hours.end", "%q is not after start %q: expected the end of the working day", wh.End, wh.Start)
	}
	if len(wh.Days) == 0 {
		c.add("working_hours.days", "no working days: expected a list such as [monday, tuesday, wednesday, thursday, friday]")
	}
	for i, d := range wh.Days {
		f := fmt.Sprintf("working_hours.days[%d]", i)
		wd, ok := weekdays[d]
		switch {
		case !ok:
			c.add(f, "unknown day %q: expected a lower-case English day name such as \"monday\"", d)
		case cal.workdays[wd]:
			c.add(f, "%q is listed twice", d)
		default:
			cal.workdays[wd] = true
		}
	}
	if h, ok := bankHolidays(wh.BankHolidays); ok {
		cal.holidays = h
	} else {
		c.add("working_hours.bank_holidays", "unknown bank holiday set %q: expected %q or %q", wh.BankHolidays, EnglandAndWales, NoBankHolidays)
	}
	for i, s := range wh.Closures {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			c.add(fmt.Sprintf("working_hours.closures[%d]", i), "%q is not a date: expected \"YYYY-MM-DD\"", s)
			continue
		}
		cal.closures[dateOf(t, time.UTC)] = true
	}
	return cal
}

func (c *checker) application(a Application) (clock, []rule) {
	c.atLeast("application.offer_valid_days", a.OfferValidDays, 1, "day")
	at := c.clock("application.offer_lapses_at", a.OfferLapsesAt)
	rules := c.rules("application.reminders", a.Reminders, []Trigger{BeforeDue, Overdue})
	return at, rules
}

func (c *checker) lab(f string, l Lab) labPlan {
	c.key(f+".key", l.Key)
	c.text(f+".name", l.Name)
	c.atLeast(f+".months", l.Months, 1, "month")
	c.atLeast(f+".sessions", l.Sessions, 1, "session")
	c.atLeast(f+".every_days", l.EveryDays, 1, "day between sessions")
	plan := labPlan{startsAt: c.clock(f+".starts_at", l.StartsAt)}
	d, err := time.ParseDuration(l.Duration)
	switch {
	case err != nil:
		c.add(f+".duration", "%q is not a duration: expected a Go duration such as \"3h\" or \"2h30m\"", l.Duration)
	case d <= 0 || d >= 24*time.Hour:
		c.add(f+".duration", "%q is out of range: expected more than 0 and less than 24h", l.Duration)
	}
	plan.duration = d
	// Sessions are events, not tasks: they cannot be overdue.
	plan.rules = c.rules(f+".reminders", l.Reminders, []Trigger{BeforeDue, Absent})
	return plan
}

func (c *checker) task(f string, t Task) taskPlan {
	c.key(f+".key", t.Key)
	c.text(f+".name", t.Name)
	if !oneOf(t.Kind, knownKinds) {
		c.add(f+".kind", "unknown kind %q: expected one of %s", t.Kind, list(knownKinds))
	}
	if !oneOf(t.Assignee, knownRoles) {
		c.add(f+".assignee", "unknown role %q: expected one of %s", t.Assignee, list(knownRoles))
	}
	if t.Repeat < 0 {
		c.add(f+".repeat", "is %d: expected 0 (a single task) or a positive count", t.Repeat)
	}
	if t.Due.AfterMonths < 0 || t.Due.AfterDays < 0 || t.Due.AfterMonths+t.Due.AfterDays == 0 {
		c.add(f+".due", "after_months=%d, after_days=%d: expected non-negative values, at least one positive",
			t.Due.AfterMonths, t.Due.AfterDays)
	}
	if t.Due.WorkingDay != OnOrAfter && t.Due.WorkingDay != LastBefore {
		c.add(f+".due.working_day", "unknown rule %q: expected %q or %q", t.Due.WorkingDay, OnOrAfter, LastBefore)
	}
	return taskPlan{
		at:    c.clock(f+".due.at", t.Due.At),
		rules: c.rules(f+".reminders", t.Reminders, []Trigger{BeforeDue, Overdue}),
	}
}

func (c *checker) rules(f string, rs []ReminderRule, allowed []Trigger) []rule {
	out := make([]rule, 0, len(rs))
	seen := map[string]bool{}
	for i, r := range rs {
		rf := fmt.Sprintf("%s[%d]", f, i)
		c.key(rf+".key", r.Key)
		if seen[r.Key] && r.Key != "" {
			c.add(rf+".key", "duplicate reminder key %q: keys must be unique within one list", r.Key)
		}
		seen[r.Key] = true
		out = append(out, c.rule(rf, r, allowed))
	}
	return out
}

func (c *checker) rule(rf string, r ReminderRule, allowed []Trigger) rule {
	out := rule{ReminderRule: r}
	switch {
	case !oneOf(r.Trigger, []Trigger{BeforeDue, Overdue, Absent}):
		c.add(rf+".trigger", "unknown trigger %q: expected one of %s", r.Trigger, list(allowed))
	case !oneOf(r.Trigger, allowed):
		c.add(rf+".trigger", "trigger %q does not apply here: expected one of %s", r.Trigger, list(allowed))
	}
	if r.Trigger == Absent && (r.Offset != Offset{}) {
		c.add(rf+".offset", "an absent reminder is sent when absence is recorded: remove the offset")
	}
	if r.Trigger == Overdue && r.Offset.Days < 1 {
		c.add(rf+".offset.days", "is %d: an overdue reminder needs at least 1 day after the due time", r.Offset.Days)
	}
	if r.Offset.Days < 0 {
		c.add(rf+".offset.days", "is %d: expected 0 or more (use trigger \"overdue\" for after the due time)", r.Offset.Days)
	}
	if r.Offset.At != "" {
		out.at, out.hasAt = c.clock(rf+".offset.at", r.Offset.At), true
	}
	if !oneOf(r.Recipient, knownRoles) {
		c.add(rf+".recipient", "unknown role %q: expected one of %s", r.Recipient, list(knownRoles))
	}
	if !oneOf(r.Channel, knownChannels) {
		c.add(rf+".channel", "unknown channel %q: expected one of %s", r.Channel, list(knownChannels))
	}
	if r.Template == "" {
		c.add(rf+".template", "missing: expected the message template key, e.g. \"session-reminder-day\"")
	} else {
		c.key(rf+".template", r.Template)
	}
	return out
}

func (c *checker) completion(p *Programme) {
	cr := p.Completion
	if cr.MinLabAttendancePercent < 0 || cr.MinLabAttendancePercent > 100 {
		c.add("completion.min_lab_attendance_percent", "is %d: expected a percentage from 0 to 100", cr.MinLabAttendancePercent)
	}
	if n := p.CheckpointCount(); cr.MinCheckpoints < 0 || cr.MinCheckpoints > n {
		c.add("completion.min_checkpoints", "is %d: expected 0 to %d, the number of checkpoints in experimentation.tasks", cr.MinCheckpoints, n)
	}
	if cr.ReflectionRequired && !p.hasKind(KindReflection) {
		c.add("completion.reflection_required", "is true but no task has kind %q: add a reflection task or set it to false", KindReflection)
	}
}

func (c *checker) delivery(d *Delivery) {
	if d == nil {
		return
	}
	if d.MaxPerPersonPerDay < 1 {
		c.add("delivery.max_per_person_per_day", "is %d: expected at least 1 e-mail a day (to send without a cap, remove the delivery section or give a large number)", d.MaxPerPersonPerDay)
	}
}

func (p *Programme) hasKind(k ItemKind) bool {
	for _, t := range p.Experimentation.Tasks {
		if t.Kind == k {
			return true
		}
	}
	return false
}
