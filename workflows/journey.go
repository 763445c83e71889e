package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Journey is the whole state of one participant's journey through one
// intake. It is also the workflow's input, so continue-as-new carries it to
// the next run unchanged. It holds UUIDs, codes and times only.
type Journey struct {
	JourneyID        uuid.UUID
	IntakeID         uuid.UUID
	PersonID         uuid.UUID
	CoachID          uuid.UUID
	CoordinatorID    uuid.UUID
	ProgrammeID      string
	ProgrammeVersion int
	// IntakeStartsOn is when the intake's programme starts (set by every
	// intake since this field was added): a deferral goes only to an intake
	// starting later.
	IntakeStartsOn time.Time

	Status Status
	// Notified is the last status the intake was told about.
	Notified Status
	// Seq counts recorded events; event keys are built from it, so they are
	// stable across retries and unique across runs.
	Seq int64
	// Runs counts the runs that continued as new before this one (since
	// record-locally 4), so that a record's fence orders runs too
	// (activities.TaskPlace).
	Runs int64

	Offer *programme.OfferPlan

	StartsOn     time.Time
	SessionMoves map[string]time.Time
	// Shift is the total time the journey has been paused since it was scheduled.
	Shift    time.Duration
	Schedule *programme.Schedule
	Phase    string

	PausedFrom Status
	PausedAt   time.Time

	// Fired holds the keys of reminders already handled (see firedKey).
	Fired map[string]bool
	// Revisions counts, per item, how often its time has changed since it
	// was first planned (a calendar invite's SEQUENCE).
	Revisions  map[string]int
	Attendance map[string]bool
	Tasks      map[string]Task
	// Carried is progress brought from an earlier intake by a deferral.
	Carried *Progress

	Outcome  *Outcome
	Timeline []TimelineEntry
}

// Task is a completed plan, checkpoint or reflection.
type Task struct {
	CompletedAt time.Time
	By          uuid.UUID
	NoteID      uuid.UUID
	RAG         RAG
	RequestID   string
}

// Outcome is the completion assessment at the end of month six.
type Outcome struct {
	Completed         bool
	AttendancePercent int
	Checkpoints       int
	Reflection        bool
	// Unmet lists the completion criteria that were not met, as codes
	// ("lab-attendance", "checkpoints", "reflection").
	Unmet []string
}

// TimelineEntry is one line of the journey's timeline query.
type TimelineEntry struct {
	At     time.Time
	Event  string
	ItemID string `json:",omitempty"`
	Status Status
}

// journey is the running workflow: the state plus what only lives for one run.
type journey struct {
	Journey
	// changed wakes the main loop after a handler altered the state.
	changed bool
	// busy counts signals being handled, so continue-as-new waits for them.
	busy int
	listeners
	// versions are the versioned changes this run uses; order keeps its
	// records in sequence (inOrder).
	versions
	order inOrder
	// deferringTo is the intake a deferral is being handed to, while the
	// hand-over is in flight (guarded runs).
	deferringTo uuid.UUID
	// handingOver counts the handlers of that deferral still sending it
	// (the same deferral may be sent twice at once).
	handingOver int
	// handOvers counts this run's attempts to hand a deferral over.
	handOvers int
	// moves counts the status changes of this run (move), so a step can
	// tell that the status changed while it waited even if it changed back
	// (paused and resumed); replanning counts the replans in flight.
	moves, replanning int
	// again makes the main loop look again at once instead of sleeping.
	again bool
	// planChanges counts changes to what the schedule is planned from
	// (moved sessions, the pause shift), so a replan can tell that one
	// came while it planned.
	planChanges int
}

var acts *activities.Activities

// JourneyWorkflow carries one participant from application to completion.
// It starts as an application (Seq 0); later runs continue from the state.
func JourneyWorkflow(ctx workflow.Context, in Journey) (Status, error) {
	j := &journey{Journey: in, versions: askVersions(ctx)}
	j.order = inOrder{on: j.guarded, done: j.Seq}
	j.initMaps()
	if j.Schedule != nil {
		j.Schedule.Compact() // kept in the worker's cache for months
	}
	if err := j.setup(ctx); err != nil {
		return "", err
	}
	return j.run(ctx)
}

