package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/dev/devserver"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/demo"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/worker"
)

// httpTimeouts bound what a client may take of the API's listener: a
// client that sends its headers or its body slowly, or leaves a
// connection idle, is cut off instead of holding a connection (and a
// goroutine) for ever. Write covers the longest answer: a decision waits
// up to a minute for its journey to confirm.
var httpTimeouts = struct{ readHeader, read, write, idle time.Duration }{
	readHeader: 10 * time.Second,
	read:       time.Minute,
	write:      2 * time.Minute,
	idle:       2 * time.Minute,
}

// Timeouts of the long-running commands.
const (
	devStartTimeout = 2 * time.Minute // first start creates the Temporal schema
	demoTimeout     = 3 * time.Minute
	shutdownTimeout = 10 * time.Second
	defaultHTTPAddr = ":8080"
	// devHTTPAddr keeps dev mode's API on this machine: it has demo data
	// and, once sign-in lands, demo sign-in links.
	devHTTPAddr    = "127.0.0.1:8080"
	storeFileName  = "infuse.db"
	defaultDataDir = ".infuse"
	// devMailPoll is how often dev mode looks for messages to deliver.
	devMailPoll = 3 * time.Second
	// devMailFrom is dev mode's sending address (and the invites' organiser).
	devMailFrom = "Infuse <infuse@localhost>"
	// workerMailPoll is how often the worker looks for messages to deliver.
	workerMailPoll = 10 * time.Second
	// forgetAnswersEvery is how often the API deletes the idempotency
	// answers older than a day.
	forgetAnswersEvery = time.Hour
)

// untilSignalled returns a context cancelled on SIGINT or SIGTERM.
func untilSignalled(ctx context.Context) (context.Context, context.CancelFunc) {
	return signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
}

type devOptions struct {
	dataDir    string
	port       int
	uiPort     int
	httpAddr   string
	mailPort   int
	mailPolicy bool
	demo       bool
}

func (c *cli) devCommand() *cobra.Command {
	var o devOptions
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything on this machine: Temporal, the store, the worker and the API",
		Long: `Run an embedded Temporal server (state in DATA-DIR/temporal.db, Web UI included),
the store (DATA-DIR/infuse.db), the worker and the HTTP API in one process, until
Ctrl+C. Stopping and starting again on the same data directory resumes every
intake and journey where it was. --demo adds sample people and intakes (once).
--database and the TEMPORAL_* variables do not apply: dev serves its own.

E-mail stays on this machine: dev runs a mailbox (an SMTP server on
127.0.0.1:--mail-port that accepts anything) and delivers the outbox to it every
few seconds. Each message is a file in DATA-DIR/mailbox; read them with
"infuse mail list" and "infuse mail show FILE". The INFUSE_SMTP_* variables do
not apply.`,
		Args: args(cobra.NoArgs),
		RunE: c.server("console", func(ctx context.Context) error { return c.runDev(ctx, o) }),
	}
	f := cmd.Flags()
	f.StringVar(&o.dataDir, "data-dir", defaultDataDir, "where Temporal's and the store's databases are kept")
	f.IntVar(&o.port, "port", devserver.DefaultPort, "the Temporal frontend port (what TEMPORAL_ADDRESS points at)")
	f.IntVar(&o.uiPort, "ui-port", 8233, "the Temporal Web UI port; 0 for no UI")
	f.StringVar(&o.httpAddr, "http", devHTTPAddr, `the API's listen address; "" for no API`)
	f.IntVar(&o.mailPort, "mail-port", devmail.DefaultPort, "the dev mailbox's SMTP port on 127.0.0.1; 0 picks a free one")
	f.BoolVar(&o.mailPolicy, "delivery-policy", false,
		"hold mail outside working hours and cap it per person per day, as production does (off in dev so the demo's mail can be read at once)")
	f.BoolVar(&o.demo, "demo", false, "create the demo people and intakes if they are not there yet")
	return cmd
}

