package starter

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

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// A coach's inbox answers "what must I do now?". Which checkpoints are open
// is the workflow's knowledge (the projection keeps only the next due item),
// so each live journey is asked; who the journeys are comes from the store.

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
	Open []InboxItem `json:"open"`
	// Journeys is every journey the coach is assigned to, oldest first,
	// from the store (so it answers even when Temporal does not).
	Journeys []JourneySummary `json:"journeys"`
	// Unavailable lists journeys whose workflow could not be asked: their
	// open checkpoints are missing from Open. Try again in a moment; if a
	// journey stays here, check the worker.
	Unavailable []UnavailableJourney `json:"unavailable,omitempty"`
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
	Coach        *PersonSummary `json:"coach,omitempty"`
	State        string         `json:"state"`
	Phase        string         `json:"phase,omitempty"`
	NextDueItem  string         `json:"nextDueItem,omitempty"`
	NextDueAt    time.Time      `json:"nextDueAt,omitzero"`
	OverdueCount int            `json:"overdueCount"`
	Outcome      string         `json:"outcome,omitempty"`
}

// CoachInbox lists the checkpoints coachID can complete now across all
// their journeys, and those journeys. A journey whose workflow does not
// answer is listed in Unavailable rather than failing the inbox.
func (s *Service) CoachInbox(ctx context.Context, coachID uuid.UUID) (CoachInbox, error) {
	if err := s.checkPerson(ctx, coachID, store.RoleCoach); err != nil {
		return CoachInbox{}, err
	}
	snaps, err := s.Store.JourneysOfCoach(ctx, coachID)
	if err != nil {
		return CoachInbox{}, err
	}
	pp := s.people()
	in := CoachInbox{AsOf: s.Now(), Open: []InboxItem{}}
	if in.Coach, err = pp.get(ctx, coachID); err != nil {
		return in, err
	}
	if in.Journeys, err = s.summariseJourneys(ctx, pp, snaps); err != nil {
		return in, err
	}

	var ask []JourneySummary
	for _, j := range in.Journeys {
		if checkpointsMayBeOpen(j.State) {
			ask = append(ask, j)
		}
	}
	views := make([]workflows.JourneyView, len(ask))
	errs := make([]error, len(ask))
	forEachBounded(len(ask), inboxParallelism, func(i int) {
		qctx, cancel := context.WithTimeout(ctx, inboxQueryTimeout)
		defer cancel()
		errs[i] = s.query(qctx, workflows.JourneyWorkflowID(ask[i].JourneyID), workflows.QueryState, &views[i])
	})
	for i, j := range ask {
		switch {
		case errors.Is(errs[i], ErrNotFound):
			// Ended since the projection was written: nothing is open.
		case errs[i] != nil:
			if ctx.Err() != nil {
				return in, fmt.Errorf("building the inbox of coach %s: %w", coachID, ctx.Err())
			}
			in.Unavailable = append(in.Unavailable, UnavailableJourney{JourneyID: j.JourneyID, Reason: WorkflowUnavailable, Cause: errs[i]})
		default:
			in.Open = append(in.Open, openCheckpoints(views[i], coachID, j.Participant, in.AsOf)...)
		}
	}
	sortInbox(in.Open)
	return in, nil
}

// checkpointsMayBeOpen says whether a journey in this (projected) state
// can have a checkpoint its coach may complete: not before the programme
// has started, not while paused (the journey refuses completions then),
// not once it has ended. Only these journeys are asked, which keeps an
// inbox cheap for a coach with many finished journeys.
func checkpointsMayBeOpen(state string) bool {
	switch workflows.Status(state) {
	case workflows.StatusInLabs, workflows.StatusExperimenting:
		return true
	}
	return false
}

// openCheckpoints lists the checkpoints of v that coachID can complete at
// now. The workflow's own Overdue flag is worked out at the workflow's
// last task, which may be days ago, so opening and overdue are judged
// against now here.
func openCheckpoints(v workflows.JourneyView, coachID uuid.UUID, participant PersonSummary, now time.Time) []InboxItem {
	if v.CoachID != coachID || v.Status.Terminal() || v.Status == workflows.StatusPaused {
		// A coach reassigned since the projection was written no longer
		// sees the journey's checkpoints.
		return nil
	}
	var out []InboxItem
	for _, c := range v.Checkpoints {
		if !c.CompletedAt.IsZero() || c.OpensAt.After(now) {
			continue
		}
		out = append(out, InboxItem{
			JourneyID: v.JourneyID, Participant: participant, CheckpointID: c.ID,
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