func (j *journey) initMaps() {
	if j.Fired == nil {
		j.Fired = map[string]bool{}
	}
	if j.Attendance == nil {
		j.Attendance = map[string]bool{}
	}
	if j.Tasks == nil {
		j.Tasks = map[string]Task{}
	}
	if j.SessionMoves == nil {
		j.SessionMoves = map[string]time.Time{}
	}
	if j.Revisions == nil {
		j.Revisions = map[string]int{}
	}
}

func (j *journey) run(ctx workflow.Context) (Status, error) {
	ctx = withActivityOptions(ctx)
	if j.Seq == 0 {
		if err := j.begin(ctx); err != nil {
			return "", err
		}
	}
	for !j.Status.Terminal() {
		phaseChanged, err := j.advance(ctx)
		if err != nil {
			return "", err
		}
		if j.Status.Terminal() {
			break
		}
		if phaseChanged || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return "", j.continueAsNew(ctx)
		}
		j.sleep(ctx)
	}
	j.settle(ctx)
	return j.Status, nil
}

// begin records the application, or the arrival of a deferred participant.
func (j *journey) begin(ctx workflow.Context) error {
	event := "deferral.joined" // a deferral arrives already accepted, carrying progress
	if j.Status == "" && j.move("", contract.StatusSubmitted) {
		event = "application.submitted"
	}
	if j.startsKnown {
		j.Notified = j.Status // the intake gave it this status as it started it
	}
	return j.record(ctx, event, "", nil)
}

// sleep waits until the next scheduled moment or until a handler changes the state.
func (j *journey) sleep(ctx workflow.Context) {
	if j.again {
		j.again = false
		return
	}
	j.changed = false
	// Wake for a change only once the handler making it has finished, so the
	// event log shows, say, the programme being scheduled before the first
	// reminders it causes.
	settled := func() bool { return j.changed && j.busy == 0 && workflow.AllHandlersFinished(ctx) }
	wake := j.nextWake(workflow.Now(ctx))
	if wake.IsZero() {
		_ = workflow.Await(ctx, settled)
		return
	}
	d := wake.Sub(workflow.Now(ctx))
	if d <= 0 {
		return
	}
	j.awaitOrTimeout(ctx, d, settled)
}

// settle lets in-flight handlers finish before the run closes, so no
// accepted update or received signal is lost.
func (j *journey) settle(ctx workflow.Context) {
	_ = workflow.Await(ctx, func() bool {
		return workflow.AllHandlersFinished(ctx) && j.busy == 0 && j.pending() == 0
	})
}

func (j *journey) continueAsNew(ctx workflow.Context) error {
	j.settle(ctx)
	if j.recordFenced {
		j.Runs++
	}
	return workflow.NewContinueAsNewError(ctx, JourneyWorkflow, j.Journey)
}

// advance does everything that is due at the current workflow time. It
// reports whether the journey entered a new phase (a continue-as-new point).
func (j *journey) advance(ctx workflow.Context) (bool, error) {
	now := workflow.Now(ctx)
	switch j.Status {
	case contract.StatusOffered:
		return false, j.advanceOffer(ctx, now)
	case contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting:
		return j.advanceProgramme(ctx, now)
	}
	return false, nil
}

func (j *journey) advanceOffer(ctx workflow.Context, now time.Time) error {
	if j.Offer == nil {
		return nil
	}
	if !now.Before(j.Offer.LapsesAt) {
		if !j.move(contract.StatusOffered, contract.StatusOfferLapsed) {
			return nil
		}
		return j.record(ctx, "offer.lapsed", "", nil)
	}
	offer := about{ID: "offer", StartsAt: j.Offer.LapsesAt, EndsAt: j.Offer.LapsesAt}
	msgs, keys := j.dueReminders(now, offer, j.Offer.Reminders, func(programme.Reminder) bool { return false })
	if len(msgs) == 0 {
		return nil
	}
	return j.record(ctx, "reminders.queued", "offer", map[string]any{"reminders": keys}, msgs...)
}

