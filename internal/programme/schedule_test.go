package programme

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var london = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// utc parses an RFC 3339 instant; the expected values in these tests were
// worked out by hand from a calendar (BST is UTC+1 until 31 Oct 2021 and
// again from 27 Mar 2022).
func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, london) }

func schedule(t *testing.T, in ScheduleInput) Schedule {
	t.Helper()
	s, err := Default().Schedule(in)
	if err != nil {
		t.Fatalf("Schedule(%v): %v", in.StartsOn, err)
	}
	return s
}

func itemByID(t *testing.T, s Schedule, id string) Item {
	t.Helper()
	for _, it := range s.Items {
		if it.ID == id {
			return it
		}
	}
	t.Fatalf("no item %q in schedule", id)
	return Item{}
}

func reminderAt(t *testing.T, s Schedule, key string) time.Time {
	t.Helper()
	for _, it := range s.Items {
		for _, r := range it.Reminders {
			if r.Key == key {
				return r.At
			}
		}
	}
	t.Fatalf("no reminder %q in schedule", key)
	return time.Time{}
}

type want struct {
	id            string
	opens, due    string
	phase         string
	kind          ItemKind
	assignee      Role
	reminderTimes map[string]string // rule key -> At
}

func checkItem(t *testing.T, s Schedule, w want) {
	t.Helper()
	it := itemByID(t, s, w.id)
	if w.opens != "" && !it.OpensAt.Equal(utc(w.opens)) {
		t.Errorf("%s opens %v, want %s", w.id, it.OpensAt, w.opens)
	}
	if !it.DueAt.Equal(utc(w.due)) {
		t.Errorf("%s due %v, want %s", w.id, it.DueAt, w.due)
	}
	if w.phase != "" && it.Phase != w.phase {
		t.Errorf("%s phase %q, want %q", w.id, it.Phase, w.phase)
	}
	if w.kind != "" && it.Kind != w.kind {
		t.Errorf("%s kind %q, want %q", w.id, it.Kind, w.kind)
	}
	if w.assignee != "" && it.Assignee != w.assignee {
		t.Errorf("%s assignee %q, want %q", w.id, it.Assignee, w.assignee)
	}
	for key, at := range w.reminderTimes {
		if got := reminderAt(t, s, w.id+"/"+key); !got.Equal(utc(at)) {
			t.Errorf("reminder %s/%s at %v, want %s", w.id, key, got, at)
		}
	}
}

