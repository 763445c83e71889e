package workflows_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

func day(y int, m time.Month, d, hour int) time.Time {
	return time.Date(y, m, d, hour, 0, 0, 0, london)
}

// offerAndAccept scripts an offer after the window closes and its acceptance.
func (h *harness) offerAndAccept(j uuid.UUID) {
	h.at(day(2021, 9, 14, 10), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: workflows.DecisionOffer}), "offer")
	})
	h.at(day(2021, 9, 15, 10), func() {
		h.mustAccept(h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "accept")
	})
}

// startedJourney scripts one application, its offer and acceptance, and
// the start of the intake: a journey in the programme, the usual start of
// a test about what happens during it.
func (h *harness) startedJourney() uuid.UUID {
	j := h.apply(day(2021, 8, 20, 11))
	h.offerAndAccept(j)
	h.startIntake()
	return j
}

// startIntake scripts the coordinator starting the intake, which must succeed.
func (h *harness) startIntake() {
	h.at(day(2021, 9, 27, 10), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}), "start")
	})
}

// A participant who does everything completes; every reminder the
// programme plans is queued once, and nothing is escalated.
func TestHappyPathCompletesWithEveryReminderQueuedOnce(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.attend(j, func(int) bool { return true })
	h.submitTask(j, "plan")
	h.completeCheckpoints(j, func(int) bool { return true })
	h.submitTask(j, "reflection")

	if got := h.run(); got != store.IntakeFinished {
		t.Fatalf("intake ended %s, want finished", got)
	}

	snap := h.journey(j)
	if snap.State != contract.StatusCompleted || snap.Outcome != contract.StatusCompleted {
		t.Errorf("journey state %q outcome %q, want completed", snap.State, snap.Outcome)
	}
	types := h.events(j)
	for _, want := range []string{"application.submitted", "application.under_review", "offer.made", "offer.accepted",
		"programme.scheduled", "plan.submitted", "reflection.submitted", "journey.completed"} {
		if count(types, want) != 1 {
			t.Errorf("event %s recorded %d times, want once; events: %v", want, count(types, want), types)
		}
	}
	if n := count(types, "attendance.present"); n != 12 {
		t.Errorf("attendance recorded %d times, want 12", n)
	}
	if n := count(types, "checkpoint.completed"); n != 6 {
		t.Errorf("checkpoints completed %d, want 6", n)
	}
	if n := count(types, "phase.started"); n != 4 {
		t.Errorf("phases started %d, want 4 (three labs and experimentation)", n)
	}
	got := templates(h.messages(j))
	want := map[string]int{
		"offer": 1, "intake-started": 1,
		"session-reminder-week": 12, "session-reminder-day": 12,
		"plan-reminder": 1, "checkpoint-reminder": 6, "reflection-reminder": 2, "completion": 1,
	}
	for tmpl, n := range want {
		if got[tmpl] != n {
			t.Errorf("%d %q messages queued, want %d (all: %v)", got[tmpl], tmpl, n, got)
		}
	}
	for _, tmpl := range []string{"checkpoint-overdue-coach", "checkpoint-overdue-coordinator", "session-absence"} {
		if got[tmpl] != 0 {
			t.Errorf("%d %q messages queued for a participant who did everything", got[tmpl], tmpl)
		}
	}
}

// Session reminders are at 09:00 London time on both sides of the clock
// change of 31 October 2021: 08:00 UTC in BST, 09:00 UTC in GMT.
func TestRemindersKeepLocalTimeAcrossClockChange(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.at(day(2021, 11, 10, 12), func() {
		h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "workload"}), "withdraw")
	})
	h.run()

	var before, after int
	for _, m := range h.messages(j) {
		if m.Template != "session-reminder-day" {
			continue
		}
		local := m.SendAt.In(london)
		if local.Hour() != 9 || local.Minute() != 0 {
			t.Errorf("day-before reminder for %s sent at %s local, want 09:00", m.ItemID, local)
		}
		switch {
		case m.SendAt.Before(day(2021, 10, 31, 0)):
			before++
			if m.SendAt.UTC().Hour() != 8 {
				t.Errorf("BST reminder at %s UTC, want 08:00 UTC", m.SendAt.UTC())
			}
		default:
			after++
			if m.SendAt.UTC().Hour() != 9 {
				t.Errorf("GMT reminder at %s UTC, want 09:00 UTC", m.SendAt.UTC())
			}
		}
	}
	if before == 0 || after == 0 {
		t.Fatalf("want reminders on both sides of the clock change, got %d before and %d after", before, after)
	}
}

