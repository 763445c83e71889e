package web

import (
	"errors"
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// home is each role's own start page.
func (s *server) home(w http.ResponseWriter, r *http.Request) {
	switch principal(r).Role {
	case store.RoleCoordinator:
		s.dashboard(w, r)
	case store.RoleCoach:
		s.inbox(w, r)
	default:
		s.participantHome(w, r)
	}
}

// dashboard lists every intake with its numbers.
func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	intakes, err := s.svc.ListIntakes(r.Context())
	if err != nil {
		s.serverError(w, r, "listing the intakes", err)
		return
	}
	p := s.newPage(r, "dashboard.title")
	p.Data = intakes
	s.render(w, r, http.StatusOK, "dashboard", p)
}

// intakeData is the body of an intake's page.
type intakeData struct {
	starter.IntakeDashboard
	// States lists the states in Counts in a fixed order.
	States []string
	// CanStart says whether to offer the start button.
	CanStart bool
	// Decisions are the choices of the decision form.
	Decisions []workflows.Decision
}

// Decidable says whether a row's application still awaits a decision.
func (intakeData) Decidable(state string) bool {
	switch workflows.Status(state) {
	case workflows.StatusSubmitted, workflows.StatusUnderReview, workflows.StatusWaitlisted:
		return true
	}
	return false
}

func (s *server) intakePage(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	d, err := s.svc.IntakeDashboard(r.Context(), id)
	if errors.Is(err, starter.ErrNotFound) {
		s.notFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, "reading the intake", err)
		return
	}
	p := s.newPage(r, "intake.title")
	p.Title = d.Intake.Name
	data := intakeData{IntakeDashboard: d, Decisions: []workflows.Decision{workflows.DecisionOffer, workflows.DecisionWaitlist, workflows.DecisionReject}}
	for state := range d.Counts {
		data.States = append(data.States, state)
	}
	slices.Sort(data.States)
	data.CanStart = d.Intake.Status != store.IntakeStarted && d.Intake.Status != store.IntakeFinished
	p.Data = data
	s.render(w, r, http.StatusOK, "intake", p)
}

// startIntake is the coordinator's start button.
func (s *server) startIntake(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return
	}
	back := "/intakes/" + id.String()
	if _, err := s.svc.StartIntake(r.Context(), id); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	seeOther(w, r, back, "started")
}

// decide records a decision on one application, from the intake page.
func (s *server) decide(w http.ResponseWriter, r *http.Request) {
	j, ok := s.visibleJourney(w, r)
	if !ok {
		return
	}
	back := "/intakes/" + j.IntakeID.String()
	d := workflows.Decision(r.PostFormValue("decision"))
	if !slices.Contains([]workflows.Decision{workflows.DecisionOffer, workflows.DecisionWaitlist, workflows.DecisionReject}, d) {
		s.errorPage(w, r, http.StatusUnprocessableEntity, "error.form.title", "intake.decision.missing")
		return
	}
	if _, err := s.svc.Decide(r.Context(), j.IntakeID, j.JourneyID, d); err != nil {
		s.failAction(w, r, back, err)
		return
	}
	seeOther(w, r, back, "decided")
}
