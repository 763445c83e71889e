// Package views is what coordinators, coaches and participants see: a
// journey in detail, an intake's dashboard and list, a coach's inbox, a
// participant's journeys and calendar, the schedules forms name. Temporal
// holds only IDs, so names come from the store; lists come from the
// store's projections (Temporal's visibility is eventually consistent and
// forgets closed workflows after retention); a journey's live state comes
// from its workflow, through starter, when it can be asked.
package views

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Store is what the views read: people, intakes, and the projections and
// event log of journeys.
type Store interface {
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	ListIntakes(ctx context.Context) ([]store.Intake, error)
	IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error)
	TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.Tally, error)
	Roster(ctx context.Context, intakeID uuid.UUID, page store.RosterPage, each func(store.RosterEntry) error) error
	GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error)
	ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error)
	JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error)
	JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]store.JourneySnapshot, error)
	Caseload(ctx context.Context, coachID uuid.UUID) ([]store.CaseloadEntry, error)
	JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]store.JourneySnapshot, error)
	ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error)
}

// Service answers what people see.
type Service struct {
	// Workflows is asked for live state; nil, the views answer from the
	// store alone (what a store-only tool or test needs).
	Workflows *starter.Workflows
	Store     Store
	// Now is the time what is due and overdue is worked out at; tests may set it.
	Now func() time.Time
}

// New returns a Service using the wall clock.
func New(w *starter.Workflows, st Store) *Service {
	return &Service{Workflows: w, Store: st, Now: time.Now}
}

// PersonSummary is how a person appears in a view.
type PersonSummary struct {
	ID             uuid.UUID `json:"id" doc:"The nil UUID for nobody (no coach assigned)"`
	Name           string    `json:"name" doc:"\"(erased)\" for a person whose data has been erased"`
	Email          string    `json:"email,omitempty"`
	LocalAuthority string    `json:"localAuthority,omitempty"`
	Theme          string    `json:"theme,omitempty"`
}

// ErasedName stands in for a person whose data has been erased under UK
// GDPR (or who is no longer in the store): their journeys still count,
// under no name.
const ErasedName = "(erased)"

// summarise is a person looked up, named as a list names them.
func summarise(p store.Person) PersonSummary {
	return listedSummary(p.ID, store.Listed{Known: true, GivenName: p.GivenName, FamilyName: p.FamilyName,
		LocalAuthority: p.LocalAuthority, Theme: p.Theme, Erased: !p.ErasedAt.IsZero()}, p.EmailAddress)
}

func fullName(given, family string) string { return strings.TrimSpace(given + " " + family) }

// listedName is how a list names a person: ErasedName for one erased or
// gone (say so rather than show an empty name), none for nobody (a
// journey's coach before one is assigned).
func listedName(id uuid.UUID, p store.Listed) string { return listedSummary(id, p, "").Name }

// listedSummary is a person as every view names them, whether listed
// (Roster, Caseload) or looked up (summarise): nobody for no ID;
// ErasedName for one gone from the store, or erased, who keeps their
// authority and theme for funders' counts but not their name or address.
func listedSummary(id uuid.UUID, p store.Listed, email string) PersonSummary {
	switch {
	case id == uuid.Nil:
		return PersonSummary{}
	case !p.Known:
		return PersonSummary{ID: id, Name: ErasedName}
	case p.Erased:
		return PersonSummary{ID: id, Name: ErasedName, LocalAuthority: p.LocalAuthority, Theme: p.Theme}
	}
	return PersonSummary{ID: id, Name: fullName(p.GivenName, p.FamilyName), Email: email,
		LocalAuthority: p.LocalAuthority, Theme: p.Theme}
}

// people looks people up once per view.
type people struct {
	s    Store
	seen map[uuid.UUID]PersonSummary
}

func (s *Service) people() *people { return &people{s: s.Store, seen: map[uuid.UUID]PersonSummary{}} }

func (pp *people) get(ctx context.Context, id uuid.UUID) (PersonSummary, error) {
	if id == uuid.Nil {
		return PersonSummary{}, nil
	}
	if p, ok := pp.seen[id]; ok {
		return p, nil
	}
	p, err := pp.s.GetPerson(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		pp.seen[id] = listedSummary(id, store.Listed{}, "")
	case err != nil:
		return PersonSummary{}, err
	default:
		pp.seen[id] = summarise(p)
	}
	return pp.seen[id], nil
}

