// Package pgstore is the production store.Store: the business record of
// Infuse Journeys in PostgreSQL, reached through pgx. Open connects and brings
// the schema up to date with the migrations embedded in the binary, so a new
// release never needs a separate migration step.
//
// The store lives in the first schema of the connection's search_path, which
// may be set in the URL (…?search_path=infuse); the goose version table lives
// there too. That is how tests give every run its own schema.
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a store.Store backed by PostgreSQL.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at databaseURL (a postgres:// URL or a
// key=value connection string; runtime parameters such as search_path are
// passed on to the server) and applies any pending migrations.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(databaseURL)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parsing database URL: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: %w", err)
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connecting to PostgreSQL at %s:%d database %q: %w",
			cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if schema == nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: no schema on search_path %q exists in database %q; create it first (CREATE SCHEMA …)",
			cfg.ConnConfig.RuntimeParams["search_path"], cfg.ConnConfig.Database)
	}
	if err := migrate(ctx, cfg.ConnConfig, *schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: migrating schema %q: %w", *schema, err)
	}
	return &Store{pool: pool}, nil
}

// migrate applies the embedded migrations to schema over a short-lived
// database/sql connection (goose speaks database/sql), holding a PostgreSQL
// advisory lock so that processes starting at once migrate one at a time.
// The lock is per schema, so stores in different schemas never wait for
// each other.
func migrate(ctx context.Context, cc *pgx.ConnConfig, schema string) error {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	h := fnv.New64a()
	h.Write([]byte("infuse-journeys migrations " + schema))
	locker, err := lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		lock.WithLockTimeout(1, 300), // retry every second for five minutes
	)
	if err != nil {
		return err
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	_, err = p.Up(ctx)
	return err
}

// Close closes every connection.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

func now() time.Time { return store.StoredTime(time.Now()) }

// tx runs fn in a transaction, committing if it returns nil. It is READ
// COMMITTED whatever the server's default: the claims (ClaimDue) read rows
// again as they are once locked, which a stricter level would turn into
// serialisation failures under contention.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.ReadCommitted}, fn)
}

// Values for nullable columns: the zero value is NULL.

func nullUUID(id uuid.UUID) any {
	if id == uuid.Nil {
		return nil
	}
	return id
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return store.StoredTime(t)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// collect scans every row with scan and closes rows.
func collect[T any](rows pgx.Rows, scan func(sqlstore.Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	return sqlstore.Collect(rows, scan)
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		return sqlstore.CreatePeople(rows, func(p store.Person) (bool, error) {
			tag, err := tx.Exec(ctx, `INSERT INTO people (`+sqlstore.PersonColumns+`, email_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) ON CONFLICT DO NOTHING`,
				p.ID, string(p.Role), p.GivenName, p.FamilyName, p.EmailAddress,
				p.LocalAuthority, p.Theme, string(p.Language), p.CreatedAt, store.EmailKey(p.EmailAddress))
			return tag.RowsAffected() == 1, err
		}, func(id uuid.UUID) (store.Person, error) {
			return sqlstore.ScanPerson(tx.QueryRow(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE id = $1`, id))
		})
	})
}

func (s *Store) GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error) {
	p, err := sqlstore.ScanPerson(s.pool.QueryRow(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE id = $1`, id))
	if err != nil {
		return store.Person{}, sqlstore.NotFound(err, "person", id)
	}
	return p, nil
}

func (s *Store) FindPersonByEmail(ctx context.Context, email string) (store.Person, error) {
	p, err := sqlstore.ScanPerson(s.pool.QueryRow(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people WHERE email_key = $1`, store.EmailKey(email)))
	if err != nil {
		return store.Person{}, sqlstore.NotFound(err, "person with e-mail address", fmt.Sprintf("%q", email))
	}
	return p, nil
}

func (s *Store) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.PersonColumns+` FROM people
		WHERE $1 = '' OR role = $1 ORDER BY created_at, id`, string(role))
	if err != nil {
		return nil, fmt.Errorf("listing people: %w", err)
	}
	return collect(rows, sqlstore.ScanPerson)
}

// ---- intakes ---------------------------------------------------------------

func (s *Store) CreateIntake(ctx context.Context, in store.Intake) error {
	in, err := store.PrepareIntake(in, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		return sqlstore.CreateIntake(in, func() (bool, error) {
			tag, err := tx.Exec(ctx, `INSERT INTO intakes (`+sqlstore.IntakeColumns+`, created_status)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) ON CONFLICT (id) DO NOTHING`,
				in.ID, in.Name, in.ProgrammeID, in.ProgrammeVersion, nullTime(in.OpensAt), nullTime(in.ClosesAt),
				nullTime(in.StartsOn), in.Capacity, nullUUID(in.CoordinatorID), string(in.Status), in.CreatedAt)
			return tag.RowsAffected() == 1, err
		}, func() (store.Intake, error) {
			return sqlstore.ScanIntake(tx.QueryRow(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes WHERE id = $1`, in.ID))
		})
	})
}

