package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/dev/testenv"
)

// TestWorkerMetrics: `infuse worker --metrics` serves the Temporal SDK's
// metrics, from the worker's own client, and the store's figures, once a
// journey has run on it (the only worker of the namespace), and /readyz
// says the store and Temporal answer.
func TestWorkerMetrics(t *testing.T) {
	w, _ := workerlessWorld(t)
	ops := "http://" + testenv.ClosedPort(t)
	stopped := w.serve("worker", "--metrics", strings.TrimPrefix(ops, "http://"))
	w.until(stopped, ops+"/readyz", func(code int, body string) bool { return code == http.StatusOK })

	w.must("people", "import", w.writeFile("people.csv", peopleFile))
	rfc := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
	intake := w.jsonField("id", "intake", "create", "--name", "Cohort 1", "--capacity", "2",
		"--opens", rfc(-time.Hour), "--closes", rfc(48*time.Hour), "--starts", time.Now().AddDate(0, 0, 4).Format("2006-01-02"),
		"--coordinator", "megan@example.org")
	w.must("apply", "--intake", intake, "--person", "carys@example.org")

	w.until(stopped, ops+"/metrics", func(code int, body string) bool {
		return code == http.StatusOK && strings.Contains(body, "\n"+`infuse_journeys{phase="none",state="submitted"} 1`+"\n") &&
			hasSample(body, "temporal_workflow_task_execution_latency_seconds_count{", `workflow_type="JourneyWorkflow"`) &&
			hasSample(body, "temporal_request_total{", `operation="RespondWorkflowTaskCompleted"`)
	})
}

// hasSample says whether body has a sample of a series starting with
// prefix that has label (a `name="value"` pair).
func hasSample(body, prefix, label string) bool {
	for _, line := range strings.Split(body, "\n") {
		if strings.HasPrefix(line, prefix) && strings.Contains(line, label) {
			return true
		}
	}
	return false
}

