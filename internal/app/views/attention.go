package views

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A coordinator's attention list answers "what needs me now?" across every
// intake not finished, each entry leading to where to act. It is read from
// the store's projections and event log, judged against now (a
// projection's overdue count is as of its last event); only an offer's
// lapse time is asked of its workflow, and left out if it cannot say.

// RepeatedAbsences is how many lab sessions missed put a participant on
// the list: one is life, two is a conversation.
const RepeatedAbsences = 2

// maxFailedListed bounds the failed messages listed: the rest are in
// `infuse mail list --status failed`.
const maxFailedListed = 100

// Attention is what needs a coordinator now.
type Attention struct {
	AsOf time.Time
	// Overdue are coaching checkpoints past due on journeys under way,
	// most overdue first, with the coach to chase.
	Overdue []OverdueCheckpoint
	// Absences are participants who missed RepeatedAbsences or more lab
	// sessions, most first.
	Absences []RepeatedAbsence
	// Offers are offers not yet answered, soonest to lapse first (those
	// whose workflow could not say last).
	Offers []WaitingOffer
	// NoCoach are journeys accepted or under way without a coach.
	NoCoach []JourneyRef
	// Failed are messages given up on, newest first, with why.
	Failed []FailedMessage
}

// Empty says whether nothing needs the coordinator.
func (a Attention) Empty() bool {
	return len(a.Overdue)+len(a.Absences)+len(a.Offers)+len(a.NoCoach)+len(a.Failed) == 0
}

// JourneyRef is a journey as an attention list names it.
type JourneyRef struct {
	JourneyID   uuid.UUID
	IntakeName  string
	Participant PersonSummary
}

// OverdueCheckpoint is a coaching checkpoint past due.
type OverdueCheckpoint struct {
	JourneyRef
	Coach        PersonSummary // zero when the journey has none
	CheckpointID string
	DueAt        time.Time
}

// RepeatedAbsence is a participant absent from several lab sessions.
type RepeatedAbsence struct {
	JourneyRef
	Absences int
}

// WaitingOffer is an offer not yet answered.
type WaitingOffer struct {
	JourneyRef
	LapsesAt time.Time // zero when its workflow could not say
}

// FailedMessage is a message delivery gave up on.
type FailedMessage struct {
	JourneyID uuid.UUID
	Recipient PersonSummary
	Template  string
	Reason    string
	SendAt    time.Time
}

// Attention lists what needs a coordinator now across every intake not
// finished.
func (s *Service) Attention(ctx context.Context) (Attention, error) {
	a := Attention{AsOf: s.Now()}
	pp := s.people()
	intakes, err := s.Store.ListIntakes(ctx)
	if err != nil {
		return a, err
	}
	// The journeys under way, by coach: a journey's checkpoints are read
	// with its coach's journeys, which carry them.
	coached := map[uuid.UUID]map[uuid.UUID]JourneyRef{}
	for _, in := range intakes {
		if in.Status == store.IntakeFinished {
			continue
		}
		journeys, err := s.Store.ListJourneys(ctx, in.ID)
		if err != nil {
			return a, err
		}
		for _, j := range journeys {
			ref, underWay, err := s.attend(ctx, &a, pp, in.Name, j)
			if err != nil {
				return a, err
			}
			if underWay && j.CoachID != uuid.Nil {
				if coached[j.CoachID] == nil {
					coached[j.CoachID] = map[uuid.UUID]JourneyRef{}
				}
				coached[j.CoachID][j.JourneyID] = ref
			}
		}
	}
	if err := s.overdue(ctx, &a, pp, coached); err != nil {
		return a, err
	}
	if err := s.failedMessages(ctx, &a, pp); err != nil {
		return a, err
	}
	slices.SortStableFunc(a.Overdue, func(x, y OverdueCheckpoint) int { return x.DueAt.Compare(y.DueAt) })
	slices.SortStableFunc(a.Absences, func(x, y RepeatedAbsence) int { return y.Absences - x.Absences })
	slices.SortStableFunc(a.Offers, func(x, y WaitingOffer) int {
		if x.LapsesAt.IsZero() != y.LapsesAt.IsZero() {
			return cmp.Compare(boolInt(x.LapsesAt.IsZero()), boolInt(y.LapsesAt.IsZero()))
		}
		return x.LapsesAt.Compare(y.LapsesAt)
	})
	return a, nil
}