// With one place: a declined offer goes to the first waitlisted applicant;
// when that offer lapses, the next one is offered.
func TestDeclinedAndLapsedOffersPromoteTheWaitlist(t *testing.T) {
	h := newHarness(t, 1)
	a, b, c := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11)), h.apply(day(2021, 8, 22, 11))
	decide := func(j uuid.UUID, d workflows.Decision) func() {
		return func() {
			h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: d}), string(d))
		}
	}
	h.at(day(2021, 9, 14, 10), decide(a, workflows.DecisionOffer))
	var full *scripted.Update
	h.at(day(2021, 9, 14, 11), func() {
		full = h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: b, Decision: workflows.DecisionOffer})
	})
	h.at(day(2021, 9, 14, 12), decide(b, workflows.DecisionWaitlist))
	h.at(day(2021, 9, 14, 13), decide(c, workflows.DecisionWaitlist))
	var early *scripted.Update
	h.at(day(2021, 9, 15, 9), func() { early = h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}) })
	h.at(day(2021, 9, 15, 10), func() {
		h.mustAccept(h.update(a, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: false}), "decline")
	})
	// b never answers: the offer lapses after seven days and c is offered.
	h.at(day(2021, 9, 27, 10), func() {
		h.mustAccept(h.update(c, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "c accepts")
	})
	h.at(day(2021, 9, 28, 9), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}), "start")
	})
	var again *scripted.Update
	h.at(day(2021, 9, 28, 10), func() { again = h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}) })
	h.at(day(2021, 9, 29, 10), func() {
		h.mustAccept(h.update(c, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "job-change"}), "c withdraws")
	})
	h.run()

	if full == nil || full.Rejected == nil || !strings.Contains(full.Rejected.Error(), "full") {
		t.Errorf("a second offer for the only place was not rejected as full: %+v", full)
	}
	if early == nil || early.Rejected == nil || !strings.Contains(early.Rejected.Error(), "nobody has accepted") {
		t.Errorf("starting with no acceptances was not rejected: %+v", early)
	}
	if again == nil || again.Rejected == nil || !strings.Contains(again.Rejected.Error(), "already started") {
		t.Errorf("starting twice was not rejected: %+v", again)
	}
	for j, want := range map[uuid.UUID]workflows.Status{a: contract.StatusDeclined, b: contract.StatusOfferLapsed, c: contract.StatusWithdrawn} {
		if got := h.journey(j).State; got != want {
			t.Errorf("journey ended %s, want %s", got, want)
		}
	}
	if n := count(h.events(b), "offer.made"); n != 1 {
		t.Errorf("b offered %d times, want once (promoted from the waitlist)", n)
	}
	if n := count(h.events(c), "offer.made"); n != 1 {
		t.Errorf("c offered %d times, want once (promoted after b's offer lapsed)", n)
	}
	for _, m := range h.messages(b) {
		// The offer tells the applicant by when to answer.
		if m.Template == "offer" && (m.ItemID != "offer" || !m.ItemEndsAt.After(m.SendAt)) {
			t.Errorf("offer message %+v does not carry when the offer lapses", m)
		}
	}
	if got := templates(h.messages(b))["offer-reminder"]; got != 1 {
		t.Errorf("b got %d offer reminders before the offer lapsed, want 1", got)
	}
}

