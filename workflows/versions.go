package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// versions says which versioned changes a run uses. Each change to what a
// workflow does is asked for with workflow.GetVersion once, at the start
// of the run, and kept for the run: runs begun before a change replay
// their histories with the old behaviour, new runs (and every run after a
// continue-as-new) get the new one. CONTRIBUTING.md has the rule, and how
// an old branch is retired.
type versions struct {
	// guarded: every status change goes through the lifecycle guard,
	// re-checked after the waits that could let a handler change the
	// status first, and events are recorded one at a time
	// (lifecycle.go, inOrder).
	guarded bool
	// Lifecycle-guard version 2: a deferral is handed to the later intake
	// by an update it can refuse (handOverByUpdate), and the intake tells
	// its journeys in concurrent batches (tellsInBatches).
	handOverByUpdate, tellsInBatches bool
	// replanUntilCurrent (lifecycle-guard version 3): a replan whose
	// inputs changed while it was made (a resumption during a moved
	// session's replan) plans again rather than keep a plan made without
	// the change (journey.replan).
	replanUntilCurrent bool
	// Lifecycle-guard version 4:
	//   - movesReachTheStart: a session moved while a journey's start is on
	//     its way reaches it (the intake tells accepted journeys of a
	//     started intake too; a journey not yet scheduled keeps the move
	//     for the plan its start makes);
	//   - looksAgainAfterWaits: a journey looks again at once after waiting
	//     out a hand-over or a replan, so what fell due meanwhile is done;
	//   - settlesDeferrals: the same deferral again is answered once the
	//     first has settled, a journey the intake could not start is
	//     forgotten, and a journey started is answered yes.
	movesReachTheStart, looksAgainAfterWaits, settlesDeferrals bool
	// signalsStayQueued (lifecycle-guard version 5): a listener waits for
	// a signal with it still in its channel, so that settling before a
	// continue-as-new sees it pending (receive).
	signalsStayQueued bool
	// listensOnDemand (lifecycle-guard version 6): one coroutine waits for
	// every signal type and starts a type's handler only while it has
	// signals, instead of a coroutine for each type for the run's life
	// (listeners). No recorded history changes its commands with it (the
	// replay corpus replays either way); it is versioned because handler
	// coroutines are now made as signals come, so two handlers woken in
	// one workflow task can run, and issue their commands, in another
	// order than the old fixed one.
	listensOnDemand bool
	// startsKnown (lifecycle-guard version 7): a journey does not report
	// the status it begins with to its intake, which gave it that status
	// when it started it. The report changed nothing (the intake takes
	// only news) and cost, for each application, a signal out of the
	// journey, the workflow task that takes its confirmation, and one of
	// the intake's tasks to take it in: while an intake fills, its
	// workflow's tasks are what every application waits its turn for.
	startsKnown bool
	// plansLocally (lifecycle-guard version 7): offers (when one lapses,
	// when the applicant is reminded) and schedules are planned by a local
	// activity (versions.plan), one marker in the history where a regular
	// activity took three events and a workflow task: a computation from
	// the pinned programme needs no round trip to the server. Every
	// journey of an intake plans its schedule as the intake starts.
	plansLocally bool
	// startsAssumed (lifecycle-guard version 8): an intake takes each
	// journey it tells to start as awaiting its start, and says so in the
	// signal (StartSignal.Assumed), so the journey does not report it
	// back. That report told the intake only what it had just caused, and
	// cost for every journey of a starting intake a signal out, the
	// journey's workflow task taking its confirmation and the intake's
	// taking it in. A journey that could not start (it withdrew or was
	// deferred as the start went out) reports what it did instead, which
	// the intake takes as news. A journey run begun before version 8
	// reports all the same, whatever the signal says (the intake takes
	// that as no news): during a rolling deploy an older worker may have
	// handled its start and reported, and a run's replay must not depend
	// on which.
	startsAssumed bool
	// signalsByActivity (lifecycle-guard version 9): an intake tells its
	// journeys that applications have closed, that they were not
	// selected, or that the programme starts, by one activity
	// (activities.SendSignals) rather than a signal command for each. Each
	// signal command was two events in the intake's history and a write
	// the server made to the intake for each journey told, while the
	// intake's start waited; the activity is three events for them all.
	// Session moves are still signalled one by one (intake.tellByActivity
	// says why).
	signalsByActivity bool
	// decisionsByUpdate (lifecycle-guard version 10): an intake sends a
	// coordinator's decision to its journey by an update (the SendUpdate
	// activity, UpdateDecision) and takes the update's answer as the
	// journey's report, where it signalled the journey and waited for a
	// report signalled back. An offer waited for five workflow tasks,
	// three of them the intake's, which every application and decision
	// queues for; now for three, two of them the intake's. A waitlisted
	// applicant promoted as a place frees is still signalled: nobody
	// waits for that answer. A refused or unanswered update falls back to
	// the signal (intake.takeAnswer).
	decisionsByUpdate bool
	// cancelTimers: a wait for a change or a moment cancels its timer when
	// the change comes first (awaitOrTimeout), instead of leaving it to
	// fire into the history later.
	cancelTimers bool
	// recordLocally: events are recorded by a local activity, one marker
	// in the history instead of three activity events and the workflow
	// task that takes the result (recordEvent).
	recordLocally bool
	// recordFallsBack (record-locally version 2): a local record that has
	// failed for two minutes is retried as a regular activity.
	recordFallsBack bool
	// From record-locally version 3 events are recorded by a regular
	// activity again (recordLocally false). A local activity writes to the
	// store before its workflow task is committed; when that task then
	// fails (its worker killed), the retried task may take the updates it
	// is given in another order and number its events differently, and
	// the store, taking each number once, kept the failed task's event and
	// dropped the retried one's. The cluster test found an attendance lost
	// that way. A regular activity runs only once its command is in the
	// history, so every number means the same event for ever.
	//
	// recordFenced (record-locally version 4): events are recorded by a
	// local activity again, falling back as in version 2, each fenced by
	// the attempt at the workflow task that wrote it, so that the store
	// keeps a retried task's events and drops the failed attempt's
	// (store.TaskAttempt, activities.TaskPlace). The runs of a workflow are
	// counted (Journey.Runs, Intake.Runs) so the fence orders them too.
	recordFenced bool
}

