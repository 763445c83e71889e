package store

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The helpers in this file check and normalise what callers hand to a Store.
// Both backends call them before touching the database, so the rules (and the
// error messages) are the same whichever database sits underneath.

// ErrInvalid marks input that can never be stored as given: retrying the same
// call will not help, so activities should fail it as non-retryable and the
// API should answer 400.
var ErrInvalid = errors.New("invalid input")

// ErrConflict marks a write that contradicts what is already stored, such as
// a person ID that exists with different details or an e-mail address that
// belongs to someone else.
var ErrConflict = errors.New("conflicts with stored data")

// Precision is the resolution at which the store keeps times (PostgreSQL's
// timestamptz resolution). Times come back in UTC, truncated to it.
const Precision = time.Microsecond

// StoredTime is t as the store keeps it: UTC, truncated to Precision.
func StoredTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(Precision)
}

// EmailKey is the case-folded form of an e-mail address that both backends
// index, so that look-ups and the uniqueness rule ignore case identically.
func EmailKey(addr string) string {
	return strings.ToLower(strings.TrimSpace(addr))
}

func validRole(r Role) bool {
	return r == RoleParticipant || r == RoleCoach || r == RoleCoordinator
}

// unknownRole is the problem with a role that validRole refuses.
func unknownRole(r Role) string {
	return fmt.Sprintf("role %q is not one of %q, %q, %q", r, RoleParticipant, RoleCoach, RoleCoordinator)
}

func validLanguage(l Language) bool {
	return l == LanguageWelsh || l == LanguageEnglish || l == LanguageUnknown
}

func validIntakeStatus(s IntakeStatus) bool {
	switch s {
	case IntakeDraft, IntakeOpen, IntakeClosed, IntakeStarted, IntakeFinished:
		return true
	}
	return false
}

func validMessageStatus(s MessageStatus) bool {
	return s == MessageQueued || s == MessageSent || s == MessageFailed
}

// ValidatePerson reports what is wrong with p, or nil. It checks the fields
// the system relies on: an ID, a known role, a plain e-mail address
// ("name@example.org", without a display name) and a known language.
func ValidatePerson(p Person) error {
	var problems []string
	if p.ID == uuid.Nil {
		problems = append(problems, "ID is missing")
	}
	if !validRole(p.Role) {
		problems = append(problems, unknownRole(p.Role))
	}
	email := strings.TrimSpace(p.EmailAddress)
	if email == "" {
		problems = append(problems, "e-mail address is missing")
	} else if !PlainAddress(email) {
		problems = append(problems, fmt.Sprintf("e-mail address %q is not a plain address such as name@example.org", p.EmailAddress))
	}
	if !validLanguage(p.Language) {
		problems = append(problems, unknownLanguage(p.Language))
	}
	for _, f := range []struct{ name, value string }{
		{"given name", p.GivenName}, {"family name", p.FamilyName},
		{"local authority", p.LocalAuthority}, {"theme", p.Theme},
	} {
		if problem := controlCharacter(f.name, f.value); problem != "" {
			problems = append(problems, problem)
		}
	}
	if !p.ErasedAt.IsZero() {
		// Only ErasePerson erases: a stored person with a name and an
		// address must never count as erased.
		problems = append(problems, "erased at is set (people are erased with ErasePerson, not created erased)")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return nil
}

// PlainAddress reports whether addr is a plain e-mail address such as
// name@example.org: one address, no display name, nothing around it. It
// is what a person's address must be, and what a message is sent to.
func PlainAddress(addr string) bool {
	a, err := mail.ParseAddress(addr)
	return err == nil && a.Address == addr && a.Name == ""
}

// controlCharacter is the problem with a field holding a control
// character (a line break, a tab, an escape, a line or paragraph
// separator, a bidirectional override…) or bytes that are not UTF-8, or
// "". A name goes into e-mail headers, where a line break makes every
// message to the person fail for good, and into pages, certificates and
// files, where a separator or an override shows it as something else.
// The value is not repeated: it is personal data, and the position is
// enough to find it.
func controlCharacter(field, value string) string {
	if !utf8.ValidString(value) {
		return fmt.Sprintf("%s is not UTF-8 text: save the file as UTF-8", field)
	}
	for i, r := range []rune(value) {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return fmt.Sprintf("%s has a control character (%U, a line break, tab, direction mark or the like) "+
				"at character %d: a name is one line of plain text", field, r, i+1)
		}
	}
	return ""
}

