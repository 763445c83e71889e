// Package sqlitestore is the embedded store.Store: the business record of
// Infuse Journeys in a single SQLite file, through the pure-Go driver
// modernc.org/sqlite, so the all-in-one dev mode runs on a fresh machine with
// nothing else installed. Open applies the migrations embedded in the binary.
//
// SQLite lets one writer in at a time. Activities write concurrently, so the
// store sends every write through a single connection whose transactions
// begin IMMEDIATE (taking the write lock up front, so a transaction never has
// to upgrade a read lock and fail with SQLITE_BUSY), with a busy timeout for
// other processes on the same file. Reads use a separate pool of read-only
// connections, which WAL mode lets run alongside the writer.
package sqlitestore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/infuse-cymru/journeys/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by SQLite.
type Store struct {
	write *sql.DB // exactly one connection: all writes queue for it
	read  *sql.DB // read-only connections; the same as write for ":memory:"
}

var _ store.Store = (*Store)(nil)

// busyTimeout is how long a connection waits for another process's lock
// before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Open opens (creating if need be) the database file at path, or a private
// in-memory database if path is ":memory:", and applies pending migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New(`sqlitestore: no database path; give a file name, or ":memory:"`)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("sqlitestore: database path %q must not contain '?' or '#'", path)
	}
	common := fmt.Sprintf("_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	write, err := sql.Open("sqlite", path+"?"+common+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0) // an in-memory database lives only as long as its connection
	write.SetConnMaxIdleTime(0)
	s := &Store{write: write, read: write}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: migrating %s: %w", path, err)
	}
	if path != ":memory:" {
		read, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			write.Close()
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		read.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
		s.read = read
	}
	return s, nil
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	// The single write connection also serialises migrations between
	// goroutines; BEGIN IMMEDIATE and the busy timeout between processes.
	p, err := goose.NewProvider(goose.DialectSQLite3, s.write, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes the database.
// Ping checks that the database can be written, which is what activities need.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

func (s *Store) Close() {
	if s.read != s.write {
		s.read.Close()
	}
	s.write.Close()
}

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func now() time.Time { return store.StoredTime(time.Now()) }

// ---- column encodings --------------------------------------------------------

// timeLayout has a fixed width, so stored times sort as they compare.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func fmtTime(t time.Time) string { return store.StoredTime(t).UTC().Format(timeLayout) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

// nullUUID stores uuid.Nil as NULL.
func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id.String()
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// timeCol scans a stored time (NULL is the zero time).
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
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		// Accept any RFC 3339 time written by hand or by an older version.
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("stored time %q: %w", s, err)
		}
	}
	*c.t = store.StoredTime(t)
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

func notFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
	}
	return fmt.Errorf("reading %s %v: %w", what, id, err)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// collect scans every row with scan; err is the error from the query.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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

// ---- people ----------------------------------------------------------------

const personColumns = `id, role, given_name, family_name, email, local_authority, theme, language, created_at`

func scanPerson(row scanner) (store.Person, error) {
	var p store.Person
	var role, lang string
	err := row.Scan(uuidCol{&p.ID}, &role, &p.GivenName, &p.FamilyName, &p.EmailAddress,
		&p.LocalAuthority, &p.Theme, &lang, timeCol{&p.CreatedAt})
	p.Role, p.Language = store.Role(role), store.Language(lang)
	return p, err
}

func (s *Store) CreatePeople(ctx context.Context, people []store.Person) error {
	rows, err := store.PreparePeople(people, now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i, p := range rows {
			res, err := tx.ExecContext(ctx, `INSERT INTO people (`+personColumns+`, email_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				p.ID.String(), string(p.Role), p.GivenName, p.FamilyName, p.EmailAddress,
				p.LocalAuthority, p.Theme, string(p.Language), fmtTime(p.CreatedAt), store.EmailKey(p.EmailAddress))
			if err != nil {
				return fmt.Errorf("person %d (%s): %w", i, p.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n == 1 {
				continue
			}
			// Either the ID or the e-mail address is taken.
			old, err := scanPerson(tx.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE id = ?`, p.ID.String()))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("person %d (%s): %w: e-mail address %q belongs to another person",
					i, p.ID, store.ErrConflict, p.EmailAddress)
			case err != nil:
				return fmt.Errorf("person %d (%s): %w", i, p.ID, err)
			case !store.SamePerson(old, p):
				return fmt.Errorf("person %d (%s): %w: a person with this ID exists with different details",
					i, p.ID, store.ErrConflict)
			}
		}
		return nil
	})
}

