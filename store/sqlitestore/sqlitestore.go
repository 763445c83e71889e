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
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by SQLite.
type Store struct {
	write *sql.DB // exactly one connection: all writes queue for it
	read  *readDB // read-only connections; write's one for ":memory:"
	// recording are Record's statements, prepared once on the write
	// connection: SQLite parses a statement each time it runs one
	// unprepared, which was a fifth of the time a journey's records took.
	recording recordStatements
}

// recordStatements are the statements of writeTx's methods that Record runs.
type recordStatements struct {
	appendEvent, upsertJourney, setIntakeStatus, queueMessage *sql.Stmt
	// Those of a fenced event's common case (a new event at the head).
	streamHead, setStreamHead *sql.Stmt
}

// prepare prepares them, on the write connection (before any transaction
// holds it: it is the only one).
func (r *recordStatements) prepare(ctx context.Context, db *sql.DB) error {
	for _, p := range []struct {
		into  **sql.Stmt
		query string
	}{
		{&r.appendEvent, appendEventSQL}, {&r.upsertJourney, upsertJourneySQL},
		{&r.setIntakeStatus, setIntakeStatusSQL}, {&r.queueMessage, queueMessageSQL},
		{&r.streamHead, streamHeadSQL}, {&r.setStreamHead, fenceSQL.SetStreamHead},
	} {
		st, err := db.PrepareContext(ctx, p.query)
		if err != nil {
			return fmt.Errorf("preparing %q: %w", p.query, err)
		}
		*p.into = st
	}
	return nil
}

