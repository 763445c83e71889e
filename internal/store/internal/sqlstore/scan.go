// Package sqlstore is the store (store.Store) written once for both SQL
// databases: every query, in queries/*.sql, and every method's logic. The
// backends, internal/store/pgstore and internal/store/sqlitestore, embed its Store and add
// only what differs by database: how they connect and migrate, how they
// run a statement and encode its arguments, and their transactions.
package sqlstore

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Scanner is one row: a *sql.Row, *sql.Rows, pgx.Row or pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// Rows is a result set, as DB.Query returns it. The caller closes it.
type Rows interface {
	Scanner
	Next() bool
	Err() error
	Close()
}

// Collect scans every row with scan.
func Collect[T any](rows Rows, scan func(Scanner) (T, error)) ([]T, error) {
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Each scans every row with scan and hands it to fn, keeping none: a list
// of thousands of rows is not gathered twice (here, then by the caller).
// fn's error comes back as it is; the rows' own, through explain.
func Each[T any](rows Rows, scan func(Scanner) (T, error), fn func(T) error, explain func(error) error) error {
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return explain(err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return explain(err)
	}
	return nil
}

// Column scanners. Both drivers hand a sql.Scanner the database/sql form of
// a value (pgx too: a UUID as text, a timestamptz as a time.Time), so one
// set of scanners reads both databases' columns; pgx prefers the binary
// forms, through its own scanner interfaces, where a scanner has them.

// TimeLayout is how SQLite stores times. It has a fixed width, so stored
// times sort as they compare.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// timeCol scans a stored time (NULL is the zero time) as store.StoredTime.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	var s string
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	case time.Time:
		*c.t = store.StoredTime(v)
		return nil
	default:
		return fmt.Errorf("stored time has unexpected type %T", v)
	}
	t, err := time.Parse(TimeLayout, s)
	if err != nil {
		// Accept any RFC 3339 time written by hand or by an older version.
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("stored time %q: %w", s, err)
		}
	}
	*c.t = store.StoredTime(t)
	return nil
}

// ScanTimestamptz is how pgx hands timeCol a PostgreSQL timestamptz in its
// binary form, sparing the database/sql detour (a tenth of a long list's
// time).
func (c timeCol) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*c.t = time.Time{}
		return nil
	}
	if v.InfinityModifier != pgtype.Finite {
		return fmt.Errorf("stored time is %v, not a time", v.InfinityModifier)
	}
	*c.t = store.StoredTime(v.Time)
	return nil
}

// uuidCol scans a stored UUID (NULL is uuid.Nil).
type uuidCol struct{ id *uuid.UUID }

func (c uuidCol) Scan(v any) error {
	if v == nil {
		*c.id = uuid.Nil
		return nil
	}
	return c.id.Scan(v)
}

// ScanUUID is how pgx hands uuidCol a PostgreSQL uuid in its binary form,
// sparing the detour through text that Scan takes.
func (c uuidCol) ScanUUID(v pgtype.UUID) error {
	*c.id = uuid.Nil
	if v.Valid {
		*c.id = v.Bytes
	}
	return nil
}

// Column lists, in the order the Scan functions below read them.
const (
	// PersonColumns ends with erased_at, which CreatePeople always writes
	// as NULL: nobody is created erased.
	PersonColumns  = `id, role, given_name, family_name, email, local_authority, theme, language, created_at, erased_at`
	IntakeColumns  = `id, name, programme_id, programme_version, opens_at, closes_at, starts_on, capacity, coordinator_id, status, created_at`
	EventColumns   = `seq, key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at, stream, stream_seq, fence`
	JourneyColumns = `journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome`
	// CoachJourneyColumns adds the journey's checkpoints (JSON, NULL when
	// unknown), which only a coach's list reads, for the inbox: decoding
	// them would slow the lists of thousands of journeys that never show them.
	CoachJourneyColumns = JourneyColumns + `, checkpoints`
	MessageColumns      = `key, intake_id, journey_id, recipient_id, role, template, item_id, item_starts_at, item_ends_at, revision, cancels, ` +
		`channel, send_at, status, created_at, attempts, next_attempt_at, last_error, sent_at, message_id, claimed_by, claimed_until`
	NoteColumns = `id, author_id, journey_id, body, created_at`
)

