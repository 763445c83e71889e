package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The tests here drive the API over a real SQLite store and a real
// in-process Temporal server running the real worker. The worker plans on
// testenv's test clock (testenv.UntilOpen), which starts when intake A
// does: its programme begins a few seconds later and rushes through the
// lab months, so its first coaching checkpoint opens about 20 s after that
// and then stays open for the programme's 14 days; intake B, starting
// three days after intake A, runs at real speed. The workflow code is
// production's; only the planner's clock differs.

// cohortStart is the programme (virtual) date intake A's start maps to.
var cohortStart = time.Date(2026, 10, 1, 0, 0, 0, 0, programme.London)

// speed is how much faster than real time intake A's lab months pass.
const speed = 400_000

// who is one caller of the API.
type who struct {
	name    string
	id      uuid.UUID
	token   string // API token
	session string // browser session secret
	csrf    string // that session's CSRF token
}

// world is the running system, its people and the journeys the tests look at.
type world struct {
	*apiClient
	st  store.Store
	svc *app.App

	coordinator, coach, otherCoach, participant, otherParticipant who
	// intakeB's participants, and someone to erase.
	bParticipant, bLeaver, eraseMe who

	intakeA, intakeB uuid.UUID
	// journey is the participant's in intake A, coached by coach;
	// otherJourney the other participant's, coached by otherCoach.
	journey, otherJourney    uuid.UUID
	bJourney, bLeaverJourney uuid.UUID
	startedA                 time.Time // when intake A's programme begins (real clock)
	checkpointOpens          time.Time // when checkpoint/1 of intake A opens (real clock)
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	planner, err := testenv.UntilOpen(cohortStart, speed, "checkpoint/1")
	must(t, err)
	w := newSystem(t, planner)
	st := w.st

	// The rest of the people arrive through the API's import.
	peopleFile := "role,given_name,family_name,email,local_authority,theme,language\n" +
		"coach,Nia,Parry,nia@example.org,Newport,,en\n" +
		"coach,Rhys,Owen,rhys@example.org,Cardiff,,cy\n" +
		"participant,Aled,Powell,aled@example.org,Newport,communities,cy\n" +
		"participant,Elin,Hughes,elin@example.org,Cardiff,decarbonisation,\n" +
		"participant,Gwen,Davies,gwen@example.org,Bridgend,communities,en\n" +
		"participant,Owain,Lewis,owain@example.org,Torfaen,decarbonisation,en\n" +
		"participant,Ffion,Rees,ffion@example.org,Caerphilly,communities,cy\n"
	var imported people.ImportResult
	decode(t, w.do(t, call{method: "POST", path: "/api/people/import", body: peopleFile, contentType: "text/csv",
		token: w.coordinator.token, key: "import-1"}), http.StatusOK, &imported)
	if len(imported.Created) != 7 || len(imported.Unchanged) != 0 {
		t.Fatalf("import = %+v", imported)
	}
	for _, p := range []struct {
		into  *who
		email string
		role  store.Role
	}{
		{&w.coach, "nia@example.org", store.RoleCoach}, {&w.otherCoach, "rhys@example.org", store.RoleCoach},
		{&w.participant, "aled@example.org", store.RoleParticipant}, {&w.otherParticipant, "elin@example.org", store.RoleParticipant},
		{&w.bParticipant, "gwen@example.org", store.RoleParticipant}, {&w.bLeaver, "owain@example.org", store.RoleParticipant},
		{&w.eraseMe, "ffion@example.org", store.RoleParticipant},
	} {
		person, err := st.FindPersonByEmail(ctx, p.email)
		must(t, err)
		*p.into = who{name: strings.TrimSuffix(p.email, "@example.org"), id: person.ID}
		w.credentials(t, p.into, p.role)
	}

	// Both open now and until they start. Their start dates are labels for
	// the test clock: intake B starts three days after intake A.
	now := time.Now()
	w.intakeA = w.createIntake(t, "Cohort A", now, now.Add(time.Hour), now.Add(time.Hour))
	w.intakeB = w.createIntake(t, "Cohort B", now, now.Add(time.Hour), now.Add(time.Hour+72*time.Hour))
	// The coordinator applies for one participant, naming the coach; the
	// other applies for themselves and gets a coach afterwards.
	w.journey = w.apply(t, w.intakeA, w.coordinator, fmt.Sprintf(`{"personId":%q,"coachId":%q}`, w.participant.id, w.coach.id))
	w.otherJourney = w.apply(t, w.intakeA, w.otherParticipant, `{}`)
	var done Done
	decode(t, w.do(t, call{method: "POST", path: "/api/journeys/" + w.otherJourney.String() + "/coach",
		body: fmt.Sprintf(`{"coachId":%q}`, w.otherCoach.id), token: w.coordinator.token, key: uuid.NewString()}), http.StatusOK, &done)
	w.bJourney = w.apply(t, w.intakeB, w.bParticipant, `{}`)
	w.bLeaverJourney = w.apply(t, w.intakeB, w.coordinator, fmt.Sprintf(`{"personId":%q,"coachId":%q}`, w.bLeaver.id, w.coach.id))
	for _, j := range []struct {
		journey uuid.UUID
		by      who
	}{{w.journey, w.participant}, {w.otherJourney, w.otherParticipant}, {w.bJourney, w.bParticipant}, {w.bLeaverJourney, w.bLeaver}} {
		// (UntilOpen plans offers in real time: they wait for the answer.)
		if st := w.decide(t, j.journey, workflows.DecisionOffer); st != contract.StatusOffered {
			t.Fatalf("decision: %s", st)
		}
		if st := w.accept(t, j.journey, j.by); st != contract.StatusAccepted {
			t.Fatalf("accepting: %s", st)
		}
	}
	// Intake A first: its start starts the test clock.
	for _, in := range []uuid.UUID{w.intakeA, w.intakeB} {
		// The intake counts whom it told to start as awaiting it (lifecycle-guard 8).
		started := w.start(t, in, 2)
		if started.Counts[contract.StatusAwaitingStart] != 2 {
			t.Fatalf("started %s: %+v", in, started)
		}
	}
	<-planner.Started()
	w.startedA, w.checkpointOpens = planner.Base(), planner.ToReal(planner.Knee)
	// Started: scheduled, and (the handlers check the projection) with
	// their coaches; the participant of intake B has none.
	for _, j := range []uuid.UUID{w.journey, w.otherJourney, w.bJourney, w.bLeaverJourney} {
		w.waitFor(t, j, func(s store.JourneySnapshot) bool {
			return s.State != contract.StatusAccepted && (s.CoachID != uuid.Nil || j == w.bJourney)
		})
	}
	return w
}