// unknownLanguage is the problem with a language that validLanguage refuses.
func unknownLanguage(l Language) string {
	return fmt.Sprintf("language %q is not %q, %q or empty (unknown: bilingual, Welsh first)", l, LanguageWelsh, LanguageEnglish)
}

// ValidateLanguage reports what is wrong with a correspondence language
// (SetLanguage), or nil, in the words ValidatePerson uses.
func ValidateLanguage(l Language) error {
	if !validLanguage(l) {
		return fmt.Errorf("%w: %s", ErrInvalid, unknownLanguage(l))
	}
	return nil
}

// PreparePeople validates a CreatePeople batch and returns the rows to
// insert: e-mail addresses trimmed, CreatedAt defaulted to now, times in UTC.
// A batch that names the same ID or e-mail address twice is rejected whole.
// Errors name the person by position in the batch and by ID.
func PreparePeople(people []Person, now time.Time) ([]Person, error) {
	out := make([]Person, len(people))
	byID := make(map[uuid.UUID]int, len(people))
	byEmail := make(map[string]int, len(people))
	for i, p := range people {
		if err := ValidatePerson(p); err != nil {
			return nil, fmt.Errorf("person %d (%s): %w", i, p.ID, err)
		}
		p.EmailAddress = strings.TrimSpace(p.EmailAddress)
		if j, dup := byID[p.ID]; dup {
			return nil, fmt.Errorf("person %d (%s): %w: the same ID is also person %d of this batch", i, p.ID, ErrInvalid, j)
		}
		key := EmailKey(p.EmailAddress)
		if j, dup := byEmail[key]; dup {
			return nil, fmt.Errorf("person %d (%s): %w: e-mail address %q is also used by person %d (%s) of this batch",
				i, p.ID, ErrInvalid, p.EmailAddress, j, people[j].ID)
		}
		byID[p.ID], byEmail[key] = i, i
		if p.CreatedAt.IsZero() {
			p.CreatedAt = now
		}
		p.CreatedAt = StoredTime(p.CreatedAt)
		out[i] = p
	}
	return out, nil
}

// SamePerson reports whether a and b have the same details, ignoring
// CreatedAt (which the store sets when the caller leaves it zero).
func SamePerson(a, b Person) bool {
	a.CreatedAt, b.CreatedAt = time.Time{}, time.Time{}
	a.EmailAddress, b.EmailAddress = strings.TrimSpace(a.EmailAddress), strings.TrimSpace(b.EmailAddress)
	return a == b
}

// PrepareIntake validates in and returns it as the store keeps it: Status
// defaulted to draft, CreatedAt to now, times in UTC.
func PrepareIntake(in Intake, now time.Time) (Intake, error) {
	var problems []string
	if in.ID == uuid.Nil {
		problems = append(problems, "ID is missing")
	}
	problems = append(problems, intakeProblems(in.Name, in.Capacity)...)
	if in.Status == "" {
		in.Status = IntakeDraft
	}
	if !validIntakeStatus(in.Status) {
		problems = append(problems, fmt.Sprintf("status %q is not a known intake status", in.Status))
	}
	if !in.OpensAt.IsZero() && !in.ClosesAt.IsZero() && in.ClosesAt.Before(in.OpensAt) {
		problems = append(problems, fmt.Sprintf("window closes (%s) before it opens (%s)",
			in.ClosesAt.Format(time.RFC3339), in.OpensAt.Format(time.RFC3339)))
	}
	if len(problems) > 0 {
		return Intake{}, fmt.Errorf("intake %s: %w: %s", in.ID, ErrInvalid, strings.Join(problems, "; "))
	}
	if in.CreatedAt.IsZero() {
		in.CreatedAt = now
	}
	in.OpensAt = StoredTime(in.OpensAt)
	in.ClosesAt = StoredTime(in.ClosesAt)
	in.StartsOn = StoredTime(in.StartsOn)
	in.CreatedAt = StoredTime(in.CreatedAt)
	return in, nil
}

// MaxIntakeNameLength is the longest intake name, in bytes: names head
// pages, e-mails and certificates.
const MaxIntakeNameLength = 200

