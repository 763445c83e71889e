package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// pace is a world's programme clock (see testenv.Planner): the clock
// starts when the test starts the intake, its programme begins
// testenv.DefaultLead later and then runs factor times as fast until the
// knee item opens, and at real speed from then on, so that item stays open
// while people act on it.
type pace struct {
	factor time.Duration
	knee   string
}

// browserPace: the three lab months pass in about 20 s after the start,
// and checkpoint/1 stays open while the coach fills it in.
var browserPace = pace{factor: 400_000, knee: "checkpoint/1"}

// origin is the programme day the intake's start maps to: a Monday in
// January, as the README's example intake.
var origin = time.Date(2027, 1, 4, 0, 0, 0, 0, programme.London)

// world is a running system: Temporal, the worker on the compressed
// clock, the store, and the pages over HTTP.
type world struct {
	t   *testing.T
	ctx context.Context
	s   *site
	svc *app.App
	st  store.Store

	coordinator, coach, participant, other store.Person
	intake                                 store.Intake
	journey, otherJourney                  uuid.UUID
	planner                                testenv.Planner
}

func newWorld(t *testing.T, p pace) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	st := sqlitestore.OpenTest(t)
	ts := testenv.NewServer(t)
	planner, err := testenv.UntilOpen(origin, p.factor, p.knee)
	if err != nil {
		t.Fatal(err)
	}
	testenv.StartWorker(t, ts, &activities.Activities{Store: st, Planner: planner})
	svc := app.New(ts.GetDefaultClient(), st)
	w := &world{t: t, ctx: ctx, svc: svc, st: st, s: newSite(t, siteOptions{svc: svc, st: st}), planner: planner}
	w.coordinator = w.s.person(store.RoleCoordinator, "Megan", "megan@monmouthshire.example.org", store.LanguageEnglish)
	w.coach = w.s.person(store.RoleCoach, "Nerys", "nerys@bridgend.example.org", store.LanguageEnglish)
	w.participant = w.s.person(store.RoleParticipant, "Angharad", "angharad@cardiff.example.org", store.LanguageEnglish)
	w.other = w.s.person(store.RoleParticipant, "Rhodri", "rhodri@newport.example.org", store.LanguageEnglish)

	// The window stays open until the test starts the intake, so applying
	// and deciding have no deadline; the start date is only a label for the
	// test clock.
	now := time.Now()
	w.intake, err = svc.Commands.CreateIntake(ctx, commands.IntakeSpec{
		Name: "Cohort Browser", CoordinatorID: w.coordinator.ID,
		OpensAt: now, ClosesAt: now.Add(time.Hour), StartsOn: now.Add(time.Hour), Capacity: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.waitIntake(store.IntakeOpen)
	if w.journey, err = svc.Commands.Apply(ctx, w.intake.ID, w.participant.ID, w.coach.ID); err != nil {
		t.Fatal(err)
	}
	if w.otherJourney, err = svc.Commands.Apply(ctx, w.intake.ID, w.other.ID, w.coach.ID); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) eventually(what string, limit time.Duration, done func() (bool, error)) {
	w.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ok, err := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%s: not after %s (last error: %v)", what, limit, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (w *world) waitIntake(status store.IntakeStatus) {
	w.t.Helper()
	w.eventually("intake "+string(status), 15*time.Second, func() (bool, error) {
		in, err := w.st.GetIntake(w.ctx, w.intake.ID)
		return in.Status == status, err
	})
}

// waitAccepted waits until the intake counts the acceptance of its one
// accepted participant, so starting it includes them.
func (w *world) waitAccepted(intake uuid.UUID) {
	w.t.Helper()
	w.eventually("the intake counts the acceptance", 15*time.Second, func() (bool, error) {
		var counts map[workflows.Status]int
		v, err := w.svc.Workflows.Temporal.QueryWorkflow(w.ctx, workflows.IntakeWorkflowID(intake), "", workflows.QueryIntakeCounts)
		if err == nil {
			err = v.Get(&counts)
		}
		return counts[contract.StatusAccepted] == 1, err
	})
}

func (w *world) events(journey uuid.UUID, typ string) int {
	w.t.Helper()
	evs, err := w.st.JourneyEvents(w.ctx, journey)
	if err != nil {
		w.t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

// A coordinator starts an intake, a coach completes a checkpoint and the
// participant sees it on their timeline, all in a real browser, with a
// screenshot of every page; on the way, forms without the CSRF token and
// replayed forms are checked over plain HTTP against the same system.
func TestJourneyInTheBrowser(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	if testing.Short() {
		t.Skip("runs a Temporal server and a browser")
	}
	w := newWorld(t, browserPace)
	tb := newTab(t, w.s.srv.URL)
	intakePath := "/intakes/" + w.intake.ID.String()

	// Coordinator: dashboard, intake, an offer.
	tb.signIn(w.s, w.coordinator, "/")
	tb.checkAccessible("dashboard")
	tb.shot("1-coordinator-dashboard")
	tb.submit(fmt.Sprintf(`a[href=%q]`, intakePath), intakePath)
	tb.checkAccessible("intake")
	tb.shot("2-coordinator-intake")
	decide := fmt.Sprintf(`form[action="/journeys/%s/decision"] button`, w.journey)
	tb.submit(decide, intakePath)
	if flash := tb.text(".flash"); !strings.Contains(flash, "decision is recorded") {
		t.Errorf("after deciding, the page says %q", flash)
	}
	if _, err := w.svc.Commands.RespondToOffer(w.ctx, w.journey, true); err != nil {
		t.Fatal(err)
	}
	w.checkFormsOverHTTP()
	w.waitAccepted(w.intake.ID)
	tb.open(intakePath)
	tb.submit(fmt.Sprintf(`form[action="%s/start"] button`, intakePath), intakePath)
	if flash := tb.text(".flash"); !strings.Contains(flash, "intake has started") {
		t.Errorf("after starting, the page says %q", flash)
	}
	tb.shot("3-coordinator-intake-started")

	// Coach: the checkpoint opens about 20 s after the programme starts.
	w.eventually("checkpoint/1 opens in the coach's inbox", 60*time.Second, func() (bool, error) {
		in, err := w.svc.Views.CoachInbox(w.ctx, w.coach.ID)
		return err == nil && slices.ContainsFunc(in.Open, func(it views.InboxItem) bool {
			return it.JourneyID == w.journey && it.CheckpointID == "checkpoint/1"
		}), err
	})
	form := fmt.Sprintf("/journeys/%s/checkpoints/1", w.journey)
	tb.signIn(w.s, w.coach, "/")
	tb.checkAccessible("inbox")
	tb.shot("4-coach-inbox")
	tb.submit(fmt.Sprintf(`a[href=%q]`, form), form)
	tb.checkAccessible("checkpoint form")
	tb.do(chromedp.SendKeys(chromedp.CSS("#notes"), "Met in Cwmbran; the pilot with the waste team is under way."),
		chromedp.Click(chromedp.CSS("#status-green")))
	tb.shot("5-coach-checkpoint-form")
	tb.submit("main form button[type=submit]", "/")
	if flash := tb.text(".flash"); !strings.Contains(flash, "checkpoint is recorded") {
		t.Errorf("after the checkpoint, the page says %q", flash)
	}
	tb.shot("6-coach-inbox-after")

	// Participant: the completed checkpoint on their timeline.
	journeyPath := "/journeys/" + w.journey.String()
	tb.signIn(w.s, w.participant, journeyPath)
	tb.checkAccessible("journey")
	if got := tb.text(`tr[data-event="checkpoint.completed"] td`); got != "Checkpoint completed" {
		t.Errorf("timeline entry %q, want Checkpoint completed", got)
	}
	tb.shot("7-participant-journey")

	// In Welsh, remembered.
	tb.submit(`a[hreflang="cy"]`, journeyPath)
	if lang := run(tb, chromedp.Evaluate[string](`document.documentElement.lang`)); lang != "cy" {
		t.Errorf("after the toggle the page is lang=%q", lang)
	}
	if h1 := tb.text("h1"); !strings.HasPrefix(h1, "Taith: ") {
		t.Errorf("Welsh heading %q", h1)
	}
	tb.open(journeyPath)
	if got := tb.text(`tr[data-event="checkpoint.completed"] td`); got != "Pwynt gwirio wedi'i gwblhau" {
		t.Errorf("Welsh timeline entry %q", got)
	}
	tb.checkAccessible("journey in Welsh")
	tb.shot("8-participant-journey-cy")

	// Coordinator: the journey's attendance, pause and withdraw forms.
	tb.signIn(w.s, w.coordinator, "/")
	tb.open(journeyPath)
	if n := run(tb, chromedp.Evaluate[int](`document.querySelectorAll('main form').length`)); n < 3 {
		t.Errorf("the coordinator's journey page has %d forms, want attendance, pause and withdraw", n)
	}
	tb.checkAccessible("journey for the coordinator")
	tb.shot("9-coordinator-journey-cy")

	w.checkCheckpointRefusals(form)
	if n := w.events(w.journey, "checkpoint.completed"); n != 1 {
		t.Errorf("%d checkpoint.completed events, want 1", n)
	}
}

// checkFormsOverHTTP sends the coordinator's forms from a plain HTTP
// client: without the CSRF token nothing happens; a replayed decision is
// answered from the first and recorded once; a coach cannot open another
// coach's journey.
func (w *world) checkFormsOverHTTP() {
	t := w.t
	t.Helper()
	b := w.s.browser()
	b.signIn(w.coordinator)
	intakePath := "/intakes/" + w.intake.ID.String()
	page := b.get(intakePath).body

	start := formFields(t, page, intakePath+"/start")
	start.Del("csrf")
	if a := b.post(intakePath+"/start", start); a.StatusCode != http.StatusForbidden {
		t.Errorf("starting without the CSRF token: %d, want 403", a.StatusCode)
	}
	if in, err := w.st.GetIntake(w.ctx, w.intake.ID); err != nil || in.Status != store.IntakeOpen {
		t.Errorf("after a refused start the intake is %q (%v), want still open", in.Status, err)
	}

	action := fmt.Sprintf("/journeys/%s/decision", w.otherJourney)
	form := formFields(t, page, action)
	form.Set("decision", "waitlist")
	form.Set("after", w.journey.String()) // as sent from a later page of participants
	first := b.post(action, form)
	replay := b.post(action, form)
	if back := intakePath + "?after=" + w.journey.String() + "&done=decided"; first.Header.Get("Location") != back {
		t.Errorf("a decision from a later page goes back to %q, not to that page (%s)", first.Header.Get("Location"), back)
	}
	if first.StatusCode != http.StatusSeeOther || replay.StatusCode != http.StatusSeeOther ||
		replay.Header.Get("Location") != first.Header.Get("Location") || replay.Header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("decision %d to %q, replay %d to %q (replayed %q)", first.StatusCode, first.Header.Get("Location"),
			replay.StatusCode, replay.Header.Get("Location"), replay.Header.Get(idempotency.ReplayedHeader))
	}
	if n := w.events(w.otherJourney, "application.waitlisted"); n != 1 {
		t.Errorf("%d application.waitlisted events after a replayed form, want 1", n)
	}

	// Another coach sees neither the journey nor its checkpoint form.
	stranger := w.s.person(store.RoleCoach, "Dafydd", "dafydd@torfaen.example.org", store.LanguageUnknown)
	sb := w.s.browser()
	sb.signIn(stranger)
	for _, path := range []string{"/journeys/" + w.journey.String(), "/journeys/" + w.journey.String() + "/checkpoints/1"} {
		if a := sb.get(path); a.StatusCode != http.StatusNotFound {
			t.Errorf("another coach opening %s: %d, want 404", path, a.StatusCode)
		}
	}
}

// checkCheckpointRefusals sends the coach's checkpoint form with mistakes:
// each comes back on the form (422 for what the coach left out, 409 with
// the journey's own reason for a checkpoint already completed), what was
// typed is kept, and nothing is recorded.
func (w *world) checkCheckpointRefusals(form string) {
	t := w.t
	t.Helper()
	b := w.s.browser()
	b.signIn(w.coach)
	page := b.get(form)
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "This checkpoint was recorded on") {
		t.Errorf("the completed checkpoint's page: %d\n%s", page.StatusCode, page.body)
	}
	csrf := formFields(t, b.get("/").body, "/signout").Get("csrf")
	post := func(notes, status string) answer {
		return b.post(form, url.Values{"csrf": {csrf}, "idempotency_key": {uuid.NewString()}, "notes": {notes}, "status": {status}})
	}
	if a := post("  ", ""); a.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(a.body, `<a href="#notes">Write the notes of the session</a>`) ||
		!strings.Contains(a.body, `<a href="#status-green">Choose green, amber or red</a>`) {
		t.Errorf("a checkpoint without notes or rating: %d\n%s", a.StatusCode, a.body)
	}
	if a := post("Second thoughts", "amber"); a.StatusCode != http.StatusConflict ||
		!strings.Contains(a.body, "checkpoint/1 is closed: it was completed at") || !strings.Contains(a.body, "Second thoughts") {
		t.Errorf("completing a completed checkpoint: %d\n%s", a.StatusCode, a.body)
	}
}
