// Package privacy carries out people's rights over their data under UK
// GDPR: a copy of everything held about them (Article 15) and its erasure
// (Article 17). All personal data is in the store (people and notes);
// Temporal holds IDs only, so neither right needs a workflow.
package privacy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// Store is the store as this package reads and erases it.
type Store interface {
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
	GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error)
	ListIntakes(ctx context.Context) ([]store.Intake, error)
	JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]store.JourneySnapshot, error)
	JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]store.JourneySnapshot, error)
	JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error)
	NotesOfJourney(ctx context.Context, journeyID uuid.UUID) ([]store.Note, error)
	CertificateOf(ctx context.Context, journeyID uuid.UUID) (store.Certificate, error)
	ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error)
	ErasePerson(ctx context.Context, personID uuid.UUID, at time.Time) (store.PersonErasure, error)
}

// Service exports and erases people's data in its store.
type Service struct {
	Store Store
	// Now is the clock of the export's and the erasure's time.
	Now func() time.Time
}

// New returns the service over st, on the wall clock.
func New(st Store) *Service { return &Service{Store: st, Now: time.Now} }

// PersonExport is everything the store holds about one person, as a
// document to hand them. Its shape is its own, with camelCase names, so
// that it stays the same when the store's structs change.
type PersonExport struct {
	ExportedAt time.Time    `json:"exportedAt"`
	Person     PersonRecord `json:"person"`
	// Journeys are the person's own journeys as a participant, oldest first.
	Journeys []JourneyRecord `json:"journeys"`
	// NotesWritten are notes the person wrote on other people's journeys
	// (a coach's checkpoint notes).
	NotesWritten []NoteRecord `json:"notesWritten"`
	// Messages are the messages addressed to the person, queued or sent.
	Messages []MessageRecord `json:"messages"`
}

// PersonRecord is the person as stored.
type PersonRecord struct {
	ID             uuid.UUID `json:"id"`
	Role           string    `json:"role"`
	GivenName      string    `json:"givenName"`
	FamilyName     string    `json:"familyName"`
	Email          string    `json:"email"`
	LocalAuthority string    `json:"localAuthority,omitempty"`
	Theme          string    `json:"theme,omitempty"`
	// Language is "cy", "en", or empty for bilingual (Welsh first).
	Language  string    `json:"language" openapi:"enum=cy|en|" doc:"cy, en, or empty for bilingual (Welsh first)"`
	CreatedAt time.Time `json:"createdAt"`
	ErasedAt  time.Time `json:"erasedAt,omitzero"`
}

// JourneyRecord is one journey with its record.
type JourneyRecord struct {
	JourneyID  uuid.UUID       `json:"journeyId"`
	IntakeID   uuid.UUID       `json:"intakeId"`
	IntakeName string          `json:"intakeName"`
	CoachID    uuid.UUID       `json:"coachId,omitzero"`
	State      contract.Status `json:"state"`
	Phase      string          `json:"phase,omitempty"`
	Outcome    contract.Status `json:"outcome,omitempty"`
	// Events is the journey's event log (IDs and codes only).
	Events []EventRecord `json:"events"`
	// Notes are the notes on the journey: the person's plan and reflection,
	// their coach's checkpoint notes, a withdrawal note.
	Notes       []NoteRecord       `json:"notes"`
	Certificate *CertificateRecord `json:"certificate,omitempty"`
}

// EventRecord is one entry of a journey's event log.
type EventRecord struct {
	At   time.Time       `json:"at"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data,omitempty" openapi:"nullable" doc:"The event's IDs and codes, as recorded; null when it has none"`
}

