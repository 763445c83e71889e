package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/storetest"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// formsPace rushes through the labs (about 2.5 s) to the experimentation
// phase, where the plan and reflection are open (at real speed from then
// on) and every session has started. The session a check moves is a later
// intake's (laterIntake), a real day away, so no check races the labs.
var formsPace = pace{factor: 3_000_000, knee: "plan"}

// Every form the coordinator and the participant have, over HTTP against
// a running system: each acts, a refusal by the journey or intake comes
// back on the page with its reason, mistakes come back as 422 with what
// was typed, and forms without the CSRF token, from another role or about
// a journey the person may not see change nothing.
func TestFormsOfEachRole(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	if testing.Short() {
		t.Skip("runs a Temporal server")
	}
	w := newWorld(t, formsPace)
	if _, err := w.svc.Commands.Decide(w.ctx, w.intake.ID, w.journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Commands.RespondToOffer(w.ctx, w.journey, true); err != nil {
		t.Fatal(err)
	}
	w.waitAccepted(w.intake.ID)
	coord := w.s.browser()
	coord.signIn(w.coordinator)
	w.checkEditIntake(coord) // before the start, so the places can still change
	if _, err := w.svc.Commands.StartIntake(w.ctx, w.intake.ID); err != nil {
		t.Fatal(err)
	}
	w.checkIntakeSessionDates(coord)
	w.checkEditAfterStart(coord)
	w.checkDashboard(coord)
	w.checkReschedule(coord, w.laterIntake()) // after checkDashboard, which counts two Torfaen journeys in all

	w.eventually("the plan opens", 30*time.Second, func() (bool, error) {
		d, err := w.svc.Views.JourneyDetail(w.ctx, w.journey)
		return err == nil && d.Live != nil && d.Live.Status == contract.StatusExperimenting, err
	})
	journeyPath := "/journeys/" + w.journey.String()
	if a := send(coord, "/intakes/"+w.intake.ID.String(), "/intakes/"+w.intake.ID.String()+"/reschedule",
		url.Values{"session": {"adaption-lab/1"}, "starts_at": {"2099-01-05T10:00"}}); a.StatusCode != http.StatusConflict ||
		!strings.Contains(a.body, "Session adaption-lab/1 has already started") {
		t.Errorf("moving a session that has started: %d\n%s", a.StatusCode, a.body)
	}
	w.checkJourneySessionDates(coord, journeyPath)
	w.checkAttendance(coord, journeyPath)
	w.checkPause(coord, journeyPath)
	w.checkTasks(journeyPath)
	w.checkWithdraw(coord, journeyPath)
}

// send posts the form on the page at path whose action is action, with
// the page's hidden fields and these answers.
func send(b *browser, path, action string, answers url.Values) answer {
	b.t.Helper()
	form := formFields(b.t, b.get(path).body, action)
	for k, v := range answers {
		form[k] = v
	}
	return b.post(action, form)
}

// expect checks an answer's status and that its page says each of says.
func expect(t *testing.T, what string, a answer, status int, says ...string) {
	t.Helper()
	ok := a.StatusCode == status
	for _, s := range says {
		ok = ok && strings.Contains(a.body, s)
	}
	if !ok {
		t.Errorf("%s: %d, want %d saying %q\n%s", what, a.StatusCode, status, says, a.body)
	}
}

// follow is the page a form's redirect leads to.
func follow(b *browser, a answer) answer {
	b.t.Helper()
	if a.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("want a redirect, got %d\n%s", a.StatusCode, a.body)
	}
	return b.get(a.Header.Get("Location"))
}

