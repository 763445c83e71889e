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
	"github.com/infuse-cymru/journeys/programme"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
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