func (c *cli) runDev(ctx context.Context, o devOptions) (err error) {
	ctx, stop := untilSignalled(ctx)
	defer stop()
	log := c.logger()
	// Until dev mode is up, a full disk or a data directory it may not
	// write to is said once, with what to do, rather than as what SQLite
	// or Temporal said several wrappings down.
	up := false
	defer func() {
		if err != nil && !up {
			err = dataDirProblem(o.dataDir, err)
		}
	}()
	if err := checkDataDir(o.dataDir); err != nil {
		return err
	}
	// Temporal first: it locks the data directory, so that a second `infuse
	// dev` on it is told so before it touches the store or the mailbox.
	startCtx, cancel := context.WithTimeout(ctx, devStartTimeout)
	srv, err := devserver.Start(startCtx, devserver.Options{
		DataDir: o.dataDir, Port: o.port, UIPort: o.uiPort,
		SearchAttributes: temporalx.SearchAttributes(), Logger: log,
	})
	cancel()
	if err != nil {
		return err
	}
	defer srv.Stop()
	c.database = filepath.Join(o.dataDir, storeFileName)
	st, err := c.store(ctx, true) // closed last, after the worker and the server
	if err != nil {
		return err
	}
	mailbox, err := startDevMailbox(o.dataDir, o.mailPort, log)
	if err != nil {
		return err
	}
	defer stopDevMailbox(mailbox, log) // after delivery has stopped (defers run last in, first out)
	tc, err := dialTemporal(ctx, client.Options{HostPort: srv.FrontendAddress(), Namespace: devserver.DefaultNamespace}, log)
	if err != nil {
		return err
	}
	defer tc.Close()
	w := worker.New(tc, activities.New(st))
	if err := w.Start(); err != nil {
		return fmt.Errorf("starting the worker: %w", err)
	}
	defer w.Stop()
	stopDelivery, err := startDelivery(ctx, st, devMailSettings(mailbox, o.mailPolicy), devMailPoll, log)
	if err != nil {
		return err
	}
	defer stopDelivery()
	svc := app.New(tc, st)
	devMail := devMailSettings(mailbox, o.mailPolicy)
	handler, drainSite, err := site(svc, devMail, true, siteOptions{baseURL: baseURL("", o.httpAddr)}, log)
	if err != nil {
		return err
	}
	defer drainSite() // after the HTTP server has stopped (defers run last in, first out)
	httpErr, stopHTTP, err := serveHTTP(o.httpAddr, handler, log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	defer housekeep(ctx, st, log)()
	up = true
	c.printDevBanner(c.stdout, srv, mailbox, o)
	if o.demo {
		d, err := c.seedDemo(ctx, svc)
		if err != nil {
			return err
		}
		if o.httpAddr != "" {
			if err := c.printDemoLinks(ctx, svc, d, baseURL("", o.httpAddr)); err != nil {
				return err
			}
		}
	}
	log.Info("dev mode running; Ctrl+C to stop")
	return waitForStop(ctx, httpErr, log)
}

// SQLite's words for a full disk and for a file it opened read-only,
// which Temporal passes on only as text.
const (
	sqliteFull     = "database or disk is full"
	sqliteReadOnly = "attempt to write a readonly database"
)

// checkDataDir makes dev mode's data directory if need be and checks that
// dev mode may write there before anything is started: in the directory,
// in its mailbox folder, and to the databases already in it. SQLite opens a
// file it may not write read-only without a word, and the store would then
// start and fail every change. A page written and synced (then removed)
// finds a full disk.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("creating the data directory: %w", err)
	}
	for _, d := range []string{dir, devmail.Folder(dir)} {
		if err := tryWrite(d); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, db := range []string{storeFileName, devserver.DatabaseFile} {
		for _, file := range devserver.SQLiteFiles(filepath.Join(dir, db)) {
			f, err := os.OpenFile(file, os.O_WRONLY, 0)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return err
			}
			f.Close()
		}
	}
	return nil
}

// tryWrite writes a page to a new file in dir, syncs it and removes it.
// A failure names dir, not the file's passing name.
func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".infuse-write-check-*")
	if err == nil {
		defer os.Remove(f.Name())
		_, err = f.Write(make([]byte, 4096))
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = &fs.PathError{Op: "write a file in", Path: dir, Err: pe.Err}
	}
	return err
}

