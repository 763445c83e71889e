package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/starter"
)

// Exit codes, for scripts. They are also in `infuse --help`.
const (
	exitOK       = 0
	exitFailed   = 1 // anything else, e.g. Temporal or the database unreachable
	exitInvalid  = 2 // bad usage or invalid input
	exitRejected = 3 // refused by the journey or intake in its current state
	exitNotFound = 4 // no such person, intake or journey
)

const exitCodeHelp = `Exit codes:
  0  done
  1  failed for another reason (e.g. Temporal or the database unreachable)
  2  bad usage or invalid input (fix the command or the file and retry)
  3  rejected by the journey or intake in its current state
  4  not found (no such person, intake or journey)`

// Environment variables read besides Temporal's own TEMPORAL_* ones (all
// of them, with the libraries', are listed in knownEnvironment).
const (
	envDatabase = "INFUSE_DATABASE_URL"
	envLogLevel = "INFUSE_LOG_LEVEL"
	envBaseURL  = "INFUSE_BASE_URL"
	// envTrustedProxies is --trusted-proxy's variable: comma-separated.
	envTrustedProxies = "INFUSE_TRUSTED_PROXIES"
)

// envList is the comma-separated values of the variable name, nil if unset.
func envList(name string) []string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return strings.Split(v, ",")
	}
	return nil
}

// defaultDatabase is where `infuse dev` keeps the store with its default data directory.
const defaultDatabase = ".infuse/infuse.db"

// cli holds one invocation's settings and what it opened.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer

	jsonOut   bool
	database  string
	logLevel  string
	logFormat string
	timeout   time.Duration

	log     *zap.Logger
	closers []func()
	// temporalMetrics, when set, receives the Temporal SDK's metrics
	// (startMetrics).
	temporalMetrics client.MetricsHandler
}

// run runs the command line args and returns the process's exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{stdin: stdin, stdout: stdout, stderr: stderr}
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	c.close()
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(stderr, "infuse: %s\n", explain(err))
	return exitCode(err)
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "infuse",
		Short: "Infuse Journeys: carry Infuse participants through their six-month journey",
		Long: `Infuse Journeys runs the Infuse programme's intakes and participant journeys on Temporal.

Start everything on this machine with "infuse dev" (add --demo for sample data),
then run the other commands from another terminal in the same directory: they
find the dev server and its database by default. Elsewhere, set TEMPORAL_ADDRESS
(and the other TEMPORAL_* variables) and INFUSE_DATABASE_URL or --database.

People can be named by ID or by e-mail address. Dates are 2006-01-02 (midnight)
or 2006-01-02T15:04, meant in Europe/London, or RFC 3339 with an offset.

` + exitCodeHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see `%s --help`)", err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.BoolVar(&c.jsonOut, "json", false, "print results as JSON, for scripts")
	pf.StringVar(&c.database, "database", envOr(envDatabase, defaultDatabase),
		"the store: a postgres:// URL or a SQLite file (env "+envDatabase+")")
	pf.StringVar(&c.logLevel, "log-level", os.Getenv(envLogLevel), "debug, info, warn or error (default warn; info for dev, worker and api) (env "+envLogLevel+")")
	pf.StringVar(&c.logFormat, "log-format", "", "console or json (default console; json for worker and api)")
	pf.DurationVar(&c.timeout, "timeout", 30*time.Second, "how long a command waits for Temporal and the store (intake preview: 10m unless given)")
	root.AddCommand(
		c.devCommand(), c.workerCommand(), c.apiCommand(),
		c.peopleCommand(), c.intakeCommand(),
		c.applyCommand(), c.decideCommand(), c.offerCommand(), c.attendanceCommand(),
		c.journeyCommand(), c.checkpointCommand(), c.taskCommand(),
		c.certificateCommand(), c.replayCommand(),
	)
	root.AddCommand(c.mailCommand())
	root.AddCommand(c.tokenCommand())
	root.AddCommand(c.signinCommand())
	root.AddCommand(c.probeCommand())
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// failure marks an error that came from running a command, as opposed to
// cobra refusing the command line (unknown command, bad flag, wrong
// number of arguments), which is bad usage.
type failure struct{ err error }

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// action wraps a coordinator command: it runs under --timeout, as one
// request (starter.WithRequestID): what it asks of a workflow is sent once
// however often the client retries underneath.
func (c *cli) action(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, cancel := context.WithTimeout(starter.WithRequestID(cmd.Context(), "cli/"+uuid.NewString()), c.timeout)
		defer cancel()
		if err := fn(ctx, args); err != nil {
			return &failure{err}
		}
		return nil
	}
}

// server wraps a long-running command (dev, worker, api): no timeout, the
// default log level is info and the default log format is format.
func (c *cli) server(format string, fn func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		if c.logLevel == "" {
			c.logLevel = "info"
		}
		if c.logFormat == "" {
			c.logFormat = format
		}
		if err := fn(cmd.Context()); err != nil {
			return &failure{err}
		}
		return nil
	}
}

// logger is the process's zap logger, built on first use from the flags.
func (c *cli) logger() *zap.Logger {
	if c.log != nil {
		return c.log
	}
	level := c.logLevel
	if level == "" {
		level = "warn"
	}
	l, err := logging.New(level, c.logFormat != "json")
	if err != nil {
		fmt.Fprintf(c.stderr, "infuse: %v; logging at warn\n", err)
		l, _ = logging.New("warn", c.logFormat != "json")
	}
	c.log = l
	c.onClose(func() { _ = l.Sync() })
	return l
}

func (c *cli) onClose(f func()) { c.closers = append(c.closers, f) }

// close releases what the command opened, newest first.
func (c *cli) close() {
	for i := len(c.closers) - 1; i >= 0; i-- {
		c.closers[i]()
	}
	c.closers = nil
}

// usage is an error in how a command was called.
func usage(format string, args ...any) error {
	return fmt.Errorf("%w: %s", apperr.ErrInvalid, fmt.Sprintf(format, args...))
}

// exitCode maps an error to the documented exit codes.
func exitCode(err error) int {
	var f *failure
	if !errors.As(err, &f) {
		return exitInvalid // cobra's: the command was called wrongly
	}
	// The command has ended: whether its time ran out is in err alone.
	switch kind, _ := apperr.Classify(context.Background(), err); kind {
	case apperr.KindInvalid:
		return exitInvalid
	case apperr.KindRefused:
		return exitRejected
	case apperr.KindNotFound:
		return exitNotFound
	}
	return exitFailed // unavailable or unexpected
}

// explain turns an error into the sentence printed on stderr, adding what
// to do where the error alone does not say.
func explain(err error) string {
	msg := err.Error()
	if isTimeout(err) {
		msg += " (no answer in time: is a worker running, e.g. `infuse dev` or `infuse worker`? --timeout sets how long to wait)"
	}
	return msg
}

// args adds the usage line to cobra's complaint about positional arguments.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return fmt.Errorf("%w (usage: %s)", err, cmd.UseLine())
		}
		return nil
	}
}

// group is a command that only holds subcommands. Without a subcommand it
// shows its help; with an unknown one it is bad usage (exit 2), where
// cobra's default would print the help and succeed.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use: use, Short: short,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(subs...)
	return cmd
}