func (r *recordStatements) close() {
	for _, st := range []*sql.Stmt{r.appendEvent, r.upsertJourney, r.setIntakeStatus, r.queueMessage, r.streamHead, r.setStreamHead} {
		if st != nil {
			st.Close()
		}
	}
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
	s := &Store{write: write, read: newReadDB(write)}
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: opening %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlitestore: migrating %s: %w", path, err)
	}
	if err := s.recording.prepare(ctx, write); err != nil {
		s.recording.close()
		write.Close()
		return nil, fmt.Errorf("sqlitestore: %s: %w", path, err)
	}
	if path != ":memory:" {
		read, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
		if err != nil {
			s.recording.close()
			write.Close()
			return nil, fmt.Errorf("sqlitestore: %w", err)
		}
		// Every connection stays open when idle (database/sql keeps two by
		// default), so the read statements prepared on it stay prepared.
		conns := max(4, runtime.GOMAXPROCS(0))
		read.SetMaxOpenConns(conns)
		read.SetMaxIdleConns(conns)
		s.read = newReadDB(read)
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

// Ping checks that the database can be written, which is what activities need.
func (s *Store) Ping(ctx context.Context) error { return s.write.PingContext(ctx) }

// Close closes the database.
func (s *Store) Close() {
	s.recording.close()
	s.read.closeStatements()
	if s.read.DB != s.write {
		s.read.DB.Close()
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

// Times are stored as TEXT in sqlstore.TimeLayout, which sorts as it compares.
func fmtTime(t time.Time) string { return store.StoredTime(t).UTC().Format(sqlstore.TimeLayout) }

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

// boolInt stores a bool as SQLite's 0 or 1.
func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// collect scans every row with scan and closes rows; err is the error from the query.
func collect[T any](rows *sql.Rows, err error, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlstore.Collect(rows, scan)
}

// inserted reports whether an INSERT … ON CONFLICT DO NOTHING added its row.
func inserted(res sql.Result, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ---- people ----------------------------------------------------------------

func (s *Store) CreatePeople(ctx context.Context, people []store.Person) error {
	rows, err := store.PreparePeople(people, now())
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return sqlstore.CreatePeople(rows, func(p store.Person) (bool, error) {
			return inserted(tx.ExecContext(ctx, `INSERT INTO people (`+sqlstore.PersonColumns+`, email_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) ON CONFLICT DO NOTHING`,
				p.ID.String(), string(p.Role), p.GivenName, p.FamilyName, p.EmailAddress,
				p.LocalAuthority, p.Theme, string(p.Language), fmtTime(p.CreatedAt), store.EmailKey(p.EmailAddress)))
		}, func(id uuid.UUID) (store.Person, error) {
			return sqlstore.ScanPerson(tx.QueryRowContext(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE id = ?`, id.String()))
		})
	})
}

func (s *Store) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	p, err := sqlstore.ScanPerson(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE id = ?`, id.String()))
	if err != nil {
		return store.Person{}, sqlstore.NotFound(err, "person", id)
	}
	return p, nil
}

func (s *Store) FindPersonByEmail(ctx context.Context, email string) (store.Person, error) {
	p, err := sqlstore.ScanPerson(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE email_key = ?`, store.EmailKey(email)))
	if err != nil {
		return store.Person{}, sqlstore.NotFound(err, "person with e-mail address", fmt.Sprintf("%q", email))
	}
	return p, nil
}

func (s *Store) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people
		WHERE ?1 = '' OR role = ?1 ORDER BY created_at, id`, string(role))
	out, err := collect(rows, err, sqlstore.ScanPerson)
	if err != nil {
		return nil, fmt.Errorf("listing people: %w", err)
	}
	return out, nil
}

// ---- intakes ---------------------------------------------------------------

func (s *Store) CreateIntake(ctx context.Context, in store.Intake) error {
	in, err := store.PrepareIntake(in, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return sqlstore.CreateIntake(in, func() (bool, error) {
			return inserted(tx.ExecContext(ctx, `INSERT INTO intakes (`+sqlstore.IntakeColumns+`, created_status)
				VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?10) ON CONFLICT (id) DO NOTHING`,
				in.ID.String(), in.Name, in.ProgrammeID, in.ProgrammeVersion, nullTime(in.OpensAt), nullTime(in.ClosesAt),
				nullTime(in.StartsOn), in.Capacity, nullUUID(in.CoordinatorID), string(in.Status), fmtTime(in.CreatedAt)))
		}, func() (store.Intake, error) {
			return sqlstore.ScanIntake(tx.QueryRowContext(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes WHERE id = ?`, in.ID.String()))
		})
	})
}

func (s *Store) GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error) {
	in, err := sqlstore.ScanIntake(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes WHERE id = ?`, id.String()))
	if err != nil {
		return store.Intake{}, sqlstore.NotFound(err, "intake", id)
	}
	return in, nil
}

func (s *Store) UpdateIntake(ctx context.Context, id uuid.UUID, name string, capacity int) error {
	return sqlstore.UpdateIntake(id, name, capacity, func(name string) (bool, error) {
		return inserted(s.write.ExecContext(ctx, `UPDATE intakes SET name = ?1, capacity = ?2 WHERE id = ?3`, name, capacity, id.String()))
	})
}

func (s *Store) ListIntakes(ctx context.Context) ([]store.Intake, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes
		ORDER BY starts_on IS NULL, starts_on, created_at, id`)
	out, err := collect(rows, err, sqlstore.ScanIntake)
	if err != nil {
		return nil, fmt.Errorf("listing intakes: %w", err)
	}
	return out, nil
}

// ---- events and projections --------------------------------------------------

func (s *Store) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	return sqlstore.Record(ev, msgs, now(), func(fn func(sqlstore.Tx) error) error {
		return s.tx(ctx, func(tx *sql.Tx) error { return fn(writeTx{ctx, tx, &s.recording}) })
	})
}

// writeTx is a transaction's statements for sqlstore.Record and sqlstore.RebuildProjections.
type writeTx struct {
	ctx   context.Context
	tx    *sql.Tx
	stmts *recordStatements
}

// in is a prepared statement run in the transaction.
func (w writeTx) in(st *sql.Stmt) *sql.Stmt { return w.tx.StmtContext(w.ctx, st) }

// Record's statements (recordStatements).
const (
	appendEventSQL = `INSERT INTO events
		(key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at, stream, stream_seq, fence)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (key) DO NOTHING RETURNING seq`
	upsertJourneySQL = `INSERT INTO journeys
		(journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome,
		 checkpoints, updated_seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (journey_id) DO UPDATE SET
			intake_id = excluded.intake_id, person_id = excluded.person_id, coach_id = excluded.coach_id,
			state = excluded.state, phase = excluded.phase, next_due_item = excluded.next_due_item,
			next_due_at = excluded.next_due_at, overdue_count = excluded.overdue_count,
			outcome = excluded.outcome, checkpoints = excluded.checkpoints, updated_seq = excluded.updated_seq
		WHERE journeys.updated_seq < excluded.updated_seq`
	setIntakeStatusSQL = `UPDATE intakes SET status = ? WHERE id = ?`
	queueMessageSQL    = `INSERT INTO outbox
		(key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id,
		 item_starts_at, item_ends_at, revision, cancels, channel, send_at, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`
	streamHeadSQL = `SELECT fence, seq FROM event_streams WHERE stream = ?`
)

// fenceSQL are the statements of fenced events that PostgreSQL writes alike.
var fenceSQL = sqlstore.FenceStatements("?")

// jsonText stores JSON as TEXT, and nil as NULL.
func jsonText(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

func (w writeTx) AppendEvent(ev store.Event, snapshot []byte) (int64, bool, error) {
	var seq int64
	stream, streamSeq, fence := sqlstore.AttemptValues(ev.Attempt)
	err := w.in(w.stmts.appendEvent).QueryRowContext(w.ctx,
		ev.Key, ev.IntakeID.String(), nullUUID(ev.JourneyID), ev.Type, fmtTime(ev.OccurredAt),
		jsonText(ev.Data), jsonText(snapshot), nullString(string(ev.IntakeStatus)), fmtTime(ev.RecordedAt),
		stream, streamSeq, fence).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

func (w writeTx) UpsertJourney(snap store.JourneySnapshot, checkpoints []byte, seq int64) error {
	_, err := w.in(w.stmts.upsertJourney).ExecContext(w.ctx,
		snap.JourneyID.String(), snap.IntakeID.String(), snap.PersonID.String(), nullUUID(snap.CoachID),
		snap.State, snap.Phase, snap.NextDueItem, nullTime(snap.NextDueAt), snap.OverdueCount, snap.Outcome,
		jsonText(checkpoints), seq)
	return err
}

func (w writeTx) SetIntakeStatus(intakeID uuid.UUID, status store.IntakeStatus) error {
	_, err := w.in(w.stmts.setIntakeStatus).ExecContext(w.ctx, string(status), intakeID.String())
	return err
}

func (w writeTx) QueueMessage(m store.Message, eventSeq int64) error {
	_, err := w.in(w.stmts.queueMessage).ExecContext(w.ctx,
		m.Key, eventSeq, m.IntakeID.String(), nullUUID(m.JourneyID), m.RecipientID.String(), string(m.Role), m.Template,
		m.ItemID, nullTime(m.ItemStartsAt), nullTime(m.ItemEndsAt), m.Revision, boolInt(m.Cancels),
		m.Channel, fmtTime(m.SendAt), string(m.Status), fmtTime(m.CreatedAt))
	return err
}

func (w writeTx) RebuildJourneyFacts() error { return w.journeyFacts("") }

func (w writeTx) RebuildJourneyFactsOf(journeyID uuid.UUID) error {
	return w.journeyFacts("?1", journeyID.String())
}

// journeyFacts runs sqlstore.JourneyFactsFromEvents for journey ("" or
// "?1", with args its ID).
func (w writeTx) journeyFacts(journey string, args ...any) error {
	for _, q := range sqlstore.JourneyFactsFromEvents(`COALESCE(json_extract(data, '$.item'), '')`, `json_extract(snapshot, '$.outcome')`, journey) {
		if _, err := w.tx.ExecContext(w.ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (w writeTx) LatestSnapshots() ([]sqlstore.Latest, error) {
	rows, err := w.tx.QueryContext(w.ctx, sqlstore.LatestSnapshots(""))
	return collect(rows, err, sqlstore.ScanLatest)
}

func (w writeTx) LatestSnapshotOf(journeyID uuid.UUID) (sqlstore.Latest, error) {
	return sqlstore.ScanLatest(w.tx.QueryRowContext(w.ctx, sqlstore.LatestSnapshots("?1"), journeyID.String()))
}

func (w writeTx) DeleteJourneys() error {
	_, err := w.tx.ExecContext(w.ctx, `DELETE FROM journeys`)
	return err
}

func (w writeTx) DeleteJourney(journeyID uuid.UUID) error {
	_, err := w.tx.ExecContext(w.ctx, fenceSQL.DeleteJourney, journeyID.String())
	return err
}

func (w writeTx) ResetIntakeStatuses() error {
	_, err := w.tx.ExecContext(w.ctx, sqlstore.ResetIntakeStatuses(""))
	return err
}

func (w writeTx) ResetIntakeStatus(intakeID uuid.UUID) error {
	_, err := w.tx.ExecContext(w.ctx, sqlstore.ResetIntakeStatuses("?1"), intakeID.String())
	return err
}

func (w writeTx) LockStream(stream string) (sqlstore.Head, error) {
	// The write transaction (BEGIN IMMEDIATE) keeps every other writer out
	// already: reading the head is enough. A new stream's is (0, 0), and
	// SetStreamHead adds it.
	var h sqlstore.Head
	err := w.in(w.stmts.streamHead).QueryRowContext(w.ctx, stream).Scan(&h.Fence, &h.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return sqlstore.Head{}, nil
	}
	return h, err
}

func (w writeTx) SetStreamHead(stream string, h sqlstore.Head) error {
	_, err := w.in(w.stmts.setStreamHead).ExecContext(w.ctx, stream, h.Fence, h.Seq)
	return err
}

func (w writeTx) Refence(key string, fence int64) error {
	_, err := w.tx.ExecContext(w.ctx, fenceSQL.Refence, key, fence)
	return err
}

func (w writeTx) RecordedAs(key string) (sqlstore.Recorded, error) {
	return sqlstore.ScanRecorded(w.tx.QueryRowContext(w.ctx, fenceSQL.RecordedAs, key))
}

func (w writeTx) DropQueuedMessages(stream string, from int64) error {
	_, err := w.tx.ExecContext(w.ctx, fenceSQL.DropQueuedMessages, stream, from)
	return err
}

func (w writeTx) DropEvents(stream string, from int64) ([]sqlstore.Dropped, error) {
	rows, err := w.tx.QueryContext(w.ctx, fenceSQL.DropEvents, stream, from)
	return collect(rows, err, sqlstore.ScanDropped)
}

func (s *Store) JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.EventColumns+` FROM events WHERE journey_id = ? ORDER BY seq`, journeyID.String())
	out, err := collect(rows, err, sqlstore.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("listing events of journey %s: %w", journeyID, err)
	}
	return out, nil
}

func (s *Store) IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.EventColumns+` FROM events WHERE intake_id = ? ORDER BY seq`, intakeID.String())
	out, err := collect(rows, err, sqlstore.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("listing events of intake %s: %w", intakeID, err)
	}
	return out, nil
}

func (s *Store) GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	j, err := sqlstore.ScanJourney(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.JourneyColumns+` FROM journeys WHERE journey_id = ?`, journeyID.String()))
	if err != nil {
		return store.JourneySnapshot{}, sqlstore.NotFound(err, "journey", journeyID)
	}
	return j, nil
}

func (s *Store) ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.JourneyColumns+` FROM journeys WHERE intake_id = ? ORDER BY journey_id`, intakeID.String())
	out, err := collect(rows, err, sqlstore.ScanJourney)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of intake %s: %w", intakeID, err)
	}
	return out, nil
}

func (s *Store) JourneyOutcomes(ctx context.Context, intakeID uuid.UUID) ([]store.JourneyOutcome, error) {
	rows, err := s.read.QueryContext(ctx, sqlstore.JourneyOutcomes("?1"), intakeID.String())
	out, err := collect(rows, err, sqlstore.ScanJourneyOutcome)
	if err != nil {
		return nil, fmt.Errorf("counting the outcomes of intake %s's journeys: %w", intakeID, err)
	}
	return out, nil
}

func (s *Store) Roster(ctx context.Context, intakeID uuid.UUID, page store.RosterPage, each func(store.RosterEntry) error) error {
	query, args := sqlstore.Roster(func(n int) string { return "?" + strconv.Itoa(n) }, func(id uuid.UUID) any { return id.String() },
		"", intakeID, page)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("listing the journeys of intake %s with their people: %w", intakeID, err)
	}
	defer rows.Close()
	return sqlstore.Each(rows, sqlstore.ScanRosterEntry, each, func(err error) error {
		return fmt.Errorf("listing the journeys of intake %s with their people: %w", intakeID, err)
	})
}

func (s *Store) IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, count(*) FROM journeys WHERE intake_id = ? GROUP BY state`, intakeID.String())
	if err != nil {
		return nil, fmt.Errorf("counting journeys of intake %s: %w", intakeID, err)
	}
	defer rows.Close()
	counts, err := sqlstore.StateCounts(rows)
	if err != nil {
		return nil, fmt.Errorf("counting journeys of intake %s: %w", intakeID, err)
	}
	return counts, nil
}

func (s *Store) TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.Tally, error) {
	var args []any
	param := ""
	if intakeID != uuid.Nil {
		args, param = []any{intakeID.String()}, "?1"
	}
	rows, err := s.read.QueryContext(ctx, sqlstore.TallyJourneys(param), args...)
	out, err := collect(rows, err, sqlstore.ScanTally)
	if err != nil {
		return nil, fmt.Errorf("tallying journeys: %w", err)
	}
	return out, nil
}

func (s *Store) RebuildProjections(ctx context.Context) error {
	// The write transaction holds SQLite's write lock throughout, so nothing
	// is recorded between reading the log and replacing the projections.
	return s.tx(ctx, func(tx *sql.Tx) error { return sqlstore.RebuildProjections(writeTx{ctx, tx, &s.recording}) })
}

// ---- outbox ----------------------------------------------------------------

func (s *Store) ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error) {
	limit := -1 // no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.MessageColumns+`
		FROM outbox
		WHERE (?1 IS NULL OR intake_id = ?1) AND (?2 IS NULL OR journey_id = ?2)
		  AND (?3 IS NULL OR recipient_id = ?3) AND (?4 = '' OR status = ?4)
		ORDER BY send_at, id LIMIT ?5`,
		nullUUID(f.IntakeID), nullUUID(f.JourneyID), nullUUID(f.RecipientID), string(f.Status), limit)
	out, err := collect(rows, err, sqlstore.ScanMessage)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return out, nil
}

func (s *Store) SentEmails(ctx context.Context, recipient uuid.UUID, from, to time.Time) (int, error) {
	var n int
	err := s.read.QueryRowContext(ctx, sqlstore.SentEmailsQuery, recipient.String(), fmtTime(from), fmtTime(to)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting the e-mails sent to %s: %w", recipient, err)
	}
	return n, nil
}

func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.Message, error) {
	rows, err := s.read.QueryContext(ctx, sqlstore.DueMessagesQuery, fmtTime(now), sqlstore.DueLimit(limit))
	out, err := collect(rows, err, sqlstore.ScanMessage)
	if err != nil {
		return nil, fmt.Errorf("listing due messages: %w", err)
	}
	return out, nil
}

// ClaimDue runs in a write transaction: SQLite's single writer keeps every
// other claim, in this process or another, out until it commits.
func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Message, error) {
	return sqlstore.Claim(owner, now, lease, limit, func(fn func(sqlstore.ClaimTx) error) error {
		return s.tx(ctx, func(tx *sql.Tx) error { return fn(claimTx{ctx, tx}) })
	})
}

// claimTx is a transaction's statements for sqlstore.Claim.
type claimTx struct {
	ctx context.Context
	tx  *sql.Tx
}

func (c claimTx) Candidates(now time.Time, limit int) ([]sqlstore.Candidate, error) {
	rows, err := c.tx.QueryContext(c.ctx, sqlstore.ClaimCandidatesQuery, fmtTime(now), limit)
	return collect(rows, err, sqlstore.ScanCandidate)
}

// Lock has nothing to do: no other claim runs while this write transaction
// does, so the candidates it read are as they are.
func (c claimTx) Lock(ids []int64, _ time.Time) ([]int64, error) { return ids, nil }

func (c claimTx) Stamp(ids []int64, owner string, until time.Time) ([]sqlstore.Claimed, error) {
	rows, err := c.tx.QueryContext(c.ctx, `UPDATE outbox SET claimed_by = ?1, claimed_until = ?2
		WHERE id IN (SELECT value FROM json_each(?3)) RETURNING `+sqlstore.ClaimedColumns,
		owner, fmtTime(until), jsonList(ids))
	return collect(rows, err, sqlstore.ScanClaimed)
}

// jsonList passes a list as one argument, a JSON array for json_each.
func jsonList[T any](list []T) string {
	b, err := json.Marshal(list)
	if err != nil {
		panic(err) // numbers and strings always marshal
	}
	return string(b)
}

func (s *Store) ReleaseClaims(ctx context.Context, owner string, keys ...string) error {
	return sqlstore.ReleaseClaims(owner, keys, func() error {
		_, err := s.write.ExecContext(ctx, `UPDATE outbox SET claimed_by = '', claimed_until = NULL
			WHERE claimed_by = ?1 AND key IN (SELECT value FROM json_each(?2))`, owner, jsonList(keys))
		return err
	})
}

// transition runs u in a write transaction, with the statements of tx.
func (s *Store) transition(ctx context.Context, u sqlstore.Update, update string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		u.Apply = func() (bool, error) { return inserted(tx.ExecContext(ctx, update, args...)) }
		u.State = func() (store.MessageStatus, string, error) {
			var status, holder string
			err := tx.QueryRowContext(ctx, sqlstore.StateQuery, u.Key).Scan(&status, &holder)
			return store.MessageStatus(status), holder, err
		}
		return sqlstore.Transition(u)
	})
}

func (s *Store) MarkSent(ctx context.Context, key, messageID string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	return s.transition(ctx, sqlstore.Update{What: "marking sent", Key: key, Done: []store.MessageStatus{store.MessageSent}},
		`UPDATE outbox SET status = 'sent', sent_at = ?, message_id = ?, next_attempt_at = NULL,
			claimed_by = '', claimed_until = NULL
		 WHERE key = ? AND status IN ('queued', 'failed')`, fmtTime(at), messageID, key)
}

func (s *Store) MarkRetry(ctx context.Context, owner, key string, next time.Time, reason string) error {
	const what = "marking for retry"
	if err := sqlstore.CheckTime(what, key, "time of the next attempt", next); err != nil {
		return err
	}
	if err := sqlstore.CheckReason(what, key, reason); err != nil {
		return err
	}
	return s.transition(ctx, sqlstore.Update{What: what, Key: key, Owner: owner},
		`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
			claimed_by = '', claimed_until = NULL
		 WHERE key = ? AND status = 'queued' AND claimed_by IN ('', ?)`, fmtTime(next), sqlstore.Reason(reason), key, owner)
}

func (s *Store) MarkFailed(ctx context.Context, owner, key, reason string) error {
	const what = "marking failed"
	if err := sqlstore.CheckReason(what, key, reason); err != nil {
		return err
	}
	return s.transition(ctx, sqlstore.Update{What: what, Key: key, Owner: owner, Done: []store.MessageStatus{store.MessageFailed}},
		`UPDATE outbox SET status = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = ?,
			claimed_by = '', claimed_until = NULL
		 WHERE key = ? AND status = 'queued' AND claimed_by IN ('', ?)`, sqlstore.Reason(reason), key, owner)
}

// Defer always updates a queued row it may change, even one whose SendAt
// stays, so that the claim ends either way.
func (s *Store) Defer(ctx context.Context, owner, key string, until time.Time) error {
	const what = "deferring"
	if err := sqlstore.CheckTime(what, key, "time to defer to", until); err != nil {
		return err
	}
	return s.transition(ctx, sqlstore.Update{What: what, Key: key, Owner: owner},
		`UPDATE outbox SET send_at = max(send_at, ?1), claimed_by = '', claimed_until = NULL
		 WHERE key = ?2 AND status = 'queued' AND claimed_by IN ('', ?3)`, fmtTime(until), key, owner)
}

// ---- notes -----------------------------------------------------------------

func (s *Store) SaveNote(ctx context.Context, n store.Note) error {
	n, err := store.PrepareNote(n, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		return sqlstore.SaveNote(n, func() (bool, error) {
			return inserted(tx.ExecContext(ctx, `INSERT INTO notes (`+sqlstore.NoteColumns+`) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (id) DO NOTHING`, n.ID.String(), n.AuthorID.String(), nullUUID(n.JourneyID), n.Body, fmtTime(n.CreatedAt)))
		}, func() (store.Note, error) {
			return sqlstore.ScanNote(tx.QueryRowContext(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE id = ?`, n.ID.String()))
		})
	})
}

func (s *Store) DeleteNote(ctx context.Context, id uuid.UUID) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM notes WHERE id = ?`, id.String())
	return err
}

func (s *Store) GetNote(ctx context.Context, id uuid.UUID) (store.Note, error) {
	n, err := sqlstore.ScanNote(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE id = ?`, id.String()))
	if err != nil {
		return store.Note{}, sqlstore.NotFound(err, "note", id)
	}
	return n, nil
}

