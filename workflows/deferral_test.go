package workflows_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/infuse-cymru/journeys/activities"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/workflows"
)

// An intake takes a deferred participant only when it can: it must start
// after the intake they leave, the person must not already have a live
// journey in it, and it must have a free place. A deferral it took, sent
// again, is answered with the journey it made; a journey ID it has given
// to someone is never answered for someone else.
func TestAnIntakeTakesADeferralOnlyWhenItCan(t *testing.T) {
	h := newHarness(t, 1)
	applicant := uuid.New()
	applied := h.applyAs(day(2021, 8, 20, 11), applicant)
	sessions := h.items(programme.KindSession)
	deferral := func(person uuid.UUID, leftStarting time.Time) workflows.DeferralHandOver {
		return workflows.DeferralHandOver{
			FromJourneyID: uuid.New(), NewJourneyID: uuid.New(), PersonID: person, CoachID: h.coach,
			Progress:     workflows.Progress{Attendance: map[string]bool{sessions[0].ID: true}},
			FromStartsOn: leftStarting,
		}
	}
	taken := deferral(uuid.New(), day(2021, 4, 1, 0))
	var reused *scripted.Update
	h.at(day(2021, 8, 20, 12), func() {
		reused = h.update(uuid.Nil, workflows.UpdateSubmitApplication,
			workflows.SubmitApplicationRequest{JourneyID: applied, PersonID: uuid.New()})
	})
	cases := []struct {
		what      string
		deferral  workflows.DeferralHandOver
		refusedAs string // "" if taken
		sent      *scripted.Update
	}{
		{what: "from an intake starting later", deferral: deferral(uuid.New(), day(2021, 10, 15, 0)), refusedAs: "not after"},
		{what: "of someone who has applied here", deferral: deferral(applicant, day(2021, 4, 1, 0)), refusedAs: "already has a live journey"},
		{what: "from an earlier intake", deferral: taken},
		{what: "the same deferral again", deferral: taken},
		{what: "naming that journey for someone else", deferral: func() workflows.DeferralHandOver {
			d := deferral(uuid.New(), day(2021, 4, 1, 0))
			d.NewJourneyID = taken.NewJourneyID
			return d
		}(), refusedAs: "another person's"},
		{what: "into the last place, taken", deferral: deferral(uuid.New(), day(2021, 4, 1, 0)), refusedAs: "full"},
	}
	h.at(day(2021, 8, 23, 10), func() {
		for i := range cases {
			cases[i].sent = h.update(uuid.Nil, workflows.UpdateAcceptDeferral, cases[i].deferral)
		}
	})
	h.startIntake()
	h.run()

	for _, c := range cases {
		u := c.sent
		switch {
		case u == nil || !u.Done:
			t.Errorf("a deferral %s was never answered", c.what)
		case c.refusedAs == "" && (u.Rejected != nil || u.Err != nil || u.Value != c.deferral.NewJourneyID):
			t.Errorf("a deferral %s: answered %v (refused: %v, failed: %v), want it taken as journey %s",
				c.what, u.Value, u.Rejected, u.Err, c.deferral.NewJourneyID)
		case c.refusedAs != "" && (u.Rejected == nil || !strings.Contains(u.Rejected.Error(), c.refusedAs)):
			t.Errorf("a deferral %s: refused %v, want it refused as %q", c.what, u.Rejected, c.refusedAs)
		}
	}
	if reused == nil || reused.Rejected == nil || !strings.Contains(reused.Rejected.Error(), "another person's") {
		t.Errorf("an application naming another person's journey: %+v, want it refused", reused)
	}
	if got := h.events(taken.NewJourneyID); count(got, "deferral.joined") != 1 || count(got, "programme.scheduled") != 1 {
		t.Errorf("the deferral taken twice recorded %v, want it joined and started once", got)
	}
}

