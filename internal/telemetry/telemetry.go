// Package telemetry is what operators see of a running `infuse worker` or
// `infuse api`: Prometheus metrics and a readiness check.
//
// The metrics are the Temporal SDK's own (client requests, workflow and
// activity task latencies, pollers: temporal_*), reported through the SDK's
// tally handler, and the programme's (infuse_*): the outbox by status and
// how late it runs, overdue checkpoints, journeys by phase and state, read
// from the store at scrape time, and the HTTP API's latency by route. They
// are served with /readyz and /healthz by OpsHandler, which the binary puts
// on a listen address of its own (INFUSE_METRICS_ADDR), never on the
// public API's: the figures tell anyone who can read them how many people
// are in the programme and how the service is doing.
package telemetry

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/uber-go/tally/v4"
	tallyprom "github.com/uber-go/tally/v4/prometheus"
	"go.temporal.io/sdk/client"
	sdktally "go.temporal.io/sdk/contrib/tally"
	"go.uber.org/zap"
)

// temporalReportEvery is how often the SDK's metrics reach the registry:
// tally gathers them in memory and reports them at this interval.
const temporalReportEvery = time.Second

// Metrics is one process's registry: the Go runtime's and the process's
// own metrics, the Temporal SDK's, and the programme's.
type Metrics struct {
	registry *prometheus.Registry
	log      *zap.Logger
	temporal client.MetricsHandler
	// closeTemporal stops tally's reporting loop.
	closeTemporal io.Closer
	requests      *prometheus.HistogramVec
}

// New returns a registry with the Go and process collectors, ready for the
// Temporal client (Temporal), the store (WatchStore) and the HTTP handler
// (InstrumentHTTP). Close it when the process stops.
func New(log *zap.Logger) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry(), log: log.Named("metrics")}
	m.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.temporal, m.closeTemporal = m.newTemporalHandler()
	m.requests = m.newRequestHistogram()
	return m
}

// newTemporalHandler reports the SDK's metrics into the registry, named
// as Temporal's other SDKs name them for Prometheus (counters end in
// _total, timers in _seconds and are histograms).
func (m *Metrics) newTemporalHandler() (client.MetricsHandler, io.Closer) {
	reporter := tallyprom.NewReporter(tallyprom.Options{
		Registerer:       m.registry,
		DefaultTimerType: tallyprom.HistogramTimerType,
		// The reporter panics by default when a metric cannot be
		// registered (a name reused with other labels); losing one
		// metric must not stop a worker.
		OnRegisterError: func(err error) { m.log.Warn("a Temporal SDK metric cannot be reported", zap.Error(err)) },
	})
	scope, closer := tally.NewRootScope(tally.ScopeOptions{
		CachedReporter:  reporter,
		Separator:       tallyprom.DefaultSeparator,
		SanitizeOptions: &sdktally.PrometheusSanitizeOptions,
	}, temporalReportEvery)
	return sdktally.NewMetricsHandler(sdktally.NewPrometheusNamingScope(scope)), closer
}

// Temporal is the handler to set as client.Options.MetricsHandler; a
// worker started with that client reports through it too.
func (m *Metrics) Temporal() client.MetricsHandler { return m.temporal }

// Close stops reporting the SDK's metrics.
func (m *Metrics) Close() {
	if err := m.closeTemporal.Close(); err != nil {
		m.log.Warn("stopping the Temporal SDK's metrics", zap.Error(err))
	}
}

// Handler serves the metrics in Prometheus's text format. A family that
// cannot be read (the database is down) is left out and logged, and the
// rest is served: the SDK's metrics matter most when the store is in
// trouble.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{
		ErrorLog:      printer{m.log},
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      m.registry, // counts its own scrapes and their errors (promhttp_*)
	})
}

// OpsHandler is what the operators' listener serves: /metrics, /readyz
// (ready answers it) and /healthz (the process is up).
func (m *Metrics) OpsHandler(ready http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /healthz", Live())
	return mux
}

// printer is promhttp's error log, on zap.
type printer struct{ log *zap.Logger }

func (p printer) Println(v ...any) { p.log.Warn(fmt.Sprint(v...)) }
