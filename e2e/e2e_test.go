package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Time on the compressed clock (see testenv.Planner). The clock starts
// when the test starts intake A, so set-up may take as long as it takes,
// and runs at a pace chosen from how long set-up took (pace).
const (
	// factor is the clock's full speed: one programme day lasts about
	// 0.22 s, six months about 40 s.
	factor = 400_000
	// idleSetup is about twice what set-up (people, applications, offers,
	// acceptances: a dozen round trips to the workflows) takes on an idle
	// 2-core machine.
	idleSetup = 5 * time.Second
	// laterIntake is how much later on the programme's calendar intake B
	// starts than intake A: the participant deferring after intake A's
	// second session joins intake B more than three programme weeks before
	// the first session they have not attended.
	laterIntake = 18 * 24 * time.Hour
	// window is how long intake B takes applications: nobody applies, but
	// its window closes on the server's timer while intake A runs. Intake
	// A's window stays open until it starts, so applying has no deadline.
	window = 2 * time.Second
	// slack is how far apart two instants on the compressed clock must be
	// for the test to rely on their order: a reminder queued just as a task
	// was done, a task done just as it fell due.
	slack = 500 * time.Millisecond
	// testTimeout bounds one backend's whole scenario.
	// (About a minute on an idle machine; set-up alone was seen to take
	// 43 s under the race detector beside three other test packages.)
	testTimeout = 5 * time.Minute
	// pollEvery is how often the test looks at the store or Temporal while it waits.
	pollEvery = 15 * time.Millisecond
)

// london is the programme's time zone.
var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// cohort1Start is the programme instant that intake A's start maps to:
// Cohort 1 commenced on 1 October 2021, and UK clocks went back on
// 31 October, inside the lab months, so the compressed run crosses a clock
// change and the Christmas bank holidays like the real cohort did.
var cohort1Start = time.Date(2021, 10, 1, 0, 0, 0, 0, london)

// recordHistoriesEnv, when set, makes the sqlite run write its histories to
// workflows/testdata for the replay test.
const recordHistoriesEnv = "INFUSE_RECORD_HISTORIES"

// TestEndToEnd runs one scenario against each store backend, each with its
// own Temporal namespace, worker and store:
//
//   - intake A (capacity 2): four applications; offer, offer, waitlist (a
//     fourth offer is refused: the intake is full); the first offer is
//     declined and the waitlisted applicant is promoted and accepts; the
//     undecided applicant is not selected when the intake starts;
//   - one participant attends every session, hands in the plan and the
//     reflection, and is coached through six checkpoints (a checkpoint
//     attempt by another coach is rejected, a repeated request is
//     idempotent) and completes;
//   - the other attends two sessions, then defers to intake B, where a new
//     journey carries the attendance and completes with the rest.
//
// Then it checks the store's projections, the event log and the outbox,
// the search attributes through the visibility API, that no personal data
// reached any workflow history, and the size of a full journey's history.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six compressed months of the programme on a real Temporal server")
	}
	backends := []struct {
		name string
		open func(testing.TB) store.Store
	}{
		{"postgres", func(t testing.TB) store.Store { return pgstore.OpenTest(t) }},
		{"sqlite", func(t testing.TB) store.Store { return sqlitestore.OpenTest(t) }},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			record := b.name == "sqlite" && os.Getenv(recordHistoriesEnv) != ""
			runScenario(t, b.open, record)
		})
	}
}

// world is one backend's running system and the people in it.
type world struct {
	t       *testing.T
	ctx     context.Context
	c       client.Client
	ns      string
	st      store.Store
	svc     *app.App
	planner testenv.Planner
	// done is when each task was done, by journey and item, for checks
	// that depend on whether a reminder fell due before it.
	done map[uuid.UUID]map[string]time.Time

	coordinator, coach, otherCoach store.Person
	participants                   []store.Person
	// private is every piece of personal data the test handed the system:
	// names, e-mail addresses and free text. None may reach Temporal.
	mu      sync.Mutex
	private []string
}

func runScenario(t *testing.T, open func(testing.TB) store.Store, record bool) {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	w := newWorld(ctx, t, testenv.NewServerWithLogger, open, testenv.NewPlanner(cohort1Start, factor))
	w.createPeople()
	sc := w.runIntakes()
	w.checkStore(sc)
	w.checkVisibility(sc)
	w.checkHistories(sc, record)
}

