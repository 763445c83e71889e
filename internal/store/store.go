// Package store keeps the business record of Infuse Journeys: people (the only
// place personal data lives, so it can be erased and exported), intakes, the
// append-only domain event log, the projections built from it for dashboards,
// and the outbox of messages waiting to be delivered.
//
// Temporal histories are immutable and expire after namespace retention, so
// anything people must be able to read, correct, erase or report on lives here.
// One interface, written once (internal/store/internal/sqlstore: the queries in SQL
// files, the logic in Go), on two databases: internal/store/pgstore (PostgreSQL
// through pgx, for production) and internal/store/sqlitestore (pure-Go SQLite, the
// embedded default). Both pass the conformance suite in internal/store/storetest.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/workflows/contract"
)

// ErrNotFound is returned when a looked-up row does not exist.
var ErrNotFound = errors.New("not found")

// Unavailable says whether err means the store cannot serve the call just
// now, though the call may work later: its server could not be reached or
// is not serving (a connection refused or cut, the server shutting down,
// starting or in recovery: SQLSTATE class 08, 57P01-57P03), or it has run
// out of room (a full disk: SQLITE_FULL, or SQLSTATE class 53, the server
// out of disk, memory or connections). A context's deadline or
// cancellation is not that (it is the caller's own), though Go counts it
// a net.Error.
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	var netErr net.Error
	var stated interface{ SQLState() string } // pgconn.PgError, without tying this package to pgx
	if errors.As(err, &stated) {
		code := stated.SQLState()
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "53") ||
			code == "57P01" || code == "57P02" || code == "57P03"
	}
	var coded interface{ Code() int } // modernc.org/sqlite's Error
	if errors.As(err, &coded) {
		return coded.Code()&0xff == sqliteFull // the primary code, under an extended one
	}
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF)
}

// sqliteFull is SQLite's SQLITE_FULL: the disk, or the database's size
// limit, is full.
const sqliteFull = 13

// Role is what a person does in the programme.
type Role string

const (
	RoleParticipant Role = "participant"
	RoleCoach       Role = "coach"
	RoleCoordinator Role = "coordinator"
)

// Language is a person's recorded correspondence preference. LanguageUnknown
// means "send bilingual, Welsh first" (Welsh Language Standards).
type Language string

const (
	LanguageWelsh   Language = "cy"
	LanguageEnglish Language = "en"
	LanguageUnknown Language = ""
)

// Person is a participant, coach or coordinator. All personal data in the
// system is on this struct (and in Note); everything else refers to people by ID.
type Person struct {
	ID             uuid.UUID
	Role           Role
	GivenName      string
	FamilyName     string
	EmailAddress   string
	LocalAuthority string // one of the ten Cardiff Capital Region authorities
	Theme          string // "decarbonisation" or "communities"; empty for staff
	Language       Language
	CreatedAt      time.Time
	// ErasedAt is when the person's data was erased (ErasePerson); zero
	// for everyone else. An erased person has no name or address.
	ErasedAt time.Time
}

// IntakeStatus is where an intake is in its life.
type IntakeStatus string

const (
	IntakeDraft    IntakeStatus = "draft"    // created, window not yet open
	IntakeOpen     IntakeStatus = "open"     // accepting applications
	IntakeClosed   IntakeStatus = "closed"   // window closed, decisions under way
	IntakeStarted  IntakeStatus = "started"  // programme running
	IntakeFinished IntakeStatus = "finished" // every journey has ended
)

// Intake is one cohort of the programme.
type Intake struct {
	ID               uuid.UUID
	Name             string // e.g. "Cohort 1"; not personal data
	ProgrammeID      string
	ProgrammeVersion int
	OpensAt          time.Time
	ClosesAt         time.Time
	StartsOn         time.Time // the first day of the lab months (a date, midnight Europe/London)
	Capacity         int
	CoordinatorID    uuid.UUID
	Status           IntakeStatus
	CreatedAt        time.Time
}

