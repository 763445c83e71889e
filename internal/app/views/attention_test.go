package views_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// What needs a coordinator, judged against now from the store alone: a
// checkpoint past due (not one still to come) with its coach; two lab
// sessions missed (a third corrected to present does not count); an
// offer not yet answered; journeys accepted or under way without a coach;
// a message given up on, with why. Ended journeys and finished intakes
// need nobody.
func TestAttentionListsWhatNeedsACoordinator(t *testing.T) {
	ctx := t.Context()
	st := sqlitestore.OpenTest(t)
	c := apptest.NewCohort(t, st, "Cohort 1")
	now := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	seq := 0
	record := func(journey uuid.UUID, person store.Person, coach uuid.UUID, state contract.Status, typ, item string, checkpoints []store.Checkpoint, msgs ...store.Message) {
		t.Helper()
		seq++
		data := json.RawMessage(fmt.Sprintf(`{"item":%q}`, item))
		_, err := st.Record(ctx, store.Event{Key: fmt.Sprintf("a/%d", seq), IntakeID: c.Intake.ID, JourneyID: journey, Type: typ,
			OccurredAt: now.Add(-time.Duration(100-seq) * time.Hour), Data: data,
			Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: c.Intake.ID, PersonID: person.ID, CoachID: coach, State: state,
				Checkpoints: checkpoints, CheckpointsKnown: true}}, msgs...)
		if err != nil {
			t.Fatal(err)
		}
	}
	day := 24 * time.Hour
	late, absent, offered, uncoached, accepted, withdrawn := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	carys := c.Participant(t, "Carys", "Pritchard", "Cardiff", "decarbonisation")
	record(late, carys, c.Coach.ID, contract.StatusExperimenting, "journey.test", "",
		[]store.Checkpoint{{ID: "checkpoint/1", OpensAt: now.Add(-20 * day), DueAt: now.Add(-6 * day)}, {ID: "checkpoint/2", OpensAt: now.Add(-6 * day), DueAt: now.Add(8 * day)}})
	tom := c.Participant(t, "Tom", "Ashworth", "Newport", "communities")
	for _, ev := range []struct{ typ, item string }{{"attendance.absent", "adaption-lab/1"}, {"attendance.present", "adaption-lab/2"},
		{"attendance.absent", "adaption-lab/3"}, {"attendance.absent", "adaption-lab/4"}, {"attendance.present", "adaption-lab/4"}, {"attendance.absent", "procurement-lab/1"}} {
		record(absent, tom, c.Coach.ID, contract.StatusInLabs, ev.typ, ev.item, nil)
	}
	record(offered, c.Participant(t, "Gwen", "Davies", "Bridgend", "communities"), uuid.Nil, contract.StatusOffered, "journey.test", "", nil)
	record(uncoached, c.Participant(t, "Owain", "Lewis", "Torfaen", "communities"), uuid.Nil, contract.StatusInLabs, "journey.test", "", nil)
	record(accepted, c.Participant(t, "Ffion", "Rees", "Caerphilly", "communities"), uuid.Nil, contract.StatusAccepted, "journey.test", "", nil)
	rhys := c.Participant(t, "Rhys", "Owen", "Cardiff", "communities")
	record(withdrawn, rhys, uuid.Nil, contract.StatusWithdrawn, "journey.test", "",
		[]store.Checkpoint{{ID: "checkpoint/1", DueAt: now.Add(-6 * day)}},
		store.Message{Key: "m/1", IntakeID: c.Intake.ID, JourneyID: withdrawn, RecipientID: rhys.ID, Role: store.RoleParticipant,
			Template: "offer", Channel: "email", SendAt: now.Add(-2 * day)})
	if _, err := st.ClaimDue(ctx, "test", now, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkFailed(ctx, "test", "m/1", "550 5.1.1 no such mailbox"); err != nil {
		t.Fatal(err)
	}
	// A finished intake's journeys need nobody, whatever they say.
	done := apptest.NewCohort(t, st, "Cohort 0")
	gone := uuid.New()
	if _, err := st.Record(ctx, store.Event{Key: "done/1", IntakeID: done.Intake.ID, JourneyID: gone, Type: "journey.test",
		OccurredAt: now.Add(-day), IntakeStatus: store.IntakeFinished,
		Snapshot: &store.JourneySnapshot{JourneyID: gone, IntakeID: done.Intake.ID, PersonID: done.Participant(t, "Aled", "Powell", "Newport", "communities").ID,
			State: contract.StatusInLabs, Checkpoints: []store.Checkpoint{{ID: "checkpoint/1", DueAt: now.Add(-6 * day)}}}}); err != nil {
		t.Fatal(err)
	}

	v := views.New(nil, st)
	v.Now = func() time.Time { return now }
	a, err := v.Attention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Overdue) != 1 || a.Overdue[0].JourneyID != late || a.Overdue[0].CheckpointID != "checkpoint/1" ||
		a.Overdue[0].Coach.Name != "Elin Rowlands" || a.Overdue[0].Participant.Name != "Carys Pritchard" || a.Overdue[0].IntakeName != "Cohort 1" {
		t.Errorf("overdue: %+v", a.Overdue)
	}
	if len(a.Absences) != 1 || a.Absences[0].JourneyID != absent || a.Absences[0].Absences != 3 {
		t.Errorf("absences: %+v", a.Absences)
	}
	if len(a.Offers) != 1 || a.Offers[0].JourneyID != offered || !a.Offers[0].LapsesAt.IsZero() {
		t.Errorf("offers: %+v", a.Offers)
	}
	if len(a.NoCoach) != 2 || a.NoCoach[0].JourneyID == offered || a.NoCoach[1].JourneyID == offered {
		t.Errorf("without a coach: %+v", a.NoCoach)
	}
	if len(a.Failed) != 1 || a.Failed[0].Recipient.Name != "Rhys Owen" || a.Failed[0].Reason != "550 5.1.1 no such mailbox" || a.Failed[0].Template != "offer" {
		t.Errorf("failed: %+v", a.Failed)
	}
	if a.Empty() {
		t.Error("the list says it is empty")
	}
}
