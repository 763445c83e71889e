package telemetry

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/felixge/httpsnoop"
	"github.com/prometheus/client_golang/prometheus"
)

// unmatched is the route label of a request no pattern matched.
const unmatched = "unmatched"

func (m *Metrics) newRequestHistogram() *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "infuse_http_request_duration_seconds",
		Help: "Time to answer an HTTP request, by route pattern (\"GET /api/journeys/{id}\") and status class (2xx, 4xx, 5xx).",
		// The default buckets stop at 10 s; an update that waits for a
		// workflow can take longer on a loaded cluster.
		Buckets: append(slices.Clone(prometheus.DefBuckets), 30),
	}, []string{"route", "status_class"})
	m.registry.MustRegister(h)
	return h
}

// InstrumentHTTP times every request h answers. The route is the
// ServeMux pattern that matched (the innermost one: ServeMux sets it on the
// request it is handed, and the pages' mux is handed the API mux's), never
// the path, which carries IDs and sign-in secrets and would make a series
// per journey.
func (m *Metrics) InstrumentHTTP(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// CaptureMetrics wraps w keeping the interfaces it has (Flusher,
		// Hijacker, …), which a hand-made wrapper would hide.
		got := httpsnoop.CaptureMetrics(h, w, r)
		m.requests.WithLabelValues(route(r), fmt.Sprintf("%dxx", got.Code/100)).Observe(got.Duration.Seconds())
	})
}

func route(r *http.Request) string {
	if r.Pattern == "" {
		return unmatched
	}
	return r.Pattern
}
