package idempotency_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
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
	if _, claimed, err := s.st.ClaimIdempotencyKey(context.Background(), store.IdempotencyClaim{
		PrincipalID: s.alice.PersonID, Key: "k", Fingerprint: "whatever", Token: "crashed", Now: s.now, StaleBefore: s.now.Add(-time.Minute),
	}); err != nil || !claimed {
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

// held is a handler whose expected calls (start) each wait to be let go;
// any other call answers at once. Each answers with the status the
// request's X-Status header asks for and a body naming its X-Who.
type held struct {
	acted atomic.Int32
	next  chan heldCall
}

type heldCall struct{ entered, letGo chan struct{} }

func newHeld() *held { return &held{next: make(chan heldCall, 1)} }

func (h *held) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.acted.Add(1)
	select {
	case c := <-h.next:
		close(c.entered)
		<-c.letGo
	default:
	}
	status := http.StatusOK // for a request sent without X-Status
	fmt.Sscan(r.Header.Get("X-Status"), &status)
	w.WriteHeader(status)
	fmt.Fprintf(w, "answer of %s", r.Header.Get("X-Who"))
}

// start sends a request with key as who, asking for status, through h, and
// once its handler call has begun returns the call's let-go and where its
// answer will arrive.
func (s *setup) start(h http.Handler, calls *held, key, who string, status int) (chan struct{}, <-chan *httptest.ResponseRecorder) {
	c := heldCall{entered: make(chan struct{}), letGo: make(chan struct{})}
	calls.next <- c
	out := make(chan *httptest.ResponseRecorder, 1)
	go func() {
		req := httptest.NewRequest("POST", "/x", strings.NewReader("{}"))
		req.Header.Set(idempotency.Header, key)
		req.Header.Set("X-Who", who)
		req.Header.Set("X-Status", fmt.Sprint(status))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req.WithContext(auth.NewContext(req.Context(), s.alice)))
		out <- rec
	}()
	<-c.entered
	return c.letGo, out
}

// TestTakenOverRequestLeavesTheRetryAlone: a request still running when a
// retry takes its key over (it went stale) cannot release the retry's
// claim when it fails, nor replace the retry's answer when it answers.
func TestTakenOverRequestLeavesTheRetryAlone(t *testing.T) {
	s := newSetup(t)
	calls := newHeld()
	h := s.m.Wrap(calls)

	letSlowGo, slow := s.start(h, calls, "k1", "slow", http.StatusServiceUnavailable)
	s.advance(3 * time.Minute) // the slow request's claim goes stale
	letRetryGo, retry := s.start(h, calls, "k1", "retry", http.StatusCreated)
	close(letSlowGo) // it fails: releasing its claim must leave the retry's
	if rec := <-slow; rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("slow request: %d", rec.Code)
	}
	if rec := send(h, &s.alice, "POST", "/x", "k1", "{}"); rec.Code != http.StatusConflict {
		t.Errorf("a third copy while the retry runs: %d %q, want 409 (the retry holds the key)", rec.Code, rec.Body)
	}
	close(letRetryGo)
	<-retry
	if rec := send(h, &s.alice, "POST", "/x", "k1", "{}"); rec.Code != http.StatusCreated || rec.Body.String() != "answer of retry" {
		t.Errorf("after the retry answered: %d %q, want its answer", rec.Code, rec.Body)
	}

	// The other way round: the slow request answers after its retry did.
	letSlowGo, slow = s.start(h, calls, "k2", "slow", http.StatusOK)
	s.advance(3 * time.Minute)
	letRetryGo, retry = s.start(h, calls, "k2", "retry", http.StatusCreated)
	close(letRetryGo)
	<-retry
	close(letSlowGo)
	<-slow
	if rec := send(h, &s.alice, "POST", "/x", "k2", "{}"); rec.Code != http.StatusCreated || rec.Body.String() != "answer of retry" {
		t.Errorf("after both answered: %d %q, want the retry's answer", rec.Code, rec.Body)
	}
	if n := calls.acted.Load(); n != 4 {
		t.Errorf("acted %d times, want 4 (each slow request and its retry)", n)
	}
}

