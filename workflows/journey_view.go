package workflows

import (
	"sort"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// JourneyView is the detail view of one journey, answered by the state query.
type JourneyView struct {
	JourneyID        uuid.UUID
	IntakeID         uuid.UUID
	PersonID         uuid.UUID
	CoachID          uuid.UUID
	ProgrammeID      string
	ProgrammeVersion int
	Status           Status
	Phase            string
	OfferLapsesAt    time.Time `json:",omitempty"`
	StartsOn         time.Time `json:",omitempty"`
	EndsAt           time.Time `json:",omitempty"`
	PausedFor        time.Duration
	SessionsAttended int
	SessionsTotal    int
	Checkpoints      []ItemView
	Tasks            []ItemView
	Overdue          []string
	Outcome          *Outcome `json:",omitempty"`
}

// ItemView is one task or checkpoint with where it stands.
type ItemView struct {
	ID          string
	OpensAt     time.Time
	DueAt       time.Time
	CompletedAt time.Time `json:",omitempty"`
	RAG         RAG       `json:",omitempty"`
	Overdue     bool
}

// Upcoming is one thing ahead in a journey: a session, a due date or a reminder.
type Upcoming struct {
	At     time.Time
	What   string // "session", "due", "reminder"
	ItemID string
	Detail string // template for reminders
}

// ScheduledItem is one session or task of the journey's current schedule,
// answered by the schedule query.
type ScheduledItem struct {
	ID   string
	Kind programme.ItemKind
	// OpensAt and DueAt are a session's start and end, or when a task opens
	// and is due, after any reschedule or pause.
	OpensAt time.Time
	DueAt   time.Time
	// Revision counts how often the item's time has changed: the SEQUENCE
	// of the calendar invites e-mailed for it.
	Revision int
	// Done: the session's attendance is recorded as present, or the task completed.
	Done bool
}

// scheduled lists the journey's schedule as it now stands; nil before the
// programme is scheduled.
func (j *journey) scheduled() []ScheduledItem {
	if j.Schedule == nil {
		return nil
	}
	out := make([]ScheduledItem, 0, len(j.Schedule.Items))
	for _, it := range j.Schedule.Items {
		out = append(out, ScheduledItem{
			ID: it.ID, Kind: it.Kind, OpensAt: it.OpensAt, DueAt: it.DueAt,
			Revision: j.Revisions[it.ID], Done: j.itemDone(it),
		})
	}
	return out
}

func (j *journey) view(now time.Time) JourneyView {
	v := JourneyView{
		JourneyID: j.JourneyID, IntakeID: j.IntakeID, PersonID: j.PersonID, CoachID: j.CoachID,
		ProgrammeID: j.ProgrammeID, ProgrammeVersion: j.ProgrammeVersion,
		Status: j.Status, Phase: j.Phase, StartsOn: j.StartsOn, PausedFor: j.Shift, Outcome: j.Outcome,
	}
	if j.Offer != nil && j.Status == contract.StatusOffered {
		v.OfferLapsesAt = j.Offer.LapsesAt
	}
	if j.Schedule == nil {
		return v
	}
	v.EndsAt = j.Schedule.EndsAt
	for _, it := range j.Schedule.Items {
		if it.Kind == programme.KindSession {
			v.SessionsTotal++
			if j.Attendance[it.ID] {
				v.SessionsAttended++
			}
			continue
		}
		iv := ItemView{ID: it.ID, OpensAt: it.OpensAt, DueAt: it.DueAt}
		if t, ok := j.Tasks[it.ID]; ok {
			iv.CompletedAt, iv.RAG = t.CompletedAt, t.RAG
		} else if !j.Status.Terminal() && !it.DueAt.After(now) {
			iv.Overdue = true
			v.Overdue = append(v.Overdue, it.ID)
		}
		if it.Kind == programme.KindCheckpoint {
			v.Checkpoints = append(v.Checkpoints, iv)
		} else {
			v.Tasks = append(v.Tasks, iv)
		}
	}
	return v
}

// upcoming lists the next few sessions, due dates and reminders after now.
func (j *journey) upcoming(now time.Time, limit int) []Upcoming {
	var out []Upcoming
	add := func(u Upcoming) {
		if u.At.After(now) {
			out = append(out, u)
		}
	}
	if j.Status == contract.StatusOffered && j.Offer != nil {
		add(Upcoming{At: j.Offer.LapsesAt, What: "offer-lapses"})
		for _, r := range j.Offer.Reminders {
			add(Upcoming{At: r.At, What: "reminder", Detail: r.Template})
		}
	}
	if j.Schedule != nil && !j.Status.Terminal() {
		for _, it := range j.Schedule.Items {
			if j.itemDone(it) {
				continue
			}
			if it.Kind == programme.KindSession {
				add(Upcoming{At: it.OpensAt, What: "session", ItemID: it.ID})
			} else {
				add(Upcoming{At: it.DueAt, What: "due", ItemID: it.ID})
			}
			for _, r := range it.Reminders {
				if r.Trigger == programme.BeforeDue {
					add(Upcoming{At: r.At, What: "reminder", ItemID: it.ID, Detail: r.Template})
				}
			}
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].At.Before(out[b].At) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
