package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/store"
)

// Principal is who a request acts as: the person and role of the API token
// it presented.
type Principal struct {
	PersonID uuid.UUID
	Role     store.Role
	TokenID  uuid.UUID
}

type principalKey struct{}

// PrincipalFrom is the principal of an authenticated request's context.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// tokenHelp says how to get a token, for 401 responses.
const tokenHelp = "Ask a coordinator for an API token (`infuse token create`) and send it as `Authorization: Bearer TOKEN`."

// requireRole serves next only to requests bearing a valid API token for
// one of roles, with the principal in the request's context: 401 without a
// usable token, 403 for a token of another role.
func (h *handler) requireRole(next http.HandlerFunc, roles ...store.Role) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="infuse"`)
			writeProblem(w, http.StatusUnauthorized, "This endpoint needs an API token, and the request has none. "+tokenHelp)
			return
		}
		if h.svc.Store == nil {
			h.internalError(w, r, "checking an API token", errors.New("no store configured"))
			return
		}
		tok, err := h.svc.Store.AuthenticateAPIToken(r.Context(), token)
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="infuse", error="invalid_token"`)
			writeProblem(w, http.StatusUnauthorized, "The API token is not known or has been revoked. "+tokenHelp)
			return
		}
		if err != nil {
			h.internalError(w, r, "checking an API token", err)
			return
		}
		for _, role := range roles {
			if tok.Role == role {
				p := Principal{PersonID: tok.PersonID, Role: tok.Role, TokenID: tok.ID}
				next(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
				return
			}
		}
		writeProblem(w, http.StatusForbidden, fmt.Sprintf("This endpoint is for %s; the API token is a %s's. Use a token created with --role %s.",
			plural(roles), tok.Role, roles[0]))
	})
}

// bearerToken is the token of an `Authorization: Bearer TOKEN` header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return "", false
	}
	return token, true
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

// internalError logs err and answers 500 without its details.
func (h *handler) internalError(w http.ResponseWriter, r *http.Request, what string, err error) {
	h.log.Error("request failed", zap.String("what", what), zap.String("path", r.URL.Path), zap.Error(err))
	writeProblem(w, http.StatusInternalServerError, "Something went wrong on the server while "+what+
		". Try again; if it keeps happening, tell the programme's administrators the time of the request.")
}
