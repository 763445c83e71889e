package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	enumspb "go.temporal.io/api/enums/v1"
	taskqueuepb "go.temporal.io/api/taskqueue/v1"

	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// The probes are what a container's healthcheck runs. The image is
// distroless (no shell, curl or wget), so the binary probes itself.
func (c *cli) probeCommand() *cobra.Command {
	return group("probe", "Health probes for container healthchecks: exit 0 healthy, 1 not",
		c.probeHTTPCommand(), c.probeWorkerCommand())
}

func (c *cli) probeHTTPCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "http URL",
		Short: "Healthy if GET URL answers 2xx (e.g. the API's http://127.0.0.1:8080/healthz)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			return probeHTTP(ctx, a[0])
		}),
	}
}

func probeHTTP(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return usage("%q is not a URL to probe: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("probe: GET %s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

// pollerFresh is how recently a worker must have polled to count as
// alive. A healthy worker's long polls reach the server at least once a
// minute (the server ends an idle poll after about 60 s and the worker polls
// again at once).
const pollerFresh = 2 * time.Minute

func (c *cli) probeWorkerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Healthy if a worker on this host polls the Infuse task queue (TEMPORAL_* as for the worker)",
		Long: `Healthy if Temporal has seen a worker on this host poll the Infuse task
queue, for both workflow and activity tasks, within the last two minutes. It
runs beside "infuse worker" (in its container): a worker that is alive but
cannot reach Temporal, or stopped polling, is unhealthy. The worker is
recognised by its host name in the identity the Temporal SDK gives it
(pid@host@).`,
		Args: args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			host, err := os.Hostname()
			if err != nil {
				return fmt.Errorf("probe: this host's name, which identifies its worker: %w", err)
			}
			tc, ns, err := c.temporalFromEnv(ctx)
			if err != nil {
				return err
			}
			for _, kind := range []enumspb.TaskQueueType{enumspb.TASK_QUEUE_TYPE_WORKFLOW, enumspb.TASK_QUEUE_TYPE_ACTIVITY} {
				resp, err := tc.DescribeTaskQueue(ctx, temporalx.TaskQueue, kind)
				if err != nil {
					return fmt.Errorf("probe: describing task queue %q in namespace %q: %w", temporalx.TaskQueue, ns, err)
				}
				if !pollsFrom(resp.GetPollers(), host, time.Now()) {
					return fmt.Errorf("probe: no worker on host %q has polled the %s tasks of %q in namespace %q in the last %s "+
						"(is `infuse worker` running here, and can it reach Temporal? see its log)",
						host, strings.ToLower(kind.String()), temporalx.TaskQueue, ns, pollerFresh)
				}
			}
			return nil
		}),
	}
}

// pollsFrom reports whether one of pollers is a worker on host (the SDK's
// identity is pid@host@, or pid@host@queue) that polled within pollerFresh
// of now.
func pollsFrom(pollers []*taskqueuepb.PollerInfo, host string, now time.Time) bool {
	for _, p := range pollers {
		if strings.Contains(p.GetIdentity()+"@", "@"+host+"@") && now.Sub(p.GetLastAccessTime().AsTime()) <= pollerFresh {
			return true
		}
	}
	return false
}
