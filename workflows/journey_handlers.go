package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// setup registers the journey's queries, updates and signal listeners.
// Validators reject bad requests before anything is written to history.
func (j *journey) setup(ctx workflow.Context) error {
	ctx = withActivityOptions(ctx)
	err := register(ctx, []query{
		{QueryState, func() (JourneyView, error) { return j.view(workflow.Now(ctx)), nil }},
		{QueryUpcoming, func() ([]Upcoming, error) { return j.upcoming(workflow.Now(ctx), 10), nil }},
		{QueryTimeline, func() ([]TimelineEntry, error) { return j.Timeline, nil }},
		{QuerySchedule, func() ([]ScheduledItem, error) { return j.scheduled(), nil }},
	}, j.updates())
	if err != nil {
		return err
	}
	listen(ctx, j, SignalDecision, j.onDecision)
	listen(ctx, j, SignalReview, func(ctx workflow.Context, _ struct{}) error { return j.onReview(ctx) })
	listen(ctx, j, SignalStart, j.onStart)
	listen(ctx, j, SignalNotSelected, func(ctx workflow.Context, _ struct{}) error { return j.onNotSelected(ctx) })
	listen(ctx, j, SignalSessionMoved, j.onSessionMoved)
	return nil
}

// updates are the journey's update handlers, each with its validator.
func (j *journey) updates() []updateHandler {
	return []updateHandler{
		{UpdateRespondToOffer, j.respondToOffer, j.validateRespondToOffer},
		{UpdateAssignCoach, j.assignCoach, j.validateAssignCoach},
		{UpdateRecordAttendance, j.recordAttendance, j.validateAttendance},
		{UpdateCompleteCheckpoint, j.completeCheckpoint, j.validateCheckpoint},
		{UpdateSubmitTask, j.submitTask, j.validateSubmitTask},
		{UpdateWithdraw, j.withdraw, j.validateWithdraw},
		{UpdateDefer, j.deferTo, j.validateDefer},
		{UpdatePause, j.pause, j.validatePause},
		{UpdateResume, j.resume, j.validateResume},
		{UpdateDecision, j.answerDecision, nil},
	}
}

// updateHandler is one update handler with its validator.
type updateHandler struct {
	name      string
	handler   any
	validator any
}

// query is one query handler.
type query struct {
	name    string
	handler any
}

// register sets a workflow's query and update handlers, in order.
func register(ctx workflow.Context, queries []query, updates []updateHandler) error {
	for _, q := range queries {
		if err := workflow.SetQueryHandler(ctx, q.name, q.handler); err != nil {
			return err
		}
	}
	for _, u := range updates {
		err := workflow.SetUpdateHandlerWithOptions(ctx, u.name, u.handler, workflow.UpdateHandlerOptions{Validator: u.validator})
		if err != nil {
			return err
		}
	}
	return nil
}

// signalTarget is a workflow that handles signals in listener coroutines.
type signalTarget interface {
	// listening is the workflow's listeners and the changes its run uses.
	listening() (*listeners, versions)
	// handling counts signals being handled (delta 1 or -1), and marks the
	// state changed.
	handling(delta int)
}

func (j *journey) listening() (*listeners, versions) { return &j.listeners, j.versions }
func (j *journey) handling(delta int) {
	j.busy += delta
	j.changed = true
}

// listeners are a workflow's signal channels and what handles them. Each
// signal type is handled one signal at a time, in arrival order.
//
// Before listensOnDemand every type had a coroutine of its own, waiting
// for the run's whole life: five a journey, each a goroutine with its
// stack, in every workflow a worker keeps in its cache. With it one
// coroutine waits for any signal and starts a type's handler coroutine
// only while that type has signals to handle: an idle journey holds two
// goroutines instead of six.
type listeners struct {
	channels []workflow.ReceiveChannel
	kinds    []*signalKind // listensOnDemand only
}