// ---- certificates ------------------------------------------------------------

func (s *Store) IssueCertificate(ctx context.Context, journeyID, personID, intakeID uuid.UUID, at time.Time) (store.Certificate, error) {
	c, err := store.PrepareCertificate(journeyID, personID, intakeID, at)
	if err != nil {
		return store.Certificate{}, err
	}
	var out store.Certificate
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = sqlstore.IssueCertificate(c, func(c store.Certificate) (bool, error) {
			return inserted(tx.ExecContext(ctx, `INSERT INTO certificates (`+sqlstore.CertificateColumns+`)
				VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				c.Code, c.JourneyID.String(), c.PersonID.String(), c.IntakeID.String(), fmtTime(c.IssuedAt)))
		}, func() (store.Certificate, error) {
			return sqlstore.ScanCertificate(tx.QueryRowContext(ctx, `SELECT `+sqlstore.CertificateColumns+`
				FROM certificates WHERE journey_id = ?`, c.JourneyID.String()))
		})
		return err
	})
	return out, err
}

func (s *Store) VerifyCertificate(ctx context.Context, code string) (store.Certificate, error) {
	norm, ok := store.NormalizeCertificateCode(code)
	if !ok {
		return store.Certificate{}, sqlstore.CertificateNotFound(code)
	}
	c, err := sqlstore.ScanCertificate(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.CertificateColumns+`
		FROM certificates WHERE code = ?`, norm))
	if err != nil {
		return store.Certificate{}, sqlstore.NotFound(err, "certificate with code", fmt.Sprintf("%q", code))
	}
	return c, nil
}

func (s *Store) CertificateOf(ctx context.Context, journeyID uuid.UUID) (store.Certificate, error) {
	c, err := sqlstore.ScanCertificate(s.read.QueryRowContext(ctx, `SELECT `+sqlstore.CertificateColumns+`
		FROM certificates WHERE journey_id = ?`, journeyID.String()))
	if err != nil {
		return store.Certificate{}, sqlstore.NotFound(err, "certificate of journey", journeyID)
	}
	return c, nil
}

// ---- API tokens ------------------------------------------------------------------

func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) (string, store.APIToken, error) {
	return sqlstore.CreateAPIToken(t, now(),
		func() (store.Person, error) { return s.GetPerson(ctx, t.PersonID) },
		func(tok store.APIToken, hash string) error {
			_, err := s.write.ExecContext(ctx, `INSERT INTO api_tokens (id, person_id, role, name, token_hash, created_at, expires_at)
				VALUES (?, ?, ?, ?, ?, ?, ?)`, tok.ID.String(), tok.PersonID.String(), string(tok.Role), tok.Name, hash,
				fmtTime(tok.CreatedAt), nullTime(tok.ExpiresAt))
			return err
		})
}

func (s *Store) AuthenticateAPIToken(ctx context.Context, plaintext string, at time.Time) (store.APIToken, error) {
	return sqlstore.AuthenticateAPIToken(plaintext, at,
		func(hash string) sqlstore.Scanner {
			return s.read.QueryRowContext(ctx, `SELECT `+sqlstore.APITokenColumns+`
				FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL`+sqlstore.LivePersonToken, hash)
		},
		func(id uuid.UUID, at time.Time) error {
			_, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ?2 WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)`,
				id.String(), fmtTime(at))
			return err
		})
}

func (s *Store) APITokensOf(ctx context.Context, personID uuid.UUID) ([]store.APIToken, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.APITokenColumns+` FROM api_tokens
		WHERE ?1 = '00000000-0000-0000-0000-000000000000' OR person_id = ?1 ORDER BY created_at DESC, id`, personID.String())
	return collect(rows, err, sqlstore.ScanAPIToken)
}