// Cohort 1 commenced on Friday 1 October 2021.
func TestCohort1Schedule(t *testing.T) {
	s := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)})

	counts := map[ItemKind]int{}
	for _, it := range s.Items {
		counts[it.Kind]++
	}
	if want := map[ItemKind]int{KindSession: 12, KindCheckpoint: 6, KindPlan: 1, KindReflection: 1}; !reflect.DeepEqual(counts, want) {
		t.Errorf("item counts %v, want %v", counts, want)
	}
	if s.ProgrammeID != "infuse" || s.ProgrammeVersion != 1 {
		t.Errorf("schedule for %s v%d, want infuse v1", s.ProgrammeID, s.ProgrammeVersion)
	}
	if want := (Completion{MinLabAttendancePercent: 75, MinCheckpoints: 5, ReflectionRequired: true}); s.Completion != want {
		t.Errorf("completion %+v, want %+v", s.Completion, want)
	}

	for _, w := range []want{
		// Fridays in October, 10:00 BST; reminders a week before at the
		// session's time, and the day before at 09:00 BST.
		{id: "adaption-lab/1", opens: "2021-10-01T09:00:00Z", due: "2021-10-01T12:00:00Z", phase: "lab-1", kind: KindSession, assignee: Participant,
			reminderTimes: map[string]string{"7d": "2021-09-24T09:00:00Z", "1d": "2021-09-30T08:00:00Z"}},
		{id: "adaption-lab/4", opens: "2021-10-22T09:00:00Z", due: "2021-10-22T12:00:00Z", phase: "lab-1"},
		// Monday 1 November, after the clocks went back: 10:00 GMT. Its
		// day-before reminder would be Sunday, so it moves back to Friday
		// 29 October, 09:00 BST.
		{id: "procurement-lab/1", opens: "2021-11-01T10:00:00Z", due: "2021-11-01T13:00:00Z", phase: "lab-2",
			reminderTimes: map[string]string{"7d": "2021-10-25T09:00:00Z", "1d": "2021-10-29T08:00:00Z"}},
		{id: "procurement-lab/4", opens: "2021-11-22T10:00:00Z", due: "2021-11-22T13:00:00Z", phase: "lab-2"},
		{id: "data-lab/1", opens: "2021-12-01T10:00:00Z", due: "2021-12-01T13:00:00Z", phase: "lab-3"},
		{id: "data-lab/4", opens: "2021-12-22T10:00:00Z", due: "2021-12-22T13:00:00Z", phase: "lab-3",
			reminderTimes: map[string]string{"7d": "2021-12-15T10:00:00Z", "1d": "2021-12-21T09:00:00Z"}},
		// Experimentation starts Saturday 1 January 2022; Monday 3 January is
		// the New Year bank holiday; week 1 ends Friday 7 January.
		{id: "plan", opens: "2022-01-01T00:00:00Z", due: "2022-01-07T17:00:00Z", phase: "experimentation", kind: KindPlan, assignee: Participant,
			reminderTimes: map[string]string{"2d": "2022-01-05T17:00:00Z"}},
		// Every 14 days from a Saturday lands on Saturdays, so each
		// checkpoint is due the following Monday.
		{id: "checkpoint/1", opens: "2022-01-01T00:00:00Z", due: "2022-01-17T17:00:00Z", kind: KindCheckpoint, assignee: Coach,
			reminderTimes: map[string]string{"3d": "2022-01-14T17:00:00Z", "overdue-2d": "2022-01-19T09:00:00Z", "overdue-7d": "2022-01-24T09:00:00Z"}},
		{id: "checkpoint/2", opens: "2022-01-17T17:00:00Z", due: "2022-01-31T17:00:00Z"},
		{id: "checkpoint/3", opens: "2022-01-31T17:00:00Z", due: "2022-02-14T17:00:00Z"},
		{id: "checkpoint/4", opens: "2022-02-14T17:00:00Z", due: "2022-02-28T17:00:00Z"},
		{id: "checkpoint/5", opens: "2022-02-28T17:00:00Z", due: "2022-03-14T17:00:00Z"},
		// Monday 28 March 2022 is in BST: 17:00 BST is 16:00Z. Its 3-day
		// reminder on Friday 25 March is still GMT.
		{id: "checkpoint/6", opens: "2022-03-14T17:00:00Z", due: "2022-03-28T16:00:00Z",
			reminderTimes: map[string]string{"3d": "2022-03-25T17:00:00Z", "overdue-2d": "2022-03-30T08:00:00Z", "overdue-7d": "2022-04-04T08:00:00Z"}},
		// Month 6 ends before Friday 1 April 2022: due Thursday 31 March, 17:00 BST.
		{id: "reflection", due: "2022-03-31T16:00:00Z", kind: KindReflection, assignee: Participant,
			reminderTimes: map[string]string{"7d": "2022-03-24T17:00:00Z", "2d": "2022-03-29T16:00:00Z"}},
	} {
		checkItem(t, s, w)
	}

	wantPhases := []PhaseWindow{
		{Key: "lab-1", Lab: "adaption-lab", Start: utc("2021-09-30T23:00:00Z"), End: utc("2021-11-01T00:00:00Z")},
		{Key: "lab-2", Lab: "procurement-lab", Start: utc("2021-11-01T00:00:00Z"), End: utc("2021-12-01T00:00:00Z")},
		{Key: "lab-3", Lab: "data-lab", Start: utc("2021-12-01T00:00:00Z"), End: utc("2022-01-01T00:00:00Z")},
		{Key: "experimentation", Start: utc("2022-01-01T00:00:00Z"), End: utc("2022-03-31T16:00:00Z")},
	}
	if !reflect.DeepEqual(s.Phases, wantPhases) {
		t.Errorf("phases\n got %+v\nwant %+v", s.Phases, wantPhases)
	}
	if !s.EndsAt.Equal(utc("2022-03-31T16:00:00Z")) {
		t.Errorf("EndsAt %v, want the reflection due time 2022-03-31T16:00:00Z", s.EndsAt)
	}
	for _, it := range s.Items {
		for _, r := range it.Reminders {
			if r.Trigger == Absent {
				if !r.At.IsZero() || r.Template != "session-absence" {
					t.Errorf("absent reminder %s: At %v template %q, want zero time and session-absence", r.Key, r.At, r.Template)
				}
			}
			if r.Channel != "email" {
				t.Errorf("reminder %s channel %q, want email", r.Key, r.Channel)
			}
		}
	}
}

