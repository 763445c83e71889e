package idempotency_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/auth"
	"github.com/infuse-cymru/journeys/idempotency"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
)

// setup is the middleware on a real SQLite store and two people to send requests as.
type setup struct {
	m          *idempotency.Middleware
	st         store.Store
	alice, bob auth.Principal
	now        time.Time
	mu         sync.Mutex
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	s := &setup{st: st, now: time.Now()}
	for _, p := range []*auth.Principal{&s.alice, &s.bob} {
		*p = auth.Principal{PersonID: uuid.New(), Role: store.RoleCoordinator}
	}
	if err := st.CreatePeople(context.Background(), []store.Person{
		{ID: s.alice.PersonID, Role: store.RoleCoordinator, GivenName: "Alys", EmailAddress: "alys@example.org"},
		{ID: s.bob.PersonID, Role: store.RoleCoordinator, GivenName: "Bryn", EmailAddress: "bryn@example.org"},
	}); err != nil {
		t.Fatal(err)
	}
	s.m = &idempotency.Middleware{
		Store:   st,
		Now:     func() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now },
		Key:     func(r *http.Request, _ []byte) string { return r.Header.Get(idempotency.Header) },
		MaxBody: 64,
		Problem: func(w http.ResponseWriter, _ *http.Request, status int, detail string) { http.Error(w, detail, status) },
		Log:     zap.NewNop(),
	}
	return s
}

func (s *setup) advance(d time.Duration) { s.mu.Lock(); s.now = s.now.Add(d); s.mu.Unlock() }

// send serves one request as p through h.
func send(h http.Handler, p *auth.Principal, method, path, key, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set(idempotency.Header, key)
	}
	if p != nil {
		req = req.WithContext(auth.NewContext(req.Context(), *p))
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// counting is a handler that counts its calls and echoes the body.
func counting(n *atomic.Int32) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		i := n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"call":%d,"body":%q}`, i, b)
	})
}

func TestReplay(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(counting(&n))
	first := send(h, &s.alice, "POST", "/things", "k1", `{"a":1}`)
	if first.Code != 201 || first.Header().Get(idempotency.ReplayedHeader) != "" {
		t.Fatalf("first: %d %v", first.Code, first.Header())
	}
	again := send(h, &s.alice, "POST", "/things", "k1", `{"a":1}`)
	if again.Code != 201 || again.Body.String() != first.Body.String() || again.Header().Get(idempotency.ReplayedHeader) != "true" ||
		again.Header().Get("Content-Type") != "application/json" {
		t.Errorf("replay: %d %v %s", again.Code, again.Header(), again.Body)
	}
	if n.Load() != 1 {
		t.Errorf("acted %d times", n.Load())
	}
	// Another body, path or method with the same key is another request.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/things", `{"a":2}`}, {"POST", "/other", `{"a":1}`}, {"PUT", "/things", `{"a":1}`}, {"POST", "/things?x=1", `{"a":1}`},
	} {
		if rec := send(h, &s.alice, c.method, c.path, "k1", c.body); rec.Code != 422 || !strings.Contains(rec.Body.String(), "different request") {
			t.Errorf("%+v: %d %s", c, rec.Code, rec.Body)
		}
	}
	// Keys are each person's own.
	if rec := send(h, &s.bob, "POST", "/things", "k1", `{"a":1}`); rec.Code != 201 || rec.Header().Get(idempotency.ReplayedHeader) != "" {
		t.Errorf("bob's k1: %d %v", rec.Code, rec.Header())
	}
	if n.Load() != 2 {
		t.Errorf("acted %d times, want 2 (once each)", n.Load())
	}
}

func TestRefusals(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(counting(&n))
	for _, c := range []struct {
		name   string
		p      *auth.Principal
		key    string
		body   string
		want   int
		detail string
	}{
		{"no principal", nil, "k", "{}", 401, "Sign in"},
		{"no key", &s.alice, "", "{}", 400, idempotency.Header},
		{"key too long", &s.alice, strings.Repeat("k", idempotency.MaxKeyLength+1), "{}", 400, idempotency.Header},
		{"body too large", &s.alice, "k", strings.Repeat("x", 65), 413, "larger than 64"},
	} {
		rec := send(h, c.p, "POST", "/things", c.key, c.body)
		if rec.Code != c.want || !strings.Contains(rec.Body.String(), c.detail) {
			t.Errorf("%s: %d %q", c.name, rec.Code, rec.Body)
		}
	}
	if n.Load() != 0 {
		t.Errorf("acted %d times on refused requests", n.Load())
	}
	// The refused too-large request did not take its key.
	if rec := send(h, &s.alice, "POST", "/things", "k", "{}"); rec.Code != 201 {
		t.Errorf("after refusals: %d", rec.Code)
	}
}

// TestConcurrentDuplicates: of many copies of a request sent at once,
// exactly one acts; the others are told it is in progress (409, with
// Retry-After) or, once it has answered, get its answer.
func TestConcurrentDuplicates(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		entered <- struct{}{}
		<-release
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"done":true}`))
	}))
	const copies = 8
	codes := make(chan *httptest.ResponseRecorder, copies)
	var wg sync.WaitGroup
	for range copies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- send(h, &s.alice, "POST", "/things", "same", `{"x":1}`)
		}()
	}
	<-entered
	// Everyone but the one inside answers while it is held.
	for range copies - 1 {
		rec := <-codes
		if rec.Code != http.StatusConflict || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), "still being handled") {
			t.Errorf("duplicate while in progress: %d %v %q", rec.Code, rec.Header(), rec.Body)
		}
	}
	close(release)
	wg.Wait()
	close(codes)
	if rec := <-codes; rec.Code != 200 || rec.Body.String() != `{"done":true}` {
		t.Errorf("the one that acted: %d %s", rec.Code, rec.Body)
	}
	if rec := send(h, &s.alice, "POST", "/things", "same", `{"x":1}`); rec.Code != 200 || rec.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("after it answered: %d %v", rec.Code, rec.Header())
	}
	if n.Load() != 1 {
		t.Errorf("acted %d times, want 1", n.Load())
	}
}