func (s *Store) RevokeAPIToken(ctx context.Context, id uuid.UUID) error {
	res, err := s.write.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`,
		fmtTime(now()), id.String())
	if err != nil {
		return fmt.Errorf("revoking API token %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("API token %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// ---- sign-in links and web sessions -------------------------------------------

func (s *Store) CreateSignInLink(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, error) {
	return s.CreateSignInLinkUpTo(ctx, personID, now, expiresAt, 0)
}

func (s *Store) CreateSignInLinkUpTo(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time, maxLive int) (string, error) {
	return sqlstore.CreateSignInLink(personID, now, expiresAt,
		func() (store.Person, error) { return s.GetPerson(ctx, personID) },
		func(hash string, now, expiresAt time.Time) error {
			// One writer: the count and the insert are not interleaved
			// with another's.
			return s.tx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_links WHERE expires_at <= ?`, fmtTime(now)); err != nil {
					return err
				}
				if maxLive > 0 {
					var live int
					err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sign_in_links WHERE person_id = ? AND expires_at > ?`,
						personID.String(), fmtTime(now)).Scan(&live)
					if err != nil {
						return err
					}
					if live >= maxLive {
						return sqlstore.MaxLiveReached(personID, maxLive)
					}
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO sign_in_links (token_hash, person_id, created_at, expires_at)
					VALUES (?, ?, ?, ?)`, hash, personID.String(), fmtTime(now), fmtTime(expiresAt))
				return err
			})
		})
}