// WorkflowUnavailable is what a caller is told when a journey's workflow
// could not be asked (Temporal down or slow): the same words whatever the
// cause, which goes to the log.
const WorkflowUnavailable = "Its workflow could not be asked just now; try again in a moment. If this lasts, tell the programme's administrators."

// JourneyDetail is everything about one journey.
type JourneyDetail struct {
	Journey     store.JourneySnapshot // the store's projection
	IntakeName  string
	Participant PersonSummary
	Coach       PersonSummary // zero when no coach is assigned
	// Live is the workflow's own view; nil when the workflow is gone (past
	// retention) or could not be asked, in which case LiveError is
	// WorkflowUnavailable and LiveCause the error, for the log only: it
	// may name servers, ports and internals no caller should see.
	Live      *workflows.JourneyView `json:",omitempty"`
	LiveError string                 `json:",omitempty"`
	LiveCause error                  `json:"-"`
	Upcoming  []workflows.Upcoming   `json:",omitempty"`
	// Timeline is the journey's durable record, from the store's event log.
	Timeline []TimelineEntry
}

// TimelineEntry is one recorded event of a journey.
type TimelineEntry struct {
	At    time.Time       `json:"at"`
	Event string          `json:"event"`
	Item  string          `json:"item,omitempty"`
	State contract.Status `json:"state,omitempty"`
}

// JourneyDetail combines the journey's live state (from its workflow) with
// the store's projection, names and event log.
func (s *Service) JourneyDetail(ctx context.Context, journeyID uuid.UUID) (JourneyDetail, error) {
	var d JourneyDetail
	live, upcoming, liveErr := s.liveJourney(ctx, journeyID)
	snap, err := s.Store.GetJourney(ctx, journeyID)
	switch {
	case errors.Is(err, store.ErrNotFound) && live == nil:
		if liveErr != nil && !errors.Is(liveErr, apperr.ErrNotFound) {
			return d, liveErr
		}
		return d, fmt.Errorf("%w: no journey %s", apperr.ErrNotFound, journeyID)
	case errors.Is(err, store.ErrNotFound):
		snap = unprojected(journeyID, live)
	case err != nil:
		return d, err
	}
	d.Journey, d.Live, d.Upcoming = snap, live, upcoming
	if liveErr != nil && !errors.Is(liveErr, apperr.ErrNotFound) {
		d.LiveError, d.LiveCause = WorkflowUnavailable, liveErr
	}
	if err := s.nameJourney(ctx, &d); err != nil {
		return d, err
	}
	d.Timeline, err = s.timeline(ctx, journeyID)
	return d, err
}

// liveJourney asks the workflow for its state and what is ahead.
func (s *Service) liveJourney(ctx context.Context, journeyID uuid.UUID) (*workflows.JourneyView, []workflows.Upcoming, error) {
	var v workflows.JourneyView
	if err := s.Workflows.QueryJourney(ctx, journeyID, workflows.QueryState, &v); err != nil {
		return nil, nil, err
	}
	var up []workflows.Upcoming
	if err := s.Workflows.QueryJourney(ctx, journeyID, workflows.QueryUpcoming, &up); err != nil {
		return &v, nil, err
	}
	return &v, up, nil
}

