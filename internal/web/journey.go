package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// participantHome sends a participant to their newest journey; with none
// yet it says so.
func (s *server) participantHome(w http.ResponseWriter, r *http.Request) {
	js, err := s.svc.Views.JourneysOf(r.Context(), principal(r).PersonID)
	if err != nil {
		s.serverError(w, r, "listing your journeys", err)
		return
	}
	if len(js) == 0 {
		p := s.newPage(r, "nojourney.title")
		s.render(w, r, http.StatusOK, "nojourney", p)
		return
	}
	to := "/journeys/" + js[len(js)-1].JourneyID.String()
	if done := r.URL.Query().Get("done"); done != "" {
		seeOther(w, r, to, done)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// journeyData is the body of a journey's page.
type journeyData struct {
	views.JourneyDetail
	// Mine says the participant is looking at their own journey: they get
	// the offer, task and language forms.
	Mine bool
	// CanRespond offers accept and decline.
	CanRespond bool
	// Language is the participant's correspondence language ("" bilingual).
	Language string
	// CoachOwn says the coach viewing is this journey's coach, so each
	// open checkpoint links to its form.
	CoachOwn bool
	// Manage offers a coordinator the attendance and withdraw forms: the
	// journey is under way and answering. CanPause and CanResume offer the
	// one of the two that the journey's state allows.
	Manage, CanPause, CanResume bool
	// Sessions are the attendance form's choices, with their starts in
	// this journey's schedule; Reasons the withdraw form's; Coaches the
	// coach form's; Intakes the deferral form's, every other intake not
	// finished (the journey and the intake refuse the rest, saying why).
	Sessions []sessionChoice
	Reasons  []string
	Coaches  []store.Person
	Intakes  []store.Intake
	// OpenTasks are the participant's tasks they can hand in now: open,
	// not done, and the journey neither paused nor ended.
	OpenTasks []workflows.ItemView
	// Form is what was typed into the form that failed, kept.
	Form url.Values
	// Unsaved is a plan or reflection the journey refused whose form is
	// no longer offered (the journey is paused or ended), so the
	// participant can copy what they wrote.
	Unsaved string
}

func (s *server) journeyPage(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	s.renderJourney(w, r, http.StatusOK, j, nil)
}

func (s *server) renderJourney(w http.ResponseWriter, r *http.Request, status int, j store.JourneySnapshot, errs []fieldError) {
	d, err := s.svc.Views.JourneyDetail(r.Context(), j.JourneyID)
	if err != nil {
		s.serverError(w, r, "reading the journey", err)
		return
	}
	s.workflowUnavailable(r, j.JourneyID, d.LiveCause)
	pr := principal(r)
	data := journeyData{JourneyDetail: d, Mine: pr.Role == store.RoleParticipant, CoachOwn: pr.Role == store.RoleCoach, Form: postedForm(r)}
	data.CanRespond = data.Mine && d.Journey.State == contract.StatusOffered
	if data.Mine {
		person, err := s.svc.People.Get(r.Context(), pr.PersonID)
		if err != nil {
			s.serverError(w, r, "reading your language preference", err)
			return
		}
		data.Language = string(person.Language)
	}
	if d.Live != nil && !d.Live.Status.Terminal() {
		data.live(pr.Role, time.Now())
		if len(data.Sessions) > 0 {
			starts := s.journeyStarts(r, j.JourneyID)
			for i := range data.Sessions {
				data.Sessions[i].StartsAt = starts[data.Sessions[i].ID]
			}
		}
	}
	if data.Manage {
		data.Coaches, data.Intakes = s.manageChoices(r, d.Journey.IntakeID)
	}
	data.keepUnsaved()
	p := s.newPage(r, "journey.title")
	if d.Live != nil {
		p.programme = pinned(d.Live.ProgrammeID, d.Live.ProgrammeVersion)
	} else {
		p.programme = s.intakeProgramme(r, d.Journey.IntakeID)
	}
	p.Title = p.T("journey.title") + ": " + d.Participant.Name
	p.Errors = errs
	p.Data = data
	s.render(w, r, status, "journey", p)
}

// live fills in the forms a journey under way offers to role, from its
// live view: what the journey would accept now, so nobody is offered a
// button that can only be refused.
func (d *journeyData) live(role store.Role, now time.Time) {
	st := d.Live.Status
	if role == store.RoleCoordinator {
		d.Manage = true
		d.CanPause = st == contract.StatusAwaitingStart || st == contract.StatusInLabs || st == contract.StatusExperimenting
		d.CanResume = st == contract.StatusPaused
		if d.Live.SessionsTotal > 0 {
			d.Sessions = sessionChoices(sessionIDs(d.Live.ProgrammeID, d.Live.ProgrammeVersion), nil)
		}
		d.Reasons = workflows.WithdrawReasons
	}
	if d.Mine && st != contract.StatusPaused {
		for _, t := range d.Live.Tasks {
			if t.CompletedAt.IsZero() && !t.OpensAt.After(now) {
				d.OpenTasks = append(d.OpenTasks, t)
			}
		}
	}
}

// journeyStarts are the starts of the journey's sessions in its live
// schedule: after reschedules and after this journey's own pauses, so the
// dates are the ones its participant was sent. If the workflow cannot say,
// the attendance form names the sessions without dates rather than fail.
func (s *server) journeyStarts(r *http.Request, journeyID uuid.UUID) map[string]time.Time {
	items, err := s.svc.Views.JourneySchedule(r.Context(), journeyID)
	if err != nil {
		s.log.Warn("journey page without session dates", zap.Stringer("journey", journeyID), zap.Error(err))
		return nil
	}
	starts := make(map[string]time.Time, len(items))
	for _, it := range items {
		if it.Kind == programme.KindSession {
			starts[it.ID] = it.OpensAt
		}
	}
	return starts
}

// keepUnsaved keeps a refused plan or reflection in view when its form
// is not offered again.
func (d *journeyData) keepUnsaved() {
	task := d.Form.Get("task")
	if !d.Mine || strings.TrimSpace(d.Form.Get("text")) == "" ||
		slices.ContainsFunc(d.OpenTasks, func(t workflows.ItemView) bool { return t.ID == task }) {
		return
	}
	d.Unsaved = d.Form.Get("text")
}

// calendar is the journey's sessions and checkpoints as an .ics file.
func (s *server) calendar(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	ics, err := s.svc.Views.JourneyCalendar(r.Context(), j.JourneyID)
	if err != nil {
		s.serverError(w, r, "making the journey's calendar", err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="infuse.ics"`)
	_, _ = w.Write(ics)
}

// respondToOffer is the participant accepting or declining their place.
func (s *server) respondToOffer(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	back := "/journeys/" + j.JourneyID.String()
	var accept bool
	switch r.PostFormValue("answer") {
	case "accept":
		accept = true
	case "decline":
	default:
		s.errorPage(w, r, http.StatusUnprocessableEntity, "error.form.title", "journey.offer.missing")
		return
	}
	if _, err := s.svc.Commands.RespondToOffer(r.Context(), j.JourneyID, accept); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	done := "declined"
	if accept {
		done = "accepted"
	}
	seeOther(w, r, back, done)
}

// setLanguage records the language the signed-in person wants their
// e-mails in, which their pages then follow too, and goes back to the page
// the form was on.
func (s *server) setLanguage(w http.ResponseWriter, r *http.Request) {
	back := localPath(r.PostFormValue("next"))
	if err := s.svc.People.SetLanguage(r.Context(), principal(r).PersonID, r.PostFormValue("language")); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	// The pages follow a language recorded as cy or en: by way of the
	// toggle's address, so that a replay of this form, which keeps only
	// where it led, switches them too.
	if l, ok := parseLang(r.PostFormValue("language")); ok {
		seeOther(w, r, "/lang/"+string(l)+"?next="+url.QueryEscape(withDone(back, "language")), "")
		return
	}
	seeOther(w, r, back, "language")
}

// manageChoices are the coaches a coordinator can give a journey of
// intakeID, and the intakes they can defer it to. Either may be empty if
// the store cannot say: the page then leaves its form out rather than fail.
func (s *server) manageChoices(r *http.Request, intakeID uuid.UUID) (coaches []store.Person, intakes []store.Intake) {
	coaches = s.coaches(r)
	all, err := s.svc.Views.ListIntakes(r.Context())
	if err != nil {
		s.log.Warn("journey page without the deferral form", zap.Error(err))
	}
	var starts time.Time
	for _, in := range all {
		if in.ID == intakeID {
			starts = in.StartsOn
		}
	}
	for _, in := range all { // soonest start first
		if in.ID != intakeID && in.Status != store.IntakeFinished && in.StartsOn.After(starts) {
			intakes = append(intakes, in.Intake)
		}
	}
	return coaches, intakes
}

// coaches are the coaches a form can name (not erased); none if the store
// cannot say, and the form is left out.
func (s *server) coaches(r *http.Request) []store.Person {
	people, err := s.svc.People.ListPeople(r.Context(), store.RoleCoach)
	if err != nil {
		s.log.Warn("a page without its choice of coaches", zap.Error(err))
	}
	var coaches []store.Person
	for _, p := range people {
		if p.ErasedAt.IsZero() {
			coaches = append(coaches, p)
		}
	}
	return coaches
}

// journeyForm serves a form on a journey's page, for a journey the person
// may see: check reads the form's fields (nil for a button alone), whose
// mistakes come back on the page as 422 with what was typed; act asks the
// journey, whose refusal comes back on the page with its reason (409).
// Done, the form leads back to the journey's page.
func (s *server) journeyForm(done string, check func(c *checks, form url.Values), act func(r *http.Request, j store.JourneySnapshot, form url.Values) error) http.HandlerFunc {
	return s.journeyFormTo(done, check, func(r *http.Request, j store.JourneySnapshot, form url.Values) (string, error) {
		return "", act(r, j, form)
	})
}

// journeyFormTo is journeyForm for a form that leads elsewhere once done:
// act says where ("" for the journey's page).
func (s *server) journeyFormTo(done string, check func(c *checks, form url.Values), act func(r *http.Request, j store.JourneySnapshot, form url.Values) (string, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		j, ok := s.visibleJourney(w, r)
		if !ok {
			return
		}
		again := func(status int, errs []fieldError) { s.renderJourney(w, r, status, j, errs) }
		form := postedForm(r)
		if check != nil {
			c := checks{lang: pageLang(r)}
			check(&c, form)
			if len(c.errs) > 0 {
				again(http.StatusUnprocessableEntity, c.errs)
				return
			}
		}
		to, err := act(r, j, form)
		if to == "" || err != nil {
			to = "/journeys/" + j.JourneyID.String()
		}
		s.finishForm(w, r, err, again, to, done)
	}
}

// The coordinator's forms on a journey's page.

func (s *server) recordAttendance() http.HandlerFunc {
	return s.journeyForm("attendance", func(c *checks, form url.Values) {
		// As the API: the journey itself refuses a session it does not
		// have or that has not started, with its reason.
		c.require(strings.TrimSpace(form.Get("session")) != "", "attendance-session", "attendance.session.missing")
		c.oneOf(form, "attended", "attendance.answer.missing", []string{"present", "absent"})
	}, func(r *http.Request, j store.JourneySnapshot, form url.Values) error {
		return s.svc.Commands.RecordAttendance(r.Context(), j.JourneyID, form.Get("session"), form.Get("attended") == "present")
	})
}

func (s *server) pause() http.HandlerFunc {
	return s.journeyForm("paused", nil, func(r *http.Request, j store.JourneySnapshot, _ url.Values) error {
		return s.svc.Commands.Pause(r.Context(), j.JourneyID)
	})
}

func (s *server) resume() http.HandlerFunc {
	return s.journeyForm("resumed", nil, func(r *http.Request, j store.JourneySnapshot, _ url.Values) error {
		return s.svc.Commands.Resume(r.Context(), j.JourneyID)
	})
}

// assignCoach gives the journey a coach, or another one.
func (s *server) assignCoach() http.HandlerFunc {
	return s.journeyForm("coached", func(c *checks, form url.Values) {
		_, err := uuid.Parse(form.Get("coach"))
		c.require(err == nil, "coach", "coach.missing")
	}, func(r *http.Request, j store.JourneySnapshot, form url.Values) error {
		return s.svc.Commands.AssignCoach(r.Context(), j.JourneyID, uuid.MustParse(form.Get("coach")))
	})
}

// deferJourney moves the participant, with their progress, to a later
// intake, and leads to their journey there.
func (s *server) deferJourney() http.HandlerFunc {
	return s.journeyFormTo("deferred", func(c *checks, form url.Values) {
		_, err := uuid.Parse(form.Get("intake"))
		c.require(err == nil, "defer-intake", "defer.missing")
	}, func(r *http.Request, j store.JourneySnapshot, form url.Values) (string, error) {
		moved, err := s.svc.Commands.Defer(r.Context(), j.JourneyID, uuid.MustParse(form.Get("intake")))
		if err != nil || moved == uuid.Nil {
			return "", err // a journey begun before deferrals named the new one says so on its own page
		}
		return "/journeys/" + moved.String(), nil
	})
}

// withdraw ends the journey; the note, if any, is kept in the store, not
// in the workflow.
func (s *server) withdraw() http.HandlerFunc {
	return s.journeyForm("withdrawn", func(c *checks, form url.Values) {
		c.oneOf(form, "reason", "withdraw.reason.missing", workflows.WithdrawReasons)
	}, func(r *http.Request, j store.JourneySnapshot, form url.Values) error {
		return s.svc.Commands.Withdraw(r.Context(), j.JourneyID, principal(r).PersonID, form.Get("reason"), strings.TrimSpace(form.Get("note")))
	})
}

// submitTask is the participant handing in their plan or reflection, once
// per request ID (see requestID).
func (s *server) submitTask() http.HandlerFunc {
	return s.journeyForm("handedin", func(c *checks, form url.Values) {
		c.oneOf(form, "task", "error.form.body", []string{"plan", "reflection"})
		c.require(strings.TrimSpace(form.Get("text")) != "", "text-"+form.Get("task"), "task.text.missing")
	}, func(r *http.Request, j store.JourneySnapshot, form url.Values) error {
		_, err := s.svc.Commands.SubmitTask(r.Context(), j.JourneyID, principal(r).PersonID, form.Get("task"), form.Get("text"), requestID(r))
		return err
	})
}