// An overdue checkpoint reminds the coach, then escalates to the coach
// again and to the coordinator; the projection counts it overdue.
func TestOverdueCheckpointEscalatesToCoachThenCoordinator(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.attend(j, func(int) bool { return true })
	h.submitTask(j, "plan")
	// Checkpoint 1 is never completed; the rest are.
	h.completeCheckpoints(j, func(i int) bool { return i > 0 })
	first := h.items(programme.KindCheckpoint)[0]
	var overdue store.JourneySnapshot
	h.at(first.DueAt.Add(8*24*time.Hour), func() { overdue = h.journey(j) })
	h.submitTask(j, "reflection")
	h.run()

	if overdue.OverdueCount != 1 {
		t.Errorf("projection shows %d overdue items a week after checkpoint 1 was due, want 1", overdue.OverdueCount)
	}
	var toCoach, toCoordinator []store.Message
	for _, m := range h.messages(j) {
		if m.ItemID != first.ID {
			continue
		}
		switch m.Template {
		case "checkpoint-overdue-coach":
			toCoach = append(toCoach, m)
		case "checkpoint-overdue-coordinator":
			toCoordinator = append(toCoordinator, m)
		}
	}
	if len(toCoach) != 1 || toCoach[0].RecipientID != h.coach {
		t.Errorf("overdue reminders to the coach: %+v, want one to the coach", toCoach)
	}
	if len(toCoordinator) != 1 || toCoordinator[0].RecipientID != h.intake.CoordinatorID {
		t.Errorf("escalations to the coordinator: %+v, want one to the coordinator", toCoordinator)
	}
	if len(toCoach) == 1 && len(toCoordinator) == 1 && !toCoach[0].SendAt.Before(toCoordinator[0].SendAt) {
		t.Errorf("coordinator escalated (%s) before the coach was chased (%s)", toCoordinator[0].SendAt, toCoach[0].SendAt)
	}
	if n := count(h.events(j), "task.overdue"); n != 1 {
		t.Errorf("task.overdue recorded %d times, want 1", n)
	}
	// Five of six checkpoints is still enough to complete.
	if got := h.journey(j).State; got != contract.StatusCompleted {
		t.Errorf("journey ended %s, want completed with 5 of 6 checkpoints", got)
	}
}

// The coach's list of journeys (the inbox's source) carries each journey's
// checkpoints not yet completed, from the start of the programme, with
// their times; a completed one leaves the list; an ended journey has
// none, and says so (known), so the inbox never asks its workflow.
func TestProjectionCarriesCheckpointsNotYetCompleted(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.attend(j, func(int) bool { return true })
	h.submitTask(j, "plan")
	// Checkpoint 1 is never completed; the rest are.
	h.completeCheckpoints(j, func(i int) bool { return i > 0 })
	all := h.items(programme.KindCheckpoint)
	ofCoach := func() store.JourneySnapshot {
		t.Helper()
		js, err := h.store.JourneysOfCoach(context.Background(), h.coach)
		if err != nil || len(js) != 1 {
			t.Fatalf("JourneysOfCoach = %+v, %v; want the one journey", js, err)
		}
		return js[0]
	}
	var early, middle store.JourneySnapshot
	h.at(all[0].OpensAt.Add(-time.Hour), func() { early = ofCoach() })
	// Just after checkpoint 2 was completed (the day before it is due).
	h.at(all[1].DueAt.Add(-23*time.Hour), func() { middle = ofCoach() })
	h.submitTask(j, "reflection")
	h.run()

	want := func(items ...programme.Item) []store.Checkpoint {
		out := []store.Checkpoint{}
		for _, it := range items {
			out = append(out, store.Checkpoint{ID: it.ID, OpensAt: store.StoredTime(it.OpensAt), DueAt: store.StoredTime(it.DueAt)})
		}
		return out
	}
	for _, tc := range []struct {
		when string
		got  store.JourneySnapshot
		want []store.Checkpoint
	}{
		{"before the first opens", early, want(all...)},
		{"after the second is completed", middle, want(append([]programme.Item{all[0]}, all[2:]...)...)},
		{"once ended", ofCoach(), want()},
	} {
		if !tc.got.CheckpointsKnown {
			t.Errorf("%s: checkpoints unknown; the workflow always knows them", tc.when)
		}
		if len(tc.got.Checkpoints) != len(tc.want) {
			t.Errorf("%s: checkpoints %+v, want %+v", tc.when, tc.got.Checkpoints, tc.want)
			continue
		}
		for i := range tc.want {
			if g, w := tc.got.Checkpoints[i], tc.want[i]; g.ID != w.ID || !g.OpensAt.Equal(w.OpensAt) || !g.DueAt.Equal(w.DueAt) {
				t.Errorf("%s: checkpoint %d = %+v, want %+v", tc.when, i, g, w)
			}
		}
	}
}