// TestHandlerDeadline: a handler's context ends at Deadline, before a retry
// could take its key over, so a stuck request is over by then.
func TestHandlerDeadline(t *testing.T) {
	s := newSetup(t)
	var deadline time.Time
	var ok bool
	h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok = r.Context().Deadline()
	}))
	sent := time.Now()
	send(h, &s.alice, "POST", "/x", "k", "{}")
	answered := time.Now()
	if !ok {
		t.Fatal("the handler's context has no deadline")
	}
	if deadline.Before(sent.Add(idempotency.Deadline)) || deadline.After(answered.Add(idempotency.Deadline)) {
		t.Errorf("deadline %s after the request was sent, want %s", deadline.Sub(sent), idempotency.Deadline)
	}
	if idempotency.Deadline >= 2*time.Minute {
		t.Errorf("Deadline %s is not below the stale time, 2m", idempotency.Deadline)
	}
}

// TestAnswersKeptForADay: a retry within KeepAnswersFor gets the answer;
// after it the key acts afresh, and ForgetOld deletes what is past it.
func TestAnswersKeptForADay(t *testing.T) {
	s := newSetup(t)
	var n atomic.Int32
	h := s.m.Wrap(counting(&n))
	send(h, &s.alice, "POST", "/x", "k", "{}")
	s.advance(idempotency.KeepAnswersFor - time.Minute)
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("retry within the day: %d %v, want the answer replayed", rec.Code, rec.Header())
	}
	send(h, &s.bob, "POST", "/x", "bob's", "{}")
	s.advance(2 * time.Minute)
	if rec := send(h, &s.alice, "POST", "/x", "k", "{}"); rec.Code != 201 || rec.Header().Get(idempotency.ReplayedHeader) != "" {
		t.Errorf("retry after the day: %d %v, want it to act afresh", rec.Code, rec.Header())
	}
	if n.Load() != 3 {
		t.Errorf("acted %d times, want 3", n.Load())
	}
	// Alice's key was claimed afresh just now; Bob's is a day old.
	gone, err := idempotency.ForgetOld(context.Background(), s.st, s.now.Add(idempotency.KeepAnswersFor-time.Second))
	if err != nil || gone != 1 {
		t.Errorf("ForgetOld = %d, %v; want Bob's one record", gone, err)
	}
}

