package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"

	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/dev/cluster"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The outages of TestPostgresStoppedMidIntake and
// TestTemporalPostgresStoppedMidIntake.
const (
	// outage is how long PostgreSQL stays down: issue 11's figure.
	outage = 30 * time.Second
	// outageApplicants apply to the intake; outageEarly of them start
	// before the outage, and the database stops once outageStopAfter of
	// those have accepted their offers, so the rest are somewhere between
	// applying and accepting when it goes. The others apply while it is
	// down.
	outageApplicants = 16
	outageEarly      = 12
	outageStopAfter  = 6
	// outageLateApplications is how far into the outage the others apply.
	outageLateApplications = outage / 6
	// outageNamespace is the namespace on the Temporal server of
	// TestTemporalPostgresStoppedMidIntake's own.
	outageNamespace = "infuse-outage"
)

// TestPostgresStoppedMidIntake: issue 11's "PostgreSQL stopped for 30 s
// mid-run", with the real `infuse worker` and `infuse api` on a PostgreSQL
// server of the test's own and a Temporal server. Participants apply, are
// offered places and accept through the API, as scripts of their own
// would, while the database stops for outage and starts again; then the
// coordinator starts the intake. Meanwhile the next intake's window opens,
// on its workflow's timer, inside the outage.
//
// While the database is down: /readyz of both processes is red; a request
// that needs the store is answered 503 with Retry-After in a problem
// (never 500), and so is every application made meanwhile, and a
// participant reading their journey; the workflows' activities fail and
// Temporal retries them. Once it is back, every
// request the clients retried has succeeded and nothing is lost or
// doubled, as a coordinator sees it: every applicant has one journey, and
// every journey started; each journey's event log in the store is the
// journey's own timeline, event for event, and the same steps as every
// other journey's (the first few were through before the outage: they are
// what a run without it records); the intake recorded each application and decision
// once; each participant was sent their offer once; the next intake
// opened, once, with its opening recorded after the database came back.
func TestPostgresStoppedMidIntake(t *testing.T) {
	runOutage(t, outageOf{
		database: "the store's PostgreSQL",
		world: func(t *testing.T, pg *privatePostgres) (string, *testenv.Temporal, *cluster.Temporal) {
			return pg.url(), testenv.NewServer(t), nil
		},
		readyzDown: func(code int, body string) bool {
			return code == http.StatusServiceUnavailable && body == `{"status":"unavailable","failing":{"store":"error"}}`+"\n"
		},
		readsDown: http.StatusServiceUnavailable,
		storeDown: true,
	})
}

// TestTemporalPostgresStoppedMidIntake: the same run, but what stops for
// outage is the PostgreSQL server holding Temporal's persistence and
// visibility (a server of the test's own, under a real Temporal server
// process, as in production), while the store, on the machine's shared
// PostgreSQL, stays up.
//
// While it is down: /readyz of both processes stays green, for it asks
// the Temporal frontend's gRPC health, which says only that the frontend
// serves, not that its database answers, and the store answers; the
// dashboard, which needs only the store, is read as ever; a journey's page
// is answered from the store's projection once the query of its live
// state gives up. A request that needs Temporal (an application, a
// decision, an answer to an offer) is held: the API waits for Temporal up
// to its deadline (idempotency.Deadline, longer than the outage) and
// answers once it is back, or 503 with Retry-After in a problem if it is
// not, never 500. Temporal's server itself rides the outage out: it is
// still running afterwards and serves again without a restart. Once the
// database is back, every request has succeeded and nothing is lost or
// doubled (the same checks as the store's outage); the next intake's
// timer, which fell due during the outage, fires once Temporal can write
// its history again, and its opening is recorded once.
func TestTemporalPostgresStoppedMidIntake(t *testing.T) {
	runOutage(t, outageOf{
		database: "Temporal's PostgreSQL",
		world: func(t *testing.T, pg *privatePostgres) (string, *testenv.Temporal, *cluster.Temporal) {
			server := startOutageTemporal(t, pg)
			return pgstore.TestSchemaURL(t), testenv.Connect(t, server.Address, server.Namespace), server
		},
		readyzDown: outageGreen,
		readsDown:  http.StatusOK,
	})
}