func (s *Store) RedeemSignInLink(ctx context.Context, plaintext string, now time.Time) (uuid.UUID, error) {
	return sqlstore.RedeemSignInLink(plaintext, func(hash string) sqlstore.Scanner {
		return s.write.QueryRowContext(ctx, `DELETE FROM sign_in_links
			WHERE token_hash = ? AND expires_at > ?
			  AND person_id IN (SELECT id FROM people WHERE erased_at IS NULL)
			RETURNING person_id`, hash, fmtTime(now))
	})
}

func (s *Store) CreateWebSession(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, store.WebSession, error) {
	return sqlstore.CreateWebSession(personID, now, expiresAt,
		func() (store.Person, error) { return s.GetPerson(ctx, personID) },
		func(ws store.WebSession, hash string) error {
			_, err := s.write.ExecContext(ctx, `INSERT INTO web_sessions (id, token_hash, person_id, created_at, expires_at)
				VALUES (?, ?, ?, ?, ?)`, ws.ID.String(), hash, ws.PersonID.String(), fmtTime(ws.CreatedAt), fmtTime(ws.ExpiresAt))
			return err
		})
}

func (s *Store) AuthenticateWebSession(ctx context.Context, plaintext string, now time.Time) (store.WebSession, error) {
	return sqlstore.AuthenticateWebSession(plaintext, func(hash string) sqlstore.Scanner {
		return s.read.QueryRowContext(ctx, `SELECT `+sqlstore.WebSessionColumns+`
			FROM web_sessions s JOIN people p ON p.id = s.person_id
			WHERE s.token_hash = ? AND s.ended_at IS NULL AND s.expires_at > ? AND p.erased_at IS NULL`,
			hash, fmtTime(now))
	})
}

