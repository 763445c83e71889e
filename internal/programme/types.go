package programme

import "time"

// Role is who a reminder goes to.
type Role string

const (
	Participant Role = "participant"
	Coach       Role = "coach"
	Coordinator Role = "coordinator"
)

// ItemKind is what a schedule item is.
type ItemKind string

const (
	KindSession    ItemKind = "session"    // a lab session; attendance is recorded
	KindPlan       ItemKind = "plan"       // experiment plan, submitted by the participant
	KindCheckpoint ItemKind = "checkpoint" // coaching checkpoint, completed by the coach
	KindReflection ItemKind = "reflection" // final reflection, submitted by the participant
)

// Trigger says when a reminder rule applies.
type Trigger string

const (
	// BeforeDue fires at the item's time minus the offset, whatever happens.
	BeforeDue Trigger = "before"
	// Overdue fires at the item's due time plus the offset, only if the item is still open.
	Overdue Trigger = "overdue"
	// Absent fires when attendance is recorded as absent (sessions only).
	Absent Trigger = "absent"
)

// Schedule is a programme version made concrete for one journey: every
// item and reminder with an instant in time. It is computed by an activity
// and kept in workflow state, so a later change to holiday data or to this
// package never changes a running journey (replay stays deterministic).
type Schedule struct {
	ProgrammeID      string
	ProgrammeVersion int
	Phases           []PhaseWindow
	Items            []Item
	Completion       Completion
	// EndsAt is when the journey is assessed for completion.
	EndsAt time.Time
}

// PhaseWindow is one phase of the journey, [Start, End).
type PhaseWindow struct {
	Key   string // "lab-1", "lab-2", "lab-3", "experimentation"
	Start time.Time
	End   time.Time
	// Lab is the lab's key ("adaption-lab") for a lab phase, "" otherwise.
	Lab string
}

// Item is one session or task of a journey.
type Item struct {
	ID    string // stable within a programme version: "adaption-lab/1", "plan", "checkpoint/3", "reflection"
	Kind  ItemKind
	Phase string // the PhaseWindow key it belongs to
	// OpensAt is when a task can be completed (for sessions, the session start).
	OpensAt time.Time
	// DueAt is when a task is due (for sessions, the session end).
	DueAt     time.Time
	Reminders []Reminder
	// Assignee is whose item it is: the coach for checkpoints, the
	// participant for sessions (attendance), plans and reflections.
	Assignee Role
}

// Reminder is one message planned for an item.
type Reminder struct {
	Key       string // unique within the journey: item ID + "/" + rule key, e.g. "adaption-lab/1/7d"
	Trigger   Trigger
	At        time.Time // zero for Absent reminders (sent when absence is recorded)
	Recipient Role
	Template  string
	Channel   string
}

// Completion is what a participant must achieve to complete.
type Completion struct {
	MinLabAttendancePercent int  // e.g. 75
	MinCheckpoints          int  // e.g. 5
	ReflectionRequired      bool // reflection must be submitted
}

// OfferPlan is the offer rules made concrete for one offer.
type OfferPlan struct {
	LapsesAt  time.Time
	Reminders []Reminder // reminders to the applicant while the offer stands
}

// ScheduleInput is what turns a programme version into a journey's schedule.
type ScheduleInput struct {
	// StartsOn is the intake's first day (any time on that day, Europe/London).
	StartsOn time.Time
	// SessionMoves gives new start times for rescheduled sessions, by item ID.
	SessionMoves map[string]time.Time
	// Shift delays every item by the total time the journey was paused.
	Shift time.Duration
}

// MapTimes replaces every instant of the schedule with f of it: how a
// schedule planned on another clock (a rehearsal's, a test's) is brought
// onto the real one. Zero instants (an absence reminder's) stay zero.
func (s *Schedule) MapTimes(f func(time.Time) time.Time) {
	for i := range s.Phases {
		s.Phases[i].Start, s.Phases[i].End = mapTime(f, s.Phases[i].Start), mapTime(f, s.Phases[i].End)
	}
	for i := range s.Items {
		it := &s.Items[i]
		it.OpensAt, it.DueAt = mapTime(f, it.OpensAt), mapTime(f, it.DueAt)
		mapReminders(f, it.Reminders)
	}
	s.EndsAt = mapTime(f, s.EndsAt)
}

// MapTimes replaces every instant of the offer plan with f of it.
func (o *OfferPlan) MapTimes(f func(time.Time) time.Time) {
	o.LapsesAt = mapTime(f, o.LapsesAt)
	mapReminders(f, o.Reminders)
}

func mapReminders(f func(time.Time) time.Time, rs []Reminder) {
	for i := range rs {
		rs[i].At = mapTime(f, rs[i].At)
	}
}

// mapTime is f(t), keeping "no time" as it is.
func mapTime(f func(time.Time) time.Time, t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return f(t)
}
