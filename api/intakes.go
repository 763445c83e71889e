package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
)

// listIntakes is GET /api/intakes: views.ListIntakes.
func (h *handler) listIntakes(w http.ResponseWriter, r *http.Request) {
	intakes, err := h.svc.Views.ListIntakes(r.Context())
	h.answer(w, r, "listing the intakes", err, wire.IntakeSummaries(intakes))
}

// openIntakes is GET /api/intakes/open: the intakes taking applications.
func (h *handler) openIntakes(w http.ResponseWriter, r *http.Request) {
	intakes, err := h.svc.Views.OpenIntakes(r.Context())
	h.answer(w, r, "listing the open intakes", err, wire.Intakes(intakes))
}

// CreateIntakeRequest is the body of POST /api/intakes. Times are RFC 3339
// or Europe/London local ("2027-01-04", "2027-01-04T10:00").
type CreateIntakeRequest struct {
	Name     string `json:"name"`
	OpensAt  string `json:"opensAt" doc:"RFC 3339 (2027-01-04T10:00:00Z), a Europe/London time (2027-01-04T10:00) or a date (2027-01-04, midnight)"`
	ClosesAt string `json:"closesAt" doc:"RFC 3339 (2027-01-04T10:00:00Z), a Europe/London time (2027-01-04T10:00) or a date (2027-01-04, midnight)"`
	StartsOn string `json:"startsOn" doc:"RFC 3339 (2027-01-04T10:00:00Z), a Europe/London time (2027-01-04T10:00) or a date (2027-01-04, midnight)"`
	Capacity int    `json:"capacity"`
	// CoordinatorID is who runs the intake; the caller when absent.
	CoordinatorID    uuid.UUID `json:"coordinatorId,omitzero" doc:"Who runs the intake; the caller when absent"`
	ProgrammeVersion int       `json:"programmeVersion,omitempty" doc:"The programme version; the newest when absent"`
}

func (h *handler) createIntake(w http.ResponseWriter, r *http.Request, body CreateIntakeRequest) {
	spec := commands.IntakeSpec{Name: body.Name, Capacity: body.Capacity, CoordinatorID: body.CoordinatorID,
		ProgrammeVersion: body.ProgrammeVersion}
	if spec.CoordinatorID == uuid.Nil {
		spec.CoordinatorID = principal(r).PersonID
	}
	var bad []string
	for _, f := range []struct {
		name, value string
		into        *time.Time
	}{{"opensAt", body.OpensAt, &spec.OpensAt}, {"closesAt", body.ClosesAt, &spec.ClosesAt}, {"startsOn", body.StartsOn, &spec.StartsOn}} {
		t, ok := commands.ParseTime(f.value)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s %q is not a date or time", f.name, f.value))
		}
		*f.into = t
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusUnprocessableEntity, strings.Join(bad, "; ")+": use "+commands.TimeFormats+".")
		return
	}
	in, err := h.svc.Commands.CreateIntake(r.Context(), spec)
	if err != nil {
		h.fail(w, r, "creating the intake", err)
		return
	}
	writeJSON(w, http.StatusCreated, wire.Intake(in))
}

// EditIntakeRequest is the body of PATCH /api/intakes/{id}: the fields to
// change, at least one. The dates cannot change.
type EditIntakeRequest struct {
	Name     *string `json:"name,omitempty" doc:"The intake's new name, e.g. \"Cohort 2\""`
	Capacity *int    `json:"capacity,omitempty" doc:"The new number of places; not fewer than are offered or taken, and only before the intake starts"`
}

func (EditIntakeRequest) optionalFields() {}

// editableIntake is the 422 for an edit that changes nothing.
const editableIntake = `Say what to change: {"name": "Cohort 2"}, {"capacity": 24} or both; an intake's dates cannot change.`

// editIntake is PATCH /api/intakes/{id}: commands.EditIntake. It answers
// the intake as POST /api/intakes does.
func (h *handler) editIntake(w http.ResponseWriter, r *http.Request, id uuid.UUID, body EditIntakeRequest) {
	if body.Name == nil && body.Capacity == nil {
		writeProblem(w, http.StatusUnprocessableEntity, editableIntake)
		return
	}
	in, err := h.svc.Commands.EditIntake(r.Context(), id, commands.IntakeEdit{Name: body.Name, Capacity: body.Capacity})
	h.answer(w, r, "editing the intake", err, wire.Intake(in))
}