// The change IDs. Never reuse one for another change.
const (
	changeLifecycleGuard   = "lifecycle-guard"
	changeCancelWakeTimers = "cancel-wake-timers"
	changeRecordLocally    = "record-locally"
)

// askVersions asks, at the start of a run, which changes it uses.
// A further change to the same area bumps its change's maximum version
// rather than adding a change ID: a run records one marker per change ID.
func askVersions(ctx workflow.Context) versions {
	guard := workflow.GetVersion(ctx, changeLifecycleGuard, workflow.DefaultVersion, 10)
	cancelTimers := workflow.GetVersion(ctx, changeCancelWakeTimers, workflow.DefaultVersion, 1)
	recordLocally := workflow.GetVersion(ctx, changeRecordLocally, workflow.DefaultVersion, 4)
	return versions{
		guarded:          guard >= 1,
		handOverByUpdate: guard >= 2, tellsInBatches: guard >= 2,
		replanUntilCurrent: guard >= 3,
		movesReachTheStart: guard >= 4, looksAgainAfterWaits: guard >= 4, settlesDeferrals: guard >= 4,
		signalsStayQueued: guard >= 5,
		listensOnDemand:   guard >= 6,
		startsKnown:       guard >= 7,
		plansLocally:      guard >= 7,
		startsAssumed:     guard >= 8,
		signalsByActivity: guard >= 9,
		decisionsByUpdate: guard >= 10,
		cancelTimers:      cancelTimers >= 1,
		recordLocally:     recordLocally != 3 && recordLocally >= 1,
		recordFallsBack:   recordLocally == 2 || recordLocally >= 4,
		recordFenced:      recordLocally >= 4,
	}
}

// awaitOrTimeout waits until cond holds or d has passed, and reports
// whether cond held. With cancelTimers it sets no timer if cond holds
// already and cancels the timer once cond holds; before, as the SDK's
// AwaitWithTimeout does by default, the timer was left to fire later, an
// event (and a workflow task) in the history for nothing.
func (v versions) awaitOrTimeout(ctx workflow.Context, d time.Duration, cond func() bool) bool {
	if !v.cancelTimers {
		ok, _ := workflow.AwaitWithTimeout(ctx, d, cond)
		return ok
	}
	if cond() {
		return true
	}
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	timer := workflow.NewTimer(timerCtx, d)
	_ = workflow.Await(ctx, func() bool { return cond() || timer.IsReady() })
	return cond()
}

// receive takes the next signal from ch into valuePtr, waiting for one.
// The SDK hands a signal that arrives while a coroutine is blocked in
// Receive straight to that coroutine, out of the channel, and the
// coroutine takes it only at its next turn; a workflow settling before it
// continues as new (settle), running first, found no signal pending and
// went on without it. The cluster benchmark lost a journey's acceptance
// that way. With signalsStayQueued a listener waits with the signal still
// in the channel, where Len counts it, and takes it in the turn that
// handles it. Like Receive, it ignores cancellation (the wait is on a
// disconnected context: a cancelled Await would return at once, for ever)
// and skips a signal that cannot be decoded (ReceiveAsync drops it).
func (v versions) receive(ctx workflow.Context, ch workflow.ReceiveChannel, valuePtr any) {
	if !v.signalsStayQueued {
		ch.Receive(ctx, valuePtr)
		return
	}
	waiting, _ := workflow.NewDisconnectedContext(ctx)
	for {
		_ = workflow.Await(waiting, func() bool { return ch.Len() > 0 })
		if ch.ReceiveAsync(valuePtr) {
			return
		}
	}
}
