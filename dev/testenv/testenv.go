// Package testenv starts, for tests, what Infuse Journeys runs on: a
// Temporal server with the Infuse search attributes, and the real worker
// over a store, on a test clock (Planner) where a journey's months must
// pass in seconds.
//
// Each test gets a namespace of its own on one shared server: starting a
// server takes seconds (many more under the race detector), a namespace a
// moment, and tests in different namespaces cannot see each other's
// workflows or task queues, so they may run in parallel.
// (A few more namespaces, with fixed names, have the server suggest
// continue-as-new early: NewSuggestingServer.)
//
// The server is the one at the address in $INFUSE_TEST_TEMPORAL when that is
// set: scripts/test starts one (cmd/temporal-for-tests), built without the
// race detector, for every test binary of the run, because the server under
// -race is more than ten times slower than the code it serves and the
// compressed test clocks need it prompt. Otherwise a test binary starts one
// in-process on first use, and Main, called from TestMain, stops it at the
// end.
package testenv

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/temporalx"
	"github.com/infuse-cymru/journeys/worker"
)

// serverConfig is the shared server's dynamic configuration.
//
// Two defaults of the history service are harmless when timers last hours
// or days but not on the compressed test clock, where a second is more than
// four programme days and a reminder comes only two days before its
// deadline:
//
//   - history.timerProcessorMaxTimeShift (1 s): no timer fires sooner than
//     this after it was created;
//   - history.timerProcessorMaxPollRPS (20): the timer queue is read at most
//     20 times a second, so with a few dozen workflows timers fired up to
//     0.4 s late.
//
// With these, timers fire within a few tens of milliseconds (the end-to-end
// test logs the worst lateness of a full journey). A namespace registered
// while the server runs is served by the frontend once its namespace cache
// has refreshed (history and matching read a namespace they do not know
// through to the database), so that happens often. The search-attribute
// setting is temporaltest's own default, kept because this replaces its
// configuration.
//
// In the suggesting namespaces (SuggestingNamespaceE2E...), the server suggests
// continue-as-new after SuggestContinueAsNewAt events instead of 4 Ki
// (limit.historyCount.suggestContinueAsNew, a per-namespace setting): the
// workflows take the suggestion, and a test there sees them do it within
// an intake's first few applications. Elsewhere the default stands, so the
// other tests' histories are shaped as in production.
var serverConfig = dynamicconfig.StaticClient{
	dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): true,
	dynamicconfig.TimerProcessorMaxTimeShift.Key():              10 * time.Millisecond,
	dynamicconfig.TimerProcessorMaxPollRPS.Key():                1000,
	dynamicconfig.NamespaceCacheRefreshInterval.Key():           100 * time.Millisecond,
	dynamicconfig.HistoryCountSuggestContinueAsNew.Key():        suggestingEarly(),
}

// suggestingEarly sets SuggestContinueAsNewAt in each suggesting namespace.
func suggestingEarly() []dynamicconfig.ConstrainedValue {
	var in []dynamicconfig.ConstrainedValue
	for _, ns := range suggestingNamespaces {
		in = append(in, dynamicconfig.ConstrainedValue{
			Constraints: dynamicconfig.Constraints{Namespace: ns},
			Value:       SuggestContinueAsNewAt,
		})
	}
	return in
}

// The test server's namespaces in which the server suggests
// continue-as-new early (serverConfig), one for each test package that
// uses them. A test there terminates what it finds running (see
// NewSuggestingServer), and the shared server serves several test
// binaries at once: two packages sharing a namespace would terminate each
// other's workflows. Their names are fixed because the server's
// configuration names them before any test runs.
const (
	SuggestingNamespaceE2E      = "test-suggests-continue-as-new"
	SuggestingNamespaceBenchref = "test-suggests-continue-as-new-benchref"
)

var suggestingNamespaces = []string{SuggestingNamespaceE2E, SuggestingNamespaceBenchref}

// SuggestContinueAsNewAt is how many events a run's history has in
// each suggesting namespace when the server starts suggesting continue-as-new.
const SuggestContinueAsNewAt = 40

// ServerEnv names the variable holding the address of a running shared
// test server (host:port) that tests use instead of starting their own.
const ServerEnv = "INFUSE_TEST_TEMPORAL"

// shared is the test binary's Temporal server: the one at $INFUSE_TEST_TEMPORAL
// or, without it, one started in-process on first use.
var shared struct {
	once sync.Once
	// ts is the in-process server, nil when the server is another process's.
	ts       *temporaltest.TestServer
	hostPort string
	// admin registers the tests' namespaces. It is taken once: temporaltest
	// makes its default client on first use without a lock, unsafely for
	// tests running in parallel.
	admin client.Client
	err   error
}

func sharedServer() error {
	shared.once.Do(func() {
		if addr := os.Getenv(ServerEnv); addr != "" {
			shared.hostPort = addr
			shared.admin, shared.err = dialShared(addr)
			return
		}
		shared.ts, shared.err = StartServer()
		if shared.err == nil {
			shared.hostPort, shared.admin = shared.ts.GetFrontendHostPort(), shared.ts.GetDefaultClient()
		}
	})
	return shared.err
}