// newSystem is the API over a real SQLite store and a real in-process
// Temporal server running the real worker, which plans with planner, and
// the first coordinator, made with the store as `infuse` does.
func newSystem(t *testing.T, planner activities.Planner) *world {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	ts := testenv.NewServer(t)
	testenv.StartWorker(t, ts, &activities.Activities{Store: st, Planner: planner})
	svc := app.New(ts.GetDefaultClient(), st)
	w := &world{st: st, svc: svc}
	w.apiClient = newClient(t, New(svc, Options{Logger: zaptest.NewLogger(t, zaptest.Level(zap.ErrorLevel))}))
	w.coordinator = who{name: "coordinator", id: uuid.New()}
	must(t, st.CreatePeople(t.Context(), []store.Person{{ID: w.coordinator.id, Role: store.RoleCoordinator, GivenName: "Megan",
		FamilyName: "Howells", EmailAddress: "megan@example.org", LocalAuthority: "Torfaen"}}))
	w.credentials(t, &w.coordinator, store.RoleCoordinator)
	return w
}

// participants adds a participant of each given name, with credentials.
func (w *world) participants(t *testing.T, names ...string) []who {
	t.Helper()
	people := make([]who, len(names))
	for i, name := range names {
		people[i] = who{name: strings.ToLower(name), id: uuid.New()}
		must(t, w.st.CreatePeople(t.Context(), []store.Person{{ID: people[i].id, Role: store.RoleParticipant, GivenName: name,
			FamilyName: "Morgan", EmailAddress: strings.ToLower(name) + ".morgan@example.org", LocalAuthority: "Monmouthshire",
			Theme: "communities"}}))
		w.credentials(t, &people[i], store.RoleParticipant)
	}
	return people
}