// TestServerErrorReleasesKey: a 5xx is not stored, so a retry acts again.
func TestServerErrorReleasesKey(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.Error(w, "database down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 503 {
		t.Fatalf("first: %d", rec.Code)
	}
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 200 || rec.Header().Get(idempotency.ReplayedHeader) != "" {
		t.Errorf("retry after a 5xx: %d %v", rec.Code, rec.Header())
	}
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 200 || rec.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("retry after the 200: %d %v", rec.Code, rec.Header())
	}
	if n.Load() != 2 {
		t.Errorf("acted %d times, want 2", n.Load())
	}
	// A 4xx is an answer like any other: kept and replayed.
	var m atomic.Int32
	h4 := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.Add(1)
		http.Error(w, "no such session", http.StatusConflict)
	}))
	send(h4, &s.alice, "POST", "/y", "k4", "{}")
	if rec := send(h4, &s.alice, "POST", "/y", "k4", "{}"); rec.Code != 409 || rec.Header().Get(idempotency.ReplayedHeader) != "true" || m.Load() != 1 {
		t.Errorf("4xx replay: %d %v, acted %d", rec.Code, rec.Header(), m.Load())
	}
}

// TestStaleClaimTakenOver: a request that never answered (its process
// died) holds its key for a while, then a retry may act.
func TestStaleClaimTakenOver(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(counting(&n))
	// Claim the key as a request that never finishes would.
	if _, claimed, err := s.st.ClaimIdempotencyKey(context.Background(), s.alice.PersonID, "k", "whatever", s.now, s.now.Add(-time.Minute)); err != nil || !claimed {
		t.Fatal(claimed, err)
	}
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 409 && rec.Code != 422 {
		t.Errorf("while held: %d", rec.Code)
	}
	s.advance(3 * time.Minute)
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 201 {
		t.Errorf("after it went stale: %d %s", rec.Code, rec.Body)
	}
	if n.Load() != 1 {
		t.Errorf("acted %d times", n.Load())
	}
}

// TestRedirectReplayed: a web form's answer, a redirect, is replayed as
// the same redirect.
func TestRedirectReplayed(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		http.Redirect(w, r, "/journeys/1?done=1", http.StatusSeeOther)
	}))
	send(h, &s.alice, "POST", "/form", "f", "a=1")
	rec := send(h, &s.alice, "POST", "/form", "f", "a=1")
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/journeys/1?done=1" || n.Load() != 1 {
		t.Errorf("replayed redirect: %d %v, acted %d", rec.Code, rec.Header(), n.Load())
	}
}