func (s *Store) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	p, err := scanPerson(s.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE id = ?`, id.String()))
	if err != nil {
		return store.Person{}, notFound(err, "person", id)
	}
	return p, nil
}

func (s *Store) FindPersonByEmail(ctx context.Context, email string) (store.Person, error) {
	p, err := scanPerson(s.read.QueryRowContext(ctx, `SELECT `+personColumns+` FROM people WHERE email_key = ?`, store.EmailKey(email)))
	if err != nil {
		return store.Person{}, notFound(err, "person with e-mail address", fmt.Sprintf("%q", email))
	}
	return p, nil
}

func (s *Store) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+personColumns+` FROM people
		WHERE ?1 = '' OR role = ?1 ORDER BY created_at, id`, string(role))
	out, err := collect(rows, err, scanPerson)
	if err != nil {
		return nil, fmt.Errorf("listing people: %w", err)
	}
	return out, nil
}

// ---- intakes ---------------------------------------------------------------

const intakeColumns = `id, name, programme_id, programme_version, opens_at, closes_at, starts_on,
	capacity, coordinator_id, status, created_at`

func scanIntake(row scanner) (store.Intake, error) {
	var in store.Intake
	var status string
	err := row.Scan(uuidCol{&in.ID}, &in.Name, &in.ProgrammeID, &in.ProgrammeVersion,
		timeCol{&in.OpensAt}, timeCol{&in.ClosesAt}, timeCol{&in.StartsOn},
		&in.Capacity, uuidCol{&in.CoordinatorID}, &status, timeCol{&in.CreatedAt})
	in.Status = store.IntakeStatus(status)
	return in, err
}

func (s *Store) CreateIntake(ctx context.Context, in store.Intake) error {
	in, err := store.PrepareIntake(in, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO intakes (`+intakeColumns+`, created_status)
			VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10) ON CONFLICT (id) DO NOTHING`,
			in.ID.String(), in.Name, in.ProgrammeID, in.ProgrammeVersion, nullTime(in.OpensAt), nullTime(in.ClosesAt),
			nullTime(in.StartsOn), in.Capacity, nullUUID(in.CoordinatorID), string(in.Status), fmtTime(in.CreatedAt))
		if err != nil {
			return fmt.Errorf("intake %s: %w", in.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return nil
		}
		old, err := scanIntake(tx.QueryRowContext(ctx, `SELECT `+intakeColumns+` FROM intakes WHERE id = ?`, in.ID.String()))
		if err != nil {
			return fmt.Errorf("intake %s: %w", in.ID, err)
		}
		if !store.SameIntake(old, in) {
			return fmt.Errorf("intake %s: %w: an intake with this ID exists with different details", in.ID, store.ErrConflict)
		}
		return nil
	})
}

func (s *Store) GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error) {
	in, err := scanIntake(s.read.QueryRowContext(ctx, `SELECT `+intakeColumns+` FROM intakes WHERE id = ?`, id.String()))
	if err != nil {
		return store.Intake{}, notFound(err, "intake", id)
	}
	return in, nil
}

func (s *Store) ListIntakes(ctx context.Context) ([]store.Intake, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+intakeColumns+` FROM intakes
		ORDER BY starts_on IS NULL, starts_on, created_at, id`)
	out, err := collect(rows, err, scanIntake)
	if err != nil {
		return nil, fmt.Errorf("listing intakes: %w", err)
	}
	return out, nil
}

// ---- events and projections --------------------------------------------------

