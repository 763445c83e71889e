package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/messages"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
)

// london is where every programme time is meant.
var london = mustLocation("Europe/London")

func mustLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// harness runs one intake and its journeys in the SDK's test environment,
// with time skipping, the real activities and a real (SQLite) store. The
// intake is the root workflow and journeys are its children, exactly as in
// production. Tests script what people do with at(), at workflow times.
type harness struct {
	t        testing.TB
	suite    testsuite.WorkflowTestSuite
	env      *testsuite.TestWorkflowEnvironment
	store    store.Store
	intake   workflows.Intake
	began    time.Time
	schedule programme.Schedule
	coach    uuid.UUID
	// script sends the scripted updates and keeps their outcomes.
	script *scripted.Script
	// mustSucceed are the updates the test expects to succeed, checked
	// once the run is over: before then an update is only queued.
	mustSucceed []*scripted.Update
	ran         bool
	// acts are the real activities; interjections holds what the test
	// does while one of them runs (during).
	acts          *activities.Activities
	interjections interjections
	// allowUnrun lets scripted steps go unrun because the workflows ended
	// first, for a script that cannot know when they will.
	allowUnrun bool
}

// Cohort 1's dates: applications closed 13 September 2021, the cohort
// commenced 1 October 2021, and UK clocks went back on 31 October 2021.
func newHarness(t testing.TB, capacity int) *harness {
	t.Helper()
	return newHarnessOn(t, capacity, sqlitestore.OpenTest(t))
}

// newHarnessOn is newHarness recording into st.
func newHarnessOn(t testing.TB, capacity int, st store.Store) *harness {
	t.Helper()
	h := &harness{t: t, store: st, coach: uuid.New()}
	h.acts = activities.New(h.store)
	h.suite.SetLogger(quietLogger)
	h.env = h.suite.NewTestWorkflowEnvironment()
	h.env.SetTestTimeout(time.Minute)
	h.began = time.Date(2021, 8, 2, 9, 0, 0, 0, london)
	h.env.SetStartTime(h.began)
	h.intake = workflows.Intake{
		IntakeID:         uuid.New(),
		CoordinatorID:    uuid.New(),
		ProgrammeID:      "infuse",
		ProgrammeVersion: 1,
		OpensAt:          time.Date(2021, 8, 16, 9, 0, 0, 0, london),
		ClosesAt:         time.Date(2021, 9, 13, 17, 0, 0, 0, london),
		StartsOn:         time.Date(2021, 10, 1, 0, 0, 0, 0, london),
		Capacity:         capacity,
	}
	err := h.store.CreateIntake(context.Background(), store.Intake{
		ID: h.intake.IntakeID, Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: h.intake.OpensAt, ClosesAt: h.intake.ClosesAt, StartsOn: h.intake.StartsOn,
		Capacity: capacity, CoordinatorID: h.intake.CoordinatorID, Status: store.IntakeDraft,
	})
	if err != nil {
		t.Fatal(err)
	}
	worker.Register(h.env, h.acts)
	h.env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(h.intake.IntakeID)})
	h.script = scripted.New(h.env, h.began, h.intake.IntakeID)
	p, err := programme.Lookup("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	h.schedule, err = p.Schedule(programme.ScheduleInput{StartsOn: h.intake.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.checkTemplates)
	return h
}

// checkTemplates fails the test if a message the workflows queued names a
// template the programme's catalogue lacks (messages.Load refuses a
// catalogue missing either language of a template). Checked after every
// harness run, it ties each notice and reminder the tests' branches send
// to its text in Welsh and English.
func (h *harness) checkTemplates() {
	cat, err := messages.Load(h.intake.ProgrammeID, h.intake.ProgrammeVersion)
	if err != nil {
		h.t.Fatal(err)
	}
	queued, err := h.store.ListMessages(context.Background(), store.OutboxFilter{IntakeID: h.intake.IntakeID})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, m := range queued {
		if !slices.Contains(cat.Keys(), m.Template) {
			h.t.Errorf("message %s names template %q, which %s v%d's catalogue lacks", m.Key, m.Template,
				h.intake.ProgrammeID, h.intake.ProgrammeVersion)
		}
	}
}

// at runs fn when the workflow clock reaches when.
func (h *harness) at(when time.Time, fn func()) {
	h.t.Helper()
	if err := h.script.At(when, fn); err != nil {
		h.t.Fatal(err)
	}
}

