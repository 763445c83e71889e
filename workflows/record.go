package workflows

import (
	"encoding/json"
	"fmt"
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

// withActivityOptions gives activities a short timeout and unbounded
// retries with backoff: the store being down for a while must delay a
// journey, never fail it.
func withActivityOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         retryForEver(),
	})
}

// withSignalsOptions are SendSignals' options: an attempt may take minutes
// for a large intake, and says it is alive (and how far it has come) as it
// goes, so that a worker that died is noticed within the heartbeat timeout
// rather than the attempt's.
func withSignalsOptions(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    30 * time.Second,
		RetryPolicy:         retryForEver(),
	})
}

// retryForEver is every activity's retry policy: a failure is retried,
// backing off to five minutes between attempts, until the cause is fixed
// (see the activities package).
func retryForEver() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	}
}

// localRecordFor bounds how long a local record retries (1, 2, 4 … s)
// before the record falls back to a regular activity (recordEvent).
const localRecordFor = 2 * time.Minute

// place is where a record stands, for the fence of a run that records
// from inside its workflow tasks (recordFenced); nil before.
func (v versions) place(stream string, seq, runs int64) *activities.TaskPlace {
	if !v.recordFenced {
		return nil
	}
	return &activities.TaskPlace{Stream: stream, Seq: seq, Generation: runs}
}

// recordEvent appends a domain event through the Record activity. The key
// is derived from the workflow's own sequence, so retries are harmless.
// With recordLocally it runs as a local activity: a record is one short
// write, and a local activity leaves one marker in the history (without
// its input) instead of three events and a workflow task to take the
// result. A local activity's long retries cost the history a timer and a
// workflow task each, though, so a store that is down for weeks would
// fill it: after localRecordFor (record-locally version 2) the record
// waits as a regular activity instead, whose retries cost nothing.
//
// A local activity writes before its workflow task is committed. From
// record-locally 4 the record carries its place (at), fenced by the
// store: a retried task's events replace those of the attempt that
// failed, and a write from an attempt that has been replaced is refused
// (activities.Record). Such a refusal means this attempt's work is void:
// the task is failed, so that nothing after it runs on the void record.
func (v versions) recordEvent(ctx workflow.Context, at *activities.TaskPlace, ev store.Event, msgs ...store.Message) error {
	in := activities.RecordInput{Event: ev, Messages: msgs, InTask: at}
	if !v.recordLocally {
		return runActivity(ctx, acts.Record, in, nil)
	}
	timeout := 10 * 365 * 24 * time.Hour // version 1: retried locally for as long as it takes
	if v.recordFallsBack {
		timeout = localRecordFor
	}
	in.InTask = askedNow(ctx, at)
	err := failIfStale(ev, workflow.ExecuteLocalActivity(withLocalOptions(ctx, timeout), acts.Record, in).Get(ctx, nil))
	if err != nil && v.recordFallsBack {
		in.InTask = askedNow(ctx, at)
		err = failIfStale(ev, runActivity(ctx, acts.Record, in, nil))
	}
	return err
}

// failIfStale fails the workflow task (a panic) when the record of ev was
// refused because the task that asked for it has been replaced: its work
// is void. Any other err is returned.
func failIfStale(ev store.Event, err error) error {
	if activities.IsStaleAttempt(err) {
		panic(fmt.Sprintf("event %q: the workflow task that asked for it was replaced by a later attempt: %v", ev.Key, err))
	}
	return err
}