// A deferral the later intake refuses leaves the journey as it was: it
// carries on here (attendance can be recorded again), and once the later
// intake has room the same deferral goes through.
func TestARefusedDeferralLeavesTheJourneyAsItWas(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	sessions := h.items(programme.KindSession)
	later := uuid.New()
	full := true
	h.laterIntake(later, func(workflows.DeferralHandOver) error {
		if full {
			return errors.New("this intake is full")
		}
		return nil
	})
	var refused, attended, deferred *scripted.Update
	h.at(sessions[0].DueAt.Add(time.Hour), func() {
		refused = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
	})
	h.at(sessions[0].DueAt.Add(2*time.Hour), func() {
		attended = h.update(j, workflows.UpdateRecordAttendance, workflows.AttendanceRequest{SessionID: sessions[0].ID, Attended: true})
	})
	h.at(sessions[1].DueAt.Add(time.Hour), func() {
		full = false
		deferred = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later})
	})
	h.run()

	if refused == nil || refused.Err == nil || !strings.Contains(refused.Err.Error(), "refused the deferral: this intake is full") {
		t.Errorf("deferring into a full intake: %+v, want the intake's refusal passed on", refused)
	}
	h.mustAccept(attended, "attendance after the refusal")
	h.mustAccept(deferred, "the deferral once the intake has room")
	events := h.events(j)
	if count(events, "journey.deferred") != 1 || count(events, "attendance.present") != 1 {
		t.Errorf("journey recorded %v, want the attendance and then one deferral", events)
	}
}

// A hand-over that takes minutes (the later intake out of reach, the
// activity retried with backoff) and is then refused does not cost the
// journey what fell due meanwhile: a reminder due during it goes out as
// soon as the hand-over ends, not never.
func TestASlowRefusedHandOverStillSendsWhatFellDue(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	var mu sync.Mutex // activities run on goroutines of their own
	attempts := 0
	h.env.OnActivity(h.acts.SendUpdate, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.UpdateInput) (json.RawMessage, error) {
			mu.Lock()
			defer mu.Unlock()
			if attempts++; attempts < 10 {
				return nil, errors.New("the later intake is out of reach")
			}
			return nil, temporal.NewNonRetryableApplicationError("this intake is full", activities.ErrRefused, nil)
		})
	// The first reminder ahead of an October session.
	var due programme.Reminder
	var session programme.Item
	for _, it := range h.items(programme.KindSession) {
		for _, r := range it.Reminders {
			if r.Trigger == programme.BeforeDue && r.At.After(day(2021, 10, 10, 0)) && due.Key == "" {
				due, session = r, it
			}
		}
	}
	var deferral *scripted.Update
	h.at(due.At.Add(-2*time.Minute), func() {
		deferral = h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: uuid.New()})
	})
	h.at(session.OpensAt.Add(24*time.Hour), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	h.run()

	if deferral == nil || deferral.Err == nil {
		t.Fatalf("the deferral: %+v, want it refused", deferral)
	}
	var sent []time.Time
	for _, m := range h.messages(j) {
		if m.ItemID == session.ID && m.Template == due.Template {
			sent = append(sent, m.SendAt)
		}
	}
	if len(sent) != 1 || sent[0].Sub(due.At) > time.Hour {
		t.Errorf("reminder %s due %s was queued for %v, want once, as soon as the hand-over ended", due.Key, due.At, sent)
	}
}

// A participant deferring before their programme has started tells the
// later intake when their own intake starts, so that it can refuse to be
// an earlier one.
func TestADeferralBeforeTheStartNamesTheIntakesStart(t *testing.T) {
	h := newHarness(t, 20)
	j, other := h.apply(day(2021, 8, 20, 11)), h.apply(day(2021, 8, 21, 11))
	h.offerAndAccept(j)
	h.offerAndAccept(other) // so that the intake starts, and so finishes
	h.startIntake()
	later := uuid.New()
	var handed workflows.DeferralHandOver
	h.laterIntake(later, func(d workflows.DeferralHandOver) error {
		handed = d
		return nil
	})
	h.at(day(2021, 9, 20, 10), func() {
		h.mustAccept(h.update(j, workflows.UpdateDefer, workflows.DeferRequest{TargetIntakeID: later}), "defer before the start")
	})
	h.run()

	if !handed.FromStartsOn.Equal(h.intake.StartsOn) {
		t.Errorf("the deferral said the participant's intake starts %s, want %s", handed.FromStartsOn, h.intake.StartsOn)
	}
}
