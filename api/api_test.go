package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// TestReadyz: /readyz names the dependency that does not answer, and
// /healthz, the liveness check, stays green whatever is down.
func TestReadyz(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	ts := testenv.NewServer(t)
	quiet := zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "infuse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	down, err := client.NewLazyClient(client.Options{HostPort: testenv.ClosedPort(t), Logger: logging.NewTemporalLogger(quiet)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)

	healthy := New(app.New(ts.GetDefaultClient(), st), Options{Logger: quiet})
	if code, h := get(t, healthy, "/readyz"); code != http.StatusOK || h.Status != "ok" || len(h.Failing) != 0 {
		t.Errorf("healthy: %d %+v", code, h)
	}

	noTemporal := New(app.New(down, st), Options{Logger: quiet})
	if code, h := get(t, noTemporal, "/readyz"); code != http.StatusServiceUnavailable || h.Failing["temporal"] == "" || h.Failing["store"] != "" {
		t.Errorf("Temporal down: %d %+v", code, h)
	}
	alive(t, noTemporal)

	st.Close()
	if code, h := get(t, healthy, "/readyz"); code != http.StatusServiceUnavailable || h.Failing["store"] == "" || h.Failing["temporal"] != "" {
		t.Errorf("store closed: %d %+v", code, h)
	}
	alive(t, healthy)
}

// alive fails unless h's liveness check answers 200 ok.
func alive(t *testing.T, h http.Handler) {
	t.Helper()
	if code, body := get(t, h, "/healthz"); code != http.StatusOK || body.Status != "ok" || len(body.Failing) != 0 {
		t.Errorf("/healthz = %d %+v, want 200 ok: liveness does not depend on the store or Temporal", code, body)
	}
}

// get asks h for path, and checks the answer against /openapi.json.
func get(t *testing.T, h http.Handler, path string) (int, Health) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	req := httptest.NewRequestWithContext(ctx, http.MethodGet, "http://example.com"+path, nil)
	h.ServeHTTP(rec, req)
	newClient(t, h).validate(t, req, rec)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var body Health
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", rec.Body.String(), err)
	}
	return rec.Code, body
}

func TestHealthzOnlyAnswersGet(t *testing.T) {
	h := New(app.New(nil, sqlitestore.OpenTest(t)), Options{})
	for _, path := range []string{"/healthz", "/readyz"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d, want 405", path, rec.Code)
		}
	}
}

// Every answer, JSON, CSV, problem or page, tells browsers not to guess
// its type; on a site served over https it also tells them
// to use HTTPS only from then on (HSTS), and over plain HTTP it does not,
// which would lock out a site not yet on TLS.
func TestTransportHeaders(t *testing.T) {
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("<p>a page</p>")) })
	svc := app.New(nil, sqlitestore.OpenTest(t))
	sites := map[bool]http.Handler{
		false: New(svc, Options{Pages: pages}),
		true:  New(svc, Options{Pages: pages, Auth: &auth.Authenticator{Store: svc.Credentials, HTTPS: true}}),
	}
	for _, path := range []string{"/healthz", "/openapi.json", "/api/no-such-thing", "/signin"} {
		for _, tls := range []bool{false, true} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Header.Set("X-Forwarded-Proto", "https") // believed by neither
			rec := httptest.NewRecorder()
			sites[tls].ServeHTTP(rec, req)
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("GET %s (TLS %v): X-Content-Type-Options %q, want nosniff", path, tls, got)
			}
			hsts := rec.Header().Get("Strict-Transport-Security")
			if tls && hsts != "max-age=31536000" {
				t.Errorf("GET %s over TLS: Strict-Transport-Security %q, want max-age=31536000", path, hsts)
			}
			if !tls && hsts != "" {
				t.Errorf("GET %s over plain HTTP: Strict-Transport-Security %q, want none", path, hsts)
			}
		}
	}
}