func (s *Store) GetIntake(ctx context.Context, id uuid.UUID) (store.Intake, error) {
	in, err := sqlstore.ScanIntake(s.pool.QueryRow(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes WHERE id = $1`, id))
	if err != nil {
		return store.Intake{}, sqlstore.NotFound(err, "intake", id)
	}
	return in, nil
}

func (s *Store) UpdateIntake(ctx context.Context, id uuid.UUID, name string, capacity int) error {
	return sqlstore.UpdateIntake(id, name, capacity, func(name string) (bool, error) {
		tag, err := s.pool.Exec(ctx, `UPDATE intakes SET name = $1, capacity = $2 WHERE id = $3`, name, capacity, id)
		return tag.RowsAffected() == 1, err
	})
}

func (s *Store) ListIntakes(ctx context.Context) ([]store.Intake, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.IntakeColumns+` FROM intakes ORDER BY starts_on NULLS LAST, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing intakes: %w", err)
	}
	return collect(rows, sqlstore.ScanIntake)
}

// ---- events and projections --------------------------------------------------

func (s *Store) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	return sqlstore.Record(ev, msgs, now(), func(fn func(sqlstore.Tx) error) error {
		return s.tx(ctx, func(tx pgx.Tx) error { return fn(writeTx{ctx, tx}) })
	})
}

