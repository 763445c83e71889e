package views

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// Journey is who and where a journey is: the store's projection or, in the
// moment between an application and the journey workflow recording its
// first event, the workflow's own view. Without that fallback a
// coordinator who applies someone and at once assigns a coach would be told
// the journey does not exist. A journey in neither is apperr.ErrNotFound.
func (s *Service) Journey(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	snap, err := s.Store.GetJourney(ctx, journeyID)
	if !errors.Is(err, store.ErrNotFound) {
		return snap, err
	}
	notFound := fmt.Errorf("%w: no journey %s", apperr.ErrNotFound, journeyID)
	if !s.Workflows.Connected() {
		return snap, notFound
	}
	var v workflows.JourneyView
	switch err := s.Workflows.QueryJourney(ctx, journeyID, workflows.QueryState, &v); {
	case errors.Is(err, apperr.ErrNotFound):
		return snap, notFound
	case err != nil:
		return snap, err
	}
	return unprojected(journeyID, &v), nil
}

// unprojected is the snapshot of a journey the store has not heard of yet,
// from its workflow's view.
func unprojected(journeyID uuid.UUID, v *workflows.JourneyView) store.JourneySnapshot {
	return store.JourneySnapshot{JourneyID: journeyID, IntakeID: v.IntakeID, PersonID: v.PersonID,
		CoachID: v.CoachID, State: v.Status, Phase: v.Phase}
}

// VisibleJourney is Journey for someone who may see it: a coordinator
// every journey, a coach those they coach, a participant their own.
// Anyone else gets apperr.ErrNotFound, exactly as for a journey that does not
// exist, so a guessed ID reveals nothing. The API and the pages both ask
// here, so the rule is written once.
func (s *Service) VisibleJourney(ctx context.Context, journeyID, personID uuid.UUID, role store.Role) (store.JourneySnapshot, error) {
	j, err := s.Journey(ctx, journeyID)
	if err != nil {
		return j, err
	}
	if role == store.RoleCoordinator ||
		(role == store.RoleCoach && j.CoachID == personID) ||
		(role == store.RoleParticipant && j.PersonID == personID) {
		return j, nil
	}
	return store.JourneySnapshot{}, fmt.Errorf("%w: no journey %s", apperr.ErrNotFound, journeyID)
}
