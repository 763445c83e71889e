// Package idempotency makes state-changing HTTP requests safe to retry. A
// client names each request with a key (the Idempotency-Key header, or a
// hidden field of a web form); the first request with a key acts and its
// answer is stored; a retry with the same key and the same request gets
// that answer again without acting twice. A key reused for a different
// request, or retried while the first is still being handled, is refused.
//
// Keys belong to the person who sent them (their API token's or session's
// person), so two clients can never collide on, or read, each other's answers.
package idempotency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/auth"
	"github.com/infuse-cymru/journeys/store"
)

// Header is the request header that carries the key (the IETF
// draft-ietf-httpapi-idempotency-key-header name).
const Header = "Idempotency-Key"

// ReplayedHeader marks an answer that was stored, not freshly made.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLength bounds a key; a UUID is 36.
const MaxKeyLength = 200

// staleAfter is how long a request may hold its key without answering
// before a retry may take it over (a process that crashed mid-request).
const staleAfter = 2 * time.Minute

// Middleware wraps handlers of state-changing requests.
type Middleware struct {
	Store store.Store
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Key finds the request's key given its body (the caller decides:
	// a header for the API, a form field for pages).
	Key func(r *http.Request, body []byte) string
	// MaxBody is the largest body read, in bytes; larger is 413.
	MaxBody int64
	// Problem writes an error answer in the caller's style.
	Problem func(w http.ResponseWriter, r *http.Request, status int, detail string)
	Log     *zap.Logger
	// WithRequest, if set, gives the handler's context the request's ID:
	// the key, prefixed with who sent it (keys are theirs alone), so that
	// what the handler does below HTTP (a Temporal update) can be made
	// once per request too, as when a retry comes after staleAfter.
	WithRequest func(ctx context.Context, requestID string) context.Context
}

// Wrap serves next at most once per key. The request's principal must be
// in its context (auth.NewContext); without one it is refused with 401.
func (m *Middleware) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := auth.FromContext(r.Context())
		if !ok {
			m.Problem(w, r, http.StatusUnauthorized, "Sign in first.")
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, m.MaxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				m.Problem(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes; send less.", m.MaxBody))
				return
			}
			m.Problem(w, r, http.StatusBadRequest, "The request body could not be read; send it again.")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		key := m.Key(r, body)
		if key == "" || len(key) > MaxKeyLength {
			m.Problem(w, r, http.StatusBadRequest, fmt.Sprintf(
				"Send an %s header of 1 to %d characters: a new UUID for each new request, the same one when retrying it, so a retry never acts twice.",
				Header, MaxKeyLength))
			return
		}
		m.serveOnce(w, r, p, key, fingerprint(r, body), next)
	})
}

func (m *Middleware) serveOnce(w http.ResponseWriter, r *http.Request, p auth.Principal, key, fp string, next http.Handler) {
	now := m.now()
	rec, claimed, err := m.Store.ClaimIdempotencyKey(r.Context(), p.PersonID, key, fp, now, now.Add(-staleAfter))
	switch {
	case err != nil:
		m.Log.Error("claiming an idempotency key", zap.String("person", p.PersonID.String()), zap.Error(err))
		m.Problem(w, r, http.StatusInternalServerError, "The server could not record the request; nothing was done. Try again.")
		return
	case !claimed && rec.Fingerprint != fp:
		m.Problem(w, r, http.StatusUnprocessableEntity, fmt.Sprintf(
			"The %s %q was already used for a different request; nothing was done. Use a new key for each new request.", Header, key))
		return
	case !claimed && rec.Status == 0:
		w.Header().Set("Retry-After", "2")
		m.Problem(w, r, http.StatusConflict, fmt.Sprintf(
			"A request with the %s %q is still being handled; retry in a few seconds to get its answer.", Header, key))
		return
	case !claimed:
		replay(w, rec)
		return
	}
	rw := &recorder{ResponseWriter: w, status: http.StatusOK}
	if m.WithRequest != nil {
		r = r.WithContext(m.WithRequest(r.Context(), p.PersonID.String()+"/"+key))
	}
	next.ServeHTTP(rw, r)
	// The answer is stored even if the client has gone, so its retry finds it.
	ctx := context.WithoutCancel(r.Context())
	if rw.status >= 500 {
		err = m.Store.ReleaseIdempotencyKey(ctx, p.PersonID, key)
	} else {
		err = m.Store.CompleteIdempotencyKey(ctx, p.PersonID, key, rw.status, rw.storedType(), rw.storedBody())
	}
	if err != nil {
		m.Log.Error("storing an idempotent answer", zap.String("person", p.PersonID.String()), zap.Error(err))
	}
}

func (m *Middleware) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// fingerprint tells requests apart: the same key with another method,
// path, query or body is another request.
func fingerprint(r *http.Request, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", r.Method, r.URL.Path, r.URL.RawQuery)
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// redirectType marks a stored redirect, whose body is its Location: a web
// form's answer is a redirect to the page that shows the result.
const redirectType = "redirect"

func replay(w http.ResponseWriter, rec store.IdempotencyRecord) {
	w.Header().Set(ReplayedHeader, "true")
	w.Header().Set("Cache-Control", "no-store")
	if rec.ContentType == redirectType {
		w.Header().Set("Location", string(rec.Body))
		w.WriteHeader(rec.Status)
		return
	}
	if rec.ContentType != "" {
		w.Header().Set("Content-Type", rec.ContentType)
	}
	w.WriteHeader(rec.Status)
	_, _ = w.Write(rec.Body)
}

// recorder passes an answer through and keeps a copy of it.
type recorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (rw *recorder) WriteHeader(status int) {
	if !rw.wroteHeader {
		rw.status, rw.wroteHeader = status, true
	}
	rw.ResponseWriter.WriteHeader(status)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	rw.body.Write(b)
	return rw.ResponseWriter.Write(b)
}

func (rw *recorder) storedType() string {
	if rw.status >= 300 && rw.status < 400 {
		return redirectType
	}
	return rw.Header().Get("Content-Type")
}

func (rw *recorder) storedBody() []byte {
	if rw.status >= 300 && rw.status < 400 {
		return []byte(rw.Header().Get("Location"))
	}
	return rw.body.Bytes()
}