// outageOf is what an outage test stops and what it expects meanwhile.
type outageOf struct {
	// database names the database that stops, for the log and failures.
	database string
	// world makes the store and the Temporal namespace the processes
	// use, one of them on pg, the PostgreSQL server the test stops. It
	// returns the store's database and, if Temporal is a server process
	// of the test's own, that server.
	world func(t *testing.T, pg *privatePostgres) (database string, ts *testenv.Temporal, server *cluster.Temporal)
	// readyzDown says whether an answer of /readyz is the one wanted
	// while it is down.
	readyzDown func(code int, body string) bool
	// readsDown is how reads are answered while it is down: 503 (with
	// Retry-After, in a problem) or 200. They are the intake's dashboard,
	// which only needs the store, and a participant's journey, which is
	// the store's projection and its workflow's live state.
	readsDown int
	// storeDown: the store's is the database that stops. The workflows'
	// records fail meanwhile and are retried; the next intake's window
	// opens, on its timer, inside the outage. Without it Temporal's
	// timer fires once it can write its history again, after the outage.
	storeDown bool
}

// checkDashboardDown: the dashboard read while the database is down is
// answered as o wants: a 503 says to come back in 30 s, in a problem
// naming the request, and a 200 is the dashboard.
func (o outageOf) checkDashboardDown(t *testing.T, r outageResponse) {
	t.Helper()
	var d wire.IntakeDashboard
	switch {
	case r.status != o.readsDown:
	case r.status == http.StatusOK && json.Unmarshal(r.body, &d) == nil && d.Intake.Name != "":
		return
	case r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "30" &&
		r.header.Get("Content-Type") == "application/problem+json" && strings.Contains(string(r.body), r.header.Get("X-Request-Id")):
		return
	}
	t.Errorf("the dashboard while %s is down: %d, Retry-After %q, %s: %s; want %d (a 503 with 30 s, a problem naming the request ID %s)",
		o.database, r.status, r.header.Get("Retry-After"), r.header.Get("Content-Type"), r.body, o.readsDown, r.header.Get("X-Request-Id"))
}

// checkLateApplication: an application made while the database was down
// was answered 503 at first (with the store down, at once) or, with
// Temporal's down, either that or held until Temporal was back (the API
// waits for Temporal up to its deadline, longer than the outage).
func (o outageOf) checkLateApplication(t *testing.T, i int, a outageAnswer, restarted time.Time) {
	t.Helper()
	no503First := len(a.statuses) == 0 || a.statuses[0] != http.StatusServiceUnavailable
	if !o.storeDown && no503First && !a.firstAt.Before(restarted) {
		return
	}
	if no503First {
		t.Errorf("participant %d applied while %s was down and was answered %v, first at %v (the database back at %v), want 503 first",
			i, o.database, a.statuses, a.firstAt.Format(time.TimeOnly), restarted.Format(time.TimeOnly))
	}
}

// startOutageTemporal builds and starts a Temporal server process on its
// own databases on pg, stopped when the test ends.
func startOutageTemporal(t *testing.T, pg *privatePostgres) *cluster.Temporal {
	t.Helper()
	// The first build compiles the server (minutes on two loaded cores);
	// starting it has patience of its own.
	buildCtx, cancelBuild := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancelBuild()
	dir := t.TempDir()
	began := time.Now()
	// Built where the next run finds them: the go command then links them
	// again only if they changed, which saves every later run the 20 s
	// (more on a loaded machine) linking the server takes. A folder per
	// version of the server: a checkout with another version, testing at
	// the same time, must not overwrite a server that is running.
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = dir
	}
	binDir := filepath.Join(cache, "infuse-journeys-tests", "temporal-"+serverVersion())
	if err := os.MkdirAll(binDir, 0o750); err != nil {
		t.Fatal(err)
	}
	bins, err := cluster.BuildTemporal(buildCtx, binDir)
	if err != nil {
		t.Fatal(err)
	}
	built := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*patience)
	defer cancel()
	port, err := strconv.Atoi(pg.port)
	if err != nil {
		t.Fatalf("the private PostgreSQL's port %q: %v", pg.port, err)
	}
	server, err := cluster.StartTemporal(ctx, cluster.TemporalOptions{Binaries: bins, Dir: dir, Namespace: outageNamespace,
		Postgres: cluster.Postgres{Host: "127.0.0.1", Port: port, User: "postgres"}})
	if err != nil {
		t.Fatal(err)
	}
	// Before PostgreSQL stops (cleanups run last in, first out); its
	// databases go with the server's files.
	t.Cleanup(func() {
		if err := server.Stop(shutdownTimeout); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("the Temporal server's log (%s), the end:\n%s", server.LogPath, cluster.Tail(server.Log(), 6000))
		}
	})
	t.Logf("built the Temporal server in %v and started it at %s, on PostgreSQL at 127.0.0.1:%s, in %v",
		built.Sub(began).Round(time.Millisecond), server.Address, pg.port, time.Since(built).Round(time.Millisecond))
	return server
}

