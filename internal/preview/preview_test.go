package preview_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/preview"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

func at(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, london)
}

// cohort is an intake as the live store has it before launch: people,
// the intake (window closed) and one projection row per accepted journey.
type cohort struct {
	intake      store.Intake
	coordinator store.Person
	coaches     []store.Person
	people      []store.Person // participants, in journey order
	journeys    []store.JourneySnapshot
}

// newCohort makes n participants with mixed language preferences, two
// coaches (one Welsh, one English speaking) and a coordinator whose
// preference is unknown. Participant noCoach (if >= 0) has no coach.
func newCohort(n, capacity, noCoach int) *cohort {
	c := &cohort{}
	c.coordinator = store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Cydlynydd", FamilyName: "Jones",
		EmailAddress: "coordinator@example.org", Language: store.LanguageUnknown}
	for i, lang := range []store.Language{store.LanguageWelsh, store.LanguageEnglish} {
		c.coaches = append(c.coaches, store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Coach",
			FamilyName: fmt.Sprint(i + 1), EmailAddress: fmt.Sprintf("coach%d@example.org", i+1), Language: lang})
	}
	langs := []store.Language{store.LanguageWelsh, store.LanguageEnglish, store.LanguageUnknown}
	c.intake = store.Intake{
		ID: uuid.New(), Name: "Cohort 2", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: at(2021, 8, 16, 9, 0), ClosesAt: at(2021, 9, 13, 17, 0), StartsOn: at(2021, 10, 1, 0, 0),
		Capacity: capacity, CoordinatorID: c.coordinator.ID, Status: store.IntakeClosed,
	}
	for i := range n {
		p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: fmt.Sprintf("Participant%02d", i),
			FamilyName: "Test", EmailAddress: fmt.Sprintf("p%02d@example.org", i), Language: langs[i%3],
			LocalAuthority: "Cardiff", Theme: "communities"}
		coach := c.coaches[i%2].ID
		if i == noCoach {
			coach = uuid.Nil
		}
		c.people = append(c.people, p)
		c.journeys = append(c.journeys, store.JourneySnapshot{JourneyID: uuid.New(), IntakeID: c.intake.ID,
			PersonID: p.ID, CoachID: coach, State: contract.StatusAccepted})
	}
	return c
}

func (c *cohort) everyone() []store.Person {
	return append(append([]store.Person{c.coordinator}, c.coaches...), c.people...)
}

