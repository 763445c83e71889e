package notify_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

type fixture struct {
	st                         store.Store
	c                          *notify.Composer
	intake, journey            uuid.UUID
	participant, coach, coordr store.Person
}

func newFixture(t *testing.T, participantLang store.Language) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{st: sqlitestore.OpenTest(t), intake: uuid.New(), journey: uuid.New()}
	f.participant = store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Siân", FamilyName: "O'Brien",
		EmailAddress: "sian@example.org", LocalAuthority: "Newport", Theme: "communities", Language: participantLang}
	f.coach = store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org", Language: store.LanguageEnglish}
	f.coordr = store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"}
	must(t, f.st.CreatePeople(ctx, []store.Person{f.participant, f.coach, f.coordr}))
	must(t, f.st.CreateIntake(ctx, store.Intake{ID: f.intake, Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: at(2021, 8, 16, 8), ClosesAt: at(2021, 9, 13, 16), StartsOn: at(2021, 9, 30, 23), Capacity: 20,
		CoordinatorID: f.coordr.ID, Status: store.IntakeStarted}))
	_, err := f.st.Record(ctx, store.Event{Key: "j/1", IntakeID: f.intake, JourneyID: f.journey, Type: "programme.scheduled",
		OccurredAt: at(2021, 9, 27, 9), Snapshot: &store.JourneySnapshot{JourneyID: f.journey, IntakeID: f.intake,
			PersonID: f.participant.ID, CoachID: f.coach.ID, State: "awaiting_start"}})
	must(t, err)
	f.c = &notify.Composer{Store: f.st, From: delivery.Address{Name: "Infuse", Address: "infuse@example.org"}}
	return f
}

func at(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f fixture) session(template string, to store.Person, role store.Role) store.Message {
	return store.Message{Key: uuid.NewString(), IntakeID: f.intake, JourneyID: f.journey, RecipientID: to.ID, Role: role,
		Template: template, ItemID: "adaption-lab/2", ItemStartsAt: at(2021, 10, 8, 9), ItemEndsAt: at(2021, 10, 8, 12),
		SendAt: at(2021, 10, 1, 9), Revision: 1}
}

// A Welsh speaker's session reminder is in Welsh, addressed to them, with
// the session's calendar invite carrying the revision as SEQUENCE.
func TestSessionReminderInWelshCarriesInvite(t *testing.T) {
	f := newFixture(t, store.LanguageWelsh)
	e, err := f.c.Compose(context.Background(), f.session("session-reminder-week", f.participant, store.RoleParticipant))
	must(t, err)
	if e.To.Address != "sian@example.org" || e.To.Name != "Siân O'Brien" {
		t.Errorf("to %+v", e.To)
	}
	if e.Headers["Content-Language"] != "cy" || !strings.Contains(e.Text, "Hydref") || strings.Contains(e.Text, "October") {
		t.Errorf("not Welsh only (Content-Language %q):\n%s", e.Headers["Content-Language"], e.Text)
	}
	if len(e.Attachments) != 1 {
		t.Fatalf("%d attachments, want the invite", len(e.Attachments))
	}
	ics := string(e.Attachments[0].Data)
	for _, want := range []string{"METHOD:REQUEST", "SEQUENCE:1", "DTSTART;TZID=Europe/London:20211008T100000", "Labordy Addasu", "mailto:sian@example.org"} {
		if !strings.Contains(ics, want) {
			t.Errorf("invite lacks %q:\n%s", want, ics)
		}
	}
}

// A cancellation carries METHOD:CANCEL; a reminder after the session has
// no invite at all.
func TestCancellationAndPastSessions(t *testing.T) {
	f := newFixture(t, store.LanguageUnknown)
	m := f.session("session-cancelled", f.participant, store.RoleParticipant)
	m.Cancels, m.Revision = true, 2
	e, err := f.c.Compose(context.Background(), m)
	must(t, err)
	if len(e.Attachments) != 1 || !strings.Contains(string(e.Attachments[0].Data), "METHOD:CANCEL") ||
		!strings.Contains(e.Attachments[0].ContentType, "method=CANCEL") {
		t.Errorf("cancellation attachments: %+v", e.Attachments)
	}
	if !strings.HasPrefix(e.Headers["Content-Language"], "cy") {
		t.Errorf("unknown preference not bilingual Welsh first: %q", e.Headers["Content-Language"])
	}
	late := f.session("session-absence", f.participant, store.RoleParticipant)
	late.SendAt = at(2021, 10, 8, 14)
	e, err = f.c.Compose(context.Background(), late)
	must(t, err)
	if len(e.Attachments) != 0 {
		t.Errorf("a follow-up after the session carries an invite")
	}
}

// A coach's reminder names the participant; no invite goes to the coach.
func TestCoachMessageNamesParticipant(t *testing.T) {
	f := newFixture(t, store.LanguageWelsh)
	m := f.session("checkpoint-reminder", f.coach, store.RoleCoach)
	m.ItemID, m.ItemStartsAt, m.ItemEndsAt = "checkpoint/1", at(2022, 1, 17, 17), at(2022, 1, 17, 17)
	e, err := f.c.Compose(context.Background(), m)
	must(t, err)
	if !strings.Contains(e.Text, "Siân O'Brien") || e.Headers["Content-Language"] != "en" || len(e.Attachments) != 0 {
		t.Errorf("coach message (language %q, %d attachments):\n%s", e.Headers["Content-Language"], len(e.Attachments), e.Text)
	}
}

// A recipient erased from the store fails the message for good.
func TestErasedRecipientIsPermanent(t *testing.T) {
	f := newFixture(t, store.LanguageEnglish)
	m := f.session("session-reminder-day", store.Person{ID: uuid.New()}, store.RoleParticipant)
	_, err := f.c.Compose(context.Background(), m)
	if err == nil || delivery.IsTemporary(err) {
		t.Fatalf("compose for an unknown recipient: %v, want a permanent failure", err)
	}
	var de *delivery.Error
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "no longer in the store") {
		t.Errorf("error %v does not say the recipient is gone", err)
	}
}

// An offer tells the applicant, in their language, by when to answer.
func TestOfferSaysWhenItLapses(t *testing.T) {
	f := newFixture(t, store.LanguageEnglish)
	m := store.Message{Key: uuid.NewString(), IntakeID: f.intake, JourneyID: f.journey, RecipientID: f.participant.ID,
		Role: store.RoleParticipant, Template: "offer", ItemID: "offer",
		ItemStartsAt: at(2021, 9, 21, 16), ItemEndsAt: at(2021, 9, 21, 16), SendAt: at(2021, 9, 14, 9)}
	e, err := f.c.Compose(context.Background(), m)
	must(t, err)
	if !strings.Contains(e.Text, "Tuesday 21 September 2021 at 17:00") {
		t.Errorf("offer does not give its reply-by time (17:00 London):\n%s", e.Text)
	}
}
