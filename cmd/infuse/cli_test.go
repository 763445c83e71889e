package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// world is a real in-process Temporal server with the real worker, and a
// SQLite store file, which the commands reach the way they reach `infuse
// dev`: through TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE and --database.
type world struct {
	t        *testing.T
	database string
	// temporal is the server the commands reach, for a test to ask a
	// workflow what the commands cannot show (nil without one).
	temporal *testenv.Temporal
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w, st := workerlessWorld(t)
	testenv.StartWorker(t, w.temporal, activities.New(st))
	return w
}

// workerlessWorld is a world where no worker runs yet, and its store.
func workerlessWorld(t *testing.T) (*world, *sqlitestore.Store) {
	t.Helper()
	isolateEnv(t)
	ts := testenv.NewServer(t)
	st, db := storeFile(t)
	t.Cleanup(st.Close)
	t.Setenv("TEMPORAL_ADDRESS", ts.GetFrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", ts.GetDefaultNamespace())
	return &world{t: t, database: db, temporal: ts}, st
}

// isolateEnv keeps the developer's own Temporal and Infuse settings out.
func isolateEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") || strings.HasPrefix(k, "INFUSE_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "absent.toml"))
}

type result struct {
	code           int
	stdout, stderr string
}

// commandTimeout bounds one command (its --timeout) and patience how long
// a test waits for what workflows do in the background. Both only bound a
// failure: a command or a workflow on two cores loaded by the race
// detector and a parallel build can take many times what it takes on an
// idle machine, and a passing test waits for neither.
const (
	commandTimeout = 90 * time.Second
	patience       = 2 * time.Minute
)

// infuse runs one command line against the world.
func (w *world) infuse(args ...string) result {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout+10*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, append([]string{"--database", w.database, "--timeout", commandTimeout.String()}, args...), strings.NewReader(""), &out, &errb)
	r := result{code: code, stdout: out.String(), stderr: errb.String()}
	checkJSONOutput(w.t, args, r)
	return r
}