// intakeProblems are what is wrong with an intake's name and capacity,
// the fields that can change after it is created.
func intakeProblems(name string, capacity int) []string {
	var problems []string
	switch name = strings.TrimSpace(name); {
	case name == "":
		problems = append(problems, "name is missing")
	case len(name) > MaxIntakeNameLength:
		problems = append(problems, fmt.Sprintf("name is longer than %d bytes", MaxIntakeNameLength))
	default:
		if problem := controlCharacter("name", name); problem != "" {
			problems = append(problems, problem)
		}
	}
	if capacity < 0 {
		problems = append(problems, fmt.Sprintf("capacity %d is negative", capacity))
	}
	return problems
}

// PrepareIntakeEdit validates an UpdateIntake of intake id and returns the
// name as the store keeps it (trimmed).
func PrepareIntakeEdit(id uuid.UUID, name string, capacity int) (string, error) {
	problems := intakeProblems(name, capacity)
	if id == uuid.Nil {
		problems = append([]string{"ID is missing"}, problems...)
	}
	if len(problems) > 0 {
		return "", fmt.Errorf("intake %s: %w: %s", id, ErrInvalid, strings.Join(problems, "; "))
	}
	return strings.TrimSpace(name), nil
}

// SameIntake reports whether a and b describe the same intake, ignoring
// Status (which events move on) and CreatedAt. Times are compared as instants.
func SameIntake(a, b Intake) bool {
	return a.ID == b.ID && a.Name == b.Name && a.ProgrammeID == b.ProgrammeID &&
		a.ProgrammeVersion == b.ProgrammeVersion && a.Capacity == b.Capacity &&
		a.CoordinatorID == b.CoordinatorID &&
		StoredTime(a.OpensAt).Equal(StoredTime(b.OpensAt)) &&
		StoredTime(a.ClosesAt).Equal(StoredTime(b.ClosesAt)) &&
		StoredTime(a.StartsOn).Equal(StoredTime(b.StartsOn))
}

