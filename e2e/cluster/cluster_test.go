// Package cluster_test runs the system as a council runs it in production,
// on this machine and without Docker: a Temporal server whose persistence
// and visibility are PostgreSQL, two `infuse worker` processes and an
// `infuse api` process, all separate programs configured only through the
// documented environment variables. An intake of 52 goes through the HTTP
// API from application to completion on a rehearsal clock while a worker
// is killed again and again and the Temporal server is restarted; then
// every journey's outcome, event log and e-mail is checked, and every
// workflow history the cluster wrote is replayed against this code.
package cluster_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/cluster"
	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
)

const (
	// clusterTimeout bounds the whole test: building (minutes the first
	// time, the Temporal server being compiled), set-up, six programme
	// months and the checks.
	clusterTimeout = 20 * time.Minute
	namespace      = "infuse-rehearsal" // a rehearsal runs only in a namespace named for it
	mailFrom       = "Infuse <infuse@cluster.test>"
)

func TestClusterOnPostgreSQL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a Temporal cluster on PostgreSQL for six compressed programme months")
	}
	pg := postgresOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	s := startSystem(ctx, t, pg, previousRelease)
	r := s.runIntake(ctx)
	s.check(ctx, r)
	s.replayHistories(ctx, r)
}

// postgresOrSkip is how to reach the machine's PostgreSQL, or skips the
// test where there is none (scripts/test fails on any skip, so under it
// this test always runs).
func postgresOrSkip(t testing.TB) cluster.Postgres {
	u := pgstore.TestDatabaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Skipf("the cluster test needs PostgreSQL, which is not reachable at %s (%v): start it with "+
			"pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or set %s", u, err, pgstore.TestDatabaseURLEnv)
	}
	defer conn.Close(ctx)
	cfg := conn.Config()
	return cluster.Postgres{Host: cfg.Host, Port: int(cfg.Port), User: cfg.User, Password: cfg.Password}
}

// system is the running cluster and what the test uses to watch it.
type system struct {
	t        testing.TB
	dir      string
	temporal *cluster.Temporal
	workers  []*cluster.Process
	api      *cluster.Process
	env      []string // what every infuse process is given
	bins     cluster.Binaries
	storeURL string
	pg       cluster.Postgres
	store    *pgstore.Store
	mailbox  *devmail.Server
	client   *apiClient
	tc       client.Client // the test's own view of Temporal
	metrics  string        // where worker-1 serves /metrics
	// program is the infuse build the workers and the API run; until an
	// upgrade, an earlier release's (bins.Infuse is this tree's).
	program string
	// deliverers is how many workers deliver mail: the first this many.
	deliverers int
	// killedDeliverers are the names of the deliverers whose worker was
	// killed (bounce): only their claims may lapse with a send under way.
	killedDeliverers map[string]bool
}

// startSystem starts the cluster with infuse built from this tree or, if
// from names a commit, as it was there (the release a rolling upgrade
// starts from, see system.upgrade). An old build delivers mail from one
// worker only, as the upgrade to the first build with outbox claims had to.
func startSystem(ctx context.Context, t testing.TB, pg cluster.Postgres, from string) *system {
	s := &system{t: t, dir: t.TempDir(), deliverers: 2}
	var err error
	began := time.Now()
	if s.bins, err = cluster.Build(ctx, s.dir); err != nil {
		t.Fatal(err)
	}
	s.program = s.bins.Infuse
	if from != "" {
		if s.program, err = cluster.BuildInfuseAt(ctx, s.dir, from); err != nil {
			t.Fatal(err)
		}
		s.deliverers = 1
	}
	t.Logf("built the Temporal server, its schema tool and infuse in %s", time.Since(began).Round(time.Second))
	s.startTemporal(ctx, pg)
	if s.tc, err = client.DialContext(ctx, client.Options{HostPort: s.temporal.Address, Namespace: namespace,
		Logger: logging.NewTemporalLogger(zap.NewNop())}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.tc.Close)
	s.storeURL = pgstore.TestSchemaURL(t)
	if s.mailbox, err = devmail.Start(devmail.Options{Dir: filepath.Join(s.dir, "mailbox")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.mailbox.Close() })
	s.env = []string{
		"HOME=" + s.dir, // no operator's Temporal profile is read
		"PATH=" + os.Getenv("PATH"),
		"TEMPORAL_ADDRESS=" + s.temporal.Address,
		"TEMPORAL_NAMESPACE=" + namespace,
		"INFUSE_DATABASE_URL=" + s.storeURL,
		"INFUSE_LOG_LEVEL=info",
		"INFUSE_SMTP_HOST=" + s.mailbox.Host(),
		"INFUSE_SMTP_PORT=" + strconv.Itoa(s.mailbox.Port()),
		"INFUSE_SMTP_TLS=none",
		"INFUSE_MAIL_FROM=" + mailFrom,
	}
	// The workers rehearse from the start, though the clock runs fast only
	// from a moment far ahead (it is the real clock until then): a
	// rehearsal sends mail as soon as it is due, and a set-up made in the
	// evening would otherwise wait for working hours. The first worker
	// creates the store's tables; the second starts once it has.
	metricsPort, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	s.metrics = "127.0.0.1:" + strconv.Itoa(metricsPort)
	placeholder := activities.RehearsalClock{From: time.Now().Add(24 * time.Hour).Truncate(time.Second), Speed: speed}
	s.workers = append(s.workers, s.start(ctx, "worker-1", s.workerEnv(0, placeholder), "worker"))
	s.waitLog(ctx, s.workers[0], "worker running")
	s.workers = append(s.workers, s.start(ctx, "worker-2", s.workerEnv(1, placeholder), "worker"))
	port, err := cluster.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s.api = s.start(ctx, "api", s.env, "api", "--http", addr, "--base-url", "http://"+addr)
	s.client = &apiClient{base: "http://" + addr, http: &http.Client{}}
	s.waitHealthy(ctx)
	if s.store, err = pgstore.Open(ctx, s.storeURL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.store.Close)
	return s
}