// dialShared connects to the shared server at addr, trying for a minute:
// on a loaded machine one check can take longer than the client waits,
// and a first failure would otherwise fail every test of the package.
func dialShared(addr string) (client.Client, error) {
	deadline := time.Now().Add(time.Minute)
	for {
		c, err := client.Dial(client.Options{HostPort: addr, Logger: logging.NewTemporalLogger(zap.NewNop())})
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("connecting to the test Temporal server at $%s=%s: %w", ServerEnv, addr, err)
		}
		time.Sleep(time.Second)
	}
}

// StartServer starts a Temporal server for tests: in memory, on free
// loopback ports, with serverConfig. Stop it with Stop.
func StartServer() (ts *temporaltest.TestServer, err error) {
	defer func() {
		// temporaltest panics when it cannot start without a *testing.T.
		if v := recover(); v != nil {
			ts, err = nil, fmt.Errorf("starting the test Temporal server: %v", v)
		}
	}()
	return temporaltest.NewServer(
		temporaltest.WithBaseClientOptions(client.Options{Logger: logging.NewTemporalLogger(zap.NewNop())}),
		temporaltest.WithBaseServerOptions(temporal.WithDynamicConfigClient(serverConfig))), nil
}

// Main runs a package's tests, then, if they passed, each of after (a
// check of the whole run, such as what the tests together reached, which
// says what is wrong on stderr and returns false), and then stops the
// Temporal server they shared, if they started it. Call it from TestMain.
func Main(m *testing.M, after ...func() bool) {
	code := m.Run()
	for _, check := range after {
		if code == 0 && !check() {
			code = 1
		}
	}
	if shared.ts != nil {
		Stop(shared.ts)
	}
	os.Exit(code)
}

// WholeRun is whether this run is running every test of the package: no
// -run or -skip filter, and not -short (under which the tests needing
// Temporal skip). A check of what the tests reached together (see Main)
// means nothing otherwise.
func WholeRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// Stop stops a server from StartServer. temporaltest logs a failure to
// stop through the *testing.T it was given, and this server has none: it
// would panic. A server that does not stop cleanly at the end of the run
// fails nothing.
func Stop(ts *temporaltest.TestServer) {
	defer func() {
		if v := recover(); v != nil {
			fmt.Fprintf(os.Stderr, "stopping the test Temporal server: %v\n", v)
		}
	}()
	ts.Stop()
}

// Temporal is one test's namespace on the shared server.
type Temporal struct {
	client    client.Client
	namespace string
	hostPort  string
}

// GetDefaultClient is a client of the test's namespace.
func (tt *Temporal) GetDefaultClient() client.Client { return tt.client }

// GetDefaultNamespace is the test's namespace.
func (tt *Temporal) GetDefaultNamespace() string { return tt.namespace }

// GetFrontendHostPort is the server's address.
func (tt *Temporal) GetFrontendHostPort() string { return tt.hostPort }

// NewServer gives the test a namespace of its own on the test binary's
// Temporal server, with a client whose warnings and errors go to t. It
// skips the test under -short.
func NewServer(t *testing.T) *Temporal {
	t.Helper()
	return NewServerWithLogger(t, logging.NewTemporalLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))))
}

// NewServerWithLogger is NewServer with the client logging to l.
func NewServerWithLogger(t *testing.T, l log.Logger) *Temporal {
	t.Helper()
	return newNamespace(t, l, "test-"+uuid.NewString())
}

// suggesting holds, for each suggesting namespace, the lock its test holds.
var suggesting sync.Map // namespace → *sync.Mutex