// A 09:00 reminder is 09:00 on the wall clock on both sides of 31 October
// 2021, when UK clocks went back: 08:00Z in October, 09:00Z in November.
func TestRemindersKeepLocalClockAcrossClockChange(t *testing.T) {
	s := schedule(t, ScheduleInput{
		StartsOn: day(2021, 10, 1),
		// Tuesday 2 November, so the day-before reminder is Monday 1 November.
		SessionMoves: map[string]time.Time{"procurement-lab/1": time.Date(2021, 11, 2, 10, 0, 0, 0, london)},
	})
	if got := reminderAt(t, s, "adaption-lab/2/1d"); !got.Equal(utc("2021-10-07T08:00:00Z")) {
		t.Errorf("October 09:00 reminder at %v, want 2021-10-07T08:00:00Z (09:00 BST)", got)
	}
	if got := reminderAt(t, s, "procurement-lab/1/1d"); !got.Equal(utc("2021-11-01T09:00:00Z")) {
		t.Errorf("1 November 09:00 reminder at %v, want 2021-11-01T09:00:00Z (09:00 GMT)", got)
	}
	// A week-before reminder keeps the session's 10:00 across the change too.
	if got := reminderAt(t, s, "procurement-lab/2/7d"); !got.Equal(utc("2021-11-01T10:00:00Z")) {
		t.Errorf("week-before reminder at %v, want 2021-11-01T10:00:00Z", got)
	}
	if got := reminderAt(t, s, "procurement-lab/1/7d"); !got.Equal(utc("2021-10-26T09:00:00Z")) {
		t.Errorf("week-before reminder in BST at %v, want 2021-10-26T09:00:00Z (10:00 BST)", got)
	}
}

func TestSessionsSkipBankHolidays(t *testing.T) {
	// Starting Wednesday 6 October 2021, the Data Lab runs from Monday 6
	// December; its fourth session would be Monday 27 December, and both
	// 27 and 28 December 2021 are bank holidays (Christmas Day and Boxing
	// Day fell at the weekend), so it moves to Wednesday 29 December.
	s := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 6)})
	checkItem(t, s, want{id: "data-lab/3", opens: "2021-12-20T10:00:00Z", due: "2021-12-20T13:00:00Z"})
	checkItem(t, s, want{id: "data-lab/4", opens: "2021-12-29T10:00:00Z", due: "2021-12-29T13:00:00Z",
		// The day before is the 28th, a bank holiday; then the 27th and the
		// weekend, so the reminder goes on Friday 24 December.
		reminderTimes: map[string]string{"1d": "2021-12-24T09:00:00Z", "7d": "2021-12-22T10:00:00Z"}})
	// The Procurement Lab month starts on Saturday 6 November: Monday 8th.
	checkItem(t, s, want{id: "procurement-lab/1", opens: "2021-11-08T10:00:00Z", due: "2021-11-08T13:00:00Z"})

	// Starting on Easter Monday 2022 (18 April): the first session moves to
	// Tuesday; the third would be Monday 2 May, the early May bank holiday.
	s = schedule(t, ScheduleInput{StartsOn: day(2022, 4, 18)})
	checkItem(t, s, want{id: "adaption-lab/1", opens: "2022-04-19T09:00:00Z", due: "2022-04-19T12:00:00Z",
		// The day before is Easter Monday, then Good Friday: Thursday 14 April.
		reminderTimes: map[string]string{"1d": "2022-04-14T08:00:00Z"}})
	checkItem(t, s, want{id: "adaption-lab/2", opens: "2022-04-25T09:00:00Z", due: "2022-04-25T12:00:00Z"})
	checkItem(t, s, want{id: "adaption-lab/3", opens: "2022-05-03T09:00:00Z", due: "2022-05-03T12:00:00Z",
		reminderTimes: map[string]string{"1d": "2022-04-29T08:00:00Z", "7d": "2022-04-26T09:00:00Z"}})
}