// runOutage runs an intake through the API while o's database stops for
// outage (TestPostgresStoppedMidIntake says how), and checks what o
// expects meanwhile and that nothing was lost or doubled.
func runOutage(t *testing.T, o outageOf) {
	if testing.Short() {
		t.Skip("stops a PostgreSQL server for 30 s while an intake runs")
	}
	began := time.Now()
	pg := startPrivatePostgres(t)
	// Before isolateEnv, which unsets INFUSE_TEST_DATABASE_URL and
	// INFUSE_TEST_TEMPORAL too: the test's own set-up follows them.
	database, ts, server := o.world(t, pg)
	isolateEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", ts.GetFrontendHostPort())
	t.Setenv("TEMPORAL_NAMESPACE", ts.GetDefaultNamespace())
	w := &world{t: t, database: database, temporal: ts}

	// The worker first: it migrates the new database before the API opens it.
	workerOps := testenv.ClosedPort(t)
	workerEnded := w.serve("worker", "--metrics", workerOps)
	w.until(workerEnded, "http://"+workerOps+"/readyz", outageGreen)
	public, apiOps := testenv.ClosedPort(t), testenv.ClosedPort(t)
	apiEnded := w.serve("api", "--http", public, "--metrics", apiOps, "--base-url", "http://"+public)
	readyz := []struct {
		url   string
		ended <-chan string
	}{{"http://" + public + "/readyz", apiEnded}, {"http://" + apiOps + "/readyz", apiEnded}, {"http://" + workerOps + "/readyz", workerEnded}}
	for _, r := range readyz {
		w.until(r.ended, r.url, outageGreen)
	}

	// The people, and an API token each, as a coordinator would make them.
	w.must("people", "import", w.writeFile("people.csv", outagePeople()))
	coordinator := w.jsonField("token", "token", "create", "--person", "megan@example.org", "--role", "coordinator", "--name", "intake script")
	participants := make([]outageParticipant, outageApplicants)
	for i := range participants {
		var tok struct{ Token, Person string }
		w.jsonInto(&tok, "token", "create", "--person", outageEmail(i), "--role", "participant", "--name", "my script")
		participants[i] = outageParticipant{token: tok.Token, person: uuid.MustParse(tok.Person)}
	}

	ctx, cancel := context.WithCancel(context.Background())
	st, err := pgstore.Open(ctx, w.database) // the test's own look at the store, as an operator's would be
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	// The clients wait longer than the API's own deadline for a change, so
	// that a request held up by the outage is answered by the server.
	c := &outageClient{base: "http://" + public, http: &http.Client{Timeout: 2 * idempotency.Deadline}}
	var intake store.Intake
	if err := c.call(ctx, coordinator, http.MethodPost, "/api/intakes", api.CreateIntakeRequest{
		Name: "Cohort 1", Capacity: outageApplicants, OpensAt: outageRFC(-time.Hour), ClosesAt: outageRFC(48 * time.Hour),
		StartsOn: time.Now().AddDate(0, 0, 30).Format(time.DateOnly),
	}, http.StatusCreated, &intake).err; err != nil {
		t.Fatal(err)
	}
	outageUntil(t, ctx, c, participants[0].token, "/api/intakes/open", "Cohort 1 to open", func(open []store.Intake) bool {
		return slices.ContainsFunc(open, func(in store.Intake) bool { return in.ID == intake.ID })
	})

	// Each participant's way through, on a goroutine of its own; the
	// clients' results are checked once they have all finished. The
	// clients end before the processes they call (cleanups run last in,
	// first out).
	var clients sync.WaitGroup
	t.Cleanup(clients.Wait)
	t.Cleanup(cancel)
	accepted := make(chan int, outageApplicants)
	through := func(i int) {
		clients.Go(func() {
			p := &participants[i]
			var applied api.Applied
			p.apply = c.call(ctx, p.token, http.MethodPost, "/api/intakes/"+intake.ID.String()+"/applications", struct{}{}, http.StatusCreated, &applied)
			if p.apply.err != nil {
				return
			}
			p.journey = applied.JourneyID
			var offered, took api.StatusAnswer
			p.offer = c.call(ctx, coordinator, http.MethodPost, "/api/journeys/"+p.journey.String()+"/decision",
				api.DecisionRequest{Decision: workflows.DecisionOffer}, http.StatusOK, &offered)
			if p.offer.err != nil {
				return
			}
			accept := true
			p.accept = c.call(ctx, p.token, http.MethodPost, "/api/journeys/"+p.journey.String()+"/offer",
				api.OfferResponse{Accept: &accept}, http.StatusOK, &took)
			if p.accept.err == nil && took.Status != contract.StatusAccepted {
				p.accept.err = fmt.Errorf("accepting the offer answered %q, want %q", took.Status, contract.StatusAccepted)
			}
			if p.accept.err == nil {
				accepted <- i
			}
		})
	}
	for i := range outageEarly {
		through(i)
	}
	var through0 int // the first participant through
	for n := 0; n < outageStopAfter; n++ {
		select {
		case i := <-accepted:
			if n == 0 {
				through0 = i
			}
		case <-time.After(patience):
			cancel()
			clients.Wait()
			t.Fatalf("%d of %d participants accepted their offers in %v; the clients: %s", n, outageEarly, patience, outageResults(participants))
		}
	}

	// The next intake, whose window opens on its workflow's timer inside
	// the outage: its opening must be recorded once the database is back.
	// It opens an outage's length from now, so that a loaded machine has
	// that long to schedule it and stop the database first.
	var next store.Intake
	opens := time.Now().Add(outage)
	if err := c.call(ctx, coordinator, http.MethodPost, "/api/intakes", api.CreateIntakeRequest{
		Name: "Cohort 2", Capacity: outageApplicants, OpensAt: opens.UTC().Format(time.RFC3339Nano), ClosesAt: outageRFC(30 * 24 * time.Hour),
		StartsOn: time.Now().AddDate(0, 0, 60).Format(time.DateOnly),
	}, http.StatusCreated, &next).err; err != nil {
		t.Fatal(err)
	}

	// Its workflow records that it is scheduled before it sets the timer.
	retryUntil(t, "Cohort 2 to be scheduled", func() (bool, string) {
		events, err := st.IntakeEvents(ctx, next.ID)
		return err == nil && len(events) > 0, fmt.Sprint(events, err)
	})

	pg.stop()
	stopped := time.Now()
	t.Logf("%s stopped %v into the test, with %d of %d participants through", o.database, stopped.Sub(began).Round(time.Millisecond), outageStopAfter, outageApplicants)
	if !stopped.Before(opens) {
		t.Fatalf("%s took until %v after Cohort 2 was made to stop, past its opening (%v): the opening is not inside the outage",
			o.database, stopped.Sub(opens.Add(-outage)), outage)
	}
	// The database is back after the outage, and not before Cohort 2 has
	// been open for a third of one: long enough for its worker, however
	// slow, to have tried to record the opening while it was down.
	back := stopped.Add(outage)
	if b := opens.Add(outage / 3); b.After(back) {
		back = b
	}
	// What /readyz and the dashboard say, as the outage begins and again
	// near its end. The rest of the applicants apply a little into the
	// outage (so that the Retry-After they are given ends after it).
	// A participant looks at their journey meanwhile, however long the
	// answer takes.
	type reading struct {
		what string
		err  error
	}
	journeyReads := make(chan reading, 2)
	whileDown := func() {
		for _, r := range readyz {
			w.until(r.ended, r.url, o.readyzDown)
		}
		o.checkDashboardDown(t, c.get(ctx, coordinator, "/api/intakes/"+intake.ID.String()+"/dashboard"))
		clients.Go(func() {
			asked := time.Now()
			r := c.get(ctx, participants[through0].token, "/api/journeys/"+participants[through0].journey.String())
			_, _, err := retryAfter(r)
			if err == nil && r.status != o.readsDown {
				err = fmt.Errorf("%d %s, want %d", r.status, r.body, o.readsDown)
			}
			what := fmt.Sprintf("asked at %v, answered %d after %v", asked.Format(time.TimeOnly), r.status, time.Since(asked).Round(time.Millisecond))
			var d wire.JourneyDetail
			if r.status == http.StatusOK && json.Unmarshal(r.body, &d) == nil {
				what += ", its live state " + cmp.Or(d.LiveError, "there")
			}
			journeyReads <- reading{what, err}
		})
	}
	whileDown()
	time.Sleep(time.Until(stopped.Add(outageLateApplications)))
	for i := outageEarly; i < outageApplicants; i++ {
		through(i)
	}
	time.Sleep(time.Until(back.Add(-outageLateApplications)))
	whileDown()

	time.Sleep(time.Until(back)) // the outage itself, not a wait for something to happen
	restarted := time.Now()
	pg.start()
	t.Logf("%s back after %v", o.database, time.Since(stopped).Round(time.Millisecond))
	for _, r := range readyz {
		w.until(r.ended, r.url, outageGreen)
	}
	if server != nil && !server.Running() {
		t.Fatalf("the Temporal server exited while its database was down; its log, %s:\n%s", server.LogPath, cluster.Tail(server.Log(), 6000))
	}

	// Every client finishes: the requests that were told to retry succeed.
	clients.Wait()
	for range 2 {
		if r := <-journeyReads; r.err != nil {
			t.Errorf("participant %d's journey read while %s was down: %s: %v", through0, o.database, r.what, r.err)
		} else {
			t.Logf("participant %d's journey read while %s was down: %s", through0, o.database, r.what)
		}
	}
	retried := 0
	for i, p := range participants {
		for _, a := range []outageAnswer{p.apply, p.offer, p.accept} {
			if a.err != nil {
				t.Errorf("participant %d: %v", i, a.err)
			}
			if slices.Contains(a.statuses, http.StatusServiceUnavailable) {
				retried++
			}
		}
		if i >= outageEarly {
			o.checkLateApplication(t, i, p.apply, restarted)
		}
	}
	t.Logf("%d requests were answered 503 and retried; every client was through %v after %s started again; the clients: %s",
		retried, time.Since(restarted).Round(time.Millisecond), o.database, outageResults(participants))
	if t.Failed() {
		t.FailNow()
	}

	// The intake starts the journeys it has counted accepted: every one.
	retryUntil(t, "the intake to count every acceptance", func() (bool, string) {
		counts := w.intakeCounts(intake.ID.String())
		return counts[contract.StatusAccepted] == outageApplicants, fmt.Sprint(counts)
	})
	var started wire.Started
	if err := c.call(ctx, coordinator, http.MethodPost, "/api/intakes/"+intake.ID.String()+"/start", struct{}{}, http.StatusOK, &started).err; err != nil {
		t.Fatal(err)
	}
	var dash views.IntakeDashboard
	outageUntil(t, ctx, c, coordinator, "/api/intakes/"+intake.ID.String()+"/dashboard", "every journey to await the start", func(d views.IntakeDashboard) bool {
		dash = d
		return d.Counts[string(contract.StatusAwaitingStart)] == outageApplicants
	})
	outageUntil(t, ctx, c, participants[0].token, "/api/intakes/open", "Cohort 2 to open", func(open []store.Intake) bool {
		return slices.ContainsFunc(open, func(in store.Intake) bool { return in.ID == next.ID })
	})

	journeys := checkOneJourneyEach(t, dash, participants)
	checkJourneyLogs(t, ctx, st, w, journeys)
	checkIntakeLog(t, ctx, st, intake.ID, journeys)
	checkOffersSent(t, ctx, st, intake.ID, journeys)
	checkOpenedAfterOutage(t, ctx, st, next.ID, stopped, restarted, o.storeDown)
	checkRunning(t, ctx, w, intake.ID, journeys)
	if o.storeDown {
		checkActivitiesRetried(t, "http://"+workerOps+"/metrics")
	}
	if server != nil {
		t.Logf("what the Temporal server logged as errors: %s", serverErrors(server.Log()))
	}
	t.Logf("the whole test took %v", time.Since(began).Round(time.Second))
}

