package devserver

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

const testQueue = "devserver-test"

func echoWorkflow(_ workflow.Context, s string) (string, error) { return "echo: " + s, nil }

// waitWorkflow tags itself with the Infuse search attributes, then blocks
// until it is signalled "finish" (or a long timer fires), returning the
// signal's payload.
func waitWorkflow(ctx workflow.Context, intake string) (string, error) {
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		temporalx.IntakeIDKey.ValueSet(intake),
		temporalx.PhaseKey.ValueSet("labs"),
	); err != nil {
		return "", err
	}
	var got string
	timer := workflow.NewTimer(ctx, 24*time.Hour)
	sel := workflow.NewSelector(ctx)
	sel.AddReceive(workflow.GetSignalChannel(ctx, "finish"), func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, &got)
	})
	sel.AddFuture(timer, func(workflow.Future) { got = "timer" })
	sel.Select(ctx)
	return got, nil
}

// freeTestPort is a port free now, other than any of taken.
func freeTestPort(t *testing.T, taken ...int) int {
	t.Helper()
	p, err := freePort(taken...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startServer(t *testing.T, ctx context.Context, o Options) *Server {
	t.Helper()
	began := time.Now()
	s, err := startWithin(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("server started on %s in %v", s.FrontendAddress(), time.Since(began).Round(time.Millisecond))
	return s
}

// startWithin starts a server, giving it 90 s.
func startWithin(ctx context.Context, o Options) (*Server, error) {
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	s, err := Start(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("Start: %w", err)
	}
	return s, nil
}

func dial(t *testing.T, s *Server) client.Client {
	t.Helper()
	c, err := dialWithLogger(s, logging.NewTemporalLogger(zaptest.NewLogger(t).Named("sdk")))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func dialWithLogger(s *Server, l log.Logger) (client.Client, error) {
	opts := client.Options{HostPort: s.FrontendAddress(), Namespace: "infuse-test", Logger: l}
	temporalx.WatchTaskAttempts(&opts) // its worker's local records are fenced by it
	c, err := client.Dial(opts)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	return c, nil
}

func startWorker(t *testing.T, c client.Client) worker.Worker {
	t.Helper()
	w, err := newStartedWorker(c)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func newStartedWorker(c client.Client) (worker.Worker, error) {
	w := worker.New(c, testQueue, worker.Options{})
	w.RegisterWorkflow(echoWorkflow)
	w.RegisterWorkflow(waitWorkflow)
	if err := w.Start(); err != nil {
		return nil, fmt.Errorf("worker start: %w", err)
	}
	return w, nil
}

func customAttributes(t *testing.T, ctx context.Context, c client.Client) map[string]enumspb.IndexedValueType {
	t.Helper()
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: "infuse-test"})
	if err != nil {
		t.Fatalf("ListSearchAttributes: %v", err)
	}
	return resp.GetCustomAttributes()
}

func TestRestartKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	dir := filepath.Join(t.TempDir(), "data") // not created yet: Start must create it
	port := freeTestPort(t)
	logger := zaptest.NewLogger(t)
	opts := Options{
		DataDir:          dir,
		Port:             port,
		UIPort:           freeTestPort(t, port),
		Namespace:        "infuse-test",
		SearchAttributes: temporalx.SearchAttributes(),
		Logger:           logger,
	}

	// ---- first run ----
	s := startServer(t, ctx, opts)
	stopped := false
	defer func() {
		if !stopped {
			s.Stop()
		}
	}()
	if _, err := os.Stat(s.DatabasePath()); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(port)); s.FrontendAddress() != want {
		t.Errorf("FrontendAddress = %q, want %q", s.FrontendAddress(), want)
	}
	checkUI(t, ctx, s.UIAddress())

	// A second server on the same directory must be refused.
	if s2, err := Start(ctx, Options{DataDir: dir, Port: freeTestPort(t), Namespace: "infuse-test"}); err == nil {
		s2.Stop()
		t.Fatal("second Start on the same data directory succeeded")
	} else {
		t.Logf("second Start refused as expected: %v", err)
	}

	c := dial(t, s)
	attrs := customAttributes(t, ctx, c)
	for name, typ := range temporalx.SearchAttributes() {
		if attrs[name] != typ {
			t.Errorf("search attribute %s = %v, want %v (all: %v)", name, attrs[name], typ, attrs)
		}
	}
	// Registering again is a no-op.
	if err := temporalx.RegisterSearchAttributes(ctx, c, "infuse-test"); err != nil {
		t.Fatalf("RegisterSearchAttributes on registered namespace: %v", err)
	}

	w := startWorker(t, c)
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "echo-1", TaskQueue: testQueue}, echoWorkflow, "hello")
	if err != nil {
		t.Fatalf("ExecuteWorkflow echo: %v", err)
	}
	var echoed string
	if err := run.Get(ctx, &echoed); err != nil || echoed != "echo: hello" {
		t.Fatalf("echo result = %q, %v", echoed, err)
	}

	waitRun, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                    "wait-1",
		TaskQueue:             testQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(temporalx.CoachIDKey.ValueSet("coach-7")),
	}, waitWorkflow, "intake-1")
	if err != nil {
		t.Fatalf("ExecuteWorkflow wait: %v", err)
	}
	// Wait until the first workflow task has run (the search attributes are
	// upserted), so the restart happens mid-workflow.
	waitFor(t, ctx, "first workflow task of wait-1", func() bool {
		d, err := c.DescribeWorkflowExecution(ctx, "wait-1", "")
		if err != nil {
			return false
		}
		_, ok := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[temporalx.PhaseKey.GetName()]
		return ok
	})
	w.Stop()
	c.Close()
	began := time.Now()
	s.Stop()
	stopped = true
	t.Logf("server stopped in %v", time.Since(began).Round(time.Millisecond))

	// ---- second run: same directory, one more search attribute ----
	opts.SearchAttributes = temporalx.SearchAttributes()
	opts.SearchAttributes["InfuseLaterAdded"] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	s = startServer(t, ctx, opts)
	stopped = false
	c = dial(t, s)
	defer c.Close()

	if _, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: "infuse-test"}); err != nil {
		t.Fatalf("namespace after restart: %v", err)
	}
	attrs = customAttributes(t, ctx, c)
	for name, typ := range opts.SearchAttributes {
		if attrs[name] != typ {
			t.Errorf("after restart: search attribute %s = %v, want %v (all: %v)", name, attrs[name], typ, attrs)
		}
	}

	d, err := c.DescribeWorkflowExecution(ctx, "wait-1", waitRun.GetRunID())
	if err != nil {
		t.Fatalf("describe wait-1 after restart: %v", err)
	}
	info := d.GetWorkflowExecutionInfo()
	if info.GetStatus() != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("wait-1 status after restart = %v, want RUNNING", info.GetStatus())
	}
	for key, want := range map[string]string{
		temporalx.IntakeIDKey.GetName(): "intake-1",
		temporalx.PhaseKey.GetName():    "labs",
		temporalx.CoachIDKey.GetName():  "coach-7",
	} {
		var got string
		p := info.GetSearchAttributes().GetIndexedFields()[key]
		if p == nil || converter.GetDefaultDataConverter().FromPayload(p, &got) != nil || got != want {
			t.Errorf("wait-1 search attribute %s = %q, want %q", key, got, want)
		}
	}
	// Visibility queries on the custom attributes work from the persisted index.
	waitFor(t, ctx, "visibility query by InfuseIntakeId", func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: "infuse-test",
			Query:     `InfuseIntakeId = "intake-1" AND ExecutionStatus = "Running"`,
		})
		return err == nil && len(resp.GetExecutions()) == 1 && resp.GetExecutions()[0].GetExecution().GetWorkflowId() == "wait-1"
	})

	w = startWorker(t, c)
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, "wait-1", waitRun.GetRunID(), "finish", "signalled after restart"); err != nil {
		t.Fatalf("signal: %v", err)
	}
	var result string
	if err := c.GetWorkflow(ctx, "wait-1", waitRun.GetRunID()).Get(ctx, &result); err != nil {
		t.Fatalf("wait-1 result: %v", err)
	}
	if result != "signalled after restart" {
		t.Errorf("wait-1 result = %q", result)
	}
	// The workflow completed before the restart is still in the history store.
	if err := c.GetWorkflow(ctx, "echo-1", "").Get(ctx, &echoed); err != nil || echoed != "echo: hello" {
		t.Errorf("echo-1 after restart = %q, %v", echoed, err)
	}
	w.Stop()
	s.Stop()
	stopped = true
}