func TestBankHolidayCalendar(t *testing.T) {
	p := Default()
	for _, d := range []time.Time{
		day(2021, 12, 27), day(2021, 12, 28), day(2022, 1, 3), day(2022, 4, 15), day(2022, 4, 18),
		day(2022, 5, 2), day(2022, 6, 2), day(2022, 6, 3), day(2022, 8, 29), day(2022, 9, 19),
		day(2022, 12, 26), day(2022, 12, 27), day(2023, 5, 8), day(2021, 10, 2), day(2021, 10, 3),
	} {
		if p.IsWorkingDay(d) {
			t.Errorf("%s is a working day, want a weekend or England & Wales bank holiday", d.Format("Mon 2 Jan 2006"))
		}
	}
	for _, d := range []time.Time{day(2021, 12, 24), day(2021, 12, 29), day(2022, 8, 1), day(2022, 11, 30), day(2023, 1, 3)} {
		if !p.IsWorkingDay(d) {
			t.Errorf("%s is not a working day, want one (Scottish holidays do not apply)", d.Format("Mon 2 Jan 2006"))
		}
	}
	for _, tt := range []struct {
		at   string
		want bool
	}{
		{"2021-10-29T08:00:00Z", true},  // 09:00 BST Friday
		{"2021-10-29T07:59:00Z", false}, // 08:59 BST
		{"2021-11-01T09:00:00Z", true},  // 09:00 GMT Monday
		{"2021-11-01T17:29:00Z", true},
		{"2021-11-01T17:30:00Z", false}, // the working day ends at 17:30
		{"2021-10-30T10:00:00Z", false}, // Saturday
	} {
		if got := p.IsWorkingTime(utc(tt.at)); got != tt.want {
			t.Errorf("IsWorkingTime(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestReminderAlignment(t *testing.T) {
	c := Default().cal
	tests := []struct {
		name, at, earlier, later string
	}{
		{"inside hours stays", "2021-11-02T11:00:00Z", "2021-11-02T11:00:00Z", "2021-11-02T11:00:00Z"},
		{"Saturday", "2021-11-06T10:00:00Z", "2021-11-05T09:00:00Z", "2021-11-08T09:00:00Z"},
		{"evening", "2021-11-02T18:00:00Z", "2021-11-02T09:00:00Z", "2021-11-03T09:00:00Z"},
		{"early morning", "2021-11-02T07:00:00Z", "2021-11-01T09:00:00Z", "2021-11-02T09:00:00Z"},
		{"Christmas week", "2021-12-27T12:00:00Z", "2021-12-24T09:00:00Z", "2021-12-29T09:00:00Z"},
		// Friday 29 October 18:00 BST: later is Monday 1 November 09:00 GMT.
		{"over the clock change", "2021-10-29T17:00:00Z", "2021-10-29T08:00:00Z", "2021-11-01T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.earlier(utc(tt.at)); !got.Equal(utc(tt.earlier)) {
				t.Errorf("earlier(%s) = %v, want %s", tt.at, got, tt.earlier)
			}
			if got := c.later(utc(tt.at)); !got.Equal(utc(tt.later)) {
				t.Errorf("later(%s) = %v, want %s", tt.at, got, tt.later)
			}
		})
	}
}

// TestScheduleInvariants checks every start day over three years: no
// session on a non-working day, every reminder in working hours and on
// the right side of its item, phases contiguous, items sorted, keys unique.
func TestScheduleInvariants(t *testing.T) {
	p := Default()
	for start := day(2021, 1, 1); start.Before(day(2024, 1, 1)); start = start.AddDate(0, 0, 1) {
		s, err := p.Schedule(ScheduleInput{StartsOn: start})
		if err != nil {
			t.Fatal(err)
		}
		name := start.Format("2006-01-02")
		checkInvariants(t, p, name, s)
		if t.Failed() {
			return
		}
	}
}

func checkInvariants(t *testing.T, p *Programme, name string, s Schedule) {
	t.Helper()
	if len(s.Items) != 20 {
		t.Errorf("%s: %d items, want 20", name, len(s.Items))
	}
	if !slices.IsSortedFunc(s.Items, func(a, b Item) int { return a.OpensAt.Compare(b.OpensAt) }) {
		t.Errorf("%s: items not sorted by OpensAt", name)
	}
	keys := map[string]bool{}
	for _, it := range s.Items {
		local := it.OpensAt.In(london)
		if it.Kind == KindSession && (!p.IsWorkingDay(it.OpensAt) || local.Format("15:04") != "10:00") {
			t.Errorf("%s: session %s at %s, want 10:00 on a working day", name, it.ID, local.Format("Mon 2 Jan 2006 15:04"))
		}
		if it.Kind != KindSession && (!p.IsWorkingDay(it.DueAt) || it.DueAt.In(london).Format("15:04") != "17:00") {
			t.Errorf("%s: %s due %s, want 17:00 on a working day", name, it.ID, it.DueAt.In(london).Format("Mon 2 Jan 2006 15:04"))
		}
		if it.DueAt.After(s.EndsAt) {
			t.Errorf("%s: %s due after the journey ends", name, it.ID)
		}
		for _, r := range it.Reminders {
			if keys[r.Key] {
				t.Errorf("%s: duplicate reminder key %s", name, r.Key)
			}
			keys[r.Key] = true
			if !strings.HasPrefix(r.Key, it.ID+"/") {
				t.Errorf("%s: reminder %s does not start with its item ID", name, r.Key)
			}
			switch r.Trigger {
			case Absent:
				continue
			case BeforeDue:
				if !r.At.Before(reminderBase(it)) {
					t.Errorf("%s: %s at %v is not before its item (%v)", name, r.Key, r.At, reminderBase(it))
				}
			case Overdue:
				if !r.At.After(it.DueAt) {
					t.Errorf("%s: %s at %v is not after the due time %v", name, r.Key, r.At, it.DueAt)
				}
			}
			if !p.IsWorkingTime(r.At) {
				t.Errorf("%s: reminder %s at %s is outside working hours", name, r.Key, r.At.In(london).Format("Mon 2 Jan 2006 15:04"))
			}
		}
	}
	for i, ph := range s.Phases {
		if !ph.Start.Before(ph.End) {
			t.Errorf("%s: phase %s is empty", name, ph.Key)
		}
		if i > 0 && !s.Phases[i-1].End.Equal(ph.Start) {
			t.Errorf("%s: phase %s does not start where %s ends", name, ph.Key, s.Phases[i-1].Key)
		}
		for _, it := range s.Items {
			if it.Phase == ph.Key && (it.DueAt.Before(ph.Start) || it.DueAt.After(ph.End)) {
				t.Errorf("%s: %s (due %v) lies outside its phase %s [%v, %v)", name, it.ID, it.DueAt, ph.Key, ph.Start, ph.End)
			}
		}
	}
	if last := s.Phases[len(s.Phases)-1]; last.Key != PhaseExperimentation || !last.End.Equal(s.EndsAt) {
		t.Errorf("%s: last phase %s ends %v, want experimentation ending at EndsAt %v", name, last.Key, last.End, s.EndsAt)
	}
}

func TestScheduleIsDeterministicAndUsesLocalStartDay(t *testing.T) {
	a := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)})
	// 22:30Z on 1 October is 23:30 BST, still 1 October in Wales; 23:30Z
	// on 30 September is already 1 October, 00:30 BST.
	b := schedule(t, ScheduleInput{StartsOn: utc("2021-10-01T22:30:00Z")})
	c := schedule(t, ScheduleInput{StartsOn: utc("2021-09-30T23:30:00Z")})
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, c) {
		t.Error("schedules for the same local start day differ")
	}
}