// run executes the intake to its end and fails the test if it errs, if a
// scripted step never ran (the workflows ended first, so what it would have
// checked was not), if any update sent was never answered, or if an update
// the test said must succeed did not.
func (h *harness) run() store.IntakeStatus {
	h.t.Helper()
	stuck := h.execute()
	h.ran = true
	if err := h.script.NotRun(); err != nil && !h.allowUnrun {
		h.t.Error(err)
	}
	for _, in := range h.interjections.all {
		if !in.fired {
			h.t.Errorf("the interjection during %s never ran: no such activity started", in.what)
		}
	}
	for _, u := range h.script.Sent() {
		if !u.Done {
			h.t.Error(u.Problem())
		}
	}
	for _, u := range h.mustSucceed {
		if err := u.Problem(); u.Done && err != nil {
			h.t.Error(err)
		}
	}
	if stuck != nil {
		h.t.Fatalf("the workflows did not run to their end: %v", stuck)
	}
	if !h.env.IsWorkflowCompleted() {
		h.t.Fatal("intake workflow did not complete")
	}
	if err := h.env.GetWorkflowError(); err != nil {
		h.t.Fatalf("intake workflow failed: %v", err)
	}
	var st store.IntakeStatus
	if err := h.env.GetWorkflowResult(&st); err != nil {
		h.t.Fatal(err)
	}
	return st
}

// execute runs the intake to its end. The environment panics when the
// workflows wait for nothing it can bring about (a deadlock, or the test
// timeout): that is returned, so that run still reports what the script
// sent and what came of it, which is usually why.
func (h *harness) execute() (stuck any) {
	return h.executeIntake(h.intake)
}

// executeIntake is execute with an intake of the test's making.
func (h *harness) executeIntake(in workflows.Intake) (stuck any) {
	defer func() { stuck = recover() }()
	h.env.ExecuteWorkflow(workflows.IntakeWorkflow, in)
	return nil
}

// update sends an update to the intake (journey == uuid.Nil) or a journey.
// Call it from a step scheduled with at: the update runs after the step
// returns, and its outcome is filled in then; read it after run.
func (h *harness) update(journey uuid.UUID, name string, args ...any) *scripted.Update {
	return h.script.Send(journey, name, name, args...)
}

// apply submits an application for a new person and returns its journey ID.
func (h *harness) apply(when time.Time) uuid.UUID {
	return h.applyAs(when, uuid.New())
}

// applyAs submits an application for person, which must be taken, and
// returns its journey ID.
func (h *harness) applyAs(when time.Time, person uuid.UUID) uuid.UUID {
	id := uuid.New()
	h.at(when, func() {
		h.mustAccept(h.update(uuid.Nil, workflows.UpdateSubmitApplication,
			workflows.SubmitApplicationRequest{JourneyID: id, PersonID: person, CoachID: h.coach}), "submit")
	})
	return id
}

// mustAccept says the update u (what, for the failure message) must
// succeed. Before run it is only noted, as u has not run yet; run checks it
// and names the line that asked.
func (h *harness) mustAccept(u *scripted.Update, what string) {
	h.t.Helper()
	if _, file, line, ok := runtime.Caller(1); ok {
		what = fmt.Sprintf("%s (%s:%d)", what, filepath.Base(file), line)
	}
	if u == nil {
		h.t.Errorf("%s was never sent: its scripted step did not run", what)
		return
	}
	u.What = what
	if !h.ran {
		h.mustSucceed = append(h.mustSucceed, u)
		return
	}
	if err := u.Problem(); err != nil {
		h.t.Error(err)
	}
}

// events lists the event types recorded for a journey, in order.
func (h *harness) events(journey uuid.UUID) []string {
	h.t.Helper()
	evs, err := h.store.JourneyEvents(context.Background(), journey)
	if err != nil {
		h.t.Fatal(err)
	}
	var types []string
	for _, e := range evs {
		types = append(types, e.Type)
	}
	return types
}

