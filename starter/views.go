package starter

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"

	"github.com/infuse-cymru/journeys/programme"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// The read models here answer "where is this journey?" and "how is this
// intake doing?". Temporal holds only IDs, so names come from the store;
// lists come from the store's projections (Temporal's visibility is
// eventually consistent and forgets closed workflows after retention).

// London is where programme times are meant and shown.
var London = programme.London

// PersonSummary is how a person appears in a view.
type PersonSummary struct {
	ID             uuid.UUID
	Name           string
	Email          string `json:",omitempty"`
	LocalAuthority string `json:",omitempty"`
	Theme          string `json:",omitempty"`
}

// erasedName stands in for a person whose data has been erased under UK
// GDPR (or who is no longer in the store): their journeys still count,
// under no name.
const erasedName = "(erased)"

// summarise is a person looked up, named as a list names them.
func summarise(p store.Person) PersonSummary {
	return listedSummary(p.ID, store.Listed{Known: true, GivenName: p.GivenName, FamilyName: p.FamilyName,
		LocalAuthority: p.LocalAuthority, Theme: p.Theme, Erased: !p.ErasedAt.IsZero()}, p.EmailAddress)
}

func fullName(given, family string) string { return strings.TrimSpace(given + " " + family) }

// listedName is how a list names a person: erasedName for one erased or
// gone (say so rather than show an empty name), none for nobody (a
// journey's coach before one is assigned).
func listedName(id uuid.UUID, p store.Listed) string { return listedSummary(id, p, "").Name }

// listedSummary is a person as every view names them, whether listed
// (Roster, Caseload) or looked up (summarise): nobody for no ID;
// erasedName for one gone from the store, or erased, who keeps their
// authority and theme for funders' counts but not their name or address.
func listedSummary(id uuid.UUID, p store.Listed, email string) PersonSummary {
	switch {
	case id == uuid.Nil:
		return PersonSummary{}
	case !p.Known:
		return PersonSummary{ID: id, Name: erasedName}
	case p.Erased:
		return PersonSummary{ID: id, Name: erasedName, LocalAuthority: p.LocalAuthority, Theme: p.Theme}
	}
	return PersonSummary{ID: id, Name: fullName(p.GivenName, p.FamilyName), Email: email,
		LocalAuthority: p.LocalAuthority, Theme: p.Theme}
}

// people looks people up once per view.
type people struct {
	s    store.Store
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
	At    time.Time
	Event string
	Item  string `json:",omitempty"`
	State string `json:",omitempty"`
}

// JourneyDetail combines the journey's live state (from its workflow) with
// the store's projection, names and event log.
func (s *Service) JourneyDetail(ctx context.Context, journeyID uuid.UUID) (JourneyDetail, error) {
	var d JourneyDetail
	live, upcoming, liveErr := s.liveJourney(ctx, journeyID)
	snap, err := s.Store.GetJourney(ctx, journeyID)
	switch {
	case errors.Is(err, store.ErrNotFound) && live == nil:
		if liveErr != nil && !errors.Is(liveErr, ErrNotFound) {
			return d, liveErr
		}
		return d, fmt.Errorf("%w: no journey %s", ErrNotFound, journeyID)
	case errors.Is(err, store.ErrNotFound):
		snap = unprojected(journeyID, live)
	case err != nil:
		return d, err
	}
	d.Journey, d.Live, d.Upcoming = snap, live, upcoming
	if liveErr != nil && !errors.Is(liveErr, ErrNotFound) {
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
	if err := s.query(ctx, workflows.JourneyWorkflowID(journeyID), workflows.QueryState, &v); err != nil {
		return nil, nil, err
	}
	var up []workflows.Upcoming
	if err := s.query(ctx, workflows.JourneyWorkflowID(journeyID), workflows.QueryUpcoming, &up); err != nil {
		return &v, nil, err
	}
	return &v, up, nil
}

// query runs a workflow query; a workflow that no longer exists is ErrNotFound.
func (s *Service) query(ctx context.Context, workflowID, name string, result any) error {
	if s.Temporal == nil {
		return errors.New("this service has no Temporal client; live state is unavailable")
	}
	resp, err := s.Temporal.QueryWorkflow(ctx, workflowID, "", name)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			return fmt.Errorf("%w: workflow %s (it has ended and been removed after retention, or never existed)", ErrNotFound, workflowID)
		}
		return fmt.Errorf("asking %s for %s: %w", workflowID, name, err)
	}
	return resp.Get(result)
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