// serverVersion is the version of the Temporal server module this test
// binary was built with, which the go command builds the server from.
func serverVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, m := range info.Deps {
			if m.Path == "go.temporal.io/server" {
				return m.Version
			}
		}
	}
	return "unknown"
}

// serverErrors sums up the Temporal server's log lines at level error or
// above, by message.
func serverErrors(log string) string {
	count := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var l struct{ Level, Msg string }
		if json.Unmarshal([]byte(line), &l) == nil && l.Level != "" && l.Level != "debug" && l.Level != "info" && l.Level != "warn" {
			count[l.Level+": "+l.Msg]++
		}
	}
	var b strings.Builder
	for _, msg := range slices.Sorted(maps.Keys(count)) {
		fmt.Fprintf(&b, "\n  %d× %s", count[msg], msg)
	}
	return b.String()
}

// outageGreen is /readyz saying everything answers.
func outageGreen(code int, body string) bool {
	return code == http.StatusOK && body == `{"status":"ok"}`+"\n"
}

// outagePeople is a coordinator and outageApplicants participants, as a CSV to import.
func outagePeople() string {
	var b strings.Builder
	b.WriteString("role,given_name,family_name,email,local_authority,theme,language\n")
	b.WriteString("coordinator,Megan,Howells,megan@example.org,Monmouthshire,,en\n")
	authorities := []string{"Blaenau Gwent", "Cardiff", "Newport", "Torfaen"}
	themes := []string{"decarbonisation", "communities"}
	for i := range outageApplicants {
		fmt.Fprintf(&b, "participant,Participant,%d,%s,%s,%s,%s\n", i, outageEmail(i),
			authorities[i%len(authorities)], themes[i%len(themes)], []string{"cy", "en", ""}[i%3])
	}
	return b.String()
}

