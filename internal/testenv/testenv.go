// Package testenv starts, for tests, what Infuse Journeys runs on: an
// in-process Temporal server with the Infuse search attributes, and the real
// worker over a store. Everything it starts stops when the test ends.
package testenv

import (
	"context"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/server/temporaltest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/worker"
)

// NewServer starts an in-process Temporal server whose SDK client logs
// warnings and errors to t. It skips the test under -short.
func NewServer(t *testing.T) *temporaltest.TestServer {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	return temporaltest.NewServer(temporaltest.WithT(t), temporaltest.WithBaseClientOptions(client.Options{
		Logger: logging.NewTemporalLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))),
	}))
}

// StartWorker registers the Infuse search attributes on ts's default
// namespace and starts the real worker with a, stopping it when t ends.
func StartWorker(t *testing.T, ts *temporaltest.TestServer, a *activities.Activities) {
	t.Helper()
	c := ts.GetDefaultClient()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := temporalx.RegisterSearchAttributes(ctx, c, ts.GetDefaultNamespace()); err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, a)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// Start is NewServer and StartWorker with the activities over st: a
// Temporal server running Infuse journeys that record to st.
func Start(t *testing.T, st store.Store) *temporaltest.TestServer {
	t.Helper()
	ts := NewServer(t)
	StartWorker(t, ts, activities.New(st))
	return ts
}