func checkUI(t *testing.T, ctx context.Context, addr string) {
	t.Helper()
	if addr == "" {
		t.Fatal("UIAddress is empty with UIPort set")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, addr+"/", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", addr, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(strings.ToLower(string(body)), "<html") {
		t.Errorf("GET %s: %s, body starts %.200q", addr, resp.Status, body)
	}
}

func TestOptionsValidation(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Options{}); err == nil {
		t.Error("Start without DataDir succeeded")
	}
	if _, err := Start(ctx, Options{DataDir: t.TempDir(), IP: "localhost"}); err == nil {
		t.Error("Start with a host name for IP succeeded")
	}
	if _, err := Start(ctx, Options{DataDir: t.TempDir(), Port: 7300, UIPort: 7300}); err == nil {
		t.Error("Start with UIPort == Port succeeded")
	}
	if _, err := Start(ctx, Options{DataDir: t.TempDir(), ServerLogLevel: "chatty"}); err == nil {
		t.Error("Start with a bad ServerLogLevel succeeded")
	}
	// A busy frontend port is reported before anything is started.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dir := t.TempDir()
	if _, err := Start(ctx, Options{DataDir: dir, Port: l.Addr().(*net.TCPAddr).Port}); err == nil {
		t.Error("Start on a busy port succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, DatabaseFile)); !os.IsNotExist(err) {
		t.Errorf("database created despite busy port (stat err %v)", err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestKilledProcessKeepsState kills (SIGKILL, no clean shutdown) a process
// running the server with a workflow blocked on a signal, then starts the
// server again on the same directory and finishes the workflow.
func TestKilledProcessKeepsState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server twice")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	dir := t.TempDir()
	port := freeTestPort(t)

	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir, helperPortEnv+"="+strconv.Itoa(port))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "HELPER READY "); ok {
				ready <- rest
			}
		}
		close(ready)
	}()
	var runID string
	select {
	case r, ok := <-ready:
		if !ok {
			t.Fatal("helper process exited before it was ready")
		}
		runID = r
	case <-time.After(2 * time.Minute):
		t.Fatal("helper process not ready in time")
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
		t.Fatal(err)
	}
	_ = cmd.Wait()

	s := startServer(t, ctx, Options{DataDir: dir, Port: port, Namespace: "infuse-test", SearchAttributes: temporalx.SearchAttributes()})
	defer s.Stop()
	c := dial(t, s)
	defer c.Close()
	d, err := c.DescribeWorkflowExecution(ctx, "crash-1", runID)
	if err != nil {
		t.Fatalf("describe after kill: %v", err)
	}
	if st := d.GetWorkflowExecutionInfo().GetStatus(); st != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("status after kill = %v, want RUNNING", st)
	}
	w := startWorker(t, c)
	defer w.Stop()
	if err := c.SignalWorkflow(ctx, "crash-1", runID, "finish", "after kill"); err != nil {
		t.Fatalf("signal: %v", err)
	}
	var result string
	if err := c.GetWorkflow(ctx, "crash-1", runID).Get(ctx, &result); err != nil || result != "after kill" {
		t.Fatalf("result = %q, %v", result, err)
	}
}

