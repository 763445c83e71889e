package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A coordinator gives a journey another coach and defers the participant
// to a later intake from the journey's page alone: mistakes come back on
// the page, a person who is not a coach is refused with the reason, and
// the deferral leads to the participant's journey in the later intake.
func TestACoordinatorReassignsAndDefersFromThePages(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	if testing.Short() {
		t.Skip("runs a Temporal server")
	}
	w := newWorld(t, formsPace)
	later := w.acceptedWithALaterIntake()
	gareth := w.s.person(store.RoleCoach, "Gareth", "gareth@caerphilly.example.org", store.LanguageEnglish)
	coord := w.s.browser()
	coord.signIn(w.coordinator)
	journeyPath := "/journeys/" + w.journey.String()

	page := coord.get(journeyPath).body
	for _, want := range []string{`<option value="` + gareth.ID.String() + `">Gareth Prosser (gareth@caerphilly.example.org)</option>`,
		`<option value="` + w.coach.ID.String() + `" selected>`, `<option value="` + later.ID.String() + `">Cohort Later (`} {
		if !strings.Contains(page, want) {
			t.Errorf("the journey's page has no %s", want)
		}
	}
	if strings.Contains(page, `<option value="`+w.intake.ID.String()+`"`) {
		t.Error("the deferral form offers the journey's own intake")
	}

	coachAction := journeyPath + "/coach"
	expect(t, "a coach form without a coach", send(coord, journeyPath, coachAction, url.Values{"coach": {""}}),
		http.StatusUnprocessableEntity, `<a href="#coach">Choose a coach</a>`)
	expect(t, "a participant as the coach", send(coord, journeyPath, coachAction, url.Values{"coach": {w.other.ID.String()}}),
		http.StatusUnprocessableEntity, "is a participant, not a coach")
	expect(t, "another coach", follow(coord, send(coord, journeyPath, coachAction, url.Values{"coach": {gareth.ID.String()}})),
		http.StatusOK, "The coach is assigned.", `<option value="`+gareth.ID.String()+`" selected>`)
	if d, err := w.svc.Views.JourneyDetail(w.ctx, w.journey); err != nil || d.Live == nil || d.Live.CoachID != gareth.ID {
		t.Errorf("after reassigning, the journey's coach is %v (%v)", d.Live, err)
	}

	deferAction := journeyPath + "/defer"
	expect(t, "a deferral without an intake", send(coord, journeyPath, deferAction, nil),
		http.StatusUnprocessableEntity, `<a href="#defer-intake">Choose the intake</a>`)
	a := send(coord, journeyPath, deferAction, url.Values{"intake": {later.ID.String()}})
	to := a.Header.Get("Location")
	if a.StatusCode != http.StatusSeeOther || !strings.HasPrefix(to, "/journeys/") || strings.HasPrefix(to, journeyPath) {
		t.Fatalf("deferring: %d to %q\n%s", a.StatusCode, to, a.body)
	}
	expect(t, "the deferred journey", coord.get(to), http.StatusOK, "The participant is deferred to this intake.", "Cohort Later")
	w.eventually("the old journey to end deferred", 15*time.Second, func() (bool, error) {
		j, err := w.st.GetJourney(w.ctx, w.journey)
		return j.State == contract.StatusDeferred, err
	})
}

// acceptedWithALaterIntake has the world's participant accept a place and
// opens a later intake, with places, to defer them to.
func (w *world) acceptedWithALaterIntake() store.Intake {
	t := w.t
	t.Helper()
	if _, err := w.svc.Commands.Decide(w.ctx, w.intake.ID, w.journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Commands.RespondToOffer(w.ctx, w.journey, true); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	later, err := w.svc.Commands.CreateIntake(w.ctx, commands.IntakeSpec{
		Name: "Cohort Later", CoordinatorID: w.coordinator.ID, Capacity: 2,
		OpensAt: now, ClosesAt: now.Add(time.Hour), StartsOn: w.intake.StartsOn.AddDate(0, 1, 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return later
}