// dataDirProblem says what is wrong with the data directory dir and what to
// do, if err (from starting dev mode) means its disk is full or dev mode
// may not write there; any other error it returns as it is. Only a file's
// error counts: a port below 1024 is "permission denied" too.
func dataDirProblem(dir string, err error) error {
	if abs, aerr := filepath.Abs(dir); aerr == nil {
		dir = abs
	}
	var pe *fs.PathError
	file := errors.As(err, &pe)
	msg := err.Error()
	switch {
	case file && (errors.Is(pe.Err, syscall.ENOSPC) || errors.Is(pe.Err, syscall.EDQUOT)), strings.Contains(msg, sqliteFull):
		return fmt.Errorf("the disk holding the data directory %s is full (%s): free some space on it, "+
			"or choose a directory on another disk with --data-dir, then start again; nothing was left half-written", dir, briefly(err, sqliteFull))
	case file && errors.Is(pe.Err, syscall.EROFS):
		return fmt.Errorf("the data directory %s is on a read-only file system (%s): remount it read-write, "+
			"or choose another directory with --data-dir", dir, briefly(err, ""))
	case file && errors.Is(pe.Err, fs.ErrPermission), strings.Contains(msg, sqliteReadOnly):
		return fmt.Errorf("cannot write to the data directory %s (%s): let the user infuse dev runs as write to it "+
			"and to everything in it, or choose another directory with --data-dir", dir, briefly(err, sqliteReadOnly))
	}
	return err
}

// briefly is the heart of err: the file and what the system said of it,
// or SQLite's words (phrase) without the layers around them.
func briefly(err error, phrase string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Error()
	}
	if phrase != "" && strings.Contains(err.Error(), phrase) {
		return phrase
	}
	return err.Error()
}

// waitForStop blocks until a signal, or until the HTTP server fails.
func waitForStop(ctx context.Context, httpErr <-chan error, log *zap.Logger) error {
	select {
	case <-ctx.Done():
		log.Info("shutting down")
		return nil
	case err := <-httpErr:
		return fmt.Errorf("the API server stopped: %w", err)
	}
}

func (c *cli) seedDemo(ctx context.Context, svc *app.App) (demo.Demo, error) {
	ctx, cancel := context.WithTimeout(ctx, demoTimeout)
	defer cancel()
	d, err := demo.Seed(ctx, svc)
	if err != nil {
		return d, fmt.Errorf("creating the demo data: %w", err)
	}
	if len(d.Done) == 0 {
		fmt.Fprintln(c.stdout, "Demo data: already there.")
	} else {
		fmt.Fprintf(c.stdout, "Demo data: %s.\n", strings.Join(d.Done, "; "))
	}
	fmt.Fprintf(c.stdout, "  Cohort Alpha: %s (started)\n  Cohort 2:     %s (open for applications)\n", d.AlphaID, d.Cohort2ID)
	fmt.Fprintf(c.stdout, "  Try: infuse intake dashboard %s\n", d.AlphaID)
	return d, nil
}

// startDevMailbox starts dev mode's mailbox in DATA-DIR/mailbox.
func startDevMailbox(dataDir string, port int, log *zap.Logger) (*devmail.Server, error) {
	mb, err := devmail.Start(devmail.Options{Dir: devmail.Folder(dataDir), Port: port, Logger: log.Named("mailbox")})
	if err != nil {
		return nil, fmt.Errorf("starting the dev mailbox (choose another port with --mail-port; 0 picks a free one): %w", err)
	}
	log.Info("dev mailbox listening", zap.String("address", mb.Addr()), zap.String("folder", mb.Dir()))
	return mb, nil
}

func stopDevMailbox(mb *devmail.Server, log *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := mb.Shutdown(ctx); err != nil {
		log.Warn("stopping the dev mailbox", zap.Error(err))
	}
}

