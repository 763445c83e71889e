package workflows_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/programme"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
	"github.com/infuse-cymru/journeys/worker"
	"github.com/infuse-cymru/journeys/workflows"
)

// BenchmarkFullJourney runs one participant's whole six months per
// iteration under the test suite's time skipping: apply, offer, accept,
// start, attend all twelve sessions, hand in the plan, six coaching
// checkpoints, the reflection, and the assessment (completed). The intake
// is the root workflow and the journey its child, as in production, with
// the real activities and a real SQLite store (shared by the iterations;
// every iteration has its own intake and journey).
//
// ns/op is the wall time of one full journey. It also reports what one
// journey leaves in the store: messages queued and domain events recorded.
//
//	go test ./workflows/ -run '^$' -bench FullJourney -benchtime 5x
//
// (It builds what it needs itself: the harness in harness_test.go takes a
// *testing.T.)
func BenchmarkFullJourney(b *testing.B) {
	st := sqlitestore.OpenTest(b)
	p, err := programme.Lookup("infuse", 1)
	if err != nil {
		b.Fatal(err)
	}
	var msgs, events int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m, e := runFullJourney(b, st, p)
		msgs += m
		events += e
	}
	b.ReportMetric(float64(msgs)/float64(b.N), "msgs/journey")
	b.ReportMetric(float64(events)/float64(b.N), "events/journey")
}

// runFullJourney runs one intake with one participant who does everything,
// checks that the journey completed, and returns the number of messages
// queued and events recorded for it.
func runFullJourney(tb testing.TB, st store.Store, p *programme.Programme) (msgs, events int) {
	ctx := context.Background()
	var suite testsuite.WorkflowTestSuite
	suite.SetLogger(quietLogger)
	env := suite.NewTestWorkflowEnvironment()
	env.SetTestTimeout(time.Minute)
	began := day(2021, 8, 2, 9)
	env.SetStartTime(began)

	in := workflows.Intake{
		IntakeID: uuid.New(), CoordinatorID: uuid.New(), ProgrammeID: p.ID, ProgrammeVersion: p.Version,
		OpensAt:  day(2021, 8, 16, 9),
		ClosesAt: time.Date(2021, 9, 13, 17, 0, 0, 0, london),
		StartsOn: day(2021, 10, 1, 0),
		Capacity: 20,
	}
	err := st.CreateIntake(ctx, store.Intake{
		ID: in.IntakeID, Name: "Cohort 1", ProgrammeID: in.ProgrammeID, ProgrammeVersion: in.ProgrammeVersion,
		OpensAt: in.OpensAt, ClosesAt: in.ClosesAt, StartsOn: in.StartsOn, Capacity: in.Capacity,
		CoordinatorID: in.CoordinatorID, Status: store.IntakeDraft,
	})
	if err != nil {
		tb.Fatal(err)
	}
	worker.Register(env, activities.New(st))
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: workflows.IntakeWorkflowID(in.IntakeID)})
	schedule, err := p.Schedule(programme.ScheduleInput{StartsOn: in.StartsOn})
	if err != nil {
		tb.Fatal(err)
	}

	journey, coach := uuid.New(), uuid.New()
	var failed []string
	at := func(when time.Time, what string, journeyID uuid.UUID, name string, arg any) {
		env.RegisterDelayedCallback(func() {
			cb := &testsuite.TestUpdateCallback{
				OnReject:   func(err error) { failed = append(failed, what+" rejected: "+err.Error()) },
				OnAccept:   func() {},
				OnComplete: func(_ any, err error) { failed = appendErr(failed, what, err) },
			}
			if journeyID == uuid.Nil {
				env.UpdateWorkflow(name, uuid.NewString(), cb, arg)
				return
			}
			if err := env.UpdateWorkflowByID(workflows.JourneyWorkflowID(journeyID), name, uuid.NewString(), cb, arg); err != nil {
				failed = appendErr(failed, what, err)
			}
		}, when.Sub(began))
	}
	at(day(2021, 8, 20, 11), "apply", uuid.Nil, workflows.UpdateSubmitApplication,
		workflows.SubmitApplicationRequest{JourneyID: journey, PersonID: uuid.New(), CoachID: coach})
	at(day(2021, 9, 14, 10), "offer", uuid.Nil, workflows.UpdateDecide,
		workflows.DecideRequest{JourneyID: journey, Decision: workflows.DecisionOffer})
	at(day(2021, 9, 15, 10), "accept", journey, workflows.UpdateRespondToOffer, workflows.RespondToOfferRequest{Accept: true})
	at(day(2021, 9, 27, 10), "start", uuid.Nil, workflows.UpdateStartIntake, workflows.StartIntakeRequest{})
	for _, it := range schedule.Items {
		switch it.Kind {
		case programme.KindSession:
			at(it.DueAt.Add(time.Hour), "attend "+it.ID, journey, workflows.UpdateRecordAttendance,
				workflows.AttendanceRequest{SessionID: it.ID, Attended: true})
		case programme.KindCheckpoint:
			at(it.DueAt.Add(-24*time.Hour), it.ID, journey, workflows.UpdateCompleteCheckpoint, workflows.CompleteCheckpointRequest{
				CheckpointID: it.ID, CoachID: coach, NoteID: uuid.New(), Status: workflows.RAGGreen, RequestID: it.ID,
			})
		case programme.KindPlan, programme.KindReflection:
			at(it.DueAt.Add(-24*time.Hour), it.ID, journey, workflows.UpdateSubmitTask,
				workflows.SubmitTaskRequest{TaskID: it.ID, NoteID: uuid.New(), RequestID: it.ID})
		}
	}

	env.ExecuteWorkflow(workflows.IntakeWorkflow, in)
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		tb.Fatalf("intake did not complete: %v", env.GetWorkflowError())
	}
	for _, f := range failed {
		tb.Error(f)
	}
	snap, err := st.GetJourney(ctx, journey)
	if err != nil || snap.State != string(workflows.StatusCompleted) {
		tb.Fatalf("journey ended %q (%v), want completed", snap.State, err)
	}
	queued, err := st.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	if err != nil {
		tb.Fatal(err)
	}
	recorded, err := st.JourneyEvents(ctx, journey)
	if err != nil {
		tb.Fatal(err)
	}
	return len(queued), len(recorded)
}

func appendErr(failed []string, what string, err error) []string {
	if err != nil {
		failed = append(failed, what+" failed: "+err.Error())
	}
	return failed
}
