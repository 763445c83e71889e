// Package wire is the JSON that people and systems see: the API's answers
// and the command line's --json, in one style, lowerCamelCase keys, written
// once here for both faces and described by /openapi.json.
//
// Its types stand for the store's, the workflows' and the application's
// types that the faces show, so that those carry no API casing: they keep
// their Go field names as JSON keys, and some of them must, because they go
// through Temporal and recorded histories must still replay (the record
// activity's input, and JourneyView, ItemView, Outcome and Upcoming, which a
// journey's query answers). Each type here has the fields of the one it
// stands for (TestMirrorsHaveTheirSourcesFields pairs them and names the
// exceptions), so converting is a Go conversion (struct tags do not count),
// or a few lines where it holds such types.
//
// The application's own views (views.PersonSummary, DashboardRow,
// TimelineEntry, ImportResult, CoachInbox...) are made for the faces and
// carry lowerCamelCase tags themselves.
package wire

import (
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Intake is an intake (cohort) of the programme: a store.Intake.
type Intake struct {
	ID               uuid.UUID          `json:"id"`
	Name             string             `json:"name"`
	ProgrammeID      string             `json:"programmeId"`
	ProgrammeVersion int                `json:"programmeVersion"`
	OpensAt          time.Time          `json:"opensAt"`
	ClosesAt         time.Time          `json:"closesAt"`
	StartsOn         time.Time          `json:"startsOn" doc:"The first day of the lab months (midnight Europe/London)"`
	Capacity         int                `json:"capacity" openapi:"minimum=0"`
	CoordinatorID    uuid.UUID          `json:"coordinatorId"`
	Status           store.IntakeStatus `json:"status"`
	CreatedAt        time.Time          `json:"createdAt"`
}

// Intakes are intakes as the faces show them.
func Intakes(in []store.Intake) []Intake {
	return each(in, func(i store.Intake) Intake { return Intake(i) })
}

// IntakeSummary is an intake with its numbers: a views.IntakeSummary.
type IntakeSummary struct {
	Intake
	Applications int            `json:"applications" openapi:"minimum=0" doc:"The number of journeys of the intake"`
	Counts       map[string]int `json:"counts" doc:"The intake's journeys by state"`
}

// IntakeSummaries are intakes with their numbers as the faces show them.
func IntakeSummaries(in []views.IntakeSummary) []IntakeSummary {
	return each(in, func(s views.IntakeSummary) IntakeSummary {
		return IntakeSummary{Intake: Intake(s.Intake), Applications: s.Applications, Counts: s.Counts}
	})
}

// Started is the answer to an intake's start: journeys by state, as the
// intake counts them (those it told to start are awaiting_start at once).
type Started struct {
	Counts map[workflows.Status]int `json:"counts" openapi:"nullable" doc:"The intake's journeys by state after the start, as the intake counts them: those it has told to start count as awaiting_start at once; the dashboard, read from their records, follows a moment later"`
}

// IntakeDashboard is an intake's numbers and a page of its journeys: a
// views.IntakeDashboard.
type IntakeDashboard struct {
	Intake           Intake               `json:"intake"`
	Coordinator      views.PersonSummary  `json:"coordinator"`
	Counts           map[string]int       `json:"counts" doc:"The intake's journeys by state"`
	ByLocalAuthority map[string]int       `json:"byLocalAuthority" doc:"Every application by local authority, whatever its state"`
	ByTheme          map[string]int       `json:"byTheme" doc:"Every application by theme, whatever its state"`
	Total            int                  `json:"total" openapi:"minimum=0" doc:"The number of the intake's journeys, on every page"`
	Rows             []views.DashboardRow `json:"rows" doc:"A page of the intake's journeys: participants by given, then family name (compared as bytes, capitals first), namesakes by journey ID, then the erased and those gone from the store. A page starts from where its journey is now: if that participant is renamed or erased between pages, the next page goes on from their new place and may skip or repeat others"`
	Previous         uuid.UUID            `json:"previous" doc:"Ask for ?before= this journey for the page before this one; the nil UUID on the first page, and on an empty page (after the last journey, or before the first)"`
	Next             uuid.UUID            `json:"next" doc:"Ask for ?after= this journey for the page after this one; the nil UUID on the last page, and on an empty page (after the last journey, or before the first)"`
}

// DashboardOf is d as the faces show it.
func DashboardOf(d views.IntakeDashboard) IntakeDashboard {
	return IntakeDashboard{Intake: Intake(d.Intake), Coordinator: d.Coordinator, Counts: d.Counts, ByLocalAuthority: d.ByLocalAuthority,
		ByTheme: d.ByTheme, Total: d.Total, Rows: d.Rows, Previous: d.Previous, Next: d.Next}
}

// JourneyDetail is everything about one journey: a views.JourneyDetail.
type JourneyDetail struct {
	Journey     Journey               `json:"journey"`
	IntakeName  string                `json:"intakeName"`
	Participant views.PersonSummary   `json:"participant"`
	Coach       views.PersonSummary   `json:"coach"`
	Live        *LiveJourney          `json:"live,omitempty"`
	LiveError   string                `json:"liveError,omitempty" doc:"Set, always to the same words, when the workflow could not be asked (Temporal down or slow); the cause is logged under the answer's X-Request-Id, which is what to quote to the administrators"`
	Upcoming    []Upcoming            `json:"upcoming,omitempty"`
	Timeline    []views.TimelineEntry `json:"timeline" doc:"The journey's recorded events, oldest first"`
}

// JourneyDetailOf is d as the faces show it.
func JourneyDetailOf(d views.JourneyDetail) JourneyDetail {
	out := JourneyDetail{Journey: Journey(d.Journey), IntakeName: d.IntakeName, Participant: d.Participant, Coach: d.Coach,
		LiveError: d.LiveError, Timeline: d.Timeline,
		Upcoming: each(d.Upcoming, func(u workflows.Upcoming) Upcoming { return Upcoming(u) })}
	if d.Live != nil {
		live := liveJourney(*d.Live)
		out.Live = &live
	}
	return out
}

// Journey is the store's projection of a journey: a store.JourneySnapshot,
// without the checkpoints only a coach's inbox reads.
type Journey struct {
	JourneyID        uuid.UUID          `json:"journeyId"`
	IntakeID         uuid.UUID          `json:"intakeId"`
	PersonID         uuid.UUID          `json:"personId"`
	CoachID          uuid.UUID          `json:"coachId" doc:"The nil UUID until a coach is assigned"`
	State            contract.Status    `json:"state"`
	Phase            string             `json:"phase"`
	NextDueItem      string             `json:"nextDueItem"`
	NextDueAt        time.Time          `json:"nextDueAt" doc:"0001-01-01T00:00:00Z when nothing is due"`
	OverdueCount     int                `json:"overdueCount" openapi:"minimum=0"`
	Outcome          contract.Status    `json:"outcome"`
	Checkpoints      []store.Checkpoint `json:"-"`
	CheckpointsKnown bool               `json:"-"`
}

// LiveJourney is the journey's workflow's own view: a workflows.JourneyView.
type LiveJourney struct {
	JourneyID        uuid.UUID        `json:"journeyId"`
	IntakeID         uuid.UUID        `json:"intakeId"`
	PersonID         uuid.UUID        `json:"personId"`
	CoachID          uuid.UUID        `json:"coachId"`
	ProgrammeID      string           `json:"programmeId"`
	ProgrammeVersion int              `json:"programmeVersion"`
	Status           workflows.Status `json:"status"`
	Phase            string           `json:"phase"`
	OfferLapsesAt    time.Time        `json:"offerLapsesAt"`
	StartsOn         time.Time        `json:"startsOn"`
	EndsAt           time.Time        `json:"endsAt"`
	PausedFor        time.Duration    `json:"pausedFor" doc:"How long the journey has been paused in all, in nanoseconds"`
	SessionsAttended int              `json:"sessionsAttended" openapi:"minimum=0"`
	SessionsTotal    int              `json:"sessionsTotal" openapi:"minimum=0"`
	Checkpoints      []Item           `json:"checkpoints" openapi:"nullable"`
	Tasks            []Item           `json:"tasks" openapi:"nullable"`
	Overdue          []string         `json:"overdue" openapi:"nullable" doc:"IDs of overdue items"`
	Outcome          *Outcome         `json:"outcome,omitempty"`
}

func liveJourney(v workflows.JourneyView) LiveJourney {
	item := func(i workflows.ItemView) Item { return Item(i) }
	return LiveJourney{JourneyID: v.JourneyID, IntakeID: v.IntakeID, PersonID: v.PersonID, CoachID: v.CoachID,
		ProgrammeID: v.ProgrammeID, ProgrammeVersion: v.ProgrammeVersion, Status: v.Status, Phase: v.Phase,
		OfferLapsesAt: v.OfferLapsesAt, StartsOn: v.StartsOn, EndsAt: v.EndsAt, PausedFor: v.PausedFor,
		SessionsAttended: v.SessionsAttended, SessionsTotal: v.SessionsTotal,
		Checkpoints: each(v.Checkpoints, item), Tasks: each(v.Tasks, item), Overdue: v.Overdue,
		Outcome: (*Outcome)(v.Outcome)}
}

// Item is a task or checkpoint of a journey and where it stands: a
// workflows.ItemView.
type Item struct {
	ID          string        `json:"id"`
	OpensAt     time.Time     `json:"opensAt"`
	DueAt       time.Time     `json:"dueAt"`
	CompletedAt time.Time     `json:"completedAt" doc:"0001-01-01T00:00:00Z while not completed"`
	RAG         workflows.RAG `json:"rag,omitempty"`
	Overdue     bool          `json:"overdue"`
}

// Outcome is how an ended journey went: a workflows.Outcome.
type Outcome struct {
	Completed         bool     `json:"completed"`
	AttendancePercent int      `json:"attendancePercent" openapi:"minimum=0"`
	Checkpoints       int      `json:"checkpoints" openapi:"minimum=0"`
	Reflection        bool     `json:"reflection"`
	Unmet             []string `json:"unmet" openapi:"nullable" doc:"Completion criteria not met: lab-attendance, checkpoints, reflection"`
}

// Upcoming is one thing ahead in a journey: a workflows.Upcoming.
type Upcoming struct {
	At     time.Time `json:"at"`
	What   string    `json:"what" doc:"session, due, reminder or offer-lapses"`
	ItemID string    `json:"itemId"`
	Detail string    `json:"detail"`
}

// TaskAnswer is a task handed in or a checkpoint completed: the
// workflows.Task the journey answers, without who (the caller) and the
// note's and request's IDs, which are the store's and Temporal's business.
type TaskAnswer struct {
	Task        string        `json:"task" doc:"The task or checkpoint: plan, reflection, checkpoint/3"`
	CompletedAt time.Time     `json:"completedAt"`
	Status      workflows.RAG `json:"status,omitempty"`
}

// TaskDone is the completion t of the task or checkpoint task as the faces
// show it.
func TaskDone(task string, t workflows.Task) TaskAnswer {
	return TaskAnswer{Task: task, CompletedAt: t.CompletedAt, Status: t.RAG}
}

// Erasure is what erasing a person removed: a store.PersonErasure.
type Erasure struct {
	PersonID        uuid.UUID `json:"personId"`
	ErasedAt        time.Time `json:"erasedAt"`
	NotesDeleted    int       `json:"notesDeleted" openapi:"minimum=0"`
	MessagesFailed  int       `json:"messagesFailed" openapi:"minimum=0" doc:"Messages queued for the person, given up"`
	TokensRevoked   int       `json:"tokensRevoked" openapi:"minimum=0"`
	SessionsEnded   int       `json:"sessionsEnded" openapi:"minimum=0"`
	SignInLinksGone int       `json:"signInLinksGone" openapi:"minimum=0"`
}

// Person is a person's record: a store.Person.
type Person struct {
	ID             uuid.UUID      `json:"id"`
	Role           store.Role     `json:"role"`
	GivenName      string         `json:"givenName"`
	FamilyName     string         `json:"familyName"`
	EmailAddress   string         `json:"email"`
	LocalAuthority string         `json:"localAuthority,omitempty"`
	Theme          string         `json:"theme,omitempty"`
	Language       store.Language `json:"language"`
	CreatedAt      time.Time      `json:"createdAt"`
	ErasedAt       time.Time      `json:"erasedAt,omitzero" doc:"When the person's data was erased; absent for everyone else"`
}

// People are people's records as the faces show them.
func People(ps []store.Person) []Person {
	return each(ps, func(p store.Person) Person { return Person(p) })
}

// each is f of every element of in; nil for nil, so a list absent stays
// absent (null) rather than becoming empty.
func each[T, U any](in []T, f func(T) U) []U {
	if in == nil {
		return nil
	}
	out := make([]U, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// LowerCamelCase is whether key is in the style of this package: a
// lower-case letter, then letters and digits, never two capitals in a row,
// so an initialism is a word like any other ("journeyId", "asOf", never
// "journeyID").
func LowerCamelCase(key string) bool {
	var previous rune
	for i, r := range key {
		lower, upper, digit := 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9'
		if !lower && (i == 0 || !(upper || digit)) || upper && 'A' <= previous && previous <= 'Z' {
			return false
		}
		previous = r
	}
	return key != ""
}