func (s *Store) EndWebSession(ctx context.Context, plaintext string) error {
	_, err := s.write.ExecContext(ctx, `UPDATE web_sessions SET ended_at = ? WHERE token_hash = ? AND ended_at IS NULL`,
		fmtTime(now()), store.HashAPIToken(plaintext))
	if err != nil {
		return fmt.Errorf("ending a web session: %w", err)
	}
	return nil
}

func (s *Store) WebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) ([]store.WebSession, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.WebSessionColumns+`
		FROM web_sessions s JOIN people p ON p.id = s.person_id
		WHERE s.person_id = ? AND s.ended_at IS NULL AND s.expires_at > ? ORDER BY s.created_at DESC, s.id`, personID.String(), fmtTime(now))
	out, err := collect(rows, err, sqlstore.ScanWebSession)
	if err != nil {
		return nil, fmt.Errorf("listing the sessions of person %s: %w", personID, err)
	}
	return out, nil
}

func (s *Store) EndWebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE web_sessions SET ended_at = ?2 WHERE person_id = ?1 AND ended_at IS NULL AND expires_at > ?2`,
			personID.String(), fmtTime(now))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM sign_in_links WHERE person_id = ?`, personID.String())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ending the sessions of person %s: %w", personID, err)
	}
	return int(n), nil
}