// Roster is the query of store.Roster for page and its arguments, on
// PostgreSQL (postgres) or SQLite. Its text compares as Go's strings do:
// PostgreSQL is told `COLLATE "C"`; SQLite's default already does.
//
// It finds the page's journeys by their sort keys alone (keys), and only
// then reads what a list shows of them: at 10,000 journeys, carrying every
// column of every journey through the sort took twice as long. A page
// after (before) a journey is those whose keys follow (precede) its keys;
// one before is found backwards, and every page is listed forwards. It is
// made in Go rather than kept in queries/, as a page's bounds change its
// shape.
func Roster(postgres bool, intakeID uuid.UUID, page store.RosterPage) (string, []any) {
	collate := ""
	if postgres {
		collate = `COLLATE "C"`
	}
	param := func(n int) string { return "$" + strconv.Itoa(n) }
	const order = `unnamed, given, family, journey_id`
	args := []any{intakeID}
	keys := `SELECT j.journey_id, (p.id IS NULL OR p.erased_at IS NOT NULL) AS unnamed,
		COALESCE(p.given_name, '') ` + collate + ` AS given, COALESCE(p.family_name, '') ` + collate + ` AS family
		FROM journeys j LEFT JOIN people p ON p.id = j.person_id
		WHERE j.intake_id = ` + param(len(args))
	match := func(column string, value any) {
		args = append(args, value)
		keys += ` AND ` + column + ` = ` + param(len(args))
	}
	if f := page.Only; f != (store.RosterFilter{}) {
		if f.State != "" {
			match(`j.state`, string(f.State))
		}
		if f.LocalAuthority != "" {
			match(`p.local_authority`, f.LocalAuthority)
		}
		if f.Theme != "" {
			match(`p.theme`, f.Theme)
		}
		if f.CoachID != uuid.Nil {
			match(`j.coach_id`, f.CoachID)
		}
		if f.Overdue {
			keys += ` AND j.overdue_count > 0`
		}
	}
	where, sort := ``, order
	if from := cmp.Or(page.After, page.Before); from != uuid.Nil {
		op := `>`
		if page.After == uuid.Nil {
			op, sort = `<`, `unnamed DESC, given DESC, family DESC, journey_id DESC`
		}
		args = append(args, from)
		where = ` WHERE (` + order + `) ` + op + ` (SELECT ` + order + ` FROM keys WHERE journey_id = ` + param(len(args)) + `)`
	}
	limit := ``
	if page.Limit > 0 {
		args = append(args, page.Limit)
		limit = ` LIMIT ` + param(len(args))
	}
	return `WITH keys AS (` + keys + `),
		page AS (SELECT * FROM keys` + where + ` ORDER BY ` + sort + limit + `)
		SELECT ` + qualified("j", JourneyColumns) + `,
		p.id IS NOT NULL, COALESCE(p.given_name, ''), COALESCE(p.family_name, ''),
		COALESCE(p.local_authority, ''), COALESCE(p.theme, ''), p.erased_at IS NOT NULL,
		c.id IS NOT NULL, COALESCE(c.given_name, ''), COALESCE(c.family_name, ''), c.erased_at IS NOT NULL
		FROM page JOIN journeys j ON j.journey_id = page.journey_id
		LEFT JOIN people p ON p.id = j.person_id LEFT JOIN people c ON c.id = j.coach_id
		ORDER BY ` + qualified("page", order), args
}

// ScanCaseloadEntry reads a row of the Caseload query.
func ScanCaseloadEntry(row Scanner) (store.CaseloadEntry, error) {
	var c store.CaseloadEntry
	j, p := &c.JourneySnapshot, &c.Participant
	var checkpoints []byte
	if err := row.Scan(journeyInto(j, &checkpoints,
		&c.IntakeName, &p.Known, &p.GivenName, &p.FamilyName, &p.LocalAuthority, &p.Theme, &p.Erased,
		&c.ParticipantEmail)...); err != nil {
		return store.CaseloadEntry{}, err
	}
	return c, store.DecodeCheckpoints(checkpoints, j)
}

// ScanJourneyOutcome reads a row of the JourneyOutcomes query.
func ScanJourneyOutcome(row Scanner) (store.JourneyOutcome, error) {
	var o store.JourneyOutcome
	err := row.Scan(uuidCol{&o.JourneyID}, &o.State, &o.Outcome, &o.LocalAuthority, &o.Theme,
		&o.SessionsAttended, &o.CheckpointsCompleted, timeCol{&o.EndedAt})
	return o, err
}

// qualified is the column list columns, each named as table's.
func qualified(table, columns string) string {
	names := strings.Split(columns, ",")
	for i, n := range names {
		names[i] = table + "." + strings.TrimSpace(n)
	}
	return strings.Join(names, ", ")
}

// ScanRosterEntry reads a row of Roster.
func ScanRosterEntry(row Scanner) (store.RosterEntry, error) {
	var r store.RosterEntry
	j, p, c := &r.JourneySnapshot, &r.Participant, &r.Coach
	err := row.Scan(journeyInto(j,
		&p.Known, &p.GivenName, &p.FamilyName, &p.LocalAuthority, &p.Theme, &p.Erased,
		&c.Known, &c.GivenName, &c.FamilyName, &c.Erased)...)
	return r, err
}

// ScanTally reads a row of the TallyJourneys queries.
func ScanTally(row Scanner) (store.Tally, error) {
	var t store.Tally
	err := row.Scan(&t.LocalAuthority, &t.Theme, &t.State, &t.Outcome, &t.Journeys)
	return t, err
}

