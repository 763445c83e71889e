package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Intake is the whole state of one intake (cohort) and the workflow's input.
type Intake struct {
	IntakeID         uuid.UUID
	CoordinatorID    uuid.UUID
	ProgrammeID      string
	ProgrammeVersion int
	OpensAt          time.Time
	ClosesAt         time.Time
	StartsOn         time.Time
	Capacity         int

	Status store.IntakeStatus
	// Published is the status last set as the InfusePhase search attribute.
	Published store.IntakeStatus
	Seq       int64
	// Runs counts the runs that continued as new before this one (since
	// record-locally 4; see Journey.Runs).
	Runs int64
	// Order lists journeys in the order they arrived; maps are never
	// iterated for anything that touches history, so replay is stable.
	Order      []uuid.UUID
	Applicants map[uuid.UUID]*Applicant
	// Waitlist is first come, first offered.
	Waitlist     []uuid.UUID
	SessionMoves map[string]time.Time
	Schedule     *programme.Schedule
}

// Applicant is the intake's view of one journey.
type Applicant struct {
	PersonID uuid.UUID
	Status   Status
	// Reported is the status the journey itself last reported, and
	// ReportedSeq the journey's event sequence number when it did.
	Reported    Status
	ReportedSeq int64
}

// IntakeView answers the intake-state query.
type IntakeView struct {
	IntakeID     uuid.UUID
	Status       store.IntakeStatus
	Capacity     int
	PlacesTaken  int
	Counts       map[Status]int
	Waitlist     []uuid.UUID
	SessionMoves map[string]time.Time
}

type intake struct {
	Intake
	changed bool
	busy    int
	listeners
	// versions are the versioned changes this run uses (a guarded run
	// changes status only through moveIntake and takes only news from its
	// journeys); order keeps its records in sequence (inOrder).
	versions
	order inOrder
	// taking marks the deferred journeys being started (takeDeferral).
	taking map[uuid.UUID]bool
}

func (in *intake) listening() (*listeners, versions) { return &in.listeners, in.versions }
func (in *intake) handling(delta int) {
	in.busy += delta
	in.changed = true
}

// IntakeWorkflow runs one intake: the application window, decisions and
// the waitlist, the start of the programme, and rescheduled sessions.
// Each applicant's journey is a child workflow that outlives this run.
func IntakeWorkflow(ctx workflow.Context, state Intake) (store.IntakeStatus, error) {
	in := &intake{Intake: state, versions: askVersions(ctx), taking: map[uuid.UUID]bool{}}
	in.order = inOrder{on: in.guarded, done: in.Seq}
	if in.Applicants == nil {
		in.Applicants = map[uuid.UUID]*Applicant{}
	}
	if in.SessionMoves == nil {
		in.SessionMoves = map[string]time.Time{}
	}
	ctx = withActivityOptions(ctx)
	if err := in.setup(ctx); err != nil {
		return "", err
	}
	return in.run(ctx)
}

func (in *intake) setup(ctx workflow.Context) error {
	err := register(ctx, []query{
		{QueryIntakeCounts, func() (map[Status]int, error) { return in.counts(), nil }},
		{QueryIntakeState, func() (IntakeView, error) { return in.view(), nil }},
	}, in.updates())
	if err != nil {
		return err
	}
	listen(ctx, in, SignalJourneyStatus, in.onJourneyStatus)
	listen(ctx, in, SignalDeferralIn, in.onDeferralIn)
	return nil
}

// updates are the intake's update handlers, each with its validator.
func (in *intake) updates() []updateHandler {
	return []updateHandler{
		{UpdateSubmitApplication, in.submit, in.validateSubmit},
		{UpdateDecide, in.decide, in.validateDecide},
		{UpdateStartIntake, in.start, in.validateStart},
		{UpdateRescheduleSession, in.reschedule, in.validateReschedule},
		{UpdateSetCapacity, in.setCapacity, in.validateSetCapacity},
		{UpdateAcceptDeferral, in.acceptDeferral, in.validateAcceptDeferral},
	}
}

func (in *intake) run(ctx workflow.Context) (store.IntakeStatus, error) {
	if in.Status == "" && in.moveIntake(store.IntakeDraft) {
		if err := in.record(ctx, "intake.scheduled", nil); err != nil {
			return "", err
		}
	}
	for in.Status != store.IntakeFinished {
		if err := in.advance(ctx); err != nil {
			return "", err
		}
		if in.Status == store.IntakeFinished {
			break
		}
		if workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			in.settle(ctx)
			if in.recordFenced {
				in.Runs++
			}
			return "", workflow.NewContinueAsNewError(ctx, IntakeWorkflow, in.Intake)
		}
		in.sleep(ctx)
	}
	in.settle(ctx)
	return in.Status, nil
}