func (s *Store) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	ev, msgs, err := store.PrepareRecord(ev, msgs, now())
	if err != nil {
		return false, err
	}
	snap, err := store.EncodeSnapshot(ev.Snapshot)
	if err != nil {
		return false, err
	}
	var data, snapshot any
	if ev.Data != nil {
		data = string(ev.Data)
	}
	if snap != nil {
		snapshot = string(snap)
	}
	recorded := false
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var seq int64
		err := tx.QueryRowContext(ctx, `INSERT INTO events
			(key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING RETURNING seq`,
			ev.Key, ev.IntakeID.String(), nullUUID(ev.JourneyID), ev.Type, fmtTime(ev.OccurredAt), data, snapshot,
			nullString(string(ev.IntakeStatus)), fmtTime(ev.RecordedAt)).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // already recorded
		}
		if err != nil {
			return fmt.Errorf("appending event %q: %w", ev.Key, err)
		}
		if ev.Snapshot != nil {
			if err := upsertJourney(ctx, tx, *ev.Snapshot, seq); err != nil {
				return err
			}
		}
		if ev.IntakeStatus != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE intakes SET status = ? WHERE id = ?`,
				string(ev.IntakeStatus), ev.IntakeID.String()); err != nil {
				return fmt.Errorf("updating status of intake %s: %w", ev.IntakeID, err)
			}
		}
		for _, m := range msgs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO outbox
				(key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id, channel, send_at, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
				m.Key, seq, m.IntakeID.String(), nullUUID(m.JourneyID), m.RecipientID.String(), string(m.Role), m.Template,
				m.ItemID, m.Channel, fmtTime(m.SendAt), string(m.Status), fmtTime(m.CreatedAt)); err != nil {
				return fmt.Errorf("queueing message %q: %w", m.Key, err)
			}
		}
		recorded = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("recording event %q: %w", ev.Key, err)
	}
	return recorded, nil
}

// upsertJourney makes snap the journey's projection row unless the row
// already reflects a later event.
func upsertJourney(ctx context.Context, tx *sql.Tx, snap store.JourneySnapshot, seq int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO journeys
		(journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome, updated_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (journey_id) DO UPDATE SET
			intake_id = excluded.intake_id, person_id = excluded.person_id, coach_id = excluded.coach_id,
			state = excluded.state, phase = excluded.phase, next_due_item = excluded.next_due_item,
			next_due_at = excluded.next_due_at, overdue_count = excluded.overdue_count,
			outcome = excluded.outcome, updated_seq = excluded.updated_seq
		WHERE journeys.updated_seq < excluded.updated_seq`,
		snap.JourneyID.String(), snap.IntakeID.String(), snap.PersonID.String(), nullUUID(snap.CoachID),
		snap.State, snap.Phase, snap.NextDueItem, nullTime(snap.NextDueAt), snap.OverdueCount, snap.Outcome, seq)
	if err != nil {
		return fmt.Errorf("projecting journey %s: %w", snap.JourneyID, err)
	}
	return nil
}

const eventColumns = `seq, key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at`

func scanEvent(row scanner) (store.Event, error) {
	var ev store.Event
	var data, snap, status sql.NullString
	if err := row.Scan(&ev.Seq, &ev.Key, uuidCol{&ev.IntakeID}, uuidCol{&ev.JourneyID}, &ev.Type,
		timeCol{&ev.OccurredAt}, &data, &snap, &status, timeCol{&ev.RecordedAt}); err != nil {
		return store.Event{}, err
	}
	var err error
	if ev.Data, err = store.CompactData([]byte(data.String)); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	if ev.Snapshot, err = store.DecodeSnapshot([]byte(snap.String)); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	ev.IntakeStatus = store.IntakeStatus(status.String)
	return ev, nil
}

func (s *Store) JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE journey_id = ? ORDER BY seq`, journeyID.String())
	out, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("listing events of journey %s: %w", journeyID, err)
	}
	return out, nil
}

func (s *Store) IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+eventColumns+` FROM events WHERE intake_id = ? ORDER BY seq`, intakeID.String())
	out, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("listing events of intake %s: %w", intakeID, err)
	}
	return out, nil
}

const journeyColumns = `journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome`

func scanJourney(row scanner) (store.JourneySnapshot, error) {
	var j store.JourneySnapshot
	err := row.Scan(uuidCol{&j.JourneyID}, uuidCol{&j.IntakeID}, uuidCol{&j.PersonID}, uuidCol{&j.CoachID},
		&j.State, &j.Phase, &j.NextDueItem, timeCol{&j.NextDueAt}, &j.OverdueCount, &j.Outcome)
	return j, err
}

func (s *Store) GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	j, err := scanJourney(s.read.QueryRowContext(ctx, `SELECT `+journeyColumns+` FROM journeys WHERE journey_id = ?`, journeyID.String()))
	if err != nil {
		return store.JourneySnapshot{}, notFound(err, "journey", journeyID)
	}
	return j, nil
}

func (s *Store) ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+journeyColumns+` FROM journeys WHERE intake_id = ? ORDER BY journey_id`, intakeID.String())
	out, err := collect(rows, err, scanJourney)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of intake %s: %w", intakeID, err)
	}
	return out, nil
}

func (s *Store) IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error) {
	type count struct {
		state string
		n     int
	}
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM journeys WHERE intake_id = ? GROUP BY state`, intakeID.String())
	all, err := collect(rows, err, func(r scanner) (count, error) {
		var c count
		return c, r.Scan(&c.state, &c.n)
	})
	if err != nil {
		return nil, fmt.Errorf("counting journeys of intake %s: %w", intakeID, err)
	}
	counts := make(map[string]int, len(all))
	for _, c := range all {
		counts[c.state] = c.n
	}
	return counts, nil
}

