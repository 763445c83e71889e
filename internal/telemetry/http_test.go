package telemetry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/internal/web"
)

// TestRequestDurationByRoute: the real API and pages, timed: each request
// is counted under the pattern that matched, the pages' own included, and
// its status class; no series names a journey.
func TestRequestDurationByRoute(t *testing.T) {
	svc := app.New(nil, sqlitestore.OpenTest(t))
	m := telemetry.New(zap.NewNop())
	t.Cleanup(m.Close)
	h := m.InstrumentHTTP(api.New(svc, api.Options{Pages: web.New(svc, web.Options{})}))
	journey := uuid.NewString()
	for _, path := range []string{"/healthz", "/api/journeys/" + journey, "/api/journeys/" + uuid.NewString(), "/journeys/" + journey, "/no/such/page"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`infuse_http_request_duration_seconds_count{route="GET /healthz",status_class="2xx"} 1`,
		`infuse_http_request_duration_seconds_count{route="GET /api/journeys/{id}",status_class="4xx"} 2`,
		// The pages' mux, under the API's "/": its own pattern (a redirect to sign in).
		`infuse_http_request_duration_seconds_count{route="GET /journeys/{id}",status_class="3xx"} 1`,
		`infuse_http_request_duration_seconds_count{route="/",status_class="4xx"} 1`,
	} {
		if !strings.Contains(string(body), "\n"+want+"\n") {
			t.Errorf("/metrics has no line %s; the request lines are:\n%s", want, countLines(string(body)))
		}
	}
	if strings.Contains(string(body), journey) {
		t.Errorf("a journey's ID is in a metric's labels:\n%s", countLines(string(body)))
	}
}

func countLines(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "infuse_http_request_duration_seconds_count") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