// signalKind is one signal type under listensOnDemand.
type signalKind struct {
	name string // in stack traces (__stack_trace)
	ch   workflow.ReceiveChannel
	// takeOne takes the next signal of the type and handles it; false when
	// there is none.
	takeOne func(workflow.Context) bool
	// handling: its handler coroutine is running, and takes what arrives.
	handling bool
}

// pending counts the signals received and not yet taken by a handler.
func (l *listeners) pending() int {
	n := 0
	for _, ch := range l.channels {
		n += ch.Len()
	}
	return n
}

// listen handles the signal name with handle, one at a time, in arrival
// order. A failing handler is logged: a signal cannot be refused.
func listen[T any](ctx workflow.Context, w signalTarget, name string, handle func(workflow.Context, T) error) {
	l, v := w.listening()
	ch := workflow.GetSignalChannel(ctx, name)
	l.channels = append(l.channels, ch)
	handleOne := func(ctx workflow.Context, payload T) {
		w.handling(1)
		if err := handle(ctx, payload); err != nil {
			workflow.GetLogger(ctx).Error("signal not handled", "Signal", name, "Error", err)
		}
		w.handling(-1)
	}
	if !v.listensOnDemand {
		workflow.Go(ctx, func(ctx workflow.Context) {
			for {
				var payload T
				v.receive(ctx, ch, &payload)
				handleOne(ctx, payload)
			}
		})
		return
	}
	l.kinds = append(l.kinds, &signalKind{name: name, ch: ch, takeOne: func(ctx workflow.Context) bool {
		var payload T
		// A signal that cannot be decoded is dropped (and logged) by
		// ReceiveAsync, which then takes the next.
		if !ch.ReceiveAsync(&payload) {
			return false
		}
		handleOne(ctx, payload)
		return true
	}})
	if len(l.kinds) == 1 {
		workflow.GoNamed(ctx, "signals", l.dispatch)
	}
}

// dispatch waits for a signal of a type whose handler is not running and
// starts one, for ever. The signal stays in its channel, where pending
// counts it, until the handler takes it: a run settling before it
// continues as new waits for it (see versions.receive). The wait ignores
// cancellation, as Receive does: a cancelled Await would return at once,
// for ever.
func (l *listeners) dispatch(ctx workflow.Context) {
	waiting, _ := workflow.NewDisconnectedContext(ctx)
	for {
		var next *signalKind
		_ = workflow.Await(waiting, func() bool {
			next = l.idleWithSignal()
			return next != nil
		})
		next.handling = true
		workflow.GoNamed(ctx, "signal "+next.name, func(ctx workflow.Context) {
			for next.takeOne(ctx) {
			}
			next.handling = false
		})
	}
}

// idleWithSignal is the first signal type, in the order they were
// listened to, with a signal waiting and no handler running.
func (l *listeners) idleWithSignal() *signalKind {
	for _, k := range l.kinds {
		if !k.handling && k.ch.Len() > 0 {
			return k
		}
	}
	return nil
}

// --- signals from the intake ---

// onDecision takes a decision the intake signalled: a waitlisted
// applicant's promotion, or any decision of an intake run begun before
// lifecycle-guard 10. The journey reports the status it moves to.
func (j *journey) onDecision(ctx workflow.Context, s DecisionSignal) error {
	return j.takeDecision(ctx, s, false)
}

// answerDecision takes a decision the intake sent by update
// (decisionsByUpdate). Its answer is the journey's status after it, which
// the intake takes as a report, so the journey does not signal that
// status back: that signal, the task taking its confirmation and the
// intake's task taking it in were a third of what an offer waited for.
// It never fails: a decision the journey's status no longer allows (it
// withdrew as the decision went out) is answered with where it is, and a
// failure is logged and answered the same way, so that the intake takes a
// refusal of the update to mean only a worker that does not know it.
func (j *journey) answerDecision(ctx workflow.Context, s DecisionSignal) (JourneyStatusSignal, error) {
	// A decision made as soon as the application is taken can reach the
	// journey in its first workflow task, before the run has begun (given
	// itself the status it starts with): it waits for that.
	if err := workflow.Await(ctx, func() bool { return j.Status != "" }); err != nil {
		return JourneyStatusSignal{}, err
	}
	if err := j.takeDecision(ctx, s, true); err != nil && !errors.Is(err, errDecisionIgnored) {
		workflow.GetLogger(ctx).Error("decision not taken", "Decision", s.Decision, "Error", err)
	}
	return JourneyStatusSignal{JourneyID: j.JourneyID, Status: j.Status, Seq: j.Seq}, nil
}