// writeTx is a transaction's statements for sqlstore.Record and sqlstore.RebuildProjections.
type writeTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (w writeTx) AppendEvent(ev store.Event, snapshot []byte) (int64, bool, error) {
	// A concurrent transaction inserting the same key makes this one wait
	// for it; if it commits, ON CONFLICT turns this insert into a no-op.
	var seq int64
	stream, streamSeq, fence := sqlstore.AttemptValues(ev.Attempt)
	err := w.tx.QueryRow(w.ctx, `INSERT INTO events
		(key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at, stream, stream_seq, fence)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (key) DO NOTHING RETURNING seq`,
		ev.Key, ev.IntakeID, nullUUID(ev.JourneyID), ev.Type, ev.OccurredAt, []byte(ev.Data), snapshot, // nil is NULL
		nullString(string(ev.IntakeStatus)), ev.RecordedAt, stream, streamSeq, fence).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

func (w writeTx) UpsertJourney(snap store.JourneySnapshot, checkpoints []byte, seq int64) error {
	_, err := w.tx.Exec(w.ctx, `INSERT INTO journeys AS j
		(journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome,
		 checkpoints, updated_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (journey_id) DO UPDATE SET
			intake_id = excluded.intake_id, person_id = excluded.person_id, coach_id = excluded.coach_id,
			state = excluded.state, phase = excluded.phase, next_due_item = excluded.next_due_item,
			next_due_at = excluded.next_due_at, overdue_count = excluded.overdue_count,
			outcome = excluded.outcome, checkpoints = excluded.checkpoints, updated_seq = excluded.updated_seq
		WHERE j.updated_seq < excluded.updated_seq`,
		snap.JourneyID, snap.IntakeID, snap.PersonID, nullUUID(snap.CoachID), snap.State, snap.Phase,
		snap.NextDueItem, nullTime(snap.NextDueAt), snap.OverdueCount, snap.Outcome, checkpoints, seq) // nil is NULL
	return err
}

func (w writeTx) SetIntakeStatus(intakeID uuid.UUID, status store.IntakeStatus) error {
	_, err := w.tx.Exec(w.ctx, `UPDATE intakes SET status = $2 WHERE id = $1`, intakeID, string(status))
	return err
}

func (w writeTx) QueueMessage(m store.Message, eventSeq int64) error {
	_, err := w.tx.Exec(w.ctx, `INSERT INTO outbox
		(key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id,
		 item_starts_at, item_ends_at, revision, cancels, channel, send_at, status, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (key) DO NOTHING`,
		m.Key, eventSeq, m.IntakeID, nullUUID(m.JourneyID), m.RecipientID, string(m.Role), m.Template,
		m.ItemID, nullTime(m.ItemStartsAt), nullTime(m.ItemEndsAt), m.Revision, m.Cancels,
		m.Channel, m.SendAt, string(m.Status), m.CreatedAt)
	return err
}

func (w writeTx) RebuildJourneyFacts() error { return w.journeyFacts("") }

func (w writeTx) RebuildJourneyFactsOf(journeyID uuid.UUID) error {
	return w.journeyFacts("$1", journeyID)
}

// journeyFacts runs sqlstore.JourneyFactsFromEvents for journey ("" or
// "$1", with args its ID).
func (w writeTx) journeyFacts(journey string, args ...any) error {
	for _, q := range sqlstore.JourneyFactsFromEvents(`COALESCE(data->>'item', '')`, `snapshot->>'outcome'`, journey) {
		if _, err := w.tx.Exec(w.ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

func (w writeTx) LatestSnapshots() ([]sqlstore.Latest, error) {
	rows, err := w.tx.Query(w.ctx, sqlstore.LatestSnapshots(""))
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlstore.ScanLatest)
}

func (w writeTx) LatestSnapshotOf(journeyID uuid.UUID) (sqlstore.Latest, error) {
	return sqlstore.ScanLatest(w.tx.QueryRow(w.ctx, sqlstore.LatestSnapshots("$1"), journeyID))
}

func (w writeTx) DeleteJourneys() error {
	_, err := w.tx.Exec(w.ctx, `DELETE FROM journeys`)
	return err
}

func (w writeTx) DeleteJourney(journeyID uuid.UUID) error {
	_, err := w.tx.Exec(w.ctx, fenceSQL.DeleteJourney, journeyID)
	return err
}

func (w writeTx) ResetIntakeStatuses() error {
	_, err := w.tx.Exec(w.ctx, sqlstore.ResetIntakeStatuses(""))
	return err
}

func (w writeTx) ResetIntakeStatus(intakeID uuid.UUID) error {
	_, err := w.tx.Exec(w.ctx, sqlstore.ResetIntakeStatuses("$1"), intakeID)
	return err
}

// fenceSQL are the statements of fenced events that SQLite writes alike.
var fenceSQL = sqlstore.FenceStatements("$")

func (w writeTx) LockStream(stream string) (sqlstore.Head, error) {
	// The no-op update takes the row lock, which a concurrent writer of the
	// stream then waits for; a new stream's insert does the same for a
	// concurrent insert. RETURNING reads the row as it is once locked.
	var h sqlstore.Head
	err := w.tx.QueryRow(w.ctx, `INSERT INTO event_streams AS h (stream, fence, seq) VALUES ($1, 0, 0)
		ON CONFLICT (stream) DO UPDATE SET fence = h.fence RETURNING fence, seq`, stream).Scan(&h.Fence, &h.Seq)
	return h, err
}

func (w writeTx) SetStreamHead(stream string, h sqlstore.Head) error {
	_, err := w.tx.Exec(w.ctx, fenceSQL.SetStreamHead, stream, h.Fence, h.Seq)
	return err
}

func (w writeTx) Refence(key string, fence int64) error {
	_, err := w.tx.Exec(w.ctx, fenceSQL.Refence, key, fence)
	return err
}

func (w writeTx) RecordedAs(key string) (sqlstore.Recorded, error) {
	return sqlstore.ScanRecorded(w.tx.QueryRow(w.ctx, fenceSQL.RecordedAs, key))
}

func (w writeTx) DropQueuedMessages(stream string, from int64) error {
	_, err := w.tx.Exec(w.ctx, fenceSQL.DropQueuedMessages, stream, from)
	return err
}

func (w writeTx) DropEvents(stream string, from int64) ([]sqlstore.Dropped, error) {
	rows, err := w.tx.Query(w.ctx, fenceSQL.DropEvents, stream, from)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlstore.ScanDropped)
}

func (s *Store) JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.EventColumns+` FROM events WHERE journey_id = $1 ORDER BY seq`, journeyID)
	if err != nil {
		return nil, fmt.Errorf("listing events of journey %s: %w", journeyID, err)
	}
	return collect(rows, sqlstore.ScanEvent)
}

func (s *Store) IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.EventColumns+` FROM events WHERE intake_id = $1 ORDER BY seq`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("listing events of intake %s: %w", intakeID, err)
	}
	return collect(rows, sqlstore.ScanEvent)
}

func (s *Store) GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	j, err := sqlstore.ScanJourney(s.pool.QueryRow(ctx, `SELECT `+sqlstore.JourneyColumns+` FROM journeys WHERE journey_id = $1`, journeyID))
	if err != nil {
		return store.JourneySnapshot{}, sqlstore.NotFound(err, "journey", journeyID)
	}
	return j, nil
}

func (s *Store) ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.JourneyColumns+` FROM journeys WHERE intake_id = $1 ORDER BY journey_id`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of intake %s: %w", intakeID, err)
	}
	return collect(rows, sqlstore.ScanJourney)
}

func (s *Store) Roster(ctx context.Context, intakeID uuid.UUID, page store.RosterPage, each func(store.RosterEntry) error) error {
	query, args := sqlstore.Roster(func(n int) string { return "$" + strconv.Itoa(n) }, func(id uuid.UUID) any { return id },
		`COLLATE "C"`, intakeID, page)
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("listing the journeys of intake %s with their people: %w", intakeID, err)
	}
	defer rows.Close()
	return sqlstore.Each(rows, sqlstore.ScanRosterEntry, each, func(err error) error {
		return fmt.Errorf("listing the journeys of intake %s with their people: %w", intakeID, err)
	})
}