func TestMonthsAreClampedToMonthEnd(t *testing.T) {
	s := schedule(t, ScheduleInput{StartsOn: day(2022, 1, 31)})
	for i, w := range []string{"2022-01-31T00:00:00Z", "2022-02-28T00:00:00Z", "2022-03-30T23:00:00Z", "2022-04-29T23:00:00Z"} {
		if got := s.Phases[i].Start; !got.Equal(utc(w)) {
			t.Errorf("phase %s starts %v, want %s", s.Phases[i].Key, got, w)
		}
	}
	// StartsOn + 6 months is 31 July 2022, a Sunday: due Friday 29 July.
	checkItem(t, s, want{id: "reflection", due: "2022-07-29T16:00:00Z"})
}

func TestSessionMoves(t *testing.T) {
	before := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)})
	// Friday 8 October moves to Tuesday 19 October, 14:00 BST: after the
	// third session, so the order of items changes too.
	moved := time.Date(2021, 10, 19, 14, 0, 0, 0, london)
	s := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1), SessionMoves: map[string]time.Time{"adaption-lab/2": moved}})
	checkItem(t, s, want{id: "adaption-lab/2", opens: "2021-10-19T13:00:00Z", due: "2021-10-19T16:00:00Z", phase: "lab-1",
		reminderTimes: map[string]string{"7d": "2021-10-12T13:00:00Z", "1d": "2021-10-18T08:00:00Z"}})

	var order []string
	for _, it := range s.Items[:4] {
		order = append(order, it.ID)
	}
	if want := []string{"adaption-lab/1", "adaption-lab/3", "adaption-lab/2", "adaption-lab/4"}; !slices.Equal(order, want) {
		t.Errorf("first items %v, want %v (sorted by start)", order, want)
	}
	// Nothing else moves.
	for _, it := range before.Items {
		if it.ID == "adaption-lab/2" {
			continue
		}
		if got := itemByID(t, s, it.ID); !reflect.DeepEqual(got, it) {
			t.Errorf("%s changed although only adaption-lab/2 moved", it.ID)
		}
	}
}

