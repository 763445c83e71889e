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

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/testenv"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
)

func TestHealthz(t *testing.T) {
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

	healthy := New(starter.New(ts.GetDefaultClient(), st), Options{Logger: quiet})
	if code, h := get(t, healthy); code != http.StatusOK || h.Status != "ok" || len(h.Failing) != 0 {
		t.Errorf("healthy: %d %+v", code, h)
	}

	noTemporal := New(starter.New(down, st), Options{Logger: quiet})
	if code, h := get(t, noTemporal); code != http.StatusServiceUnavailable || h.Failing["temporal"] == "" || h.Failing["store"] != "" {
		t.Errorf("Temporal down: %d %+v", code, h)
	}

	st.Close()
	if code, h := get(t, healthy); code != http.StatusServiceUnavailable || h.Failing["store"] == "" || h.Failing["temporal"] != "" {
		t.Errorf("store closed: %d %+v", code, h)
	}
}

func get(t *testing.T, h http.Handler) (int, Health) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/healthz", nil))
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
	rec := httptest.NewRecorder()
	New(starter.New(nil, sqlitestore.OpenTest(t)), Options{}).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/healthz", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", rec.Code)
	}
}
