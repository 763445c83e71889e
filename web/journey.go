package web

import (
	"net/http"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// participantHome sends a participant to their newest journey; with none
// yet it says so.
func (s *server) participantHome(w http.ResponseWriter, r *http.Request) {
	js, err := s.svc.JourneysOf(r.Context(), principal(r).PersonID)
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
	starter.JourneyDetail
	// Mine says the participant is looking at their own journey: they get
	// the offer and language forms.
	Mine bool
	// CanRespond offers accept and decline.
	CanRespond bool
	// Language is the participant's correspondence language ("" bilingual).
	Language string
	// CoachOwn says the coach viewing is this journey's coach, so each
	// open checkpoint links to its form.
	CoachOwn bool
}

func (s *server) journeyPage(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	d, err := s.svc.JourneyDetail(r.Context(), j.JourneyID)
	if err != nil {
		s.serverError(w, r, "reading the journey", err)
		return
	}
	pr := principal(r)
	data := journeyData{JourneyDetail: d, Mine: pr.Role == store.RoleParticipant, CoachOwn: pr.Role == store.RoleCoach}
	data.CanRespond = data.Mine && workflows.Status(d.Journey.State) == workflows.StatusOffered
	if data.Mine {
		person, err := s.svc.Store.GetPerson(r.Context(), pr.PersonID)
		if err != nil {
			s.serverError(w, r, "reading your language preference", err)
			return
		}
		data.Language = string(person.Language)
	}
	p := s.newPage(r, "journey.title")
	p.Title = p.T("journey.title") + ": " + d.Participant.Name
	p.Data = data
	s.render(w, r, http.StatusOK, "journey", p)
}

// calendar is the journey's sessions and checkpoints as an .ics file.
func (s *server) calendar(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	ics, err := s.svc.JourneyCalendar(r.Context(), j.JourneyID)
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
	if _, err := s.svc.RespondToOffer(r.Context(), j.JourneyID, accept); err != nil {
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
// e-mails in, and goes back to the page the form was on.
func (s *server) setLanguage(w http.ResponseWriter, r *http.Request) {
	back := localPath(r.PostFormValue("next"))
	if err := s.svc.SetLanguage(r.Context(), principal(r).PersonID, r.PostFormValue("language")); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	seeOther(w, r, back, "language")
}
