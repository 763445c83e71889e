package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
)

// checkTimeout bounds each dependency check, so a hung database or cluster
// turns into a 503 rather than a hung probe. The checks run at once, so a
// probe answers within this however many dependencies are down.
const checkTimeout = 2 * time.Second

// Check is one dependency a process needs to do its work.
type Check struct {
	Name string // in the answer's "failing": "store", "temporal"
	Ping func(context.Context) error
}

// Pinger is a store as the readiness check sees it (store.Store has it).
type Pinger interface {
	Ping(ctx context.Context) error
}

// StoreCheck checks that the database answers.
func StoreCheck(st Pinger) Check {
	return Check{Name: "store", Ping: func(ctx context.Context) error {
		if st == nil {
			return errors.New("no store configured")
		}
		return st.Ping(ctx)
	}}
}

// TemporalCheck checks that the Temporal frontend answers.
func TemporalCheck(tc client.Client) Check {
	return Check{Name: "temporal", Ping: func(ctx context.Context) error {
		if tc == nil {
			return errors.New("no Temporal client configured")
		}
		_, err := tc.CheckHealth(ctx, &client.CheckHealthRequest{})
		return err
	}}
}

// Readiness is the body of /readyz (and /healthz, which is always "ok").
type Readiness struct {
	Status string `json:"status" openapi:"enum=ok|unavailable"`
	// Failing names each dependency that did not answer and how ("timed
	// out" or "error"). The error itself goes to the log only: it can
	// name hosts, users and databases.
	Failing map[string]string `json:"failing,omitempty" doc:"Each dependency that did not answer (store, temporal) and how: \"timed out\" or \"error\""`
}

// Ready answers 200 when every check passes, else 503 naming the failing
// ones: a load balancer stops sending work to a process that cannot do it.
func Ready(log *zap.Logger, checks ...Check) http.Handler {
	log = log.Named("readyz")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing := failingChecks(r.Context(), log, checks); len(failing) > 0 {
			answer(w, http.StatusServiceUnavailable, Readiness{Status: "unavailable", Failing: failing})
			return
		}
		answer(w, http.StatusOK, Readiness{Status: "ok"})
	})
}

// Live answers 200 as long as the process serves HTTP: a liveness probe
// must not fail because a dependency is down, or the orchestrator restarts
// every process at once for an outage a restart cannot mend.
func Live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		answer(w, http.StatusOK, Readiness{Status: "ok"})
	})
}

// failingChecks runs the checks at once and says how each failing one failed.
func failingChecks(ctx context.Context, log *zap.Logger, checks []Check) map[string]string {
	var mu sync.Mutex
	var wg sync.WaitGroup
	failing := map[string]string{}
	for _, c := range checks {
		wg.Go(func() {
			if problem := check(ctx, log, c); problem != "" {
				mu.Lock()
				defer mu.Unlock()
				failing[c.Name] = problem
			}
		})
	}
	wg.Wait()
	return failing
}

// check runs one check with its own deadline and says how it failed, or ""
// if it passed.
func check(ctx context.Context, log *zap.Logger, c Check) string {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	err := c.Ping(ctx)
	if err == nil {
		return ""
	}
	log.Warn("dependency check failed", zap.String("dependency", c.Name), zap.Error(err))
	if ctx.Err() != nil {
		return CheckTimedOut
	}
	return CheckFailed
}

// How a check failed, in a Readiness's Failing.
const (
	CheckTimedOut = "timed out"
	CheckFailed   = "error"
)

func answer(w http.ResponseWriter, status int, body Readiness) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