// attend adds what journey j of the intake named intake needs to a, but
// its overdue checkpoints; underWay says whether it is in its labs or
// experimenting, when those count.
func (s *Service) attend(ctx context.Context, a *Attention, pp *people, intake string, j store.JourneySnapshot) (ref JourneyRef, underWay bool, err error) {
	if j.State.Terminal() {
		return ref, false, nil
	}
	participant, err := pp.get(ctx, j.PersonID)
	if err != nil {
		return ref, false, err
	}
	ref = JourneyRef{JourneyID: j.JourneyID, IntakeName: intake, Participant: participant}
	underWay = j.State == contract.StatusInLabs || j.State == contract.StatusExperimenting
	if j.State == contract.StatusOffered {
		a.Offers = append(a.Offers, WaitingOffer{JourneyRef: ref, LapsesAt: s.offerLapses(ctx, j.JourneyID)})
	}
	if j.CoachID == uuid.Nil && (underWay || j.State == contract.StatusAccepted || j.State == contract.StatusAwaitingStart || j.State == contract.StatusPaused) {
		a.NoCoach = append(a.NoCoach, ref)
	}
	if underWay || j.State == contract.StatusPaused {
		n, err := s.absences(ctx, j.JourneyID)
		if err != nil {
			return ref, underWay, err
		}
		if n >= RepeatedAbsences {
			a.Absences = append(a.Absences, RepeatedAbsence{JourneyRef: ref, Absences: n})
		}
	}
	return ref, underWay, nil
}

// overdue adds the checkpoints past due of the journeys under way, read
// with each coach's journeys (coached: coach, journey, as listed).
func (s *Service) overdue(ctx context.Context, a *Attention, pp *people, coached map[uuid.UUID]map[uuid.UUID]JourneyRef) error {
	for coachID, refs := range coached {
		coach, err := pp.get(ctx, coachID)
		if err != nil {
			return err
		}
		journeys, err := s.Store.JourneysOfCoach(ctx, coachID)
		if err != nil {
			return err
		}
		for _, j := range journeys {
			ref, ok := refs[j.JourneyID]
			if !ok {
				continue
			}
			for _, c := range j.Checkpoints {
				if c.DueAt.Before(a.AsOf) {
					a.Overdue = append(a.Overdue, OverdueCheckpoint{JourneyRef: ref, Coach: coach, CheckpointID: c.ID, DueAt: c.DueAt})
				}
			}
		}
	}
	return nil
}

// offerLapses is when the journey's offer lapses, as its workflow has it;
// zero if it cannot be asked.
func (s *Service) offerLapses(ctx context.Context, journeyID uuid.UUID) time.Time {
	if !s.Workflows.Connected() {
		return time.Time{}
	}
	ctx, cancel := context.WithTimeout(ctx, inboxQueryTimeout)
	defer cancel()
	var v workflows.JourneyView
	if err := s.Workflows.QueryJourney(ctx, journeyID, workflows.QueryState, &v); err != nil {
		return time.Time{}
	}
	return v.OfferLapsesAt
}

// absences counts the lab sessions the journey's participant was last
// recorded absent from: a session recorded absent and then present (a
// correction) does not count.
func (s *Service) absences(ctx context.Context, journeyID uuid.UUID) (int, error) {
	events, err := s.Store.JourneyEvents(ctx, journeyID)
	if err != nil {
		return 0, err
	}
	absent := map[string]bool{}
	for _, ev := range events {
		switch ev.Type {
		case "attendance.absent":
			absent[eventItem(ev.Data)] = true
		case "attendance.present":
			delete(absent, eventItem(ev.Data))
		}
	}
	return len(absent), nil
}

// failedMessages adds the messages delivery gave up on, newest first.
func (s *Service) failedMessages(ctx context.Context, a *Attention, pp *people) error {
	msgs, err := s.Store.ListMessages(ctx, store.OutboxFilter{Status: store.MessageFailed, Limit: maxFailedListed})
	if err != nil {
		return err
	}
	for _, m := range msgs {
		to, err := pp.get(ctx, m.RecipientID)
		if err != nil {
			return err
		}
		a.Failed = append(a.Failed, FailedMessage{JourneyID: m.JourneyID, Recipient: to, Template: m.Template, Reason: m.LastError, SendAt: m.SendAt})
	}
	slices.SortStableFunc(a.Failed, func(x, y FailedMessage) int { return y.SendAt.Compare(x.SendAt) })
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