// NoteRecord is a note's text and who wrote it when.
type NoteRecord struct {
	ID        uuid.UUID `json:"id"`
	JourneyID uuid.UUID `json:"journeyId"`
	AuthorID  uuid.UUID `json:"authorId"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
}

// MessageRecord is one message to the person. Its text is rendered from
// the template when it is sent, so the template and item say what it was.
type MessageRecord struct {
	JourneyID uuid.UUID `json:"journeyId,omitzero"`
	Template  string    `json:"template"`
	ItemID    string    `json:"itemId,omitempty"`
	ItemAt    time.Time `json:"itemAt,omitzero"`
	Channel   string    `json:"channel"`
	Status    string    `json:"status" openapi:"enum=queued|sent|failed"`
	SendAt    time.Time `json:"sendAt"`
	SentAt    time.Time `json:"sentAt,omitzero"`
	CreatedAt time.Time `json:"createdAt"`
}

// CertificateRecord is a completion certificate issued to the person.
type CertificateRecord struct {
	Code     string    `json:"code"`
	IssuedAt time.Time `json:"issuedAt"`
}

// Export gathers everything the store holds about personID.
func (s *Service) Export(ctx context.Context, personID uuid.UUID) (PersonExport, error) {
	p, err := s.Store.GetPerson(ctx, personID)
	if errors.Is(err, store.ErrNotFound) {
		return PersonExport{}, fmt.Errorf("%w: no person %s (check the ID with `infuse people list`)", apperr.ErrNotFound, personID)
	}
	if err != nil {
		return PersonExport{}, err
	}
	x := PersonExport{
		ExportedAt: s.Now(), Person: personRecord(p),
		Journeys: []JourneyRecord{}, NotesWritten: []NoteRecord{}, Messages: []MessageRecord{},
	}
	journeys, err := s.Store.JourneysOfPerson(ctx, personID)
	if err != nil {
		return x, err
	}
	for _, j := range journeys {
		jr, err := s.journeyRecord(ctx, j)
		if err != nil {
			return x, err
		}
		x.Journeys = append(x.Journeys, jr)
	}
	if x.NotesWritten, err = s.notesWrittenOnOthers(ctx, personID); err != nil {
		return x, err
	}
	msgs, err := s.Store.ListMessages(ctx, store.OutboxFilter{RecipientID: personID})
	if err != nil {
		return x, err
	}
	for _, m := range msgs {
		x.Messages = append(x.Messages, MessageRecord{
			JourneyID: m.JourneyID, Template: m.Template, ItemID: m.ItemID, ItemAt: m.ItemStartsAt, Channel: m.Channel,
			Status: string(m.Status), SendAt: m.SendAt, SentAt: m.SentAt, CreatedAt: m.CreatedAt,
		})
	}
	return x, nil
}

func personRecord(p store.Person) PersonRecord {
	return PersonRecord{
		ID: p.ID, Role: string(p.Role), GivenName: p.GivenName, FamilyName: p.FamilyName, Email: p.EmailAddress,
		LocalAuthority: p.LocalAuthority, Theme: p.Theme, Language: string(p.Language),
		CreatedAt: p.CreatedAt, ErasedAt: p.ErasedAt,
	}
}

func (s *Service) journeyRecord(ctx context.Context, j store.JourneySnapshot) (JourneyRecord, error) {
	jr := JourneyRecord{
		JourneyID: j.JourneyID, IntakeID: j.IntakeID, CoachID: j.CoachID,
		State: j.State, Phase: j.Phase, Outcome: j.Outcome, Events: []EventRecord{},
	}
	in, err := s.Store.GetIntake(ctx, j.IntakeID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return jr, err
	}
	jr.IntakeName = in.Name
	events, err := s.Store.JourneyEvents(ctx, j.JourneyID)
	if err != nil {
		return jr, err
	}
	for _, ev := range events {
		jr.Events = append(jr.Events, EventRecord{At: ev.OccurredAt, Type: ev.Type, Data: ev.Data})
	}
	notes, err := s.Store.NotesOfJourney(ctx, j.JourneyID)
	if err != nil {
		return jr, err
	}
	jr.Notes = noteRecords(notes, uuid.Nil)
	cert, err := s.Store.CertificateOf(ctx, j.JourneyID)
	switch {
	case err == nil:
		jr.Certificate = &CertificateRecord{Code: store.FormatCertificateCode(cert.Code), IssuedAt: cert.IssuedAt}
	case !errors.Is(err, store.ErrNotFound):
		return jr, err
	}
	return jr, nil
}

// notesWrittenOnOthers finds the notes a coach wrote on their participants'
// journeys. Only coaches write on journeys not their own.
func (s *Service) notesWrittenOnOthers(ctx context.Context, personID uuid.UUID) ([]NoteRecord, error) {
	journeys, err := s.Store.JourneysOfCoach(ctx, personID)
	if err != nil {
		return nil, err
	}
	out := []NoteRecord{}
	for _, j := range journeys {
		notes, err := s.Store.NotesOfJourney(ctx, j.JourneyID)
		if err != nil {
			return nil, err
		}
		out = append(out, noteRecords(notes, personID)...)
	}
	return out, nil
}

// noteRecords converts notes, only those by author unless author is uuid.Nil.
func noteRecords(notes []store.Note, author uuid.UUID) []NoteRecord {
	out := []NoteRecord{}
	for _, n := range notes {
		if author != uuid.Nil && n.AuthorID != author {
			continue
		}
		out = append(out, NoteRecord{ID: n.ID, JourneyID: n.JourneyID, AuthorID: n.AuthorID, Body: n.Body, CreatedAt: n.CreatedAt})
	}
	return out
}

// Erase erases personID's personal data for good (UK GDPR erasure):
// see store.Store.ErasePerson for what goes and what stays. Their journeys
// still count in dashboards and reports, shown as "(erased)". Erasing
// again changes nothing and reports zero counts.
//
// It refuses (apperr.ErrRejected) while the person still has a part in a running
// journey or intake: the journey would go on sending reminders and
// escalations to nobody, and a coordinator should decide what happens to it
// (withdraw the participant, assign another coach, hand the intake on) first.
func (s *Service) Erase(ctx context.Context, personID uuid.UUID) (store.PersonErasure, error) {
	if err := s.checkNothingRunning(ctx, personID); err != nil {
		return store.PersonErasure{}, err
	}
	e, err := s.Store.ErasePerson(ctx, personID, s.Now())
	if errors.Is(err, store.ErrNotFound) {
		return e, fmt.Errorf("%w: no person %s, so nothing was erased (check the ID with `infuse people list`)", apperr.ErrNotFound, personID)
	}
	if err != nil {
		return e, fmt.Errorf("erasing person %s: %w (nothing was erased; try again)", personID, apperr.StoreError(err))
	}
	return e, nil
}

// checkNothingRunning refuses an erasure while personID takes part in a
// journey or intake that has not ended, saying which and what to do.
func (s *Service) checkNothingRunning(ctx context.Context, personID uuid.UUID) error {
	var running []string
	own, err := s.Store.JourneysOfPerson(ctx, personID)
	if err != nil {
		return err
	}
	coached, err := s.Store.JourneysOfCoach(ctx, personID)
	if err != nil {
		return err
	}
	for _, j := range append(own, coached...) {
		if !j.State.Terminal() {
			what := "withdraw or defer the participant"
			if j.PersonID != personID {
				what = "assign another coach"
			}
			running = append(running, fmt.Sprintf("journey %s is %s (%s)", j.JourneyID, j.State, what))
		}
	}
	intakes, err := s.Store.ListIntakes(ctx)
	if err != nil {
		return err
	}
	for _, in := range intakes {
		if in.CoordinatorID == personID && in.Status != store.IntakeFinished {
			running = append(running, fmt.Sprintf("intake %s (%s) is %s and they coordinate it (wait until it finishes)", in.ID, in.Name, in.Status))
		}
	}
	if len(running) > 0 {
		return fmt.Errorf("%w: person %s still takes part in what is running, so nothing was erased: %s; then erase them",
			apperr.ErrRejected, personID, strings.Join(running, "; "))
	}
	return nil
}