// advance opens and closes the window on time, and finishes the intake
// once every journey has ended.
func (in *intake) advance(ctx workflow.Context) error {
	now := workflow.Now(ctx)
	if in.Status == store.IntakeDraft && !now.Before(in.OpensAt) && in.moveIntake(store.IntakeOpen) {
		if err := in.record(ctx, "intake.opened", nil); err != nil {
			return err
		}
	}
	if in.Status == store.IntakeOpen && !now.Before(in.ClosesAt) && in.moveIntake(store.IntakeClosed) {
		if err := in.record(ctx, "intake.closed", nil); err != nil {
			return err
		}
		in.tell(ctx, SignalReview, struct{}{}, contract.StatusSubmitted)
	}
	if in.Status == store.IntakeStarted && in.allEnded() && in.moveIntake(store.IntakeFinished) {
		return in.record(ctx, "intake.finished", nil)
	}
	return nil
}

func (in *intake) sleep(ctx workflow.Context) {
	in.changed = false
	var wake time.Time
	switch in.Status {
	case store.IntakeDraft:
		wake = in.OpensAt
	case store.IntakeOpen:
		wake = in.ClosesAt
	}
	d := wake.Sub(workflow.Now(ctx))
	if wake.IsZero() || d <= 0 {
		_ = workflow.Await(ctx, func() bool { return in.changed })
		return
	}
	in.awaitOrTimeout(ctx, d, func() bool { return in.changed })
}

func (in *intake) settle(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && in.busy == 0 && in.pending() == 0
	})
}

func (in *intake) allEnded() bool {
	for _, id := range in.Order {
		if !in.Applicants[id].Status.Terminal() {
			return false
		}
	}
	return true
}

// --- submissions ---

func (in *intake) validateSubmit(ctx workflow.Context, r SubmitApplicationRequest) error {
	if r.JourneyID == uuid.Nil || r.PersonID == uuid.Nil {
		return errors.New("an application needs a journey ID and a person ID")
	}
	if err := in.journeyIDFree(r.JourneyID, r.PersonID); err != nil {
		return err
	}
	if _, ok := in.Applicants[r.JourneyID]; ok {
		return nil // the same request again
	}
	if err := in.windowError(workflow.Now(ctx)); err != nil {
		return err
	}
	for _, id := range in.Order {
		if in.Applicants[id].PersonID == r.PersonID {
			return fmt.Errorf("this person has already applied to this intake (journey %s)", id)
		}
	}
	return nil
}

// journeyIDFree refuses a journey ID this intake already gave to someone
// else: the same request again names the same person, and is answered
// with the journey it made.
func (in *intake) journeyIDFree(journeyID, personID uuid.UUID) error {
	if a, ok := in.Applicants[journeyID]; ok && a.PersonID != personID {
		return fmt.Errorf("journey %s is another person's: choose a new journey ID", journeyID)
	}
	return nil
}