// seed writes the cohort to st the way the live system would have: people,
// the intake, and for each journey events whose snapshots make the projection.
func (c *cohort) seed(t testing.TB, st store.Store) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreatePeople(ctx, c.everyone()); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateIntake(ctx, c.intake); err != nil {
		t.Fatal(err)
	}
	for i, j := range c.journeys {
		for seq, state := range []workflows.Status{contract.StatusSubmitted, contract.StatusAccepted} {
			snap := j
			snap.State = state
			_, err := st.Record(ctx, store.Event{
				Key: fmt.Sprintf("journey/%s/%d", j.JourneyID, seq+1), IntakeID: c.intake.ID, JourneyID: j.JourneyID,
				Type: "seeded." + string(state), OccurredAt: c.intake.OpensAt.Add(time.Duration(i) * time.Hour), Snapshot: &snap,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// A 20-person intake: the preview runs it to the end and lists every
// message, in each recipient's language, sorted by time.
func TestPreviewListsTheMessagesOfA20PersonIntake(t *testing.T) {
	c := newCohort(20, 20, -1)
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)

	start := time.Now()
	plan, err := preview.Run(context.Background(), st, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("preview of 20 journeys over six months: %d messages in %v", len(plan.Lines), time.Since(start).Round(time.Millisecond))
	if len(plan.Problems) > 0 {
		t.Fatalf("the scenario did not run as described: %v", plan.Problems)
	}
	if plan.Participants != 20 || plan.Waitlisted != 0 {
		t.Errorf("participants %d, waitlisted %d; want 20, 0", plan.Participants, plan.Waitlisted)
	}
	if want := at(2021, 10, 1, 9, 0); !plan.StartedAt.Equal(want) {
		t.Errorf("started at %v, want %v", plan.StartedAt, want)
	}
	if !slices.IsSortedFunc(plan.Lines, func(a, b preview.Line) int { return a.DeliverAt.Compare(b.DeliverAt) }) {
		t.Error("lines are not sorted by delivery time")
	}
	for _, l := range plan.Lines {
		if l.DeliverAt.IsZero() || l.DeliverAt.Before(l.QueuedAt) {
			t.Errorf("line %+v: delivered before it was queued, or not at all", l)
		}
	}

	byPerson := map[uuid.UUID]store.Person{}
	for _, p := range c.everyone() {
		byPerson[p.ID] = p
	}
	perRecipient := map[uuid.UUID]map[string]int{}
	for _, l := range plan.Lines {
		p, ok := byPerson[l.RecipientID]
		if !ok {
			t.Fatalf("message to unknown recipient %s: %+v", l.RecipientID, l)
		}
		wantLang := map[store.Language]string{store.LanguageWelsh: "cy", store.LanguageEnglish: "en", store.LanguageUnknown: "cy+en"}[p.Language]
		if l.Language != wantLang || l.RecipientName != p.GivenName+" "+p.FamilyName || l.Role != string(p.Role) {
			t.Errorf("line %+v: want language %s, name %s %s, role %s", l, wantLang, p.GivenName, p.FamilyName, p.Role)
		}
		if perRecipient[l.RecipientID] == nil {
			perRecipient[l.RecipientID] = map[string]int{}
		}
		perRecipient[l.RecipientID][l.Template]++
	}

	// Every participant: offer, start, 12 sessions x 2 reminders, the plan
	// reminder, two reflection reminders, completion. No absence, overdue
	// or escalation messages: everyone does everything on time.
	wantParticipant := map[string]int{"offer": 1, "intake-started": 1, "session-reminder-week": 12,
		"session-reminder-day": 12, "plan-reminder": 1, "reflection-reminder": 2, "completion": 1}
	for _, p := range c.people {
		if got := perRecipient[p.ID]; !maps.Equal(got, wantParticipant) {
			t.Errorf("%s got %v, want %v", p.GivenName, got, wantParticipant)
		}
	}
	// Each coach has ten participants and six checkpoints each.
	for _, coach := range c.coaches {
		if got := perRecipient[coach.ID]; !maps.Equal(got, map[string]int{"checkpoint-reminder": 60}) {
			t.Errorf("%s got %v, want 60 checkpoint reminders", coach.FamilyName, got)
		}
	}
	if got := perRecipient[c.coordinator.ID]; len(got) != 0 {
		t.Errorf("the coordinator got %v, want nothing (nothing was overdue)", got)
	}
	if want := 20*30 + 120; len(plan.Lines) != want {
		t.Errorf("%d lines, want %d", len(plan.Lines), want)
	}

	// Times are the workflow's: the offer a minute after the window closed,
	// the start at 09:00 on the start date, the completion at the end of the
	// programme (after the clocks went forward, still 17:00 in London).
	first := byTemplate(plan.Lines, c.people[0].ID)
	if got := first["offer"]; !got.Equal(at(2021, 9, 13, 17, 1)) {
		t.Errorf("offer sent %v", got)
	}
	if got := first["intake-started"]; !got.Equal(at(2021, 10, 1, 9, 0)) {
		t.Errorf("intake-started sent %v", got)
	}
	if got := first["completion"]; !got.Equal(at(2022, 3, 31, 17, 0)) {
		t.Errorf("completion sent %v", got)
	}

	// The live store is untouched: no events beyond the seeded ones, no messages.
	msgs, err := st.ListMessages(context.Background(), store.OutboxFilter{IntakeID: c.intake.ID})
	if err != nil || len(msgs) != 0 {
		t.Errorf("the live outbox has %d messages (%v), want none", len(msgs), err)
	}
	evs, err := st.IntakeEvents(context.Background(), c.intake.ID)
	if err != nil || len(evs) != 40 {
		t.Errorf("the live event log has %d events (%v), want the 40 seeded", len(evs), err)
	}
}

func byTemplate(lines []preview.Line, who uuid.UUID) map[string]time.Time {
	out := map[string]time.Time{}
	for _, l := range lines {
		if l.RecipientID == who {
			out[l.Template] = l.QueuedAt
		}
	}
	return out
}

// The check: the preview of a 20-person intake lists the same
// messages, at the same times, as a time-skipped run of it. The run here is
// driven by this test, independently of package preview, as
// workflows/harness_test.go drives intakes: the scenario the preview
// documents, written out again by hand. One participant has no coach, so
// the checkpoint escalations to the coordinator and a non-completion are
// part of the comparison.
func TestPreviewMatchesATimeSkippedRunOfTheIntake(t *testing.T) {
	c := newCohort(20, 20, 7)
	live := sqlitestore.OpenTest(t)
	c.seed(t, live)
	plan, err := preview.Run(context.Background(), live, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Problems) > 0 {
		t.Fatalf("the scenario did not run as described: %v", plan.Problems)
	}
	var got []string
	for _, l := range plan.Lines {
		got = append(got, key(l.RecipientID, l.Template, l.ItemID, l.QueuedAt))
	}

	want := runIndependently(t, c)

	sort.Strings(got)
	sort.Strings(want)
	if len(got) != len(want) {
		t.Errorf("preview lists %d messages, the run queued %d", len(got), len(want))
	}
	missing, extra := diff(want, got), diff(got, want)
	for _, m := range missing {
		t.Errorf("the run queued %s, the preview does not list it", m)
	}
	for _, m := range extra {
		t.Errorf("the preview lists %s, the run did not queue it", m)
	}
	if t.Failed() {
		return
	}
	templates := map[string]bool{}
	for _, l := range plan.Lines {
		templates[l.Template] = true
	}
	for _, tmpl := range []string{"checkpoint-overdue-coordinator", "non-completion", "completion", "checkpoint-reminder"} {
		if !templates[tmpl] {
			t.Errorf("no %s message in the comparison; the scenario should produce one", tmpl)
		}
	}
	t.Logf("%d messages match exactly", len(got))
}

func key(recipient uuid.UUID, template, item string, sendAt time.Time) string {
	return fmt.Sprintf("%s %s %s %s", sendAt.UTC().Format(time.RFC3339Nano), recipient, template, item)
}

// diff lists the elements of a (sorted) that b (sorted) lacks, as multisets.
func diff(a, b []string) []string {
	var out []string
	i, j := 0, 0
	for i < len(a) {
		switch {
		case j >= len(b) || a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			j++
		default:
			i, j = i+1, j+1
		}
	}
	return out
}

// runIndependently runs the cohort's intake in the SDK's test environment
// with the real workflows and activities against a fresh store, scripted by
// hand: everyone applies a minute after the window opens, is offered a
// place a minute after it closes and accepts ten minutes after it closes;
// the intake starts at 09:00 on its start date; every session is attended
// (recorded an hour after it ends); plans, reflections and (where there is
// a coach) checkpoints are done a day before they are due.
func runIndependently(t *testing.T, c *cohort) []string {
	t.Helper()
	ctx := context.Background()
	st := sqlitestore.OpenTest(t)
	if err := st.CreatePeople(ctx, c.everyone()); err != nil {
		t.Fatal(err)
	}
	in := c.intake
	in.Status = store.IntakeDraft
	if err := st.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}

	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	began := at(2021, 8, 1, 0, 0)
	env.SetStartTime(began)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(in.ID)})
	worker.Register(env, activities.New(st))

	script := scripted.New(env, began, in.ID)
	update := func(journey uuid.UUID, name string, arg any) { script.Send(journey, name, name, arg) }
	when := func(tm time.Time, fn func()) {
		if err := script.At(tm, fn); err != nil {
			t.Fatal(err)
		}
	}

	for _, j := range c.journeys {
		when(at(2021, 8, 16, 9, 1), func() {
			update(uuid.Nil, workflows.UpdateSubmitApplication,
				workflows.SubmitApplicationRequest{JourneyID: j.JourneyID, PersonID: j.PersonID, CoachID: j.CoachID})
		})
		when(at(2021, 9, 13, 17, 1), func() {
			update(uuid.Nil, workflows.UpdateDecide, workflows.DecideRequest{JourneyID: j.JourneyID, Decision: workflows.DecisionOffer})
		})
		when(at(2021, 9, 13, 17, 10), func() {
			update(j.JourneyID, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true})
		})
	}
	when(at(2021, 10, 1, 9, 0), func() { update(uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{}) })

	prog, err := programme.Lookup("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	sched, err := prog.Schedule(programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range c.journeys {
		for _, it := range sched.Items {
			switch it.Kind {
			case programme.KindSession:
				when(it.DueAt.Add(time.Hour), func() {
					update(j.JourneyID, workflows.UpdateRecordAttendance, workflows.AttendanceRequest{SessionID: it.ID, Attended: true})
				})
			case programme.KindPlan, programme.KindReflection:
				when(it.DueAt.Add(-24*time.Hour), func() {
					update(j.JourneyID, workflows.UpdateSubmitTask, workflows.SubmitTaskRequest{TaskID: it.ID, NoteID: uuid.New(), RequestID: it.ID})
				})
			case programme.KindCheckpoint:
				if j.CoachID != uuid.Nil {
					when(it.DueAt.Add(-24*time.Hour), func() {
						update(j.JourneyID, workflows.UpdateCompleteCheckpoint, workflows.CompleteCheckpointRequest{
							CheckpointID: it.ID, CoachID: j.CoachID, NoteID: uuid.New(), Status: workflows.RAGGreen, RequestID: it.ID})
					})
				}
			}
		}
	}

	env.ExecuteWorkflow(workflows.IntakeWorkflow, workflows.Intake{
		IntakeID: in.ID, CoordinatorID: in.CoordinatorID, ProgrammeID: in.ProgrammeID, ProgrammeVersion: in.ProgrammeVersion,
		OpensAt: in.OpensAt, ClosesAt: in.ClosesAt, StartsOn: in.StartsOn, Capacity: in.Capacity,
	})
	if !env.IsWorkflowCompleted() {
		t.Fatal("the intake did not complete")
	}
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if err := script.Problems(); err != nil {
		t.Error(err)
	}
	msgs, err := st.ListMessages(ctx, store.OutboxFilter{IntakeID: in.ID})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, key(m.RecipientID, m.Template, m.ItemID, m.SendAt))
	}
	return out
}

