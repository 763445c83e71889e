// Package api is the HTTP face of Infuse Journeys: the JSON API and, later,
// the web pages that coordinators, coaches and participants use. It calls
// the same starter.Service as the command line, so a request and a command
// do exactly the same thing. It serves the health check that load
// balancers and `infuse dev` users need to see that the process, its store
// and Temporal are all answering; the coordinators' intake list and
// dashboard, for API tokens (Authorization: Bearer) of the coordinator
// role; a coach's completion of a checkpoint, for coach tokens; and /openapi.json, the OpenAPI 3 document describing them. Errors
// are application/problem+json (RFC 9457).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
)

// healthTimeout bounds each dependency check, so a hung database or
// cluster turns into a 503 rather than a hung probe.
const healthTimeout = 3 * time.Second

// New returns the HTTP handler of the API, serving svc's store and Temporal client.
func New(svc *starter.Service, logger *zap.Logger) http.Handler {
	if logger == nil {
		logger = zap.NewNop()
	}
	h := &handler{svc: svc, log: logger.Named("api")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", h.healthz)
	mux.HandleFunc("GET /openapi.json", h.openAPI)
	mux.Handle("GET /api/intakes", h.requireRole(h.listIntakes, store.RoleCoordinator))
	mux.Handle("GET /api/intakes/{id}/dashboard", h.requireRole(h.intakeDashboard, store.RoleCoordinator))
	mux.Handle("POST /api/journeys/{id}/checkpoints/{n}/complete", h.requireRole(h.completeCheckpoint, store.RoleCoach))
	return mux
}

type handler struct {
	svc *starter.Service
	log *zap.Logger
}

// Health is the body of GET /healthz.
type Health struct {
	Status string `json:"status"` // "ok" or "unavailable"
	// Failing names each dependency that did not answer and how ("timed
	// out" or "error"); the details go to the log, not to the caller.
	Failing map[string]string `json:"failing,omitempty"`
}

func (h *handler) healthz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]func(context.Context) error{
		"store":    func(ctx context.Context) error { return pingStore(ctx, h.svc.Store) },
		"temporal": func(ctx context.Context) error { return pingTemporal(ctx, h.svc.Temporal) },
	}
	failing := map[string]string{}
	for name, check := range checks {
		if problem := h.check(r.Context(), name, check); problem != "" {
			failing[name] = problem
		}
	}
	if len(failing) > 0 {
		writeJSON(w, http.StatusServiceUnavailable, Health{Status: "unavailable", Failing: failing})
		return
	}
	writeJSON(w, http.StatusOK, Health{Status: "ok"})
}

// check runs one dependency check with its own deadline and says how it
// failed, or "" if it answered.
func (h *handler) check(ctx context.Context, name string, ping func(context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, healthTimeout)
	defer cancel()
	err := ping(ctx)
	if err == nil {
		return ""
	}
	h.log.Warn("health check failed", zap.String("dependency", name), zap.Error(err))
	if ctx.Err() != nil {
		return "timed out"
	}
	return "error"
}

func pingStore(ctx context.Context, s store.Store) error {
	if s == nil {
		return errors.New("no store configured")
	}
	return s.Ping(ctx)
}

func pingTemporal(ctx context.Context, c client.Client) error {
	if c == nil {
		return errors.New("no Temporal client configured")
	}
	_, err := c.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
