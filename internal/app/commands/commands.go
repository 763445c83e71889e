// Package commands is what coordinators, coaches and participants do to the
// system, as plain Go calls: open and edit an intake, apply, decide, start,
// reschedule, record attendance, withdraw, defer, pause, complete
// checkpoints and hand in tasks. The command line, the API and the pages
// all call these, so every face checks a request the same way and drives
// the workflows the same way. What people write (intake names, notes) is
// kept in the store here and only IDs are handed to the workflows (through
// starter).
package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
)

// Store is what the commands read and write besides the workflows: the
// people they name, intakes, and the notes that go with a request.
type Store interface {
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
	CreateIntake(ctx context.Context, in store.Intake) error
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	UpdateIntake(ctx context.Context, id uuid.UUID, name string, capacity int) error
	SaveNote(ctx context.Context, n store.Note) error
	DeleteNote(ctx context.Context, id uuid.UUID) error
}

// Service carries out coordinator, coach and participant actions.
type Service struct {
	Workflows *starter.Workflows
	Store     Store
	// Now is the clock for validating dates given by people; tests may set it.
	Now func() time.Time
}

// New returns a Service using the wall clock.
func New(w *starter.Workflows, st Store) *Service {
	return &Service{Workflows: w, Store: st, Now: time.Now}
}

// IntakeSpec is what a coordinator gives to open an intake.
type IntakeSpec struct {
	Name          string
	CoordinatorID uuid.UUID
	OpensAt       time.Time
	ClosesAt      time.Time
	StartsOn      time.Time
	Capacity      int
	// ProgrammeVersion 0 means the newest version of the Infuse programme.
	ProgrammeVersion int
}

// CreateIntake records the intake and starts its workflow, which opens and
// closes the application window on time. Retried with the same request ID
// (starter.WithRequestID) after a failure, it creates nothing twice: the same
// intake is recorded and its workflow started if it was not.
func (s *Service) CreateIntake(ctx context.Context, spec IntakeSpec) (store.Intake, error) {
	p, err := s.programme(spec.ProgrammeVersion)
	if err != nil {
		return store.Intake{}, err
	}
	if err := s.checkIntakeSpec(ctx, spec); err != nil {
		return store.Intake{}, err
	}
	if !s.Workflows.Connected() {
		// Checked before the intake is recorded: a row with no workflow
		// would never open.
		return store.Intake{}, fmt.Errorf("opening an intake starts its workflow: %w", starter.ErrNotConnected)
	}
	// Its times as the store keeps them (StoredTime), so that the workflow
	// and every later read of the intake have the same instants: on a
	// compressed test clock the microsecond truncated is most of a second.
	in := store.Intake{
		ID: starter.NewIntakeID(ctx), Name: strings.TrimSpace(spec.Name), ProgrammeID: p.ID, ProgrammeVersion: p.Version,
		OpensAt: store.StoredTime(spec.OpensAt), ClosesAt: store.StoredTime(spec.ClosesAt),
		StartsOn: store.StoredTime(spec.StartsOn), Capacity: spec.Capacity,
		CoordinatorID: spec.CoordinatorID, Status: store.IntakeDraft,
	}
	if err := s.Store.CreateIntake(ctx, in); err != nil {
		return store.Intake{}, apperr.StoreError(err)
	}
	err = s.Workflows.StartIntake(ctx, workflows.Intake{
		IntakeID: in.ID, CoordinatorID: in.CoordinatorID, ProgrammeID: in.ProgrammeID,
		ProgrammeVersion: in.ProgrammeVersion, OpensAt: in.OpensAt, ClosesAt: in.ClosesAt,
		StartsOn: in.StartsOn, Capacity: in.Capacity,
	})
	if err != nil {
		return store.Intake{}, fmt.Errorf("intake %s is recorded but its workflow did not start (run the command again once Temporal is reachable): %w", in.ID, err)
	}
	// As recorded, with the time it was (and its times in UTC, as every
	// read of it gives them): what the caller is shown.
	recorded, err := s.Store.GetIntake(ctx, in.ID)
	if err != nil {
		return store.Intake{}, fmt.Errorf("intake %s is recorded and its workflow started, but reading it back failed (see `infuse intake list`): %w", in.ID, apperr.StoreError(err))
	}
	return recorded, nil
}