// messages lists the messages queued for a journey.
func (h *harness) messages(journey uuid.UUID) []store.Message {
	h.t.Helper()
	msgs, err := h.store.ListMessages(context.Background(), store.OutboxFilter{JourneyID: journey})
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

func (h *harness) journey(id uuid.UUID) store.JourneySnapshot {
	h.t.Helper()
	j, err := h.store.GetJourney(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return j
}

// items of a kind from the planned schedule, in order.
func (h *harness) items(kind programme.ItemKind) []programme.Item {
	var out []programme.Item
	for _, it := range h.schedule.Items {
		if it.Kind == kind {
			out = append(out, it)
		}
	}
	return out
}

func (h *harness) item(id string) programme.Item {
	for _, it := range h.schedule.Items {
		if it.ID == id {
			return it
		}
	}
	h.t.Fatalf("no item %s in the schedule", id)
	return programme.Item{}
}

// attend records attendance (present or not) for every session after it ends.
func (h *harness) attend(journey uuid.UUID, present func(i int) bool) {
	h.attendSessions(journey, h.items(programme.KindSession), present)
}

// attendSessions records attendance for these sessions after each ends.
func (h *harness) attendSessions(journey uuid.UUID, sessions []programme.Item, present func(i int) bool) {
	for i, s := range sessions {
		h.at(s.DueAt.Add(time.Hour), func() {
			h.mustAccept(h.update(journey, workflows.UpdateRecordAttendance,
				workflows.AttendanceRequest{SessionID: s.ID, Attended: present(i)}), "attendance "+s.ID)
		})
	}
}

// completeCheckpoints has the coach complete each checkpoint the day before
// it is due, after the coach's reminder has gone out.
func (h *harness) completeCheckpoints(journey uuid.UUID, which func(i int) bool) {
	for i, c := range h.items(programme.KindCheckpoint) {
		if !which(i) {
			continue
		}
		c := c
		h.at(c.DueAt.Add(-24*time.Hour), func() {
			h.mustAccept(h.update(journey, workflows.UpdateCompleteCheckpoint, workflows.CompleteCheckpointRequest{
				CheckpointID: c.ID, CoachID: h.coach, NoteID: uuid.New(), Status: workflows.RAGGreen, RequestID: c.ID,
			}), "checkpoint "+c.ID)
		})
	}
}

// submitTask hands a task in the day before it is due.
func (h *harness) submitTask(journey uuid.UUID, task string) {
	it := h.item(task)
	h.at(it.DueAt.Add(-24*time.Hour), func() {
		h.mustAccept(h.update(journey, workflows.UpdateSubmitTask,
			workflows.SubmitTaskRequest{TaskID: task, NoteID: uuid.New(), RequestID: task}), "submit "+task)
	})
}

func count(types []string, want string) int {
	n := 0
	for _, t := range types {
		if t == want {
			n++
		}
	}
	return n
}

func templates(msgs []store.Message) map[string]int {
	m := map[string]int{}
	for _, msg := range msgs {
		m[msg.Template]++
	}
	return m
}

// quietLogger keeps the SDK's debug chatter out of test output; warnings
// and errors still show.
var quietLogger = log.NewStructuredLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: testLogLevel})))

var testLogLevel = func() slog.Level {
	if os.Getenv("INFUSE_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}()

// laterIntake stands in for the intake a journey defers to, which runs
// outside this test environment. It keeps the SendUpdate activity's
// contract: take answers each hand-over sent to target, and an error from
// it is the intake refusing (its validator saying no).
//
// Like the real intake it remembers what it took: the same deferral again
// is answered yes without asking take.
func (h *harness) laterIntake(target uuid.UUID, take func(workflows.DeferralHandOver) error) {
	sentTo := func(in activities.UpdateInput) bool {
		return in.WorkflowID == workflows.IntakeWorkflowID(target) && in.UpdateName == workflows.UpdateAcceptDeferral
	}
	var mu sync.Mutex // activities run on goroutines of their own
	taken := map[uuid.UUID]bool{}
	h.env.OnActivity(h.acts.SendUpdate, mock.Anything, mock.MatchedBy(sentTo)).
		Return(func(_ context.Context, in activities.UpdateInput) (json.RawMessage, error) {
			var d workflows.DeferralHandOver
			if err := json.Unmarshal(in.Arg, &d); err != nil {
				return nil, err
			}
			mu.Lock()
			again := taken[d.NewJourneyID]
			mu.Unlock()
			if !again {
				if err := take(d); err != nil {
					return nil, temporal.NewNonRetryableApplicationError(err.Error(), activities.ErrRefused, nil)
				}
				mu.Lock()
				taken[d.NewJourneyID] = true
				mu.Unlock()
			}
			return json.Marshal(d.NewJourneyID)
		})
}