func TestSessionMovesRejectsUnknownItems(t *testing.T) {
	_, err := Default().Schedule(ScheduleInput{
		StartsOn: day(2021, 10, 1),
		SessionMoves: map[string]time.Time{
			"adaption-lab/9": day(2021, 10, 12),
			"plan":           day(2022, 1, 10),
			"data-lab/1":     {},
		},
	})
	if err == nil {
		t.Fatal("Schedule accepted moves of unknown and non-session items")
	}
	for _, want := range []string{
		`SessionMoves["adaption-lab/9"]: no such item`,
		`SessionMoves["plan"]: the item is a plan, not a session`,
		`SessionMoves["data-lab/1"]: the new start time is zero`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not contain %q:\n%v", want, err)
		}
	}
}

func TestShiftDelaysItems(t *testing.T) {
	// A three-day pause; 71h30m rounds to the same three days.
	for _, shift := range []time.Duration{72 * time.Hour, 71*time.Hour + 30*time.Minute} {
		s := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1), Shift: shift})
		for _, w := range []want{
			{id: "adaption-lab/1", opens: "2021-10-04T09:00:00Z", due: "2021-10-04T12:00:00Z",
				reminderTimes: map[string]string{"7d": "2021-09-27T09:00:00Z", "1d": "2021-10-01T08:00:00Z"}},
			// 29 October 10:00 BST plus three days is 1 November; 10:00 GMT.
			{id: "adaption-lab/4", opens: "2021-10-25T09:00:00Z", due: "2021-10-25T12:00:00Z"},
			{id: "procurement-lab/1", opens: "2021-11-04T10:00:00Z", due: "2021-11-04T13:00:00Z"},
			// The week now runs Tuesday 4 to Monday 10 January.
			{id: "plan", opens: "2022-01-04T00:00:00Z", due: "2022-01-10T17:00:00Z"},
			// Saturday 15 January plus three days is Tuesday 18 January. Three
			// days before is a Saturday, so the reminder moves back to
			// Friday's opening, 09:00.
			{id: "checkpoint/1", due: "2022-01-18T17:00:00Z", reminderTimes: map[string]string{"3d": "2022-01-14T09:00:00Z"}},
			// 1 April plus three days is Monday 4 April: due Friday 1 April, 17:00 BST.
			{id: "reflection", due: "2022-04-01T16:00:00Z"},
		} {
			checkItem(t, s, w)
		}
		if !s.EndsAt.Equal(utc("2022-04-01T16:00:00Z")) || !s.Phases[0].Start.Equal(utc("2021-10-03T23:00:00Z")) {
			t.Errorf("shift %v: EndsAt %v, lab-1 starts %v; want 2022-04-01T16:00Z and 2021-10-03T23:00Z", shift, s.EndsAt, s.Phases[0].Start)
		}
	}
	// Under half a day rounds to no shift at all.
	if a, b := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)}), schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1), Shift: 11 * time.Hour}); !reflect.DeepEqual(a, b) {
		t.Error("an 11-hour pause changed the schedule; want it rounded to 0 days")
	}
	if _, err := Default().Schedule(ScheduleInput{StartsOn: day(2021, 10, 1), Shift: -time.Hour}); err == nil {
		t.Error("Schedule accepted a negative shift")
	}
	if _, err := Default().Schedule(ScheduleInput{}); err == nil || !strings.Contains(err.Error(), "StartsOn is zero") {
		t.Errorf("Schedule without StartsOn: error %v", err)
	}
}