// errDecisionIgnored is a decision the journey's status does not allow.
var errDecisionIgnored = errors.New("ignored")

// takeDecision moves the journey as the coordinator decided. answered
// says the intake learns the new status from an update's answer rather
// than from the journey's report.
func (j *journey) takeDecision(ctx workflow.Context, s DecisionSignal, answered bool) error {
	switch {
	case s.Decision == DecisionOffer && j.in(contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted):
		return j.makeOffer(ctx, answered)
	case s.Decision == DecisionWaitlist && j.in(contract.StatusSubmitted, contract.StatusUnderReview) && j.moveAnswered(j.Status, contract.StatusWaitlisted, answered):
		return j.record(ctx, "application.waitlisted", "", nil)
	case s.Decision == DecisionReject && j.in(contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted) && j.moveAnswered(j.Status, contract.StatusRejected, answered):
		return j.record(ctx, "application.rejected", "", nil, j.noticeMessage(messages.ApplicationUnsuccessful, workflow.Now(ctx)))
	}
	return fmt.Errorf("decision %q %w: %s", s.Decision, errDecisionIgnored, describe(j.Status))
}

// moveAnswered is move for a status the intake will learn from an
// update's answer: the journey counts it as told, so recording it sends
// no report.
func (j *journey) moveAnswered(from, to Status, answered bool) bool {
	if !j.move(from, to) {
		return false
	}
	if answered {
		j.Notified = j.Status
	}
	return true
}

// makeOffer plans the offer, then makes it unless the journey moved on
// (withdrawn, not selected) while it was being planned: a move that keeps
// it open to an offer (the window closing puts it under review) does not
// stop it.
func (j *journey) makeOffer(ctx workflow.Context, answered bool) error {
	from, now := j.Status, workflow.Now(ctx)
	var plan programme.OfferPlan
	err := j.plan(ctx, acts.PlanOffer, activities.PlanOfferInput{
		ProgrammeID: j.ProgrammeID, ProgrammeVersion: j.ProgrammeVersion, OfferedAt: now,
	}, &plan)
	if err != nil {
		return err
	}
	if j.guarded && j.in(contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted) {
		from = j.Status
	}
	if !j.moveAnswered(from, contract.StatusOffered, answered) {
		return fmt.Errorf("offer %w: %s", errDecisionIgnored, describe(j.Status))
	}
	j.Offer = &plan
	j.upsertStage(ctx)
	// The offer says by when to answer: it is "about" the offer's lapse time.
	offer := j.noticeMessage(messages.Offer, now)
	offer.ItemID, offer.ItemStartsAt, offer.ItemEndsAt = "offer", plan.LapsesAt, plan.LapsesAt
	return j.record(ctx, "offer.made", "", map[string]any{"lapses_at": plan.LapsesAt}, offer)
}

func (j *journey) onReview(ctx workflow.Context) error {
	if j.Status != contract.StatusSubmitted || !j.move(contract.StatusSubmitted, contract.StatusUnderReview) {
		return nil
	}
	return j.record(ctx, "application.under_review", "", nil)
}

