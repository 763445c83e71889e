package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/wire"

	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
)

// maxImportBytes bounds a CSV import: thousands of people fit easily.
const maxImportBytes = 1 << 20

// importPeople is POST /api/people/import: a CSV of people (text/csv),
// all imported or none, with every bad line named.
func (h *handler) importPeople(w http.ResponseWriter, r *http.Request) {
	if ct := strings.ToLower(r.Header.Get("Content-Type")); !strings.HasPrefix(ct, "text/csv") {
		writeProblem(w, http.StatusUnsupportedMediaType, fmt.Sprintf("Send the people as CSV with Content-Type: text/csv (columns %s).",
			strings.Join(people.ImportColumns, ",")))
		return
	}
	res, err := h.svc.People.ImportPeople(r.Context(), io.LimitReader(r.Body, maxImportBytes))
	h.answer(w, r, "importing people", err, res)
}

func (h *handler) exportPerson(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "id", "a person")
	if !ok {
		return
	}
	x, err := h.svc.Privacy.Export(r.Context(), id)
	if err == nil {
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="person-%s.json"`, id))
	}
	h.answer(w, r, "exporting the person's data", err, x)
}

func (h *handler) erasePerson(w http.ResponseWriter, r *http.Request, id uuid.UUID, _ struct{}) {
	if id == principal(r).PersonID {
		writeProblem(w, http.StatusConflict, "You cannot erase yourself while signed in; ask another coordinator.")
		return
	}
	e, err := h.svc.Privacy.Erase(r.Context(), id)
	h.answer(w, r, "erasing the person", err, wire.Erasure(e))
}

// Me is the answer of GET /api/me: who the caller is.
type Me struct {
	ID       uuid.UUID      `json:"id"`
	Name     string         `json:"name"`
	Email    string         `json:"email"`
	Role     store.Role     `json:"role"`
	Language store.Language `json:"language"`
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	person, err := h.svc.People.Get(r.Context(), p.PersonID)
	if errors.Is(err, store.ErrNotFound) {
		writeProblem(w, http.StatusNotFound, "Your record is no longer in the store; ask a coordinator.")
		return
	}
	if err != nil {
		h.internalError(w, r, "reading your record", err)
		return
	}
	writeJSON(w, http.StatusOK, Me{ID: person.ID, Name: strings.TrimSpace(person.GivenName + " " + person.FamilyName),
		Email: person.EmailAddress, Role: p.Role, Language: person.Language})
}

// LanguageRequest is the body of PUT /api/me/language.
type LanguageRequest struct {
	// Language is "cy", "en", or "" for both (Welsh first).
	Language string `json:"language" doc:"cy (Cymraeg), en (English), or both / empty for bilingual, Welsh first" openapi:"enum=cy|en|both|"`
}

func (h *handler) setLanguage(w http.ResponseWriter, r *http.Request, body LanguageRequest) {
	h.answer(w, r, "recording your language", h.svc.People.SetLanguage(r.Context(), principal(r).PersonID, body.Language), Done{})
}

// myJourneys is GET /api/me/journeys: a participant's own journeys, or
// the journeys a coach coaches.
func (h *handler) myJourneys(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	var (
		js  any
		err error
	)
	if p.Role == store.RoleCoach {
		var in views.CoachInbox
		in, err = h.svc.Views.CoachInbox(r.Context(), p.PersonID)
		js = in.Journeys
	} else {
		js, err = h.svc.Views.JourneysOf(r.Context(), p.PersonID)
	}
	h.answer(w, r, "listing your journeys", err, js)
}

// coachInbox is GET /api/coach/inbox: the coach's open checkpoints,
// overdue first, then by due date.
func (h *handler) coachInbox(w http.ResponseWriter, r *http.Request) {
	in, err := h.svc.Views.CoachInbox(r.Context(), principal(r).PersonID)
	for _, u := range in.Unavailable {
		h.workflowUnavailable(r, u.JourneyID, u.Cause)
	}
	h.answer(w, r, "building your inbox", err, in)
}

// byAuthority is GET /api/reports/authorities[?intake=ID]: journeys by
// state and outcome for each of the ten authorities.
func (h *handler) byAuthority(w http.ResponseWriter, r *http.Request) {
	if intake, ok := intakeFilter(w, r); ok {
		d, err := h.svc.Reports.ByAuthority(r.Context(), intake)
		h.answer(w, r, "counting by local authority", err, d)
	}
}

// byTheme is GET /api/reports/themes[?intake=ID]: the same by theme.
func (h *handler) byTheme(w http.ResponseWriter, r *http.Request) {
	if intake, ok := intakeFilter(w, r); ok {
		d, err := h.svc.Reports.ByTheme(r.Context(), intake)
		h.answer(w, r, "counting by theme", err, d)
	}
}

// intakeFilter is the optional ?intake=ID of a report (uuid.Nil: all intakes).
func intakeFilter(w http.ResponseWriter, r *http.Request) (uuid.UUID, bool) {
	v := r.URL.Query().Get("intake")
	if v == "" {
		return uuid.Nil, true
	}
	id, err := uuid.Parse(v)
	if err != nil {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("?intake=%q is not an intake ID; leave it out for every intake.", v))
		return uuid.Nil, false
	}
	return id, true
}