// ScanPerson reads PersonColumns.
func ScanPerson(row Scanner) (store.Person, error) {
	var p store.Person
	var role, lang string
	err := row.Scan(uuidCol{&p.ID}, &role, &p.GivenName, &p.FamilyName, &p.EmailAddress,
		&p.LocalAuthority, &p.Theme, &lang, timeCol{&p.CreatedAt}, timeCol{&p.ErasedAt})
	p.Role, p.Language = store.Role(role), store.Language(lang)
	return p, err
}

// ScanIntake reads IntakeColumns.
func ScanIntake(row Scanner) (store.Intake, error) {
	var in store.Intake
	var status string
	err := row.Scan(uuidCol{&in.ID}, &in.Name, &in.ProgrammeID, &in.ProgrammeVersion,
		timeCol{&in.OpensAt}, timeCol{&in.ClosesAt}, timeCol{&in.StartsOn},
		&in.Capacity, uuidCol{&in.CoordinatorID}, &status, timeCol{&in.CreatedAt})
	in.Status = store.IntakeStatus(status)
	return in, err
}

// ScanEvent reads EventColumns.
func ScanEvent(row Scanner) (store.Event, error) {
	var ev store.Event
	var data, snap []byte
	var status, stream *string
	var streamSeq, fence *int64
	if err := row.Scan(&ev.Seq, &ev.Key, uuidCol{&ev.IntakeID}, uuidCol{&ev.JourneyID}, &ev.Type,
		timeCol{&ev.OccurredAt}, &data, &snap, &status, timeCol{&ev.RecordedAt}, &stream, &streamSeq, &fence); err != nil {
		return store.Event{}, err
	}
	if stream != nil && streamSeq != nil && fence != nil {
		ev.Attempt = &store.TaskAttempt{Stream: *stream, Seq: *streamSeq, Fence: *fence}
	}
	var err error
	if ev.Data, err = store.CompactData(data); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	if ev.Snapshot, err = store.DecodeSnapshot(snap); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	if status != nil {
		ev.IntakeStatus = store.IntakeStatus(*status)
	}
	return ev, nil
}

// ScanJourney reads JourneyColumns.
func ScanJourney(row Scanner) (store.JourneySnapshot, error) {
	var j store.JourneySnapshot
	err := row.Scan(journeyInto(&j)...)
	return j, err
}

// journeyInto is where a row's JourneyColumns go, in j, followed by more:
// every read of a journey and what a list joins to it scans through it.
func journeyInto(j *store.JourneySnapshot, more ...any) []any {
	return append([]any{uuidCol{&j.JourneyID}, uuidCol{&j.IntakeID}, uuidCol{&j.PersonID}, uuidCol{&j.CoachID},
		&j.State, &j.Phase, &j.NextDueItem, timeCol{&j.NextDueAt}, &j.OverdueCount, &j.Outcome}, more...)
}

// ScanCoachJourney reads CoachJourneyColumns.
func ScanCoachJourney(row Scanner) (store.JourneySnapshot, error) {
	var j store.JourneySnapshot
	var checkpoints []byte
	if err := row.Scan(journeyInto(&j, &checkpoints)...); err != nil {
		return store.JourneySnapshot{}, err
	}
	return j, store.DecodeCheckpoints(checkpoints, &j)
}

// ScanMessage reads MessageColumns.
func ScanMessage(row Scanner) (store.Message, error) {
	var m store.Message
	err := scanMessage(row, &m)
	return m, err
}

// scanMessage reads the columns named by first, then MessageColumns into m.
func scanMessage(row Scanner, m *store.Message, first ...any) error {
	var role, status string
	err := row.Scan(append(first, &m.Key, uuidCol{&m.IntakeID}, uuidCol{&m.JourneyID}, uuidCol{&m.RecipientID}, &role,
		&m.Template, &m.ItemID, timeCol{&m.ItemStartsAt}, timeCol{&m.ItemEndsAt}, &m.Revision, &m.Cancels,
		&m.Channel, timeCol{&m.SendAt}, &status, timeCol{&m.CreatedAt},
		&m.Attempts, timeCol{&m.NextAttemptAt}, &m.LastError, timeCol{&m.SentAt}, &m.MessageID,
		&m.ClaimedBy, timeCol{&m.ClaimedUntil})...)
	m.Role, m.Status = store.Role(role), store.MessageStatus(status)
	return err
}

// ScanNote reads NoteColumns.
func ScanNote(row Scanner) (store.Note, error) {
	var n store.Note
	err := row.Scan(uuidCol{&n.ID}, uuidCol{&n.AuthorID}, uuidCol{&n.JourneyID}, &n.Body, timeCol{&n.CreatedAt})
	return n, err
}

// StateCounts reads (state, count) rows into a map.
func StateCounts(rows Rows) (map[string]int, error) {
	counts := map[string]int{}
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, err
		}
		counts[state] = n
	}
	return counts, rows.Err()
}