func (s *Store) JourneyOutcomes(ctx context.Context, intakeID uuid.UUID) ([]store.JourneyOutcome, error) {
	rows, err := s.pool.Query(ctx, sqlstore.JourneyOutcomes("$1"), intakeID)
	if err != nil {
		return nil, fmt.Errorf("counting the outcomes of intake %s's journeys: %w", intakeID, err)
	}
	return collect(rows, sqlstore.ScanJourneyOutcome)
}

func (s *Store) IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM journeys WHERE intake_id = $1 GROUP BY state`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("counting journeys of intake %s: %w", intakeID, err)
	}
	defer rows.Close()
	return sqlstore.StateCounts(rows)
}

func (s *Store) TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.Tally, error) {
	var args []any
	param := ""
	if intakeID != uuid.Nil {
		args, param = []any{intakeID}, "$1"
	}
	rows, err := s.pool.Query(ctx, sqlstore.TallyJourneys(param), args...)
	if err != nil {
		return nil, fmt.Errorf("tallying journeys: %w", err)
	}
	return collect(rows, sqlstore.ScanTally)
}

func (s *Store) RebuildProjections(ctx context.Context) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Stop Record from changing the log or the projections underneath us.
		if _, err := tx.Exec(ctx, `LOCK TABLE events, journeys, intakes IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		return sqlstore.RebuildProjections(writeTx{ctx, tx})
	})
}

// ---- outbox ----------------------------------------------------------------

func (s *Store) ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error) {
	limit := any(nil) // LIMIT NULL is no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.MessageColumns+`
		FROM outbox
		WHERE ($1::uuid IS NULL OR intake_id = $1) AND ($2::uuid IS NULL OR journey_id = $2)
		  AND ($3::uuid IS NULL OR recipient_id = $3) AND ($4 = '' OR status = $4)
		ORDER BY send_at, id LIMIT $5`,
		nullUUID(f.IntakeID), nullUUID(f.JourneyID), nullUUID(f.RecipientID), string(f.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return collect(rows, sqlstore.ScanMessage)
}

func (s *Store) SentEmails(ctx context.Context, recipient uuid.UUID, from, to time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, sqlstore.SentEmailsQuery, recipient, store.StoredTime(from), store.StoredTime(to)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("counting the e-mails sent to %s: %w", recipient, err)
	}
	return n, nil
}

func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.Message, error) {
	rows, err := s.pool.Query(ctx, sqlstore.DueMessagesQuery, store.StoredTime(now), sqlstore.DueLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("listing due messages: %w", err)
	}
	out, err := collect(rows, sqlstore.ScanMessage)
	if err != nil {
		return nil, fmt.Errorf("listing due messages: %w", err)
	}
	return out, nil
}

func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Message, error) {
	return sqlstore.Claim(owner, store.StoredTime(now), lease, limit, func(fn func(sqlstore.ClaimTx) error) error {
		return s.tx(ctx, func(tx pgx.Tx) error { return fn(claimTx{ctx, tx}) })
	})
}

// claimTx is a transaction's statements for sqlstore.Claim.
type claimTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (c claimTx) Candidates(now time.Time, limit int) ([]sqlstore.Candidate, error) {
	rows, err := c.tx.Query(c.ctx, sqlstore.ClaimCandidatesQuery, now, limit)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlstore.ScanCandidate)
}

// Lock skips the rows another claim has locked rather than waiting for it:
// that claim takes them (and sqlstore.Claim leaves their recipients to it).
// A row that changed since Candidates read it is read again as it is now,
// so one claimed meanwhile is no longer unclaimed and is left out too.
func (c claimTx) Lock(ids []int64, now time.Time) ([]int64, error) {
	rows, err := c.tx.Query(c.ctx, `SELECT id FROM outbox
		WHERE id = ANY($1) AND status = 'queued' AND send_at <= $2
		  AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND (claimed_until IS NULL OR claimed_until <= $2)
		FOR UPDATE SKIP LOCKED`, ids, now)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (c claimTx) Stamp(ids []int64, owner string, until time.Time) ([]sqlstore.Claimed, error) {
	rows, err := c.tx.Query(c.ctx, `UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE id = ANY($3)
		RETURNING `+sqlstore.ClaimedColumns, owner, until, ids)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlstore.ScanClaimed)
}

func (s *Store) ReleaseClaims(ctx context.Context, owner string, keys ...string) error {
	return sqlstore.ReleaseClaims(owner, keys, func() error {
		_, err := s.pool.Exec(ctx, `UPDATE outbox SET claimed_by = '', claimed_until = NULL
			WHERE claimed_by = $1 AND key = ANY($2)`, owner, keys)
		return err
	})
}

// transition runs u in a transaction: update (with args) changes the row.
func (s *Store) transition(ctx context.Context, u sqlstore.Update, update string, args ...any) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		u.Apply = func() (bool, error) {
			tag, err := tx.Exec(ctx, update, args...)
			return tag.RowsAffected() == 1, err
		}
		u.State = func() (store.MessageStatus, string, error) {
			var status, holder string
			err := tx.QueryRow(ctx, sqlstore.StateQuery, u.Key).Scan(&status, &holder)
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
		`UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, next_attempt_at = NULL,
			claimed_by = '', claimed_until = NULL
		 WHERE key = $3 AND status IN ('queued', 'failed')`, store.StoredTime(at), messageID, key)
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
		`UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
			claimed_by = '', claimed_until = NULL
		 WHERE key = $3 AND status = 'queued' AND claimed_by IN ('', $4)`, store.StoredTime(next), sqlstore.Reason(reason), key, owner)
}

func (s *Store) MarkFailed(ctx context.Context, owner, key, reason string) error {
	const what = "marking failed"
	if err := sqlstore.CheckReason(what, key, reason); err != nil {
		return err
	}
	return s.transition(ctx, sqlstore.Update{What: what, Key: key, Owner: owner, Done: []store.MessageStatus{store.MessageFailed}},
		`UPDATE outbox SET status = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = $1,
			claimed_by = '', claimed_until = NULL
		 WHERE key = $2 AND status = 'queued' AND claimed_by IN ('', $3)`, sqlstore.Reason(reason), key, owner)
}

// Defer always updates a queued row it may change, even one whose SendAt
// stays, so that the claim ends either way.
func (s *Store) Defer(ctx context.Context, owner, key string, until time.Time) error {
	const what = "deferring"
	if err := sqlstore.CheckTime(what, key, "time to defer to", until); err != nil {
		return err
	}
	return s.transition(ctx, sqlstore.Update{What: what, Key: key, Owner: owner},
		`UPDATE outbox SET send_at = GREATEST(send_at, $1), claimed_by = '', claimed_until = NULL
		 WHERE key = $2 AND status = 'queued' AND claimed_by IN ('', $3)`, store.StoredTime(until), key, owner)
}

// ---- notes -----------------------------------------------------------------

func (s *Store) SaveNote(ctx context.Context, n store.Note) error {
	n, err := store.PrepareNote(n, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		return sqlstore.SaveNote(n, func() (bool, error) {
			tag, err := tx.Exec(ctx, `INSERT INTO notes (`+sqlstore.NoteColumns+`) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (id) DO NOTHING`, n.ID, n.AuthorID, nullUUID(n.JourneyID), n.Body, n.CreatedAt)
			return tag.RowsAffected() == 1, err
		}, func() (store.Note, error) {
			return sqlstore.ScanNote(tx.QueryRow(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE id = $1`, n.ID))
		})
	})
}