// JourneySnapshot is the state of one journey as its workflow last reported
// it. Each journey event carries one; the journey projection is the snapshot
// of the latest event, so the projection can always be rebuilt from the log.
type JourneySnapshot struct {
	JourneyID    uuid.UUID
	IntakeID     uuid.UUID
	PersonID     uuid.UUID
	CoachID      uuid.UUID       // uuid.Nil until a coach is assigned
	State        contract.Status // where the journey is: "submitted", "offered", "in_labs", "completed", ...
	Phase        string          // programme phase key, empty before the programme starts
	NextDueItem  string          // schedule item ID, empty when nothing is due
	NextDueAt    time.Time       // zero when nothing is due
	OverdueCount int
	Outcome      contract.Status // its terminal status once it has ended ("completed", "withdrawn", ...); "" before
	// Checkpoints are the journey's coaching checkpoints not yet completed,
	// in schedule order, whether open yet or not (a list judges that against
	// its own now), so a coach's inbox needs no workflow query. None once
	// the journey has ended. Of the projection's reads only JourneysOfCoach
	// returns them.
	//
	// Both go in JSON (the record activity's input, a Temporal payload,
	// carries the snapshot) only when set, so a snapshot without them
	// stays as it was before they were added. The API shows wire.Journey,
	// which has neither.
	Checkpoints []Checkpoint `json:",omitempty"`
	// CheckpointsKnown tells "none left" (true, Checkpoints empty) from
	// "not recorded" (false): snapshots recorded before checkpoints were
	// carry none, and whoever needs them must ask the workflow.
	CheckpointsKnown bool `json:",omitempty"`
}

// Checkpoint is a coaching checkpoint as a journey's snapshot carries it.
type Checkpoint struct {
	ID      string    // schedule item ID, e.g. "checkpoint/3"
	OpensAt time.Time // when the coach can complete it
	DueAt   time.Time
}

// RosterEntry is a journey of an intake as a list of its journeys shows it.
// A list does not show a coach's authority or theme, so Coach has none.
// Nor does it carry the journey's checkpoints (CheckpointsKnown is false).
type RosterEntry struct {
	JourneySnapshot
	Participant, Coach Listed
}

// RosterPage is which of an intake's journeys Roster lists, in the
// roster's order: participants by given name, then family name (each as
// Go compares strings, so that both backends agree whatever the database's
// locale), namesakes by journey ID, then those erased or gone from the
// store, by journey ID. A page is named by the journey it follows or
// precedes, never by a name, so that no one's name ends up in an address
// or a log. It starts from where that journey is now: if its participant
// is renamed or erased between pages, the next page goes on from their new
// place, and may skip or repeat others (the first page is always whole).
type RosterPage struct {
	// After lists the journeys after this one; Before, else, those before
	// it; neither (uuid.Nil), from the first.
	After, Before uuid.UUID
	// Limit is the most journeys listed; 0 lists them all.
	Limit int
	// Only, when not zero, lists only the journeys that match it, and
	// the pages are pages of those.
	Only RosterFilter
}

// RosterFilter narrows a roster: each field that is set must match.
type RosterFilter struct {
	State contract.Status
	// LocalAuthority and Theme are the participant's (kept after an erasure).
	LocalAuthority, Theme string
	CoachID               uuid.UUID
	// Overdue lists the journeys with an item past due, as of their last
	// recorded event (JourneySnapshot.OverdueCount).
	Overdue bool
}

// CaseloadEntry is a journey a coach is assigned to, as their inbox lists
// it: with its checkpoints (as JourneysOfCoach reads them), its intake's
// name (blank if the intake is gone) and its participant, whose e-mail
// address is blank once erased.
type CaseloadEntry struct {
	JourneySnapshot
	IntakeName       string
	Participant      Listed
	ParticipantEmail string
}

// JourneyOutcome is a journey as the funders' outcomes report counts it,
// kept as its events are recorded: the sessions whose latest recorded
// attendance is present, the checkpoints completed, and when it ended
// (its first event with an outcome; zero while it runs).
type JourneyOutcome struct {
	JourneyID                              uuid.UUID
	State, Outcome                         string
	LocalAuthority, Theme                  string // of its participant, blank when not recorded or the person is gone
	SessionsAttended, CheckpointsCompleted int
	EndedAt                                time.Time
}

// Listed is what a list shows of a person. Known is false when the store
// has no such person, or the journey has no coach.
type Listed struct {
	Known                                        bool
	GivenName, FamilyName, LocalAuthority, Theme string // blank once erased, but for the authority and theme
	Erased                                       bool
}

// Tally is how many journeys share their participant's local authority
// and theme (each blank when none is recorded or the person is gone), a
// state and an outcome.
type Tally struct {
	LocalAuthority string
	Theme          string
	State          string
	Outcome        string
	Journeys       int
}