// awaitHandOver waits while the journey is being handed to another intake:
// it must not be assessed, or move on, here meanwhile. Once the hand-over
// has ended (deferred, or refused) the main loop looks again.
//
// The hand-over may take minutes (the intake retried until it answers):
// what fell due meanwhile is done at once after it (looksAgainAfterWaits),
// not skipped by a sleep until the next moment still ahead.
func (j *journey) awaitHandOver(ctx workflow.Context) error {
	j.again = j.looksAgainAfterWaits
	return workflow.Await(ctx, func() bool { return j.deferringTo == uuid.Nil || j.Status.Terminal() })
}

// Recording what is due waits on activities, during which a handler may
// pause, withdraw or defer the journey: the phase change and the assessment
// move from the status read before the waits, and give way if it changed.
func (j *journey) advanceProgramme(ctx workflow.Context, now time.Time) (bool, error) {
	if j.deferringTo != uuid.Nil {
		return false, j.awaitHandOver(ctx)
	}
	if j.replanning > 0 {
		// A resume or a moved session is replanning: what is due is about to
		// change. Look again once it has.
		j.again = j.looksAgainAfterWaits
		return false, workflow.Await(ctx, func() bool { return j.replanning == 0 })
	}
	from, moves := j.Status, j.moves
	if err := j.queueDueReminders(ctx, now); err != nil {
		return false, err
	}
	if err := j.markOverdue(ctx, now); err != nil {
		return false, err
	}
	if j.deferringTo != uuid.Nil {
		return false, j.awaitHandOver(ctx) // a deferral began during the waits
	}
	if j.guarded && (j.moves != moves || j.replanning > 0) {
		j.again = true // paused and resumed, say, during the waits: look again now
		return false, nil
	}
	if !now.Before(j.Schedule.EndsAt) {
		return false, j.assess(ctx, from)
	}
	phase := phaseAt(j.Schedule, now)
	if phase == j.Phase || !j.move(from, j.statusForPhase(phase)) {
		return false, nil
	}
	j.Phase = phase
	j.upsertStage(ctx)
	return true, j.record(ctx, "phase.started", "", map[string]any{"phase": phase})
}

// queueDueReminders queues every reminder whose time has come, in one event.
func (j *journey) queueDueReminders(ctx workflow.Context, now time.Time) error {
	var msgs []store.Message
	var keys []string
	for _, it := range j.Schedule.Items {
		m, k := j.dueReminders(now, aboutItem(it), it.Reminders, func(r programme.Reminder) bool { return j.pointless(it, r, now) })
		msgs, keys = append(msgs, m...), append(keys, k...)
	}
	if len(msgs) == 0 {
		return nil
	}
	return j.record(ctx, "reminders.queued", "", map[string]any{"reminders": keys}, msgs...)
}

// pointless says a reminder would tell nobody anything: its item is done,
// or (for a reminder ahead of the item) the item has already happened, as
// for a participant joining an intake that started weeks ago.
func (j *journey) pointless(it programme.Item, r programme.Reminder, now time.Time) bool {
	if j.itemDone(it) {
		return true
	}
	return r.Trigger == programme.BeforeDue && !itemTime(it).After(now)
}

// itemTime is the moment a reminder ahead of an item is about: a session's
// start or a task's due time.
func itemTime(it programme.Item) time.Time {
	if it.Kind == programme.KindSession {
		return it.OpensAt
	}
	return it.DueAt
}

// dueReminders returns the messages for the reminders of one item that are
// due and not yet handled, and marks them handled. A reminder skip says is
// pointless is marked handled without a message.
func (j *journey) dueReminders(now time.Time, a about, rs []programme.Reminder, skip func(programme.Reminder) bool) ([]store.Message, []string) {
	var msgs []store.Message
	var keys []string
	for _, r := range rs {
		if r.Trigger == programme.Absent || r.At.After(now) || j.Fired[firedKey(r)] {
			continue
		}
		j.Fired[firedKey(r)] = true
		if skip(r) {
			continue
		}
		msgs = append(msgs, j.reminderMessage(r, a, now))
		keys = append(keys, r.Key)
	}
	return msgs, keys
}