func (s *Store) DeleteNote(ctx context.Context, id uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM notes WHERE id = $1`, id)
	return err
}

func (s *Store) GetNote(ctx context.Context, id uuid.UUID) (store.Note, error) {
	n, err := sqlstore.ScanNote(s.pool.QueryRow(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE id = $1`, id))
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
	// A concurrent transaction issuing for the same journey makes the
	// insert wait for it; once it commits, ON CONFLICT skips the insert and
	// the read (a new snapshot under READ COMMITTED) finds its certificate.
	err = s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = sqlstore.IssueCertificate(c, func(c store.Certificate) (bool, error) {
			tag, err := tx.Exec(ctx, `INSERT INTO certificates (`+sqlstore.CertificateColumns+`)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
				c.Code, c.JourneyID, c.PersonID, c.IntakeID, c.IssuedAt)
			return tag.RowsAffected() == 1, err
		}, func() (store.Certificate, error) {
			return sqlstore.ScanCertificate(tx.QueryRow(ctx, `SELECT `+sqlstore.CertificateColumns+`
				FROM certificates WHERE journey_id = $1`, c.JourneyID))
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
	c, err := sqlstore.ScanCertificate(s.pool.QueryRow(ctx, `SELECT `+sqlstore.CertificateColumns+`
		FROM certificates WHERE code = $1`, norm))
	if err != nil {
		return store.Certificate{}, sqlstore.NotFound(err, "certificate with code", fmt.Sprintf("%q", code))
	}
	return c, nil
}

func (s *Store) CertificateOf(ctx context.Context, journeyID uuid.UUID) (store.Certificate, error) {
	c, err := sqlstore.ScanCertificate(s.pool.QueryRow(ctx, `SELECT `+sqlstore.CertificateColumns+`
		FROM certificates WHERE journey_id = $1`, journeyID))
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
			_, err := s.pool.Exec(ctx, `INSERT INTO api_tokens (id, person_id, role, name, token_hash, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`, tok.ID, tok.PersonID, string(tok.Role), tok.Name, hash, tok.CreatedAt, nullTime(tok.ExpiresAt))
			return err
		})
}

func (s *Store) AuthenticateAPIToken(ctx context.Context, plaintext string, at time.Time) (store.APIToken, error) {
	return sqlstore.AuthenticateAPIToken(plaintext, at,
		func(hash string) sqlstore.Scanner {
			return s.pool.QueryRow(ctx, `SELECT `+sqlstore.APITokenColumns+`
				FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`+sqlstore.LivePersonToken, hash)
		},
		func(id uuid.UUID, at time.Time) error {
			_, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)`, id, at)
			return err
		})
}

