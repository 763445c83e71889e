package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/starter"
)

// CSRFHeader carries the CSRF token of a browser session making a change
// through the API (scripts on our own pages); API tokens need none.
const CSRFHeader = "X-CSRF-Token"

// signInHelp says how to get credentials, for 401 answers.
const signInHelp = "Sign in at /signin (people), or send an API token as `Authorization: Bearer TOKEN` (systems; a coordinator creates one with `infuse token create`)."

// access is who may use an endpoint and whether it changes anything.
type access struct {
	roles []store.Role
	// changes marks state-changing endpoints: they need an Idempotency-Key
	// and, for browser sessions, the CSRF token.
	changes bool
	// public marks the system's endpoints, which anyone may call.
	public bool
}

func reads(roles ...store.Role) access   { return access{roles: roles} }
func changes(roles ...store.Role) access { return access{roles: roles, changes: true} }

var (
	anyone      = []store.Role{store.RoleCoordinator, store.RoleCoach, store.RoleParticipant}
	coordinator = store.RoleCoordinator
	coach       = store.RoleCoach
	participant = store.RoleParticipant
)

// guard serves next only to a principal of one of a's roles, with the
// principal in the request's context: 401 without usable credentials, 403
// for another role or a missing CSRF token; changes run once per
// Idempotency-Key.
func (h *handler) guard(a access, next http.HandlerFunc) http.Handler {
	var inner http.Handler = next
	if a.changes {
		inner = h.once.Wrap(next)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := h.auth.Identify(r)
		switch {
		case errors.Is(err, auth.ErrNoCredentials):
			w.Header().Set("WWW-Authenticate", `Bearer realm="infuse"`)
			writeProblem(w, http.StatusUnauthorized, "This endpoint needs you to sign in, and the request has no credentials. "+signInHelp)
			return
		case errors.Is(err, auth.ErrBadCredentials):
			w.Header().Set("WWW-Authenticate", `Bearer realm="infuse", error="invalid_token"`)
			writeProblem(w, http.StatusUnauthorized, sentence(apperr.Reason(err, auth.ErrBadCredentials))+" "+signInHelp)
			return
		case err != nil:
			h.internalError(w, r, "checking who you are", err)
			return
		}
		if !hasRole(p, a.roles) {
			writeProblem(w, http.StatusForbidden, fmt.Sprintf("This endpoint is for %s; you are signed in as a %s.", plural(a.roles), p.Role))
			return
		}
		if a.changes && !p.CheckCSRF(r.Header.Get(CSRFHeader)) {
			writeProblem(w, http.StatusForbidden, "A change made with a browser session needs the page's CSRF token in the "+CSRFHeader+" header; reload the page and try again.")
			return
		}
		inner.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

func hasRole(p auth.Principal, roles []store.Role) bool {
	for _, role := range roles {
		if p.Role == role {
			return true
		}
	}
	return false
}

// principal is the caller of a guarded handler.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

func plural(roles []store.Role) string {
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r) + "s"
		if r == store.RoleCoach {
			names[i] = "coaches"
		}
	}
	return strings.Join(names, " and ")
}

// newIdempotency is the API's idempotency: the key is the Idempotency-Key
// header; refusals are problem+json.
func newIdempotency(st idempotency.Claims, log *zap.Logger) *idempotency.Middleware {
	return &idempotency.Middleware{
		Store:   st,
		Key:     func(r *http.Request, _ []byte) string { return strings.TrimSpace(r.Header.Get(idempotency.Header)) },
		MaxBody: maxBodyBytes,
		Problem: func(w http.ResponseWriter, _ *http.Request, status int, detail string) {
			writeProblem(w, status, detail)
		},
		Log:         log,
		WithRequest: starter.WithRequestID,
	}
}

// internalError logs err and answers 500 without its details, which the
// log holds under the request's correlation ID.
//
// A store or Temporal that cannot be reached, or the request's time up
// while it waited for them (apperr.TryLater), is not the request's fault
// nor a bug: that is 503 with Retry-After, and a warning.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if apperr.TryLater(r.Context(), err) {
		h.log.Warn("request failed: a service is unavailable", telemetry.Correlation(r.Context()), zap.String("what", what),
			zap.String("path", r.URL.Path), zap.Error(err))
		idempotency.RetryLater(w)
		writeProblem(w, http.StatusServiceUnavailable, "The service could not reach its database or workflow engine while "+what+
			", so this may not have been done. Try again in a minute, with the same Idempotency-Key for a change (a retry never acts twice); "+
			"if it lasts, tell the programme's administrators the request ID "+telemetry.CorrelationID(r.Context())+".")
		return
	}
	h.log.Error("request failed", telemetry.Correlation(r.Context()), zap.String("what", what), zap.String("path", r.URL.Path), zap.Error(err))
	writeProblem(w, http.StatusInternalServerError, "Something went wrong on the server while "+what+
		". Try again; if it keeps happening, tell the programme's administrators the request ID "+telemetry.CorrelationID(r.Context())+".")
}

// workflowUnavailable logs why a journey's workflow could not be asked,
// which the answer does not say (views.WorkflowUnavailable).
func (h *handler) workflowUnavailable(r *http.Request, journeyID uuid.UUID, cause error) {
	h.log.Warn("a journey's workflow could not be asked", telemetry.Correlation(r.Context()),
		zap.String("journey", journeyID.String()), zap.Error(cause))
}
