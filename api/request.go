package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/store"
)

// pathID is the UUID in the path segment name, or false after answering
// 400. what names the thing ("intake") and where to find IDs.
func pathID(w http.ResponseWriter, r *http.Request, name, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(r.PathValue(name))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("%q is not %s ID; IDs are UUIDs.", r.PathValue(name), what))
		return uuid.Nil, false
	}
	return id, true
}

// fail answers err from the application: what it means for the
// caller, in the service's own words; anything unexpected is a 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var imp *people.ImportError
	if errors.As(err, &imp) {
		writeProblem(w, http.StatusUnprocessableEntity, imp.Error())
		return
	}
	switch kind, reason := apperr.Classify(r.Context(), err); kind {
	case apperr.KindInvalid:
		writeProblem(w, http.StatusUnprocessableEntity, sentence(reason))
	case apperr.KindRefused:
		writeProblem(w, http.StatusConflict, sentence(reason))
	case apperr.KindNotFound:
		writeProblem(w, http.StatusNotFound, sentence(reason))
	default: // unavailable (503) or unexpected (500)
		h.internalError(w, r, what, err)
	}
}

// sentence ends reason with a full stop, as a problem's detail.
func sentence(reason string) string {
	if strings.HasSuffix(reason, ".") {
		return reason
	}
	return reason + "."
}

// visibleJourney is the journey in the path if the caller may see it (see
// views.VisibleJourney for who may); anyone else gets 404, exactly as for
// a journey that does not exist, so a guessed ID reveals nothing.
func (h *handler) visibleJourney(w http.ResponseWriter, r *http.Request) (store.JourneySnapshot, bool) {
	id, ok := pathID(w, r, "id", "a journey")
	if !ok {
		return store.JourneySnapshot{}, false
	}
	p := principal(r)
	j, err := h.svc.Views.VisibleJourney(r.Context(), id, p.PersonID, p.Role)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("There is no journey %s that you can see; check the ID (GET /api/me/journeys lists yours).", id))
		return j, false
	case err != nil:
		h.internalError(w, r, "looking up the journey", err)
		return j, false
	}
	return j, true
}