func (s *Store) APITokensOf(ctx context.Context, personID uuid.UUID) ([]store.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.APITokenColumns+` FROM api_tokens
		WHERE $1 = '00000000-0000-0000-0000-000000000000'::uuid OR person_id = $1 ORDER BY created_at DESC, id`, personID)
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	return collect(rows, sqlstore.ScanAPIToken)
}

func (s *Store) RevokeAPIToken(ctx context.Context, id uuid.UUID) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`,
		now(), id)
	if err != nil {
		return fmt.Errorf("revoking API token %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
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
			return s.tx(ctx, func(tx pgx.Tx) error {
				if maxLive > 0 {
					// The person's row lock queues concurrent links for
					// them; it is taken first, as erasure takes it before
					// deleting their links. The count is a statement of its
					// own: a statement's snapshot is taken when it starts,
					// so one that waited for the lock would not see the link
					// the lock's holder just added.
					tag, err := tx.Exec(ctx, `SELECT 1 FROM people WHERE id = $1 AND erased_at IS NULL FOR UPDATE`, personID)
					if err != nil {
						return err
					}
					if tag.RowsAffected() == 0 {
						return fmt.Errorf("person %s: %w (erased)", personID, store.ErrNotFound)
					}
				}
				if _, err := tx.Exec(ctx, `DELETE FROM sign_in_links WHERE expires_at <= $1`, now); err != nil {
					return err
				}
				if maxLive > 0 {
					var live int
					err := tx.QueryRow(ctx, `SELECT count(*) FROM sign_in_links WHERE person_id = $1 AND expires_at > $2`, personID, now).Scan(&live)
					if err != nil {
						return err
					}
					if live >= maxLive {
						return sqlstore.MaxLiveReached(personID, maxLive)
					}
				}
				_, err := tx.Exec(ctx, `INSERT INTO sign_in_links (token_hash, person_id, created_at, expires_at)
					VALUES ($1, $2, $3, $4)`, hash, personID, now, expiresAt)
				return err
			})
		})
}

func (s *Store) RedeemSignInLink(ctx context.Context, plaintext string, now time.Time) (uuid.UUID, error) {
	return sqlstore.RedeemSignInLink(plaintext, func(hash string) sqlstore.Scanner {
		// A concurrent redemption that deleted the row first makes this
		// DELETE wait for it, then find nothing.
		return s.pool.QueryRow(ctx, `DELETE FROM sign_in_links
			WHERE token_hash = $1 AND expires_at > $2
			  AND person_id IN (SELECT id FROM people WHERE erased_at IS NULL)
			RETURNING person_id`, hash, store.StoredTime(now))
	})
}

func (s *Store) CreateWebSession(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, store.WebSession, error) {
	return sqlstore.CreateWebSession(personID, now, expiresAt,
		func() (store.Person, error) { return s.GetPerson(ctx, personID) },
		func(ws store.WebSession, hash string) error {
			_, err := s.pool.Exec(ctx, `INSERT INTO web_sessions (id, token_hash, person_id, created_at, expires_at)
				VALUES ($1, $2, $3, $4, $5)`, ws.ID, hash, ws.PersonID, ws.CreatedAt, ws.ExpiresAt)
			return err
		})
}

func (s *Store) AuthenticateWebSession(ctx context.Context, plaintext string, now time.Time) (store.WebSession, error) {
	return sqlstore.AuthenticateWebSession(plaintext, func(hash string) sqlstore.Scanner {
		return s.pool.QueryRow(ctx, `SELECT `+sqlstore.WebSessionColumns+`
			FROM web_sessions s JOIN people p ON p.id = s.person_id
			WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND p.erased_at IS NULL`,
			hash, store.StoredTime(now))
	})
}

func (s *Store) EndWebSession(ctx context.Context, plaintext string) error {
	_, err := s.pool.Exec(ctx, `UPDATE web_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL`,
		now(), store.HashAPIToken(plaintext))
	if err != nil {
		return fmt.Errorf("ending a web session: %w", err)
	}
	return nil
}

func (s *Store) WebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) ([]store.WebSession, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.WebSessionColumns+`
		FROM web_sessions s JOIN people p ON p.id = s.person_id
		WHERE s.person_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id`, personID, now)
	if err != nil {
		return nil, fmt.Errorf("listing the sessions of person %s: %w", personID, err)
	}
	return collect(rows, sqlstore.ScanWebSession)
}

func (s *Store) EndWebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) (int, error) {
	var n int
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE web_sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL AND expires_at > $2`, personID, now)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `DELETE FROM sign_in_links WHERE person_id = $1`, personID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ending the sessions of person %s: %w", personID, err)
	}
	return n, nil
}