// newWorld starts a system for t: a Temporal namespace from namespace, a
// store from open, and the real worker over them planning on planner's
// clock.
func newWorld(ctx context.Context, t *testing.T, namespace func(*testing.T, log.Logger) *testenv.Temporal,
	open func(testing.TB) store.Store, planner testenv.Planner) *world {
	t.Helper()
	// Cleanups run last-in first-out: the worker stops before the store
	// closes, the store closes before the client does, and the logger goes
	// quiet only after all of that.
	var quiet atomic.Bool
	t.Cleanup(func() { quiet.Store(true) })
	ts := namespace(t, &testLogger{t: t, quiet: &quiet})
	c := ts.GetDefaultClient()
	st := open(t)
	testenv.StartWorker(t, ts, &activities.Activities{Store: st, Planner: planner})
	return &world{t: t, ctx: ctx, c: c, ns: ts.GetDefaultNamespace(), st: st, svc: app.New(c, st), planner: planner,
		done: map[uuid.UUID]map[string]time.Time{}}
}

// scenario is what the run produced, for the checks.
type scenario struct {
	intakeA, intakeB store.Intake
	// declined, completed, deferred, notSelected are journeys of intake A;
	// deferredIn is the deferred participant's journey in intake B.
	declined, completed, deferred, notSelected, deferredIn uuid.UUID
}

func (w *world) createPeople() {
	w.t.Helper()
	w.coordinator = newPerson(store.RoleCoordinator, "Carys", "Bevan-Rowlands", "Monmouthshire", "", store.LanguageWelsh)
	w.coach = newPerson(store.RoleCoach, "Nerys", "Vaughan-Thomas", "Bridgend", "", store.LanguageEnglish)
	w.otherCoach = newPerson(store.RoleCoach, "Dafydd", "Llwyd-Jenkins", "Torfaen", "", store.LanguageUnknown)
	w.participants = []store.Person{
		newPerson(store.RoleParticipant, "Angharad", "Llewellyn", "Cardiff", "decarbonisation", store.LanguageWelsh),
		newPerson(store.RoleParticipant, "Rhodri", "Pritchard", "Newport", "communities", store.LanguageEnglish),
		newPerson(store.RoleParticipant, "Siân", "Hopkins-Bowen", "Rhondda Cynon Taf", "decarbonisation", store.LanguageUnknown),
		newPerson(store.RoleParticipant, "Gethin", "Morgan-Price", "Caerphilly", "communities", store.LanguageWelsh),
	}
	w.addPeople(append([]store.Person{w.coordinator, w.coach, w.otherCoach}, w.participants...)...)
}

// newPerson is a person of a scenario, with an address made from their name.
func newPerson(role store.Role, given, family, authority, theme string, lang store.Language) store.Person {
	email := strings.ToLower(strings.ReplaceAll(given+"."+family, "â", "a")) + "@" +
		strings.ToLower(strings.ReplaceAll(authority, " ", "")) + ".example.org"
	return store.Person{
		ID: uuid.New(), Role: role, GivenName: given, FamilyName: family, EmailAddress: email,
		LocalAuthority: authority, Theme: theme, Language: lang,
	}
}

// addPeople stores people and remembers their personal data, which must
// never reach Temporal.
func (w *world) addPeople(people ...store.Person) {
	w.t.Helper()
	if err := w.st.CreatePeople(w.ctx, people); err != nil {
		w.t.Fatal(err)
	}
	for _, p := range people {
		w.secret(p.GivenName+" "+p.FamilyName, p.FamilyName, p.EmailAddress)
		if len(p.GivenName) >= 6 { // shorter ones could turn up by chance in binary data
			w.secret(p.GivenName)
		}
		local, _, _ := strings.Cut(p.EmailAddress, "@")
		w.secret(local)
	}
}

// secret remembers personal data handed to the system.
func (w *world) secret(s ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.private = append(w.private, s...)
}

