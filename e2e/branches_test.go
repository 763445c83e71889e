package e2e_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/log"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The branch scenarios record a history for every branch of the two
// workflows that TestEndToEnd does not go through, for the replay test
// (workflows/replay_test.go lists the branches and the files that cover
// them). They run on SQLite only: the histories do not depend on the store.
const (
	// idleBranchesSetup is about twice what TestEndToEndBranches' set-up
	// (nine applications, their decisions and answers, a capacity change,
	// an offer left to lapse) takes on an idle 2-core machine (7–8 s), as
	// idleSetup is TestEndToEnd's: the clock's pace is chosen from how much
	// longer it took (pace).
	idleBranchesSetup = 15 * time.Second
	// reviewWindow is how long TestEndToEndContinueAsNew's intake takes
	// applications: long enough for the intake to open and two people to
	// apply on a loaded machine (three round trips; a dozen were seen to
	// take 43 s under the race detector beside three other test packages),
	// short enough to wait for it to close. The test runs beside the other
	// branch scenario, so the wait costs next to nothing.
	reviewWindow = 30 * time.Second
)

// sqlite opens a SQLite store for a test.
func sqlite(t testing.TB) store.Store { return sqlitestore.OpenTest(t) }

// recording says whether this run records histories for the replay test.
func recording() bool { return os.Getenv(recordHistoriesEnv) != "" }