// askedNow is at, stamped with the workflow task asking for the record
// now: as the worker's client saw it handed out (temporalx.Attempts), when
// that is this task (its history length) or, while the workflow replays,
// the task the replay is for; else its history length, attempt 1. Where
// the task was handed out again after this one started, this attempt is
// over, and its records will be refused (activities.Record).
//
// The stamp only goes into the record's input, which a local activity's
// marker does not keep and replay never compares.
func askedNow(ctx workflow.Context, at *activities.TaskPlace) *activities.TaskPlace {
	if at == nil {
		return nil
	}
	stamped := *at
	info := workflow.GetInfo(ctx)
	stamped.Task = temporalx.TaskAttempt{Started: int64(info.GetCurrentHistoryLength()), Attempt: 1}
	// The process's record of the tasks handed out only fences the record's input (above).
	if t, ok := temporalx.Attempts.Of(info.WorkflowExecution.RunID); ok &&
		(t.Started == stamped.Task.Started || workflow.IsReplaying(ctx)) {
		stamped.Task, stamped.Known = t, true
	}
	return &stamped
}

// runActivity runs an activity with the house options and waits for it.
// Handlers get their own context from the SDK, so options are applied here
// rather than once at the top of the workflow.
func runActivity(ctx workflow.Context, activity, input, result any) error {
	return workflow.ExecuteActivity(withActivityOptions(ctx), activity, input).Get(ctx, result)
}

// plan runs an activity that only computes from the pinned programme
// (planning a schedule or an offer). With plansLocally it is a local one,
// within the workflow task, retried for localRecordFor and then, as a
// record is, by a regular activity, whose retries cost the history
// nothing.
func (v versions) plan(ctx workflow.Context, activity, input, result any) error {
	if !v.plansLocally {
		return runActivity(ctx, activity, input, result)
	}
	err := workflow.ExecuteLocalActivity(withLocalOptions(ctx, localRecordFor), activity, input).Get(ctx, result)
	if err != nil && !temporal.IsCanceledError(err) {
		err = runActivity(ctx, activity, input, result)
	}
	return err
}

// withLocalOptions are a local activity's options: retried as every
// activity is (retryForEver), for at most retryFor in all.
func withLocalOptions(ctx workflow.Context, retryFor time.Duration) workflow.Context {
	return workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		// Unset, it would be the start-to-close timeout: one attempt.
		ScheduleToCloseTimeout: retryFor,
		RetryPolicy:            retryForEver(),
	})
}

// asJSON encodes an event's payload, or an update one workflow sends
// another. Both hold IDs, codes and times only.
func asJSON(data any) json.RawMessage {
	if data == nil {
		return nil
	}
	// workflowcheck flags encoding/json (it reflects, and reflect can reach
	// the runtime's goroutines); Marshal of plain values is deterministic:
	// it sorts map keys.
	raw, err := json.Marshal(data) //workflowcheck:ignore
	if err != nil {
		// Payloads are plain maps and structs of our own; failing here is a bug.
		panic(fmt.Sprintf("encoding %T: %v", data, err))
	}
	return raw
}

// inOrder makes a workflow's events reach the store in the order of their
// sequence numbers, in guarded runs. The store keeps the latest snapshot it
// is given as the journey's (and the latest intake status as the
// intake's); two records in flight at once (a handler's beside the main
// loop's) could land out of order and leave an old one standing. Each
// event takes its number, and its snapshot, when it is made, so it shows
// the state that made it, and waits for the one before it to be recorded.
type inOrder struct {
	on bool
	// done is the number of the last event recorded (or given up on).
	done int64
}

// turn waits until every event before seq has been recorded.
func (o *inOrder) turn(ctx workflow.Context, seq int64) error {
	if !o.on {
		return nil
	}
	return workflow.Await(ctx, func() bool { return o.done == seq-1 })
}

// over lets the event after seq go.
func (o *inOrder) over(seq int64) {
	if o.on {
		o.done = seq
	}
}