// markOverdue records, once per due time, each task that passed its due time open.
func (j *journey) markOverdue(ctx workflow.Context, now time.Time) error {
	for _, it := range j.Schedule.Items {
		if it.Kind == programme.KindSession || it.DueAt.After(now) || j.itemDone(it) {
			continue
		}
		key := it.ID + "/overdue@" + it.DueAt.UTC().Format(time.RFC3339)
		if j.Fired[key] {
			continue
		}
		j.Fired[key] = true
		if err := j.record(ctx, "task.overdue", it.ID, nil); err != nil {
			return err
		}
	}
	return nil
}

// assess decides completion at the end of the programme, for a journey
// that was in status from when it was due.
func (j *journey) assess(ctx workflow.Context, from Status) error {
	o := assessCompletion(j.Schedule, j.Attendance, j.Tasks)
	status, template := contract.StatusCompleted, messages.Completion
	if !o.Completed {
		status, template = contract.StatusNotCompleted, messages.NonCompletion
	}
	if !j.move(from, status) {
		return nil
	}
	j.Outcome = &o
	j.upsertStage(ctx)
	now := workflow.Now(ctx)
	msg := j.noticeMessage(template, now)
	if err := j.record(ctx, "journey."+string(j.Status), "", o, msg); err != nil {
		return err
	}
	return nil
}

// assessCompletion applies the programme's completion criteria.
func assessCompletion(s *programme.Schedule, attendance map[string]bool, tasks map[string]Task) Outcome {
	var sessions, attended, checkpoints int
	reflection := false
	for _, it := range s.Items {
		switch it.Kind {
		case programme.KindSession:
			sessions++
			if attendance[it.ID] {
				attended++
			}
		case programme.KindCheckpoint:
			if _, ok := tasks[it.ID]; ok {
				checkpoints++
			}
		case programme.KindReflection:
			_, reflection = tasks[it.ID]
		}
	}
	o := Outcome{Checkpoints: checkpoints, Reflection: reflection}
	if sessions > 0 {
		o.AttendancePercent = attended * 100 / sessions
	}
	c := s.Completion
	if sessions > 0 && attended*100 < c.MinLabAttendancePercent*sessions {
		o.Unmet = append(o.Unmet, "lab-attendance")
	}
	if checkpoints < c.MinCheckpoints {
		o.Unmet = append(o.Unmet, "checkpoints")
	}
	if c.ReflectionRequired && !reflection {
		o.Unmet = append(o.Unmet, "reflection")
	}
	o.Completed = len(o.Unmet) == 0
	return o
}

// nextWake is the next moment something is due: a reminder, an offer
// lapsing, a task falling overdue, a phase starting, or the assessment.
func (j *journey) nextWake(now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	considerReminders := func(rs []programme.Reminder) {
		for _, r := range rs {
			if r.Trigger != programme.Absent && !j.Fired[firedKey(r)] {
				consider(r.At)
			}
		}
	}
	switch j.Status {
	case contract.StatusOffered:
		if j.Offer != nil {
			consider(j.Offer.LapsesAt)
			considerReminders(j.Offer.Reminders)
		}
	case contract.StatusAwaitingStart, contract.StatusInLabs, contract.StatusExperimenting:
		for _, it := range j.Schedule.Items {
			if j.itemDone(it) {
				continue // nothing about a finished item needs waking for
			}
			considerReminders(it.Reminders)
			if it.Kind != programme.KindSession {
				consider(it.DueAt)
			}
		}
		for _, p := range j.Schedule.Phases {
			consider(p.Start)
		}
		consider(j.Schedule.EndsAt)
		if !j.Schedule.EndsAt.After(now) {
			return now
		}
	}
	return next
}

// phaseAt is the key of the phase in force at t ("" before the first).
func phaseAt(s *programme.Schedule, t time.Time) string {
	phase := ""
	for _, p := range s.Phases {
		if !t.Before(p.Start) {
			phase = p.Key
		}
	}
	return phase
}