// The coach's update is validated before anything is written: wrong coach,
// not open yet, missing notes; the same request twice completes once.
func TestCheckpointValidationRejectsAndRepeatsAreIdempotent(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	cp := h.items(programme.KindCheckpoint)[1]
	req := func(mut func(*workflows.CompleteCheckpointRequest)) workflows.CompleteCheckpointRequest {
		r := workflows.CompleteCheckpointRequest{CheckpointID: cp.ID, CoachID: h.coach, NoteID: uuid.New(), Status: workflows.RAGAmber, RequestID: "req-1"}
		mut(&r)
		return r
	}
	results := map[string]*scripted.Update{}
	h.at(cp.OpensAt.Add(-24*time.Hour), func() {
		results["not open"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(*workflows.CompleteCheckpointRequest) {}))
	})
	h.at(cp.OpensAt.Add(time.Hour), func() {
		results["wrong coach"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(r *workflows.CompleteCheckpointRequest) { r.CoachID = uuid.New() }))
		results["no notes"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(r *workflows.CompleteCheckpointRequest) { r.NoteID = uuid.Nil }))
		results["bad status"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(r *workflows.CompleteCheckpointRequest) { r.Status = "purple" }))
		results["unknown"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(r *workflows.CompleteCheckpointRequest) { r.CheckpointID = "checkpoint/99" }))
	})
	h.at(cp.OpensAt.Add(2*time.Hour), func() {
		results["first"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(*workflows.CompleteCheckpointRequest) {}))
	})
	h.at(cp.OpensAt.Add(3*time.Hour), func() {
		results["repeat"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(*workflows.CompleteCheckpointRequest) {}))
		results["another"] = h.update(j, workflows.UpdateCompleteCheckpoint, req(func(r *workflows.CompleteCheckpointRequest) { r.RequestID = "req-2" }))
	})
	h.at(cp.OpensAt.Add(4*time.Hour), func() {
		h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "other"}), "withdraw")
	})
	h.run()

	for name, want := range map[string]string{
		"not open": "not open yet", "wrong coach": "assigned coach", "no notes": "notes are required",
		"bad status": "red, amber, green", "unknown": "no coaching checkpoint", "another": "closed",
	} {
		r := results[name]
		if r == nil || r.Rejected == nil || !strings.Contains(r.Rejected.Error(), want) {
			t.Errorf("%s: got %+v, want rejection mentioning %q", name, r, want)
		}
	}
	for _, name := range []string{"first", "repeat"} {
		if r := results[name]; r == nil || r.Rejected != nil || r.Err != nil {
			t.Errorf("%s completion: %+v, want success", name, r)
		}
	}
	if n := count(h.events(j), "checkpoint.completed"); n != 1 {
		t.Errorf("checkpoint completed %d times, want exactly once", n)
	}
}

// Pausing shifts everything still ahead by the length of the pause;
// low attendance means the journey ends not completed, with the reason.
func TestPauseShiftsDueDatesAndLowAttendanceDoesNotComplete(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	pauseAt, resumeAt := day(2021, 10, 20, 12), day(2021, 11, 3, 12) // two weeks
	h.at(pauseAt, func() { h.mustAccept(h.update(j, workflows.UpdatePause), "pause") })
	var paused *scripted.Update
	h.at(pauseAt.Add(time.Hour), func() { paused = h.update(j, workflows.UpdatePause) })
	h.at(resumeAt, func() { h.mustAccept(h.update(j, workflows.UpdateResume), "resume") })
	var before, after store.JourneySnapshot
	h.at(pauseAt.Add(-time.Hour), func() { before = h.journey(j) })
	h.at(resumeAt.Add(time.Hour), func() { after = h.journey(j) })
	h.run()

	if paused == nil || paused.Rejected == nil {
		t.Errorf("pausing a paused journey was not rejected: %+v", paused)
	}
	if before.NextDueAt.IsZero() || after.NextDueAt.IsZero() {
		t.Fatalf("no next due item before (%+v) or after (%+v) the pause", before, after)
	}
	if before.NextDueItem != after.NextDueItem {
		t.Errorf("next item changed from %s to %s across the pause", before.NextDueItem, after.NextDueItem)
	}
	shift := after.NextDueAt.Sub(before.NextDueAt)
	if shift < 13*24*time.Hour || shift > 17*24*time.Hour {
		t.Errorf("next item moved by %s across a two-week pause, want about two weeks (working days may add a little)", shift)
	}
	snap := h.journey(j)
	if snap.State != contract.StatusNotCompleted {
		t.Fatalf("journey ended %s, want not_completed (nothing attended)", snap.State)
	}
	evs := h.events(j)
	if count(evs, "journey.paused") != 1 || count(evs, "journey.resumed") != 1 {
		t.Errorf("pause/resume events: %v", evs)
	}
}