// windowError says why an application cannot be taken now, if it cannot.
// It goes by the clock rather than the status, which changes a moment
// later (after the change is recorded).
func (in *intake) windowError(now time.Time) error {
	switch {
	case in.Status == store.IntakeStarted || in.Status == store.IntakeFinished:
		return errors.New("the intake has started: applications are closed")
	case now.Before(in.OpensAt):
		return fmt.Errorf("applications are not open yet: the window opens %s", in.OpensAt.UTC().Format(time.RFC3339))
	case !now.Before(in.ClosesAt):
		return fmt.Errorf("applications closed %s", in.ClosesAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// submit starts the applicant's journey as a child workflow. Journeys are
// abandoned, not cancelled, when an intake run ends: they outlive it.
func (in *intake) submit(ctx workflow.Context, r SubmitApplicationRequest) (uuid.UUID, error) {
	if a, ok := in.Applicants[r.JourneyID]; ok && (a.PersonID == r.PersonID || !in.guarded) {
		return r.JourneyID, nil
	}
	// Checked again: two applications of one person in one batch of
	// updates may both have passed the validator before either ran.
	if in.guarded {
		if err := in.validateSubmit(ctx, r); err != nil {
			return uuid.Nil, err
		}
	}
	in.Applicants[r.JourneyID] = &Applicant{PersonID: r.PersonID, Status: contract.StatusSubmitted}
	in.Order = append(in.Order, r.JourneyID)
	err := in.startJourney(ctx, Journey{
		JourneyID: r.JourneyID, PersonID: r.PersonID, CoachID: r.CoachID,
	})
	if err != nil {
		return uuid.Nil, err
	}
	return r.JourneyID, in.record(ctx, "application.received", map[string]any{"journey": r.JourneyID})
}

func (in *intake) startJourney(ctx workflow.Context, j Journey) error {
	j.IntakeID, j.CoordinatorID = in.IntakeID, in.CoordinatorID
	// A child's input is not compared on replay: every intake, however
	// old, can tell its journeys this.
	j.IntakeStartsOn = in.StartsOn
	j.ProgrammeID, j.ProgrammeVersion = in.ProgrammeID, in.ProgrammeVersion
	sa := []temporal.SearchAttributeUpdate{
		temporalx.IntakeIDKey.ValueSet(in.IntakeID.String()),
		temporalx.PhaseKey.ValueSet(string(contract.StatusSubmitted)),
	}
	if j.CoachID != uuid.Nil {
		sa = append(sa, temporalx.CoachIDKey.ValueSet(j.CoachID.String()))
	}
	if j.Status != "" {
		sa[1] = temporalx.PhaseKey.ValueSet(string(j.Status))
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            JourneyWorkflowID(j.JourneyID),
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		TypedSearchAttributes: temporal.NewSearchAttributes(sa...),
	})
	return workflow.ExecuteChildWorkflow(cctx, JourneyWorkflow, j).GetChildWorkflowExecution().Get(ctx, nil)
}

// --- decisions and the waitlist ---

func (in *intake) validateDecide(ctx workflow.Context, r DecideRequest) error {
	a, ok := in.Applicants[r.JourneyID]
	if !ok {
		return fmt.Errorf("no application %s in this intake", r.JourneyID)
	}
	if in.Status == store.IntakeStarted || in.Status == store.IntakeFinished {
		return errors.New("the intake has started: decisions are closed")
	}
	undecided := []Status{contract.StatusSubmitted, contract.StatusUnderReview}
	switch r.Decision {
	case DecisionOffer:
		if !slices.Contains(append(undecided, contract.StatusWaitlisted), a.Status) {
			return fmt.Errorf("cannot offer a place: the application is %s", a.Status)
		}
		if in.placesTaken() >= in.Capacity {
			return fmt.Errorf("the intake is full (%d places offered or taken): waitlist this application instead", in.Capacity)
		}
	case DecisionWaitlist:
		if !slices.Contains(undecided, a.Status) {
			return fmt.Errorf("cannot waitlist: the application is %s", a.Status)
		}
	case DecisionReject:
		if !slices.Contains(append(undecided, contract.StatusWaitlisted), a.Status) {
			return fmt.Errorf("cannot reject: the application is %s", a.Status)
		}
	default:
		return fmt.Errorf("decision %q is not one of offer, waitlist, reject", r.Decision)
	}
	return nil
}

func (in *intake) decide(ctx workflow.Context, r DecideRequest) (Status, error) {
	// Checked again: every validator of a batch of updates may run before
	// any handler, so two offers can both have seen the last place free.
	if in.guarded {
		if err := in.validateDecide(ctx, r); err != nil {
			return "", err
		}
	}
	a := in.Applicants[r.JourneyID]
	next := decided(r.Decision)
	if a.Status == next {
		return next, nil
	}
	// The intake updates its own view at once, so two quick offers cannot
	// both take the last place; the journey confirms later (its report, or
	// its answer to the update).
	a.Status = next
	in.Waitlist = slices.DeleteFunc(in.Waitlist, func(id uuid.UUID) bool { return id == r.JourneyID })
	if next == contract.StatusWaitlisted {
		in.Waitlist = append(in.Waitlist, r.JourneyID)
	}
	if in.decisionsByUpdate {
		return in.sendDecision(ctx, a, r)
	}
	if err := in.signalJourney(ctx, r.JourneyID, SignalDecision, DecisionSignal{Decision: r.Decision}); err != nil {
		return "", err
	}
	if err := in.record(ctx, "application.decided", map[string]any{"journey": r.JourneyID, "decision": r.Decision}); err != nil {
		return "", err
	}
	// Answer once the journey has acted on the decision, so that the
	// applicant can accept an offer as soon as the coordinator is told it
	// was made. A journey that does not confirm in time is reported as is.
	in.awaitOrTimeout(ctx, decisionConfirmTimeout, func() bool { return a.Reported == next })
	return a.Status, nil
}

// decisionConfirmTimeout bounds how long a decision waits for its journey.
const decisionConfirmTimeout = time.Minute

// sendDecision sends a decision to its journey by update
// (decisionsByUpdate), records it while the update is on its way, and
// takes the journey's answer as its report (takeAnswer). Like the
// signalled decision it answers once the journey has acted on it, or
// after decisionConfirmTimeout with the status the intake gave it.
func (in *intake) sendDecision(ctx workflow.Context, a *Applicant, r DecideRequest) (Status, error) {
	sent := workflow.ExecuteActivity(withDecisionOptions(ctx), acts.SendUpdate, activities.UpdateInput{
		WorkflowID: JourneyWorkflowID(r.JourneyID),
		UpdateName: UpdateDecision,
		UpdateID:   decisionUpdateID(ctx, r.JourneyID),
		Arg:        asJSON(DecisionSignal{Decision: r.Decision}),
	})
	// The answer counts as a signal being handled, so that the intake
	// does not continue as new without it.
	answered := false
	in.handling(1)
	workflow.Go(ctx, func(ctx workflow.Context) {
		defer func() { answered = true; in.handling(-1) }()
		in.takeAnswer(ctx, sent, a, r)
	})
	if err := in.record(ctx, "application.decided", map[string]any{"journey": r.JourneyID, "decision": r.Decision}); err != nil {
		return "", err
	}
	in.awaitOrTimeout(ctx, decisionConfirmTimeout, func() bool { return answered })
	return a.Status, nil
}

// takeAnswer takes a journey's answer to a decision sent by update as
// its report. A journey that refused the update (its worker, of an older
// release during a rolling deploy, does not know it) or did not answer
// within decisionConfirmTimeout is signalled the decision instead, as
// before lifecycle-guard 10, which it cannot miss, and its report is
// waited for as a signalled decision's is; a journey that has ended
// reported what it did instead. The wait is bounded either way, so a
// journey that never answers cannot hold up the intake's continue-as-new.
//
// An update that timed out may still reach the journey, before or after
// the signal: the journey acts on whichever comes first and ignores the
// other by its status (a run begun before the lifecycle guard, which
// does not look again after planning an offer, could make it twice). If
// the update comes first no report follows, and the wait runs its minute.
func (in *intake) takeAnswer(ctx workflow.Context, sent workflow.Future, a *Applicant, r DecideRequest) {
	var report JourneyStatusSignal
	err := sent.Get(ctx, &report)
	var answer *temporal.ApplicationError
	switch {
	case err == nil:
		if err := in.onJourneyStatus(ctx, report); err != nil {
			workflow.GetLogger(ctx).Warn("journey's answer to the decision not taken", "JourneyID", r.JourneyID, "Error", err)
		}
		return
	case errors.As(err, &answer) && answer.Type() == activities.ErrNotRunning:
		workflow.GetLogger(ctx).Warn("journey ended before it took the decision", "JourneyID", r.JourneyID, "Error", err)
		return
	}
	workflow.GetLogger(ctx).Warn("journey did not answer the decision by update: signalled instead", "JourneyID", r.JourneyID, "Error", err)
	if err := in.signalJourney(ctx, r.JourneyID, SignalDecision, DecisionSignal{Decision: r.Decision}); err != nil {
		workflow.GetLogger(ctx).Warn("journey not signalled the decision", "JourneyID", r.JourneyID, "Error", err)
		return
	}
	next := decided(r.Decision)
	in.awaitOrTimeout(ctx, decisionConfirmTimeout, func() bool { return a.Reported == next })
}

// decided is the status a decision gives an application.
func decided(d Decision) Status {
	return map[Decision]Status{DecisionOffer: contract.StatusOffered, DecisionWaitlist: contract.StatusWaitlisted, DecisionReject: contract.StatusRejected}[d]
}

// withDecisionOptions are the options of the SendUpdate that carries a
// decision: retried as every activity is, but only for as long as the
// decision waits for its answer, after which the decision is signalled.
func withDecisionOptions(ctx workflow.Context) workflow.Context {
	opts := workflow.GetActivityOptions(withActivityOptions(ctx))
	opts.ScheduleToCloseTimeout = decisionConfirmTimeout
	return workflow.WithActivityOptions(ctx, opts)
}

// decisionUpdateID names the update that carries the decision being
// handled to journeyID: the same for every attempt of the activity and
// every retry of the coordinator's request (the intake's update ID), so
// the journey takes it once. The intake's update ID is the client's (an
// idempotency key, free text), so only a hash of it goes to the journey.
func decisionUpdateID(ctx workflow.Context, journeyID uuid.UUID) string {
	return fmt.Sprintf("%s/%s", UpdateDecision, uuid.NewSHA1(journeyID, []byte(workflow.GetCurrentUpdateInfo(ctx).ID)))
}

// onJourneyStatus takes a journey's report of its status. In guarded runs
// only news counts: a report older than one already taken (by the
// journey's sequence number), or one the intake's own decision has
// overtaken (an "under review" after the offer), changes nothing. An
// acceptance that arrives after the intake started gets its start: the
// start told only the journeys it knew to be accepted.
func (in *intake) onJourneyStatus(ctx workflow.Context, s JourneyStatusSignal) error {
	a, ok := in.Applicants[s.JourneyID]
	if !ok {
		return fmt.Errorf("status from unknown journey %s", s.JourneyID)
	}
	if in.guarded {
		if s.Seq != 0 && s.Seq <= a.ReportedSeq {
			return nil
		}
		a.Reported, a.ReportedSeq = s.Status, s.Seq
		if s.Status == a.Status || !Reachable(a.Status, s.Status) {
			return nil
		}
	}
	a.Status, a.Reported = s.Status, s.Status
	if in.guarded && s.Status == contract.StatusAccepted && in.Status == store.IntakeStarted {
		return in.tellToStart(ctx, s.JourneyID)
	}
	if s.Status == contract.StatusDeclined || s.Status == contract.StatusOfferLapsed {
		return in.promoteFromWaitlist(ctx)
	}
	return nil
}

// promoteFromWaitlist offers freed places to the longest-waiting applicants.
func (in *intake) promoteFromWaitlist(ctx workflow.Context) error {
	for in.Status != store.IntakeStarted && in.placesTaken() < in.Capacity && len(in.Waitlist) > 0 {
		next := in.Waitlist[0]
		in.Waitlist = in.Waitlist[1:]
		if in.Applicants[next].Status != contract.StatusWaitlisted {
			continue
		}
		in.Applicants[next].Status = contract.StatusOffered
		if err := in.signalJourney(ctx, next, SignalDecision, DecisionSignal{Decision: DecisionOffer}); err != nil {
			return err
		}
		if err := in.record(ctx, "waitlist.promoted", map[string]any{"journey": next}); err != nil {
			return err
		}
	}
	return nil
}

func (in *intake) placesTaken() int {
	n := 0
	for _, id := range in.Order {
		switch in.Applicants[id].Status {
		case contract.StatusOffered, contract.StatusAccepted, contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused:
			n++
		}
	}
	return n
}

// --- capacity ---

func (in *intake) validateSetCapacity(ctx workflow.Context, r SetCapacityRequest) error {
	if r.Capacity < MinCapacity || r.Capacity > MaxCapacity {
		return fmt.Errorf("capacity %d is out of range: an intake has %d to %d places", r.Capacity, MinCapacity, MaxCapacity)
	}
	if r.Capacity == in.Capacity {
		return nil // nothing to change: the same request again
	}
	if in.Status == store.IntakeStarted || in.Status == store.IntakeFinished {
		return errors.New("the intake has started: its number of places can no longer change")
	}
	if taken := in.placesTaken(); r.Capacity < taken {
		return fmt.Errorf("%d places are already offered or taken: the capacity cannot go below %d", taken, taken)
	}
	return nil
}

// setCapacity changes the number of places; places it frees go to the
// waitlist, longest-waiting first, exactly as when an offer is declined.
func (in *intake) setCapacity(ctx workflow.Context, r SetCapacityRequest) (IntakeView, error) {
	// Checked again: a decision handled since the validator ran may have
	// taken a place.
	if err := in.validateSetCapacity(ctx, r); err != nil {
		return IntakeView{}, err
	}
	old := in.Capacity
	if r.Capacity == old {
		return in.view(), nil
	}
	in.Capacity = r.Capacity
	if err := in.record(ctx, "intake.capacity_changed", map[string]any{"from": old, "to": r.Capacity}); err != nil {
		return IntakeView{}, err
	}
	if err := in.promoteFromWaitlist(ctx); err != nil {
		return IntakeView{}, err
	}
	return in.view(), nil
}

// --- starting the programme ---

func (in *intake) validateStart(ctx workflow.Context, _ StartIntakeRequest) error {
	if in.Status == store.IntakeStarted || in.Status == store.IntakeFinished {
		return errors.New("the intake has already started")
	}
	if in.Status == store.IntakeDraft {
		return errors.New("the intake cannot start before its application window has opened")
	}
	if in.count(contract.StatusAccepted) == 0 {
		return errors.New("nobody has accepted an offer yet: make offers and wait for acceptances before starting")
	}
	return nil
}

// start begins the programme for every accepted applicant and closes the
// applications of everyone else.
func (in *intake) start(ctx workflow.Context, _ StartIntakeRequest) (map[Status]int, error) {
	if in.Status == store.IntakeStarted {
		return in.counts(), nil
	}
	if err := in.replan(ctx); err != nil {
		return nil, err
	}
	if !in.moveIntake(store.IntakeStarted) {
		return in.counts(), nil // another start went first
	}
	in.Waitlist = nil
	for _, id := range in.tell(ctx, SignalStart, in.startSignal(), contract.StatusAccepted) {
		in.assumeStarting(id)
	}
	in.tell(ctx, SignalNotSelected, struct{}{}, contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted, contract.StatusOffered)
	return in.counts(), in.record(ctx, "intake.started", map[string]any{"starts_on": in.StartsOn})
}

// --- rescheduling ---

func (in *intake) validateReschedule(ctx workflow.Context, r RescheduleSessionRequest) error {
	if in.Schedule == nil {
		return errors.New("sessions can be rescheduled once the intake has started")
	}
	var session *programme.Item
	for i, it := range in.Schedule.Items {
		if it.ID == r.SessionID && it.Kind == programme.KindSession {
			session = &in.Schedule.Items[i]
		}
	}
	if session == nil {
		return fmt.Errorf("no lab session %q in this intake; sessions are named like \"adaption-lab/1\"", r.SessionID)
	}
	now := workflow.Now(ctx)
	if !session.OpensAt.After(now) {
		return fmt.Errorf("session %s has already started", r.SessionID)
	}
	if !r.StartsAt.After(now) {
		return errors.New("the new time must be in the future")
	}
	return nil
}

func (in *intake) reschedule(ctx workflow.Context, r RescheduleSessionRequest) error {
	in.SessionMoves[r.SessionID] = r.StartsAt
	if err := in.replan(ctx); err != nil {
		delete(in.SessionMoves, r.SessionID)
		return err
	}
	scheduled := []Status{contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused}
	if in.movesReachTheStart {
		// An accepted journey of a started intake has its start on the
		// way (or its report of it): it takes the move into that plan.
		scheduled = append(scheduled, contract.StatusAccepted)
	}
	in.tell(ctx, SignalSessionMoved, SessionMovedSignal{SessionID: r.SessionID, StartsAt: r.StartsAt}, scheduled...)
	return in.record(ctx, "session.rescheduled", map[string]any{"item": r.SessionID, "starts_at": r.StartsAt})
}

// replan keeps the intake's own copy of the schedule, which it needs to
// check reschedule requests.
func (in *intake) replan(ctx workflow.Context) error {
	s, err := in.planSchedule(ctx, in.ProgrammeID, in.ProgrammeVersion,
		programme.ScheduleInput{StartsOn: in.StartsOn, SessionMoves: in.SessionMoves})
	if err != nil {
		return err
	}
	in.Schedule = &s
	return nil
}

// --- deferrals ---

// validateAcceptDeferral says whether this intake can take in a deferred
// participant: it has not finished, it starts after the intake they leave,
// it has a free place, and the person has no other live journey here.
func (in *intake) validateAcceptDeferral(ctx workflow.Context, d DeferralHandOver) error {
	if d.NewJourneyID == uuid.Nil || d.PersonID == uuid.Nil {
		return errors.New("a deferral needs the new journey's ID and the person's ID")
	}
	if err := in.journeyIDFree(d.NewJourneyID, d.PersonID); err != nil {
		return err
	}
	if _, ok := in.Applicants[d.NewJourneyID]; ok {
		return nil // the same deferral again: answered with the journey it made
	}
	if in.Status == store.IntakeFinished {
		return errors.New("this intake has finished: defer to a later one")
	}
	if !d.FromStartsOn.IsZero() && !in.StartsOn.After(d.FromStartsOn) {
		return fmt.Errorf("this intake starts %s, not after the participant's own intake (%s): defer to a later one",
			in.StartsOn.UTC().Format(time.DateOnly), d.FromStartsOn.UTC().Format(time.DateOnly))
	}
	for _, id := range in.Order {
		if a := in.Applicants[id]; a.PersonID == d.PersonID && !a.Status.Terminal() {
			return fmt.Errorf("this person already has a live journey in this intake (%s, %s)", id, a.Status)
		}
	}
	if in.placesTaken() >= in.Capacity {
		return fmt.Errorf("this intake is full (%d places offered or taken): raise its capacity first, or defer to another", in.Capacity)
	}
	return nil
}

// acceptDeferral takes in a deferred participant, checked again: an
// offer or another deferral handled since the validator ran may have
// taken the last place.
func (in *intake) acceptDeferral(ctx workflow.Context, d DeferralHandOver) (uuid.UUID, error) {
	if err := in.validateAcceptDeferral(ctx, d); err != nil {
		return uuid.Nil, err
	}
	return d.NewJourneyID, in.takeDeferral(ctx, d, true)
}

// onDeferralIn takes a deferral handed over by a signal, from journeys
// that began before a hand-over could be refused.
func (in *intake) onDeferralIn(ctx workflow.Context, d DeferralHandOver) error {
	if in.Status == store.IntakeFinished {
		return fmt.Errorf("deferral of journey %s into a finished intake", d.FromJourneyID)
	}
	return in.takeDeferral(ctx, d, false)
}

// takeDeferral starts the deferred participant's journey here, accepted
// and carrying their progress, and starts its programme if this intake
// has started already.
//
// With settlesDeferrals the same deferral again is answered only once the
// first has settled, and a journey that could not be started is forgotten
// rather than left holding a place the intake waits on for ever.
//
// byUpdate says the source journey is waiting for the answer and stays as
// it was if it is no; a deferral handed over by signal has already ended
// its source journey, so its entry is kept even if the start failed: the
// intake then shows it, and never finishes, rather than lose it quietly.
func (in *intake) takeDeferral(ctx workflow.Context, d DeferralHandOver, byUpdate bool) error {
	if _, ok := in.Applicants[d.NewJourneyID]; ok {
		if !in.settlesDeferrals {
			return nil
		}
		_ = workflow.Await(ctx, func() bool { return !in.taking[d.NewJourneyID] })
		if _, ok := in.Applicants[d.NewJourneyID]; !ok {
			return fmt.Errorf("journey %s could not be started in this intake: try again", d.NewJourneyID)
		}
		return nil
	}
	in.Applicants[d.NewJourneyID] = &Applicant{PersonID: d.PersonID, Status: contract.StatusAccepted}
	in.Order = append(in.Order, d.NewJourneyID)
	in.taking[d.NewJourneyID] = true
	progress := d.Progress
	err := in.startJourney(ctx, Journey{
		JourneyID: d.NewJourneyID, PersonID: d.PersonID, CoachID: d.CoachID,
		Status: contract.StatusAccepted, Carried: &progress,
	})
	delete(in.taking, d.NewJourneyID)
	var started *temporal.ChildWorkflowExecutionAlreadyStartedError
	switch {
	case err != nil && in.settlesDeferrals && errors.As(err, &started):
		// Started by an earlier attempt this intake kept no record of (the
		// ID is the deferral's own): it is this deferral's journey.
	case err != nil && in.settlesDeferrals && byUpdate:
		in.forget(d.NewJourneyID)
		return err
	case err != nil:
		return err
	}
	if err := in.record(ctx, "deferral.received", map[string]any{"journey": d.NewJourneyID, "from_journey": d.FromJourneyID}); err != nil {
		return err
	}
	if in.Status != store.IntakeStarted {
		return nil
	}
	err = in.tellToStart(ctx, d.NewJourneyID)
	if err != nil && in.settlesDeferrals {
		// Taken all the same: the journey exists, and its answer must say
		// so, or its source journey would stay live beside it.
		workflow.GetLogger(ctx).Warn("deferred journey not told the intake has started", "JourneyID", d.NewJourneyID, "Error", err)
		return nil
	}
	return err
}

// --- helpers ---

// forget removes a journey the intake could not start.
func (in *intake) forget(journeyID uuid.UUID) {
	delete(in.Applicants, journeyID)
	in.Order = slices.DeleteFunc(in.Order, func(id uuid.UUID) bool { return id == journeyID })
}

// startSignal tells a journey when its programme starts.
func (in *intake) startSignal() StartSignal {
	return StartSignal{StartsOn: in.StartsOn, SessionMoves: in.SessionMoves, Assumed: in.startsAssumed}
}

// tellToStart tells one journey that its programme starts and, once the
// signal is delivered, counts it awaiting the start.
func (in *intake) tellToStart(ctx workflow.Context, journeyID uuid.UUID) error {
	if err := in.signalJourney(ctx, journeyID, SignalStart, in.startSignal()); err != nil {
		return err
	}
	in.assumeStarting(journeyID)
	return nil
}

// assumeStarting counts a journey just told to start as awaiting its start
// (startsAssumed), as its start signal told it. A report that overtook the
// signal (a withdrawal, a deferral) stands: only an accepted journey moves.
func (in *intake) assumeStarting(journeyID uuid.UUID) {
	if a := in.Applicants[journeyID]; in.startsAssumed && a != nil && a.Status == contract.StatusAccepted {
		a.Status = contract.StatusAwaitingStart
	}
}

// tell signals every journey in one of the statuses, and returns those
// the signal reached. In guarded runs the journeys are those in the
// statuses when it is called: a journey whose report arrives while the
// signals go out is dealt with by that report. With tellsInBatches the
// signals go out tellBatch at a time, each batch in one workflow task,
// rather than one task per journey.
func (in *intake) tell(ctx workflow.Context, signal string, payload any, statuses ...Status) (told []uuid.UUID) {
	recipients := in.Order
	if in.guarded {
		recipients = slices.DeleteFunc(slices.Clone(in.Order), func(id uuid.UUID) bool {
			return !slices.Contains(statuses, in.Applicants[id].Status)
		})
	}
	if in.signalsByActivity && signal != SignalSessionMoved {
		return in.tellByActivity(ctx, signal, payload, recipients)
	}
	batch := 1
	if in.tellsInBatches {
		batch = tellBatch
	}
	for group := range slices.Chunk(recipients, batch) {
		sent := map[uuid.UUID]workflow.Future{}
		for _, id := range group {
			if !slices.Contains(statuses, in.Applicants[id].Status) && !in.guarded {
				continue // before the guard: the status when its turn came
			}
			sent[id] = workflow.SignalExternalWorkflow(ctx, JourneyWorkflowID(id), "", signal, payload)
		}
		for _, id := range group {
			if f, ok := sent[id]; ok {
				if err := f.Get(ctx, nil); err != nil {
					workflow.GetLogger(ctx).Warn("journey not signalled", "JourneyID", id, "Signal", signal, "Error", err)
					continue
				}
				told = append(told, id)
			}
		}
	}
	return told
}

// tellBatch bounds how many signals the intake has in flight at once.
const tellBatch = 50

// tellByActivity signals the recipients by one activity
// (signalsByActivity), and returns those it reached. A session move is
// not sent this way: a retried attempt can come minutes later, after a
// later move of the same session, which it would undo. What is sent this
// way (the start, the review, not selected) a journey takes only in the
// status it is sent for, so no later signal is undone by it.
func (in *intake) tellByActivity(ctx workflow.Context, signal string, payload any, recipients []uuid.UUID) []uuid.UUID {
	if len(recipients) == 0 {
		return nil
	}
	ids := make([]string, len(recipients))
	for i, id := range recipients {
		ids[i] = JourneyWorkflowID(id)
	}
	var sent activities.SignalsResult
	err := workflow.ExecuteActivity(withSignalsOptions(ctx), acts.SendSignals,
		activities.SignalsInput{WorkflowIDs: ids, SignalName: signal, Arg: asJSON(payload)}).Get(ctx, &sent)
	if err != nil {
		// Retried until it succeeds: only the intake ending stops it.
		workflow.GetLogger(ctx).Warn("journeys not signalled", "Signal", signal, "Error", err)
		return nil
	}
	return slices.DeleteFunc(slices.Clone(recipients), func(id uuid.UUID) bool {
		return slices.Contains(sent.NotReached, JourneyWorkflowID(id))
	})
}

func (in *intake) signalJourney(ctx workflow.Context, journeyID uuid.UUID, signal string, payload any) error {
	return workflow.SignalExternalWorkflow(ctx, JourneyWorkflowID(journeyID), "", signal, payload).Get(ctx, nil)
}

func (in *intake) record(ctx workflow.Context, eventType string, data any) error {
	if in.Status != in.Published {
		in.Published = in.Status
		upsert(ctx, temporalx.PhaseKey.ValueSet(string(in.Status)))
	}
	in.Seq++
	seq := in.Seq
	ev := store.Event{
		Key:          fmt.Sprintf("intake/%s/%d", in.IntakeID, seq),
		IntakeID:     in.IntakeID,
		Type:         eventType,
		OccurredAt:   workflow.Now(ctx),
		Data:         asJSON(data),
		IntakeStatus: in.Status,
	}
	if err := in.order.turn(ctx, seq); err != nil {
		return err
	}
	defer in.order.over(seq)
	return in.recordEvent(ctx, in.place(IntakeWorkflowID(in.IntakeID), seq, in.Runs), ev)
}

func (in *intake) count(s Status) int {
	n := 0
	for _, id := range in.Order {
		if in.Applicants[id].Status == s {
			n++
		}
	}
	return n
}

func (in *intake) counts() map[Status]int {
	c := map[Status]int{}
	for _, id := range in.Order {
		c[in.Applicants[id].Status]++
	}
	return c
}

func (in *intake) view() IntakeView {
	return IntakeView{
		IntakeID: in.IntakeID, Status: in.Status, Capacity: in.Capacity, PlacesTaken: in.placesTaken(),
		Counts: in.counts(), Waitlist: in.Waitlist, SessionMoves: in.SessionMoves,
	}
}