// statusForPhase says whether a phase is taught (it has sessions) or practised.
func (j *journey) statusForPhase(phase string) Status {
	if phase == "" {
		return contract.StatusAwaitingStart
	}
	for _, it := range j.Schedule.Items {
		if it.Phase == phase && it.Kind == programme.KindSession {
			return contract.StatusInLabs
		}
	}
	return contract.StatusExperimenting
}

func (j *journey) itemDone(it programme.Item) bool {
	if it.Kind == programme.KindSession {
		return j.Attendance[it.ID]
	}
	_, ok := j.Tasks[it.ID]
	return ok
}

func (j *journey) item(id string) (programme.Item, bool) {
	if j.Schedule == nil {
		return programme.Item{}, false
	}
	for _, it := range j.Schedule.Items {
		if it.ID == id {
			return it, true
		}
	}
	return programme.Item{}, false
}

// firedKey identifies a reminder at its time: if a reschedule or a pause
// moves it, it is a new reminder and fires again.
func firedKey(r programme.Reminder) string {
	return r.Key + "@" + r.At.UTC().Format(time.RFC3339)
}

// replan asks for the journey's schedule as it now stands (start date,
// moved sessions, pauses) and takes it for everything after cutoff. The
// plan is made by an activity, during which a handler may change what it
// is made from (a resumption's shift, another moved session); with
// replanUntilCurrent it is then made again, so the last plan taken is
// never one made without a change already applied.
func (j *journey) replan(ctx workflow.Context, cutoff time.Time) error {
	if j.guarded {
		j.replanning++
		defer func() { j.replanning-- }()
	}
	for {
		planned := j.planChanges
		s, err := j.planSchedule(ctx, j.ProgrammeID, j.ProgrammeVersion,
			programme.ScheduleInput{StartsOn: j.StartsOn, SessionMoves: j.SessionMoves, Shift: j.Shift})
		if err != nil {
			return err
		}
		if j.replanUntilCurrent && j.planChanges != planned {
			continue
		}
		next := mergeSchedule(j.Schedule, &s, cutoff)
		j.countRevisions(j.Schedule, next)
		j.Schedule = next
		return nil
	}
}

// countRevisions notes every item whose time a replan changed.
func (j *journey) countRevisions(old, next *programme.Schedule) {
	if old == nil {
		return
	}
	before := map[string]programme.Item{}
	for _, it := range old.Items {
		before[it.ID] = it
	}
	for _, it := range next.Items {
		if b, ok := before[it.ID]; ok && (!b.OpensAt.Equal(it.OpensAt) || !b.DueAt.Equal(it.DueAt)) {
			j.Revisions[it.ID]++
		}
	}
}

// planSchedule runs the PlanSchedule activity for a pinned programme version.
func (v versions) planSchedule(ctx workflow.Context, programmeID string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	var s programme.Schedule
	err := v.plan(ctx, acts.PlanSchedule, activities.PlanScheduleInput{
		ProgrammeID: programmeID, ProgrammeVersion: version, Input: in,
	}, &s)
	s.Compact() // kept in the worker's cache for months
	return s, err
}

// mergeSchedule keeps what already happened as it was and takes the new
// plan for everything still ahead.
func mergeSchedule(old, next *programme.Schedule, cutoff time.Time) *programme.Schedule {
	if old == nil {
		return next
	}
	past := map[string]programme.Item{}
	for _, it := range old.Items {
		if !it.DueAt.After(cutoff) {
			past[it.ID] = it
		}
	}
	for i, it := range next.Items {
		if p, ok := past[it.ID]; ok {
			next.Items[i] = p
		}
	}
	for i, p := range next.Phases {
		for _, op := range old.Phases {
			if op.Key == p.Key && !op.Start.After(cutoff) {
				next.Phases[i].Start = op.Start
			}
		}
	}
	return next
}

func (j *journey) applyCarried() {
	if j.Carried == nil {
		return
	}
	for _, it := range j.Schedule.Items {
		if j.Carried.Attendance[it.ID] {
			j.Attendance[it.ID] = true
		}
		if t, ok := j.Carried.Tasks[it.ID]; ok {
			j.Tasks[it.ID] = t
		}
	}
}

func describe(s Status) string { return fmt.Sprintf("the journey is %s", s) }