// ---- idempotency records -------------------------------------------------------

func getIdempotencyRecord(ctx context.Context, tx pgx.Tx, principalID uuid.UUID, key string) (store.IdempotencyRecord, error) {
	return sqlstore.ScanIdempotencyRecord(tx.QueryRow(ctx, `SELECT `+sqlstore.IdempotencyColumns+`
		FROM idempotency_keys WHERE principal_id = $1 AND key = $2`, principalID, key))
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, c store.IdempotencyClaim) (store.IdempotencyRecord, bool, error) {
	var rec store.IdempotencyRecord
	var claimed bool
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		rec, claimed, err = sqlstore.ClaimIdempotencyKey(c,
			func(r store.IdempotencyRecord) (bool, error) {
				// A concurrent claim of the same key makes this wait for
				// it; once it commits, the conflict is with its row, whose
				// created_at is too recent to take over.
				tag, err := tx.Exec(ctx, `INSERT INTO idempotency_keys AS k (principal_id, key, fingerprint, claim_token, created_at)
					VALUES ($1, $2, $3, $4, $5)
					ON CONFLICT (principal_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, claim_token = excluded.claim_token,
						created_at = excluded.created_at, status = 0, content_type = '', body = NULL
					WHERE (k.status = 0 AND k.created_at < $6) OR k.created_at < $7`,
					r.PrincipalID, r.Key, r.Fingerprint, r.Token, r.CreatedAt, store.StoredTime(c.StaleBefore), store.StoredTime(c.ForgetBefore))
				return tag.RowsAffected() == 1, err
			}, func() (store.IdempotencyRecord, error) { return getIdempotencyRecord(ctx, tx, c.PrincipalID, c.Key) })
		return err
	})
	return rec, claimed, err
}

func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return sqlstore.CompleteIdempotencyKey(rec, func() (bool, error) {
			tag, err := tx.Exec(ctx, `UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3
				WHERE principal_id = $4 AND key = $5 AND claim_token = $6 AND status = 0`,
				rec.Status, rec.ContentType, rec.Body, rec.PrincipalID, rec.Key, rec.Token)
			return tag.RowsAffected() == 1, err
		}, func() (store.IdempotencyRecord, error) {
			return getIdempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key)
		})
	})
}