func (s *Service) programme(version int) (*programme.Programme, error) {
	if version == 0 {
		return programme.Latest(programme.DefaultID)
	}
	p, err := programme.Lookup(programme.DefaultID, version)
	if err != nil {
		return nil, apperr.Invalidf("%v", err)
	}
	return p, nil
}

func (s *Service) checkIntakeSpec(ctx context.Context, spec IntakeSpec) error {
	var problems []string
	if strings.TrimSpace(spec.Name) == "" {
		problems = append(problems, "a name is required (e.g. \"Cohort 2\")")
	}
	if p := capacityProblem(spec.Capacity); p != "" {
		problems = append(problems, p)
	}
	if spec.OpensAt.IsZero() || spec.ClosesAt.IsZero() || spec.StartsOn.IsZero() {
		problems = append(problems, "opening, closing and start dates are all required")
	} else {
		if !spec.ClosesAt.After(spec.OpensAt) {
			problems = append(problems, "the window must close after it opens")
		}
		if spec.StartsOn.Before(spec.ClosesAt.Truncate(24 * time.Hour)) {
			problems = append(problems, "the programme must start on or after the day applications close")
		}
	}
	if len(problems) > 0 {
		return apperr.Invalidf("%s", strings.Join(problems, "; "))
	}
	return s.checkPerson(ctx, spec.CoordinatorID, store.RoleCoordinator)
}

// capacityProblem says what is wrong with a number of places, or "". The
// intake workflow enforces the same range; checking here first answers a
// typo as invalid input rather than as the intake's refusal.
func capacityProblem(n int) string {
	if n < workflows.MinCapacity || n > workflows.MaxCapacity {
		return fmt.Sprintf("capacity must be from %d to %d places (got %d)", workflows.MinCapacity, workflows.MaxCapacity, n)
	}
	return ""
}

// IntakeEdit is what a coordinator may change about an intake after
// creating it; a nil field stays as it is. The dates are fixed: the
// window's timers and every journey's schedule follow from them.
type IntakeEdit struct {
	Name     *string
	Capacity *int
}

// EditIntake renames an intake and changes its number of places. A new
// capacity goes to the intake's workflow first, which refuses it once the
// intake has started or below the places already offered or taken
// (apperr.ErrRejected, with its reason), and offers places it frees to the
// waitlist; only then is the store's row changed, so the row never claims
// places the workflow refused. A rename touches only the store. The same
// edit twice is fine: the workflow takes an unchanged capacity as done, so
// a retry after a store failure completes the edit.
func (s *Service) EditIntake(ctx context.Context, intakeID uuid.UUID, e IntakeEdit) (store.Intake, error) {
	if e.Name == nil && e.Capacity == nil {
		return store.Intake{}, apperr.Invalidf("nothing to change: give the intake a new name, a new capacity or both")
	}
	if e.Capacity != nil {
		if p := capacityProblem(*e.Capacity); p != "" {
			return store.Intake{}, apperr.Invalidf("%s", p)
		}
	}
	in, err := s.Store.GetIntake(ctx, intakeID)
	if err != nil {
		return store.Intake{}, apperr.StoreError(err)
	}
	name, capacity := in.Name, in.Capacity
	if e.Name != nil {
		name = *e.Name
	}
	if e.Capacity != nil {
		capacity = *e.Capacity
	}
	// The name is checked before the workflow acts, so a bad name cannot
	// leave the capacity changed and the name not.
	if name, err = store.PrepareIntakeEdit(in.ID, name, capacity); err != nil {
		return store.Intake{}, apperr.StoreError(err)
	}
	if e.Capacity != nil {
		if err := s.setCapacity(ctx, in, capacity); err != nil {
			return store.Intake{}, err
		}
	}
	if err := s.Store.UpdateIntake(ctx, in.ID, name, capacity); err != nil {
		return store.Intake{}, apperr.StoreError(err)
	}
	in.Name, in.Capacity = name, capacity
	return in, nil
}

// setCapacity asks the intake's workflow to change its places. A finished
// intake's workflow has ended, so it is answered here.
func (s *Service) setCapacity(ctx context.Context, in store.Intake, capacity int) error {
	if in.Status == store.IntakeFinished {
		if capacity == in.Capacity {
			return nil
		}
		return fmt.Errorf("%w: intake %s has finished: its number of places can no longer change", apperr.ErrRejected, in.ID)
	}
	return s.Workflows.UpdateIntake(ctx, in.ID, workflows.SetCapacityRequest{Capacity: capacity}, nil)
}

