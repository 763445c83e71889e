package views

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A coach's inbox answers "what must I do now?". The store's projection of
// each journey carries its checkpoints not yet completed, so the inbox is
// read from the store alone (issue 11: it must answer in milliseconds, for
// many coaches at once, and while Temporal is down). A journey whose
// projection was recorded before checkpoints were carried does not know
// them: its workflow is asked, as before, until its next event is recorded.

// inboxParallelism bounds the queries one inbox has in flight: a coach has
// a dozen or so journeys, and many coaches may open their inbox at once, so
// one inbox must not take every connection to Temporal.
const inboxParallelism = 8

// inboxQueryTimeout is how long one journey may take to answer before the
// inbox is shown without it: a journey whose worker is stuck must not hold
// up the coach's whole list.
const inboxQueryTimeout = 5 * time.Second

// CoachInbox is a coach's open checkpoints and their participants' journeys.
type CoachInbox struct {
	Coach PersonSummary `json:"coach"`
	// AsOf is the time Open was worked out at: what is open and overdue.
	AsOf time.Time `json:"asOf"`
	// Open is every checkpoint the coach can complete now, overdue first,
	// then soonest due first.
	Open []InboxItem `json:"open" doc:"The checkpoints the coach can complete now, overdue first, then soonest due"`
	// Journeys is every journey the coach is assigned to, oldest first,
	// from the store (so it answers even when Temporal does not).
	Journeys []JourneySummary `json:"journeys" doc:"Every journey the coach is assigned to"`
	// Unavailable lists journeys whose workflow had to be asked (their
	// projection predates checkpoints) and could not be: their open
	// checkpoints are missing from Open. Try again in a moment; if a
	// journey stays here, check the worker.
	Unavailable []UnavailableJourney `json:"unavailable,omitempty" doc:"Journeys whose workflow did not answer: their open checkpoints are missing; try again"`
}

// InboxItem is one open coaching checkpoint.
type InboxItem struct {
	JourneyID    uuid.UUID     `json:"journeyId"`
	Participant  PersonSummary `json:"participant"`
	CheckpointID string        `json:"checkpointId"`
	OpensAt      time.Time     `json:"opensAt"`
	DueAt        time.Time     `json:"dueAt"`
	Overdue      bool          `json:"overdue"`
}

// UnavailableJourney is a journey left out of an inbox, and why: Reason
// is WorkflowUnavailable, Cause the error, for the log only.
type UnavailableJourney struct {
	JourneyID uuid.UUID `json:"journeyId"`
	Reason    string    `json:"reason"`
	Cause     error     `json:"-"`
}

// JourneySummary is one journey in a list, from the store's projection.
type JourneySummary struct {
	JourneyID   uuid.UUID     `json:"journeyId"`
	IntakeID    uuid.UUID     `json:"intakeId"`
	IntakeName  string        `json:"intakeName"`
	Participant PersonSummary `json:"participant"`
	// Coach is absent while no coach is assigned.
	Coach        *PersonSummary  `json:"coach,omitempty"`
	State        contract.Status `json:"state"`
	Phase        string          `json:"phase,omitempty"`
	NextDueItem  string          `json:"nextDueItem,omitempty"`
	NextDueAt    time.Time       `json:"nextDueAt,omitzero"`
	OverdueCount int             `json:"overdueCount" openapi:"minimum=0"`
	Outcome      contract.Status `json:"outcome,omitempty"`
}

// CoachInbox lists the checkpoints coachID can complete now across all
// their journeys, and those journeys, from the store's projection. Only a
// journey whose projection does not know its checkpoints is asked of its
// workflow; one that does not answer is listed in Unavailable rather than
// failing the inbox.
func (s *Service) CoachInbox(ctx context.Context, coachID uuid.UUID) (CoachInbox, error) {
	coach, err := apperr.PersonAs(ctx, s.Store, coachID, store.RoleCoach)
	if err != nil {
		return CoachInbox{}, err
	}
	// The journeys with their checkpoints, intakes and participants, in
	// one read.
	caseload, err := s.Store.Caseload(ctx, coachID)
	if err != nil {
		return CoachInbox{}, err
	}
	in := CoachInbox{AsOf: s.Now(), Coach: summarise(coach), Open: []InboxItem{}, Journeys: make([]JourneySummary, len(caseload))}
	for i, j := range caseload {
		in.Journeys[i] = caseloadSummary(j, in.Coach)
	}

	var ask []JourneySummary
	for i, j := range caseload {
		switch {
		case !checkpointsMayBeOpen(j.State):
			// Nothing can be open: neither read nor asked.
		case j.CheckpointsKnown:
			in.Open = append(in.Open, openCheckpoints(snapshotCheckpoints(j.JourneySnapshot), coachID, in.Journeys[i].Participant, in.AsOf)...)
		default:
			ask = append(ask, in.Journeys[i])
		}
	}
	views := make([]workflows.JourneyView, len(ask))
	errs := make([]error, len(ask))
	forEachBounded(len(ask), inboxParallelism, func(i int) {
		qctx, cancel := context.WithTimeout(ctx, inboxQueryTimeout)
		defer cancel()
		errs[i] = s.Workflows.QueryJourney(qctx, ask[i].JourneyID, workflows.QueryState, &views[i])
	})
	for i, j := range ask {
		switch {
		case errors.Is(errs[i], apperr.ErrNotFound):
			// Ended since the projection was written: nothing is open.
		case errs[i] != nil:
			if ctx.Err() != nil {
				return in, fmt.Errorf("building the inbox of coach %s: %w", coachID, ctx.Err())
			}
			in.Unavailable = append(in.Unavailable, UnavailableJourney{JourneyID: j.JourneyID, Reason: WorkflowUnavailable, Cause: errs[i]})
		default:
			in.Open = append(in.Open, openCheckpoints(viewCheckpoints(views[i]), coachID, j.Participant, in.AsOf)...)
		}
	}
	sortInbox(in.Open)
	return in, nil
}

