package activities_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// A Record activity retried after its result was lost (the worker died
// after the commit, say) leaves exactly one event and one queued message.
func TestRetriedRecordLeavesOneEventAndOneMessage(t *testing.T) {
	ctx := context.Background()
	s := sqlitestore.OpenTest(t)
	intake := store.Intake{
		ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		OpensAt: time.Date(2021, 8, 16, 8, 0, 0, 0, time.UTC), ClosesAt: time.Date(2021, 9, 13, 16, 0, 0, 0, time.UTC),
		StartsOn: time.Date(2021, 9, 30, 23, 0, 0, 0, time.UTC), CoordinatorID: uuid.New(), Status: store.IntakeDraft,
	}
	if err := s.CreateIntake(ctx, intake); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	at := time.Date(2021, 10, 7, 8, 0, 0, 0, time.UTC)
	in := activities.RecordInput{
		Event: store.Event{
			Key: "journey/" + journey.String() + "/7", IntakeID: intake.ID, JourneyID: journey,
			Type: "reminders.queued", OccurredAt: at,
			Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: intake.ID, PersonID: uuid.New(), State: "in_labs"},
		},
		Messages: []store.Message{{
			Key: "journey/" + journey.String() + "/adaption-lab/2/1d@2021-10-07T08:00:00Z", IntakeID: intake.ID, JourneyID: journey,
			RecipientID: uuid.New(), Role: store.RoleParticipant, Template: "session-reminder-day", ItemID: "adaption-lab/2",
			Channel: "email", SendAt: at, Status: store.MessageQueued,
		}},
	}

	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(s)
	env.RegisterActivity(acts)
	for attempt := 1; attempt <= 3; attempt++ {
		if _, err := env.ExecuteActivity(acts.Record, in); err != nil {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
	}

	events, err := s.JourneyEvents(ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := s.ListMessages(ctx, store.OutboxFilter{JourneyID: journey})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || len(msgs) != 1 {
		t.Fatalf("after three attempts: %d events and %d messages, want exactly 1 and 1", len(events), len(msgs))
	}
}

// tasksSeen is the worker's record of the tasks handed out, for one run.
type tasksSeen struct{ task temporalx.TaskAttempt }

func (s tasksSeen) Of(string) (temporalx.TaskAttempt, bool) { return s.task, true }

// A local record asked for by a workflow task that the server has since
// handed out again (the run's polled tasks changed while it ran) is
// refused unwritten, as a stale attempt that no retry can save; one whose
// task is still the latest is written with that task's fence.
func TestALocalRecordOfATaskHandedOutAgainIsRefused(t *testing.T) {
	ctx := context.Background()
	s := sqlitestore.OpenTest(t)
	intake := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: uuid.New(), Status: store.IntakeDraft}
	if err := s.CreateIntake(ctx, intake); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	asked := temporalx.TaskAttempt{Started: 21, Attempt: 2, Polls: 4}
	in := activities.RecordInput{
		Event:  store.Event{Key: "journey/" + journey.String() + "/1", IntakeID: intake.ID, JourneyID: journey, Type: "offer.made"},
		InTask: &activities.TaskPlace{Stream: "journey/" + journey.String(), Seq: 1, Generation: 3, Task: asked, Known: true},
	}
	var suite testsuite.WorkflowTestSuite
	for _, c := range []struct {
		what  string
		now   temporalx.TaskAttempt
		stale bool
	}{
		{"handed out again since", temporalx.TaskAttempt{Started: 24, Attempt: 1, Polls: 5}, true},
		{"handed out again since, as a transient retry", temporalx.TaskAttempt{Started: 21, Attempt: 3, Polls: 5}, true},
		{"still the latest (a heartbeat's task handed back does not count)", temporalx.TaskAttempt{Started: 23, Attempt: 1, Polls: 4}, false},
	} {
		env := suite.NewTestActivityEnvironment()
		acts := activities.New(s)
		acts.Attempts = tasksSeen{c.now}
		env.RegisterActivity(acts)
		_, err := env.ExecuteLocalActivity(acts.Record, in)
		events, _ := s.JourneyEvents(ctx, journey)
		switch {
		case c.stale && (!activities.IsStaleAttempt(err) || len(events) != 0):
			t.Errorf("%s: %v, %d events; want a stale attempt refused unwritten", c.what, err, len(events))
		case !c.stale && (err != nil || len(events) != 1 || events[0].Attempt == nil ||
			events[0].Attempt.Fence != store.FenceOf(3, asked.Started, asked.Attempt)):
			t.Errorf("%s: %v, %+v; want the event written with the fence of the task that asked", c.what, err, events)
		}
	}
}

// Planning with a programme version this binary does not have says which
// one; it stays retryable, so deploying the right binary lets it through.
func TestPlanningAnUnknownVersionNamesIt(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	acts := activities.New(sqlitestore.OpenTest(t))
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.PlanSchedule, activities.PlanScheduleInput{
		ProgrammeID: "infuse", ProgrammeVersion: 99,
		Input: programme.ScheduleInput{StartsOn: time.Date(2021, 10, 1, 0, 0, 0, 0, time.UTC)},
	})
	if err == nil || !strings.Contains(err.Error(), "infuse v99") {
		t.Fatalf("planning version 99: got %v, want an error naming infuse v99", err)
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.NonRetryable() {
		t.Errorf("planning an unknown version is non-retryable, so its journey would fail for good: %v", err)
	}
}
