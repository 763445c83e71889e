package views

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/calendar"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The tests share one Temporal server, a namespace each (testenv).
func TestMain(m *testing.M) { testenv.Main(m) }

// world is the views with the commands that make what they show, on a
// real in-process Temporal server with the real worker and a SQLite store.
type world struct {
	Commands  *commands.Service
	Views     *Service
	Workflows *starter.Workflows
	Store     store.Store
}

func withTemporal(t *testing.T) world {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	w := starter.New(testenv.Start(t, st).GetDefaultClient())
	return world{Commands: commands.New(w, st), Views: New(w, st), Workflows: w, Store: st}
}

// On a real server: two participants with different coaches, through to
// the start of the programme. Each coach sees their own participant only;
// nothing is open yet; the participant's calendar has every session at
// its Europe/London time and follows a reschedule.
func TestCoachInboxAndCalendarOfAStartedIntake(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	coordinator, coachA, coachB, p1, p2 := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	err := s.Store.CreatePeople(ctx, []store.Person{
		{ID: coordinator, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
		{ID: coachA, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: coachB, Role: store.RoleCoach, GivenName: "Gareth", FamilyName: "Hughes", EmailAddress: "gareth@example.org"},
		{ID: p1, Role: store.RoleParticipant, GivenName: "Aled", FamilyName: "Powell", EmailAddress: "aled@example.org",
			LocalAuthority: "Newport", Theme: "communities", Language: store.LanguageWelsh},
		{ID: p2, Role: store.RoleParticipant, GivenName: "Emma", FamilyName: "Clarke", EmailAddress: "emma@example.org",
			LocalAuthority: "Bridgend", Theme: "decarbonisation", Language: store.LanguageEnglish},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	in, err := s.Commands.CreateIntake(ctx, commands.IntakeSpec{
		Name: "Cohort 9", CoordinatorID: coordinator, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	j1 := startJourney(ctx, t, s, in.ID, p1, coachA)
	j2 := startJourney(ctx, t, s, in.ID, p2, coachB)
	err = starter.WaitFor(ctx, "the intake to count both acceptances", func() (bool, error) {
		var counts map[workflows.Status]int
		err := s.Workflows.QueryIntake(ctx, in.ID, workflows.QueryIntakeCounts, &counts)
		return counts[contract.StatusAccepted] == 2, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commands.StartIntake(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	// Scheduled, as the intake knows it: it tells only journeys it knows to
	// be scheduled of a moved session, and learns of each by signal a moment
	// after the store does. (A move in that moment is lost for the journey:
	// a race between people acting at once, for issue 8.)
	err = starter.WaitFor(ctx, "both journeys to be scheduled", func() (bool, error) {
		js, err := s.Store.ListJourneys(ctx, in.ID)
		if err != nil || len(js) != 2 || js[0].State != contract.StatusAwaitingStart || js[1].State != js[0].State {
			return false, err
		}
		var counts map[workflows.Status]int
		err = s.Workflows.QueryIntake(ctx, in.ID, workflows.QueryIntakeCounts, &counts)
		return counts[contract.StatusAwaitingStart] == 2, err
	})
	if err != nil {
		t.Fatal(err)
	}

	for coach, journey := range map[uuid.UUID]uuid.UUID{coachA: j1, coachB: j2} {
		inbox, err := s.Views.CoachInbox(ctx, coach)
		if err != nil {
			t.Fatal(err)
		}
		if len(inbox.Journeys) != 1 || inbox.Journeys[0].JourneyID != journey || inbox.Journeys[0].Participant.Name == "" ||
			inbox.Journeys[0].IntakeName != "Cohort 9" || len(inbox.Open) != 0 || len(inbox.Unavailable) != 0 {
			t.Errorf("inbox of %s = %+v, want journey %s only and nothing open", inbox.Coach.Name, inbox, journey)
		}
	}
	if _, err := s.Views.CoachInbox(ctx, p1); !errors.Is(err, apperr.ErrInvalid) {
		t.Errorf("inbox of a participant: %v, want apperr.ErrInvalid", err)
	}
	// Four months on, the live view's checkpoints (as the workflow's
	// schedule has them) come up in the inbox: checkpoint/1 overdue once
	// checkpoint/2 has opened.
	var v workflows.JourneyView
	if err := s.Workflows.QueryJourney(ctx, j1, workflows.QueryState, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Checkpoints) < 2 {
		t.Fatalf("the journey has %d checkpoints, want the programme's six", len(v.Checkpoints))
	}
	later := v.Checkpoints[1].OpensAt.Add(time.Hour)
	open := openCheckpoints(viewCheckpoints(v), coachA, PersonSummary{}, later)
	if len(open) != 2 || open[0].CheckpointID != "checkpoint/1" || !open[0].Overdue || open[1].Overdue {
		t.Errorf("open at %s: %+v", later, open)
	}

	sessions := calendarSessions(ctx, t, s, j1)
	if len(sessions) != 12 {
		t.Fatalf("%d sessions in the calendar, want 12", len(sessions))
	}
	first := sessions["adaption-lab/1"]
	if first.tzid != calendar.TZID || !strings.HasSuffix(first.start, "T100000") || !strings.HasSuffix(first.end, "T130000") ||
		first.summary != "Labordy Addasu: sesiwn 1" || first.sequence != "0" {
		t.Errorf("first session = %+v, want 10:00–13:00 Europe/London, in Welsh", first)
	}

	// Move adaption-lab/2 to 14:00 the next day: the calendar follows, with
	// a higher SEQUENCE so calendars take the new time.
	old, _ := time.ParseInLocation("20060102T150405", sessions["adaption-lab/2"].start, programme.London)
	moved := time.Date(old.Year(), old.Month(), old.Day()+1, 14, 0, 0, 0, programme.London)
	if err := s.Commands.RescheduleSession(ctx, in.ID, "adaption-lab/2", moved); err != nil {
		t.Fatal(err)
	}
	err = starter.WaitFor(ctx, "the calendar to show the moved session", func() (bool, error) {
		sessions = calendarSessions(ctx, t, s, j1)
		return sessions["adaption-lab/2"].sequence == "1", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := sessions["adaption-lab/2"].start; got != moved.Format("20060102T150405") {
		t.Errorf("moved session starts %s, want %s", got, moved.Format("20060102T150405"))
	}
}

// startJourney applies for person with coach, offers a place and accepts it.
func startJourney(ctx context.Context, t *testing.T, s world, intakeID, person, coach uuid.UUID) uuid.UUID {
	t.Helper()
	var journey uuid.UUID
	err := starter.WaitFor(ctx, "the intake to open", func() (bool, error) {
		var err error
		journey, err = s.Commands.Apply(ctx, intakeID, person, coach)
		if errors.Is(err, apperr.ErrRejected) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commands.Decide(ctx, intakeID, journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	err = starter.WaitFor(ctx, "the offer", func() (bool, error) {
		_, err := s.Commands.RespondToOffer(ctx, journey, true)
		if errors.Is(err, apperr.ErrRejected) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return journey
}

type calendarEntry struct{ tzid, start, end, summary, sequence string }

// calendarSessions parses the journey's calendar and returns its sessions
// by item ID, checking every UID is the e-mailed invites'.
func calendarSessions(ctx context.Context, t *testing.T, s world, journey uuid.UUID) map[string]calendarEntry {
	t.Helper()
	b, err := s.Views.JourneyCalendar(ctx, journey)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the calendar does not parse: %v\n%s", err, b)
	}
	out := map[string]calendarEntry{}
	checkpoints := 0
	for _, ev := range cal.Events() {
		item, ok := strings.CutSuffix(ev.Id(), "."+journey.String()+"@infuse-journeys")
		if !ok || ev.Id() != calendar.UID(journey.String(), item) {
			t.Errorf("UID %q is not the invites' UID for journey %s", ev.Id(), journey)
		}
		if strings.HasPrefix(item, "checkpoint/") {
			checkpoints++
			continue
		}
		start, end := ev.GetProperty(ics.ComponentPropertyDtStart), ev.GetProperty(ics.ComponentPropertyDtEnd)
		e := calendarEntry{start: start.Value, end: end.Value, summary: ev.GetProperty(ics.ComponentPropertySummary).Value,
			sequence: ev.GetProperty(ics.ComponentPropertySequence).Value}
		if tz := start.ICalParameters["TZID"]; len(tz) == 1 {
			e.tzid = tz[0]
		}
		out[item] = e
	}
	if checkpoints != 6 {
		t.Errorf("%d checkpoints in the calendar, want 6", checkpoints)
	}
	return out
}