// devMailSettings delivers to the dev mailbox: loopback, no TLS, no auth.
func devMailSettings(mb *devmail.Server, policy bool) mailSettings {
	from, err := parseFrom(devMailFrom)
	if err != nil {
		panic(err) // a constant
	}
	return mailSettings{
		smtp:   delivery.SMTPConfig{Host: mb.Host(), Port: mb.Port(), TLS: delivery.NoTLS, HELO: "localhost"},
		from:   from,
		policy: policy,
	}
}

func (c *cli) printDevBanner(w io.Writer, srv *devserver.Server, mb *devmail.Server, o devOptions) {
	abs, _ := filepath.Abs(o.dataDir)
	fmt.Fprintf(w, "\nInfuse Journeys dev mode is running.\n")
	fmt.Fprintf(w, "  Temporal:  %s (namespace %s)\n", srv.FrontendAddress(), devserver.DefaultNamespace)
	if ui := srv.UIAddress(); ui != "" {
		fmt.Fprintf(w, "  Web UI:    %s\n", ui)
	}
	if o.httpAddr != "" {
		fmt.Fprintf(w, "  Pages:     http://%s/ (sign in with a link: see below, or `infuse signin link EMAIL`)\n", displayAddr(o.httpAddr))
		fmt.Fprintf(w, "  API:       http://%s/api/ (described at /openapi.json; health at /healthz)\n", displayAddr(o.httpAddr))
	}
	fmt.Fprintf(w, "  Data:      %s (temporal.db: Temporal; %s: people, events, outbox)\n", abs, storeFileName)
	fmt.Fprintf(w, "  Mailbox:   %s (every e-mail sent, as .eml files; SMTP on %s)\n\n", mb.Dir(), mb.Addr())
	fmt.Fprintln(w, "Coordinator commands, from another terminal in this directory:")
	if o.port != devserver.DefaultPort {
		fmt.Fprintf(w, "  export TEMPORAL_ADDRESS=%s\n", srv.FrontendAddress())
	}
	if filepath.Clean(o.dataDir) != defaultDataDir {
		fmt.Fprintf(w, "  export %s=%s\n", envDatabase, filepath.Join(abs, storeFileName))
	}
	mailDir := ""
	if filepath.Clean(o.dataDir) != defaultDataDir {
		mailDir = " --data-dir " + abs
	}
	for _, ex := range []string{"intake list", "intake dashboard INTAKE", "people import people.csv", "journey show JOURNEY",
		"mail list" + mailDir, "mail show FILE" + mailDir, "mail outbox --status failed", "--help"} {
		fmt.Fprintf(w, "  infuse %s\n", ex)
	}
	fmt.Fprintln(w, "\nCtrl+C stops; starting again with the same --data-dir resumes every journey.")
	fmt.Fprintln(w)
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return "localhost:" + port
	}
	return addr
}

// housekeep starts what the API's store needs done now and then: it
// forgets idempotency answers older than a day. The function it returns
// stops it and waits, so the store can be closed after.
func housekeep(ctx context.Context, st idempotency.Claims, log *zap.Logger) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		idempotency.ForgetOldEvery(ctx, st, forgetAnswersEvery, log)
	}()
	return func() { cancel(); <-done }
}

// serveHTTP starts serving the API h on addr (nothing if addr is empty).
func serveHTTP(addr string, h http.Handler, log *zap.Logger) (<-chan error, func(), error) {
	return listen("API", "--http", addr, h, log)
}

