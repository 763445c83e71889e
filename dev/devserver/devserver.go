// Package devserver runs a complete Temporal server inside the `infuse dev`
// process, so that a fresh machine needs nothing but the binary to run the
// whole system.
//
// Unlike `temporal server start-dev`'s default, the state is kept in a SQLite
// file under a data directory: stopping and restarting the process keeps
// every running intake and journey, their timers and their histories, as a
// six-month programme needs. On first start the schema is created and the
// namespace registered with the custom search attributes; on later starts the
// existing namespace is kept and any search attribute added since is
// registered through the operator service.
//
// It is for development and small single-machine installations only; in
// production the worker and api processes connect to a Temporal cluster.
package devserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	serverlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// Defaults for Options.
const (
	DefaultIP        = "127.0.0.1"
	DefaultPort      = 7233
	DefaultNamespace = "default"

	// DatabaseFile is the name of the SQLite file inside Options.DataDir.
	DatabaseFile = "temporal.db"

	clusterName = "active"
)

// Options configures Start.
type Options struct {
	// DataDir holds the SQLite database (DatabaseFile). It is created if
	// missing. Required.
	DataDir string
	// IP the frontend (and the UI) listen on. Default DefaultIP. The internal
	// services always listen on 127.0.0.1.
	IP string
	// Port of the frontend gRPC service, the address clients and workers dial.
	// Default DefaultPort.
	Port int
	// UIPort is the port of the Temporal Web UI; 0 means no UI.
	UIPort int
	// Namespace to create (if missing) and to check readiness against.
	// Default DefaultNamespace.
	Namespace string
	// SearchAttributes are custom search attributes registered on Namespace,
	// typically temporalx.SearchAttributes().
	SearchAttributes map[string]enumspb.IndexedValueType
	// Logger receives the server's logs (named "temporal"); nil discards them.
	Logger *zap.Logger
	// ServerLogLevel is the lowest level of the Temporal server's own logs
	// that reach Logger: "debug", "info", "warn" or "error". Default "warn":
	// the server is chatty at info.
	ServerLogLevel string
}

// Server is a running embedded Temporal server. Stop it with Stop.
type Server struct {
	logGate  *gate
	server   temporal.Server
	ui       *uiServer
	client   client.Client
	lock     *dirLock
	frontend string
	uiAddr   string
	dbPath   string
	logger   *zap.Logger
	stopOnce sync.Once
}