// testWriter sends the SDK's warnings to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// More applicants than places: the first ones (by application) take the
// places, the rest are waitlisted and told they were not selected.
func TestPreviewBeyondCapacityWaitlistsTheLastApplicants(t *testing.T) {
	c := newCohort(4, 3, -1)
	for i := range c.journeys {
		c.journeys[i].State = contract.StatusSubmitted
	}
	c.intake.Status = store.IntakeOpen
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)
	plan, err := preview.Run(context.Background(), st, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Problems) > 0 {
		t.Fatalf("problems: %v", plan.Problems)
	}
	if plan.Participants != 3 || plan.Waitlisted != 1 {
		t.Fatalf("participants %d, waitlisted %d; want 3, 1", plan.Participants, plan.Waitlisted)
	}
	last := byTemplate(plan.Lines, c.people[3].ID)
	if len(last) != 1 || !last["application-unsuccessful"].Equal(at(2021, 10, 1, 9, 0)) {
		t.Errorf("the fourth applicant got %v, want only application-unsuccessful at the start", last)
	}
	if got := byTemplate(plan.Lines, c.people[0].ID); got["completion"].IsZero() {
		t.Errorf("the first applicant got %v, want a completion", got)
	}
}

// An intake run in parts (as one of more than partSize is) previews the
// same messages, delivered at the same times, as when it runs whole: the
// parts change how the simulation is cut, not what it shows. Two coaches
// and the coordinator get messages from every part, so their daily caps
// and digests are shared across them.
func TestPreviewInPartsIsThePreviewWhole(t *testing.T) {
	c := newCohort(20, 16, 7)
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)
	whole, err := preview.Run(context.Background(), st, c.intake.ID)
	if err != nil || len(whole.Problems) > 0 {
		t.Fatal(err, whole.Problems)
	}
	preview.SetPartSize(t, 6)
	var told []preview.Progress
	inParts, err := preview.RunReporting(context.Background(), st, c.intake.ID, func(p preview.Progress) { told = append(told, p) })
	if err != nil || len(inParts.Problems) > 0 {
		t.Fatal(err, inParts.Problems)
	}
	// Told of each part as it starts (day 0), its share of the 20
	// applicants, then once a simulated week to its last day, then of the
	// delivery and how many messages it drains.
	var want []preview.Progress
	days := 0
	if len(told) > 0 {
		days = told[0].Days
	}
	for part := 1; part <= 4; part++ {
		for day := 0; day < days; day += 7 {
			want = append(want, preview.Progress{Part: part, Parts: 4, People: 5, Day: day, Days: days})
		}
	}
	want = append(want, preview.Progress{Messages: len(inParts.Lines)})
	// Six months of programme after the window opens.
	if days < 180 || days > 260 || fmt.Sprint(told) != fmt.Sprint(want) {
		t.Errorf("progress %v, want %v", told, want)
	}
	if inParts.Participants != 16 || inParts.Waitlisted != 4 || inParts.Emails != whole.Emails {
		t.Errorf("in parts: %d participants, %d waitlisted, %d e-mails; whole: %d, %d, %d",
			inParts.Participants, inParts.Waitlisted, inParts.Emails, whole.Participants, whole.Waitlisted, whole.Emails)
	}
	if len(inParts.Lines) != len(whole.Lines) {
		t.Fatalf("in parts: %d lines, whole: %d", len(inParts.Lines), len(whole.Lines))
	}
	// Which of the messages due together beyond a day's cap go into the
	// digest follows the order they were queued in, which no one chooses
	// (in production, whichever workflow got there first): how many do,
	// for whom and when, is what must not change.
	type digest struct {
		who uuid.UUID
		at  time.Time
	}
	folded := map[digest]int{}
	for i, w := range whole.Lines {
		p := inParts.Lines[i]
		if w.Digest {
			folded[digest{w.RecipientID, w.DeliverAt}]++
		}
		if p.Digest {
			folded[digest{p.RecipientID, p.DeliverAt}]--
		}
		w.Digest, p.Digest = false, false
		if p != w {
			t.Fatalf("line %d in parts:\n%+v\nwhole:\n%+v", i, p, w)
		}
	}
	for d, n := range folded {
		if n != 0 {
			t.Errorf("%s at %s: %d more messages in a digest whole than in parts", d.who, d.at, n)
		}
	}
}

