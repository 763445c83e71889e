package main

import (
	"fmt"
	"net/http"
	"os"

	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/telemetry"
)

// envMetricsAddr is where `infuse worker` and `infuse api` serve the
// operators' endpoints (/metrics, /readyz, /healthz).
//
// It is off by default, and never the API's own listener: the metrics say
// how many people are in the programme and how the service is doing,
// which is not for whoever can reach the public API, and a fixed default
// port would stop a second process on the same machine (two workers, or a
// worker beside the API) from starting. A deployment sets it to an address
// only its Prometheus reaches (loopback, or a port not published outside
// the container network).
const envMetricsAddr = "INFUSE_METRICS_ADDR"

// metricsFlag adds --metrics to a long-running command.
func metricsFlag(cmd *cobra.Command, addr *string) {
	cmd.Flags().StringVar(addr, "metrics", os.Getenv(envMetricsAddr),
		`serve /metrics, /readyz and /healthz for operators on this address, e.g. 127.0.0.1:9090 (or :9090 on a port only Prometheus reaches); "" for none (env `+envMetricsAddr+`)`)
}

// startMetrics makes the process's metrics when addr is set (nil when it
// is not), and has the Temporal client dialled after it report the SDK's
// metrics there: call it before temporalFromEnv.
func (c *cli) startMetrics(addr string) *telemetry.Metrics {
	if addr == "" {
		return nil
	}
	m := telemetry.New(c.logger())
	c.temporalMetrics = m.Temporal()
	c.onClose(m.Close)
	return m
}

// instrument times h's requests by route, when there are metrics.
func instrument(m *telemetry.Metrics, h http.Handler) http.Handler {
	if m == nil {
		return h
	}
	return m.InstrumentHTTP(h)
}

// serveOps serves m on addr, with the store's figures and a /readyz that
// checks st and tc (nothing when m is nil). The returned stop ends it.
func (c *cli) serveOps(addr string, m *telemetry.Metrics, st telemetry.Pinger, tc client.Client) (stop func(), err error) {
	if m == nil {
		return func() {}, nil
	}
	if f, ok := st.(telemetry.Figures); ok {
		m.WatchStore(f)
	} else {
		c.logger().Warn("this store has no figures for the metrics; infuse_outbox_*, infuse_journeys and infuse_checkpoints_overdue are left out",
			zap.String("store", fmt.Sprintf("%T", st)))
	}
	ready := telemetry.Ready(c.logger(), telemetry.StoreCheck(st), telemetry.TemporalCheck(tc))
	errc, stopHTTP, err := listen("metrics endpoint", "--metrics", addr, m.OpsHandler(ready), c.logger())
	if err != nil {
		return nil, err
	}
	done := make(chan struct{})
	go func() {
		// The worker goes on without its metrics rather than stop
		// running journeys; the log says so.
		select {
		case err := <-errc:
			c.logger().Error("the metrics endpoint stopped", zap.Error(err))
		case <-done:
		}
	}()
	return func() { close(done); stopHTTP() }, nil
}