// checkPerson makes sure id names a person with the given role.
func (s *Service) checkPerson(ctx context.Context, id uuid.UUID, role store.Role) error {
	_, err := apperr.PersonAs(ctx, s.Store, id, role)
	return err
}

// Apply submits a participant's application to an open intake. The
// returned journey ID names the participant's journey from then on. A
// person applies to an intake once: a second application is refused, and
// a retry of the same request (starter.WithRequestID) gets the first one's answer.
func (s *Service) Apply(ctx context.Context, intakeID, personID, coachID uuid.UUID) (uuid.UUID, error) {
	if err := s.checkPerson(ctx, personID, store.RoleParticipant); err != nil {
		return uuid.Nil, err
	}
	if coachID != uuid.Nil {
		if err := s.checkPerson(ctx, coachID, store.RoleCoach); err != nil {
			return uuid.Nil, err
		}
	}
	var journeyID uuid.UUID
	err := s.Workflows.UpdateIntake(ctx, intakeID, workflows.SubmitApplicationRequest{JourneyID: starter.ApplicationJourneyID(ctx, intakeID), PersonID: personID, CoachID: coachID}, &journeyID)
	return journeyID, err
}

// Decide records a coordinator's decision on an application.
func (s *Service) Decide(ctx context.Context, intakeID, journeyID uuid.UUID, d workflows.Decision) (workflows.Status, error) {
	var st workflows.Status
	err := s.Workflows.UpdateIntake(ctx, intakeID, workflows.DecideRequest{JourneyID: journeyID, Decision: d}, &st)
	return st, err
}

// StartIntake starts the programme for everyone who accepted.
func (s *Service) StartIntake(ctx context.Context, intakeID uuid.UUID) (map[workflows.Status]int, error) {
	var counts map[workflows.Status]int
	err := s.Workflows.UpdateIntake(ctx, intakeID, workflows.StartIntakeRequest{}, &counts)
	return counts, err
}

// RescheduleSession moves one lab session for the whole intake; every
// affected journey moves its reminders.
func (s *Service) RescheduleSession(ctx context.Context, intakeID uuid.UUID, sessionID string, startsAt time.Time) error {
	if !startsAt.After(s.Now()) {
		return apperr.Invalidf("the new time %s is not in the future", startsAt.Format(time.RFC3339))
	}
	return s.Workflows.UpdateIntake(ctx, intakeID, workflows.RescheduleSessionRequest{SessionID: sessionID, StartsAt: startsAt}, nil)
}

// RespondToOffer is the participant accepting or declining their offer.
func (s *Service) RespondToOffer(ctx context.Context, journeyID uuid.UUID, accept bool) (workflows.Status, error) {
	var st workflows.Status
	err := s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.RespondToOfferRequest{Accept: accept}, &st)
	return st, err
}

// AssignCoach gives a journey its coach.
func (s *Service) AssignCoach(ctx context.Context, journeyID, coachID uuid.UUID) error {
	if err := s.checkPerson(ctx, coachID, store.RoleCoach); err != nil {
		return err
	}
	return s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.AssignCoachRequest{CoachID: coachID}, nil)
}

// RecordAttendance records whether the participant attended a lab session.
func (s *Service) RecordAttendance(ctx context.Context, journeyID uuid.UUID, sessionID string, attended bool) error {
	return s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.AttendanceRequest{SessionID: sessionID, Attended: attended}, nil)
}

// Withdraw ends a journey. The free-text note, if any, stays in the store.
func (s *Service) Withdraw(ctx context.Context, journeyID, authorID uuid.UUID, reason, note string) error {
	request := starter.RequestID(ctx)
	if request == "" {
		request = uuid.NewString()
	}
	n := noteRequest{journey: journeyID, author: authorID, body: note, request: request}
	return s.withNote(ctx, n, func(noteID uuid.UUID) error {
		return s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.WithdrawRequest{Reason: reason, NoteID: noteID}, nil)
	})
}

