package starter

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// Notes are personal data: a request the journey refuses must not leave its
// notes behind, and a retried request must not store them twice.
func TestRefusedRequestLeavesNoNote(t *testing.T) {
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	coordinator, coach, participant := uuid.New(), uuid.New(), uuid.New()
	err := s.Store.CreatePeople(ctx, []store.Person{
		{ID: coordinator, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: participant, Role: store.RoleParticipant, GivenName: "Aled", FamilyName: "Powell", EmailAddress: "aled@example.org",
			LocalAuthority: "Newport", Theme: "communities"},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	in, err := s.CreateIntake(ctx, IntakeSpec{
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
		journey, err = s.Apply(ctx, in.ID, participant, coach)
		if err != nil && (!errors.Is(err, ErrRejected) || time.Now().After(deadline)) {
			t.Fatal(err)
		}
	}

	// The programme has not started, so there is no checkpoint to complete.
	c := Checkpoint{JourneyID: journey, CheckpointID: "checkpoint/1", CoachID: coach, Notes: "Going well.", Status: workflows.RAGGreen, RequestID: "req-1"}
	if _, err := s.CompleteCheckpoint(ctx, c); !errors.Is(err, ErrRejected) {
		t.Fatalf("completing a checkpoint before the programme: %v, want ErrRejected", err)
	}
	if _, err := s.Store.GetNote(ctx, uuid.NewSHA1(journey, []byte(c.RequestID))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused request's note is still in the store (%v)", err)
	}
}