// ---- idempotency records -------------------------------------------------------

func getIdempotencyRecord(ctx context.Context, tx *sql.Tx, principalID uuid.UUID, key string) (store.IdempotencyRecord, error) {
	return sqlstore.ScanIdempotencyRecord(tx.QueryRowContext(ctx, `SELECT `+sqlstore.IdempotencyColumns+`
		FROM idempotency_keys WHERE principal_id = ? AND key = ?`, principalID.String(), key))
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, c store.IdempotencyClaim) (store.IdempotencyRecord, bool, error) {
	var rec store.IdempotencyRecord
	var claimed bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		rec, claimed, err = sqlstore.ClaimIdempotencyKey(c,
			func(r store.IdempotencyRecord) (bool, error) {
				return inserted(tx.ExecContext(ctx, `INSERT INTO idempotency_keys AS k (principal_id, key, fingerprint, claim_token, created_at)
					VALUES (?, ?, ?, ?, ?)
					ON CONFLICT (principal_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, claim_token = excluded.claim_token,
						created_at = excluded.created_at, status = 0, content_type = '', body = NULL
					WHERE (k.status = 0 AND k.created_at < ?) OR k.created_at < ?`,
					r.PrincipalID.String(), r.Key, r.Fingerprint, r.Token, fmtTime(r.CreatedAt), fmtTime(c.StaleBefore), fmtTime(c.ForgetBefore)))
			}, func() (store.IdempotencyRecord, error) { return getIdempotencyRecord(ctx, tx, c.PrincipalID, c.Key) })
		return err
	})
	return rec, claimed, err
}

func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return sqlstore.CompleteIdempotencyKey(rec, func() (bool, error) {
			return inserted(tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?
				WHERE principal_id = ? AND key = ? AND claim_token = ? AND status = 0`,
				rec.Status, rec.ContentType, rec.Body, rec.PrincipalID.String(), rec.Key, rec.Token))
		}, func() (store.IdempotencyRecord, error) {
			return getIdempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key)
		})
	})
}

func (s *Store) ReleaseIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return sqlstore.ReleaseIdempotencyKey(rec, func() (bool, error) {
			return inserted(tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE principal_id = ? AND key = ? AND claim_token = ? AND status = 0`,
				rec.PrincipalID.String(), rec.Key, rec.Token))
		}, func() (store.IdempotencyRecord, error) {
			return getIdempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key)
		})
	})
}