// A preview whose time runs out while its journeys run answers at once
// with that, rather than waiting for the simulation: the SDK's environment
// takes no context, and one that blocks would hold the command for ever.
func TestPreviewStopsWaitingWhenItsTimeRunsOut(t *testing.T) {
	c := newCohort(20, 20, -1)
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	plan, err := preview.RunReporting(ctx, st, c.intake.ID, func(p preview.Progress) {
		if p.Part == 1 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "did not finish in time") {
		t.Fatalf("a preview cancelled as its journeys started: %v (%d lines), want it to say it did not finish in time",
			err, len(plan.Lines))
	}
}

// Nobody to preview, or no such intake.
func TestPreviewEmptyAndUnknownIntakes(t *testing.T) {
	c := newCohort(0, 20, -1)
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)
	plan, err := preview.Run(context.Background(), st, c.intake.ID)
	if err != nil || len(plan.Lines) != 0 || plan.Participants != 0 {
		t.Errorf("empty intake: %d lines, %d participants, %v", len(plan.Lines), plan.Participants, err)
	}
	if _, err := preview.Run(context.Background(), st, uuid.New()); err == nil {
		t.Error("an unknown intake previewed without error")
	}
}

// BenchmarkPreview previews intakes of 20 and 200 people, or of
// INFUSE_BENCH_PREVIEW_PEOPLE (issue 11's goal: 1,000 in under 30 s), and
// reports the time per person. Up to 6c06596 an intake of more than about
// 40 people never finished: the script overfilled the SDK environment's
// queue (internal/scripted).
func BenchmarkPreview(b *testing.B) {
	sizes := []int{20, 200}
	if v := os.Getenv("INFUSE_BENCH_PREVIEW_PEOPLE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("INFUSE_BENCH_PREVIEW_PEOPLE=%q: want a number of people", v)
		}
		sizes = []int{n}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("people=%d", n), func(b *testing.B) {
			c := newCohort(n, n, -1)
			st := sqlitestore.OpenTest(b)
			c.seed(b, st)
			for b.Loop() {
				plan, err := preview.Run(context.Background(), st, c.intake.ID)
				if err != nil || len(plan.Problems) > 0 {
					b.Fatal(err, plan.Problems)
				}
				if plan.Participants != n {
					b.Fatalf("%d participants previewed, want %d", plan.Participants, n)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*n), "ms/person")
		})
	}
}

