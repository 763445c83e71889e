package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/web"
	"github.com/infuse-cymru/journeys/workflows"
)

// checkEditIntake edits the intake on its page before the start, with
// both applicants offered a place: mistakes come back as 422 with what
// was typed, the intake's refusal as 409 with its reason, forms without
// the CSRF token or from a coach change nothing, and an edit shows on the
// intake's page and the dashboard.
func (w *world) checkEditIntake(coord *browser) {
	t := w.t
	if _, err := w.svc.Commands.Decide(w.ctx, w.intake.ID, w.otherJourney, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	page := "/intakes/" + w.intake.ID.String()
	action := page + "/edit"
	if a := coord.get(page); !strings.Contains(a.body, `value="Cohort Browser"`) || !strings.Contains(a.body, `value="2"`) {
		t.Errorf("the edit form is not filled in with the intake:\n%s", a.body)
	}
	expect(t, "an empty name and places that are not a number", send(coord, page, action, url.Values{"name": {"  "}, "capacity": {"lots"}}),
		http.StatusUnprocessableEntity, `<a href="#name">Enter a name for the intake`,
		`<a href="#capacity">Enter the number of places as a whole number from 1 to 500</a>`, `value="lots"`)
	expect(t, "too many places", send(coord, page, action, url.Values{"name": {"Cohort Big"}, "capacity": {"501"}}),
		http.StatusUnprocessableEntity, "from 1 to 500", `value="Cohort Big"`, `value="501"`)
	expect(t, "fewer places than offered", send(coord, page, action, url.Values{"name": {"Cohort Browser"}, "capacity": {"1"}}),
		http.StatusConflict, "2 places are already offered or taken", `value="1"`, "<h1>Cohort Browser</h1>")
	w.intakeIs("Cohort Browser", 2)

	form := formFields(t, coord.get(page).body, action)
	form.Set("name", "Cohort Forged")
	form.Set("capacity", "9")
	csrf := form.Get("csrf")
	form.Del("csrf")
	if a := coord.post(action, form); a.StatusCode != http.StatusForbidden {
		t.Errorf("editing without the CSRF token: %d, want 403", a.StatusCode)
	}
	cb := w.s.browser()
	cb.signIn(w.coach)
	form.Set("csrf", csrfOf(t, cb))
	if a := cb.post(action, form); a.StatusCode != http.StatusForbidden {
		t.Errorf("a coach editing the intake: %d, want 403", a.StatusCode)
	}
	w.intakeIs("Cohort Browser", 2)

	form.Set("csrf", csrf)
	form.Set("name", "Cohort Edited")
	form.Set("capacity", "5")
	expect(t, "editing the intake", follow(coord, coord.post(action, form)), http.StatusOK,
		"<h1>Cohort Edited</h1>", "The changes to the intake are saved.", `value="5"`)
	w.intakeIs("Cohort Edited", 5)
	row := regexp.MustCompile(fmt.Sprintf(`<a href="%s">Cohort Edited</a></th>(\s*<td>[^<]*</td>){3}\s*<td class="num">5</td>`, page))
	if home := coord.get("/"); !row.MatchString(home.body) {
		t.Errorf("the dashboard does not show the edited intake with 5 places:\n%s", home.body)
	}
	expect(t, "saving the form unchanged", follow(coord, send(coord, page, action, url.Values{"name": {"Cohort Edited"}, "capacity": {"5"}})), http.StatusOK,
		"Nothing had changed, so nothing was done.")
}

// checkEditAfterStart: once the intake has started its places are fixed
// (the workflow's reason on the page) but it can still be renamed.
func (w *world) checkEditAfterStart(coord *browser) {
	t := w.t
	page := "/intakes/" + w.intake.ID.String()
	action := page + "/edit"
	expect(t, "changing the places after the start", send(coord, page, action, url.Values{"name": {"Cohort Edited"}, "capacity": {"6"}}),
		http.StatusConflict, "its number of places can no longer change", `value="6"`)
	expect(t, "renaming after the start", follow(coord, send(coord, page, action, url.Values{"name": {"Carfan Ffurflenni"}, "capacity": {"5"}})),
		http.StatusOK, "<h1>Carfan Ffurflenni</h1>", "The changes to the intake are saved.")
	w.intakeIs("Carfan Ffurflenni", 5)
}

func (w *world) intakeIs(name string, capacity int) {
	w.t.Helper()
	in, err := w.st.GetIntake(w.ctx, w.intake.ID)
	if err != nil || in.Name != name || in.Capacity != capacity {
		w.t.Errorf("the intake is %q with %d places (%v), want %q with %d", in.Name, in.Capacity, err, name, capacity)
	}
}

// sessionOption is a session's option in a session list, named with its
// start in English.
func sessionOption(id string, at time.Time) string {
	return fmt.Sprintf(`<option value="%s">%s</option>`, id, web.English.Session(nil, id, at))
}

// checkIntakeSessionDates: the reschedule form names each session with
// its start for the intake, the programme's plan for its start date.
func (w *world) checkIntakeSessionDates(coord *browser) {
	t := w.t
	in, err := w.st.GetIntake(w.ctx, w.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	p, err := programme.Lookup(in.ProgrammeID, in.ProgrammeVersion)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Schedule(programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	page := coord.get("/intakes/" + w.intake.ID.String()).body
	n := 0
	for _, it := range plan.Items {
		if it.Kind == programme.KindSession {
			n++
			if opt := sessionOption(it.ID, it.OpensAt); !strings.Contains(page, opt) {
				t.Errorf("the reschedule form has no %s:\n%s", opt, page)
			}
		}
	}
	if n == 0 {
		t.Fatal("the programme has no sessions")
	}
}

// checkJourneySessionDates: the attendance form names each session with
// its start in the journey's live schedule.
func (w *world) checkJourneySessionDates(coord *browser, journeyPath string) {
	t := w.t
	items, err := w.svc.Views.JourneySchedule(w.ctx, w.journey)
	if err != nil {
		t.Fatal(err)
	}
	page := coord.get(journeyPath).body
	n := 0
	for _, it := range items {
		if it.Kind == programme.KindSession {
			n++
			if opt := sessionOption(it.ID, it.OpensAt); !strings.Contains(page, opt) {
				t.Errorf("the attendance form has no %s:\n%s", opt, page)
			}
		}
	}
	if n == 0 {
		t.Errorf("the journey's schedule has no sessions: %+v", items)
	}
}
