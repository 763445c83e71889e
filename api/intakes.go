package api

import (
	_ "embed"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/starter"
)

// openAPIDocument describes the API; tests check every response against it.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument is the OpenAPI 3 document served at /openapi.json.
func OpenAPIDocument() []byte { return openAPIDocument }

func (h *handler) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openAPIDocument)
}

// listIntakes is GET /api/intakes: starter.ListIntakes.
func (h *handler) listIntakes(w http.ResponseWriter, r *http.Request) {
	intakes, err := h.svc.ListIntakes(r.Context())
	if err != nil {
		h.internalError(w, r, "listing the intakes", err)
		return
	}
	writeJSON(w, http.StatusOK, intakes)
}

// intakeDashboard is GET /api/intakes/{id}/dashboard: starter.IntakeDashboard.
func (h *handler) intakeDashboard(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("%q is not an intake ID; an intake ID is a UUID, as GET /api/intakes lists them.", r.PathValue("id")))
		return
	}
	d, err := h.svc.IntakeDashboard(r.Context(), id)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		writeProblem(w, http.StatusNotFound, fmt.Sprintf("There is no intake %s; GET /api/intakes lists the intakes there are.", id))
	case err != nil:
		h.internalError(w, r, "building the intake's dashboard", err)
	default:
		writeJSON(w, http.StatusOK, d)
	}
}