func (s *Store) ReleaseIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		return sqlstore.ReleaseIdempotencyKey(rec, func() (bool, error) {
			tag, err := tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND claim_token = $3 AND status = 0`,
				rec.PrincipalID, rec.Key, rec.Token)
			return tag.RowsAffected() == 1, err
		}, func() (store.IdempotencyRecord, error) {
			return getIdempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key)
		})
	})
}

func (s *Store) ForgetIdempotencyRecords(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, store.StoredTime(before))
	if err != nil {
		return 0, fmt.Errorf("forgetting idempotency records from before %s: %w", before.Format(time.RFC3339), err)
	}
	return tag.RowsAffected(), nil
}

// ---- a person's journeys and notes ---------------------------------------------

// journeysWhere lists the journeys matching cond (with $1), in the order
// they began: by their first event. cols and scan are
// sqlstore.JourneyColumns and ScanJourney, or the Coach ones.
func (s *Store) journeysWhere(ctx context.Context, what string, cond string, id uuid.UUID,
	cols string, scan func(sqlstore.Scanner) (store.JourneySnapshot, error)) ([]store.JourneySnapshot, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+cols+` FROM journeys j
		WHERE `+cond+`
		ORDER BY `+sqlstore.OldestJourneyFirst, id)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of %s %s: %w", what, id, err)
	}
	return collect(rows, scan)
}

func (s *Store) JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]store.JourneySnapshot, error) {
	return s.journeysWhere(ctx, "person", `j.person_id = $1`, personID,
		sqlstore.JourneyColumns, sqlstore.ScanJourney)
}

func (s *Store) Caseload(ctx context.Context, coachID uuid.UUID) ([]store.CaseloadEntry, error) {
	rows, err := s.pool.Query(ctx, sqlstore.Caseload("$1"), coachID)
	if err != nil {
		return nil, fmt.Errorf("listing the caseload of coach %s: %w", coachID, err)
	}
	return collect(rows, sqlstore.ScanCaseloadEntry)
}

func (s *Store) JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]store.JourneySnapshot, error) {
	return s.journeysWhere(ctx, "coach", `j.coach_id = $1`, coachID,
		sqlstore.CoachJourneyColumns, sqlstore.ScanCoachJourney)
}

func (s *Store) NotesOfJourney(ctx context.Context, journeyID uuid.UUID) ([]store.Note, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.NoteColumns+` FROM notes WHERE journey_id = $1 ORDER BY created_at, id`, journeyID)
	if err != nil {
		return nil, fmt.Errorf("listing notes of journey %s: %w", journeyID, err)
	}
	return collect(rows, sqlstore.ScanNote)
}

// ---- language and erasure ------------------------------------------------------

func (s *Store) SetLanguage(ctx context.Context, personID uuid.UUID, lang store.Language) error {
	if err := store.ValidateLanguage(lang); err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE people SET language = $1 WHERE id = $2`, string(lang), personID)
	if err != nil {
		return fmt.Errorf("setting the language of person %s: %w", personID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("person %s: %w", personID, store.ErrNotFound)
	}
	return nil
}

func (s *Store) ErasePerson(ctx context.Context, personID uuid.UUID, at time.Time) (store.PersonErasure, error) {
	return sqlstore.ErasePerson(personID, at, func(fn func(sqlstore.EraseTx) error) error {
		return s.tx(ctx, func(tx pgx.Tx) error { return fn(eraseTx{ctx, tx}) })
	})
}

// eraseTx is a transaction's statements for sqlstore.ErasePerson.
type eraseTx struct {
	ctx context.Context
	tx  pgx.Tx
}

// count runs a statement and reports how many rows it changed.
func (e eraseTx) count(sql string, args ...any) (int64, error) {
	tag, err := e.tx.Exec(e.ctx, sql, args...)
	return tag.RowsAffected(), err
}

func (e eraseTx) PersonAddress(id uuid.UUID) sqlstore.Scanner {
	return e.tx.QueryRow(e.ctx, `SELECT email FROM people WHERE id = $1 FOR UPDATE`, id)
}

func (e eraseTx) BlankPerson(id uuid.UUID, at time.Time) sqlstore.Scanner {
	return e.tx.QueryRow(e.ctx, `UPDATE people SET given_name = '', family_name = '', email = '', email_key = NULL,
		erased_at = COALESCE(erased_at, $2) WHERE id = $1 RETURNING erased_at`, id, at)
}

func (e eraseTx) DeleteNotes(id uuid.UUID) (int64, error) {
	return e.count(`DELETE FROM notes WHERE author_id = $1
		OR journey_id IN (SELECT journey_id FROM journeys WHERE person_id = $1)`, id)
}

func (e eraseTx) FailMessages(id uuid.UUID, reason string) (int64, error) {
	return e.count(`UPDATE outbox SET status = 'failed', next_attempt_at = NULL, last_error = $2
		WHERE recipient_id = $1 AND status = 'queued'`, id, reason)
}

func (e eraseTx) RevokeAPITokens(id uuid.UUID, at time.Time) (int64, error) {
	n, err := e.count(`UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL`, id, at)
	if err != nil {
		return 0, err
	}
	_, err = e.tx.Exec(e.ctx, `UPDATE api_tokens SET name = '' WHERE person_id = $1`, id)
	return n, err
}

func (e eraseTx) EndWebSessions(id uuid.UUID, at time.Time) (int64, error) {
	return e.count(`UPDATE web_sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL AND expires_at > $2`, id, at)
}

func (e eraseTx) DeleteSignInLinks(id uuid.UUID) (int64, error) {
	return e.count(`DELETE FROM sign_in_links WHERE person_id = $1`, id)
}

func (e eraseTx) StoredAnswers() ([]store.IdempotencyRecord, error) {
	rows, err := e.tx.Query(e.ctx, `SELECT `+sqlstore.IdempotencyColumns+` FROM idempotency_keys WHERE body IS NOT NULL`)
	if err != nil {
		return nil, err
	}
	return collect(rows, sqlstore.ScanIdempotencyRecord)
}

func (e eraseTx) DeleteIdempotencyRecords(id uuid.UUID, others []store.IdempotencyRecord) error {
	if _, err := e.tx.Exec(e.ctx, `DELETE FROM idempotency_keys WHERE principal_id = $1`, id); err != nil {
		return err
	}
	for _, r := range others {
		if _, err := e.tx.Exec(e.ctx, `DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2`, r.PrincipalID, r.Key); err != nil {
			return err
		}
	}
	return nil
}