// Event is one entry in the append-only domain event log.
type Event struct {
	// Key makes appending idempotent: appending a second event with the same key
	// does nothing. Activities derive it from workflow IDs and a sequence number,
	// so a retried activity never records a fact twice.
	Key        string
	Seq        int64 // assigned by the store on append; ordering across the whole log
	IntakeID   uuid.UUID
	JourneyID  uuid.UUID // uuid.Nil for intake-level events
	Type       string    // e.g. "application.submitted", "checkpoint.completed"
	OccurredAt time.Time
	Data       json.RawMessage // IDs and codes only; never personal data
	// Snapshot, when set, replaces the journey's projection row.
	Snapshot *JourneySnapshot
	// IntakeStatus, when set, updates the intake's status.
	IntakeStatus IntakeStatus
	RecordedAt   time.Time // set by the store
	// Attempt, when set, says which attempt at a workflow task wrote the
	// event: it was recorded before that task was committed (by a local
	// activity), so a later attempt at the task may replace it (see
	// Store.Record). Nil for an event recorded once its command is in the
	// history, which can never be replaced.
	Attempt *TaskAttempt
}

// TaskAttempt places an event recorded from inside a workflow task. A task
// can fail after its event is written (its worker killed, its deadline
// passed) and be tried again, and the new attempt may number its events
// differently (other updates arrived meanwhile): the store must then keep
// the new attempt's events and drop the failed one's, and refuse a late
// write from an attempt that has been replaced.
type TaskAttempt struct {
	// Stream is the workflow whose events these are ("journey/<id>",
	// "intake/<id>"); Seq is the event's number in it, counted by the
	// workflow from 1 without gaps.
	Stream string
	Seq    int64
	// Fence orders the attempts that write a stream: a later attempt at a
	// task, or any attempt at a later task, has a higher fence (see
	// FenceOf). Attempts at one task that cannot be told apart have equal
	// fences, and the later write wins.
	Fence int64
}

// FenceOf packs a task attempt's place into a TaskAttempt.Fence: the run's
// generation (how many runs of the workflow continued as new before it),
// the event ID of the task's WorkflowTaskStarted (its history length, which
// grows with every task) and the task's attempt (1, 2, … as the server
// counts them). Each is clamped to its field: 23 bits of generation, 24 of
// event ID (Temporal caps a history at 51,200 events by default) and 16
// of attempt.
func FenceOf(generation, taskStarted int64, attempt int32) int64 {
	clamp := func(v, bits int64) int64 { return min(max(v, 0), 1<<bits-1) }
	return clamp(generation, 23)<<40 | clamp(taskStarted, 24)<<16 | clamp(int64(attempt), 16)
}

// ErrStaleAttempt is Record's refusal of an event from a task attempt that
// a later one has replaced: the stream holds an event with a higher fence.
// The attempt's work is void; its worker cannot commit it either.
var ErrStaleAttempt = errors.New("a later attempt at the workflow task has recorded this stream")

// MessageStatus is where a message is on its way out.
type MessageStatus string

const (
	MessageQueued MessageStatus = "queued"
	MessageSent   MessageStatus = "sent"
	MessageFailed MessageStatus = "failed"
)

