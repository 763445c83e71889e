package views

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// Schedules as they stand now, for forms that name sessions: a list of
// session IDs alone makes a coordinator look the dates up elsewhere.

// JourneySchedule is the journey's whole schedule as its workflow now
// holds it (every session and task, after reschedules and its own
// pauses): what JourneyCalendar makes its file of. Empty before the
// programme is scheduled; apperr.ErrNotFound once the workflow has gone.
// JourneyCalendar makes the same query; it can call this instead.
func (s *Service) JourneySchedule(ctx context.Context, journeyID uuid.UUID) ([]workflows.ScheduledItem, error) {
	var items []workflows.ScheduledItem
	err := s.Workflows.QueryJourney(ctx, journeyID, workflows.QuerySchedule, &items)
	return items, err
}

// IntakeSessions are the intake's lab sessions at their times for the
// whole intake: the programme's plan for its start date with the sessions
// the coordinator has moved, which is the intake workflow's own schedule
// (the one it checks reschedules against). Not any journey's schedule:
// a journey that was paused has every date shifted by its pause, which is
// not when the intake meets. Moves exist only once the intake has
// started, so before that the plan alone is exact and Temporal is not
// asked.
func (s *Service) IntakeSessions(ctx context.Context, in store.Intake) ([]programme.Item, error) {
	p, err := programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		return nil, fmt.Errorf("intake %s: %w", in.ID, err)
	}
	input := programme.ScheduleInput{StartsOn: in.StartsOn}
	if in.Status == store.IntakeStarted || in.Status == store.IntakeFinished {
		var v workflows.IntakeView
		if err := s.Workflows.QueryIntake(ctx, in.ID, workflows.QueryIntakeState, &v); err != nil {
			return nil, err
		}
		input.SessionMoves = v.SessionMoves
	}
	plan, err := p.Schedule(input)
	if err != nil {
		return nil, fmt.Errorf("planning intake %s: %w", in.ID, err)
	}
	var sessions []programme.Item
	for _, it := range plan.Items {
		if it.Kind == programme.KindSession {
			sessions = append(sessions, it)
		}
	}
	return sessions, nil
}