// runIntakes drives both intakes from creation to their end.
func (w *world) runIntakes() scenario {
	t := w.t
	t.Helper()
	var sc scenario
	now := time.Now()
	// The start dates are labels for the compressed clock: intake B starts
	// laterIntake after intake A, whenever the test starts them.
	startsOn := now.Add(time.Hour)
	var err error
	sc.intakeA, err = w.svc.Commands.CreateIntake(w.ctx, commands.IntakeSpec{
		Name: "Cohort 1 (e2e)", CoordinatorID: w.coordinator.ID,
		OpensAt: now, ClosesAt: startsOn, StartsOn: startsOn, Capacity: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.must(w.intakeReaches(sc.intakeA.ID, store.IntakeOpen, time.Minute))

	// Applications, while the window is open.
	journeys := make([]uuid.UUID, len(w.participants))
	for i, p := range w.participants {
		if journeys[i], err = w.svc.Commands.Apply(w.ctx, sc.intakeA.ID, p.ID, w.coach.ID); err != nil {
			t.Fatalf("%s applying: %v", p.GivenName, err)
		}
	}
	if _, err := w.svc.Commands.Apply(w.ctx, sc.intakeA.ID, w.participants[0].ID, w.coach.ID); !errors.Is(err, apperr.ErrRejected) {
		t.Errorf("a second application from the same person: got %v, want %v", err, apperr.ErrRejected)
	}
	sc.declined, sc.completed, sc.deferred, sc.notSelected = journeys[0], journeys[1], journeys[2], journeys[3]

	// Decisions.
	if _, err := w.svc.Commands.Apply(w.ctx, sc.intakeA.ID, w.otherCoach.ID, uuid.Nil); !errors.Is(err, apperr.ErrInvalid) {
		t.Errorf("a coach applying as a participant: got %v, want %v", err, apperr.ErrInvalid)
	}
	// Offers are planned in real time (testenv.Planner): no reminder falls
	// due while the test answers them.
	decide := func(j uuid.UUID, d workflows.Decision, want workflows.Status) {
		if got, err := w.svc.Commands.Decide(w.ctx, sc.intakeA.ID, j, d); err != nil || got != want {
			t.Fatalf("decision %s: %s, %v; want %s", d, got, err, want)
		}
	}
	decide(sc.completed, workflows.DecisionOffer, contract.StatusOffered)
	w.respond(sc.completed, true, contract.StatusAccepted)
	decide(sc.deferred, workflows.DecisionWaitlist, contract.StatusWaitlisted)
	decide(sc.declined, workflows.DecisionOffer, contract.StatusOffered)
	if _, err := w.svc.Commands.Decide(w.ctx, sc.intakeA.ID, sc.notSelected, workflows.DecisionOffer); !errors.Is(err, apperr.ErrRejected) ||
		!strings.Contains(err.Error(), "full") {
		t.Errorf("a third offer with two places: got %v, want rejected as full", err)
	}

	// The declined offer frees its place for the waitlisted applicant.
	w.respond(sc.declined, false, contract.StatusDeclined)
	w.respond(sc.deferred, true, contract.StatusAccepted)
	w.must(w.intakeCounts(sc.intakeA.ID, "intake A sees two acceptances", func(counts map[workflows.Status]int) bool {
		return counts[contract.StatusAccepted] == 2
	}))
	// Set-up showed how fast this machine is today: the clock runs at a pace
	// the system can keep up with, and intake B starts laterIntake after
	// intake A at that pace.
	speed := pace(time.Since(now))
	w.planner.SetFactor(speed)
	t.Logf("set-up took %s: the clock runs %d times as fast as real time", time.Since(now).Round(time.Millisecond), speed)
	sc.intakeB, err = w.svc.Commands.CreateIntake(w.ctx, commands.IntakeSpec{
		Name: "Cohort 2 (e2e)", CoordinatorID: w.coordinator.ID,
		OpensAt: time.Now(), ClosesAt: time.Now().Add(window), StartsOn: startsOn.Add(laterIntake / speed), Capacity: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	counts, err := w.svc.Commands.StartIntake(w.ctx, sc.intakeA.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("intake A started %s after set-up: %v", time.Since(now).Round(time.Millisecond), counts)
	if _, err := w.svc.Commands.StartIntake(w.ctx, sc.intakeA.ID); !errors.Is(err, apperr.ErrRejected) {
		t.Errorf("starting intake A twice: got %v, want %v", err, apperr.ErrRejected)
	}
	// Attendance is taken once a journey has its schedule: on a loaded
	// machine that may be after the first sessions, which is fine (late
	// attendance counts), but not before.
	for _, j := range []uuid.UUID{sc.completed, sc.deferred} {
		if _, err := w.scheduled(j); err != nil {
			t.Fatal(err)
		}
	}

	// The participants' months, side by side.
	scheduleA := w.schedule(sc.intakeA.StartsOn)
	scheduleB := w.schedule(sc.intakeB.StartsOn)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs <- w.followJourney(sc.completed, w.participants[1], scheduleA, nil)
	}()
	go func() {
		defer wg.Done()
		id, err := w.deferAfterTwoSessions(sc, scheduleA)
		sc.deferredIn = id
		if err == nil {
			carried := map[string]bool{}
			for _, it := range sessions(scheduleA)[:2] {
				carried[it.ID] = true
			}
			err = w.followJourney(id, w.participants[2], scheduleB, carried)
		}
		errs <- err
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// The end: both journeys assessed, both intakes finished.
	for _, j := range []struct {
		id uuid.UUID
		s  programme.Schedule
	}{{sc.completed, scheduleA}, {sc.deferredIn, scheduleB}} {
		w.must(w.until("journey "+j.id.String()+" completed", j.s.EndsAt.Add(20*time.Second), func() (bool, error) {
			snap, err := w.st.GetJourney(w.ctx, j.id)
			return snap.State == contract.StatusCompleted, err
		}))
	}
	for _, in := range []store.Intake{sc.intakeA, sc.intakeB} {
		ctx, cancel := context.WithTimeout(w.ctx, 20*time.Second)
		var st store.IntakeStatus
		err := w.c.GetWorkflow(ctx, workflows.IntakeWorkflowID(in.ID), "").Get(ctx, &st)
		cancel()
		if err != nil || st != store.IntakeFinished {
			t.Fatalf("intake %s ended %q, %v; want finished", in.Name, st, err)
		}
	}
	t.Logf("scenario ran for %s", time.Since(now).Round(time.Millisecond))
	return sc
}

// pace is the clock's speed for a machine on which set-up took setup: full
// speed when it took idleSetup or less, slower in proportion when it took
// longer, down to a quarter (six months in under three minutes). The
// journeys must keep up with the programme: a participant whose sessions
// are recorded a few seconds each cannot attend twelve of them in forty.
func pace(setup time.Duration) time.Duration {
	return max(factor/4, min(factor, factor*idleSetup/max(setup, 1)))
}

// respond waits for the journey's offer and answers it.
// intakeCounts waits until the intake's own counts of its journeys (its
// query: the store's projection may lag, and so may the journeys' reports
// to the intake) are as ok wants.
func (w *world) intakeCounts(intake uuid.UUID, what string, ok func(map[workflows.Status]int) bool) error {
	return w.eventually(what, time.Minute, func() (bool, error) {
		var counts map[workflows.Status]int
		v, err := w.c.QueryWorkflow(w.ctx, workflows.IntakeWorkflowID(intake), "", workflows.QueryIntakeCounts)
		if err == nil {
			err = v.Get(&counts)
		}
		return ok(counts), err
	})
}

func (w *world) respond(journey uuid.UUID, accept bool, want workflows.Status) {
	w.t.Helper()
	w.must(w.journeyReaches(journey, contract.StatusOffered, time.Minute))
	got, err := w.svc.Commands.RespondToOffer(w.ctx, journey, accept)
	if err != nil || got != want {
		w.t.Fatalf("answering offer (accept %v): %s, %v; want %s", accept, got, err, want)
	}
}

// deferAfterTwoSessions has the participant attend the first two sessions
// of intake A, defer to intake B and start intake B; it returns the new
// journey, after checking through the state query that it carries the
// attendance.
func (w *world) deferAfterTwoSessions(sc scenario, s programme.Schedule) (uuid.UUID, error) {
	for _, it := range sessions(s)[:2] {
		if err := w.attend(sc.deferred, it); err != nil {
			return uuid.Nil, err
		}
	}
	newJourney, err := w.svc.Commands.Defer(w.ctx, sc.deferred, sc.intakeB.ID)
	if err != nil {
		return uuid.Nil, fmt.Errorf("deferring to intake B: %w", err)
	}
	if newJourney == uuid.Nil || newJourney == sc.deferred {
		return uuid.Nil, fmt.Errorf("deferral returned journey %s", newJourney)
	}
	if err := w.journeyReaches(newJourney, contract.StatusAccepted, time.Minute); err != nil {
		return uuid.Nil, err
	}
	if _, err := w.svc.Commands.StartIntake(w.ctx, sc.intakeB.ID); err != nil {
		return uuid.Nil, fmt.Errorf("starting intake B: %w", err)
	}
	view, err := w.scheduled(newJourney)
	if err != nil {
		return uuid.Nil, err
	}
	if view.SessionsAttended != 2 || view.IntakeID != sc.intakeB.ID || view.PersonID != w.participants[2].ID || view.CoachID != w.coach.ID {
		return uuid.Nil, fmt.Errorf("deferred journey in intake B: %d of %d sessions attended, intake %s, person %s, coach %s; "+
			"want the 2 sessions from intake A carried, intake B, the same person and coach",
			view.SessionsAttended, view.SessionsTotal, view.IntakeID, view.PersonID, view.CoachID)
	}
	return newJourney, nil
}

// scheduled waits until a journey has planned its schedule and returns
// its state then.
func (w *world) scheduled(journey uuid.UUID) (workflows.JourneyView, error) {
	var view workflows.JourneyView
	err := w.eventually("journey "+journey.String()+" is scheduled", time.Minute, func() (bool, error) {
		v, err := w.c.QueryWorkflow(w.ctx, workflows.JourneyWorkflowID(journey), "", workflows.QueryState)
		if err == nil {
			err = v.Get(&view)
		}
		return view.SessionsTotal > 0, err
	})
	return view, err
}

// followJourney does what the participant and their coach do: the
// participant attends every session (except those carried from an earlier
// intake) once it has ended; side by side, as people do, the plan, the six
// checkpoints and the reflection are done as soon as each opens, in order
// of opening. Nothing here has a deadline short of the assessment months
// later: a task done late on a loaded machine is still done, and the checks
// expect what lateness brings (reminders, an overdue mark) from when it was
// done.
func (w *world) followJourney(journey uuid.UUID, p store.Person, s programme.Schedule, carried map[string]bool) error {
	var sessions, tasks []programme.Item
	for _, it := range s.Items {
		switch {
		case it.Kind != programme.KindSession:
			tasks = append(tasks, it)
		case !carried[it.ID]:
			sessions = append(sessions, it)
		}
	}
	sort.SliceStable(sessions, func(a, b int) bool { return sessions[a].DueAt.Before(sessions[b].DueAt) })
	sort.SliceStable(tasks, func(a, b int) bool { return tasks[a].OpensAt.Before(tasks[b].OpensAt) })
	errs := make(chan error, 2)
	go func() {
		errs <- w.doInOrder(journey, sessions, func(it programme.Item) error { return w.attend(journey, it) })
	}()
	firstCheckpoint := tasks[slices.IndexFunc(tasks, func(it programme.Item) bool { return it.Kind == programme.KindCheckpoint })].ID
	go func() {
		errs <- w.doInOrder(journey, tasks, func(it programme.Item) error { return w.doTask(journey, p, it, it.ID == firstCheckpoint) })
	}()
	return errors.Join(<-errs, <-errs)
}

// doInOrder does each item in turn; on a failure it logs the journey's
// record and stops.
func (w *world) doInOrder(journey uuid.UUID, items []programme.Item, do func(programme.Item) error) error {
	for _, it := range items {
		if err := do(it); err != nil {
			w.dump(journey)
			return fmt.Errorf("journey %s, %s: %w", journey, it.ID, err)
		}
	}
	return nil
}

// doTask hands in the plan or the reflection, or completes a checkpoint
// (checking a refusal and a repeat at the first checkpoint).
func (w *world) doTask(journey uuid.UUID, p store.Person, it programme.Item, first bool) error {
	switch it.Kind {
	case programme.KindPlan:
		return w.handIn(journey, p, it,
			fmt.Sprintf("%s %s's experiment plan: trial shared electric pool cars in the %s depot.", p.GivenName, p.FamilyName, p.LocalAuthority))
	case programme.KindReflection:
		return w.handIn(journey, p, it,
			fmt.Sprintf("Reflection by %s: the pool-car trial cut mileage claims; next, procurement.", p.EmailAddress))
	case programme.KindCheckpoint:
		return w.coachCheckpoint(journey, p, it, first)
	}
	return fmt.Errorf("no one does a %s", it.Kind)
}

// attend records attendance once the session has ended.
func (w *world) attend(journey uuid.UUID, it programme.Item) error {
	if err := w.sleepUntil(it.DueAt); err != nil {
		return err
	}
	return w.svc.Commands.RecordAttendance(w.ctx, journey, it.ID, true)
}

// handIn hands a task in as soon as it opens.
func (w *world) handIn(journey uuid.UUID, p store.Person, it programme.Item, text string) error {
	if err := w.sleepUntil(it.OpensAt); err != nil {
		return err
	}
	w.secret(text)
	task, err := w.svc.Commands.SubmitTask(w.ctx, journey, p.ID, it.ID, text, "")
	if err != nil {
		return err
	}
	if task.By != p.ID || task.CompletedAt.Before(it.OpensAt) {
		return fmt.Errorf("handed in %+v, want by %s after %s", task, p.ID, it.OpensAt)
	}
	w.taskDone(journey, it.ID, task.CompletedAt)
	return nil
}

// taskDone notes when a task was done.
func (w *world) taskDone(journey uuid.UUID, item string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done[journey] == nil {
		w.done[journey] = map[string]time.Time{}
	}
	w.done[journey][item] = at
}

// coachCheckpoint completes a checkpoint as the assigned coach as soon as
// it opens. At the first one, another coach tries first and is refused,
// and the coach's request is sent twice and completes once.
func (w *world) coachCheckpoint(journey uuid.UUID, p store.Person, it programme.Item, first bool) error {
	if err := w.sleepUntil(it.OpensAt); err != nil {
		return err
	}
	notes := fmt.Sprintf("Met %s %s (%s) about %s: the trial is on track.", p.GivenName, p.FamilyName, p.EmailAddress, it.ID)
	w.secret(notes)
	cp := commands.Checkpoint{
		JourneyID: journey, CheckpointID: it.ID, CoachID: w.coach.ID, Notes: notes,
		Status: workflows.RAGGreen, RequestID: "e2e/" + journey.String() + "/" + it.ID,
	}
	if first {
		wrong := cp
		wrong.CoachID, wrong.RequestID = w.otherCoach.ID, ""
		_, err := w.svc.Commands.CompleteCheckpoint(w.ctx, wrong)
		if !errors.Is(err, apperr.ErrRejected) || !strings.Contains(err.Error(), "assigned coach") {
			return fmt.Errorf("checkpoint completed by another coach: got %v, want %v (only the assigned coach)", err, apperr.ErrRejected)
		}
	}
	task, err := w.svc.Commands.CompleteCheckpoint(w.ctx, cp)
	if err != nil {
		return err
	}
	if task.By != w.coach.ID || task.RAG != workflows.RAGGreen {
		return fmt.Errorf("checkpoint completed as %+v", task)
	}
	w.taskDone(journey, it.ID, task.CompletedAt)
	if first {
		again, err := w.svc.Commands.CompleteCheckpoint(w.ctx, cp)
		if err != nil || !again.CompletedAt.Equal(task.CompletedAt) {
			return fmt.Errorf("repeating the same checkpoint request: %+v, %v; want the first completion (%s) back", again, err, task.CompletedAt)
		}
	}
	return nil
}

// schedule is the schedule every journey of an intake starting then gets.
func (w *world) schedule(startsOn time.Time) programme.Schedule {
	w.t.Helper()
	s, err := w.planner.Schedule(programme.DefaultID, 1, programme.ScheduleInput{StartsOn: startsOn})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func sessions(s programme.Schedule) []programme.Item {
	var out []programme.Item
	for _, it := range s.Items {
		if it.Kind == programme.KindSession {
			out = append(out, it)
		}
	}
	return out
}

func (w *world) intakeReaches(id uuid.UUID, want store.IntakeStatus, timeout time.Duration) error {
	return w.eventually("intake "+id.String()+" "+string(want), timeout, func() (bool, error) {
		in, err := w.st.GetIntake(w.ctx, id)
		return in.Status == want, err
	})
}

func (w *world) journeyReaches(id uuid.UUID, want workflows.Status, timeout time.Duration) error {
	return w.eventually("journey "+id.String()+" "+string(want), timeout, func() (bool, error) {
		snap, err := w.st.GetJourney(w.ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return snap.State == want, err
	})
}

// eventually polls cond until it holds, for at most timeout.
func (w *world) eventually(what string, timeout time.Duration, cond func() (bool, error)) error {
	return w.until(what, time.Now().Add(timeout), cond)
}

// until polls cond until it holds; it fails once deadline has passed (or
// the test's own deadline) and cond still does not hold.
func (w *world) until(what string, deadline time.Time, cond func() (bool, error)) error {
	ctx, cancel := context.WithDeadline(w.ctx, deadline)
	defer cancel()
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var last error
	for {
		ok, err := cond()
		if ok && err == nil {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if ok, err := cond(); ok && err == nil {
				return nil
			}
			return fmt.Errorf("waiting for %s: not so by %s (last error: %v)", what, deadline.Format("15:04:05.000"), last)
		case <-tick.C:
		}
	}
}

func (w *world) sleepUntil(at time.Time) error {
	select {
	case <-time.After(time.Until(at)):
		return nil
	case <-w.ctx.Done():
		return w.ctx.Err()
	}
}

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

// testLogger sends the SDK's warnings and errors to the test log (shown
// with -v or on failure) and drops the rest; INFUSE_TEST_DEBUG=1 shows all.
type testLogger struct {
	t     testing.TB
	quiet *atomic.Bool
}

var debug = os.Getenv("INFUSE_TEST_DEBUG") != ""

func (l *testLogger) log(level, msg string, kv []any) {
	if !l.quiet.Load() {
		l.t.Logf("%s %s %v", level, msg, kv)
	}
}

func (l *testLogger) Debug(msg string, kv ...any) {
	if debug {
		l.log("DEBUG", msg, kv)
	}
}

func (l *testLogger) Info(msg string, kv ...any) {
	if debug {
		l.log("INFO", msg, kv)
	}
}
func (l *testLogger) Warn(msg string, kv ...any)  { l.log("WARN", msg, kv) }
func (l *testLogger) Error(msg string, kv ...any) { l.log("ERROR", msg, kv) }

// dump logs a journey's events and messages, to explain a failure.
func (w *world) dump(journey uuid.UUID) {
	evs, err := w.st.JourneyEvents(w.ctx, journey)
	if err != nil {
		w.t.Logf("events of %s: %v", journey, err)
	}
	var b strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&b, "\n  %s %-26s %s (recorded %s)", e.Key[strings.LastIndex(e.Key, "/")+1:], e.Type, e.Data,
			e.RecordedAt.Sub(e.OccurredAt).Round(time.Millisecond))
	}
	msgs, _ := w.st.ListMessages(w.ctx, store.OutboxFilter{JourneyID: journey})
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n  message %s %s at %s", m.Template, m.ItemID, m.SendAt.Format("15:04:05.000"))
	}
	if evs, err := w.history(workflows.JourneyWorkflowID(journey), ""); err == nil {
		for _, ev := range evs[max(0, len(evs)-15):] {
			fmt.Fprintf(&b, "\n  history %d %s %s", ev.GetEventId(), ev.GetEventTime().AsTime().Format("15:04:05.000"), ev.GetEventType())
			if a := ev.GetTimerStartedEventAttributes(); a != nil {
				fmt.Fprintf(&b, " %s", a.GetStartToFireTimeout().AsDuration())
			}
			if a := ev.GetWorkflowTaskFailedEventAttributes(); a != nil {
				fmt.Fprintf(&b, " %s", a.GetFailure().GetMessage())
			}
		}
	}
	w.t.Logf("journey %s:%s", journey, b.String())
}
