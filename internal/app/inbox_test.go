package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The inbox is answered from the store's projection: with no Temporal at
// all, a journey whose projection carries its checkpoints lists those open
// now (overdue judged against now, not-yet-open and paused ones left out),
// and only a journey projected before checkpoints were carried is asked of
// its workflow (here unreachable, so it is listed as unavailable).
func TestCoachInboxReadsTheProjection(t *testing.T) {
	ctx := t.Context()
	s := storeOnly(t) // no Temporal client: any query fails
	now := time.Date(2022, 2, 14, 12, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	day := 24 * time.Hour
	coach, coordinator := uuid.New(), uuid.New()
	people := []store.Person{
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: coordinator, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
	}
	participant := func(name string) uuid.UUID {
		id := uuid.New()
		people = append(people, store.Person{ID: id, Role: store.RoleParticipant, GivenName: name, FamilyName: "Powell",
			EmailAddress: strings.ToLower(name) + "@example.org", LocalAuthority: "Newport", Theme: "communities"})
		return id
	}
	pa, pb, pc, pd := participant("Aled"), participant("Bethan"), participant("Carys"), participant("Dafydd")
	if err := s.Store.CreatePeople(ctx, people); err != nil {
		t.Fatal(err)
	}
	in := store.Intake{ID: uuid.New(), Name: "Cohort 3", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: coordinator, Status: store.IntakeStarted}
	if err := s.Store.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	cp := func(id string, opens, due time.Duration) store.Checkpoint {
		return store.Checkpoint{ID: id, OpensAt: now.Add(opens), DueAt: now.Add(due)}
	}
	record := func(person uuid.UUID, state workflows.Status, known bool, cs ...store.Checkpoint) uuid.UUID {
		journey := uuid.New()
		_, err := s.Store.Record(ctx, store.Event{Key: journey.String() + "/1", IntakeID: in.ID, JourneyID: journey,
			Type: "journey.changed", OccurredAt: now.Add(-30 * day), Snapshot: &store.JourneySnapshot{
				JourneyID: journey, IntakeID: in.ID, PersonID: person, CoachID: coach, State: state,
				Checkpoints: cs, CheckpointsKnown: known}})
		if err != nil {
			t.Fatal(err)
		}
		return journey
	}
	a := record(pa, contract.StatusExperimenting, true,
		cp("checkpoint/2", -20*day, -6*day), cp("checkpoint/3", -6*day, 8*day), cp("checkpoint/4", 8*day, 22*day))
	record(pb, contract.StatusPaused, true, cp("checkpoint/1", -20*day, -10*day))
	old := record(pc, contract.StatusInLabs, false)
	record(pd, contract.StatusExperimenting, true) // none left

	inbox, err := s.Views.CoachInbox(ctx, coach)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, it := range inbox.Open {
		got = append(got, fmt.Sprintf("%s %s %s overdue=%v", it.Participant.Name, it.JourneyID, it.CheckpointID, it.Overdue))
	}
	want := []string{
		fmt.Sprintf("Aled Powell %s checkpoint/2 overdue=true", a),
		fmt.Sprintf("Aled Powell %s checkpoint/3 overdue=false", a),
	}
	if !slices.Equal(got, want) {
		t.Errorf("open from the projection:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(inbox.Journeys) != 4 {
		t.Errorf("inbox lists %d journeys, want the coach's 4", len(inbox.Journeys))
	}
	if len(inbox.Unavailable) != 1 || inbox.Unavailable[0].JourneyID != old || inbox.Unavailable[0].Reason != views.WorkflowUnavailable {
		t.Errorf("unavailable = %+v; want only journey %s, whose projection does not know its checkpoints (so its workflow was asked)",
			inbox.Unavailable, old)
	}
}