// Deferring hands the participant and their attendance to a later intake
// and ends this journey.
func TestDeferCarriesProgressToTheLaterIntake(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	sessions := h.items(programme.KindSession)
	h.attendSessions(j, sessions[:4], func(int) bool { return true }) // then the deferral
	later := uuid.New()
	var carried workflows.DeferralHandOver
	h.laterIntake(later, func(d workflows.DeferralHandOver) error {
		carried = d
		return nil
	})
	var deferred *scripted.Update
	h.at(sessions[3].DueAt.Add(2*time.Hour), func() {
		deferred = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
	})
	h.run()

	h.mustAccept(deferred, "defer")
	if got := h.journey(j).State; got != contract.StatusDeferred {
		t.Fatalf("journey ended %s, want deferred", got)
	}
	if carried.FromJourneyID != j || carried.NewJourneyID == uuid.Nil || carried.CoachID != h.coach {
		t.Errorf("deferral %+v does not name this journey, a new journey and the coach", carried)
	}
	attended := 0
	for _, s := range sessions {
		if carried.Progress.Attendance[s.ID] {
			attended++
		}
	}
	if attended != 4 {
		t.Errorf("deferral carried %d attended sessions, want the 4 attended before deferring", attended)
	}
	if n := count(h.events(j), "journey.deferred"); n != 1 {
		t.Errorf("journey.deferred recorded %d times, want once", n)
	}
}

// An absence queues one follow-up; recording the same absence again does not.
func TestAbsenceQueuesOneFollowUp(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	s := h.items(programme.KindSession)[1]
	absent := workflows.AttendanceRequest{SessionID: s.ID, Attended: false}
	h.at(s.DueAt.Add(time.Hour), func() { h.mustAccept(h.update(j, workflows.UpdateRecordAttendance, absent), "absent") })
	h.at(s.DueAt.Add(2*time.Hour), func() { h.mustAccept(h.update(j, workflows.UpdateRecordAttendance, absent), "absent again") })
	var future *scripted.Update
	h.at(s.DueAt.Add(2*time.Hour), func() {
		future = h.update(j, workflows.UpdateRecordAttendance, workflows.AttendanceRequest{SessionID: h.items(programme.KindSession)[5].ID, Attended: true})
	})
	h.at(s.DueAt.Add(3*time.Hour), func() {
		h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "health"}), "withdraw")
	})
	h.run()

	if got := templates(h.messages(j))["session-absence"]; got != 1 {
		t.Errorf("%d absence follow-ups queued, want 1", got)
	}
	if future == nil || future.Rejected == nil || !strings.Contains(future.Rejected.Error(), "has not started") {
		t.Errorf("attendance for a future session was not rejected: %+v", future)
	}
}

