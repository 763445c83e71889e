package views

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/calendar"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// What a participant does for themselves: find an intake to apply to, see
// their journeys, say which language they want, and take their sessions
// into their own calendar.

// OpenIntakes lists the intakes accepting applications now, soonest start first.
func (s *Service) OpenIntakes(ctx context.Context) ([]store.Intake, error) {
	intakes, err := s.Store.ListIntakes(ctx)
	if err != nil {
		return nil, err
	}
	open := []store.Intake{}
	for _, in := range intakes {
		if in.Status == store.IntakeOpen {
			open = append(open, in)
		}
	}
	return open, nil
}

// JourneysOf lists a participant's journeys, oldest first: usually one, more
// after a deferral or a second application.
func (s *Service) JourneysOf(ctx context.Context, personID uuid.UUID) ([]JourneySummary, error) {
	if _, err := apperr.PersonAs(ctx, s.Store, personID, store.RoleParticipant); err != nil {
		return nil, err
	}
	snaps, err := s.Store.JourneysOfPerson(ctx, personID)
	if err != nil {
		return nil, err
	}
	return s.summariseJourneys(ctx, s.people(), snaps)
}

// checkpointMarker is how long a coaching checkpoint is shown in a calendar.
// A checkpoint is a due time, not a meeting, so it appears as a short entry
// ending when it is due.
const checkpointMarker = 30 * time.Minute

// JourneyCalendar is an iCalendar file (text/calendar) of the journey's
// lab sessions and coaching checkpoints still ahead, at their current times
// (after any reschedule or pause), in Europe/London. Each entry has the UID
// and SEQUENCE of the invites e-mailed for it, so a calendar that has both
// shows it once, at its latest time. An ended journey's calendar is empty.
// Titles are in the participant's language (bilingual, Welsh first, when
// not recorded); the file names nobody.
func (s *Service) JourneyCalendar(ctx context.Context, journeyID uuid.UUID) ([]byte, error) {
	j, err := s.Store.GetJourney(ctx, journeyID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: no journey %s (see `infuse intake dashboard` for the IDs)", apperr.ErrNotFound, journeyID)
	}
	if err != nil {
		return nil, err
	}
	in, err := s.Intake(ctx, j.IntakeID)
	if err != nil {
		return nil, err
	}
	p, err := programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		return nil, fmt.Errorf("journey %s: %w", journeyID, err)
	}
	var lang store.Language
	if person, err := s.Store.GetPerson(ctx, j.PersonID); err == nil {
		lang = person.Language
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	var items []workflows.ScheduledItem
	if !j.State.Terminal() {
		items, err = s.JourneySchedule(ctx, journeyID)
		if err != nil && !errors.Is(err, apperr.ErrNotFound) {
			return nil, fmt.Errorf("the calendar of journey %s needs its live schedule: %w (try again; if it persists, check that the worker runs this release)", journeyID, err)
		}
	}
	return calendar.Feed(fmt.Sprintf("%s: %s", p.Name.EN, in.Name), calendarEvents(journeyID, items, p, lang, s.Now()))
}

// calendarEvents are the sessions and checkpoints of items still ahead at now.
func calendarEvents(journeyID uuid.UUID, items []workflows.ScheduledItem, p *programme.Programme, lang store.Language, now time.Time) []calendar.Event {
	events := []calendar.Event{}
	for _, it := range items {
		if it.Done || !it.DueAt.After(now) {
			continue
		}
		e := calendar.Event{
			UID: calendar.UID(journeyID.String(), it.ID), Sequence: it.Revision,
			Summary: notify.ItemTitle(p, it.ID, lang), Stamp: now,
		}
		switch it.Kind {
		case programme.KindSession:
			e.Start, e.End = it.OpensAt, it.DueAt
		case programme.KindCheckpoint:
			e.Start, e.End = it.DueAt.Add(-checkpointMarker), it.DueAt
		default:
			continue // plans and reflections are the participant's to-do list, not appointments
		}
		events = append(events, e)
	}
	return events
}