func outageEmail(i int) string { return fmt.Sprintf("p%02d@example.org", i) }

func outageRFC(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

// outageParticipant is one participant's credentials and what their way
// through the intake got.
type outageParticipant struct {
	token                string
	person, journey      uuid.UUID
	apply, offer, accept outageAnswer
}

// outageResults sums up what every participant's requests were answered.
func outageResults(ps []outageParticipant) string {
	var b strings.Builder
	for i, p := range ps {
		fmt.Fprintf(&b, "\n  %d: apply %v, offer %v, accept %v", i, p.apply.statuses, p.offer.statuses, p.accept.statuses)
	}
	return b.String()
}

// outageClient calls the API as a careful script does: a change carries
// an Idempotency-Key, the same on every retry, and an answer that asks
// for a retry (503, or 409 while the first attempt is still being
// handled) is retried after its Retry-After.
type outageClient struct {
	base string
	http *http.Client
}

// outageAnswer is every status a request was answered, in order, and why
// it failed (nil if its last answer was the one wanted).
type outageAnswer struct {
	statuses []int
	firstAt  time.Time // when the first answer came
	err      error
}

// outageResponse is one answer.
type outageResponse struct {
	status int
	header http.Header
	body   []byte
}

// call sends body to path until it is answered other than "retry later",
// which must be want; out gets the answer. Every 503 must be a problem
// with a Retry-After; any other 5xx is an error at once, not retried:
// the outage is nobody's bug.
func (c *outageClient) call(ctx context.Context, token, method, path string, body any, want int, out any) outageAnswer {
	var a outageAnswer
	raw, err := json.Marshal(body)
	if err != nil {
		a.err = err
		return a
	}
	key := uuid.NewString()
	// Only a bound on a failure: a request in flight when the store went
	// may wait out its whole deadline on the server, be told to come back
	// later, and take a while more under load when it does.
	deadline := time.Now().Add(idempotency.Deadline + idempotency.RetryUnreachableAfter + patience)
	for {
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(raw))
		if err != nil {
			a.err = err
			return a
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(idempotency.Header, key)
		r := c.send(req)
		if len(a.statuses) == 0 {
			a.firstAt = time.Now()
		}
		a.statuses = append(a.statuses, r.status)
		if r.status == 0 {
			a.err = fmt.Errorf("%s %s: %s", method, path, r.body)
			return a
		}
		after, retry, err := retryAfter(r)
		switch {
		case err != nil:
			a.err = fmt.Errorf("%s %s: %v", method, path, err)
			return a
		case retry && time.Now().Add(after).After(deadline):
			a.err = fmt.Errorf("%s %s: still told to retry at %v: %d %s", method, path, deadline.Format(time.TimeOnly), r.status, r.body)
			return a
		case retry:
			select {
			case <-time.After(after):
				continue
			case <-ctx.Done():
				a.err = ctx.Err()
				return a
			}
		case r.status != want:
			a.err = fmt.Errorf("%s %s: %d %s, want %d", method, path, r.status, r.body, want)
			return a
		}
		if err := json.Unmarshal(r.body, out); err != nil {
			a.err = fmt.Errorf("%s %s: %v: %s", method, path, err, r.body)
		}
		return a
	}
}

// get reads path once.
func (c *outageClient) get(ctx context.Context, token, path string) outageResponse {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return outageResponse{body: []byte(err.Error())}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return c.send(req)
}

// outageUntil GETs path, as a screen refreshing would, until ok says its
// 200 answer (read into a T) is the one wanted.
func outageUntil[T any](t *testing.T, ctx context.Context, c *outageClient, token, path, what string, ok func(T) bool) {
	t.Helper()
	retryUntil(t, what, func() (bool, string) {
		r := c.get(ctx, token, path)
		var v T
		return r.status == http.StatusOK && json.Unmarshal(r.body, &v) == nil && ok(v), fmt.Sprintf("%d %s", r.status, r.body)
	})
}

// send sends req once; no answer at all is status 0, with the error as the body.
func (c *outageClient) send(req *http.Request) outageResponse {
	resp, err := c.http.Do(req)
	if err != nil {
		return outageResponse{body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return outageResponse{body: []byte(err.Error())}
	}
	return outageResponse{status: resp.StatusCode, header: resp.Header, body: body}
}

// retryAfter says whether r asks for a retry and after how long, and
// whether it breaks the API's promises: a 503 is a problem (RFC 9457)
// with a Retry-After in seconds; nothing else is a 5xx.
func retryAfter(r outageResponse) (time.Duration, bool, error) {
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	hasAfter := err == nil && secs > 0
	switch {
	case r.status == http.StatusServiceUnavailable:
		var p api.Problem
		if !hasAfter || r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil ||
			p.Status != http.StatusServiceUnavailable || p.Detail == "" {
			return 0, false, fmt.Errorf("503 without a Retry-After in seconds (%q) or a problem (%s): %s",
				r.header.Get("Retry-After"), r.header.Get("Content-Type"), r.body)
		}
		return time.Duration(secs) * time.Second, true, nil
	case r.status >= 500:
		return 0, false, fmt.Errorf("%d, which says the request or the code is at fault, not the outage: %s", r.status, r.body)
	case r.status == http.StatusConflict && hasAfter:
		return time.Duration(secs) * time.Second, true, nil
	}
	return 0, false, nil
}

// checkOneJourneyEach: the coordinator's dashboard lists every applicant
// once, with the journey their application was answered with, and every
// journey awaiting the start. It returns the journeys, by participant.
func checkOneJourneyEach(t *testing.T, d views.IntakeDashboard, ps []outageParticipant) []uuid.UUID {
	t.Helper()
	if len(d.Rows) != len(ps) {
		t.Errorf("the dashboard lists %d journeys, want one for each of the %d applicants", len(d.Rows), len(ps))
	}
	journeys := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		var rows []views.DashboardRow
		for _, r := range d.Rows {
			if r.PersonID == p.person {
				rows = append(rows, r)
			}
		}
		if len(rows) != 1 || rows[0].JourneyID != p.journey || rows[0].State != contract.StatusAwaitingStart {
			t.Errorf("participant %d (journey %s) is on the dashboard as %+v; want once, awaiting the start", i, p.journey, rows)
		}
		journeys[i] = p.journey
	}
	return journeys
}

// checkJourneyLogs: each journey's events in the store are those its
// workflow made, in its order, each once (keys 1, 2, 3…: none missing,
// none twice), and every journey took the same steps: the application,
// the offer, its acceptance and the programme's schedule once each.
func checkJourneyLogs(t *testing.T, ctx context.Context, st store.Store, w *world, journeys []uuid.UUID) {
	t.Helper()
	var first []string
	for i, id := range journeys {
		var types []string
		// A record may still be in flight a moment after the dashboard shows the start.
		retryUntil(t, fmt.Sprintf("journey %d's events in the store to be its timeline", i), func() (bool, string) {
			var timeline []workflows.TimelineEntry
			q, err := w.temporal.GetDefaultClient().QueryWorkflow(ctx, workflows.JourneyWorkflowID(id), "", workflows.QueryTimeline)
			if err == nil {
				err = q.Get(&timeline)
			}
			if err != nil {
				return false, err.Error()
			}
			events, err := st.JourneyEvents(ctx, id)
			if err != nil {
				return false, err.Error()
			}
			types = types[:0]
			var keys, made []string
			for n, ev := range events {
				types = append(types, ev.Type)
				keys = append(keys, ev.Key)
				if want := fmt.Sprintf("journey/%s/%d", id, n+1); ev.Key != want {
					t.Fatalf("journey %d's event %d has key %s, want %s: events missing or recorded twice: %v", i, n+1, ev.Key, want, keys)
				}
			}
			for _, e := range timeline {
				made = append(made, e.Event)
			}
			return slices.Equal(types, made), fmt.Sprintf("the store has %v; the workflow made %v", types, made)
		})
		for _, step := range []string{"application.submitted", "offer.made", "offer.accepted", "programme.scheduled"} {
			if n := outageCount(types, step); n != 1 {
				t.Errorf("journey %d recorded %s %d times, want once: %v", i, step, n, types)
			}
		}
		if i == 0 {
			first = slices.Clone(types)
			t.Logf("every journey's events: %v", first)
		} else if !slices.Equal(types, first) {
			t.Errorf("journey %d recorded %v; journey 0, which took the same steps, %v", i, types, first)
		}
	}
}

// checkIntakeLog: the intake's own events are numbered without a gap,
// with each application received and decided once, and one start.
func checkIntakeLog(t *testing.T, ctx context.Context, st store.Store, intake uuid.UUID, journeys []uuid.UUID) {
	t.Helper()
	events, err := st.IntakeEvents(ctx, intake)
	if err != nil {
		t.Fatal(err)
	}
	received, decided := map[uuid.UUID]int{}, map[uuid.UUID]int{}
	var types []string
	for _, ev := range events {
		if ev.JourneyID != uuid.Nil {
			continue
		}
		types = append(types, ev.Type)
		if want := fmt.Sprintf("intake/%s/%d", intake, len(types)); ev.Key != want {
			t.Errorf("the intake's event %d (%s) has key %s, want %s: events missing or recorded twice", len(types), ev.Type, ev.Key, want)
		}
		var data struct{ Journey uuid.UUID }
		_ = json.Unmarshal(ev.Data, &data)
		switch ev.Type {
		case "application.received":
			received[data.Journey]++
		case "application.decided":
			decided[data.Journey]++
		}
	}
	for i, id := range journeys {
		if received[id] != 1 || decided[id] != 1 {
			t.Errorf("the intake recorded journey %d's application %d times and its decision %d times, want once each", i, received[id], decided[id])
		}
	}
	if len(received) != len(journeys) || len(decided) != len(journeys) || outageCount(types, "intake.started") != 1 || outageCount(types, "intake.opened") != 1 {
		t.Errorf("the intake's events: %v; want an application and a decision for each of %d journeys, one opening and one start", types, len(journeys))
	}
}

// checkOffersSent: each participant was sent their offer and the news
// that the intake started once, and every journey queued the same messages.
func checkOffersSent(t *testing.T, ctx context.Context, st store.Store, intake uuid.UUID, journeys []uuid.UUID) {
	t.Helper()
	msgs, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: intake})
	if err != nil {
		t.Fatal(err)
	}
	byJourney := map[uuid.UUID][]string{}
	for _, m := range msgs {
		byJourney[m.JourneyID] = append(byJourney[m.JourneyID], m.Template)
	}
	var first []string
	for i, id := range journeys {
		templates := byJourney[id]
		slices.Sort(templates)
		for _, once := range []string{"offer", "intake-started"} {
			if n := outageCount(templates, once); n != 1 {
				t.Errorf("journey %d queued %q %d times, want once: %v", i, once, n, templates)
			}
		}
		if i == 0 {
			first = templates
			t.Logf("every journey's messages: %v", first)
		} else if !slices.Equal(templates, first) {
			t.Errorf("journey %d queued %v; journey 0 %v", i, templates, first)
		}
	}
}