// record appends a journey event with the journey's current snapshot.
func (j *journey) record(ctx workflow.Context, eventType, itemID string, data any, msgs ...store.Message) error {
	j.Seq++
	seq := j.Seq
	// Every state change is recorded, so this is where the main loop learns
	// that an update or signal may have changed what is due next.
	j.changed = true
	now := workflow.Now(ctx)
	snap := j.snapshot(now)
	j.Timeline = append(j.Timeline, TimelineEntry{At: now, Event: eventType, ItemID: itemID, Status: j.Status})
	ev := store.Event{
		Key:        fmt.Sprintf("journey/%s/%d", j.JourneyID, seq),
		IntakeID:   j.IntakeID,
		JourneyID:  j.JourneyID,
		Type:       eventType,
		OccurredAt: now,
		Data:       asJSON(withItem(data, itemID)),
		Snapshot:   &snap,
	}
	if err := j.order.turn(ctx, seq); err != nil {
		return err
	}
	defer j.order.over(seq)
	err := j.recordEvent(ctx, j.place(JourneyWorkflowID(j.JourneyID), seq, j.Runs), ev, msgs...)
	if err == nil && j.Status != j.Notified {
		j.Notified = j.Status
		j.notifyIntake(ctx)
	}
	return err
}

func withItem(data any, itemID string) any {
	if itemID == "" {
		return data
	}
	if data == nil {
		return map[string]any{"item": itemID}
	}
	if m, ok := data.(map[string]any); ok {
		m["item"] = itemID
	}
	return data
}

// snapshot is the journey as the dashboards and the coach's inbox see it.
// The checkpoints not yet completed go with it, so the inbox reads them
// from the store instead of querying each journey; the workflow always
// knows them (none before the programme is scheduled or once it has
// ended). This only changes the record activity's input, never a
// command, so replay is unaffected.
func (j *journey) snapshot(now time.Time) store.JourneySnapshot {
	s := store.JourneySnapshot{
		JourneyID:        j.JourneyID,
		IntakeID:         j.IntakeID,
		PersonID:         j.PersonID,
		CoachID:          j.CoachID,
		State:            j.Status,
		Phase:            j.Phase,
		CheckpointsKnown: true,
	}
	if j.Status.Terminal() {
		s.Outcome = j.Status
		return s
	}
	if j.Schedule == nil {
		return s
	}
	for _, it := range j.Schedule.Items {
		if j.itemDone(it) {
			continue
		}
		if it.Kind == programme.KindCheckpoint {
			s.Checkpoints = append(s.Checkpoints, store.Checkpoint{ID: it.ID, OpensAt: it.OpensAt, DueAt: it.DueAt})
		}
		at := it.DueAt
		if it.Kind == programme.KindSession {
			at = it.OpensAt
		}
		if !at.After(now) {
			if it.Kind != programme.KindSession {
				s.OverdueCount++
			}
			continue
		}
		if s.NextDueAt.IsZero() || at.Before(s.NextDueAt) {
			s.NextDueAt, s.NextDueItem = at, it.ID
		}
	}
	return s
}

// recipient resolves a role to a person. A coach reminder for a journey
// without a coach goes to the coordinator, so it is never silently dropped.
func (j *journey) recipient(role programme.Role) (uuid.UUID, store.Role) {
	switch role {
	case programme.Participant:
		return j.PersonID, store.RoleParticipant
	case programme.Coach:
		if j.CoachID != uuid.Nil {
			return j.CoachID, store.RoleCoach
		}
	}
	return j.CoordinatorID, store.RoleCoordinator
}

// about is what a message concerns: an item (or the offer) and when it
// happens, so the message and its calendar invite can say when.
type about struct {
	ID       string
	StartsAt time.Time
	EndsAt   time.Time
}

// aboutItem is a session (start to end) or a task (its due time).
func aboutItem(it programme.Item) about {
	if it.Kind == programme.KindSession {
		return about{ID: it.ID, StartsAt: it.OpensAt, EndsAt: it.DueAt}
	}
	return about{ID: it.ID, StartsAt: it.DueAt, EndsAt: it.DueAt}
}

