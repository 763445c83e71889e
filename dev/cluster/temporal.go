package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/infuse-cymru/journeys/internal/logging"
)

// Postgres is how the cluster reaches PostgreSQL.
type Postgres struct {
	Host string
	Port int
	User string // trusted, or with Password
	// Password, if any, is passed to the schema tool and the server.
	Password string
}

// URL is the connection URL of database db.
func (pg Postgres) URL(db string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	u.User = url.User(pg.User)
	if pg.Password != "" {
		u.User = url.UserPassword(pg.User, pg.Password)
	}
	return u.String()
}

// TemporalOptions configure StartTemporal.
type TemporalOptions struct {
	Binaries Binaries
	Postgres Postgres
	// Dir holds the configuration and the log.
	Dir string
	// Namespace is registered once the server is up.
	Namespace string
}

// Temporal is a running Temporal server on PostgreSQL.
type Temporal struct {
	*Process
	Address   string // the frontend's host:port
	Namespace string
	opts      TemporalOptions
	// databases are the persistence and visibility databases, named
	// databasePrefix + the time they were made + a suffix.
	databases [2]string
}

// databasePrefix starts the name of every database StartTemporal makes,
// so that SweepStale can find those a killed run left behind.
const databasePrefix = "infuse_cluster_"

// StartTemporal creates two fresh databases with the server's own schema
// tool and embedded schema (as Temporal's admin-tools image does), starts
// the server on them, waits until its frontend answers and registers the
// namespace. Stop it with Stop, then DropDatabases; if it fails, it has
// removed what it made.
func StartTemporal(ctx context.Context, o TemporalOptions) (_ *Temporal, err error) {
	stamp := strconv.FormatInt(time.Now().Unix(), 10) + "_" + strconv.Itoa(rand.IntN(1e6))
	t := &Temporal{Namespace: o.Namespace, opts: o,
		databases: [2]string{databasePrefix + stamp + "_temporal", databasePrefix + stamp + "_visibility"}}
	defer func() {
		if err != nil {
			if t.Process != nil {
				_ = t.Kill()
			}
			_ = t.DropDatabases(context.WithoutCancel(ctx))
		}
	}()
	for i, schema := range []string{"postgresql/v12/temporal", "postgresql/v12/visibility"} {
		if err := setUpDatabase(ctx, o.Binaries.SQLTool, o.Postgres, t.databases[i], schema); err != nil {
			return nil, err
		}
	}
	ports, err := freePorts(9)
	if err != nil {
		return nil, err
	}
	configPath := filepath.Join(o.Dir, "temporal.yaml")
	if err := writeServerConfig(configPath, t, ports); err != nil {
		return nil, err
	}
	t.Address = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	if t.Process, err = StartProcess("temporal", filepath.Join(o.Dir, "temporal.log"), o.Binaries.Temporal,
		[]string{"--config-file", configPath, "--allow-no-auth", "start"}, os.Environ()); err != nil {
		return nil, err
	}
	if err := t.WaitServing(ctx); err != nil {
		return nil, err
	}
	return t, t.registerNamespace(ctx)
}

