// Package worker runs the Infuse workflows and activities against a
// Temporal cluster. The same registration serves the production `infuse
// worker` process, the all-in-one `infuse dev` mode and the tests, so what
// is tested is what runs.
package worker

import (
	"context"
	"fmt"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// Register adds every workflow and activity of Infuse Journeys to r.
func Register(r sdkworker.Registry, a *activities.Activities) {
	for _, w := range Workflows {
		r.RegisterWorkflow(w)
	}
	r.RegisterActivity(a)
}

// DefaultCacheSize is the SDK's sticky cache size, unless SetCacheSize.
const DefaultCacheSize = 10_000

// SetCacheSize sets how many workflows the workers of this process keep in
// memory between their tasks (the SDK's sticky cache, 10,000 unless set):
// about 100 KB a journey. One pushed out is replayed from its history when
// its next task comes, which costs CPU, not correctness. It must be called
// before the process makes its first worker.
func SetCacheSize(n int) { sdkworker.SetStickyWorkflowCacheSize(n) }

// New creates a worker on the Infuse task queue with everything registered.
// Activities that send updates to workflows do so through c, unless a has
// a client of its own. c must be dialled with temporalx.WatchTaskAttempts,
// so that the local records know their task's attempt.
func New(c client.Client, a *activities.Activities) sdkworker.Worker {
	if a.Workflows == nil {
		a.Workflows = c
	}
	if a.Attempts == nil {
		a.Attempts = temporalx.Attempts
	}
	w := sdkworker.New(c, temporalx.TaskQueue, sdkworker.Options{})
	Register(w, a)
	return w
}

// Run runs a worker until ctx is cancelled, then stops it gracefully:
// running activities get to finish before the process exits.
func Run(ctx context.Context, c client.Client, a *activities.Activities) error {
	w := New(c, a)
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker on task queue %q: %w", temporalx.TaskQueue, err)
	}
	<-ctx.Done()
	w.Stop()
	return nil
}
