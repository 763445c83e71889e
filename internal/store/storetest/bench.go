package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// BenchmarkRecord measures Record as a journey's workflow calls it: one
// event after another, each with a snapshot and a message, on journeys of
// 20 events each. "unfenced" records events without an attempt (as an
// activity does once its command is in the history); "fenced" records
// them with one (as a local activity does), each a new event at its
// stream's head: the common case, which drops nothing. A backend's
// _test.go calls it with a new store.
func BenchmarkRecord(b *testing.B, s store.Store) {
	ctx := context.Background()
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1,
		Capacity: 20, Status: store.IntakeOpen}
	if err := s.CreateIntake(ctx, in); err != nil {
		b.Fatal(err)
	}
	b.Run("unfenced", func(b *testing.B) { recordJourneys(b, s, in, false) })
	b.Run("fenced", func(b *testing.B) { recordJourneys(b, s, in, true) })
	// A retry's event replacing a failed attempt's, with its snapshot,
	// facts and message: the rare case. Each op is two Records, the failed
	// attempt's (a fenced event at the head) and the retry's.
	b.Run("fenced-replace", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			journey, person := uuid.New(), uuid.New()
			for _, fence := range []int64{store.FenceOf(0, 3, 1), store.FenceOf(0, 3, 2)} {
				ev := store.Event{Key: journey.String() + "/1", IntakeID: in.ID, JourneyID: journey,
					Type: "attendance.present", OccurredAt: base, Data: json.RawMessage(fmt.Sprintf(`{"item":"lab/%d"}`, fence)),
					Snapshot: &store.JourneySnapshot{JourneyID: journey, PersonID: person, State: "in_labs", Phase: "labs"},
					Attempt:  &store.TaskAttempt{Stream: "journey/" + journey.String(), Seq: 1, Fence: fence}}
				m := store.Message{Key: fmt.Sprintf("%s/%d", journey, fence), RecipientID: person, Role: store.RoleParticipant,
					Template: "session.reminder.7d", SendAt: base}
				if _, err := s.Record(ctx, ev, m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

// recordJourneys is BenchmarkRecord's unfenced or fenced run.
func recordJourneys(b *testing.B, s store.Store, in store.Intake, fenced bool) {
	ctx := context.Background()
	var journey uuid.UUID
	person := uuid.New()
	for i := 0; b.Loop(); i++ {
		n := i%20 + 1
		if n == 1 {
			journey = uuid.New()
		}
		ev := store.Event{Key: fmt.Sprintf("%s/%d", journey, n), IntakeID: in.ID, JourneyID: journey,
			Type: "attendance.present", OccurredAt: base, Data: json.RawMessage(`{"item":"lab/1"}`),
			Snapshot: &store.JourneySnapshot{JourneyID: journey, PersonID: person, State: "in_labs", Phase: "labs"}}
		if fenced {
			ev.Attempt = &store.TaskAttempt{Stream: "journey/" + journey.String(), Seq: int64(n), Fence: store.FenceOf(0, int64(3*n), 1)}
		}
		m := store.Message{Key: ev.Key + "/reminder", RecipientID: person, Role: store.RoleParticipant,
			Template: "session.reminder.7d", SendAt: base.Add(time.Duration(n) * time.Hour)}
		if _, err := s.Record(ctx, ev, m); err != nil {
			b.Fatal(err)
		}
	}
}