// NewSuggestingServer is NewServerWithLogger in ns, one of the suggesting
// namespaces (SuggestingNamespaceE2E...), where the server suggests
// continue-as-new after SuggestContinueAsNewAt events.
//
// The namespace outlives the test, and its workers share one task queue,
// so one test at a time has it (the others wait, in this test binary and
// in any other on the same server; each package has a namespace of its
// own, so that its tests do not wait on another's), and it starts by terminating whatever an earlier
// test left running there (a test that failed, or -count=2): a worker must
// serve only its own test's workflows, which record to its own store.
func NewSuggestingServer(t *testing.T, l log.Logger, ns string) *Temporal {
	t.Helper()
	if !slices.Contains(suggestingNamespaces, ns) {
		t.Fatalf("%q is not a namespace where the test server suggests continue-as-new: add it to testenv's serverConfig and constants", ns)
	}
	if testing.Short() {
		t.Skip("uses a Temporal server")
	}
	lock, _ := suggesting.LoadOrStore(ns, &sync.Mutex{})
	lock.(*sync.Mutex).Lock()
	t.Cleanup(lock.(*sync.Mutex).Unlock)
	if err := sharedServer(); err != nil {
		t.Fatal(err)
	}
	holdAcrossBinaries(t, ns)
	tt := newNamespace(t, l, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := terminateRunning(ctx, tt.client, tt.namespace); err != nil {
		t.Fatal(err)
	}
	return tt
}

// holdAcrossBinaries holds ns on the shared server against other test
// binaries until the test ends: two runs of one package may share a
// server, and scripts/test runs a package's benchmarks in a binary of
// their own beside its tests, should a benchmark ever take a suggesting
// namespace. The lock is a file's (flock), which the system lets go if
// the binary dies.
func holdAcrossBinaries(t *testing.T, ns string) {
	t.Helper()
	server := strings.NewReplacer(":", "_", "/", "_", "[", "", "]", "").Replace(shared.hostPort)
	name := filepath.Join(os.TempDir(), "infuse-test-"+server+"-"+ns+".lock")
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("locking namespace %s for this test: %v", ns, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		t.Fatalf("locking namespace %s for this test (%s): %v", ns, name, err)
	}
	t.Cleanup(func() { f.Close() }) // closing lets the lock go
}

// newNamespace gives the test namespace ns on the test binary's Temporal
// server, registering it if needed, with a client logging to l.
func newNamespace(t *testing.T, l log.Logger, ns string) *Temporal {
	t.Helper()
	if testing.Short() {
		t.Skip("uses a Temporal server")
	}
	if err := sharedServer(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := registerNamespace(ctx, shared.admin, ns); err != nil {
		t.Fatal(err)
	}
	opts := client.Options{HostPort: shared.hostPort, Namespace: ns, Logger: l}
	temporalx.WatchTaskAttempts(&opts) // tests run workers on it
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatalf("connecting to the test Temporal server: %v", err)
	}
	t.Cleanup(c.Close)
	return &Temporal{client: c, namespace: ns, hostPort: shared.hostPort}
}

// Connect gives the test a client of namespace ns on the Temporal server
// at hostPort, one it runs itself (dev/cluster), as a *Temporal like
// those of NewServer, closed when the test ends.
func Connect(t *testing.T, hostPort, ns string) *Temporal {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	opts := client.Options{HostPort: hostPort, Namespace: ns,
		Logger: logging.NewTemporalLogger(zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))}
	temporalx.WatchTaskAttempts(&opts) // tests run workers on it
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		t.Fatalf("connecting to the Temporal server at %s: %v", hostPort, err)
	}
	t.Cleanup(c.Close)
	return &Temporal{client: c, namespace: ns, hostPort: hostPort}
}

// terminateRunning terminates every workflow still running in ns.
func terminateRunning(ctx context.Context, c client.Client, ns string) error {
	resp, err := c.WorkflowService().ListOpenWorkflowExecutions(ctx, &workflowservice.ListOpenWorkflowExecutionsRequest{
		Namespace: ns, MaximumPageSize: 1000,
	})
	if err != nil {
		return fmt.Errorf("listing what runs in namespace %s: %w", ns, err)
	}
	for _, e := range resp.GetExecutions() {
		id := e.GetExecution().GetWorkflowId()
		err := c.TerminateWorkflow(ctx, id, "", "left running by an earlier test in this namespace")
		var gone *serviceerror.NotFound
		if err != nil && !errors.As(err, &gone) {
			return fmt.Errorf("terminating %s, left running in namespace %s: %w", id, ns, err)
		}
	}
	return nil
}

// registerNamespace registers ns, unless it exists already (a namespace
// with a fixed name), and waits until the server serves it.
func registerNamespace(ctx context.Context, c client.Client, ns string) error {
	_, err := c.WorkflowService().RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
		Namespace:                        ns,
		WorkflowExecutionRetentionPeriod: durationpb.New(24 * time.Hour),
	})
	var exists *serviceerror.NamespaceAlreadyExists
	if err != nil && !errors.As(err, &exists) {
		return fmt.Errorf("registering test namespace %s: %w", ns, err)
	}
	// The namespace is served once the frontend's cache has it: listing its
	// workflows fails with "namespace not found" until then.
	for {
		_, err := c.WorkflowService().ListOpenWorkflowExecutions(ctx, &workflowservice.ListOpenWorkflowExecutionsRequest{
			Namespace: ns, MaximumPageSize: 1,
		})
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("test namespace %s not served: %w", ns, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// StartWorker registers the Infuse search attributes on the test's
// namespace and starts the real worker with a, stopping it when t ends.
func StartWorker(t *testing.T, tt *Temporal, a *activities.Activities) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := temporalx.RegisterSearchAttributes(ctx, tt.client, tt.namespace); err != nil {
		t.Fatal(err)
	}
	w := worker.New(tt.client, a)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
}

// Start is NewServer and StartWorker with the activities over st: a
// Temporal namespace running Infuse journeys that record to st.
func Start(t *testing.T, st activities.Recorder) *Temporal {
	t.Helper()
	tt := NewServer(t)
	StartWorker(t, tt, activities.New(st))
	return tt
}

// ClosedPort is a loopback address nothing listens on: a server out of
// reach, for tests of what happens then.
func ClosedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