// TestOutcomeOnly: pages keep where a form led, never what a page showed;
// a refusal is not kept at all, so a retry is judged again.
func TestOutcomeOnly(t *testing.T) {
	s := newSetup(t)
	s.m.OutcomeOnly = true
	var n atomic.Int32
	h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		switch r.URL.Path {
		case "/refused":
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, "<p>Notes: met Ffion at the lab</p>")
		case "/shown":
			fmt.Fprint(w, "<p>Token: secret-123</p>")
		default:
			http.Redirect(w, r, "/journeys/1?done=1", http.StatusSeeOther)
		}
	}))
	for range 2 {
		if rec := send(h, &s.alice, "POST", "/refused", "r", "notes=x"); rec.Code != 422 || rec.Header().Get(idempotency.ReplayedHeader) != "" ||
			!strings.Contains(rec.Body.String(), "Ffion") {
			t.Errorf("refused form: %d %v %q, want it judged afresh each time", rec.Code, rec.Header(), rec.Body)
		}
	}
	send(h, &s.alice, "POST", "/shown", "s", "a=1")
	if rec := send(h, &s.alice, "POST", "/shown", "s", "a=1"); rec.Code != 200 || rec.Body.Len() != 0 || rec.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("replayed page: %d %q, want its status without the page", rec.Code, rec.Body)
	}
	send(h, &s.alice, "POST", "/done", "d", "a=1")
	if rec := send(h, &s.alice, "POST", "/done", "d", "a=1"); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/journeys/1?done=1" {
		t.Errorf("replayed redirect: %d %v", rec.Code, rec.Header())
	}
	if n.Load() != 4 {
		t.Errorf("acted %d times, want 4 (the refused form twice, the others once)", n.Load())
	}
	for _, key := range []string{"s", "d"} {
		rec, _, err := s.st.ClaimIdempotencyKey(context.Background(), store.IdempotencyClaim{
			PrincipalID: s.alice.PersonID, Key: key, Fingerprint: "probe", Token: "probe", Now: s.now})
		if err != nil || bytes.Contains(rec.Body, []byte("<p>")) {
			t.Errorf("stored answer of %q = %q, %v; want no page kept", key, rec.Body, err)
		}
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

// unreachable is a real store whose server stops answering claims, as
// pgx reports a refused connection.
type unreachable struct{ store.Store }

func (unreachable) ClaimIdempotencyKey(context.Context, store.IdempotencyClaim) (store.IdempotencyRecord, bool, error) {
	return store.IdempotencyRecord{}, false, fmt.Errorf("claiming: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
}

// A claim the store cannot take because its server is unreachable is
// 503 with a time to retry after, not a 500, and the handler never runs.
func TestUnreachableStoreIsRetryLater(t *testing.T) {
	s := newSetup(t)
	s.m.Store = unreachable{s.st}
	var n atomic.Int32
	rec := send(s.m.Wrap(counting(&n)), &s.alice, "POST", "/x", "k", "{}")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "30" || n.Load() != 0 {
		t.Errorf("an unreachable store: %d, Retry-After %q, handler ran %d times; want 503, 30, never",
			rec.Code, rec.Header().Get("Retry-After"), n.Load())
	}
}

// goneAWhile is a real store whose server stops answering for the next
// misses attempts to settle a claim (store an answer or free a key).
type goneAWhile struct {
	store.Store
	misses atomic.Int32
}

func (g *goneAWhile) gone() error {
	if g.misses.Add(-1) >= 0 {
		return fmt.Errorf("settling: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	}
	return nil
}

func (g *goneAWhile) CompleteIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	if err := g.gone(); err != nil {
		return err
	}
	return g.Store.CompleteIdempotencyKey(ctx, rec)
}

func (g *goneAWhile) ReleaseIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	if err := g.gone(); err != nil {
		return err
	}
	return g.Store.ReleaseIdempotencyKey(ctx, rec)
}

// When the store goes away between the claim and the answer, the answer
// is stored (or the key freed) once it is back, not left claimed: a retry
// then gets the answer (or is served afresh) instead of being told, until
// the claim went stale two minutes on, that the request is still being
// handled.
func TestAnswerSettledOnceTheStoreIsBack(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		calls  int32 // the handler's calls after the retry
	}{
		{"an answer is kept for the retry", http.StatusCreated, 1},
		{"a 503's key is freed for the retry", http.StatusServiceUnavailable, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSetup(t)
			st := &goneAWhile{Store: s.st}
			st.misses.Store(3)
			s.m.Store, s.m.SettleRetry = st, time.Millisecond
			var n atomic.Int32
			h := s.m.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n.Add(1)
				w.WriteHeader(tc.status)
			}))
			send(h, &s.alice, "POST", "/x", "k", "{}")
			deadline := time.Now().Add(30 * time.Second)
			for {
				rec := send(h, &s.alice, "POST", "/x", "k", "{}")
				if rec.Code != http.StatusConflict {
					if rec.Code != tc.status || n.Load() != tc.calls {
						t.Errorf("the retry: %d after %d calls, want %d after %d", rec.Code, n.Load(), tc.status, tc.calls)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the retry is still told the request is being handled 30 s after the store came back")
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
