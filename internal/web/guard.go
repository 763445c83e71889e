package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
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

// Form field names every state-changing form carries.
const (
	csrfField = "csrf"
	keyField  = "idempotency_key"
)

// maxFormBytes bounds a form body: the longest is a coach's notes.
const maxFormBytes = 64 << 10

// maxUploadBytes bounds a form that sends a file (multipart/form-data): a
// people file of a few thousand lines.
const maxUploadBytes = 1 << 20

// onceMiddleware makes a form act once per idempotency key.
type onceMiddleware = *idempotency.Middleware

// newOnce is the pages' idempotency: the key is the form's hidden field,
// refusals are error pages in the page's language, and only where a form
// led is kept, never a page (which may repeat what was typed).
func (s *server) newOnce() onceMiddleware {
	return &idempotency.Middleware{
		Store:       s.svc.Claims,
		Key:         func(r *http.Request, body []byte) string { return formValue(r, body, keyField) },
		Content:     formContent,
		OutcomeOnly: true,
		MaxBody:     maxUploadBytes, // checkCSRF, first, bounds each kind of form
		Problem:     s.onceProblem,
		Log:         s.log,
		WithRequest: starter.WithRequestID,
	}
}

// onceProblem shows the idempotency middleware's refusals. Its detail is
// written for API clients, so the page says it in the visitor's terms.
func (s *server) onceProblem(w http.ResponseWriter, r *http.Request, status int, detail string) {
	s.log.Info("form refused", telemetry.Correlation(r.Context()), zap.Int("status", status), zap.String("path", loggedPath(r)), zap.String("detail", detail))
	key := "error.form.body"
	switch status {
	case http.StatusConflict:
		key = "error.form.busy"
	case http.StatusUnprocessableEntity:
		key = "error.form.reused"
	case http.StatusRequestEntityTooLarge:
		key = "error.form.toolarge"
	case http.StatusInternalServerError:
		key = "error.server.body"
	case http.StatusServiceUnavailable:
		key = "error.unavailable.body"
	}
	s.errorPage(w, r, status, "error.form.title", key)
}

// formValue is the field name of r's form, whose body is body: URL-encoded,
// or multipart/form-data for a form that sends a file; "" if it has none.
func formValue(r *http.Request, body []byte, name string) string {
	if boundary, ok := multipartBoundary(r); ok {
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		for {
			part, err := mr.NextPart()
			if err != nil {
				return ""
			}
			if part.FormName() == name && part.FileName() == "" {
				v, _ := io.ReadAll(io.LimitReader(part, 1<<10))
				return strings.TrimSpace(string(v))
			}
		}
	}
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(v.Get(name))
}

// formContent is what a form sent, for telling a resubmission of it from
// another form under the same key: a multipart body as its fields and
// files (the boundary a browser draws is new each time), any other as it
// is.
func formContent(r *http.Request, body []byte) []byte {
	boundary, ok := multipartBoundary(r)
	if !ok {
		return body
	}
	h := sha256.New()
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if err != nil {
			return h.Sum(nil)
		}
		fmt.Fprintf(h, "%q %q ", part.FormName(), part.FileName())
		_, _ = io.Copy(h, part)
		h.Write([]byte{0})
	}
}

// multipartBoundary is the boundary of r's body if it is multipart/form-data.
func multipartBoundary(r *http.Request) (string, bool) {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || media != "multipart/form-data" || params["boundary"] == "" {
		return "", false
	}
	return params["boundary"], true
}

// reads serves next to a signed-in person of one of roles: anyone else is
// sent to sign in, and a person of another role gets the 403 page.
func (s *server) reads(roles []store.Role, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.auth.Identify(r)
		switch {
		case errors.Is(err, auth.ErrNoCredentials) || errors.Is(err, auth.ErrBadCredentials):
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		case err != nil:
			s.serverError(w, r, "checking who you are", err)
			return
		}
		if !slices.Contains(roles, p.Role) {
			s.forbidden(w, r)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.NewContext(r.Context(), p)))
	})
}