// The child process of TestKilledProcessKeepsState is this test binary
// started with these set: it runs the server on that directory and port
// instead of the tests.
const (
	helperDirEnv  = "DEVSERVER_HELPER_DIR"
	helperPortEnv = "DEVSERVER_HELPER_PORT"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		port, _ := strconv.Atoi(os.Getenv(helperPortEnv))
		if err := serveUntilKilled(dir, port); err != nil {
			fmt.Fprintln(os.Stderr, "helper process:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// serveUntilKilled starts the server on dir, starts a workflow that waits
// for a signal, says "HELPER READY <run ID>" once the workflow has run its
// first task, and waits to be killed.
func serveUntilKilled(dir string, port int) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := startWithin(ctx, Options{DataDir: dir, Port: port, Namespace: "infuse-test", SearchAttributes: temporalx.SearchAttributes()})
	if err != nil {
		return err
	}
	defer s.Stop()
	c, err := dialWithLogger(s, logging.NewTemporalLogger(zap.NewNop()))
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := newStartedWorker(c)
	if err != nil {
		return err
	}
	defer w.Stop()
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "crash-1", TaskQueue: testQueue}, waitWorkflow, "intake-9")
	if err != nil {
		return err
	}
	for {
		d, err := c.DescribeWorkflowExecution(ctx, "crash-1", "")
		if err == nil {
			if _, ok := d.GetWorkflowExecutionInfo().GetSearchAttributes().GetIndexedFields()[temporalx.PhaseKey.GetName()]; ok {
				break
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the first workflow task of crash-1 did not run: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	fmt.Printf("HELPER READY %s\n", run.GetRunID())
	<-ctx.Done() // killed by the parent long before this
	return nil
}
