package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
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

// fail answers err from the starter service: what it means for the
// caller, in the service's own words; anything unexpected is a 500.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, what string, err error) {
	var imp *starter.ImportError
	switch {
	case errors.As(err, &imp):
		writeProblem(w, http.StatusUnprocessableEntity, imp.Error())
	case errors.Is(err, starter.ErrInvalid):
		writeProblem(w, http.StatusUnprocessableEntity, detail(err, starter.ErrInvalid))
	case errors.Is(err, starter.ErrRejected):
		writeProblem(w, http.StatusConflict, detail(err, starter.ErrRejected))
	case errors.Is(err, starter.ErrNotFound):
		writeProblem(w, http.StatusNotFound, detail(err, starter.ErrNotFound))
	default:
		h.internalError(w, r, what, err)
	}
}

// detail is err's message without the sentinel's "kind: " prefix, as a sentence.
func detail(err, kind error) string {
	msg := err.Error()
	if i := strings.Index(msg, kind.Error()+": "); i >= 0 {
		msg = msg[:i] + msg[i+len(kind.Error())+2:]
	}
	msg = strings.TrimSpace(msg)
	if msg == "" {
		msg = kind.Error()
	}
	msg = strings.ToUpper(msg[:1]) + msg[1:]
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}

// visibleJourney is the journey in the path if the caller may see it (see
// starter.VisibleJourney for who may); anyone else gets 404, exactly as for
// a journey that does not exist, so a guessed ID reveals nothing.
func (h *handler) visibleJourney(w http.ResponseWriter, r *http.Request) (store.JourneySnapshot, bool) {
	id, ok := pathID(w, r, "id", "a journey")
	if !ok {
		return store.JourneySnapshot{}, false
	}
	p := principal(r)
	j, err := h.svc.VisibleJourney(r.Context(), id, p.PersonID, p.Role)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("There is no journey %s that you can see; check the ID (GET /api/me/journeys lists yours).", id))
		return j, false
	case err != nil:
		h.internalError(w, r, "looking up the journey", err)
		return j, false
	}
	return j, true
}