// Start starts the server and returns once the frontend answers for
// Options.Namespace and the search attributes are registered (and the UI, if
// asked for, accepts connections). ctx bounds the start-up only; the server
// runs until Stop.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	logger := o.Logger.Named("temporal")

	if err := os.MkdirAll(o.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("devserver: creating data directory: %w", err)
	}
	lock, err := lockDir(o.DataDir)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()

	dialHost := o.IP
	if ip := net.ParseIP(o.IP); ip != nil && ip.IsUnspecified() {
		dialHost = "127.0.0.1"
	}
	frontendAddr := net.JoinHostPort(dialHost, strconv.Itoa(o.Port))
	if err := checkPortFree(o.IP, o.Port, "frontend (Options.Port)"); err != nil {
		return nil, err
	}
	if o.UIPort != 0 {
		if err := checkPortFree(o.IP, o.UIPort, "Web UI (Options.UIPort)"); err != nil {
			return nil, err
		}
	}

	dbPath := filepath.Join(o.DataDir, DatabaseFile)
	sqlConf, err := prepareDatabase(dbPath, o.Namespace, o.SearchAttributes)
	if err != nil {
		return nil, err
	}

	conf, err := buildConfig(o, sqlConf, dialHost)
	if err != nil {
		return nil, err
	}
	srvZap, logGate := serverZap(logger, o.ServerLogLevel)
	srvLogger := serverlog.NewZapLogger(srvZap)
	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("devserver: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, srvLogger)
	if err != nil {
		return nil, fmt.Errorf("devserver: claim mapper: %w", err)
	}
	hosts := map[primitives.ServiceName]static.Hosts{
		primitives.FrontendService: static.SingleLocalHost(frontendAddr),
	}
	for _, svc := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		hosts[svc] = static.SingleLocalHost(net.JoinHostPort("127.0.0.1", strconv.Itoa(conf.Services[string(svc)].RPC.GRPCPort)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(hosts),
		temporal.WithLogger(srvLogger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// One small machine: a modest mutable-state cache, and visibility
			// list calls (dashboards, the UI) not throttled at 10/s.
			dynamicconfig.HistoryCacheHostLevelMaxSize.Key():                 8096,
			dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("devserver: creating Temporal server: %w", err)
	}
	if err := srv.Start(); err != nil {
		_ = srv.Stop()
		logGate.close()
		return nil, fmt.Errorf("devserver: starting Temporal server: %w", err)
	}
	s := &Server{
		logGate:  logGate,
		server:   srv,
		lock:     lock,
		frontend: frontendAddr,
		dbPath:   dbPath,
		logger:   logger,
	}
	defer func() {
		if err != nil {
			s.stop()
		}
	}()

	s.client, err = waitReady(ctx, frontendAddr, o.Namespace, srvZap)
	if err != nil {
		return nil, err
	}
	// Registers attributes that were added to Options after the namespace
	// was created in an earlier run; a no-op otherwise.
	if err := temporalx.AddSearchAttributes(ctx, s.client, o.Namespace, o.SearchAttributes); err != nil {
		return nil, fmt.Errorf("devserver: %w", err)
	}

	if o.UIPort != 0 {
		s.ui, err = startUI(ctx, o, frontendAddr, dialHost)
		if err != nil {
			return nil, err
		}
		s.uiAddr = s.ui.address
	}
	logger.Info("Temporal dev server started",
		zap.String("frontend", s.frontend), zap.String("ui", s.uiAddr),
		zap.String("namespace", o.Namespace), zap.String("database", dbPath))
	return s, nil
}

// FrontendAddress is the host:port clients and workers dial.
func (s *Server) FrontendAddress() string { return s.frontend }

// UIAddress is the Web UI's URL ("http://host:port"), or "" without a UI.
func (s *Server) UIAddress() string { return s.uiAddr }

// DatabasePath is the SQLite file holding the server's state.
func (s *Server) DatabasePath() string { return s.dbPath }

// Stop stops the UI and the server and releases the data directory. Workflows
// keep their state in the database and carry on at the next Start. Safe to
// call more than once.
func (s *Server) Stop() {
	s.stopOnce.Do(s.stop)
}

func (s *Server) stop() {
	if s.client != nil {
		s.client.Close()
	}
	if s.ui != nil {
		s.ui.stop()
	}
	s.logGate.stopping()
	if err := s.server.Stop(); err != nil {
		s.logger.Warn("stopping Temporal server", zap.Error(err))
	}
	s.logGate.close()
	s.lock.release()
}

func (o *Options) setDefaults() error {
	if o.DataDir == "" {
		return errors.New("devserver: Options.DataDir is required (the directory for the SQLite database)")
	}
	abs, err := filepath.Abs(o.DataDir)
	if err != nil {
		return fmt.Errorf("devserver: data directory: %w", err)
	}
	o.DataDir = abs
	if o.IP == "" {
		o.IP = DefaultIP
	}
	if net.ParseIP(o.IP) == nil {
		return fmt.Errorf("devserver: Options.IP %q is not an IP address", o.IP)
	}
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.Port < 0 || o.Port > 65535 || o.UIPort < 0 || o.UIPort > 65535 {
		return fmt.Errorf("devserver: ports out of range (Port %d, UIPort %d)", o.Port, o.UIPort)
	}
	if o.UIPort != 0 && o.UIPort == o.Port {
		return fmt.Errorf("devserver: Options.UIPort and Options.Port are both %d", o.Port)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.ServerLogLevel == "" {
		o.ServerLogLevel = "warn"
	}
	if _, err := logging.ParseLevel(o.ServerLogLevel); err != nil {
		return fmt.Errorf("devserver: Options.ServerLogLevel: %w", err)
	}
	return nil
}

// prepareDatabase creates the schema if the file is new and registers the
// namespace if it is missing (an existing namespace is left untouched).
func prepareDatabase(dbPath, namespace string, attrs map[string]enumspb.IndexedValueType) (*config.SQL, error) {
	sqlConf := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      dbPath,
		ConnectAttributes: map[string]string{"mode": "rwc"},
	}
	if _, err := os.Stat(dbPath); errors.Is(err, os.ErrNotExist) {
		if err := sqliteschema.SetupSchema(sqlConf); err != nil {
			// Leave no half-initialised file behind: the next start would
			// take it for a complete one. Nor its journal: SQLite would roll
			// a leftover journal back into the next, new file.
			for _, f := range SQLiteFiles(dbPath) {
				_ = os.Remove(f)
			}
			return nil, fmt.Errorf("devserver: creating Temporal schema in %s: %w", dbPath, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("devserver: database file: %w", err)
	}
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, namespace, false, attrs)
	if err != nil {
		return nil, fmt.Errorf("devserver: namespace %q: %w", namespace, err)
	}
	if err := sqliteschema.CreateNamespaces(sqlConf, ns); err != nil {
		return nil, fmt.Errorf("devserver: registering namespace %q: %w", namespace, err)
	}
	return sqlConf, nil
}

func buildConfig(o Options, sqlConf *config.SQL, dialHost string) (*config.Config, error) {
	var conf config.Config
	frontendAddr := net.JoinHostPort(dialHost, strconv.Itoa(o.Port))

	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = "127.0.0.1"

	const store = "sqlite-default"
	conf.Persistence.DefaultStore = store
	conf.Persistence.VisibilityStore = store
	conf.Persistence.NumHistoryShards = 1
	conf.Persistence.DataStores = map[string]config.DataStore{store: {SQL: sqlConf}}

	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation:       map[string]cluster.ClusterInformation{},
	}
	conf.DCRedirectionPolicy.Policy = "noop"

	// The frontend's HTTP API (and Nexus endpoints) on a free port, as
	// `temporal server start-dev` does.
	// The internal ports must not be the ones asked for: the UI's is free
	// until the UI starts, after the server, and a port the kernel hands
	// out as free may be it (the UI server then exits the process).
	httpPort, err := freePort(o.Port, o.UIPort)
	if err != nil {
		return nil, err
	}
	conf.ClusterMetadata.ClusterInformation[clusterName] = cluster.ClusterInformation{
		Enabled:                true,
		InitialFailoverVersion: 1,
		RPCAddress:             frontendAddr,
		HTTPAddress:            net.JoinHostPort(dialHost, strconv.Itoa(httpPort)),
	}
	conf.Services = map[string]config.Service{
		"frontend": {RPC: config.RPC{GRPCPort: o.Port, HTTPPort: httpPort, BindOnIP: o.IP}},
	}
	taken := []int{o.Port, o.UIPort, httpPort}
	for _, name := range []string{"history", "matching", "worker"} {
		port, err := freePort(taken...)
		if err != nil {
			return nil, err
		}
		taken = append(taken, port)
		conf.Services[name] = config.Service{RPC: config.RPC{GRPCPort: port, BindOnIP: "127.0.0.1"}}
	}

	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	// The server's own worker service (system workflows) dials the frontend here.
	conf.PublicClient.HostPort = frontendAddr
	return &conf, nil
}

// waitReady dials the frontend until it answers for namespace.
func waitReady(ctx context.Context, addr, namespace string, logger *zap.Logger) (client.Client, error) {
	// The SDK warns on every failed attempt; only errors are worth showing.
	sdkZap := logger
	if logger.Core().Enabled(zapcore.WarnLevel) {
		sdkZap = logger.WithOptions(zap.IncreaseLevel(zapcore.ErrorLevel))
	}
	var lastErr error
	for {
		opts := client.Options{
			HostPort:  addr,
			Namespace: namespace,
			Logger:    logging.NewTemporalLogger(sdkZap),
		}
		temporalx.WatchTaskAttempts(&opts) // `infuse dev` runs its worker on this client
		c, err := client.DialContext(ctx, opts)
		if err == nil {
			_, err = c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
			if err == nil {
				return c, nil
			}
			c.Close()
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("devserver: frontend %s not ready for namespace %q: %w (last error: %v)", addr, namespace, ctx.Err(), lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func checkPortFree(ip string, port int, what string) error {
	l, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("devserver: %s port %d on %s is not free (is another Temporal server running? choose another port): %w", what, port, ip, err)
	}
	return l.Close()
}

// freePort is a port free on loopback now, other than any of taken.
//
// It is chosen at random below Linux's ephemeral range (32768 up), not
// handed out by the kernel from within it: the server binds it a moment
// later, and in that moment any connection this machine opens may be
// given a port of that range as its own (a test suite's hundreds of
// connections to PostgreSQL and Temporal took one, and the server, unable
// to bind, exited).
func freePort(taken ...int) (int, error) {
	const low, high = 20000, 32768
	for range 100 {
		port := low + rand.IntN(high-low)
		if slices.Contains(taken, port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("devserver: finding a free port between %d and %d: the 100 tried were all taken (%v)", low, high-1, taken)
}

// SQLiteFiles are the files SQLite may keep for the database at path: the
// database itself, its rollback journal, its write-ahead log and its
// shared memory.
func SQLiteFiles(path string) []string {
	return []string{path, path + "-journal", path + "-wal", path + "-shm"}
}