// uploadKey marks a request to a route that takes a file.
type uploadKey struct{}

// uploading says whether the request's route takes a file
// (multipart/form-data, up to maxUploadBytes); every other form is
// URL-encoded, up to maxFormBytes.
func uploading(ctx context.Context) bool { return ctx.Value(uploadKey{}) != nil }

// uploads is changes for a form that sends a file.
func (s *server) uploads(roles []store.Role, next http.HandlerFunc) http.Handler {
	h := s.changes(roles, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), uploadKey{}, true)))
	})
}

// changes is reads for forms that change something: the form must carry
// the session's CSRF token (else 403, nothing done) and it acts once per
// idempotency key. The CSRF check comes first, so a forged request never
// reaches, or uses up, a key.
func (s *server) changes(roles []store.Role, next http.HandlerFunc) http.Handler {
	once := s.once.Wrap(next)
	return s.reads(roles, func(w http.ResponseWriter, r *http.Request) {
		if !s.checkCSRF(w, r) {
			return
		}
		once.ServeHTTP(w, r)
	})
}

// checkCSRF reads the form body, checks its CSRF token and puts the body
// back for what follows; false after answering.
func (s *server) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	limit := int64(maxFormBytes)
	if _, multipart := multipartBoundary(r); multipart {
		if !uploading(r.Context()) {
			s.errorPage(w, r, http.StatusUnsupportedMediaType, "error.form.title", "error.form.body")
			return false
		}
		limit = maxUploadBytes
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		s.onceProblem(w, r, http.StatusRequestEntityTooLarge, err.Error())
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	p, _ := auth.FromContext(r.Context())
	if !p.CheckCSRF(formValue(r, body, csrfField)) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf.title", "error.csrf.body")
		return false
	}
	return true
}

// principal is the signed-in person of a guarded handler.
func principal(r *http.Request) auth.Principal {
	p, _ := auth.FromContext(r.Context())
	return p
}

// visibleJourney is the journey in the path if the signed-in person may
// see it: coordinators every journey, a coach those they coach, a
// participant their own. Anything else is the 404 page, exactly as for a
// journey that does not exist, so a guessed ID reveals nothing.
func (s *server) visibleJourney(w http.ResponseWriter, r *http.Request) (store.JourneySnapshot, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return store.JourneySnapshot{}, false
	}
	p := principal(r)
	j, err := s.svc.Views.VisibleJourney(r.Context(), id, p.PersonID, p.Role)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		s.notFound(w, r)
		return j, false
	case err != nil:
		s.serverError(w, r, "looking up the journey", err)
		return j, false
	}
	return j, true
}

// refusal is why the service would not act, for the page: a form's
// mistake (422), a refusal by the journey or intake in its current state
// (409, with the workflow's own reason), or nothing to act on (404).
// ok is false for anything else, which is a server error (or, for a
// service unavailable, a page asking to try again).
func refusal(r *http.Request, err error) (status int, reason string, ok bool) {
	switch kind, reason := apperr.Classify(r.Context(), err); kind {
	case apperr.KindInvalid:
		return http.StatusUnprocessableEntity, reason, true
	case apperr.KindRefused:
		return http.StatusConflict, reason, true
	case apperr.KindNotFound:
		return http.StatusNotFound, reason, true
	}
	return 0, "", false
}

// failAction answers a form the service refused: the error page with the
// reason and a way back to the page the form was on.
func (s *server) failAction(w http.ResponseWriter, r *http.Request, back string, err error) {
	status, reason, ok := refusal(r, err)
	if !ok {
		s.serverError(w, r, "carrying out "+r.URL.Path, err)
		return
	}
	p := s.newPage(r, "error.refused.title")
	p.Data = errorData{Message: p.T("error.refused.body"), Detail: reason, Link: back, LinkText: p.T("error.back")}
	s.render(w, r, status, "error", p)
}