// listen starts serving h on addr (nothing if addr is empty), for what the
// flag sets. The listener is opened before it returns, so a port in use is
// reported at once.
func listen(what, flag, addr string, h http.Handler, log *zap.Logger) (<-chan error, func(), error) {
	errc := make(chan error, 1)
	if addr == "" {
		return errc, func() {}, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("the %s cannot listen on %s (choose another with %s): %w", what, addr, flag, err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: httpTimeouts.readHeader, ReadTimeout: httpTimeouts.read,
		WriteTimeout: httpTimeouts.write, IdleTimeout: httpTimeouts.idle}
	go func() {
		if err := hs.Serve(l); !errors.Is(err, http.ErrServerClosed) {
			errc <- err
		}
	}()
	log.Info(what+" listening", zap.String("address", l.Addr().String()))
	return errc, func() {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
		defer cancel()
		_ = hs.Shutdown(ctx)
	}, nil
}

func (c *cli) workerCommand() *cobra.Command {
	var metricsAddr string
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run the workflows and activities against a Temporal cluster (production)",
		Long: `Run the Infuse worker until SIGINT or SIGTERM. It connects to the Temporal that
TEMPORAL_ADDRESS and the other TEMPORAL_* variables name, and to the store that
--database or INFUSE_DATABASE_URL names (postgres://… or a SQLite file). It
registers the Infuse search attributes if it is allowed to.

E-mail: when INFUSE_SMTP_HOST is set, the worker also delivers the store's
outbox through that mail server, checking every 10 seconds:

  INFUSE_SMTP_HOST      the mail server (relay or submission port)
  INFUSE_SMTP_PORT      its port (default 587; 465 with INFUSE_SMTP_TLS=tls)
  INFUSE_SMTP_TLS       starttls (default: refuse to send without STARTTLS),
                        starttls-opportunistic, tls (TLS from the start), or
                        none (clear text: only for a server on loopback)
  INFUSE_SMTP_USERNAME  sign in with this user name (optional)
  INFUSE_SMTP_PASSWORD  and password
  INFUSE_MAIL_FROM      the sending address, e.g. "Infuse <infuse@example.org>"
                        (required with INFUSE_SMTP_HOST)

Without INFUSE_SMTP_HOST nothing is e-mailed: messages stay queued in the
outbox (see "infuse mail outbox") until a worker with it runs.

Every worker with INFUSE_SMTP_HOST shares the outbox: each claims the
messages it sends, so however many run, a message goes out once and one
person's messages go out in order. A worker that dies holding messages
leaves them to the others after five minutes.

Memory: the worker keeps the journeys and intakes it runs in memory between
their tasks, up to INFUSE_WORKER_CACHE of them (100 or more, about 100 KB
each; unset, 10000). One pushed out is replayed from its history at its
next task. The worker logs the size it runs with.

Operators: with --metrics ADDRESS (or INFUSE_METRICS_ADDR) the worker serves
Prometheus metrics on http://ADDRESS/metrics, a readiness check (the store
and Temporal answer) on /readyz and a liveness check on /healthz.`,
		Args: args(cobra.NoArgs),
		RunE: c.server("json", func(ctx context.Context) error {
			ctx, stop := untilSignalled(ctx)
			defer stop()
			ms, deliver, err := mailFromEnv() // checked first: a mistake there is reported at once
			if err != nil {
				return err
			}
			cache, setCache, err := workerCacheFromEnv()
			if err != nil {
				return err
			}
			if setCache {
				worker.SetCacheSize(cache)
			} else {
				cache = worker.DefaultCacheSize
			}
			m := c.startMetrics(metricsAddr)
			st, err := c.store(ctx, true)
			if err != nil {
				return err
			}
			tc, ns, err := c.temporalFromEnv(ctx)
			if err != nil {
				return err
			}
			acts, rehearsing, err := c.workerActivities(st, ns)
			if err != nil {
				return err
			}
			// Quiet hours and daily caps are days and hours of the
			// programme's clock, which a rehearsal compresses: it sends
			// every message as soon as it is due.
			ms.policy = ms.policy && !rehearsing
			if err := c.registerSearchAttributes(ctx, tc, ns); err != nil {
				return err
			}
			stopOps, err := c.serveOps(metricsAddr, m, st, tc)
			if err != nil {
				return err
			}
			defer stopOps()
			stopDelivery, err := c.workerDelivery(ctx, st, ms, deliver)
			if err != nil {
				return err
			}
			defer stopDelivery()
			c.logger().Info("worker running", zap.String("task_queue", temporalx.TaskQueue), zap.String("namespace", ns),
				zap.Int("workflow_cache", cache))
			return worker.Run(ctx, tc, acts)
		}),
	}
	metricsFlag(cmd, &metricsAddr)
	return cmd
}