// checkpointsMayBeOpen says whether a journey in this (projected) state
// can have a checkpoint its coach may complete: not before the programme
// has started, not while paused (the journey refuses completions then),
// not once it has ended. Only these journeys are looked at (or, without
// checkpoints in their projection, asked), which keeps an inbox cheap for
// a coach with many finished journeys.
func checkpointsMayBeOpen(state contract.Status) bool {
	switch state {
	case contract.StatusInLabs, contract.StatusExperimenting:
		return true
	}
	return false
}

// journeyCheckpoints is what the inbox needs of one journey to list its
// open checkpoints, from the store's projection (snapshotCheckpoints) or
// from the workflow's view (viewCheckpoints): both go through the same
// openCheckpoints, so they cannot disagree on what is open.
type journeyCheckpoints struct {
	JourneyID uuid.UUID
	CoachID   uuid.UUID
	Status    workflows.Status
	// Pending is the checkpoints not yet completed, open or not.
	Pending []store.Checkpoint
}

// snapshotCheckpoints is a projected journey whose checkpoints are known.
func snapshotCheckpoints(j store.JourneySnapshot) journeyCheckpoints {
	return journeyCheckpoints{JourneyID: j.JourneyID, CoachID: j.CoachID, Status: j.State, Pending: j.Checkpoints}
}

// viewCheckpoints is a journey as its workflow answered the state query.
func viewCheckpoints(v workflows.JourneyView) journeyCheckpoints {
	out := journeyCheckpoints{JourneyID: v.JourneyID, CoachID: v.CoachID, Status: v.Status}
	for _, c := range v.Checkpoints {
		if c.CompletedAt.IsZero() {
			out.Pending = append(out.Pending, store.Checkpoint{ID: c.ID, OpensAt: c.OpensAt, DueAt: c.DueAt})
		}
	}
	return out
}

// openCheckpoints lists the checkpoints of j that coachID can complete at
// now. Opening and overdue are judged against now here, whichever the
// source: a projection is as old as the journey's last event, and the
// workflow's own Overdue flag is worked out at its last task, either of
// which may be days ago.
func openCheckpoints(j journeyCheckpoints, coachID uuid.UUID, participant PersonSummary, now time.Time) []InboxItem {
	if j.CoachID != coachID || j.Status.Terminal() || j.Status == contract.StatusPaused {
		// A coach reassigned since the list was read no longer sees the
		// journey's checkpoints.
		return nil
	}
	var out []InboxItem
	for _, c := range j.Pending {
		if c.OpensAt.After(now) {
			continue
		}
		out = append(out, InboxItem{
			JourneyID: j.JourneyID, Participant: participant, CheckpointID: c.ID,
			OpensAt: c.OpensAt, DueAt: c.DueAt, Overdue: !c.DueAt.After(now),
		})
	}
	return out
}

// sortInbox puts overdue items first, then the soonest due; ties keep a
// fixed order (journey, checkpoint) so the list does not jump about.
func sortInbox(items []InboxItem) {
	slices.SortFunc(items, func(a, b InboxItem) int {
		if a.Overdue != b.Overdue {
			if a.Overdue {
				return -1
			}
			return 1
		}
		return cmp.Or(a.DueAt.Compare(b.DueAt), bytes.Compare(a.JourneyID[:], b.JourneyID[:]),
			cmp.Compare(a.CheckpointID, b.CheckpointID))
	})
}

// forEachBounded calls fn(0) … fn(n-1), at most limit at a time, and
// returns when all have returned.
func forEachBounded(n, limit int, fn func(i int)) {
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			fn(i)
		}()
	}
	wg.Wait()
}

// caseloadSummary is a journey of coach's caseload as the inbox lists it,
// its participant named as a look-up would name them (summarise).
func caseloadSummary(j store.CaseloadEntry, coach PersonSummary) JourneySummary {
	return JourneySummary{
		JourneyID: j.JourneyID, IntakeID: j.IntakeID, IntakeName: j.IntakeName,
		Participant: listedSummary(j.PersonID, j.Participant, j.ParticipantEmail), Coach: &coach,
		State: j.State, Phase: j.Phase, NextDueItem: j.NextDueItem, NextDueAt: j.NextDueAt,
		OverdueCount: j.OverdueCount, Outcome: j.Outcome,
	}
}

// summariseJourneys names the journeys' people and intakes, each looked up
// once however many journeys share them.
func (s *Service) summariseJourneys(ctx context.Context, pp *people, snaps []store.JourneySnapshot) ([]JourneySummary, error) {
	intakes := map[uuid.UUID]string{}
	out := make([]JourneySummary, 0, len(snaps))
	for _, j := range snaps {
		sum := JourneySummary{
			JourneyID: j.JourneyID, IntakeID: j.IntakeID, State: j.State, Phase: j.Phase,
			NextDueItem: j.NextDueItem, NextDueAt: j.NextDueAt, OverdueCount: j.OverdueCount, Outcome: j.Outcome,
		}
		var err error
		if sum.Participant, err = pp.get(ctx, j.PersonID); err != nil {
			return nil, err
		}
		if j.CoachID != uuid.Nil {
			coach, err := pp.get(ctx, j.CoachID)
			if err != nil {
				return nil, err
			}
			sum.Coach = &coach
		}
		name, ok := intakes[j.IntakeID]
		if !ok {
			in, err := s.Store.GetIntake(ctx, j.IntakeID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			name, intakes[j.IntakeID] = in.Name, in.Name
		}
		sum.IntakeName = name
		out = append(out, sum)
	}
	return out, nil
}