// intakeDashboard is GET /api/intakes/{id}/dashboard[?after=J|before=J][&limit=N]:
// views.IntakeDashboard.
func (h *handler) intakeDashboard(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id", "an intake")
	if !ok {
		return
	}
	page, ok := dashboardPage(w, r)
	if !ok {
		return
	}
	d, err := h.svc.Views.IntakeDashboard(r.Context(), id, page)
	h.answer(w, r, "building the intake's dashboard", err, wire.DashboardOf(d))
}

// dashboardPage is the page of a dashboard its query asks for: ?after= or
// ?before= a journey's ID (the Next or Previous of the page beside it),
// and ?limit= its number of rows.
func dashboardPage(w http.ResponseWriter, r *http.Request) (views.DashboardPage, bool) {
	var page views.DashboardPage
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		id   *uuid.UUID
	}{{"after", &page.After}, {"before", &page.Before}} {
		if v := q.Get(p.name); v != "" {
			var err error
			if *p.id, err = uuid.Parse(v); err != nil {
				writeProblem(w, http.StatusBadRequest, fmt.Sprintf("?%s=%q is not a journey ID: give the Next or Previous of a dashboard's page.", p.name, v))
				return page, false
			}
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > views.MaxDashboardRows {
			writeProblem(w, http.StatusBadRequest, fmt.Sprintf("?limit=%q: give a number of rows from 1 to %d.", v, views.MaxDashboardRows))
			return page, false
		}
		page.Limit = n
	}
	return page, true
}

func (h *handler) startIntake(w http.ResponseWriter, r *http.Request, id uuid.UUID, _ struct{}) {
	counts, err := h.svc.Commands.StartIntake(r.Context(), id)
	h.answer(w, r, "starting the intake", err, wire.Started{Counts: counts})
}

// RescheduleRequest is the body of POST /api/intakes/{id}/reschedule.
type RescheduleRequest struct {
	Session  string `json:"session" doc:"e.g. adaption-lab/2"`
	StartsAt string `json:"startsAt" doc:"RFC 3339 (2027-01-04T10:00:00Z), a Europe/London time (2027-01-04T10:00) or a date (2027-01-04, midnight)"`
}

func (h *handler) rescheduleSession(w http.ResponseWriter, r *http.Request, id uuid.UUID, body RescheduleRequest) {
	at, ok := commands.ParseTime(body.StartsAt)
	if strings.TrimSpace(body.Session) == "" || !ok {
		writeProblem(w, http.StatusUnprocessableEntity, `Name the session and its new start: {"session": "adaption-lab/2", "startsAt": "2027-01-13T10:00"}; times are `+commands.TimeFormats+".")
		return
	}
	h.answer(w, r, "rescheduling the session", h.svc.Commands.RescheduleSession(r.Context(), id, body.Session, at), Done{})
}

// ApplyRequest is the body of POST /api/intakes/{id}/applications. A
// participant applies for themselves and sends {}; a coordinator names
// the applicant.
type ApplyRequest struct {
	PersonID uuid.UUID `json:"personId,omitzero" doc:"The applicant; participants leave it out (they apply for themselves)"`
	CoachID  uuid.UUID `json:"coachId,omitzero" doc:"The coach to assign (coordinators only)"`
}

// Applied is the answer to an application: the new journey's ID.
type Applied struct {
	JourneyID uuid.UUID `json:"journeyId" doc:"The new journey's ID"`
}

func (h *handler) apply(w http.ResponseWriter, r *http.Request, id uuid.UUID, body ApplyRequest) {
	p := principal(r)
	if p.Role == participant {
		if (body.PersonID != uuid.Nil && body.PersonID != p.PersonID) || body.CoachID != uuid.Nil {
			writeProblem(w, http.StatusForbidden, "Participants apply for themselves: send {} (a coordinator assigns coaches).")
			return
		}
		body.PersonID = p.PersonID
	}
	if body.PersonID == uuid.Nil {
		writeProblem(w, http.StatusUnprocessableEntity, `Name the applicant: {"personId": "..."}.`)
		return
	}
	journeyID, err := h.svc.Commands.Apply(r.Context(), id, body.PersonID, body.CoachID)
	if err != nil {
		h.fail(w, r, "submitting the application", err)
		return
	}
	writeJSON(w, http.StatusCreated, Applied{journeyID})
}

// outcomesCSV is GET /api/intakes/{id}/outcomes.csv: one line per
// journey for funder reporting, with no names in it.
func (h *handler) outcomesCSV(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id", "an intake")
	if !ok {
		return
	}
	// Written to a buffer first, so a failure halfway is a clean error.
	var buf strings.Builder
	if err := h.svc.Reports.WriteOutcomesCSV(r.Context(), id, &buf); err != nil {
		h.fail(w, r, "exporting the outcomes", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="outcomes-%s.csv"`, id))
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(buf.String()))
}