// laterIntake creates a second intake whose programme begins a real day
// after the world's, gives it one accepted participant and starts it. On
// the test clock that day lies beyond the knee, at real speed, so none of
// its sessions starts during a test: a check may take as long as it needs
// to move one.
func (w *world) laterIntake() store.Intake {
	t := w.t
	t.Helper()
	now := time.Now()
	in, err := w.svc.Commands.CreateIntake(w.ctx, commands.IntakeSpec{
		Name: "Cohort Later", CoordinatorID: w.coordinator.ID,
		OpensAt: now, ClosesAt: now.Add(time.Hour), StartsOn: w.intake.StartsOn.Add(24 * time.Hour), Capacity: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	p := w.s.person(store.RoleParticipant, "Gwenllian", "gwenllian@blaenavon.example.org", store.LanguageEnglish)
	journey, err := w.svc.Commands.Apply(w.ctx, in.ID, p.ID, w.coach.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Commands.Decide(w.ctx, in.ID, journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.Commands.RespondToOffer(w.ctx, journey, true); err != nil {
		t.Fatal(err)
	}
	w.waitAccepted(in.ID)
	if _, err := w.svc.Commands.StartIntake(w.ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	return in
}

// checkReschedule moves the intake's last session by a programme day, and
// refuses a time that is not one with the input kept. The intake's
// sessions must lie beyond the test (see laterIntake).
func (w *world) checkReschedule(coord *browser, in store.Intake) {
	t := w.t
	page := "/intakes/" + in.ID.String()
	action := page + "/reschedule"
	a := send(coord, page, action, url.Values{"session": {"data-lab/4"}, "starts_at": {"next tuesday"}})
	expect(t, "a time that is not one", a, http.StatusUnprocessableEntity,
		`<a href="#starts_at">Enter the new date and time`, `value="next tuesday"`, `<option value="data-lab/4" selected>`)

	// The intake's schedule as its workflow planned it, on the test clock;
	// at real speed a programme day is a real day.
	s, err := w.planner.Schedule(in.ProgrammeID, in.ProgrammeVersion, programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	var opens time.Time
	for _, it := range s.Items {
		if it.ID == "data-lab/4" {
			opens = it.OpensAt
		}
	}
	if !opens.After(time.Now().Add(24 * time.Hour)) {
		t.Fatalf("data-lab/4 of intake %s starts %s, within a day: the check would race it", in.ID, opens)
	}
	at := opens.Add(24 * time.Hour)
	a = send(coord, page, action, url.Values{"session": {"data-lab/4"}, "starts_at": {at.UTC().Format(time.RFC3339Nano)}})
	expect(t, "moving data-lab/4", follow(coord, a), http.StatusOK, "The session is moved for everyone in the intake.",
		sessionOption("data-lab/4", at))
}

var reportRow = regexp.MustCompile(`<th scope="row">Torfaen</th>\s*<td class="num">2</td>`)

// checkDashboard: the counts by authority and theme, the outcomes file,
// and creating an intake.
func (w *world) checkDashboard(coord *browser) {
	t := w.t
	home := coord.get("/")
	expect(t, "the dashboard", home, http.StatusOK, "<caption>Journeys of every intake by local authority</caption>",
		"<caption>Journeys of every intake by theme</caption>", `<th scope="row">Communities</th>`,
		`href="/intakes/`+w.intake.ID.String()+`/outcomes.csv"`)
	if !reportRow.MatchString(home.body) {
		t.Errorf("no row of Torfaen's two journeys:\n%s", home.body)
	}
	csv := coord.get("/intakes/" + w.intake.ID.String() + "/outcomes.csv")
	if csv.StatusCode != http.StatusOK || !strings.HasPrefix(csv.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(csv.body, `"journey_id","intake_id",`) || !strings.Contains(csv.body, w.journey.String()) ||
		strings.Contains(csv.body, w.participant.GivenName) {
		t.Errorf("outcomes file: %d %s\n%s", csv.StatusCode, csv.Header.Get("Content-Type"), csv.body)
	}
	pb := w.s.browser()
	pb.signIn(w.participant)
	if a := pb.get("/intakes/" + w.intake.ID.String() + "/outcomes.csv"); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant downloading outcomes: %d, want 403", a.StatusCode)
	}

	good := url.Values{"name": {"Cohort Forms"}, "opens": {"2031-01-06T09:00"}, "closes": {"2031-01-20T17:00"},
		"starts": {"2031-02-03"}, "capacity": {"12"}}
	with := func(k, v string) url.Values {
		f := url.Values{}
		for key, vs := range good {
			f[key] = vs
		}
		f.Set(k, v)
		return f
	}
	expect(t, "a capacity that is not a number", send(coord, "/", "/intakes", with("capacity", "lots")), http.StatusUnprocessableEntity,
		`<a href="#capacity">Enter the number of places`, `value="Cohort Forms"`, `value="lots"`)
	expect(t, "closing before opening", send(coord, "/", "/intakes", with("closes", "2030-12-01T09:00")), http.StatusUnprocessableEntity,
		"The window must close after it opens", `value="2030-12-01T09:00"`)
	form := formFields(t, coord.get("/").body, "/intakes")
	for k, v := range good {
		form[k] = v
	}
	csrf := form.Get("csrf")
	form.Del("csrf")
	before := w.intakes()
	if a := coord.post("/intakes", form); a.StatusCode != http.StatusForbidden || w.intakes() != before {
		t.Errorf("creating an intake without the CSRF token: %d, %d intakes after, %d before", a.StatusCode, w.intakes(), before)
	}
	form.Set("csrf", csrfOf(t, pb))
	if a := pb.post("/intakes", form); a.StatusCode != http.StatusForbidden || w.intakes() != before {
		t.Errorf("a participant creating an intake: %d", a.StatusCode)
	}
	form.Set("csrf", csrf)
	expect(t, "creating an intake", follow(coord, coord.post("/intakes", form)), http.StatusOK,
		"<h1>Cohort Forms</h1>", "The intake is created.")
	if w.intakes() != before+1 {
		t.Errorf("%d intakes after creating one, want %d", w.intakes(), before+1)
	}
}

func (w *world) intakes() int {
	w.t.Helper()
	list, err := w.svc.Views.ListIntakes(w.ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	return len(list)
}

func (w *world) checkAttendance(coord *browser, journeyPath string) {
	t := w.t
	action := journeyPath + "/attendance"
	expect(t, "attendance without a session", send(coord, journeyPath, action, url.Values{"attended": {"absent"}}),
		http.StatusUnprocessableEntity, `<a href="#attendance-session">Choose the session</a>`, `value="absent" checked`)
	expect(t, "recording attendance", follow(coord, send(coord, journeyPath, action,
		url.Values{"session": {"adaption-lab/1"}, "attended": {"present"}})), http.StatusOK, "The attendance is recorded.")
	if n := w.events(w.journey, "attendance.present"); n != 1 {
		t.Errorf("%d attendance.present events, want 1", n)
	}
}

// checkPause pauses and resumes the journey, with the refusals around it.
func (w *world) checkPause(coord *browser, journeyPath string) {
	t := w.t
	action := journeyPath + "/pause"
	page := coord.get(journeyPath).body
	form := formFields(t, page, action)
	noCSRF := url.Values{"idempotency_key": form["idempotency_key"]}
	if a := coord.post(action, noCSRF); a.StatusCode != http.StatusForbidden || w.state() == contract.StatusPaused {
		t.Errorf("pausing without the CSRF token: %d, journey %s", a.StatusCode, w.state())
	}
	pb := w.s.browser()
	pb.signIn(w.participant)
	if a := pb.post(action, url.Values{"csrf": {csrfOf(t, pb)}, "idempotency_key": {"p-1"}}); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant pausing: %d, want 403", a.StatusCode)
	}
	expect(t, "pausing", follow(coord, coord.post(action, form)), http.StatusOK, "The journey is paused.", "Resume the journey")
	form.Set("idempotency_key", "pause-again")
	expect(t, "pausing twice", coord.post(action, form), http.StatusConflict, "The journey is already paused", "<h1>Journey: ")

	// The participant cannot hand in while paused; the text is kept.
	a := pb.post(journeyPath+"/tasks", url.Values{"csrf": {csrfOf(t, pb)}, "idempotency_key": {"t-1"}, "task": {"plan"}, "text": {"Draft plan"}})
	expect(t, "handing in while paused", a, http.StatusConflict, "Plan cannot be completed while the journey is paused", "Draft plan")

	expect(t, "resuming", follow(coord, send(coord, journeyPath, journeyPath+"/resume", nil)), http.StatusOK,
		"The journey has resumed.", "Pause the journey")
	if st := w.state(); st != contract.StatusExperimenting {
		t.Errorf("after resuming the journey is %s", st)
	}
}

// checkTasks: the participant hands in their plan once; nobody else can.
func (w *world) checkTasks(journeyPath string) {
	t := w.t
	action := journeyPath + "/tasks"
	pb := w.s.browser()
	pb.signIn(w.participant)
	page := pb.get(journeyPath).body
	for _, id := range []string{`id="text-plan"`, `id="text-reflection"`} {
		if !strings.Contains(page, id) {
			t.Errorf("the participant's page has no %s:\n%s", id, page)
		}
	}
	expect(t, "an empty plan", send(pb, journeyPath, action, url.Values{"task": {"plan"}, "text": {"  "}}),
		http.StatusUnprocessableEntity, `<a href="#text-plan">Write your text before handing it in</a>`)

	// Someone else: another participant and a coach do not see the journey;
	// the coordinator is the wrong role.
	stranger := w.s.browser()
	stranger.signIn(w.other)
	if a := stranger.post(action, url.Values{"csrf": {csrfOf(t, stranger)}, "idempotency_key": {"s-1"}, "task": {"plan"}, "text": {"Mine"}}); a.StatusCode != http.StatusNotFound {
		t.Errorf("another participant handing in: %d, want 404", a.StatusCode)
	}
	coachB := w.s.browser()
	coachB.signIn(w.s.person(store.RoleCoach, "Gareth", "gareth@caerphilly.example.org", store.LanguageEnglish))
	if a := coachB.get(journeyPath); a.StatusCode != http.StatusNotFound {
		t.Errorf("another coach opening the journey: %d, want 404", a.StatusCode)
	}
	coord := w.s.browser()
	coord.signIn(w.coordinator)
	if a := coord.post(action, url.Values{"csrf": {csrfOf(t, coord)}, "idempotency_key": {"c-1"}, "task": {"plan"}, "text": {"Theirs"}}); a.StatusCode != http.StatusForbidden {
		t.Errorf("a coordinator handing in: %d, want 403", a.StatusCode)
	}

	form := formFields(t, page, action)
	form.Set("task", "plan")
	form.Set("text", "Try reusable cups in the council canteen.")
	first := pb.post(action, form)
	replay := pb.post(action, form)
	if replay.Header.Get(idempotency.ReplayedHeader) != "true" || replay.Header.Get("Location") != first.Header.Get("Location") {
		t.Errorf("a replayed hand-in: %d to %q", replay.StatusCode, replay.Header.Get("Location"))
	}
	after := follow(pb, first)
	expect(t, "handing in the plan", after, http.StatusOK, "Handed in. Thank you!", `id="text-reflection"`)
	if strings.Contains(after.body, `id="text-plan"`) {
		t.Error("the plan's form is still offered after handing it in")
	}
	if n := w.events(w.journey, "plan.submitted"); n != 1 {
		t.Errorf("%d plan.submitted events, want 1", n)
	}
}

func (w *world) checkWithdraw(coord *browser, journeyPath string) {
	t := w.t
	action := journeyPath + "/withdraw"
	expect(t, "withdrawing without a reason", send(coord, journeyPath, action, url.Values{"note": {"Moving to Swansea"}}),
		http.StatusUnprocessableEntity, `<a href="#reason">Choose a reason for withdrawing</a>`, ">Moving to Swansea</textarea>")
	// The refused form's page showed the note; nothing keeps it.
	if found, err := w.st.(storetest.TextFinder).FindText(w.ctx, "Moving to Swansea"); err != nil || len(found) > 0 {
		t.Errorf("the note of a refused form is kept in %v (%v)", found, err)
	}
	after := follow(coord, send(coord, journeyPath, action, url.Values{"reason": {"job-change"}, "note": {"Moving to Swansea"}}))
	expect(t, "withdrawing", after, http.StatusOK, "The participant is withdrawn.")
	if strings.Contains(after.body, `action="`+action+`"`) || strings.Contains(after.body, `action="`+journeyPath+`/pause"`) {
		t.Errorf("an ended journey still offers its forms:\n%s", after.body)
	}
	if st := w.state(); st != contract.StatusWithdrawn {
		t.Errorf("after withdrawing the journey is %s", st)
	}
}

// state is the journey's live state.
func (w *world) state() workflows.Status {
	w.t.Helper()
	d, err := w.svc.Views.JourneyDetail(context.Background(), w.journey)
	if err != nil || d.Live == nil {
		w.t.Fatalf("reading the journey: %v (live %v)", err, d.Live != nil)
	}
	return d.Live.Status
}