func (s *Service) nameJourney(ctx context.Context, d *JourneyDetail) error {
	pp := s.people()
	var err error
	if d.Participant, err = pp.get(ctx, d.Journey.PersonID); err != nil {
		return err
	}
	coach := d.Journey.CoachID
	if d.Live != nil {
		coach = d.Live.CoachID
	}
	if d.Coach, err = pp.get(ctx, coach); err != nil {
		return err
	}
	in, err := s.Store.GetIntake(ctx, d.Journey.IntakeID)
	if err == nil {
		d.IntakeName = in.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (s *Service) timeline(ctx context.Context, journeyID uuid.UUID) ([]TimelineEntry, error) {
	events, err := s.Store.JourneyEvents(ctx, journeyID)
	if err != nil {
		return nil, err
	}
	out := make([]TimelineEntry, 0, len(events))
	for _, ev := range events {
		e := TimelineEntry{At: ev.OccurredAt, Event: ev.Type, Item: eventItem(ev.Data)}
		if ev.Snapshot != nil {
			e.State = ev.Snapshot.State
		}
		out = append(out, e)
	}
	return out, nil
}

// eventItem is the schedule item an event is about, if any.
func eventItem(data json.RawMessage) string {
	var d struct {
		Item string `json:"item"`
	}
	if len(data) == 0 || json.Unmarshal(data, &d) != nil {
		return ""
	}
	return d.Item
}

// IntakeDashboard is a coordinator's view of one intake: its counts, and
// one page of its journeys (DashboardPage).
type IntakeDashboard struct {
	Intake      store.Intake
	Coordinator PersonSummary
	// Counts is the number of journeys in each state.
	Counts map[string]int
	// ByLocalAuthority and ByTheme count every application, whatever its state.
	ByLocalAuthority map[string]int
	ByTheme          map[string]int
	// Total is the number of the intake's journeys; Rows, a page of them,
	// by participant (store.RosterPage says in what order).
	Total int
	Rows  []DashboardRow
	// Previous and Next name the pages before and after this one
	// (DashboardPage.Before and After); uuid.Nil where there is none.
	Previous, Next uuid.UUID
}

// DashboardRow is one journey of an intake.
type DashboardRow struct {
	JourneyID      uuid.UUID       `json:"journeyId"`
	PersonID       uuid.UUID       `json:"personId"`
	Name           string          `json:"name"`
	LocalAuthority string          `json:"localAuthority"`
	Theme          string          `json:"theme"`
	CoachID        uuid.UUID       `json:"coachId" doc:"The nil UUID until a coach is assigned"`
	CoachName      string          `json:"coachName"`
	State          contract.Status `json:"state"`
	Phase          string          `json:"phase"`
	NextDueItem    string          `json:"nextDueItem"`
	NextDueAt      time.Time       `json:"nextDueAt" doc:"0001-01-01T00:00:00Z when nothing is due"`
	OverdueCount   int             `json:"overdueCount" openapi:"minimum=0"`
	Outcome        contract.Status `json:"outcome"`
}

// Sizes of a dashboard's page of journeys: an intake of the usual twenty
// fits on one; a national one of thousands is read a page at a time. The
// database still orders the whole intake's names for each page (no index
// can), but reads and sends what a row shows only for the page's rows.
const (
	DashboardRows    = 100
	MaxDashboardRows = 1_000
)

// DashboardPage is which of an intake's journeys its dashboard lists:
// Limit of them (DashboardRows for 0) after the journey After or, else,
// before the journey Before; from the first when neither is given. A page
// is named by a journey, not by a name, so no one's name is put in an
// address (store.RosterPage).
type DashboardPage struct {
	After, Before uuid.UUID
	Limit         int
	// Only lists only the journeys that match it (the counts stay the
	// whole intake's).
	Only store.RosterFilter
}

func (p DashboardPage) check() (DashboardPage, error) {
	switch {
	case p.After != uuid.Nil && p.Before != uuid.Nil:
		return p, apperr.Invalidf("ask for the journeys after one journey or before one, not both")
	case p.Limit < 0 || p.Limit > MaxDashboardRows:
		return p, apperr.Invalidf("a page lists 1 to %d journeys, not %d", MaxDashboardRows, p.Limit)
	case p.Limit == 0:
		p.Limit = DashboardRows
	}
	return p, nil
}

// IntakeDashboard builds the dashboard of an intake from the store alone,
// so it answers even while Temporal is unreachable: the counts in one
// query, the page of journeys asked for in another.
func (s *Service) IntakeDashboard(ctx context.Context, intakeID uuid.UUID, page DashboardPage) (IntakeDashboard, error) {
	page, err := page.check()
	if err != nil {
		return IntakeDashboard{}, err
	}
	in, err := s.Intake(ctx, intakeID)
	if err != nil {
		return IntakeDashboard{}, err
	}
	d := IntakeDashboard{Intake: in}
	if d.Coordinator, err = s.people().get(ctx, in.CoordinatorID); err != nil {
		return d, err
	}
	if err := s.countDashboard(ctx, &d); err != nil {
		return d, err
	}
	return d, s.dashboardRows(ctx, &d, page)
}

// countDashboard fills in d's counts, by state, local authority and
// theme, from one tally of its intake's journeys.
func (s *Service) countDashboard(ctx context.Context, d *IntakeDashboard) error {
	tallies, err := s.Store.TallyJourneys(ctx, d.Intake.ID)
	if err != nil {
		return err
	}
	d.Counts, d.ByLocalAuthority, d.ByTheme = map[string]int{}, map[string]int{}, map[string]int{}
	for _, t := range tallies {
		d.Counts[t.State] += t.Journeys
		d.ByLocalAuthority[t.LocalAuthority] += t.Journeys
		d.ByTheme[t.Theme] += t.Journeys
		d.Total += t.Journeys
	}
	return nil
}

// dashboardRows lists d's page of journeys and names the pages beside it.
// It asks for one journey more than the page holds, to learn whether there
// is another page beyond it.
func (s *Service) dashboardRows(ctx context.Context, d *IntakeDashboard, page DashboardPage) error {
	d.Rows = make([]DashboardRow, 0, page.Limit+1)
	err := s.Store.Roster(ctx, d.Intake.ID, store.RosterPage{After: page.After, Before: page.Before, Limit: page.Limit + 1, Only: page.Only},
		func(r store.RosterEntry) error {
			d.Rows = append(d.Rows, dashboardRow(r))
			return nil
		})
	if err != nil {
		return err
	}
	if len(d.Rows) == 0 {
		return s.checkPageJourney(ctx, d.Intake.ID, cmp.Or(page.After, page.Before))
	}
	more := len(d.Rows) > page.Limit
	// A page before a journey is read backwards: the one more is its first.
	if page.Before != uuid.Nil { // check refuses it with After
		if more {
			d.Rows = d.Rows[1:]
			d.Previous = d.Rows[0].JourneyID
		}
		d.Next = d.Rows[len(d.Rows)-1].JourneyID
		return nil
	}
	d.Rows = d.Rows[:min(len(d.Rows), page.Limit)]
	if page.After != uuid.Nil {
		d.Previous = d.Rows[0].JourneyID
	}
	if more {
		d.Next = d.Rows[len(d.Rows)-1].JourneyID
	}
	return nil
}

// checkPageJourney refuses a page named by a journey that is not the
// intake's: its rows would be none, and look like the end of the list.
func (s *Service) checkPageJourney(ctx context.Context, intakeID, journeyID uuid.UUID) error {
	if journeyID == uuid.Nil {
		return nil
	}
	j, err := s.Store.GetJourney(ctx, journeyID)
	if errors.Is(err, store.ErrNotFound) || err == nil && j.IntakeID != intakeID {
		return apperr.Invalidf("journey %s is not on intake %s's dashboard: start from its first page", journeyID, intakeID)
	}
	return err
}

func dashboardRow(r store.RosterEntry) DashboardRow {
	return DashboardRow{
		JourneyID: r.JourneyID, PersonID: r.PersonID, Name: listedName(r.PersonID, r.Participant),
		LocalAuthority: r.Participant.LocalAuthority, Theme: r.Participant.Theme,
		CoachID: r.CoachID, CoachName: listedName(r.CoachID, r.Coach), State: r.State, Phase: r.Phase,
		NextDueItem: r.NextDueItem, NextDueAt: r.NextDueAt, OverdueCount: r.OverdueCount, Outcome: r.Outcome,
	}
}

// Intake is the intake intakeID names, or apperr.ErrNotFound saying where to look.
func (s *Service) Intake(ctx context.Context, intakeID uuid.UUID) (store.Intake, error) {
	return apperr.IntakeOf(ctx, s.Store, intakeID)
}

// JourneysOfIntake lists every journey of the intake as the store has
// projected it, whatever its state: what a tool going through a whole
// intake reads (the dashboard pages through it instead).
func (s *Service) JourneysOfIntake(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	return s.Store.ListJourneys(ctx, intakeID)
}

// IntakeSummary is one line of the list of intakes.
type IntakeSummary struct {
	store.Intake
	// Applications is the number of journeys of the intake, Counts them by state.
	Applications int
	Counts       map[string]int
}

// ListIntakes lists every intake, soonest start first, with its numbers.
func (s *Service) ListIntakes(ctx context.Context) ([]IntakeSummary, error) {
	intakes, err := s.Store.ListIntakes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]IntakeSummary, 0, len(intakes))
	for _, in := range intakes {
		counts, err := s.Store.IntakeCounts(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		sum := IntakeSummary{Intake: in, Counts: counts}
		for _, n := range counts {
			sum.Applications += n
		}
		out = append(out, sum)
	}
	return out, nil
}