// Message is a reminder or notice waiting in the outbox. It names its
// recipient by ID; the text is rendered from a template at send time, from
// the store, so nothing personal is ever copied into Temporal.
type Message struct {
	Key         string // idempotency key: journey + reminder
	IntakeID    uuid.UUID
	JourneyID   uuid.UUID
	RecipientID uuid.UUID
	Role        Role   // what the recipient is to this journey
	Template    string // template key from the programme data
	ItemID      string // schedule item the message is about, if any
	// ItemStartsAt and ItemEndsAt are when the item happens (a session's
	// start and end) or is due (a task: both the due time), so the message
	// and its calendar invite can say when without asking Temporal.
	ItemStartsAt time.Time
	ItemEndsAt   time.Time
	// Revision counts how often the item has been rescheduled: it becomes a
	// calendar invite's SEQUENCE, so calendars replace the old time.
	Revision int
	// Cancels marks a notice that the item no longer happens for this
	// recipient (a withdrawal or deferral): a calendar CANCEL.
	Cancels bool
	Channel string // "email"
	// SendAt is when the message is due. A delivery policy may move it
	// later (Store.Defer); it is also the order in which a recipient's
	// messages go out.
	SendAt    time.Time
	Status    MessageStatus
	CreatedAt time.Time

	// Delivery state, set by the store as delivery reports back (Record
	// ignores what callers put here).

	// Attempts counts delivery attempts that did not succeed.
	Attempts int
	// NextAttemptAt is when a message whose last attempt failed for a
	// temporary reason may be tried again; zero if never retried.
	NextAttemptAt time.Time
	// LastError is why the last attempt failed; for a failed message, why it
	// was given up (shown to coordinators).
	LastError string
	// SentAt is when the mail server accepted the message; zero until sent.
	SentAt time.Time
	// MessageID is the Message-ID header the message was sent with.
	MessageID string
	// ClaimedBy is the deliverer that claimed the message to send it
	// (ClaimDue), until ClaimedUntil; "" and zero when nobody has. A
	// claim that has run out no longer counts.
	ClaimedBy    string
	ClaimedUntil time.Time
	// LapsedClaim is set only on what ClaimDue returns: the deliverer whose
	// claim on the message ran out before it marked the message anything.
	// That deliverer may have stopped between the mail server accepting
	// the message and marking it sent (a killed worker, a lost database),
	// so sending it now may be sending it twice.
	LapsedClaim string
}

// Note is free text written by a person (coaching notes, withdrawal reasons,
// plans). It is personal data, so workflows carry only its ID.
type Note struct {
	ID        uuid.UUID
	AuthorID  uuid.UUID
	JourneyID uuid.UUID
	Body      string
	CreatedAt time.Time
}

// OutboxFilter narrows ListMessages. Zero values mean "any".
type OutboxFilter struct {
	IntakeID    uuid.UUID
	JourneyID   uuid.UUID
	RecipientID uuid.UUID
	Status      MessageStatus
	Limit       int
}