// TestReadyzFollowsTheDatabase: `infuse api` on a PostgreSQL server of
// this test's own: /readyz (on the API and on the operators' listener) is
// green, goes red naming the store, and only the store, while that server
// is stopped, and green again once it is back; meanwhile a request that
// needs the store is told 503 with a time to retry after, in a problem
// (not a 500, which would say the request or the code is at fault), and
// once it is back it is answered again; /metrics is served on the
// operators' listener, not the public one.
func TestReadyzFollowsTheDatabase(t *testing.T) {
	pg := startPrivatePostgres(t)
	isolateEnv(t)
	ts := testenv.NewServer(t)
	t.Setenv("TEMPORAL_ADDRESS", ts.GetFrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", ts.GetDefaultNamespace())
	w := &world{t: t, database: pg.url(), temporal: ts}
	public, ops := testenv.ClosedPort(t), testenv.ClosedPort(t)
	stopped := w.serve("api", "--http", public, "--metrics", ops, "--base-url", "http://"+public)

	readyz := []string{"http://" + public + "/readyz", "http://" + ops + "/readyz"}
	green := func(code int, body string) bool { return code == http.StatusOK && body == `{"status":"ok"}`+"\n" }
	red := func(code int, body string) bool {
		return code == http.StatusServiceUnavailable && body == `{"status":"unavailable","failing":{"store":"error"}}`+"\n"
	}
	for _, u := range readyz {
		w.until(stopped, u, green)
	}
	w.until(stopped, "http://"+ops+"/metrics", func(code int, body string) bool {
		return code == http.StatusOK && hasSample(body, "infuse_http_request_duration_seconds_count{", `route="GET /readyz",status_class="2xx"`)
	})
	if code, _ := get(t, "http://"+public+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics on the public listener = %d, want 404", code)
	}

	// A token the store does not know: checking it needs the store.
	me := func() (int, http.Header, string) {
		req, err := http.NewRequest(http.MethodGet, "http://"+public+"/api/intakes", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer no-such-token")
		resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(body)
	}
	if code, _, body := me(); code != http.StatusUnauthorized {
		t.Errorf("an unknown token, the store up: %d %s, want 401", code, body)
	}

	pg.stop()
	for _, u := range readyz {
		w.until(stopped, u, red)
	}
	w.until(stopped, "http://"+ops+"/healthz", func(code int, _ string) bool { return code == http.StatusOK })
	code, header, body := me()
	if id := header.Get("X-Request-Id"); code != http.StatusServiceUnavailable || header.Get("Retry-After") != "30" ||
		header.Get("Content-Type") != "application/problem+json" || id == "" || !strings.Contains(body, id) {
		t.Errorf("a request while the store is down: %d, Retry-After %q, %s: %s; want 503, 30 s, a problem naming the request ID %s",
			code, header.Get("Retry-After"), header.Get("Content-Type"), body, header.Get("X-Request-Id"))
	}
	pg.start()
	for _, u := range readyz {
		w.until(stopped, u, green)
	}
	if code, _, body := me(); code != http.StatusUnauthorized {
		t.Errorf("an unknown token, the store back: %d %s, want 401", code, body)
	}
}

// serve runs a long-running command (worker, api) in this process until
// the test ends, when it must stop cleanly. The returned channel says the
// command ended early, with its exit code and what it printed.
func (w *world) serve(args ...string) <-chan string {
	w.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan string, 1)
	go func() {
		var out bytes.Buffer
		code := run(ctx, append([]string{"--database", w.database}, args...), strings.NewReader(""), &out, &out)
		ended <- fmt.Sprintf("infuse %s: exit %d: %s", strings.Join(args, " "), code, out.String())
	}()
	w.t.Cleanup(func() {
		cancel()
		select {
		case result := <-ended:
			if !strings.Contains(result, ": exit 0: ") {
				w.t.Errorf("stopping %s", result)
			}
		case <-time.After(patience):
			w.t.Errorf("infuse %s did not stop", strings.Join(args, " "))
		}
	})
	return ended
}

// until GETs url until ok says its answer is the one wanted, failing the
// test if the command serving it ends first or patience runs out.
func (w *world) until(ended <-chan string, url string, ok func(code int, body string) bool) {
	w.t.Helper()
	deadline := time.Now().Add(patience)
	for {
		code, body := get(w.t, url)
		if ok(code, body) {
			return
		}
		select {
		case result := <-ended:
			w.t.Fatalf("waiting for GET %s: %s", url, result)
		default:
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("GET %s never answered as wanted; last answer %d:\n%s", url, code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get answers url's status and body, or 0 and the error if there is no answer.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode, string(body)
}

// privatePostgres is a PostgreSQL server of one test's own, in a
// temporary directory, which the test may stop and start: the machine's
// shared server serves other tests at the same time. It runs Debian's
// server programs, as the postgres user when the test runs as root
// (initdb refuses root).
type privatePostgres struct {
	t         *testing.T
	bin, dir  string
	port      string
	asUser    []string // the command prefix running a program as the server's user
	isRunning bool
}

// startPrivatePostgres initialises and starts a server, and stops it and
// removes its files when the test ends.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		testdeps.Missing(t, "PostgreSQL's server programs (/usr/lib/postgresql/*/bin/initdb)", "apt-get install -y postgresql")
	}
	slices.SortFunc(bins, func(a, b string) int { return versionOf(a) - versionOf(b) })
	dir, err := os.MkdirTemp("", "infuse-readyz-pg-") // not t.TempDir: its parent is root's alone
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(testenv.ClosedPort(t), ":")
	pg := &privatePostgres{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, port: port}
	t.Cleanup(func() {
		if pg.isRunning {
			pg.ctl("stop", "-m", "immediate")
		}
		_ = os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		pg.runAsPostgres(t)
	}
	pg.exec(filepath.Join(pg.bin, "initdb"), "-D", pg.data(), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-sync")
	pg.start()
	return pg
}

// runAsPostgres has the server's programs run as the postgres user, who
// then owns dir.
func (pg *privatePostgres) runAsPostgres(t *testing.T) {
	u, err := user.Lookup("postgres")
	if err != nil {
		testdeps.Missing(t, "the postgres user (PostgreSQL will not run as root)", "apt-get install -y postgresql")
	}
	runuser, err := exec.LookPath("runuser")
	if err != nil {
		testdeps.Missing(t, "runuser", "apt-get install -y util-linux")
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(pg.dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	pg.asUser = []string{runuser, "-u", "postgres", "--"}
}

// versionOf is the major version in a /usr/lib/postgresql/N/… path.
func versionOf(path string) int {
	n, _ := strconv.Atoi(strings.Split(strings.TrimPrefix(path, "/usr/lib/postgresql/"), "/")[0])
	return n
}

func (pg *privatePostgres) data() string { return filepath.Join(pg.dir, "data") }

// url is the server's database for the store.
func (pg *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
}

// start starts the server and waits until it accepts connections.
func (pg *privatePostgres) start() {
	pg.t.Helper()
	pg.ctl("start", "-w", "-t", "120", "-l", filepath.Join(pg.dir, "server.log"),
		"-o", "-p "+pg.port+" -c listen_addresses=127.0.0.1 -k "+pg.dir+" -c fsync=off")
	pg.isRunning = true
}

// stop stops the server, closing every connection (as a crash or a
// restart by an operator would).
func (pg *privatePostgres) stop() {
	pg.t.Helper()
	pg.ctl("stop", "-w", "-m", "fast")
	pg.isRunning = false
}

func (pg *privatePostgres) ctl(args ...string) {
	pg.t.Helper()
	pg.exec(filepath.Join(pg.bin, "pg_ctl"), append([]string{"-D", pg.data()}, args...)...)
}

// exec runs a server program as the server's user, failing the test (with
// the server's log) if it fails.
func (pg *privatePostgres) exec(program string, args ...string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	argv := append(append(slices.Clone(pg.asUser), program), args...)
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(pg.dir, "server.log"))
		pg.t.Fatalf("%s: %v\n%s\nserver log:\n%s", strings.Join(argv, " "), err, out, log)
	}
}