// PrepareRecord validates an event and the messages it queues and returns
// them as the store keeps them. It fills what can be inferred (OccurredAt and
// RecordedAt default to now; the snapshot's intake, and each message's intake
// and journey, default to the event's; a message's channel to "email", its
// status to queued, its SendAt to now) and compacts Data. Messages come back
// sorted by key, so concurrent transactions lock outbox keys in one order.
func PrepareRecord(ev Event, msgs []Message, now time.Time) (Event, []Message, error) {
	var problems []string
	if strings.TrimSpace(ev.Key) == "" {
		problems = append(problems, "key is missing (it is what makes retries exactly-once)")
	}
	if ev.IntakeID == uuid.Nil {
		problems = append(problems, "intake ID is missing")
	}
	if ev.Type == "" {
		problems = append(problems, "type is missing")
	}
	if a := ev.Attempt; a != nil {
		if a.Stream == "" {
			problems = append(problems, "attempt's stream is missing")
		}
		if a.Seq < 1 {
			problems = append(problems, fmt.Sprintf("attempt's number in the stream is %d, not 1 or more", a.Seq))
		}
		if a.Fence < 0 {
			problems = append(problems, fmt.Sprintf("attempt's fence is %d, not 0 or more", a.Fence))
		}
	}
	if ev.IntakeStatus != "" && !validIntakeStatus(ev.IntakeStatus) {
		problems = append(problems, fmt.Sprintf("intake status %q is not a known intake status", ev.IntakeStatus))
	}
	if len(ev.Data) > 0 {
		var buf bytes.Buffer
		if err := json.Compact(&buf, ev.Data); err != nil {
			problems = append(problems, fmt.Sprintf("data is not valid JSON: %v", err))
		} else {
			ev.Data = json.RawMessage(buf.Bytes())
		}
	} else {
		ev.Data = nil
	}
	if s := ev.Snapshot; s != nil {
		snap := *s
		if snap.IntakeID == uuid.Nil {
			snap.IntakeID = ev.IntakeID
		}
		switch {
		case ev.JourneyID == uuid.Nil:
			problems = append(problems, "a snapshot needs a journey event: journey ID is missing")
		case snap.JourneyID != ev.JourneyID:
			problems = append(problems, fmt.Sprintf("snapshot is of journey %s, not of the event's journey %s", snap.JourneyID, ev.JourneyID))
		}
		if snap.IntakeID != ev.IntakeID {
			problems = append(problems, fmt.Sprintf("snapshot is of intake %s, not of the event's intake %s", snap.IntakeID, ev.IntakeID))
		}
		if snap.PersonID == uuid.Nil {
			problems = append(problems, "snapshot person ID is missing")
		}
		if snap.State == "" {
			problems = append(problems, "snapshot state is missing")
		}
		snap.NextDueAt = StoredTime(snap.NextDueAt)
		ev.Snapshot = &snap
	}
	if len(problems) > 0 {
		return Event{}, nil, fmt.Errorf("event %q: %w: %s", ev.Key, ErrInvalid, strings.Join(problems, "; "))
	}
	if ev.OccurredAt.IsZero() {
		ev.OccurredAt = now
	}
	ev.OccurredAt = StoredTime(ev.OccurredAt)
	ev.RecordedAt = StoredTime(now)
	ev.Seq = 0

	out := make([]Message, len(msgs))
	for i, m := range msgs {
		if m.IntakeID == uuid.Nil {
			m.IntakeID = ev.IntakeID
		}
		if m.JourneyID == uuid.Nil {
			m.JourneyID = ev.JourneyID
		}
		if m.Channel == "" {
			m.Channel = "email"
		}
		if m.Status == "" {
			m.Status = MessageQueued
		}
		if m.SendAt.IsZero() {
			m.SendAt = now
		}
		if m.CreatedAt.IsZero() {
			m.CreatedAt = now
		}
		var problems []string
		if strings.TrimSpace(m.Key) == "" {
			problems = append(problems, "key is missing")
		}
		if m.RecipientID == uuid.Nil {
			problems = append(problems, "recipient ID is missing")
		}
		if m.Template == "" {
			problems = append(problems, "template is missing")
		}
		if m.Role != "" && !validRole(m.Role) {
			problems = append(problems, unknownRole(m.Role))
		}
		if !validMessageStatus(m.Status) {
			problems = append(problems, fmt.Sprintf("status %q is not one of %q, %q, %q",
				m.Status, MessageQueued, MessageSent, MessageFailed))
		}
		if m.Revision < 0 {
			problems = append(problems, fmt.Sprintf("revision %d is negative", m.Revision))
		}
		if !m.ItemStartsAt.IsZero() && !m.ItemEndsAt.IsZero() && m.ItemEndsAt.Before(m.ItemStartsAt) {
			problems = append(problems, fmt.Sprintf("item ends (%s) before it starts (%s)",
				m.ItemEndsAt.Format(time.RFC3339), m.ItemStartsAt.Format(time.RFC3339)))
		}
		if len(problems) > 0 {
			return Event{}, nil, fmt.Errorf("event %q, message %d (%q): %w: %s", ev.Key, i, m.Key, ErrInvalid, strings.Join(problems, "; "))
		}
		m.SendAt = StoredTime(m.SendAt)
		m.CreatedAt = StoredTime(m.CreatedAt)
		m.ItemStartsAt = StoredTime(m.ItemStartsAt)
		m.ItemEndsAt = StoredTime(m.ItemEndsAt)
		// Delivery state is the store's to keep.
		m.Attempts, m.NextAttemptAt, m.LastError, m.SentAt, m.MessageID = 0, time.Time{}, "", time.Time{}, ""
		m.ClaimedBy, m.ClaimedUntil = "", time.Time{}
		out[i] = m
	}
	slices.SortStableFunc(out, func(a, b Message) int { return strings.Compare(a.Key, b.Key) })
	return ev, out, nil
}

// PrepareNote validates n and returns it as the store keeps it.
func PrepareNote(n Note, now time.Time) (Note, error) {
	var problems []string
	if n.ID == uuid.Nil {
		problems = append(problems, "ID is missing")
	}
	if n.AuthorID == uuid.Nil {
		problems = append(problems, "author ID is missing")
	}
	if strings.TrimSpace(n.Body) == "" {
		problems = append(problems, "body is empty")
	}
	if len(problems) > 0 {
		return Note{}, fmt.Errorf("note %s: %w: %s", n.ID, ErrInvalid, strings.Join(problems, "; "))
	}
	if n.CreatedAt.IsZero() {
		n.CreatedAt = now
	}
	n.CreatedAt = StoredTime(n.CreatedAt)
	return n, nil
}

// SameNote reports whether a and b have the same contents, ignoring CreatedAt.
func SameNote(a, b Note) bool {
	return a.ID == b.ID && a.AuthorID == b.AuthorID && a.JourneyID == b.JourneyID && a.Body == b.Body
}