// checkOpenedAfterOutage: the next intake's window, which fell due while
// the database was down, opened, and that was recorded, once, after it
// was back. With the store down (storeDown) the window opened on time,
// inside the outage, and the record was retried until it could be made;
// with Temporal's database down, its timer fired once Temporal could
// write the workflow's history again, after the outage.
func checkOpenedAfterOutage(t *testing.T, ctx context.Context, st store.Store, intake uuid.UUID, stopped, restarted time.Time, storeDown bool) {
	t.Helper()
	events, err := st.IntakeEvents(ctx, intake)
	if err != nil {
		t.Fatal(err)
	}
	var opened []store.Event
	for _, ev := range events {
		if ev.Type == "intake.opened" {
			opened = append(opened, ev)
		}
	}
	if len(opened) != 1 {
		t.Fatalf("Cohort 2's opening was recorded %d times, want once: %+v", len(opened), events)
	}
	ev := opened[0]
	if storeDown && (ev.OccurredAt.Before(stopped) || !ev.OccurredAt.Before(restarted) || ev.RecordedAt.Before(restarted)) {
		t.Errorf("Cohort 2 opened at %v and that was recorded at %v; want it to open during the outage (%v to %v) and be recorded after",
			ev.OccurredAt, ev.RecordedAt, stopped, restarted)
	}
	if !storeDown && (ev.OccurredAt.Before(restarted) || ev.RecordedAt.Before(ev.OccurredAt)) {
		t.Errorf("Cohort 2 opened at %v and that was recorded at %v; want it to open after Temporal's database was back (%v)",
			ev.OccurredAt, ev.RecordedAt, restarted)
	}
}