// WaitServing waits until the frontend answers a health check, as it does
// once the server has started (or started again).
func (t *Temporal) WaitServing(ctx context.Context) error {
	var last error
	for {
		c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Namespace: "temporal-system", Logger: silent})
		if err == nil {
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			c.Close()
			if err == nil {
				return nil
			}
		}
		last = err
		if !t.Running() {
			return fmt.Errorf("the Temporal server exited while starting; its log, %s:\n%s", t.LogPath, Tail(t.Log(), 4000))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Temporal server at %s did not answer (%v); its log, %s:\n%s", t.Address, last, t.LogPath, Tail(t.Log(), 4000))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (t *Temporal) registerNamespace(ctx context.Context) error {
	c, err := client.NewNamespaceClient(client.Options{HostPort: t.Address, Logger: silent})
	if err != nil {
		return err
	}
	defer c.Close()
	err = c.Register(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace: t.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	if err != nil {
		return fmt.Errorf("registering namespace %q: %w", t.Namespace, err)
	}
	// The frontend caches namespaces; wait until it knows this one.
	for {
		if _, err = c.Describe(ctx, t.Namespace); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("namespace %q was registered but is not served: %w", t.Namespace, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DropDatabases removes the server's databases; stop the server first.
// A database that is not there (never made) is not an error.
func (t *Temporal) DropDatabases(ctx context.Context) error {
	return dropDatabases(ctx, t.opts.Binaries.SQLTool, t.opts.Postgres, t.databases[:])
}

func dropDatabases(ctx context.Context, tool string, pg Postgres, names []string) error {
	var errs []error
	for _, db := range names {
		err := sqlTool(ctx, tool, pg, db, "drop-database", "--force")
		if err != nil && !strings.Contains(err.Error(), "does not exist") {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// SweepStale drops the databases that runs killed before their cleanup
// (a CI job timing out, a developer's Ctrl+C) left more than an hour ago.
func SweepStale(ctx context.Context, tool string, pg Postgres) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT datname FROM pg_database WHERE datname LIKE $1", databasePrefix+"%")
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	var stale []string
	for _, name := range names {
		rest, ok := strings.CutPrefix(name, databasePrefix)
		secs, err := strconv.ParseInt(strings.SplitN(rest, "_", 2)[0], 10, 64)
		if ok && err == nil && time.Since(time.Unix(secs, 0)) > time.Hour {
			stale = append(stale, name)
		}
	}
	return dropDatabases(ctx, tool, pg, stale)
}

// setUpDatabase creates a database and its schema at the newest version
// the server knows, the way temporal-sql-tool is meant to be run.
func setUpDatabase(ctx context.Context, tool string, pg Postgres, db, schema string) error {
	for _, args := range [][]string{
		{"create-database"},
		{"setup-schema", "--version", "0.0"},
		{"update-schema", "--schema-name", schema},
	} {
		if err := sqlTool(ctx, tool, pg, db, args...); err != nil {
			return err
		}
	}
	return nil
}

func sqlTool(ctx context.Context, tool string, pg Postgres, db string, args ...string) error {
	all := []string{"--plugin", "postgres12", "--endpoint", pg.Host, "--port", strconv.Itoa(pg.Port), "--user", pg.User, "--database", db}
	cmd := exec.CommandContext(ctx, tool, append(all, args...)...)
	// The password goes by the environment, not the command line, which
	// every user of the machine can read.
	cmd.Env = append(os.Environ(), "SQL_PASSWORD="+pg.Password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("temporal-sql-tool %s on database %s: %w\n%s", args[0], db, err, Tail(string(out), 2000))
	}
	return nil
}

// serverConfig is the server's configuration: Temporal's
// development-postgres12.yaml, on ports of this run's choosing, with
// dynamic configuration that makes timers fire on time and new search
// attributes usable at once (the defaults batch both for throughput).
// Its connection pools are small: each of the four services has its own,
// and the machine's PostgreSQL (100 connections) also serves the store
// suite running beside it.
var serverConfig = template.Must(template.New("temporal.yaml").Parse(`log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: 4
  datastores:
    default:
      sql: &sql
        pluginName: postgres12
        databaseName: {{.Database}}
        connectAddr: "{{.PG}}"
        connectProtocol: tcp
        user: {{.User}}
        password: "{{.Password}}"
        maxConns: 8
        maxIdleConns: 8
        maxConnLifetime: 1h
    visibility:
      sql:
        <<: *sql
        databaseName: {{.Visibility}}
        maxConns: 2
        maxIdleConns: 2
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
  frontend:
    rpc: {grpcPort: {{index .Ports 0}}, membershipPort: {{index .Ports 1}}, httpPort: {{index .Ports 2}}, bindOnLocalHost: true}
  history:
    rpc: {grpcPort: {{index .Ports 3}}, membershipPort: {{index .Ports 4}}, bindOnLocalHost: true}
  matching:
    rpc: {grpcPort: {{index .Ports 5}}, membershipPort: {{index .Ports 6}}, bindOnLocalHost: true}
  worker:
    rpc: {grpcPort: {{index .Ports 7}}, membershipPort: {{index .Ports 8}}, bindOnLocalHost: true}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: 127.0.0.1:{{index .Ports 0}}
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: {{.DynamicConfig}}
  pollInterval: 10s
`))

const dynamicConfig = `system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
history.timerProcessorMaxTimeShift:
  - value: 10ms
frontend.namespaceCacheRefreshInterval:
  - value: 100ms
`

func writeServerConfig(path string, t *Temporal, ports []int) error {
	o := t.opts
	dc := filepath.Join(filepath.Dir(path), "dynamicconfig.yaml")
	if err := os.WriteFile(dc, []byte(dynamicConfig), 0o600); err != nil {
		return err
	}
	var b bytes.Buffer
	err := serverConfig.Execute(&b, map[string]any{
		"Database": t.databases[0], "Visibility": t.databases[1],
		"PG": net.JoinHostPort(o.Postgres.Host, strconv.Itoa(o.Postgres.Port)), "User": o.Postgres.User, "Password": o.Postgres.Password,
		"Ports": ports, "DynamicConfig": dc,
	})
	if err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// freePorts finds n ports free on loopback now, below 32768: Temporal
// keeps membership ports in a PostgreSQL smallint, and the kernel's own
// picks (":0") are above it. Another program could take one before the
// server does; on this machine nothing else binds in this range.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for tries := 0; len(ports) < n; tries++ {
		if tries > 1000 {
			return nil, errors.New("found no free ports between 20000 and 32767 on 127.0.0.1")
		}
		port := 20000 + rand.IntN(12768)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		ls = append(ls, l)
		ports = append(ports, port)
	}
	return ports, nil
}

// FreePort is one port free on loopback now.
func FreePort() (int, error) {
	p, err := freePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// Tail is the last n bytes of s: the end of a log, for a failure to show.
func Tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// silent drops what the harness's own clients log: they only check health
// and register namespaces, and report failures as errors.
var silent = logging.NewTemporalLogger(zap.NewNop())

// Database is the name of the server's persistence database.
func (t *Temporal) Database() string { return t.databases[0] }