// Store is what the rest of the system needs from the business record.
// Every write is idempotent or all-or-nothing, so activities may retry freely.
type Store interface {
	// CreatePeople adds people in one transaction: all of them or none.
	// A person whose ID already exists with the same contents is left as is.
	CreatePeople(ctx context.Context, people []Person) error
	GetPerson(ctx context.Context, id uuid.UUID) (Person, error)
	// FindPersonByEmail looks a person up by e-mail address, case-insensitively.
	FindPersonByEmail(ctx context.Context, email string) (Person, error)
	ListPeople(ctx context.Context, role Role) ([]Person, error)

	CreateIntake(ctx context.Context, in Intake) error
	GetIntake(ctx context.Context, id uuid.UUID) (Intake, error)
	ListIntakes(ctx context.Context) ([]Intake, error)
	// UpdateIntake sets an intake's name (trimmed) and number of places;
	// everything else about an intake is fixed once created. It does not
	// ask the intake's workflow: callers change the places there first
	// (commands.EditIntake), so the row follows what the workflow allowed.
	// Setting the same values again changes nothing. An unknown intake is
	// ErrNotFound; an empty name, one longer than MaxIntakeNameLength or a
	// negative capacity is ErrInvalid.
	UpdateIntake(ctx context.Context, id uuid.UUID, name string, capacity int) error

	// Record appends ev to the event log, applies its snapshot and intake
	// status to the projections, and queues msgs, all in one transaction.
	// If an event with ev.Key was already recorded it does nothing and
	// returns false: that is how retried activities stay exactly-once.
	//
	// An event with an Attempt is fenced instead, one writer at a time per
	// stream. If the stream holds an event with a higher fence, Record
	// writes nothing and returns an error wrapping ErrStaleAttempt. If the
	// event with ev.Key is there as the same event of the stream (the same
	// number, type and data), written by this attempt (a retried local
	// activity) or an earlier one, it keeps it where it is, with the
	// messages it queued (one may be on its way; msgs, the same notices
	// made at another moment, are not queued), gives it ev's fence, drops
	// the stream's events after it as below, and returns false. Otherwise
	// it first drops every event of the stream numbered ev.Attempt.Seq or
	// later (a failed attempt's), with their messages still queued, and
	// what the projections took from them (journey facts, intake status),
	// then records ev as above; a message whose key is still in the outbox
	// (one already sent) is not queued again.
	Record(ctx context.Context, ev Event, msgs ...Message) (bool, error)
	// Events lists a journey's events in the order they were recorded.
	JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]Event, error)
	// IntakeEvents lists every event of an intake (intake and journey level) in order.
	IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]Event, error)

	GetJourney(ctx context.Context, journeyID uuid.UUID) (JourneySnapshot, error)
	ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]JourneySnapshot, error)
	// Roster hands the page of an intake's journeys that page asks for,
	// each with its participant and coach as a list of them names them, to
	// each, in one query, in the roster's order (RosterPage), stopping at
	// each's first error, which it returns as it is. It keeps no list of
	// its own: the caller makes the one it shows. each runs while the
	// query's rows are open, holding a connection: it must not use the
	// store. A page after or before a journey that is not the intake's is
	// empty.
	Roster(ctx context.Context, intakeID uuid.UUID, page RosterPage, each func(RosterEntry) error) error
	// JourneyOutcomes lists an intake's journeys as the outcomes report
	// counts them, in one query, in the order of their IDs.
	JourneyOutcomes(ctx context.Context, intakeID uuid.UUID) ([]JourneyOutcome, error)
	// IntakeCounts gives the number of journeys of an intake in each state.
	IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error)
	// TallyJourneys counts, in one query, the journeys of an intake (of
	// every intake, for uuid.Nil) alike in their participant's local
	// authority and theme, their state and their outcome, in no order: a
	// few hundred tallies at most, from which every count by one of these
	// is summed.
	TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]Tally, error)
	// RebuildProjections recomputes every journey row and intake status from the event log.
	RebuildProjections(ctx context.Context) error

	ListMessages(ctx context.Context, f OutboxFilter) ([]Message, error)
	// SentEmails counts the e-mails (distinct Message-IDs: a digest is
	// one) sent to recipient with SentAt in [from, to): the delivery
	// policy's daily count, asked before each delivery, so it is counted
	// where the rows are rather than read out.
	SentEmails(ctx context.Context, recipient uuid.UUID, from, to time.Time) (int, error)

	// DueMessages lists, oldest SendAt first, up to limit queued messages
	// that may be sent at now: SendAt and NextAttemptAt are not after now,
	// and no earlier queued message of the same recipient (earlier SendAt,
	// or the same SendAt queued before) is waiting for a retry. So a
	// recipient's messages go out in order, and a later one never overtakes
	// an earlier one that is still pending. A limit of 0 or less means 100.
	// It ignores claims: it says what is due, not who may send it.
	DueMessages(ctx context.Context, now time.Time, limit int) ([]Message, error)
	// ClaimDue is how a deliverer takes messages to send: it claims for
	// owner (a name unique to the deliverer), until now+lease, the
	// messages DueMessages would list at now, whole recipients at a time:
	// every due message of the recipients of the oldest limit due
	// messages (so it may return more than limit; 0 or less means 100),
	// oldest SendAt first. A recipient any of whose queued messages is
	// claimed, by anyone, with a lease running past now is left out, so
	// one deliverer at a time serves a recipient and their messages go out
	// in order however many deliverers share the outbox. A claim whose
	// lease has run out (its deliverer died) counts for nothing. An empty
	// owner or a lease that is not positive is ErrInvalid.
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Message, error)
	// ReleaseClaims hands back owner's claims on the messages with keys,
	// so that others need not wait for the lease to run out; claims of
	// other owners and unknown keys are left alone.
	ReleaseClaims(ctx context.Context, owner string, keys ...string) error
	// MarkSent records that the mail server accepted the message with
	// Message-ID messageID at at, and ends any claim on it. Marking a sent
	// message again changes nothing; a failed one becomes sent (the server
	// did accept it). It takes no owner: that the server accepted it is a
	// fact, whoever claimed it since.
	MarkSent(ctx context.Context, key, messageID string, at time.Time) error
	// MarkRetry records a failed attempt (Attempts+1, LastError = reason)
	// and holds a queued message back until next.
	MarkRetry(ctx context.Context, owner, key string, next time.Time, reason string) error
	// MarkFailed gives a queued message up for good (Attempts+1, LastError
	// = reason, Status failed). Marking a failed message again changes nothing.
	MarkFailed(ctx context.Context, owner, key, reason string) error
	// Defer moves a queued message's SendAt later, to until, without
	// counting an attempt (a delivery policy such as quiet hours). A SendAt
	// already at or after until is left alone.
	Defer(ctx context.Context, owner, key string, until time.Time) error
	// (For the Mark methods and Defer: an unknown key is ErrNotFound; a
	// message whose status does not allow the change, such as retrying a
	// sent message, is ErrConflict. MarkRetry, MarkFailed and Defer end
	// owner's claim on the message, and are ErrConflict while it is
	// claimed by another owner, lease run out or not: a deliverer whose
	// lease ran out while it was sending must not undo what the deliverer
	// that took the message over decided.)

	SaveNote(ctx context.Context, n Note) error
	GetNote(ctx context.Context, id uuid.UUID) (Note, error)
	// DeleteNote removes a note for good; deleting one that is not there is
	// not an error. A note written for a request the journey then refused
	// must not linger as personal data nobody can see.
	DeleteNote(ctx context.Context, id uuid.UUID) error

	// IssueCertificate issues the completion certificate of a journey,
	// with a new random verification code, dated at (when the journey
	// completed). It is idempotent per journey: issuing again returns the
	// certificate already issued, code and date unchanged (ErrConflict if
	// it was issued to another person or intake).
	IssueCertificate(ctx context.Context, journeyID, personID, intakeID uuid.UUID, at time.Time) (Certificate, error)
	// VerifyCertificate looks a certificate up by its verification code,
	// ignoring case, dashes and spaces. An unknown or malformed code is
	// ErrNotFound.
	VerifyCertificate(ctx context.Context, code string) (Certificate, error)
	// CertificateOf is the certificate issued for a journey, or ErrNotFound.
	CertificateOf(ctx context.Context, journeyID uuid.UUID) (Certificate, error)

	// CreateAPIToken creates a token for t.PersonID to use the API in
	// t.Role, which must be the person's own role (else ErrInvalid), named
	// t.Name for what it is for, until t.ExpiresAt (zero: until revoked).
	// It returns the token, which is shown only now: the store keeps its
	// SHA-256 hash, never the token itself. An unknown or erased person is
	// ErrNotFound (erasure revokes a person's tokens, and none is made
	// after it).
	CreateAPIToken(ctx context.Context, t APIToken) (string, APIToken, error)
	// AuthenticateAPIToken finds the token a caller presented at now, by
	// its hash, and records its use (LastUsedAt, once a minute at most). A
	// token that is unknown, revoked or expired, or whose person has been
	// erased or no longer has the token's role, is ErrNotFound.
	AuthenticateAPIToken(ctx context.Context, plaintext string, now time.Time) (APIToken, error)
	// APITokensOf lists a person's tokens, newest first; uuid.Nil lists
	// everyone's.
	APITokensOf(ctx context.Context, personID uuid.UUID) ([]APIToken, error)
	// RevokeAPIToken stops a token working. Revoking it again changes
	// nothing; an unknown ID is ErrNotFound.
	RevokeAPIToken(ctx context.Context, id uuid.UUID) error

	// CreateSignInLink makes a single-use sign-in link secret for personID,
	// valid until expiresAt, and returns it; the store keeps its hash only.
	// An unknown or erased person is ErrNotFound; an expiresAt not after
	// now is ErrInvalid.
	CreateSignInLink(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, error)
	// CreateSignInLinkUpTo is CreateSignInLink unless personID already
	// has maxLive links neither used nor expired at now: then it makes
	// none and is ErrConflict. The count and the new link are one
	// transaction, so however many requests race, whichever API process
	// serves them, the person never has more than maxLive.
	CreateSignInLinkUpTo(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time, maxLive int) (string, error)
	// RedeemSignInLink uses a sign-in link up: it returns the person it was
	// made for and makes sure it never works again. A link that is unknown,
	// already used or expired at now is ErrNotFound; of two concurrent
	// redemptions exactly one succeeds.
	RedeemSignInLink(ctx context.Context, plaintext string, now time.Time) (uuid.UUID, error)

	// CreateWebSession starts a session for personID until expiresAt and
	// returns its secret (for the cookie); the store keeps its hash only.
	// An unknown or erased person is ErrNotFound; an expiresAt not after
	// now is ErrInvalid.
	CreateWebSession(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, WebSession, error)
	// AuthenticateWebSession finds the session a browser presented. An
	// unknown, ended or expired (at now) session, or one of an erased
	// person, is ErrNotFound.
	AuthenticateWebSession(ctx context.Context, plaintext string, now time.Time) (WebSession, error)
	// EndWebSession signs a session out; ending an unknown one is not an error.
	EndWebSession(ctx context.Context, plaintext string) error
	// WebSessionsOf lists personID's sessions open at now (neither ended
	// nor expired), newest first.
	WebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) ([]WebSession, error)
	// EndWebSessionsOf signs out every session of personID open at now
	// ("sign out everywhere") and says how many it ended. It also deletes
	// their unused sign-in links: a lost computer may have their mailbox
	// open too.
	EndWebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) (int, error)

	// ClaimIdempotencyKey reserves c.Key for c.PrincipalID's request with
	// c.Fingerprint. If nobody used the key it records it in progress, held
	// by c.Token, and returns that record with claimed = true. Otherwise it
	// returns the stored record and claimed = false (Status 0: the first
	// request is still in progress), except that a record still in progress
	// claimed before c.StaleBefore, or one answered before c.ForgetBefore,
	// is taken over (claimed = true), so a crashed request does not hold its
	// key for ever, nor an answer outlive its time. Keys are per principal:
	// two people may use the same key.
	ClaimIdempotencyKey(ctx context.Context, c IdempotencyClaim) (IdempotencyRecord, bool, error)
	// CompleteIdempotencyKey stores rec's answer (Status, ContentType,
	// Body) for the claim rec.Token holds. Storing the same answer again is
	// fine (a retry); another answer for an answered key, or any answer by
	// a token whose claim was taken over, is ErrConflict; a key not claimed
	// is ErrNotFound.
	CompleteIdempotencyKey(ctx context.Context, rec IdempotencyRecord) error
	// ReleaseIdempotencyKey forgets the claim rec.Token holds on rec.Key,
	// whose request failed without acting (a server error), so a retry may
	// act. Releasing a key that is not there is not an error; an answered
	// key, or one another request's claim holds, is ErrConflict: the
	// answer must go on replaying, and the other request is running.
	ReleaseIdempotencyKey(ctx context.Context, rec IdempotencyRecord) error
	// ForgetIdempotencyRecords deletes every record claimed before before,
	// answered or not, and says how many it deleted: answers are kept for
	// retries for a day, not for ever (they may repeat personal data).
	ForgetIdempotencyRecords(ctx context.Context, before time.Time) (int64, error)

	// JourneysOfPerson lists the journeys of a participant, oldest first.
	JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]JourneySnapshot, error)
	// Caseload lists the journeys a coach is assigned to as their inbox
	// shows them, oldest first, in one query: each with its checkpoints,
	// its intake's name and its participant.
	Caseload(ctx context.Context, coachID uuid.UUID) ([]CaseloadEntry, error)
	// JourneysOfCoach lists the journeys a coach is assigned to, oldest
	// first, with their checkpoints (the coach's inbox). The other lists
	// and GetJourney leave Checkpoints unknown: they never show them, and
	// long lists should not pay to decode them.
	JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]JourneySnapshot, error)
	// NotesOfJourney lists a journey's notes, oldest first.
	NotesOfJourney(ctx context.Context, journeyID uuid.UUID) ([]Note, error)
	// SetLanguage records a person's correspondence language (cy, en, or
	// "" for bilingual). An unknown person is ErrNotFound; another
	// language is ErrInvalid.
	SetLanguage(ctx context.Context, personID uuid.UUID, lang Language) error
	// ErasePerson removes a person's personal data for good (UK GDPR
	// erasure), in one transaction: names and e-mail address blanked and
	// ErasedAt set (role, local authority and theme stay, for funder
	// counts); notes they wrote and notes on their journeys deleted; their
	// queued messages failed with the reason "recipient erased"; their API
	// tokens revoked, sessions ended and sign-in links deleted; and the
	// stored answers of their requests, and of anyone's that mention them
	// (by ID or address, in any letter case), forgotten. SessionsEnded
	// counts sessions still open at at. The event log, which carries IDs
	// only, stays. Erasing again changes nothing and reports zero counts
	// (and ErasedAt as first erased). An unknown person is ErrNotFound.
	ErasePerson(ctx context.Context, personID uuid.UUID, at time.Time) (PersonErasure, error)

	// Ping checks that the database answers, for health checks.
	Ping(ctx context.Context) error
	Close()
}