// Rescheduling a session moves its reminders in every journey: the new
// time is reminded, the old one never is.
func TestRescheduledSessionMovesItsReminders(t *testing.T) {
	h := newHarness(t, 20)
	a, b := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11))
	h.offerAndAccept(a)
	h.offerAndAccept(b)
	h.startIntake()
	moved := h.items(programme.KindSession)[6] // procurement lab, session 3
	to := moved.OpensAt.Add(48 * time.Hour)
	h.at(day(2021, 10, 5, 12), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateRescheduleSession,
			workflows.RescheduleSessionRequest{SessionID: moved.ID, StartsAt: to}), "reschedule")
	})
	var unknown *scripted.Update
	h.at(day(2021, 10, 5, 13), func() {
		unknown = h.update(uuid.Nil, workflows.UpdateRescheduleSession,
			workflows.RescheduleSessionRequest{SessionID: "no-such-lab/9", StartsAt: to})
	})
	for _, j := range []uuid.UUID{a, b} {
		j := j
		h.at(to.Add(24*time.Hour), func() {
			h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "other"}), "withdraw")
		})
	}
	h.run()

	if unknown == nil || unknown.Rejected == nil {
		t.Errorf("rescheduling an unknown session was not rejected: %+v", unknown)
	}
	for _, j := range []uuid.UUID{a, b} {
		var dayBefore []time.Time
		for _, m := range h.messages(j) {
			if m.ItemID == moved.ID && m.Template == "session-reminder-day" {
				dayBefore = append(dayBefore, m.SendAt)
				// The calendar must replace the old time: a higher SEQUENCE, the new start.
				if m.Revision != 1 || !m.ItemStartsAt.Equal(to) {
					t.Errorf("reminder for the moved session has revision %d and start %s, want 1 and %s", m.Revision, m.ItemStartsAt, to)
				}
			}
		}
		if len(dayBefore) != 1 {
			t.Fatalf("%d day-before reminders for the moved session, want exactly 1 (for the new time)", len(dayBefore))
		}
		if !dayBefore[0].After(moved.OpensAt.Add(-24*time.Hour)) || !dayBefore[0].Before(to) {
			t.Errorf("day-before reminder at %s, want between the old day-before (%s) and the new start (%s)",
				dayBefore[0], moved.OpensAt.Add(-24*time.Hour), to)
		}
		if n := count(h.events(j), "session.rescheduled"); n != 1 {
			t.Errorf("session.rescheduled recorded %d times in a journey, want 1", n)
		}
	}
}

// An intake started late sends no reminders for sessions that have already
// happened: every reminder ahead of a session arrives before it.
func TestLateStartSendsNoRemindersForPastSessions(t *testing.T) {
	h := newHarness(t, 20)
	j := h.apply(day(2021, 8, 20, 11))
	h.offerAndAccept(j)
	h.at(day(2021, 10, 20, 12), func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}), "late start")
	})
	h.at(day(2021, 11, 20, 12), func() {
		h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "other"}), "withdraw")
	})
	h.run()

	reminded := 0
	for _, m := range h.messages(j) {
		if !strings.HasPrefix(m.Template, "session-reminder") {
			continue
		}
		reminded++
		if s := h.item(m.ItemID); !m.SendAt.Before(s.OpensAt) {
			t.Errorf("%s for %s sent %s, after the session started %s", m.Template, m.ItemID, m.SendAt, s.OpensAt)
		}
	}
	if reminded == 0 {
		t.Error("no session reminders at all after a late start; sessions still ahead should be reminded")
	}
}

// Withdrawing cancels, in the participant's calendar, every upcoming
// session they had been sent an invite for, and no other.
func TestWithdrawalCancelsInvitedSessions(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	sessions := h.items(programme.KindSession)
	withdrawAt := sessions[1].DueAt.Add(2 * time.Hour)
	h.at(withdrawAt, func() {
		h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "personal"}), "withdraw")
	})
	h.run()

	invited, cancelled := map[string]int{}, map[string]store.Message{}
	for _, m := range h.messages(j) {
		switch {
		case m.Template == "session-cancelled":
			cancelled[m.ItemID] = m
		case strings.HasPrefix(m.Template, "session-reminder"):
			if m.Revision > invited[m.ItemID] {
				invited[m.ItemID] = m.Revision
			} else if _, ok := invited[m.ItemID]; !ok {
				invited[m.ItemID] = m.Revision
			}
		}
	}
	want := 0
	for _, s := range sessions {
		rev, wasInvited := invited[s.ID]
		c, wasCancelled := cancelled[s.ID]
		ahead := s.OpensAt.After(withdrawAt)
		switch {
		case ahead && wasInvited:
			want++
			if !wasCancelled || !c.Cancels || c.Revision <= rev || !c.ItemStartsAt.Equal(s.OpensAt) {
				t.Errorf("%s: invited and still ahead, got cancellation %+v (invite revision %d)", s.ID, c, rev)
			}
		case wasCancelled:
			t.Errorf("%s cancelled though it was past or never invited", s.ID)
		}
	}
	if want == 0 {
		t.Fatal("no upcoming session had been invited at the withdrawal: the scenario tests nothing")
	}
}