func (s *Store) ForgetIdempotencyRecords(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < ?`, fmtTime(before))
	if err == nil {
		var n int64
		if n, err = res.RowsAffected(); err == nil {
			return n, nil
		}
	}
	return 0, fmt.Errorf("forgetting idempotency records from before %s: %w", before.Format(time.RFC3339), err)
}

// ---- a person's journeys and notes ---------------------------------------------

// journeysWhere lists the journeys matching cond (with ?1), in the order
// they began: by their first event. cols and scan are
// sqlstore.JourneyColumns and ScanJourney, or the Coach ones.
func (s *Store) journeysWhere(ctx context.Context, what string, cond string, id uuid.UUID,
	cols string, scan func(sqlstore.Scanner) (store.JourneySnapshot, error)) ([]store.JourneySnapshot, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+cols+` FROM journeys j
		WHERE `+cond+`
		ORDER BY `+sqlstore.OldestJourneyFirst, id.String())
	out, err := collect(rows, err, scan)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of %s %s: %w", what, id, err)
	}
	return out, nil
}

func (s *Store) JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]store.JourneySnapshot, error) {
	return s.journeysWhere(ctx, "person", `j.person_id = ?1`, personID,
		sqlstore.JourneyColumns, sqlstore.ScanJourney)
}

func (s *Store) Caseload(ctx context.Context, coachID uuid.UUID) ([]store.CaseloadEntry, error) {
	rows, err := s.read.QueryContext(ctx, sqlstore.Caseload("?1"), coachID.String())
	out, err := collect(rows, err, sqlstore.ScanCaseloadEntry)
	if err != nil {
		return nil, fmt.Errorf("listing the caseload of coach %s: %w", coachID, err)
	}
	return out, nil
}

func (s *Store) JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]store.JourneySnapshot, error) {
	return s.journeysWhere(ctx, "coach", `j.coach_id = ?1`, coachID,
		sqlstore.CoachJourneyColumns, sqlstore.ScanCoachJourney)
}

func (s *Store) NotesOfJourney(ctx context.Context, journeyID uuid.UUID) ([]store.Note, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE journey_id = ? ORDER BY created_at, id`,
		journeyID.String())
	out, err := collect(rows, err, sqlstore.ScanNote)
	if err != nil {
		return nil, fmt.Errorf("listing notes of journey %s: %w", journeyID, err)
	}
	return out, nil
}

// ---- language and erasure ------------------------------------------------------

func (s *Store) SetLanguage(ctx context.Context, personID uuid.UUID, lang store.Language) error {
	if err := store.ValidateLanguage(lang); err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	changed, err := inserted(s.write.ExecContext(ctx, `UPDATE people SET language = ? WHERE id = ?`, string(lang), personID.String()))
	if err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	if !changed {
		return fmt.Errorf("person %s: %w", personID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) ErasePerson(ctx context.Context, personID uuid.UUID, at time.Time) (store.PersonErasure, error) {
	return sqlstore.ErasePerson(personID, at, func(fn func(sqlstore.EraseTx) error) error {
		return s.tx(ctx, func(tx *sql.Tx) error { return fn(eraseTx{ctx, tx}) })
	})
}

// eraseTx is a transaction's statements for sqlstore.ErasePerson.
type eraseTx struct {
	ctx context.Context
	tx  *sql.Tx
}

// count runs a statement and reports how many rows it changed.
func (e eraseTx) count(query string, args ...any) (int64, error) {
	res, err := e.tx.ExecContext(e.ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (e eraseTx) PersonAddress(id uuid.UUID) sqlstore.Scanner {
	return e.tx.QueryRowContext(e.ctx, `SELECT email FROM people WHERE id = ?`, id.String())
}

func (e eraseTx) BlankPerson(id uuid.UUID, at time.Time) sqlstore.Scanner {
	return e.tx.QueryRowContext(e.ctx, `UPDATE people SET given_name = '', family_name = '', email = '', email_key = NULL,
		erased_at = COALESCE(erased_at, ?2) WHERE id = ?1 RETURNING erased_at`, id.String(), fmtTime(at))
}

func (e eraseTx) DeleteNotes(id uuid.UUID) (int64, error) {
	return e.count(`DELETE FROM notes WHERE author_id = ?1
		OR journey_id IN (SELECT journey_id FROM journeys WHERE person_id = ?1)`, id.String())
}

func (e eraseTx) FailMessages(id uuid.UUID, reason string) (int64, error) {
	return e.count(`UPDATE outbox SET status = 'failed', next_attempt_at = NULL, last_error = ?2
		WHERE recipient_id = ?1 AND status = 'queued'`, id.String(), reason)
}

func (e eraseTx) RevokeAPITokens(id uuid.UUID, at time.Time) (int64, error) {
	n, err := e.count(`UPDATE api_tokens SET revoked_at = ?2 WHERE person_id = ?1 AND revoked_at IS NULL`, id.String(), fmtTime(at))
	if err != nil {
		return 0, err
	}
	_, err = e.tx.ExecContext(e.ctx, `UPDATE api_tokens SET name = '' WHERE person_id = ?`, id.String())
	return n, err
}

func (e eraseTx) EndWebSessions(id uuid.UUID, at time.Time) (int64, error) {
	return e.count(`UPDATE web_sessions SET ended_at = ?2 WHERE person_id = ?1 AND ended_at IS NULL AND expires_at > ?2`,
		id.String(), fmtTime(at))
}

func (e eraseTx) DeleteSignInLinks(id uuid.UUID) (int64, error) {
	return e.count(`DELETE FROM sign_in_links WHERE person_id = ?`, id.String())
}

func (e eraseTx) StoredAnswers() ([]store.IdempotencyRecord, error) {
	rows, err := e.tx.QueryContext(e.ctx, `SELECT `+sqlstore.IdempotencyColumns+` FROM idempotency_keys WHERE body IS NOT NULL`)
	return collect(rows, err, sqlstore.ScanIdempotencyRecord)
}

func (e eraseTx) DeleteIdempotencyRecords(id uuid.UUID, others []store.IdempotencyRecord) error {
	if _, err := e.tx.ExecContext(e.ctx, `DELETE FROM idempotency_keys WHERE principal_id = ?`, id.String()); err != nil {
		return err
	}
	for _, r := range others {
		if _, err := e.tx.ExecContext(e.ctx, `DELETE FROM idempotency_keys WHERE principal_id = ? AND key = ?`, r.PrincipalID.String(), r.Key); err != nil {
			return err
		}
	}
	return nil
}