// patience bounds how long a test waits for what workflows do after they
// answer; it only bounds a failure.
const patience = 30 * time.Second

// eventually waits until done says so, failing with the last state it
// reported (what was seen, or why it could not be) after patience.
func eventually(t testing.TB, what string, done func() (bool, any)) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		ok, last := done()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %s; last seen: %v", what, patience, last)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// counts is what the intake's own workflow counts of its journeys, by
// status (its query: the store's projections may lag behind it).
func (w *world) counts(t testing.TB, intake uuid.UUID) (map[workflows.Status]int, error) {
	t.Helper()
	var counts map[workflows.Status]int
	v, err := w.svc.Workflows.Temporal.QueryWorkflow(t.Context(), workflows.IntakeWorkflowID(intake), "", workflows.QueryIntakeCounts)
	if err == nil {
		err = v.Get(&counts)
	}
	return counts, err
}

// counted waits until the intake counts at least n journeys of status:
// it learns of each change by signal, a moment after the journey answers.
func (w *world) counted(t *testing.T, intake uuid.UUID, status workflows.Status, n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("intake %s to count %d %s", intake, n, status), func() (bool, any) {
		counts, err := w.counts(t, intake)
		return err == nil && counts[status] >= n, fmt.Sprint(counts, err)
	})
}

// startCall is the coordinator's request to start intake.
func (w *world) startCall(intake uuid.UUID) call {
	return call{method: "POST", path: "/api/intakes/" + intake.String() + "/start", token: w.coordinator.token, key: uuid.NewString()}
}

// start starts an intake through the API once it has counted accepted
// acceptances.
func (w *world) start(t *testing.T, intake uuid.UUID, accepted int) wire.Started {
	t.Helper()
	w.counted(t, intake, contract.StatusAccepted, accepted)
	var started wire.Started
	decode(t, w.do(t, w.startCall(intake)), http.StatusOK, &started)
	return started
}

// decide records the coordinator's decision on journey's application.
func (w *world) decide(t *testing.T, journey uuid.UUID, d workflows.Decision) workflows.Status {
	t.Helper()
	var st StatusAnswer
	decode(t, w.do(t, call{method: "POST", path: "/api/journeys/" + journey.String() + "/decision",
		body: fmt.Sprintf(`{"decision":%q}`, d), token: w.coordinator.token, key: uuid.NewString()}), http.StatusOK, &st)
	return st.Status
}

// acceptCall is by's request to accept the offer of journey.
func acceptCall(journey uuid.UUID, by who) call {
	return call{method: "POST", path: "/api/journeys/" + journey.String() + "/offer", body: `{"accept":true}`,
		token: by.token, key: uuid.NewString()}
}

// accept accepts the offer of journey as by.
func (w *world) accept(t *testing.T, journey uuid.UUID, by who) workflows.Status {
	t.Helper()
	var st StatusAnswer
	decode(t, w.do(t, acceptCall(journey, by)), http.StatusOK, &st)
	return st.Status
}

// credentials gives p an API token and a browser session.
func (w *world) credentials(t *testing.T, p *who, role store.Role) {
	t.Helper()
	ctx := context.Background()
	var err error
	p.token, _, err = w.st.CreateAPIToken(ctx, store.APIToken{PersonID: p.id, Role: role, Name: "test " + p.name})
	must(t, err)
	p.session, _, err = w.st.CreateWebSession(ctx, p.id, time.Now(), time.Now().Add(time.Hour))
	must(t, err)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: p.session})
	pr, err := (&auth.Authenticator{Store: w.st}).Identify(req)
	must(t, err)
	p.csrf = pr.CSRFToken()
}

