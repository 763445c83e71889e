// Package idempotency makes state-changing HTTP requests safe to retry. A
// client names each request with a key (the Idempotency-Key header, or a
// hidden field of a web form); the first request with a key acts and its
// answer is stored; a retry with the same key and the same request gets
// that answer again without acting twice. A key reused for a different
// request, or retried while the first is still being handled, is refused.
//
// Keys belong to the person who sent them (their API token's or session's
// person), so two clients can never collide on, or read, each other's answers.
//
// An answer is kept for a day (KeepAnswersFor), not for ever, since it may
// repeat personal data; pages keep only where their answer led. Erasing a
// person forgets every kept answer that mentions them (store.ErasePerson).
package idempotency

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/telemetry"
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

// RetryUnreachableAfter is how long a client is asked to wait before
// retrying a request that found the store (or, in the API, Temporal)
// unreachable.
const RetryUnreachableAfter = 30 * time.Second

// RetryLater asks the client to retry after RetryUnreachableAfter, for
// every answer (this middleware's, the API's, the pages') to a request
// that found the store or Temporal unreachable.
func RetryLater(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(int(RetryUnreachableAfter.Seconds())))
}

// Deadline is how long a handler may take: its context ends then, well
// before staleAfter, so a request is over (its Temporal calls cancelled)
// by the time a retry may take its key over. The longest wait inside a
// handler, a decision waiting for its journey, is a minute. The 30 s
// between them also absorbs clock differences between API processes (a
// claim's time is its process's clock; keep them on NTP).
const Deadline = 90 * time.Second

// KeepAnswersFor is how long an answer is replayed to a retry. After it,
// the same key acts afresh: clients retry within seconds or minutes, and
// an answer may repeat what was sent, which should not be kept for ever.
const KeepAnswersFor = 24 * time.Hour

// Claims is the store as this package uses it: each key's claim, its
// answer once complete, and the sweep of old ones.
type Claims interface {
	ClaimIdempotencyKey(ctx context.Context, c store.IdempotencyClaim) (store.IdempotencyRecord, bool, error)
	CompleteIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error
	ReleaseIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error
	ForgetIdempotencyRecords(ctx context.Context, before time.Time) (int64, error)
}

// Middleware wraps handlers of state-changing requests.
type Middleware struct {
	Store Claims
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Key finds the request's key given its body (the caller decides:
	// a header for the API, a form field for pages).
	Key func(r *http.Request, body []byte) string
	// MaxBody is the largest body read, in bytes; larger is 413.
	MaxBody int64
	// Content, if set, is what of a request's body tells one request from
	// another, for a body whose bytes differ between two sends of the
	// same thing (a multipart form's boundary); the body itself when nil.
	Content func(r *http.Request, body []byte) []byte
	// Problem writes an error answer in the caller's style.
	Problem func(w http.ResponseWriter, r *http.Request, status int, detail string)
	Log     *zap.Logger
	// OutcomeOnly keeps of an answer only what a retry needs: where a
	// redirect led, or else the status, never the body. Pages set it:
	// their HTML repeats what was typed (a coach's notes, a withdrawal
	// note), and the page a redirect leads to shows the result afresh. A
	// refusal (4xx), which did nothing, is then not kept at all: a retry
	// is judged again and shows the form with its errors. (A page that
	// acted and answered 200 with a page, which none does, would be
	// replayed as its status with an empty body.)
	OutcomeOnly bool
	// WithRequest, if set, gives the handler's context the request's ID:
	// the key, prefixed with who sent it (keys are theirs alone), so that
	// what the handler does below HTTP (a Temporal update) can be made
	// once per request too, as when a retry comes after staleAfter.
	WithRequest func(ctx context.Context, requestID string) context.Context
	// SettleRetry is how long to wait before trying again to store an
	// answer, or free a key, when the store could not be reached: then
	// twice as long each time, at most 15 s, until the claim would have
	// gone stale anyway. A second when zero.
	SettleRetry time.Duration
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
		content := body
		if m.Content != nil {
			content = m.Content(r, body)
		}
		m.serveOnce(w, r, p, key, fingerprint(r, content), next)
	})
}