func TestOfferPlan(t *testing.T) {
	p := Default()
	tests := []struct {
		name, offered, lapses, reminder string
	}{
		// Offered Friday 17 September 2021, 14:00 BST: lapses Friday 24th,
		// 17:00 BST; reminded Wednesday 22nd at 17:00 BST.
		{"ordinary week", "2021-09-17T13:00:00Z", "2021-09-24T16:00:00Z", "2021-09-22T16:00:00Z"},
		// Offered Monday 20 December 2021: the 27th and 28th are bank
		// holidays, so it lapses Wednesday 29th; the reminder two days
		// before (the 27th) moves back to Christmas Eve, 09:00.
		{"over Christmas", "2021-12-20T10:00:00Z", "2021-12-29T17:00:00Z", "2021-12-24T09:00:00Z"},
		// Offered Saturday 23 October 2021 (BST); lapses Saturday 30th, so
		// Monday 1 November 17:00 GMT; reminder Saturday → Friday 29 October 09:00 BST.
		{"lapse at the weekend", "2021-10-23T09:00:00Z", "2021-11-01T17:00:00Z", "2021-10-29T08:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := p.OfferPlan(utc(tt.offered))
			if !o.LapsesAt.Equal(utc(tt.lapses)) {
				t.Errorf("LapsesAt %v, want %s", o.LapsesAt, tt.lapses)
			}
			if len(o.Reminders) != 1 {
				t.Fatalf("%d reminders, want 1", len(o.Reminders))
			}
			r := o.Reminders[0]
			if r.Key != "offer/2d" || r.Trigger != BeforeDue || r.Recipient != Participant || r.Template != "offer-reminder" || r.Channel != "email" {
				t.Errorf("reminder %+v, want offer/2d before, to the participant, offer-reminder by email", r)
			}
			if !r.At.Equal(utc(tt.reminder)) {
				t.Errorf("reminder at %v, want %s", r.At, tt.reminder)
			}
		})
	}
}

func TestOfferPlanDropsRemindersBeforeTheOffer(t *testing.T) {
	p, err := parseEdited(t, func(p *Programme) { p.Application.OfferValidDays = 1 })
	if err != nil {
		t.Fatal(err)
	}
	// Offered Tuesday 2 November 2021; lapses Wednesday; "2 days before"
	// would be Monday, before the offer existed.
	o := p.OfferPlan(utc("2021-11-02T10:00:00Z"))
	if !o.LapsesAt.Equal(utc("2021-11-03T17:00:00Z")) || len(o.Reminders) != 0 {
		t.Errorf("offer plan %+v, want lapse 2021-11-03T17:00Z and no reminders", o)
	}
}