// Raising the capacity offers the freed place to the first waitlisted
// applicant at once; lowering it below the places offered or taken, or
// changing it after the start, is refused with the reason.
func TestSetCapacityPromotesTheWaitlistAndIsRefusedWhenItCannot(t *testing.T) {
	h := newHarness(t, 1)
	a, b, c := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11)), h.apply(day(2021, 8, 22, 11))
	decide := func(j uuid.UUID, d workflows.Decision) func() {
		return func() {
			h.mustAccept(h.update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j, Decision: d}), string(d))
		}
	}
	setCapacity := func(n int) *scripted.Update {
		return h.update(uuid.Nil, workflows.UpdateSetCapacity, workflows.SetCapacityRequest{Capacity: n})
	}
	h.at(day(2021, 9, 14, 10), decide(a, workflows.DecisionOffer))
	h.at(day(2021, 9, 14, 11), decide(b, workflows.DecisionWaitlist))
	h.at(day(2021, 9, 14, 12), decide(c, workflows.DecisionWaitlist))
	var raised, again, tooLow, outOfRange, afterStart *scripted.Update
	h.at(day(2021, 9, 14, 13), func() { raised = setCapacity(2) })
	h.at(day(2021, 9, 14, 14), func() { again = setCapacity(2) })
	h.at(day(2021, 9, 14, 15), func() { tooLow = setCapacity(1) })
	h.at(day(2021, 9, 14, 16), func() { outOfRange = setCapacity(workflows.MaxCapacity + 1) })
	for _, j := range []uuid.UUID{a, b} {
		j := j
		h.at(day(2021, 9, 15, 10), func() {
			h.mustAccept(h.update(j, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true}), "accept")
		})
		h.at(day(2021, 9, 29, 10), func() {
			h.mustAccept(h.update(j, workflows.UpdateWithdraw, workflows.WithdrawRequest{Reason: "other"}), "withdraw")
		})
	}
	h.startIntake()
	h.at(day(2021, 9, 28, 10), func() { afterStart = setCapacity(3) })
	h.run()

	h.mustAccept(raised, "raising the capacity")
	h.mustAccept(again, "the same capacity again")
	if v, ok := raised.Value.(workflows.IntakeView); raised.Done && (!ok || v.Capacity != 2 || v.PlacesTaken != 2) {
		t.Errorf("raising the capacity answered %+v, want 2 places, 2 taken", raised.Value)
	}
	for _, c := range []struct {
		what string
		r    *scripted.Update
		want string
	}{
		{"lowering below the places taken", tooLow, "2 places are already offered or taken"},
		{"more than the maximum", outOfRange, "out of range"},
		{"changing after the start", afterStart, "has started"},
	} {
		if c.r == nil || c.r.Rejected == nil || !strings.Contains(c.r.Rejected.Error(), c.want) {
			t.Errorf("%s was not rejected with %q: %+v", c.what, c.want, c.r)
		}
	}
	if n := count(h.events(b), "offer.made"); n != 1 {
		t.Errorf("b offered %d times, want once (promoted when the capacity rose)", n)
	}
	if n := count(h.events(c), "offer.made"); n != 0 {
		t.Errorf("c offered %d times, want never (only one place was added)", n)
	}
	if got := h.journey(c).State; got != contract.StatusNotSelected {
		t.Errorf("c ended %s, want not_selected", got)
	}
	evs, err := h.store.IntakeEvents(context.Background(), h.intake.IntakeID)
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	for _, e := range evs {
		if e.Type == "intake.capacity_changed" {
			changes = append(changes, string(e.Data))
		}
	}
	if len(changes) != 1 || changes[0] != `{"from":1,"to":2}` {
		t.Errorf("capacity changes recorded: %q, want one from 1 to 2", changes)
	}
}