// reportingTo is the system with failures reported to t: a sub-benchmark's.
func (s *system) reportingTo(t testing.TB) *system {
	c := *s
	c.t = t
	return &c
}

// startTemporal starts the server on two fresh databases and makes sure
// they are dropped however the test ends (and those of any earlier run
// that was killed before it could drop its own).
func (s *system) startTemporal(ctx context.Context, pg cluster.Postgres) {
	if err := cluster.SweepStale(ctx, s.bins.SQLTool, pg); err != nil {
		s.t.Logf("dropping databases earlier runs left: %v", err)
	}
	var err error
	s.temporal, err = cluster.StartTemporal(ctx, cluster.TemporalOptions{Binaries: s.bins, Postgres: pg, Dir: s.dir, Namespace: namespace})
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = s.temporal.Stop(10 * time.Second)
		if err := s.temporal.DropDatabases(ctx); err != nil {
			s.t.Errorf("dropping Temporal's databases: %v", err)
		}
	})
	s.pg = pg
	s.t.Logf("Temporal %s on PostgreSQL database %s (plugin postgres12)", s.temporal.Address, s.temporal.Database())
}

// start runs the infuse binary as a process of the cluster, stopped at the
// end of the test.
func (s *system) start(ctx context.Context, name string, env []string, args ...string) *cluster.Process {
	p, err := cluster.StartProcess(name, filepath.Join(s.dir, name+".log"), s.program, args, env)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		_ = p.Stop(10 * time.Second)
		if s.t.Failed() {
			s.t.Logf("%s's log (%s), the end:\n%s", name, p.LogPath, tailOf(p.Log(), 6000))
		}
	})
	return p
}

// waitLog waits until p has logged text since it last started.
func (s *system) waitLog(ctx context.Context, p *cluster.Process, text string) {
	if err := waitStarted(ctx, p, text); err != nil {
		s.t.Fatal(err)
	}
}

// waitStarted waits until p has logged text since it last started, and
// starts it again if it exits first, as a supervisor would (a worker
// restarted while PostgreSQL turns connections away exits). It may be
// called from any goroutine.
func waitStarted(ctx context.Context, p *cluster.Process, text string) error {
	for restarts := 0; ; {
		if strings.Contains(p.LastRun(), text) {
			return nil
		}
		if !p.Running() {
			if restarts++; restarts > 5 {
				return fmt.Errorf("%s exited %d times before it logged %q:\n%s", p.Name, restarts, text, tailOf(p.Log(), 4000))
			}
			if err := p.Start(); err != nil {
				return err
			}
		}
		if !sleepUntil(ctx, time.Now().Add(50*time.Millisecond)) {
			return fmt.Errorf("%s did not log %q: %w\n%s", p.Name, text, ctx.Err(), tailOf(p.LastRun(), 4000))
		}
	}
}

func (s *system) waitHealthy(ctx context.Context) {
	s.eventually(ctx, "the API to answer /healthz", func() (bool, error) {
		if !s.api.Running() {
			return false, fmt.Errorf("the api exited:\n%s", tailOf(s.api.Log(), 4000))
		}
		resp, err := s.client.http.Get(s.client.base + "/healthz")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
}

// eventually polls cond until it holds, fails, or ctx ends.
func (s *system) eventually(ctx context.Context, what string, cond func() (bool, error)) {
	s.t.Helper()
	for {
		ok, err := cond()
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", what, err)
		}
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			s.t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// temporalRows counts the rows of a table in Temporal's persistence
// database: proof that the cluster really keeps its state in PostgreSQL.
func (s *system) temporalRows(ctx context.Context, table string) (int, error) {
	conn, err := pgx.Connect(ctx, s.pg.URL(s.temporal.Database()))
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{table}.Sanitize()).Scan(&n)
	return n, err
}

func tailOf(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