// workerDelivery starts delivering the outbox if INFUSE_SMTP_HOST is set (deliver),
// and says loudly that nothing is e-mailed if it is not.
func (c *cli) workerDelivery(ctx context.Context, st store.Store, ms mailSettings, deliver bool) (func(), error) {
	if !deliver {
		var ignored []string
		for _, k := range []string{envSMTPPort, envSMTPTLS, envSMTPUsername, envSMTPPassword, envMailFrom} {
			if os.Getenv(k) != "" {
				ignored = append(ignored, k)
			}
		}
		c.logger().Warn(envSMTPHost+" is not set: this worker sends no e-mail; messages stay queued in the outbox "+
			"until a worker with "+envSMTPHost+" runs (see `infuse worker --help`)", ignoredFields(ignored)...)
		return func() {}, nil
	}
	return startDelivery(ctx, st, ms, workerMailPoll, c.logger())
}

// ignoredFields names the mail variables set without INFUSE_SMTP_HOST, if any.
func ignoredFields(ignored []string) []zap.Field {
	if len(ignored) == 0 {
		return nil
	}
	return []zap.Field{zap.Strings("ignored", ignored)}
}

// registerSearchAttributes adds the Infuse search attributes to the
// namespace. A cluster may not let workers do that (Temporal Cloud, a
// locked-down namespace): then an operator registers them, and the worker
// carries on with a warning.
func (c *cli) registerSearchAttributes(ctx context.Context, tc client.Client, ns string) error {
	err := temporalx.RegisterSearchAttributes(ctx, tc, ns)
	var denied *serviceerror.PermissionDenied
	var unimplemented *serviceerror.Unimplemented
	if errors.As(err, &denied) || errors.As(err, &unimplemented) {
		c.logger().Warn("cannot register the search attributes; ask an operator to register them",
			zap.Any("attributes", temporalx.SearchAttributes()), zap.Error(err))
		return nil
	}
	return err
}

func (c *cli) apiCommand() *cobra.Command {
	var addr, base, metricsAddr string
	var proxies []string
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API (production), configured like the worker",
		Args:  args(cobra.NoArgs),
		RunE: c.server("json", func(ctx context.Context) error {
			if err := checkBaseURL(base); err != nil {
				return err
			}
			ctx, stop := untilSignalled(ctx)
			defer stop()
			m := c.startMetrics(metricsAddr)
			svc, err := c.service(ctx, true)
			if err != nil {
				return err
			}
			ms, haveMail, err := mailFromEnv()
			if err != nil {
				return err
			}
			trusted, err := trustedProxies(proxies)
			if err != nil {
				return err
			}
			handler, drainSite, err := site(svc, ms, haveMail, siteOptions{baseURL: strings.TrimRight(base, "/"), trusted: trusted}, c.logger())
			if err != nil {
				return err
			}
			defer drainSite() // after the HTTP server has stopped
			httpErr, stopHTTP, err := serveHTTP(addr, instrument(m, handler), c.logger())
			if err != nil {
				return err
			}
			defer stopHTTP()
			defer housekeep(ctx, svc.Claims, c.logger())()
			stopOps, err := c.serveOps(metricsAddr, m, svc.Health, svc.Workflows.Temporal)
			if err != nil {
				return err
			}
			defer stopOps()
			return waitForStop(ctx, httpErr, c.logger())
		}),
	}
	cmd.Flags().StringVar(&addr, "http", defaultHTTPAddr, "the listen address")
	cmd.Flags().StringVar(&base, "base-url", os.Getenv(envBaseURL), "required: the address people use to reach the pages, for links in sign-in e-mails (e.g. https://infuse.example.gov.uk) (env "+envBaseURL+")")
	cmd.Flags().StringSliceVar(&proxies, "trusted-proxy", envList(envTrustedProxies),
		"a proxy in front of the API (address or CIDR range; repeat or separate with commas) whose X-Forwarded-For names the client, for the sign-in limits; none: the peer is the client (env "+envTrustedProxies+")")
	metricsFlag(cmd, &metricsAddr)
	return cmd
}