// checkRunning: no workflow gave up: the intake and every journey still run.
func checkRunning(t *testing.T, ctx context.Context, w *world, intake uuid.UUID, journeys []uuid.UUID) {
	t.Helper()
	ids := []string{workflows.IntakeWorkflowID(intake)}
	for _, j := range journeys {
		ids = append(ids, workflows.JourneyWorkflowID(j))
	}
	for _, id := range ids {
		d, err := w.temporal.GetDefaultClient().DescribeWorkflowExecution(ctx, id, "")
		if err != nil {
			t.Fatal(err)
		}
		if s := d.GetWorkflowExecutionInfo().GetStatus(); s != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("workflow %s is %v, want running", id, s)
		}
	}
}

// checkActivitiesRetried: the worker's metrics count failed attempts of
// the Record activity (local or not): the outage failed them and Temporal
// tried again.
func checkActivitiesRetried(t *testing.T, metrics string) {
	t.Helper()
	code, body := get(t, metrics)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", metrics, code, body)
	}
	failed := 0.0
	for _, line := range strings.Split(body, "\n") {
		name, _, _ := strings.Cut(line, "{")
		if (name == "temporal_activity_execution_failed_total" || name == "temporal_local_activity_execution_failed_total") &&
			strings.Contains(line, `activity_type="Record"`) {
			v, err := strconv.ParseFloat(line[strings.LastIndex(line, " ")+1:], 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			failed += v
		}
	}
	t.Logf("the worker counts %v failed attempts to record an event", failed)
	if failed < 2 {
		t.Errorf("the worker counts %v failed attempts to record an event, want at least two (a failure, and its retry failing too)", failed)
	}
}

func outageCount(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
