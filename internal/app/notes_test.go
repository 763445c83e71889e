package app_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Notes are personal data: a request the journey refuses must not leave its
// notes behind, and a retried request must not store them twice.
//
// The journey runs on testenv's test clock: the lab months pass in
// seconds, then the first coaching checkpoint opens and stays open, so a
// coach can complete it (and retry) as they would at a real checkpoint.
func TestNotesOfRefusedAndRetriedRequests(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	st := sqlitestore.OpenTest(t)
	ts := testenv.NewServer(t)
	planner, err := testenv.UntilOpen(time.Date(2026, 10, 1, 0, 0, 0, 0, programme.London), 2_000_000, "checkpoint/1")
	if err != nil {
		t.Fatal(err)
	}
	testenv.StartWorker(t, ts, &activities.Activities{Store: st, Planner: planner})
	s := newFixture(ts.GetDefaultClient(), st)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	coordinator, coach, participant := coordinatorCoachAndParticipant(ctx, t, s)
	now := time.Now()
	in, err := s.Commands.CreateIntake(ctx, commands.IntakeSpec{
		Name: "Cohort 9", CoordinatorID: coordinator, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	var journey uuid.UUID
	deadline := time.Now().Add(20 * time.Second)
	for journey == uuid.Nil {
		// The intake opens a moment after its workflow starts.
		journey, err = s.Commands.Apply(ctx, in.ID, participant, coach)
		if err != nil && (!errors.Is(err, apperr.ErrRejected) || time.Now().After(deadline)) {
			t.Fatal(err)
		}
	}

	// The programme has not started, so there is no checkpoint to complete.
	refused := commands.Checkpoint{JourneyID: journey, CheckpointID: "checkpoint/1", CoachID: coach, Notes: "Going well.", Status: workflows.RAGGreen, RequestID: "req-1"}
	if _, err := s.Commands.CompleteCheckpoint(ctx, refused); !errors.Is(err, apperr.ErrRejected) {
		t.Fatalf("completing a checkpoint before the programme: %v, want apperr.ErrRejected", err)
	}
	if _, err := s.Store.GetNote(ctx, uuid.NewSHA1(journey, []byte(refused.RequestID))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused request's note is still in the store (%v)", err)
	}

	startAndWaitUntilOpen(t, ctx, s, in.ID, journey, "checkpoint/1")

	// The same request twice, as a coach's retry after a lost answer sends
	// it: one completion and one note, the one the completion names.
	c := commands.Checkpoint{JourneyID: journey, CheckpointID: "checkpoint/1", CoachID: coach, Notes: "Going well; plan agreed.", Status: workflows.RAGGreen, RequestID: "req-2"}
	first, err := s.Commands.CompleteCheckpoint(ctx, c)
	if err != nil {
		t.Fatalf("completing the open checkpoint: %v", err)
	}
	retry, err := s.Commands.CompleteCheckpoint(ctx, c)
	if err != nil || retry.NoteID != first.NoteID || !retry.CompletedAt.Equal(first.CompletedAt) {
		t.Errorf("the retry answered %+v, %v; want the first completion %+v", retry, err, first)
	}
	notes, err := s.Store.NotesOfJourney(ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 1 || notes[0].ID != first.NoteID || notes[0].Body != c.Notes {
		t.Errorf("after a request and its retry the journey has %d notes %+v; want one, %s, the completion's", len(notes), notes, first.NoteID)
	}
}

// startAndWaitUntilOpen accepts the journey's offer, starts the intake
// once it has counted the acceptance (it learns of it by signal, a moment
// after the answer) and returns when the item opens on the journey's
// schedule.
// coordinatorCoachAndParticipant are Megan, Nia and Aled, in the store.
func coordinatorCoachAndParticipant(ctx context.Context, t *testing.T, s fixture) (coordinator, coach, participant uuid.UUID) {
	t.Helper()
	coordinator, coach, participant = uuid.New(), uuid.New(), uuid.New()
	err := s.Store.CreatePeople(ctx, []store.Person{
		{ID: coordinator, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: participant, Role: store.RoleParticipant, GivenName: "Aled", FamilyName: "Powell", EmailAddress: "aled@example.org",
			LocalAuthority: "Newport", Theme: "communities"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return coordinator, coach, participant
}

func startAndWaitUntilOpen(t *testing.T, ctx context.Context, s fixture, intake, journey uuid.UUID, item string) {
	t.Helper()
	if _, err := s.Commands.Decide(ctx, intake, journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commands.RespondToOffer(ctx, journey, true); err != nil {
		t.Fatal(err)
	}
	err := starter.WaitFor(ctx, "the intake to count the acceptance", func() (bool, error) {
		var counts map[workflows.Status]int
		err := s.Workflows.QueryIntake(ctx, intake, workflows.QueryIntakeCounts, &counts)
		return counts[contract.StatusAccepted] == 1, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commands.StartIntake(ctx, intake); err != nil {
		t.Fatal(err)
	}
	var opens time.Time
	err = starter.WaitFor(ctx, "the journey to plan its schedule", func() (bool, error) {
		items, err := s.Views.JourneySchedule(ctx, journey)
		for _, it := range items {
			if it.ID == item {
				opens = it.OpensAt
			}
		}
		return !opens.IsZero(), err
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Until(opens))
}