// Another programme runs by editing data alone: two labs of three
// fortnightly sessions, four months of experimentation with three monthly
// checkpoints and no plan, and a calendar with no bank holidays but a
// closure day.
func TestScheduleFromOtherData(t *testing.T) {
	p, err := parseEdited(t, func(p *Programme) {
		p.ID, p.Version = "pilot", 3
		p.WorkingHours.BankHolidays = NoBankHolidays
		p.WorkingHours.Closures = []string{"2021-10-15"}
		p.Labs = p.Labs[:2]
		for i := range p.Labs {
			p.Labs[i].Sessions, p.Labs[i].EveryDays, p.Labs[i].Duration = 3, 14, "2h"
		}
		p.Experimentation.Tasks = p.Experimentation.Tasks[1:]
		cp := &p.Experimentation.Tasks[0]
		cp.Repeat, cp.Due.AfterDays, cp.Due.AfterMonths = 3, 0, 1
		p.Experimentation.Tasks[1].Due.AfterMonths = 4
		p.Experimentation.Months = 4
		p.Completion.MinCheckpoints = 2
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Schedule(ScheduleInput{StartsOn: day(2021, 10, 1)})
	if err != nil {
		t.Fatal(err)
	}
	var ids, phases []string
	for _, it := range s.Items {
		ids = append(ids, it.ID)
	}
	for _, ph := range s.Phases {
		phases = append(phases, ph.Key)
	}
	// The reflection opens with the phase, so it sorts after checkpoint/1.
	wantIDs := []string{"adaption-lab/1", "adaption-lab/2", "adaption-lab/3", "procurement-lab/1", "procurement-lab/2", "procurement-lab/3",
		"checkpoint/1", "reflection", "checkpoint/2", "checkpoint/3"}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("items %v\nwant %v", ids, wantIDs)
	}
	if want := []string{"lab-1", "lab-2", "experimentation"}; !slices.Equal(phases, want) {
		t.Errorf("phases %v, want %v", phases, want)
	}
	// Friday 15 October is a closure: the second session moves to Monday 18th.
	checkItem(t, s, want{id: "adaption-lab/2", opens: "2021-10-18T09:00:00Z", due: "2021-10-18T11:00:00Z"})
	// Experimentation starts 1 December; checkpoints monthly from 1 January
	// 2022. With no bank holidays, New Year's Day (Saturday) moves only to
	// Monday 3 January.
	checkItem(t, s, want{id: "checkpoint/1", due: "2022-01-03T17:00:00Z"})
	checkItem(t, s, want{id: "checkpoint/3", opens: "2022-02-01T17:00:00Z", due: "2022-03-01T17:00:00Z"})
	// Four months of experimentation end before 1 April 2022: Thursday 31 March, 17:00 BST.
	checkItem(t, s, want{id: "reflection", due: "2022-03-31T16:00:00Z"})
	if s.Completion.MinCheckpoints != 2 || !s.EndsAt.Equal(utc("2022-03-31T16:00:00Z")) {
		t.Errorf("completion %+v, EndsAt %v; want 2 checkpoints and the reflection's due time", s.Completion, s.EndsAt)
	}
}

func TestBeforeReminderNeverFollowsItsItem(t *testing.T) {
	// A same-day rule at 12:00 for a 10:00 session would come after it.
	p, err := parseEdited(t, func(p *Programme) { p.Labs[0].Reminders[1].Offset = Offset{Days: 0, At: "12:00"} })
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Schedule(ScheduleInput{StartsOn: day(2021, 10, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Friday 1 October 2021, 09:59 BST: the last working minute before the session.
	if got := reminderAt(t, s, "adaption-lab/1/1d"); !got.Equal(utc("2021-10-01T08:59:00Z")) {
		t.Errorf("reminder at %v, want 2021-10-01T08:59:00Z", got)
	}
}

// Programmes are shared between activity goroutines; run with -race.
func TestScheduleIsSafeForConcurrentUse(t *testing.T) {
	want := schedule(t, ScheduleInput{StartsOn: day(2021, 10, 1)})
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			s, err := Default().Schedule(ScheduleInput{StartsOn: day(2021, 10, 1)})
			if err == nil && !reflect.DeepEqual(s, want) {
				err = errors.New("concurrent schedule differs")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
