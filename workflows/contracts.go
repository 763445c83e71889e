// Package workflows holds the two Temporal workflows that carry Infuse
// participants through the programme. IntakeWorkflow runs one intake
// (cohort): the application window on timers, capacity and the waitlist,
// decisions, the start, rescheduled sessions. JourneyWorkflow runs one
// participant's journey through one intake, from application to completion,
// as a child of the intake.
//
// Temporal histories are immutable, so workflows carry UUIDs, codes and
// times only: names, addresses and free text live in the store, and every
// fact a workflow establishes is written there by an activity under an
// idempotency key. Everything a person does arrives as an Update whose
// validator refuses bad requests without writing history. Once released,
// every change here must be guarded with workflow.GetVersion and proven by
// the replay test against the histories under testdata.
package workflows

import (
	"time"

	"github.com/google/uuid"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Workflow IDs are derived from UUIDs only, so nothing personal is ever
// visible in Temporal. One journey per participant per intake.
func JourneyWorkflowID(journeyID uuid.UUID) string { return "journey/" + journeyID.String() }

// IntakeWorkflowID is the workflow ID of an intake.
func IntakeWorkflowID(intakeID uuid.UUID) string { return "intake/" + intakeID.String() }

// Names of the messages workflows accept. Updates are used where the caller
// needs an answer or a rejection (validators reject without writing history);
// signals carry facts between workflows.
const (
	// Journey updates.
	UpdateRespondToOffer     = "respond-to-offer"
	UpdateAssignCoach        = "assign-coach"
	UpdateRecordAttendance   = "record-attendance"
	UpdateCompleteCheckpoint = "complete-checkpoint"
	UpdateSubmitTask         = "submit-task"
	UpdateWithdraw           = "withdraw"
	UpdateDefer              = "defer"
	UpdatePause              = "pause"
	UpdateResume             = "resume"
	// UpdateDecision carries a coordinator's decision from the intake to
	// a journey (through the SendUpdate activity) from lifecycle-guard
	// 10; it answers the journey's status after it, a JourneyStatusSignal.
	UpdateDecision = "take-decision"

	// Journey signals, sent by the intake.
	SignalDecision     = "decision"
	SignalReview       = "review-started"
	SignalStart        = "programme-start"
	SignalNotSelected  = "not-selected"
	SignalSessionMoved = "session-moved"

	// Journey queries.
	QueryState    = "state"
	QueryUpcoming = "upcoming"
	QueryTimeline = "timeline"
	// QuerySchedule answers the journey's whole current schedule (every
	// session and task with its time after reschedules and pauses), for
	// calendar files; QueryUpcoming stops at the next few entries.
	QuerySchedule = "schedule"

	// Intake updates.
	UpdateSubmitApplication = "submit-application"
	UpdateDecide            = "decide"
	UpdateStartIntake       = "start-intake"
	UpdateRescheduleSession = "reschedule-session"
	// UpdateSetCapacity changes the number of places before the intake
	// starts. Adding it changed no recorded history: a new update handler
	// issues no commands on replay, so it needs no workflow.GetVersion.
	UpdateSetCapacity = "set-capacity"

	// UpdateAcceptDeferral asks a later intake to take in a deferred
	// participant; a deferring journey sends it (through the SendUpdate
	// activity) and ends only once the intake has said yes.
	UpdateAcceptDeferral = "accept-deferral"

	// Intake signals, sent by journeys. SignalDeferralIn is how runs begun
	// before the hand-over became an update (lifecycle-guard version 2)
	// hand a deferral over: it cannot be refused.
	SignalJourneyStatus = "journey-status"
	SignalDeferralIn    = "deferral-in"

	// Intake queries.
	QueryIntakeCounts = "counts"
	QueryIntakeState  = "intake-state"
)

// Status is where a journey is: contract.Status, whose constants name
// every status. This package's contracts use the short name; code
// elsewhere names contract.Status.
type Status = contract.Status

// Decision is a coordinator's decision on an application.
type Decision string

const (
	DecisionOffer    Decision = "offer"
	DecisionWaitlist Decision = "waitlist"
	DecisionReject   Decision = "reject"
)

// RAG is a coach's red/amber/green view of a participant at a checkpoint.
type RAG string

const (
	RAGRed   RAG = "red"
	RAGAmber RAG = "amber"
	RAGGreen RAG = "green"
)

// Request is what a person asks of a workflow: each request type names
// the update that takes it, so an update's name and the shape of its
// argument are paired once, here, for the commands (through starter) and
// the preview's script alike. arg is nil for an update that takes none.
// TestEveryRequestNamesTheUpdateThatTakesIt checks each pairing against
// the handlers the workflows register.
type Request interface {
	Update() (name string, arg any)
}

// JourneyRequest is a Request of a journey's workflow; IntakeRequest, of
// an intake's. Sending one to the other workflow does not compile.
type (
	JourneyRequest interface {
		Request
		toJourney()
	}
	IntakeRequest interface {
		Request
		toIntake()
	}
)

func (r RespondToOfferRequest) Update() (string, any)     { return UpdateRespondToOffer, r }
func (r AssignCoachRequest) Update() (string, any)        { return UpdateAssignCoach, r }
func (r AttendanceRequest) Update() (string, any)         { return UpdateRecordAttendance, r }
func (r CompleteCheckpointRequest) Update() (string, any) { return UpdateCompleteCheckpoint, r }
func (r SubmitTaskRequest) Update() (string, any)         { return UpdateSubmitTask, r }
func (r WithdrawRequest) Update() (string, any)           { return UpdateWithdraw, r }
func (r DeferRequest) Update() (string, any)              { return UpdateDefer, r }
func (PauseRequest) Update() (string, any)                { return UpdatePause, nil }
func (ResumeRequest) Update() (string, any)               { return UpdateResume, nil }
func (r SubmitApplicationRequest) Update() (string, any)  { return UpdateSubmitApplication, r }
func (r DecideRequest) Update() (string, any)             { return UpdateDecide, r }
func (r StartIntakeRequest) Update() (string, any)        { return UpdateStartIntake, r }
func (r RescheduleSessionRequest) Update() (string, any)  { return UpdateRescheduleSession, r }
func (r SetCapacityRequest) Update() (string, any)        { return UpdateSetCapacity, r }

func (RespondToOfferRequest) toJourney()     {}
func (AssignCoachRequest) toJourney()        {}
func (AttendanceRequest) toJourney()         {}
func (CompleteCheckpointRequest) toJourney() {}
func (SubmitTaskRequest) toJourney()         {}
func (WithdrawRequest) toJourney()           {}
func (DeferRequest) toJourney()              {}
func (PauseRequest) toJourney()              {}
func (ResumeRequest) toJourney()             {}
func (SubmitApplicationRequest) toIntake()   {}
func (DecideRequest) toIntake()              {}
func (StartIntakeRequest) toIntake()         {}
func (RescheduleSessionRequest) toIntake()   {}
func (SetCapacityRequest) toIntake()         {}

// PauseRequest stops a journey's clock; ResumeRequest restarts it. Their
// updates take no argument.
type (
	PauseRequest  struct{}
	ResumeRequest struct{}
)

// RespondToOfferRequest is the participant's answer to an offer.
type RespondToOfferRequest struct {
	Accept bool
}

// AssignCoachRequest gives a journey its coach.
type AssignCoachRequest struct {
	CoachID uuid.UUID
}

// AttendanceRequest records whether the participant attended a lab session.
type AttendanceRequest struct {
	SessionID string
	Attended  bool
}

// CompleteCheckpointRequest is a coach completing a coaching checkpoint. The
// notes themselves are in the store; NoteID refers to them.
type CompleteCheckpointRequest struct {
	CheckpointID string
	CoachID      uuid.UUID
	NoteID       uuid.UUID
	Status       RAG
	// RequestID makes the update idempotent: the same request twice completes once.
	RequestID string
}

// SubmitTaskRequest is a participant handing in the plan or the reflection.
type SubmitTaskRequest struct {
	TaskID    string // "plan" or "reflection"
	NoteID    uuid.UUID
	RequestID string
}

// WithdrawRequest ends a journey early. Reason is a code; any free text is a note in the store.
type WithdrawRequest struct {
	Reason string
	NoteID uuid.UUID
}

// Withdrawal reason codes. Free text goes in a note, never in the workflow.
var WithdrawReasons = []string{"job-change", "workload", "health", "personal", "other"}

// DeferRequest moves a journey to a later intake, carrying its progress.
type DeferRequest struct {
	TargetIntakeID uuid.UUID
}

// DecisionSignal carries a coordinator's decision from the intake to a
// journey, as a signal or as UpdateDecision's argument.
type DecisionSignal struct {
	Decision Decision
}

// StartSignal tells an accepted journey that its intake has started.
type StartSignal struct {
	StartsOn     time.Time
	SessionMoves map[string]time.Time
	// Assumed says the intake counts the journey as awaiting its start
	// once told, so the journey need not report that (lifecycle-guard 8;
	// journeys begun before it report all the same). Intakes before it
	// leave it false and wait for the report.
	Assumed bool
}

// SessionMovedSignal tells a journey that a lab session was rescheduled.
type SessionMovedSignal struct {
	SessionID string
	StartsAt  time.Time
}

// JourneyStatusSignal tells the intake that a journey changed status.
type JourneyStatusSignal struct {
	JourneyID uuid.UUID
	Status    Status
	// Seq is the journey's event sequence number at the report: reports
	// carry it so the intake can tell an old one arriving late (0 from
	// journeys that ran before it was added).
	Seq int64
}

// Progress is what a deferred participant carries to a later intake.
type Progress struct {
	Attendance map[string]bool // session ID -> attended
	Tasks      map[string]Task // task ID -> completion
}

// DeferralHandOver asks a later intake to take in a deferred participant
// (the argument of UpdateAcceptDeferral, and of SignalDeferralIn before it).
type DeferralHandOver struct {
	FromJourneyID uuid.UUID
	NewJourneyID  uuid.UUID
	PersonID      uuid.UUID
	CoachID       uuid.UUID
	Progress      Progress
	// FromStartsOn is when the participant's programme started in the
	// intake they leave (zero if it had not): the later intake must start
	// after it.
	FromStartsOn time.Time
}

// SubmitApplicationRequest is a person applying to an open intake. JourneyID
// is chosen by the caller so a retried request does not apply twice.
type SubmitApplicationRequest struct {
	JourneyID uuid.UUID
	PersonID  uuid.UUID
	CoachID   uuid.UUID // optional
}

// DecideRequest is a coordinator's decision on one application.
type DecideRequest struct {
	JourneyID uuid.UUID
	Decision  Decision
}

// StartIntakeRequest triggers the start of the programme for every accepted participant.
type StartIntakeRequest struct{}

// RescheduleSessionRequest moves one lab session for the whole intake.
type RescheduleSessionRequest struct {
	SessionID string
	StartsAt  time.Time
}

// SetCapacityRequest changes an intake's number of places. More places
// offer the freed ones to the waitlist at once.
type SetCapacityRequest struct {
	Capacity int
}

// MinCapacity and MaxCapacity bound an intake's number of places: the
// programme's coaches and lab rooms are sized for cohorts of this range.
const (
	MinCapacity = 1
	MaxCapacity = 500
)