// TestEndToEndBranches drives one intake, and a participant down each
// branch, to its end on a real Temporal server:
//
//   - before any decision, one applicant withdraws and one is rejected;
//   - four are offered places (the intake is then full) and accept; one
//     more is waitlisted, an offer beyond the capacity is refused, and
//     raising the capacity offers the waitlisted applicant a place, which
//     they accept;
//   - one is offered a place and withdraws while it is open; another is
//     offered one (compressed: it lapses in seconds) and lets it lapse;
//   - one who accepted withdraws before the start;
//   - once the intake has started, a lab session is rescheduled for
//     everyone; one participant withdraws in the labs and one while
//     experimenting; one pauses in the labs and resumes; the one promoted
//     from the waitlist misses a session and does none of the tasks, so
//     the absence is followed up and each task goes overdue (escalating
//     overdue checkpoints to the coach, then the coordinator). Neither of
//     the last two completes.
//
// It checks each journey's end state and what it recorded, the intake's,
// and every history (no personal data, the budget), which it records with
// INFUSE_RECORD_HISTORIES=1 as workflows/testdata/<kind>-<branch>.run-N.json.
func TestEndToEndBranches(t *testing.T) {
	if testing.Short() {
		t.Skip("runs six compressed months of the programme on a real Temporal server")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	w := newWorld(ctx, t, testenv.NewServerWithLogger, sqlite, testenv.NewPlanner(cohort1Start, factor))
	w.coordinator = newPerson(store.RoleCoordinator, "Heledd", "Pugh-Rowlands", "Newport", "", store.LanguageEnglish)
	w.coach = newPerson(store.RoleCoach, "Emrys", "Bowen-Watkins", "Cardiff", "", store.LanguageWelsh)
	w.addPeople(w.coordinator, w.coach)
	b := &branchRun{world: w, journeys: map[string]uuid.UUID{}, people: map[uuid.UUID]store.Person{}}
	for _, p := range []struct{ branch, given, family, authority string }{
		{"withdrawn-applied", "Bethan", "Rees-Owen", "Blaenau Gwent"},
		{"rejected", "Iestyn", "Powell-Harries", "Merthyr Tydfil"},
		{"withdrawn-offered", "Catrin", "Lloyd-Davies", "Vale of Glamorgan"},
		{"offer-lapsed", "Meirion", "Griffiths-Bevan", "Newport"},
		{"withdrawn-accepted", "Eleri", "Thomas-Prydderch", "Cardiff"},
		{"withdrawn-in-labs", "Owain", "Prosser-Williams", "Bridgend"},
		{"withdrawn-experimenting", "Mererid", "Hughes-Parry", "Torfaen"},
		{"paused", "Tomos", "Rowlands-Evans", "Monmouthshire"},
		{"escalated", "Ffion", "Jenkins-Morgan", "Caerphilly"},
	} {
		b.cast = append(b.cast, castMember{p.branch, newPerson(store.RoleParticipant, p.given, p.family, p.authority, "communities", store.LanguageUnknown)})
	}
	for _, m := range b.cast {
		w.addPeople(m.person)
	}

	b.setUp()
	b.runProgramme()
	b.check()

	wfs := []labelled{{"intake-branches", workflows.IntakeWorkflowID(b.intake.ID)}}
	for _, m := range b.cast {
		wfs = append(wfs, labelled{"journey-" + m.branch, workflows.JourneyWorkflowID(b.journeys[m.branch])})
	}
	w.histories(recording(), wfs)
}

// branchRun is a branch scenario's intake and cast.
type branchRun struct {
	*world
	cast   []castMember
	intake store.Intake
	// journeys are the cast's journeys, by branch; people, the cast by journey.
	journeys map[string]uuid.UUID
	people   map[uuid.UUID]store.Person
	// schedule is every journey's schedule when the intake starts.
	schedule programme.Schedule
	// beforePause and afterResume are the paused journey's state just
	// before it paused and just after it resumed.
	beforePause, afterResume workflows.JourneyView
}

// castMember is a participant and the branch their journey goes down.
type castMember struct {
	branch string
	person store.Person
}

// setUp takes the applications and decides them, then starts the intake at
// the pace the machine showed it can keep.
func (b *branchRun) setUp() {
	t := b.t
	began := time.Now()
	startsOn := began.Add(time.Hour) // a label: the clock starts when the intake does
	var err error
	b.intake, err = b.svc.Commands.CreateIntake(b.ctx, commands.IntakeSpec{
		Name: "Cohort 3 (e2e branches)", CoordinatorID: b.coordinator.ID,
		OpensAt: began, ClosesAt: startsOn, StartsOn: startsOn, Capacity: 4,
	})
	if err != nil {
		t.Fatal(err)
	}
	b.must(b.intakeReaches(b.intake.ID, store.IntakeOpen, time.Minute))
	for _, m := range b.cast {
		j, err := b.svc.Commands.Apply(b.ctx, b.intake.ID, m.person.ID, b.coach.ID)
		if err != nil {
			t.Fatalf("%s applying: %v", m.branch, err)
		}
		b.journeys[m.branch], b.people[j] = j, m.person
	}
	j := b.journeys

	b.must(b.withdraw(j["withdrawn-applied"], "workload"))
	b.decide(j["rejected"], workflows.DecisionReject, contract.StatusRejected)
	for _, br := range []string{"withdrawn-accepted", "withdrawn-in-labs", "withdrawn-experimenting", "paused"} {
		b.decide(j[br], workflows.DecisionOffer, contract.StatusOffered)
		b.respond(j[br], true, contract.StatusAccepted)
	}
	b.decide(j["escalated"], workflows.DecisionWaitlist, contract.StatusWaitlisted)
	if _, err := b.svc.Commands.Decide(b.ctx, b.intake.ID, j["withdrawn-offered"], workflows.DecisionOffer); !errors.Is(err, apperr.ErrRejected) ||
		!strings.Contains(err.Error(), "full") {
		t.Errorf("a fifth offer with four places: got %v, want rejected as full", err)
	}
	// Two more places: the first goes to the waitlist at once.
	places := 6
	if _, err := b.svc.Commands.EditIntake(b.ctx, b.intake.ID, commands.IntakeEdit{Capacity: &places}); err != nil {
		t.Fatal(err)
	}
	b.respond(j["escalated"], true, contract.StatusAccepted)
	b.decide(j["withdrawn-offered"], workflows.DecisionOffer, contract.StatusOffered)
	b.must(b.withdraw(j["withdrawn-offered"], "health"))

	// An offer planned on the compressed clock lapses in seconds; the
	// clock goes back to real time for offers once the journey has made
	// it (planned it), so no other offer could lapse.
	b.planner.CompressOffers(factor)
	b.decide(j["offer-lapsed"], workflows.DecisionOffer, contract.StatusOffered)
	b.must(b.journeyReaches(j["offer-lapsed"], contract.StatusOffered, time.Minute))
	b.planner.CompressOffers(0)
	b.must(b.journeyReaches(j["offer-lapsed"], contract.StatusOfferLapsed, time.Minute))

	b.must(b.withdraw(j["withdrawn-accepted"], "job-change"))

	speed := pace(time.Duration(float64(time.Since(began)) * float64(idleSetup) / float64(idleBranchesSetup)))
	b.planner.SetFactor(speed)
	t.Logf("set-up took %s: the clock runs %d times as fast as real time", time.Since(began).Round(time.Millisecond), speed)
	b.must(b.intakeCounts(b.intake.ID, "the intake counts the acceptances", func(counts map[workflows.Status]int) bool {
		return counts[contract.StatusAccepted] == 4
	}))
	counts, err := b.svc.Commands.StartIntake(b.ctx, b.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("intake started: %v", counts)
	b.schedule = b.world.schedule(b.intake.StartsOn)
}

// runProgramme reschedules a session, then plays the participants' months
// side by side until every journey and the intake have ended.
func (b *branchRun) runProgramme() {
	t := b.t
	j := b.journeys
	inProgramme := []string{"withdrawn-in-labs", "withdrawn-experimenting", "paused", "escalated"}
	for _, br := range inProgramme {
		if _, err := b.scheduled(j[br]); err != nil {
			t.Fatal(err)
		}
	}
	// The intake tells a moved session to the journeys it knows have
	// started, from their reports: wait for those, or it tells none.
	b.must(b.intakeCounts(b.intake.ID, "the intake knows its journeys started", func(counts map[workflows.Status]int) bool {
		return counts[contract.StatusAwaitingStart]+counts[contract.StatusInLabs] == len(inProgramme)
	}))
	// The last lab session, months ahead, moves a programme day later.
	last := sessions(b.schedule)[len(sessions(b.schedule))-1]
	if err := b.svc.Commands.RescheduleSession(b.ctx, b.intake.ID, last.ID, last.OpensAt.Add(b.planner.RealDuration(24*time.Hour))); err != nil {
		t.Fatalf("rescheduling %s: %v", last.ID, err)
	}
	for _, br := range inProgramme {
		b.must(b.eventually(br+" hears of the moved session", time.Minute, func() (bool, error) {
			return b.eventTypes(j[br])["session.rescheduled"] == 1, nil
		}))
	}

	// Withdrawals and the pause come a programme week into their phase,
	// well inside it (a lab lasts a month, experimentation three), so
	// that they land in the run of that phase, not as it begins.
	week := b.planner.RealDuration(7 * 24 * time.Hour)
	labs, experimentation := b.schedule.Phases[0], b.schedule.Phases[len(b.schedule.Phases)-1]
	errs := make(chan error, len(inProgramme))
	go func() {
		err := b.journeyReaches(j["withdrawn-in-labs"], contract.StatusInLabs, time.Minute)
		if err == nil {
			err = b.sleepUntil(labs.Start.Add(week))
		}
		if err == nil {
			err = b.withdraw(j["withdrawn-in-labs"], "personal")
		}
		errs <- err
	}()
	go func() {
		err := b.until("experimenting", experimentation.Start.Add(time.Minute), func() (bool, error) {
			snap, err := b.st.GetJourney(b.ctx, j["withdrawn-experimenting"])
			return snap.State == contract.StatusExperimenting, err
		})
		if err == nil {
			err = b.sleepUntil(experimentation.Start.Add(week))
		}
		if err == nil {
			err = b.withdraw(j["withdrawn-experimenting"], "other")
		}
		errs <- err
	}()
	go func() { errs <- b.pauseAndResume(j["paused"], labs.Start.Add(week)) }()
	go func() {
		// The first session is missed: recorded absent once it has ended.
		first := sessions(b.schedule)[0]
		err := b.sleepUntil(first.DueAt)
		if err == nil {
			err = b.svc.Commands.RecordAttendance(b.ctx, j["escalated"], first.ID, false)
		}
		errs <- err
	}()
	for range inProgramme {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	// The end: the two who stayed are assessed (the paused one later, by
	// its pause), and the intake finishes.
	for id, ends := range map[uuid.UUID]time.Time{j["paused"]: b.afterResume.EndsAt, j["escalated"]: b.schedule.EndsAt} {
		b.must(b.until("journey "+id.String()+" assessed", ends.Add(20*time.Second), func() (bool, error) {
			snap, err := b.st.GetJourney(b.ctx, id)
			return snap.State == contract.StatusNotCompleted, err
		}))
	}
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	var st store.IntakeStatus
	if err := b.c.GetWorkflow(ctx, workflows.IntakeWorkflowID(b.intake.ID), "").Get(ctx, &st); err != nil || st != store.IntakeFinished {
		t.Fatalf("intake ended %q, %v; want finished", st, err)
	}
}

// pauseAndResume pauses the journey, once it is in the labs and at has
// come, for two programme weeks.
func (b *branchRun) pauseAndResume(journey uuid.UUID, at time.Time) error {
	if err := b.journeyReaches(journey, contract.StatusInLabs, time.Minute); err != nil {
		return err
	}
	if err := b.sleepUntil(at); err != nil {
		return err
	}
	var err error
	if b.beforePause, err = b.scheduled(journey); err != nil {
		return err
	}
	if err := b.svc.Commands.Pause(b.ctx, journey); err != nil {
		return fmt.Errorf("pausing: %w", err)
	}
	if err := b.journeyReaches(journey, contract.StatusPaused, time.Minute); err != nil {
		return err
	}
	if err := b.sleepUntil(time.Now().Add(b.planner.RealDuration(14 * 24 * time.Hour))); err != nil {
		return err
	}
	if err := b.svc.Commands.Resume(b.ctx, journey); err != nil {
		return fmt.Errorf("resuming: %w", err)
	}
	b.afterResume, err = b.scheduled(journey)
	return err
}

// decide makes a decision that must be taken.
func (b *branchRun) decide(journey uuid.UUID, d workflows.Decision, want workflows.Status) {
	b.t.Helper()
	if got, err := b.svc.Commands.Decide(b.ctx, b.intake.ID, journey, d); err != nil || got != want {
		b.t.Fatalf("decision %s on %s: %s, %v; want %s", d, journey, got, err, want)
	}
}

// withdraw withdraws a journey for the coordinator, with a note naming the
// participant (kept in the store, never in Temporal), and waits until it
// has ended.
func (b *branchRun) withdraw(journey uuid.UUID, reason string) error {
	p := b.people[journey]
	note := fmt.Sprintf("%s %s (%s) withdrew: %s.", p.GivenName, p.FamilyName, p.EmailAddress, reason)
	b.secret(note)
	if err := b.svc.Commands.Withdraw(b.ctx, journey, b.coordinator.ID, reason, note); err != nil {
		return fmt.Errorf("withdrawing journey %s: %w", journey, err)
	}
	return b.journeyReaches(journey, contract.StatusWithdrawn, time.Minute)
}

// check checks where each journey and the intake ended and what they
// recorded on the way.
func (b *branchRun) check() {
	t := b.t
	j := b.journeys
	final := map[string]workflows.Status{
		"withdrawn-applied": contract.StatusWithdrawn, "rejected": contract.StatusRejected,
		"withdrawn-offered": contract.StatusWithdrawn, "offer-lapsed": contract.StatusOfferLapsed,
		"withdrawn-accepted": contract.StatusWithdrawn, "withdrawn-in-labs": contract.StatusWithdrawn,
		"withdrawn-experimenting": contract.StatusWithdrawn, "paused": contract.StatusNotCompleted,
		"escalated": contract.StatusNotCompleted,
	}
	// The phase each was in when it ended ("" before the programme).
	phase := map[string]string{}
	for br, want := range final {
		snap, err := b.st.GetJourney(b.ctx, j[br])
		if err != nil {
			t.Fatal(err)
		}
		if snap.State != want || snap.Outcome != want {
			t.Errorf("%s: ended in state %q with outcome %q, want %s", br, snap.State, snap.Outcome, want)
		}
		phase[br] = snap.Phase
		b.checkEventKeys(j[br])
	}
	if got, err := b.st.IntakeCounts(b.ctx, b.intake.ID); err != nil || !maps.Equal(got, map[string]int{
		"withdrawn": 5, "rejected": 1, "offer_lapsed": 1, "not_completed": 2,
	}) {
		t.Errorf("intake counts in the store: %v, %v", got, err)
	}
	if in, err := b.st.GetIntake(b.ctx, b.intake.ID); err != nil || in.Status != store.IntakeFinished || in.Capacity != 6 {
		t.Errorf("intake in the store: %s with %d places (%v), want finished with 6", in.Status, in.Capacity, err)
	}

	// The events that make each branch what it is, and some it must not have.
	for br, want := range map[string]map[string]int{
		"withdrawn-applied":       {"application.submitted": 1, "journey.withdrawn": 1, "offer.made": 0},
		"rejected":                {"application.rejected": 1},
		"withdrawn-offered":       {"offer.made": 1, "journey.withdrawn": 1, "offer.accepted": 0},
		"offer-lapsed":            {"offer.made": 1, "offer.lapsed": 1},
		"withdrawn-accepted":      {"offer.accepted": 1, "journey.withdrawn": 1, "programme.scheduled": 0},
		"withdrawn-in-labs":       {"programme.scheduled": 1, "journey.withdrawn": 1},
		"withdrawn-experimenting": {"programme.scheduled": 1, "journey.withdrawn": 1},
		"paused":                  {"journey.paused": 1, "journey.resumed": 1, "journey.not_completed": 1},
		"escalated": {
			"application.waitlisted": 1, "offer.made": 1, "offer.accepted": 1, "attendance.absent": 1,
			"attendance.present": 0, "journey.not_completed": 1,
		},
	} {
		types := b.eventTypes(j[br])
		for typ, n := range want {
			if got := types[typ]; got != n {
				t.Errorf("%s: %d %q events, want %d (all: %v)", br, got, typ, n, types)
			}
		}
	}
	labs := map[string]bool{}
	for _, it := range sessions(b.schedule) {
		labs[it.Phase] = true
	}
	if !labs[phase["withdrawn-in-labs"]] {
		t.Errorf("withdrawn-in-labs: withdrew in phase %q, want a lab (one of %v)", phase["withdrawn-in-labs"], slices.Sorted(maps.Keys(labs)))
	}
	if experimentation := b.schedule.Phases[len(b.schedule.Phases)-1].Key; phase["withdrawn-experimenting"] != experimentation {
		t.Errorf("withdrawn-experimenting: withdrew in phase %q, want %s", phase["withdrawn-experimenting"], experimentation)
	}
	b.checkPause()
	b.checkEscalation()

	evs, err := b.st.IntakeEvents(b.ctx, b.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, e := range evs {
		if e.JourneyID == uuid.Nil { // the intake's own, not its journeys'
			types[e.Type]++
		}
	}
	// Decisions: a rejection, five offers, a waitlisting and the lapsed
	// offer; the offer refused as full is not one.
	for typ, want := range map[string]int{
		"application.received": len(b.cast), "application.decided": 8, "intake.capacity_changed": 1,
		"waitlist.promoted": 1, "intake.started": 1, "session.rescheduled": 1, "intake.finished": 1,
	} {
		if types[typ] != want {
			t.Errorf("intake: %d %q events, want %d (all: %v)", types[typ], typ, want, types)
		}
	}
}

// checkPause checks the pause moved the end of the paused journey's
// programme, and that it was not assessed before that.
func (b *branchRun) checkPause() {
	t := b.t
	before, after := b.beforePause, b.afterResume
	if after.PausedFor <= 0 || !after.EndsAt.After(before.EndsAt) || after.Status != before.Status {
		t.Errorf("paused: before the pause %s, ending %s; after resuming %s after a pause of %s, ending %s; "+
			"want back where it was, ending later", before.Status, before.EndsAt, after.Status, after.PausedFor, after.EndsAt)
	}
	evs, err := b.st.JourneyEvents(b.ctx, b.journeys["paused"])
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Type == "journey.not_completed" && e.OccurredAt.Before(after.EndsAt) {
			t.Errorf("paused: assessed %s, before its programme ended (%s, after the pause)", e.OccurredAt, after.EndsAt)
		}
	}
}

// checkEscalation checks what the missed session and the tasks left undone
// brought: the absence followed up with the participant, each task marked
// overdue once, and the first checkpoint's lateness escalated to the coach
// and then the coordinator.
func (b *branchRun) checkEscalation() {
	t := b.t
	journey := b.journeys["escalated"]
	evs, err := b.st.JourneyEvents(b.ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	overdue := map[string]int{}
	for _, e := range evs {
		if e.Type == "task.overdue" {
			overdue[b.itemOf(e)]++
		}
	}
	for _, it := range b.schedule.Items {
		if it.Kind == programme.KindSession {
			continue
		}
		if n := overdue[it.ID]; n != 1 {
			t.Errorf("escalated: %s marked overdue %d times, want once (all: %v)", it.ID, n, overdue)
		}
	}
	msgs, err := b.st.ListMessages(b.ctx, store.OutboxFilter{JourneyID: journey})
	if err != nil {
		t.Fatal(err)
	}
	type sent struct {
		template, item string
		to             uuid.UUID
	}
	got := map[sent]int{}
	for _, m := range msgs {
		got[sent{m.Template, m.ItemID, m.RecipientID}]++
	}
	first := sessions(b.schedule)[0].ID
	for _, want := range []sent{
		{"session-absence", first, b.people[journey].ID},
		{"checkpoint-overdue-coach", "checkpoint/1", b.coach.ID},
		{"checkpoint-overdue-coordinator", "checkpoint/1", b.coordinator.ID},
	} {
		if got[want] != 1 {
			t.Errorf("escalated: %d %s messages about %s to %s, want 1", got[want], want.template, want.item, want.to)
		}
	}
}

// TestEndToEndContinueAsNew runs a small intake in the namespace where the
// server suggests continue-as-new after a few dozen events
// (testenv.NewSuggestingServer), so that the intake, which continues as
// new only when the server suggests it, does. On the way it takes the one
// branch only a closing window brings: two people apply, the window
// closes and puts both under review; one withdraws under review, the other
// is offered a place, accepts, and withdraws once the intake has started,
// before the programme begins (an hour later on this clock), which ends
// the intake. With INFUSE_RECORD_HISTORIES=1 it records the histories.
func TestEndToEndContinueAsNew(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an intake on a real Temporal server")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	planner := testenv.NewPlanner(cohort1Start, factor)
	planner.Lead = time.Hour
	suggesting := func(t *testing.T, l log.Logger) *testenv.Temporal {
		return testenv.NewSuggestingServer(t, l, testenv.SuggestingNamespaceE2E)
	}
	w := newWorld(ctx, t, suggesting, sqlite, planner)
	w.coordinator = newPerson(store.RoleCoordinator, "Angharad", "Vaughan-Lewis", "Powys", "", store.LanguageWelsh)
	w.coach = newPerson(store.RoleCoach, "Gwilym", "Tudor-Edwards", "Newport", "", store.LanguageEnglish)
	reviewed := newPerson(store.RoleParticipant, "Llinos", "Harries-Bevan", "Cardiff", "decarbonisation", store.LanguageWelsh)
	started := newPerson(store.RoleParticipant, "Dyfrig", "Meredith-Price", "Torfaen", "communities", store.LanguageUnknown)
	w.addPeople(w.coordinator, w.coach, reviewed, started)
	b := &branchRun{world: w, journeys: map[string]uuid.UUID{}, people: map[uuid.UUID]store.Person{}}

	opens := time.Now()
	var err error
	b.intake, err = w.svc.Commands.CreateIntake(ctx, commands.IntakeSpec{
		Name: "Cohort 4 (e2e continue-as-new)", CoordinatorID: w.coordinator.ID,
		OpensAt: opens, ClosesAt: opens.Add(reviewWindow), StartsOn: opens.Add(reviewWindow + time.Hour), Capacity: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.must(w.intakeReaches(b.intake.ID, store.IntakeOpen, time.Minute))
	for _, p := range []store.Person{reviewed, started} {
		j, err := w.svc.Commands.Apply(ctx, b.intake.ID, p.ID, w.coach.ID)
		if err != nil {
			t.Fatalf("applying %s after the window opened: %v", time.Since(opens).Round(time.Millisecond), err)
		}
		b.people[j] = p
		if p.ID == reviewed.ID {
			b.journeys["withdrawn-under-review"] = j
		} else {
			b.journeys["withdrawn-awaiting-start"] = j
		}
	}
	t.Logf("both applied %s after the window opened; it closes after %s", time.Since(opens).Round(time.Millisecond), reviewWindow)
	for _, j := range b.journeys {
		w.must(w.until("under review", opens.Add(reviewWindow+time.Minute), func() (bool, error) {
			snap, err := w.st.GetJourney(ctx, j)
			return snap.State == contract.StatusUnderReview, err
		}))
	}
	w.must(b.withdraw(b.journeys["withdrawn-under-review"], "workload"))
	j := b.journeys["withdrawn-awaiting-start"]
	b.decide(j, workflows.DecisionOffer, contract.StatusOffered)
	w.respond(j, true, contract.StatusAccepted)
	// The journey reports its acceptance to the intake by signal, which may
	// land after the answer: the intake starts only with someone accepted.
	w.must(w.intakeCounts(b.intake.ID, "the intake counts the acceptance", func(counts map[workflows.Status]int) bool {
		return counts[contract.StatusAccepted] == 1
	}))
	if _, err := w.svc.Commands.StartIntake(ctx, b.intake.ID); err != nil {
		t.Fatal(err)
	}
	if view, err := w.scheduled(j); err != nil || view.Status != contract.StatusAwaitingStart {
		t.Fatalf("once the intake started, the journey is %s (%v), want %s", view.Status, err, contract.StatusAwaitingStart)
	}
	w.must(b.withdraw(j, "job-change"))
	var st store.IntakeStatus
	if err := w.c.GetWorkflow(ctx, workflows.IntakeWorkflowID(b.intake.ID), "").Get(ctx, &st); err != nil || st != store.IntakeFinished {
		t.Fatalf("intake ended %q, %v; want finished", st, err)
	}

	for br, want := range map[string]map[string]int{
		"withdrawn-under-review":   {"application.under_review": 1, "journey.withdrawn": 1, "offer.made": 0},
		"withdrawn-awaiting-start": {"application.under_review": 1, "programme.scheduled": 1, "journey.withdrawn": 1, "phase.started": 0},
	} {
		types := w.eventTypes(b.journeys[br])
		for typ, n := range want {
			if types[typ] != n {
				t.Errorf("%s: %d %q events, want %d (all: %v)", br, types[typ], typ, n, types)
			}
		}
		w.checkEventKeys(b.journeys[br])
	}
	b.checkSuggestedContinueAsNew()

	w.histories(recording(), []labelled{
		{"intake-continued-as-new", workflows.IntakeWorkflowID(b.intake.ID)},
		{"journey-withdrawn-under-review", workflows.JourneyWorkflowID(b.journeys["withdrawn-under-review"])},
		{"journey-withdrawn-awaiting-start", workflows.JourneyWorkflowID(j)},
	})
}

// checkSuggestedContinueAsNew checks the intake continued as new, each time
// after the server suggested it.
func (b *branchRun) checkSuggestedContinueAsNew() {
	t := b.t
	runs, err := b.chain(workflows.IntakeWorkflowID(b.intake.ID))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 2 {
		t.Fatalf("the intake ran once, %d events: the server suggests continue-as-new after %d in namespace %s "+
			"(a shared server in $%s older than testenv's configuration does not)",
			len(runs[0].events), testenv.SuggestContinueAsNewAt, b.ns, testenv.ServerEnv)
	}
	for i, r := range runs[:len(runs)-1] {
		suggested := slices.ContainsFunc(r.events, func(ev *historypb.HistoryEvent) bool {
			return ev.GetWorkflowTaskStartedEventAttributes().GetSuggestContinueAsNew()
		})
		if !suggested {
			t.Errorf("intake run %d continued as new after %d events, but the server never suggested it", i+1, len(r.events))
		}
	}
	t.Logf("the intake ran %d times, continuing as new when the server suggested it", len(runs))
}