// reminderMessage is the outbox entry for a reminder. Its key is the
// journey, the reminder and its time: a retried activity finds it taken.
func (j *journey) reminderMessage(r programme.Reminder, a about, sendAt time.Time) store.Message {
	to, role := j.recipient(r.Recipient)
	return store.Message{
		Key:          fmt.Sprintf("journey/%s/%s", j.JourneyID, firedKey(r)),
		IntakeID:     j.IntakeID,
		JourneyID:    j.JourneyID,
		RecipientID:  to,
		Role:         role,
		Template:     r.Template,
		ItemID:       a.ID,
		ItemStartsAt: a.StartsAt,
		ItemEndsAt:   a.EndsAt,
		Revision:     j.Revisions[a.ID],
		Channel:      channelOrEmail(r.Channel),
		SendAt:       sendAt,
		Status:       store.MessageQueued,
	}
}

// noticeMessage is a one-off message to the participant about the journey
// itself (offer, start, completion).
func (j *journey) noticeMessage(template string, sendAt time.Time) store.Message {
	return store.Message{
		Key:         fmt.Sprintf("journey/%s/%s@%s", j.JourneyID, template, sendAt.UTC().Format(time.RFC3339)),
		IntakeID:    j.IntakeID,
		JourneyID:   j.JourneyID,
		RecipientID: j.PersonID,
		Role:        store.RoleParticipant,
		Template:    template,
		Channel:     "email",
		SendAt:      sendAt,
		Status:      store.MessageQueued,
	}
}

// cancellations tell the participant that sessions they were invited to
// no longer happen for them (after a withdrawal or a deferral): one calendar
// CANCEL per upcoming session whose invite has gone out.
func (j *journey) cancellations(now time.Time) []store.Message {
	if j.Schedule == nil {
		return nil
	}
	var msgs []store.Message
	for _, it := range j.Schedule.Items {
		if it.Kind != programme.KindSession || !it.OpensAt.After(now) || !j.invited(it) {
			continue
		}
		m := j.reminderMessage(programme.Reminder{
			Key: it.ID + "/cancel", At: now, Recipient: programme.Participant, Template: messages.SessionCancelled,
		}, aboutItem(it), now)
		m.Cancels = true
		m.Revision++ // a CANCEL must outrank the invite it withdraws
		msgs = append(msgs, m)
	}
	return msgs
}

// invited says whether a session's reminders have started going out, so
// the participant may have it in their calendar.
func (j *journey) invited(it programme.Item) bool {
	for _, r := range it.Reminders {
		if r.Trigger == programme.BeforeDue && j.Fired[firedKey(r)] {
			return true
		}
	}
	return false
}

func channelOrEmail(c string) string {
	if c == "" {
		return "email"
	}
	return c
}

// notifyIntake tells the intake about a status change, so it can keep its
// counts and promote from the waitlist. An intake that has already closed
// has nothing to do with it, so a failure is logged, not fatal.
func (j *journey) notifyIntake(ctx workflow.Context) {
	err := workflow.SignalExternalWorkflow(ctx, IntakeWorkflowID(j.IntakeID), "", SignalJourneyStatus,
		JourneyStatusSignal{JourneyID: j.JourneyID, Status: j.Status, Seq: j.Seq}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(ctx).Warn("intake not told of journey status", "IntakeID", j.IntakeID, "Status", j.Status, "Error", err)
	}
}

// stage is what operators filter journeys by: the phase once the
// programme runs, the status before and after.
func (j *journey) stage() string {
	if j.Phase != "" && !j.Status.Terminal() && j.Status != contract.StatusPaused {
		return j.Phase
	}
	return string(j.Status)
}

func (j *journey) upsertStage(ctx workflow.Context) {
	upsert(ctx, temporalx.PhaseKey.ValueSet(j.stage()))
}

func upsert(ctx workflow.Context, updates ...temporal.SearchAttributeUpdate) {
	if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
		workflow.GetLogger(ctx).Warn("search attributes not updated", "Error", err)
	}
}
