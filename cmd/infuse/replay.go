package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/worker"
)

// replayTimeout is the replay check's --timeout unless one is given: a
// cluster with thousands of journeys takes minutes to export.
const replayTimeout = 30 * time.Minute

func (c *cli) replayCommand() *cobra.Command {
	var query string
	var all bool
	cmd := &cobra.Command{
		Use:   "replay [--query QUERY | --all]",
		Short: "Check before a deploy that this build can carry on every running workflow",
		Long: `Export the history of every running intake and journey from the Temporal cluster
that TEMPORAL_ADDRESS and the other TEMPORAL_* variables name, and replay each
against this binary's workflow code, as a worker of this binary would on picking
it up. Run it with the NEW binary before a rolling deploy: a run that does not
replay would be stuck under the new workers (see CONTRIBUTING.md, "Deploying a
new version"). It exits 1 and lists the runs if any does not replay.

--query selects other runs (Temporal's list filter syntax); --all replays every
run the namespace keeps, finished ones too. It waits up to 30 minutes unless
--timeout says otherwise.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all {
				if cmd.Flag("query").Changed {
					return usage("give --query or --all, not both")
				}
				query = ""
			}
			timeout := replayTimeout
			if cmd.Flag("timeout").Changed {
				timeout = c.timeout
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			if err := c.replay(ctx, query); err != nil {
				return &failure{err}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&query, "query", `ExecutionStatus="Running"`, "the runs to replay")
	cmd.Flags().BoolVar(&all, "all", false, "replay every run the namespace keeps, finished ones too")
	return cmd
}

func (c *cli) replay(ctx context.Context, query string) error {
	tc, ns, err := c.temporalFromEnv(ctx)
	if err != nil {
		return err
	}
	res, err := worker.Replay(ctx, tc, ns, worker.ReplayOptions{
		Query: query, Logger: logging.NewTemporalLogger(c.logger().Named("replay")),
		Progress: func(id, run string, err error) {
			if err != nil {
				fmt.Fprintf(c.stderr, "does not replay: %s (run %s): %v\n", id, run, err)
			}
		},
	})
	if err != nil {
		return err
	}
	if emitErr := c.emit(map[string]any{"runs": res.Runs, "failed": res.Failed}, func(w io.Writer) {
		fmt.Fprintf(w, "Replayed %d workflow runs against this build: %d do not replay.\n", res.Runs, len(res.Failed))
	}); emitErr != nil {
		return emitErr
	}
	if len(res.Failed) > 0 {
		return fmt.Errorf("%d of %d runs do not replay with this build: do not deploy it (see CONTRIBUTING.md, \"Changing a workflow\")", len(res.Failed), res.Runs)
	}
	return nil
}