func (j *journey) onNotSelected(ctx workflow.Context) error {
	if !j.in(contract.StatusSubmitted, contract.StatusUnderReview, contract.StatusWaitlisted, contract.StatusOffered) || !j.move(j.Status, contract.StatusNotSelected) {
		return nil
	}
	j.upsertStage(ctx)
	return j.record(ctx, "application.not_selected", "", nil, j.noticeMessage(messages.ApplicationUnsuccessful, workflow.Now(ctx)))
}

func (j *journey) onStart(ctx workflow.Context, s StartSignal) error {
	if j.Status != contract.StatusAccepted {
		return fmt.Errorf("start ignored: %s", describe(j.Status))
	}
	j.StartsOn = s.StartsOn
	// The order of copying cannot change the copy.
	//workflowcheck:ignore
	for id, t := range s.SessionMoves {
		j.SessionMoves[id] = t
	}
	// Planned first, taken only if the journey is still accepted: a
	// withdrawal or deferral while it was planned stands. A session moved
	// meanwhile is planned in (movesReachTheStart).
	var plan programme.Schedule
	for {
		planned := j.planChanges
		var err error
		plan, err = j.planSchedule(ctx, j.ProgrammeID, j.ProgrammeVersion,
			programme.ScheduleInput{StartsOn: j.StartsOn, SessionMoves: j.SessionMoves, Shift: j.Shift})
		if err != nil {
			return err
		}
		if !j.movesReachTheStart || j.planChanges == planned {
			break
		}
	}
	if !j.move(contract.StatusAccepted, contract.StatusAwaitingStart) {
		return fmt.Errorf("start ignored: %s", describe(j.Status))
	}
	if s.Assumed && j.startsAssumed {
		// The intake counts it awaiting the start already. Only a journey
		// begun at lifecycle-guard 8 takes the intake's word: one begun
		// before may have had a task of this signal handled by a worker
		// that did not know the field, and reported.
		j.Notified = j.Status
	}
	j.Schedule = &plan
	j.applyCarried()
	j.upsertStage(ctx)
	return j.record(ctx, "programme.scheduled", "", map[string]any{"starts_on": s.StartsOn},
		j.noticeMessage(messages.IntakeStarted, workflow.Now(ctx)))
}

func (j *journey) onSessionMoved(ctx workflow.Context, s SessionMovedSignal) error {
	if j.movesReachTheStart && j.Schedule == nil && j.Status == contract.StatusAccepted {
		// The start is on its way: its plan takes the move.
		j.SessionMoves[s.SessionID] = s.StartsAt
		j.planChanges++
		return nil
	}
	if j.Schedule == nil || j.Status.Terminal() {
		return nil
	}
	j.SessionMoves[s.SessionID] = s.StartsAt
	j.planChanges++
	if err := j.replan(ctx, workflow.Now(ctx)); err != nil {
		return err
	}
	if j.guarded && j.Status.Terminal() {
		return nil // ended while the new plan was made: nothing to tell
	}
	return j.record(ctx, "session.rescheduled", s.SessionID, map[string]any{"starts_at": s.StartsAt})
}

// --- updates ---

func (j *journey) validateRespondToOffer(ctx workflow.Context, r RespondToOfferRequest) error {
	if j.Status != contract.StatusOffered {
		return fmt.Errorf("there is no open offer to answer: %s", describe(j.Status))
	}
	return nil
}

func (j *journey) respondToOffer(ctx workflow.Context, r RespondToOfferRequest) (Status, error) {
	if j.Status != contract.StatusOffered {
		return j.Status, nil // a retried answer after the first one landed
	}
	event, to := "offer.declined", contract.StatusDeclined
	if r.Accept {
		event, to = "offer.accepted", contract.StatusAccepted
	}
	if !j.move(contract.StatusOffered, to) {
		return j.Status, nil
	}
	j.upsertStage(ctx)
	if err := j.record(ctx, event, "", nil); err != nil {
		return "", err
	}
	return j.Status, nil
}