func (s *Store) RebuildProjections(ctx context.Context) error {
	// The write transaction holds SQLite's write lock throughout, so nothing
	// is recorded between reading the log and replacing the projections.
	return s.tx(ctx, func(tx *sql.Tx) error {
		type latest struct {
			seq  int64
			snap *store.JourneySnapshot
		}
		rows, err := tx.QueryContext(ctx, `SELECT seq, snapshot FROM events WHERE seq IN
			(SELECT max(seq) FROM events WHERE snapshot IS NOT NULL GROUP BY journey_id) ORDER BY seq`)
		all, err := collect(rows, err, func(r scanner) (latest, error) {
			var l latest
			var b string
			if err := r.Scan(&l.seq, &b); err != nil {
				return l, err
			}
			var err error
			l.snap, err = store.DecodeSnapshot([]byte(b))
			return l, err
		})
		if err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM journeys`); err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		for _, l := range all {
			if err := upsertJourney(ctx, tx, *l.snap, l.seq); err != nil {
				return fmt.Errorf("rebuilding projections: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE intakes SET status = COALESCE(
			(SELECT e.intake_status FROM events e WHERE e.intake_id = intakes.id AND e.intake_status IS NOT NULL
			 ORDER BY e.seq DESC LIMIT 1), created_status)`); err != nil {
			return fmt.Errorf("rebuilding intake statuses: %w", err)
		}
		return nil
	})
}

// ---- outbox ----------------------------------------------------------------

func (s *Store) ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error) {
	limit := -1 // no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.read.QueryContext(ctx, `SELECT key, intake_id, journey_id, recipient_id, role, template, item_id,
			channel, send_at, status, created_at
		FROM outbox
		WHERE (?1 IS NULL OR intake_id = ?1) AND (?2 IS NULL OR journey_id = ?2)
		  AND (?3 IS NULL OR recipient_id = ?3) AND (?4 = '' OR status = ?4)
		ORDER BY send_at, id LIMIT ?5`,
		nullUUID(f.IntakeID), nullUUID(f.JourneyID), nullUUID(f.RecipientID), string(f.Status), limit)
	out, err := collect(rows, err, func(row scanner) (store.Message, error) {
		var m store.Message
		var role, status string
		err := row.Scan(&m.Key, uuidCol{&m.IntakeID}, uuidCol{&m.JourneyID}, uuidCol{&m.RecipientID}, &role,
			&m.Template, &m.ItemID, &m.Channel, timeCol{&m.SendAt}, &status, timeCol{&m.CreatedAt})
		m.Role, m.Status = store.Role(role), store.MessageStatus(status)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return out, nil
}

// ---- notes -----------------------------------------------------------------

const noteColumns = `id, author_id, journey_id, body, created_at`

func scanNote(row scanner) (store.Note, error) {
	var n store.Note
	err := row.Scan(uuidCol{&n.ID}, uuidCol{&n.AuthorID}, uuidCol{&n.JourneyID}, &n.Body, timeCol{&n.CreatedAt})
	return n, err
}

func (s *Store) SaveNote(ctx context.Context, n store.Note) error {
	n, err := store.PrepareNote(n, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO notes (`+noteColumns+`) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (id) DO NOTHING`, n.ID.String(), n.AuthorID.String(), nullUUID(n.JourneyID), n.Body, fmtTime(n.CreatedAt))
		if err != nil {
			return fmt.Errorf("saving note %s: %w", n.ID, err)
		}
		if k, err := res.RowsAffected(); err != nil {
			return err
		} else if k == 1 {
			return nil
		}
		old, err := scanNote(tx.QueryRowContext(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = ?`, n.ID.String()))
		if err != nil {
			return fmt.Errorf("saving note %s: %w", n.ID, err)
		}
		if !store.SameNote(old, n) {
			return fmt.Errorf("note %s: %w: a note with this ID exists with different contents", n.ID, store.ErrConflict)
		}
		return nil
	})
}

func (s *Store) GetNote(ctx context.Context, id uuid.UUID) (store.Note, error) {
	n, err := scanNote(s.read.QueryRowContext(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = ?`, id.String()))
	if err != nil {
		return store.Note{}, notFound(err, "note", id)
	}
	return n, nil
}
