// Package apptest builds what the application layer's tests read: an
// intake with people and journeys recorded in a store the way the
// workflows record them, without Temporal. It depends on the store only,
// so the tests of every application package (views' and commands' among them)
// can share it.
package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Recorder is the store as a cohort writes it.
type Recorder interface {
	CreatePeople(ctx context.Context, people []store.Person) error
	CreateIntake(ctx context.Context, in store.Intake) error
	Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error)
}

// Cohort is a store-only intake with its coordinator and coach, to which a
// test adds participants and records their journeys' events, each carrying
// the snapshot the workflows would give it.
type Cohort struct {
	Intake      store.Intake
	Coordinator store.Person
	Coach       store.Person
	st          Recorder
	seq         int
}

// NewCohort records an open intake called name, with a coordinator and a
// coach whose addresses are made from name.
func NewCohort(t testing.TB, st Recorder, name string) *Cohort {
	t.Helper()
	// Addresses from the name's letters and digits, whatever else it holds.
	local := strings.ToLower(strings.Map(func(r rune) rune {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return r
		}
		return -1
	}, name))
	c := &Cohort{st: st,
		Coordinator: store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells",
			EmailAddress: "megan." + local + "@example.org"},
		Coach: store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Elin", FamilyName: "Rowlands",
			EmailAddress: "elin." + local + "@example.org"},
	}
	ctx := context.Background()
	if err := st.CreatePeople(ctx, []store.Person{c.Coordinator, c.Coach}); err != nil {
		t.Fatal(err)
	}
	c.Intake = store.Intake{ID: uuid.New(), Name: name, ProgrammeID: "infuse", ProgrammeVersion: 1,
		CoordinatorID: c.Coordinator.ID, Capacity: 20, Status: store.IntakeOpen,
		OpensAt: time.Now(), ClosesAt: time.Now().Add(24 * time.Hour), StartsOn: time.Now().Add(72 * time.Hour)}
	if err := st.CreateIntake(ctx, c.Intake); err != nil {
		t.Fatal(err)
	}
	return c
}

// Participant stores a participant of the authority and theme.
func (c *Cohort) Participant(t testing.TB, given, family, la, theme string) store.Person {
	t.Helper()
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: given, FamilyName: family,
		EmailAddress: strings.ToLower(given+"."+family) + "@example.org", LocalAuthority: la, Theme: theme}
	if err := c.st.CreatePeople(context.Background(), []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Record appends an event of journey for person with the cohort's coach;
// item, if any, is the schedule item it is about.
func (c *Cohort) Record(t testing.TB, journey uuid.UUID, person store.Person, typ, item string, state, outcome contract.Status, msgs ...store.Message) {
	t.Helper()
	c.seq++
	data := json.RawMessage(`{}`)
	if item != "" {
		data = json.RawMessage(fmt.Sprintf(`{"item":%q}`, item))
	}
	_, err := c.st.Record(context.Background(), store.Event{
		Key: fmt.Sprintf("test/%s/%d", c.Intake.ID, c.seq), IntakeID: c.Intake.ID, JourneyID: journey, Type: typ,
		OccurredAt: time.Date(2021, 10, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(c.seq) * time.Hour), Data: data,
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: c.Intake.ID, PersonID: person.ID, CoachID: c.Coach.ID,
			State: state, Outcome: outcome},
	}, msgs...)
	if err != nil {
		t.Fatal(err)
	}
}

// ThreeJourneys records a completed journey (Cardiff, decarbonisation,
// two sessions attended: a third was recorded present, then absent), a
// withdrawn one (Cardiff, communities) and one in the labs (Newport).
func (c *Cohort) ThreeJourneys(t testing.TB) (people []store.Person, journeys []uuid.UUID) {
	people = []store.Person{
		c.Participant(t, "Carys", "Pritchard", "Cardiff", "decarbonisation"),
		c.Participant(t, "Tom", "Ashworth", "Cardiff", "communities"),
		c.Participant(t, "Gwenllïan", "Evans", "Newport", "decarbonisation"),
	}
	journeys = []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	c.Record(t, journeys[0], people[0], "programme.scheduled", "", "awaiting_start", "")
	c.Record(t, journeys[0], people[0], "attendance.present", "adaption-lab/1", "in_labs", "")
	c.Record(t, journeys[0], people[0], "attendance.present", "adaption-lab/2", "in_labs", "")
	c.Record(t, journeys[0], people[0], "attendance.present", "adaption-lab/3", "in_labs", "")
	c.Record(t, journeys[0], people[0], "attendance.absent", "adaption-lab/3", "in_labs", "")
	c.Record(t, journeys[0], people[0], "checkpoint.completed", "checkpoint/1", "experimenting", "")
	c.Record(t, journeys[0], people[0], "journey.completed", "", "completed", "completed")
	c.Record(t, journeys[1], people[1], "journey.withdrawn", "", "withdrawn", "withdrawn")
	c.Record(t, journeys[2], people[2], "phase.started", "", "in_labs", "")
	return people, journeys
}