// Delivery applies the programme's policy: offers made at 18:01 on a Friday
// (the window closed at 18:00) reach people at 09:00 on Monday, every
// e-mail goes in working hours, and nobody gets more than three e-mails on
// one day, the rest waiting or folded into a digest.
func TestPreviewDeliversByThePolicy(t *testing.T) {
	c := newCohort(20, 20, 7)
	c.intake.ClosesAt = at(2021, 9, 10, 18, 0) // a Friday
	st := sqlitestore.OpenTest(t)
	c.seed(t, st)
	plan, err := preview.Run(context.Background(), st, c.intake.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Problems) > 0 {
		t.Fatalf("the scenario did not run as described: %v", plan.Problems)
	}
	offers := 0
	for _, l := range plan.Lines {
		if l.Template != "offer" {
			continue
		}
		offers++
		if !l.QueuedAt.Equal(at(2021, 9, 10, 18, 1)) || !l.DeliverAt.Equal(at(2021, 9, 13, 9, 0)) || l.Digest {
			t.Errorf("offer to %s queued %v, delivered %v (digest %v); want queued Friday 18:01, delivered Monday 09:00 on its own",
				l.RecipientName, l.QueuedAt.In(london), l.DeliverAt.In(london), l.Digest)
		}
	}
	if offers != 20 {
		t.Errorf("%d offers, want 20", offers)
	}

	type day struct {
		who  uuid.UUID
		date string
	}
	emails := map[day]map[string]bool{} // the e-mails (a digest is one) each person gets each day
	moved, digests := 0, 0
	for _, l := range plan.Lines {
		if l.DeliverAt.IsZero() || l.DeliverAt.Before(l.QueuedAt) {
			t.Errorf("line %+v: delivered before it was queued, or not at all", l)
			continue
		}
		local := l.DeliverAt.In(london)
		hm := local.Hour()*60 + local.Minute()
		if wd := local.Weekday(); wd == time.Saturday || wd == time.Sunday || hm < 9*60 || hm > 17*60+30 {
			t.Errorf("%s %s %s delivered %s, outside working hours", l.RecipientName, l.Template, l.ItemID, local.Format("Mon 2006-01-02 15:04"))
		}
		if !l.DeliverAt.Equal(l.QueuedAt) {
			moved++
		}
		email := fmt.Sprint(l.Template, l.ItemID, l.JourneyID)
		if l.Digest {
			digests++
			email = "digest " + l.DeliverAt.String()
		}
		k := day{l.RecipientID, local.Format(time.DateOnly)}
		if emails[k] == nil {
			emails[k] = map[string]bool{}
		}
		emails[k][email] = true
	}
	for k, es := range emails {
		if len(es) > 3 {
			t.Errorf("%s gets %d e-mails on %s, want at most 3", k.who, len(es), k.date)
		}
	}
	if plan.Emails >= len(plan.Lines) || digests == 0 {
		t.Errorf("%d e-mails for %d messages, %d in digests; want some digests", plan.Emails, len(plan.Lines), digests)
	}
	t.Logf("%d messages in %d e-mails: %d moved by the policy, %d folded into digests", len(plan.Lines), plan.Emails, moved, digests)
}