func (w *world) createIntake(t *testing.T, name string, opens, closes, starts time.Time) uuid.UUID {
	t.Helper()
	var in wire.Intake
	body := fmt.Sprintf(`{"name":%q,"opensAt":%q,"closesAt":%q,"startsOn":%q,"capacity":10}`,
		name, opens.Format(time.RFC3339Nano), closes.Format(time.RFC3339Nano), starts.Format(time.RFC3339Nano))
	decode(t, w.do(t, call{method: "POST", path: "/api/intakes", body: body, token: w.coordinator.token, key: uuid.NewString()}),
		http.StatusCreated, &in)
	if in.Name != name || in.CoordinatorID != w.coordinator.id || in.Capacity != 10 {
		t.Fatalf("created %+v", in)
	}
	return in.ID
}

// apply applies through the API, retrying while the intake's window is
// about to open (it opens a moment after its workflow starts).
func (w *world) apply(t *testing.T, intake uuid.UUID, by who, body string) uuid.UUID {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		rec := w.do(t, call{method: "POST", path: "/api/intakes/" + intake.String() + "/applications", body: body,
			token: by.token, key: uuid.NewString()})
		if rec.Code == http.StatusConflict && strings.Contains(rec.Body.String(), "not open yet") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		var a Applied
		decode(t, rec, http.StatusCreated, &a)
		return a.JourneyID
	}
}

// waitFor waits until the store's projection of journey satisfies ok.
func (w *world) waitFor(t *testing.T, journey uuid.UUID, ok func(store.JourneySnapshot) bool) store.JourneySnapshot {
	t.Helper()
	var s store.JourneySnapshot
	eventually(t, "journey "+journey.String()+"'s projection", func() (bool, any) {
		var err error
		s, err = w.st.GetJourney(context.Background(), journey)
		return err == nil && ok(s), fmt.Sprintf("%+v (%v)", s, err)
	})
	return s
}

// record is what a request could change of a journey in the store: its
// people and outcome, the events that only a request causes, and its notes.
// Time moves the rest (intake A runs on a fast clock: phases start and
// reminders are queued while a test looks), so it is left out.
type record struct {
	person, coach uuid.UUID
	outcome       string
	requested     int
	notes         int
}

// byTime are the journey events the clock causes, not a request.
var byTime = []string{"phase.started", "reminders.queued", "task.overdue", "offer.lapsed", "journey.completed", "journey.not_completed"}

func (w *world) record(t *testing.T, journey uuid.UUID) record {
	t.Helper()
	ctx := context.Background()
	s, err := w.st.GetJourney(ctx, journey)
	must(t, err)
	evs, err := w.st.JourneyEvents(ctx, journey)
	must(t, err)
	notes, err := w.st.NotesOfJourney(ctx, journey)
	must(t, err)
	r := record{person: s.PersonID, coach: s.CoachID, outcome: string(s.Outcome), notes: len(notes)}
	for _, e := range evs {
		if !slices.Contains(byTime, e.Type) {
			r.requested++
		}
	}
	return r
}

func (w *world) countEvents(t *testing.T, journey uuid.UUID, typ string) int {
	t.Helper()
	evs, err := w.st.JourneyEvents(context.Background(), journey)
	must(t, err)
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestAPI runs everything that needs Temporal on one server, in order.
func TestAPI(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	w := newWorld(t)
	t.Run("authorisation matrix", w.testMatrix)
	t.Run("bad input", w.testBadInput)
	t.Run("intake B: reschedule, pause, resume, withdraw, calendar", w.testIntakeB)
	t.Run("reports, outcomes, export and erase", w.testReports)
	t.Run("participant language and journeys", w.testParticipant)
	t.Run("attendance once per key", w.testAttendance)
	t.Run("coach completes an open checkpoint once", w.testCheckpoint)
	// Last: its intake's journeys would change the counts the others check.
	t.Run("coordinator edits an intake: rename, places, waitlist", w.testEditIntake)
}