// Defer moves a participant, with their progress, to a later intake.
func (s *Service) Defer(ctx context.Context, journeyID, targetIntakeID uuid.UUID) (uuid.UUID, error) {
	target, err := s.Store.GetIntake(ctx, targetIntakeID)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, fmt.Errorf("%w: no intake %s to defer to", apperr.ErrNotFound, targetIntakeID)
	}
	if err != nil {
		return uuid.Nil, err
	}
	if target.Status == store.IntakeFinished {
		return uuid.Nil, fmt.Errorf("%w: intake %s has finished; defer to a later one", apperr.ErrRejected, target.ID)
	}
	var newJourney uuid.UUID
	err = s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.DeferRequest{TargetIntakeID: targetIntakeID}, &newJourney)
	return newJourney, err
}

// Pause stops a journey's clock; Resume restarts it, shifting what is ahead.
func (s *Service) Pause(ctx context.Context, journeyID uuid.UUID) error {
	return s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.PauseRequest{}, nil)
}

// Resume restarts a paused journey; due dates move by the length of the pause.
func (s *Service) Resume(ctx context.Context, journeyID uuid.UUID) error {
	return s.Workflows.UpdateJourney(ctx, journeyID, "", workflows.ResumeRequest{}, nil)
}

// Checkpoint is a coach's completion of a coaching checkpoint.
type Checkpoint struct {
	JourneyID    uuid.UUID
	CheckpointID string
	CoachID      uuid.UUID
	Notes        string
	Status       workflows.RAG
	// RequestID makes a retry safe: the same ID completes the checkpoint once.
	RequestID string
}

// CompleteCheckpoint stores the coach's notes and completes the checkpoint.
// The journey checks that this is the assigned coach and the checkpoint is open.
func (s *Service) CompleteCheckpoint(ctx context.Context, c Checkpoint) (workflows.Task, error) {
	if c.RequestID == "" {
		c.RequestID = uuid.NewString()
	}
	var t workflows.Task
	n := noteRequest{journey: c.JourneyID, author: c.CoachID, body: c.Notes, request: c.RequestID, required: true}
	err := s.withNote(ctx, n, func(noteID uuid.UUID) error {
		return s.Workflows.UpdateJourney(ctx, c.JourneyID, c.RequestID, workflows.CompleteCheckpointRequest{
			CheckpointID: c.CheckpointID, CoachID: c.CoachID, NoteID: noteID, Status: c.Status, RequestID: c.RequestID,
		}, &t)
	})
	return t, err
}

// SubmitTask is the participant handing in their plan or reflection.
func (s *Service) SubmitTask(ctx context.Context, journeyID, personID uuid.UUID, taskID, text, requestID string) (workflows.Task, error) {
	if requestID == "" {
		requestID = uuid.NewString()
	}
	var t workflows.Task
	n := noteRequest{journey: journeyID, author: personID, body: text, request: requestID, required: true}
	err := s.withNote(ctx, n, func(noteID uuid.UUID) error {
		return s.Workflows.UpdateJourney(ctx, journeyID, requestID, workflows.SubmitTaskRequest{TaskID: taskID, NoteID: noteID, RequestID: requestID}, &t)
	})
	return t, err
}

// noteRequest is free text that goes with a request: it is kept in the store and
// only its ID is handed to the workflow.
type noteRequest struct {
	journey, author uuid.UUID
	body            string
	// request names the request the note belongs to; the note's ID is
	// derived from it, so a retried request finds its note already saved.
	request  string
	required bool
}

// withNote saves the note, sends the request with the note's ID, and
// deletes the note again if the journey refuses the request: a refused
// coach's notes must not linger as personal data nobody can see. On any
// other failure the request may yet have landed, so the note stays.
func (s *Service) withNote(ctx context.Context, n noteRequest, send func(noteID uuid.UUID) error) error {
	body := strings.TrimSpace(n.body)
	if body == "" {
		if n.required {
			return apperr.Invalidf("notes are required")
		}
		return send(uuid.Nil)
	}
	id := uuid.NewSHA1(n.journey, []byte(n.request))
	if err := s.Store.SaveNote(ctx, store.Note{ID: id, AuthorID: n.author, JourneyID: n.journey, Body: body}); err != nil {
		return apperr.StoreError(err)
	}
	err := send(id)
	if errors.Is(err, apperr.ErrRejected) || errors.Is(err, apperr.ErrNotFound) {
		if derr := s.Store.DeleteNote(ctx, id); derr != nil {
			// The refusal is what the caller needs; the store's error
			// text is not for them (it names tables and servers).
			return fmt.Errorf("%w (and its note %s could not be removed; the store failed)", err, id)
		}
	}
	return err
}