// must runs a command that has to succeed.
func (w *world) must(args ...string) string {
	w.t.Helper()
	r := w.infuse(args...)
	if r.code != 0 {
		w.t.Fatalf("infuse %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// expect runs a command that has to fail with code, mentioning every fragment on stderr.
func (w *world) expect(code int, fragments []string, args ...string) {
	w.t.Helper()
	r := w.infuse(args...)
	if r.code != code {
		w.t.Errorf("infuse %s: exit %d, want %d; stderr: %s", strings.Join(args, " "), r.code, code, r.stderr)
	}
	for _, f := range fragments {
		if !strings.Contains(r.stderr, f) {
			w.t.Errorf("infuse %s: stderr %q does not mention %q", strings.Join(args, " "), r.stderr, f)
		}
	}
}

// retryUntil retries try until it says done, failing the test after patience
// with what it last said.
func retryUntil(t *testing.T, what string, try func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		done, last := try()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no success within %v; last answer: %s", what, patience, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// eventually retries a command until its output contains every fragment:
// workflows record what they did a moment after answering.
func (w *world) eventually(fragments []string, args ...string) string {
	w.t.Helper()
	deadline := time.Now().Add(patience)
	for {
		out := w.must(args...)
		missing := ""
		for _, f := range fragments {
			if !strings.Contains(out, f) {
				missing = f
			}
		}
		if missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("infuse %s never mentioned %q; last output:\n%s", strings.Join(args, " "), missing, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) writeFile(name, content string) string {
	w.t.Helper()
	path := filepath.Join(w.t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

// jsonInto runs a --json command that has to succeed and reads its result into v.
func (w *world) jsonInto(v any, args ...string) {
	w.t.Helper()
	out := w.must(append([]string{"--json"}, args...)...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		w.t.Fatalf("infuse %s: not JSON: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// jsonField runs a --json command and returns one field of its result.
func (w *world) jsonField(field string, args ...string) string {
	w.t.Helper()
	var m map[string]any
	w.jsonInto(&m, args...)
	s, _ := m[field].(string)
	if s == "" {
		w.t.Fatalf("infuse %s: no %q in %v", strings.Join(args, " "), field, m)
	}
	return s
}

const peopleFile = `role,given_name,family_name,email,local_authority,theme,language
coordinator,Megan,Howells,megan@example.org,Monmouthshire,,en
coach,Elin,Rowlands,elin@example.org,,,cy
participant,Carys,Pritchard,carys@example.org,Blaenau Gwent,decarbonisation,cy
participant,Tom,Ashworth,tom@example.org,vale of glamorgan,communities,
`

const badPeople = `role,given_name,family_name,email,local_authority,theme,language
participant,Good,Row,good@example.org,Cardiff,communities,en
participant,Sam,Davies,sam@example.org,Swansea,communities,en
participant,Ann,Jones,ann@example.org,Newport,health,xx
`

func TestCommands(t *testing.T) {
	w := newWorld(t)
	rfc := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }

	// A bad file: every bad line reported, nothing imported, exit 2.
	w.expect(exitInvalid, []string{"line 3", "Swansea", "line 4", `theme "health"`, `language "xx"`, "nothing was imported"},
		"people", "import", w.writeFile("bad.csv", badPeople))
	if out := w.must("people", "list"); strings.Contains(out, "good@example.org") {
		t.Errorf("a line of the bad file was imported:\n%s", out)
	}

	good := w.writeFile("people.csv", peopleFile)
	if out := w.must("people", "import", good); !strings.Contains(out, "4 created, 0 unchanged") {
		t.Errorf("import: %s", out)
	}
	if out := w.must("people", "import", good); !strings.Contains(out, "0 created, 4 unchanged") {
		t.Errorf("re-import: %s", out)
	}
	var imported struct {
		Created, Unchanged []json.RawMessage
	}
	if w.jsonInto(&imported, "people", "import", good); len(imported.Created) != 0 || len(imported.Unchanged) != 4 {
		t.Errorf("import --json, again: %d created, %d unchanged", len(imported.Created), len(imported.Unchanged))
	}
	if out := w.must("people", "list", "--role", "participant"); !strings.Contains(out, "Vale of Glamorgan") || strings.Contains(out, "Megan") {
		t.Errorf("people list --role participant:\n%s", out)
	}
	var participants []struct{ Email, LocalAuthority string }
	if w.jsonInto(&participants, "people", "list", "--role", "participant"); len(participants) != 2 || participants[0].LocalAuthority == "" {
		t.Errorf("people list --role participant --json: %+v", participants)
	}

	// Bad dates are bad usage.
	w.expect(exitInvalid, []string{"--opens", "2026-13-01", "is not a date"},
		"intake", "create", "--name", "Cohort 9", "--opens", "2026-13-01", "--closes", "2027-01-01",
		"--starts", "2027-02-01", "--coordinator", "megan@example.org")
	w.expect(exitInvalid, []string{"close after it opens"},
		"intake", "create", "--name", "Cohort 9", "--opens", "2027-01-01", "--closes", "2026-12-01",
		"--starts", "2027-02-01", "--coordinator", "megan@example.org")
	w.expect(exitNotFound, []string{"nobody@example.org"},
		"intake", "create", "--name", "Cohort 9", "--opens", "2027-01-01", "--closes", "2027-02-01",
		"--starts", "2027-03-01", "--coordinator", "nobody@example.org")

	var created struct {
		ID        string
		CreatedAt time.Time
	}
	w.jsonInto(&created, "intake", "create", "--name", "Cohort 1", "--capacity", "2",
		"--opens", rfc(-time.Hour), "--closes", rfc(48*time.Hour), "--starts", time.Now().AddDate(0, 0, 4).Format("2006-01-02"),
		"--coordinator", "megan@example.org")
	open := created.ID
	if ago := time.Since(created.CreatedAt); ago < 0 || ago > time.Hour {
		t.Errorf("intake create --json: CreatedAt %s, want the time it was recorded", created.CreatedAt)
	}
	closed := w.jsonField("id", "intake", "create", "--name", "Cohort 0",
		"--opens", rfc(-72*time.Hour), "--closes", rfc(-time.Hour), "--starts", time.Now().Format("2006-01-02"),
		"--coordinator", "megan@example.org")
	w.eventually([]string{"Cohort 1", "open", "Cohort 0", "closed"}, "intake", "list")

	// Applying: to an unknown intake (4), a closed one (3), an open one (0).
	w.expect(exitNotFound, []string{"not running"}, "apply", "--intake", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "--person", "carys@example.org")
	w.expect(exitRejected, []string{"applications closed"}, "apply", "--intake", closed, "--person", "carys@example.org")
	w.expect(exitInvalid, []string{"not a participant"}, "apply", "--intake", open, "--person", "megan@example.org")
	w.expect(exitInvalid, []string{"--intake", "is not an ID"}, "apply", "--intake", "cohort-1", "--person", "carys@example.org")
	journey := w.jsonField("journey", "apply", "--intake", open, "--person", "carys@example.org", "--coach", "elin@example.org")
	tom := w.jsonField("journey", "apply", "--intake", open, "--person", "tom@example.org")
	w.expect(exitRejected, []string{"already applied"}, "apply", "--intake", open, "--person", "carys@example.org")

	dash := w.eventually([]string{"Carys Pritchard", "Tom Ashworth", "Blaenau Gwent", "Elin Rowlands", "submitted"},
		"intake", "dashboard", open)
	if !strings.Contains(dash, "By theme: communities 1, decarbonisation 1") {
		t.Errorf("dashboard totals:\n%s", dash)
	}
	// A page at a time: Carys's page names Tom's as the next, Tom's hers
	// as the previous.
	carys := w.must("intake", "dashboard", open, "--limit", "1")
	if !strings.Contains(carys, "Carys Pritchard") || strings.Contains(carys, "Tom Ashworth") ||
		!strings.Contains(carys, "1 of 2 applications on this page. Next: --after "+journey+".") {
		t.Errorf("the dashboard's first page of 1:\n%s", carys)
	}
	if last := w.must("intake", "dashboard", open, "--after", journey); !strings.Contains(last, "Tom Ashworth") ||
		!strings.Contains(last, "1 of 2 applications on this page. Previous: --before "+tom+".\n") {
		t.Errorf("the dashboard's last page:\n%s", last)
	}
	w.expect(exitInvalid, []string{"1 to 1000"}, "intake", "dashboard", open, "--limit", "1001")
	w.expect(exitInvalid, []string{"1 to 1000"}, "intake", "dashboard", open, "--limit", "0")
	w.expect(exitInvalid, []string{"--before", "is not an ID"}, "intake", "dashboard", open, "--before", "Tom")

	// Starting with nobody accepted is refused by the intake.
	w.expect(exitRejected, []string{"nobody has accepted"}, "intake", "start", open)
	w.expect(exitInvalid, []string{"not one of"}, "decide", "--journey", journey, "maybe")
	if st := w.jsonField("status", "decide", "--journey", journey, "offer"); st != "offered" {
		t.Errorf("decide --json: status %q", st)
	}
	w.eventually([]string{"offer.made"}, "journey", "show", journey)
	if st := w.jsonField("status", "offer", "accept", journey); st != "accepted" {
		t.Errorf("offer accept --json: status %q", st)
	}
	show := w.eventually([]string{"Carys Pritchard", "Cohort 1", "Elin Rowlands", "application.submitted", "offer.accepted"},
		"journey", "show", journey)
	t.Logf("journey show:\n%s", show)
	w.expect(exitRejected, []string{"no open offer"}, "offer", "decline", journey)
	w.expect(exitInvalid, []string{"--reason"}, "journey", "withdraw", journey, "--reason", "bored", "--by", "megan@example.org")
	w.expect(exitNotFound, []string{"no journey"}, "journey", "show", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f")

	// Editing the intake: bad edits (2), an unknown intake (4), a rename
	// and one place; then a place for the waitlisted Tom, who is offered
	// it; then fewer places than taken, refused by the intake (3).
	w.expect(exitInvalid, []string{"--name NAME, --capacity N"}, "intake", "edit", open)
	w.expect(exitInvalid, []string{"from 1 to 500"}, "intake", "edit", open, "--capacity", "0")
	w.expect(exitNotFound, []string{"not found"}, "intake", "edit", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "--name", "Cohort 9")
	if out := w.must("intake", "edit", open, "--name", "Cohort One", "--capacity", "1"); !strings.Contains(out, "Cohort One, with places for 1") {
		t.Errorf("intake edit: %s", out)
	}
	w.eventually([]string{"Cohort One"}, "intake", "list")
	w.must("decide", "--journey", tom, "waitlist")
	var edited struct{ Capacity int }
	if w.jsonInto(&edited, "intake", "edit", open, "--capacity", "2"); edited.Capacity != 2 {
		t.Errorf("intake edit --json: capacity %d, want 2", edited.Capacity)
	}
	w.eventually([]string{"offer.made"}, "journey", "show", tom)
	w.expect(exitRejected, []string{"2 places are already offered or taken"}, "intake", "edit", open, "--capacity", "1")

	// Started (Carys accepted), the intake moves a session of its own.
	var started struct{ Counts map[string]int }
	if w.jsonInto(&started, "intake", "start", open); started.Counts["awaiting_start"] != 1 {
		t.Errorf("intake start --json: counts %v, want Carys awaiting the start", started.Counts)
	}
	to := time.Now().AddDate(0, 0, 20).Truncate(time.Minute)
	var moved struct {
		Session  string
		StartsAt time.Time
	}
	if w.jsonInto(&moved, "intake", "reschedule", open, "adaption-lab/2", "--to", to.Format(time.RFC3339)); moved.Session != "adaption-lab/2" || !moved.StartsAt.Equal(to) {
		t.Errorf("intake reschedule --json: %+v, want adaption-lab/2 at %s", moved, to)
	}
}

func TestTemporalUnreachable(t *testing.T) {
	isolateEnv(t)
	st, db := storeFile(t)
	st.Close()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_ADDRESS", l.Addr().String())
	l.Close()
	w := &world{t: t, database: db}
	w.expect(exitFailed, []string{"cannot reach Temporal", "infuse dev"}, "intake", "start", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f")
	// What needs only the store still works.
	if r := w.infuse("intake", "list"); r.code != 0 {
		t.Errorf("intake list without Temporal: %d %s", r.code, r.stderr)
	}
	w.database = filepath.Join(t.TempDir(), "missing.db")
	w.expect(exitFailed, []string{"no database at", "infuse dev"}, "intake", "list")
}

func TestUsage(t *testing.T) {
	isolateEnv(t)
	w := &world{t: t, database: filepath.Join(t.TempDir(), "unused.db")}
	for _, args := range [][]string{
		{"bogus"},
		{"intake", "bogus"},
		{"intake", "start"},
		{"people", "list", "--colour"},
		{"offer", "maybe", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f"},
		{"attendance", "0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f", "adaption-lab/1", "late"},
	} {
		if r := w.infuse(args...); r.code != exitInvalid || !strings.HasPrefix(r.stderr, "infuse: ") {
			t.Errorf("infuse %s: exit %d, stderr %q; want exit 2 and one message", strings.Join(args, " "), r.code, r.stderr)
		}
	}
	if r := w.infuse("--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit codes:") {
		t.Errorf("--help: %d, exit codes not documented:\n%s", r.code, r.stdout)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]string{
		"2021-10-01":                "2021-10-01T00:00:00+01:00",
		"2021-11-01T10:00":          "2021-11-01T10:00:00Z", // after the clocks went back
		"2021-09-13 17:00":          "2021-09-13T17:00:00+01:00",
		"2021-09-13T17:00:00+02:00": "2021-09-13T17:00:00+02:00",
	} {
		got, err := parseTime("--at", in)
		if err != nil || !got.Equal(mustTime(t, want)) {
			t.Errorf("parseTime(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "13/09/2021", "2021-02-30"} {
		if _, err := parseTime("--at", bad); exitCode(&failure{err}) != exitInvalid {
			t.Errorf("parseTime(%q) = %v, want invalid", bad, err)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// storeFile opens a new SQLite store in a file, as the commands find it
// with --database; callers close it before running commands against it.
func storeFile(t *testing.T) (*sqlitestore.Store, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "infuse.db")
	st, err := sqlitestore.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	return st, db
}