func (m *Middleware) serveOnce(w http.ResponseWriter, r *http.Request, p auth.Principal, key, fp string, next http.Handler) {
	// The deadline covers the claim too, so a slow claim (one waiting for
	// a concurrent claim of the key) eats into the handler's time, not
	// into the margin below staleAfter.
	ctx, cancel := context.WithTimeout(r.Context(), Deadline)
	defer cancel()
	now := m.now()
	rec, claimed, err := m.Store.ClaimIdempotencyKey(ctx, store.IdempotencyClaim{
		PrincipalID: p.PersonID, Key: key, Fingerprint: fp, Token: rand.Text(),
		Now: now, StaleBefore: now.Add(-staleAfter), ForgetBefore: now.Add(-KeepAnswersFor),
	})
	switch {
	case err != nil && store.Unavailable(err):
		m.Log.Warn("claiming an idempotency key: the store is unavailable", telemetry.Correlation(r.Context()), zap.Error(err))
		RetryLater(w)
		m.Problem(w, r, http.StatusServiceUnavailable, "The server cannot use its database just now; nothing was done. Try again in a minute.")
		return
	case err != nil:
		m.Log.Error("claiming an idempotency key", telemetry.Correlation(r.Context()), zap.String("person", p.PersonID.String()), zap.Error(err))
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
		ctx = m.WithRequest(ctx, p.PersonID.String()+"/"+key)
	}
	next.ServeHTTP(rw, r.WithContext(ctx))
	m.settle(r.Context(), rec, rw)
}

// settle stores the answer rw recorded for the claim rec, or releases the
// claim when there is nothing to keep: a server error, which may not have
// acted, or a page's refusal, which did not. It stores even if the client
// has gone, so that its retry finds the answer.
func (m *Middleware) settle(ctx context.Context, rec store.IdempotencyRecord, rw *recorder) {
	ctx = context.WithoutCancel(ctx)
	write := m.settlement(rec, rw)
	err := write(ctx)
	switch {
	case err != nil && store.Unavailable(err):
		// The store went away after the claim (the handler likely answered
		// 503 for the same reason). Left so, the key would stay claimed
		// until it went stale and every retry till then be told it is still
		// being handled: keep trying meanwhile, so that a retry once the
		// store is back gets the answer, or is served afresh.
		go m.settleLater(ctx, rec, write, err)
	case err != nil:
		m.Log.Error("storing an idempotent answer", telemetry.Correlation(ctx), zap.String("person", rec.PrincipalID.String()), zap.Error(err))
	}
}

// settlement is what settle writes to the store for rw's answer.
func (m *Middleware) settlement(rec store.IdempotencyRecord, rw *recorder) func(context.Context) error {
	redirect := rw.status >= 300 && rw.status < 400
	var kept store.IdempotencyRecord
	switch {
	case rw.status >= 500, m.OutcomeOnly && rw.status >= 400:
		return func(ctx context.Context) error { return m.Store.ReleaseIdempotencyKey(ctx, rec) }
	case redirect:
		kept = answer(rec, rw.status, redirectType, []byte(rw.Header().Get("Location")))
	case m.OutcomeOnly:
		kept = answer(rec, rw.status, "", nil)
	default:
		kept = answer(rec, rw.status, rw.Header().Get("Content-Type"), rw.body.Bytes())
	}
	return func(ctx context.Context) error { return m.Store.CompleteIdempotencyKey(ctx, kept) }
}

// settleLater tries write again while the store stays unreachable, until
// the claim would have gone stale: after that a retry takes the key over
// and the claim's token no longer settles anything.
func (m *Middleware) settleLater(ctx context.Context, rec store.IdempotencyRecord, write func(context.Context) error, err error) {
	log := m.Log.With(telemetry.Correlation(ctx), zap.String("person", rec.PrincipalID.String()))
	log.Warn("storing an idempotent answer: the store is unreachable; trying again until it is back", zap.Error(err))
	wait := cmp.Or(m.SettleRetry, time.Second)
	for giveUp := time.Now().Add(staleAfter); time.Now().Before(giveUp); wait = min(2*wait, 15*time.Second) {
		time.Sleep(wait)
		if err = write(ctx); err == nil {
			log.Info("stored an idempotent answer once the store was back")
			return
		}
		if !store.Unavailable(err) {
			break
		}
	}
	log.Error("storing an idempotent answer: gave up; a retry of the request may be told it is still being handled until its claim goes stale",
		zap.Duration("stale_after", staleAfter), zap.Error(err))
}

// answer is rec answered with status, contentType and body.
func answer(rec store.IdempotencyRecord, status int, contentType string, body []byte) store.IdempotencyRecord {
	rec.Status, rec.ContentType, rec.Body = status, contentType, body
	return rec
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

// ForgetOld deletes the records claimed longer than KeepAnswersFor before
// now, answered or not, and says how many it deleted.
func ForgetOld(ctx context.Context, st Claims, now time.Time) (int64, error) {
	return st.ForgetIdempotencyRecords(ctx, now.Add(-KeepAnswersFor))
}

// ForgetOldEvery runs ForgetOld at once and then every interval, until ctx
// ends. A failed sweep is logged and tried again at the next interval: the
// claims already ignore answers past their time, so a late sweep only keeps
// rows a little longer.
func ForgetOldEvery(ctx context.Context, st Claims, interval time.Duration, log *zap.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		n, err := ForgetOld(ctx, st, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("forgetting old idempotency records failed; trying again later", zap.Duration("in", interval), zap.Error(err))
		case n > 0:
			log.Info("forgot old idempotency records", zap.Int64("records", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