// IntakeDashboard is a coordinator's view of one intake.
type IntakeDashboard struct {
	Intake      store.Intake
	Coordinator PersonSummary
	// Counts is the number of journeys in each state.
	Counts map[string]int
	// ByLocalAuthority and ByTheme count every application, whatever its state.
	ByLocalAuthority map[string]int
	ByTheme          map[string]int
	Rows             []DashboardRow
}

// DashboardRow is one journey of an intake.
type DashboardRow struct {
	JourneyID      uuid.UUID
	PersonID       uuid.UUID
	Name           string
	LocalAuthority string
	Theme          string
	CoachID        uuid.UUID
	CoachName      string
	State          string
	Phase          string
	NextDueItem    string
	NextDueAt      time.Time
	OverdueCount   int
	Outcome        string
}

// IntakeDashboard builds the dashboard of an intake from the store alone,
// so it answers even while Temporal is unreachable.
func (s *Service) IntakeDashboard(ctx context.Context, intakeID uuid.UUID) (IntakeDashboard, error) {
	in, err := s.getIntake(ctx, intakeID)
	if err != nil {
		return IntakeDashboard{}, err
	}
	d := IntakeDashboard{Intake: in, ByLocalAuthority: map[string]int{}, ByTheme: map[string]int{}, Rows: []DashboardRow{}}
	if d.Coordinator, err = s.people().get(ctx, in.CoordinatorID); err != nil {
		return d, err
	}
	// Room for the intake's places at first (up to rowsUpFront): a full
	// intake's rows are made without the list growing, and being copied,
	// as they come (only applicants beyond its places make it grow).
	rows := make([]DashboardRow, 0, min(in.Capacity, rowsUpFront))
	d.Counts = map[string]int{}
	err = s.Store.Roster(ctx, intakeID, func(r store.RosterEntry) error {
		rows = append(rows, dashboardRow(r))
		d.Counts[r.State]++
		d.ByLocalAuthority[r.Participant.LocalAuthority]++
		d.ByTheme[r.Participant.Theme]++
		return nil
	})
	if err != nil {
		return d, err
	}
	d.Rows = byName(rows)
	return d, nil
}

// rowsUpFront bounds the room a dashboard makes for its rows before it
// has them: the workflows hold a capacity to workflows.MaxCapacity, the
// store to nothing (the 10,000-place intake of BenchmarkViews).
const rowsUpFront = 10_000

// byName is rows by name, namesakes in the order of their journeys' IDs.
// It sorts the rows' places, not the rows: moving thousands of rows of
// many fields about took most of a sort's time.
func byName(rows []DashboardRow) []DashboardRow {
	order := make([]int, len(rows))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(i, j int) int {
		a, b := &rows[i], &rows[j]
		return cmp.Or(strings.Compare(a.Name, b.Name), bytes.Compare(a.JourneyID[:], b.JourneyID[:]))
	})
	sorted := make([]DashboardRow, len(rows))
	for i, at := range order {
		sorted[i] = rows[at]
	}
	return sorted
}

func dashboardRow(r store.RosterEntry) DashboardRow {
	return DashboardRow{
		JourneyID: r.JourneyID, PersonID: r.PersonID, Name: listedName(r.PersonID, r.Participant),
		LocalAuthority: r.Participant.LocalAuthority, Theme: r.Participant.Theme,
		CoachID: r.CoachID, CoachName: listedName(r.CoachID, r.Coach), State: r.State, Phase: r.Phase,
		NextDueItem: r.NextDueItem, NextDueAt: r.NextDueAt, OverdueCount: r.OverdueCount, Outcome: r.Outcome,
	}
}

func (s *Service) getIntake(ctx context.Context, intakeID uuid.UUID) (store.Intake, error) {
	in, err := s.Store.GetIntake(ctx, intakeID)
	if errors.Is(err, store.ErrNotFound) {
		return in, fmt.Errorf("%w: no intake %s (see `infuse intake list`)", ErrNotFound, intakeID)
	}
	return in, err
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