func (j *journey) validateAssignCoach(ctx workflow.Context, r AssignCoachRequest) error {
	if r.CoachID == uuid.Nil {
		return errors.New("a coach ID is required")
	}
	if j.Status.Terminal() {
		return fmt.Errorf("cannot assign a coach: %s", describe(j.Status))
	}
	return j.deferralInFlight() // the deferral carries the coach it had
}

func (j *journey) assignCoach(ctx workflow.Context, r AssignCoachRequest) error {
	if j.CoachID == r.CoachID {
		return nil
	}
	j.CoachID = r.CoachID
	upsert(ctx, temporalx.CoachIDKey.ValueSet(r.CoachID.String()))
	return j.record(ctx, "coach.assigned", "", map[string]any{"coach": r.CoachID})
}

func (j *journey) validateAttendance(ctx workflow.Context, r AttendanceRequest) error {
	if err := j.deferralInFlight(); err != nil {
		return err // what the deferral carries is already on its way
	}
	if !j.in(contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused) {
		return fmt.Errorf("attendance can only be recorded once the programme has started: %s", describe(j.Status))
	}
	it, ok := j.item(r.SessionID)
	if !ok || it.Kind != programme.KindSession {
		return fmt.Errorf("no lab session %q in this journey; sessions are named like %q", r.SessionID, j.exampleSession())
	}
	if now := workflow.Now(ctx); now.Before(it.OpensAt) {
		return fmt.Errorf("session %s has not started yet (it starts %s)", r.SessionID, it.OpensAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (j *journey) recordAttendance(ctx workflow.Context, r AttendanceRequest) error {
	prev, known := j.Attendance[r.SessionID]
	if known && prev == r.Attended {
		return nil // the same fact again changes nothing
	}
	j.Attendance[r.SessionID] = r.Attended
	if r.Attended {
		return j.record(ctx, "attendance.present", r.SessionID, nil)
	}
	it, _ := j.item(r.SessionID)
	now := workflow.Now(ctx)
	var msgs = j.absenceMessages(it, now)
	return j.record(ctx, "attendance.absent", r.SessionID, nil, msgs...)
}

func (j *journey) validateCheckpoint(ctx workflow.Context, r CompleteCheckpointRequest) error {
	it, ok := j.item(r.CheckpointID)
	if !ok || it.Kind != programme.KindCheckpoint {
		return fmt.Errorf("no coaching checkpoint %q in this journey", r.CheckpointID)
	}
	if done, ok := j.Tasks[r.CheckpointID]; ok {
		if r.RequestID != "" && done.RequestID == r.RequestID {
			return nil // the same request again: answered from the first completion
		}
		return fmt.Errorf("checkpoint %s is closed: it was completed at %s", r.CheckpointID, done.CompletedAt.UTC().Format(time.RFC3339))
	}
	if r.CoachID != j.CoachID || j.CoachID == uuid.Nil {
		return errors.New("only the participant's assigned coach can complete this checkpoint")
	}
	if err := j.validateTaskWindow(ctx, it); err != nil {
		return err
	}
	if r.NoteID == uuid.Nil {
		return errors.New("notes are required to complete a checkpoint")
	}
	if !slices.Contains([]RAG{RAGRed, RAGAmber, RAGGreen}, r.Status) {
		return fmt.Errorf("status %q is not one of red, amber, green", r.Status)
	}
	return nil
}

func (j *journey) completeCheckpoint(ctx workflow.Context, r CompleteCheckpointRequest) (Task, error) {
	if done, ok := j.Tasks[r.CheckpointID]; ok {
		return done, nil
	}
	t := Task{CompletedAt: workflow.Now(ctx), By: r.CoachID, NoteID: r.NoteID, RAG: r.Status, RequestID: r.RequestID}
	j.Tasks[r.CheckpointID] = t
	err := j.record(ctx, "checkpoint.completed", r.CheckpointID, map[string]any{"note": r.NoteID, "status": r.Status, "coach": r.CoachID})
	return t, err
}

func (j *journey) validateSubmitTask(ctx workflow.Context, r SubmitTaskRequest) error {
	it, ok := j.item(r.TaskID)
	if !ok || (it.Kind != programme.KindPlan && it.Kind != programme.KindReflection) {
		return fmt.Errorf("no task %q to hand in; tasks are %q and %q", r.TaskID, "plan", "reflection")
	}
	if done, ok := j.Tasks[r.TaskID]; ok {
		if r.RequestID != "" && done.RequestID == r.RequestID {
			return nil
		}
		return fmt.Errorf("%s was already handed in at %s", r.TaskID, done.CompletedAt.UTC().Format(time.RFC3339))
	}
	if err := j.validateTaskWindow(ctx, it); err != nil {
		return err
	}
	if r.NoteID == uuid.Nil {
		return fmt.Errorf("the %s itself is required", r.TaskID)
	}
	return nil
}

func (j *journey) submitTask(ctx workflow.Context, r SubmitTaskRequest) (Task, error) {
	if done, ok := j.Tasks[r.TaskID]; ok {
		return done, nil
	}
	t := Task{CompletedAt: workflow.Now(ctx), By: j.PersonID, NoteID: r.NoteID, RequestID: r.RequestID}
	j.Tasks[r.TaskID] = t
	err := j.record(ctx, r.TaskID+".submitted", r.TaskID, map[string]any{"note": r.NoteID})
	return t, err
}

// validateTaskWindow checks that a task is open: after it opens and before
// the journey is assessed, and not while the journey is being deferred
// (what the deferral carries is already on its way).
func (j *journey) validateTaskWindow(ctx workflow.Context, it programme.Item) error {
	if err := j.deferralInFlight(); err != nil {
		return err
	}
	if j.Status.Terminal() {
		return fmt.Errorf("%s is closed: %s", it.ID, describe(j.Status))
	}
	if j.Status == contract.StatusPaused {
		return fmt.Errorf("%s cannot be completed while the journey is paused", it.ID)
	}
	if now := workflow.Now(ctx); now.Before(it.OpensAt) {
		return fmt.Errorf("%s is not open yet: it opens %s", it.ID, it.OpensAt.UTC().Format(time.RFC3339))
	}
	return nil
}

func (j *journey) validateWithdraw(ctx workflow.Context, r WithdrawRequest) error {
	if j.Status.Terminal() {
		return fmt.Errorf("cannot withdraw: %s", describe(j.Status))
	}
	if err := j.deferralInFlight(); err != nil {
		return err
	}
	if !slices.Contains(WithdrawReasons, r.Reason) {
		return fmt.Errorf("reason %q is not one of %v", r.Reason, WithdrawReasons)
	}
	return nil
}

func (j *journey) withdraw(ctx workflow.Context, r WithdrawRequest) error {
	if j.Status.Terminal() || !j.move(j.Status, contract.StatusWithdrawn) {
		return nil
	}
	j.upsertStage(ctx)
	cancels := j.cancellations(workflow.Now(ctx))
	if err := j.record(ctx, "journey.withdrawn", "", map[string]any{"reason": r.Reason, "note": r.NoteID}, cancels...); err != nil {
		return err
	}
	return nil
}

func (j *journey) validateDefer(ctx workflow.Context, r DeferRequest) error {
	if j.Status.Terminal() {
		return fmt.Errorf("cannot defer: %s", describe(j.Status))
	}
	if j.deferringTo != uuid.Nil && j.deferringTo != r.TargetIntakeID {
		return j.deferralInFlight()
	}
	if r.TargetIntakeID == uuid.Nil || r.TargetIntakeID == j.IntakeID {
		return errors.New("deferral needs a later intake, different from this one")
	}
	if !j.in(contract.StatusAccepted, contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting, contract.StatusPaused) {
		return fmt.Errorf("only a participant who accepted a place can defer: %s", describe(j.Status))
	}
	return nil
}

// deferTo hands the participant and their progress to a later intake and
// ends this journey. The later intake starts a new journey for them.
//
// In a guarded run the new journey's ID is derived from this journey and
// the target intake, and the target is marked while the hand-over is in
// flight: the same deferral sent twice (a retry, a double click) hands over
// one journey and answers both with its ID, and a different deferral, a
// withdrawal or a pause meanwhile is refused.
func (j *journey) deferTo(ctx workflow.Context, r DeferRequest) (uuid.UUID, error) {
	newID, err := j.deferredJourneyID(ctx, r.TargetIntakeID)
	if err != nil {
		return uuid.Nil, err
	}
	if j.guarded {
		if j.Status == contract.StatusDeferred {
			return newID, nil // the same deferral, handed over already
		}
		if j.deferringTo != uuid.Nil && j.deferringTo != r.TargetIntakeID {
			return uuid.Nil, j.deferralInFlight()
		}
		j.deferringTo = r.TargetIntakeID
		j.handingOver++
	}
	startsOn := j.StartsOn
	if startsOn.IsZero() {
		startsOn = j.IntakeStartsOn // not started yet: the intake's own start
	}
	err = j.handOver(ctx, r.TargetIntakeID, DeferralHandOver{
		FromJourneyID: j.JourneyID, NewJourneyID: newID, PersonID: j.PersonID, CoachID: j.CoachID,
		Progress: Progress{Attendance: j.Attendance, Tasks: j.Tasks}, FromStartsOn: startsOn,
	})
	if j.guarded {
		j.handingOver--
	}
	if err != nil {
		if j.handingOver == 0 {
			j.deferringTo = uuid.Nil // none of the same deferral is still on its way
		}
		return uuid.Nil, err
	}
	if j.guarded && j.Status == contract.StatusDeferred {
		return newID, nil // the same deferral sent twice: the other handler ended the journey
	}
	if !j.move(j.Status, contract.StatusDeferred) {
		return uuid.Nil, fmt.Errorf("journey %s was handed to intake %s but could not end here: %s", newID, r.TargetIntakeID, describe(j.Status))
	}
	j.upsertStage(ctx)
	cancels := j.cancellations(workflow.Now(ctx))
	if err := j.record(ctx, "journey.deferred", "", map[string]any{"to_intake": r.TargetIntakeID, "to_journey": newID}, cancels...); err != nil {
		return uuid.Nil, err
	}
	return newID, nil
}

// handOver gives the deferral to the target intake. Since version 2 of the
// lifecycle guard the intake can say no (full, finished, not later than
// this one), and the journey then stays as it was; before, a signal handed
// it over whatever the intake made of it.
func (j *journey) handOver(ctx workflow.Context, target uuid.UUID, d DeferralHandOver) error {
	if !j.handOverByUpdate {
		err := workflow.SignalExternalWorkflow(ctx, IntakeWorkflowID(target), "", SignalDeferralIn, d).Get(ctx, nil)
		if err != nil {
			return fmt.Errorf("intake %s did not take the deferral (is it running?): %w", target, err)
		}
		return nil
	}
	// Each attempt is its own update: the intake refusing one (it was
	// full) must not answer the next (it has room now) from the first.
	// The intake knows the new journey's ID, so two attempts that both
	// reach it, in one run of the intake or two, still make one journey.
	j.handOvers++
	err := runActivity(ctx, acts.SendUpdate, activities.UpdateInput{
		WorkflowID: IntakeWorkflowID(target),
		UpdateName: UpdateAcceptDeferral,
		UpdateID:   fmt.Sprintf("%s/%s/%s/%d", UpdateAcceptDeferral, d.NewJourneyID, workflow.GetInfo(ctx).WorkflowExecution.RunID, j.handOvers),
		Arg:        asJSON(d),
		// The new journey exists if and only if the intake took it.
		TakenIf: JourneyWorkflowID(d.NewJourneyID),
	}, nil)
	var answer *temporal.ApplicationError
	if errors.As(err, &answer) && answer.Type() == activities.ErrRefused {
		return fmt.Errorf("intake %s refused the deferral: %s; the journey stays as it was", target, answer.Message())
	}
	if errors.As(err, &answer) && answer.Type() == activities.ErrNotRunning {
		return fmt.Errorf("intake %s is not running (it may have finished): the journey stays as it was", target)
	}
	return err
}

// deferralNamespace names the journey IDs deferTo derives (UUIDv5).
var deferralNamespace = uuid.MustParse("5f0c4e5e-8d43-4c1e-9b7a-3f1b2f6a9d21")

// deferredJourneyID is the ID of the journey a deferral to target starts:
// derived from this journey and the target in guarded runs, so that asking
// twice names one journey; a fresh random one (a side effect) before.
func (j *journey) deferredJourneyID(ctx workflow.Context, target uuid.UUID) (uuid.UUID, error) {
	if j.guarded {
		return uuid.NewSHA1(deferralNamespace, []byte(j.JourneyID.String()+"/"+target.String())), nil
	}
	var id uuid.UUID
	err := workflow.SideEffect(ctx, func(workflow.Context) any { return uuid.New() }).Get(&id)
	return id, err
}

// deferralInFlight refuses a change while a deferral is being handed over.
func (j *journey) deferralInFlight() error {
	if j.deferringTo == uuid.Nil {
		return nil
	}
	return fmt.Errorf("the journey is being deferred to intake %s: try again once that has finished", j.deferringTo)
}

func (j *journey) validatePause(ctx workflow.Context) error {
	if j.Status == contract.StatusPaused {
		return errors.New("the journey is already paused")
	}
	if err := j.deferralInFlight(); err != nil {
		return err
	}
	if !j.in(contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting) {
		return fmt.Errorf("only a journey whose programme is scheduled can be paused: %s", describe(j.Status))
	}
	return nil
}

func (j *journey) pause(ctx workflow.Context) error {
	from := j.Status
	if from == contract.StatusPaused || !j.move(from, contract.StatusPaused) {
		return nil
	}
	j.PausedFrom, j.PausedAt = from, workflow.Now(ctx)
	j.upsertStage(ctx)
	return j.record(ctx, "journey.paused", "", nil)
}

func (j *journey) validateResume(ctx workflow.Context) error {
	if err := j.deferralInFlight(); err != nil {
		return err
	}
	if j.Status != contract.StatusPaused {
		return fmt.Errorf("only a paused journey can be resumed: %s", describe(j.Status))
	}
	return nil
}

// resume shifts everything still ahead by the length of the pause.
func (j *journey) resume(ctx workflow.Context) error {
	if j.Status != contract.StatusPaused || !j.move(contract.StatusPaused, j.PausedFrom) {
		return nil
	}
	paused := workflow.Now(ctx).Sub(j.PausedAt)
	j.Shift += paused
	j.planChanges++
	if err := j.replan(ctx, j.PausedAt); err != nil {
		return err
	}
	if j.guarded && j.Status.Terminal() {
		return nil // withdrawn or deferred while the new plan was made
	}
	j.upsertStage(ctx)
	return j.record(ctx, "journey.resumed", "", map[string]any{"paused_for": paused.String()})
}

func (j *journey) in(statuses ...Status) bool { return slices.Contains(statuses, j.Status) }

func (j *journey) exampleSession() string {
	if j.Schedule != nil {
		for _, it := range j.Schedule.Items {
			if it.Kind == programme.KindSession {
				return it.ID
			}
		}
	}
	return "adaption-lab/1"
}

// absenceMessages are the follow-ups the programme sends after an absence.
func (j *journey) absenceMessages(it programme.Item, now time.Time) []store.Message {
	var msgs []store.Message
	for _, r := range it.Reminders {
		if r.Trigger == programme.Absent {
			r.At = now
			msgs = append(msgs, j.reminderMessage(r, aboutItem(it), now))
		}
	}
	return msgs
}
