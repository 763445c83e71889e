// Command infuse is the one binary of Infuse Journeys. `infuse dev` runs the
// whole system on one machine (embedded Temporal server, store, worker and
// API); `infuse worker` and `infuse api` are the production processes; the
// other subcommands are what coordinators, coaches and participants do,
// through the same application (internal/app) that the API and the pages use.
// This command is the one place that opens the whole store and hands each
// part of the application the interface it declares.
//
// Commands are built with cobra: the command tree is three levels deep
// (`infuse journey withdraw …`) with flags shared down it (--json,
// --database), and cobra gives every level its help text and its flag
// errors for free, where the standard flag package would need a hand-written
// dispatcher for some thirty commands.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // dates on the command line are Europe/London, host zoneinfo or not
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
