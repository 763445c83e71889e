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
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/infuse-cymru/journeys/store"
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

// tx runs fn in a transaction, committing if it returns nil.
func (s *Store) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
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

func fromNullUUID(n uuid.NullUUID) uuid.UUID {
	if !n.Valid {
		return uuid.Nil
	}
	return n.UUID
}

func fromNullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return store.StoredTime(*t)
}

func fromNullString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func notFound(err error, what string, id any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
	}
	return fmt.Errorf("reading %s %v: %w", what, id, err)
}

// ---- people ----------------------------------------------------------------

const personColumns = `id, role, given_name, family_name, email, local_authority, theme, language, created_at`

func scanPerson(row pgx.Row) (store.Person, error) {
	var p store.Person
	var role, lang string
	err := row.Scan(&p.ID, &role, &p.GivenName, &p.FamilyName, &p.EmailAddress,
		&p.LocalAuthority, &p.Theme, &lang, &p.CreatedAt)
	p.Role, p.Language, p.CreatedAt = store.Role(role), store.Language(lang), store.StoredTime(p.CreatedAt)
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
	return s.tx(ctx, func(tx pgx.Tx) error {
		for i, p := range rows {
			tag, err := tx.Exec(ctx, `INSERT INTO people (`+personColumns+`, email_key)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
				p.ID, string(p.Role), p.GivenName, p.FamilyName, p.EmailAddress,
				p.LocalAuthority, p.Theme, string(p.Language), p.CreatedAt, store.EmailKey(p.EmailAddress))
			if err != nil {
				return fmt.Errorf("person %d (%s): %w", i, p.ID, err)
			}
			if tag.RowsAffected() == 1 {
				continue
			}
			// Either the ID or the e-mail address is taken.
			old, err := scanPerson(tx.QueryRow(ctx, `SELECT `+personColumns+` FROM people WHERE id = $1`, p.ID))
			switch {
			case errors.Is(err, pgx.ErrNoRows):
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
	p, err := scanPerson(s.pool.QueryRow(ctx, `SELECT `+personColumns+` FROM people WHERE id = $1`, id))
	if err != nil {
		return store.Person{}, notFound(err, "person", id)
	}
	return p, nil
}

func (s *Store) FindPersonByEmail(ctx context.Context, email string) (store.Person, error) {
	p, err := scanPerson(s.pool.QueryRow(ctx, `SELECT `+personColumns+` FROM people WHERE email_key = $1`, store.EmailKey(email)))
	if err != nil {
		return store.Person{}, notFound(err, "person with e-mail address", fmt.Sprintf("%q", email))
	}
	return p, nil
}

func (s *Store) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+personColumns+` FROM people
		WHERE $1 = '' OR role = $1 ORDER BY created_at, id`, string(role))
	if err != nil {
		return nil, fmt.Errorf("listing people: %w", err)
	}
	return collect(rows, scanPerson)
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
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

// ---- intakes ---------------------------------------------------------------

const intakeColumns = `id, name, programme_id, programme_version, opens_at, closes_at, starts_on,
	capacity, coordinator_id, status, created_at`

func scanIntake(row pgx.Row) (store.Intake, error) {
	var in store.Intake
	var opens, closes, starts *time.Time
	var coord uuid.NullUUID
	var status string
	err := row.Scan(&in.ID, &in.Name, &in.ProgrammeID, &in.ProgrammeVersion, &opens, &closes, &starts,
		&in.Capacity, &coord, &status, &in.CreatedAt)
	in.OpensAt, in.ClosesAt, in.StartsOn = fromNullTime(opens), fromNullTime(closes), fromNullTime(starts)
	in.CoordinatorID, in.Status, in.CreatedAt = fromNullUUID(coord), store.IntakeStatus(status), store.StoredTime(in.CreatedAt)
	return in, err
}

func (s *Store) CreateIntake(ctx context.Context, in store.Intake) error {
	in, err := store.PrepareIntake(in, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO intakes (`+intakeColumns+`, created_status)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) ON CONFLICT (id) DO NOTHING`,
			in.ID, in.Name, in.ProgrammeID, in.ProgrammeVersion, nullTime(in.OpensAt), nullTime(in.ClosesAt),
			nullTime(in.StartsOn), in.Capacity, nullUUID(in.CoordinatorID), string(in.Status), in.CreatedAt)
		if err != nil {
			return fmt.Errorf("intake %s: %w", in.ID, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		old, err := scanIntake(tx.QueryRow(ctx, `SELECT `+intakeColumns+` FROM intakes WHERE id = $1`, in.ID))
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
	in, err := scanIntake(s.pool.QueryRow(ctx, `SELECT `+intakeColumns+` FROM intakes WHERE id = $1`, id))
	if err != nil {
		return store.Intake{}, notFound(err, "intake", id)
	}
	return in, nil
}

func (s *Store) ListIntakes(ctx context.Context) ([]store.Intake, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+intakeColumns+` FROM intakes ORDER BY starts_on NULLS LAST, created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("listing intakes: %w", err)
	}
	return collect(rows, scanIntake)
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
	data := []byte(ev.Data) // nil is NULL
	recorded := false
	err = s.tx(ctx, func(tx pgx.Tx) error {
		// A concurrent transaction inserting the same key makes this one wait
		// for it; if it commits, ON CONFLICT turns this insert into a no-op.
		var seq int64
		err := tx.QueryRow(ctx, `INSERT INTO events
			(key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (key) DO NOTHING RETURNING seq`,
			ev.Key, ev.IntakeID, nullUUID(ev.JourneyID), ev.Type, ev.OccurredAt, data, snap,
			nullString(string(ev.IntakeStatus)), ev.RecordedAt).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
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
			if _, err := tx.Exec(ctx, `UPDATE intakes SET status = $2 WHERE id = $1`,
				ev.IntakeID, string(ev.IntakeStatus)); err != nil {
				return fmt.Errorf("updating status of intake %s: %w", ev.IntakeID, err)
			}
		}
		for _, m := range msgs {
			if _, err := tx.Exec(ctx, `INSERT INTO outbox
				(key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id, channel, send_at, status, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (key) DO NOTHING`,
				m.Key, seq, m.IntakeID, nullUUID(m.JourneyID), m.RecipientID, string(m.Role), m.Template,
				m.ItemID, m.Channel, m.SendAt, string(m.Status), m.CreatedAt); err != nil {
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
func upsertJourney(ctx context.Context, tx pgx.Tx, snap store.JourneySnapshot, seq int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO journeys AS j
		(journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome, updated_seq)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (journey_id) DO UPDATE SET
			intake_id = excluded.intake_id, person_id = excluded.person_id, coach_id = excluded.coach_id,
			state = excluded.state, phase = excluded.phase, next_due_item = excluded.next_due_item,
			next_due_at = excluded.next_due_at, overdue_count = excluded.overdue_count,
			outcome = excluded.outcome, updated_seq = excluded.updated_seq
		WHERE j.updated_seq < excluded.updated_seq`,
		snap.JourneyID, snap.IntakeID, snap.PersonID, nullUUID(snap.CoachID), snap.State, snap.Phase,
		snap.NextDueItem, nullTime(snap.NextDueAt), snap.OverdueCount, snap.Outcome, seq)
	if err != nil {
		return fmt.Errorf("projecting journey %s: %w", snap.JourneyID, err)
	}
	return nil
}

const eventColumns = `seq, key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at`

func scanEvent(row pgx.Row) (store.Event, error) {
	var ev store.Event
	var journey uuid.NullUUID
	var data, snap []byte
	var status *string
	if err := row.Scan(&ev.Seq, &ev.Key, &ev.IntakeID, &journey, &ev.Type, &ev.OccurredAt,
		&data, &snap, &status, &ev.RecordedAt); err != nil {
		return store.Event{}, err
	}
	var err error
	if ev.Data, err = store.CompactData(data); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	if ev.Snapshot, err = store.DecodeSnapshot(snap); err != nil {
		return store.Event{}, fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	ev.JourneyID = fromNullUUID(journey)
	ev.IntakeStatus = store.IntakeStatus(fromNullString(status))
	ev.OccurredAt, ev.RecordedAt = store.StoredTime(ev.OccurredAt), store.StoredTime(ev.RecordedAt)
	return ev, nil
}

func (s *Store) JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE journey_id = $1 ORDER BY seq`, journeyID)
	if err != nil {
		return nil, fmt.Errorf("listing events of journey %s: %w", journeyID, err)
	}
	return collect(rows, scanEvent)
}

func (s *Store) IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+eventColumns+` FROM events WHERE intake_id = $1 ORDER BY seq`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("listing events of intake %s: %w", intakeID, err)
	}
	return collect(rows, scanEvent)
}

const journeyColumns = `journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome`

func scanJourney(row pgx.Row) (store.JourneySnapshot, error) {
	var j store.JourneySnapshot
	var coach uuid.NullUUID
	var due *time.Time
	err := row.Scan(&j.JourneyID, &j.IntakeID, &j.PersonID, &coach, &j.State, &j.Phase,
		&j.NextDueItem, &due, &j.OverdueCount, &j.Outcome)
	j.CoachID, j.NextDueAt = fromNullUUID(coach), fromNullTime(due)
	return j, err
}

func (s *Store) GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	j, err := scanJourney(s.pool.QueryRow(ctx, `SELECT `+journeyColumns+` FROM journeys WHERE journey_id = $1`, journeyID))
	if err != nil {
		return store.JourneySnapshot{}, notFound(err, "journey", journeyID)
	}
	return j, nil
}

func (s *Store) ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+journeyColumns+` FROM journeys WHERE intake_id = $1 ORDER BY journey_id`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("listing journeys of intake %s: %w", intakeID, err)
	}
	return collect(rows, scanJourney)
}

func (s *Store) IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM journeys WHERE intake_id = $1 GROUP BY state`, intakeID)
	if err != nil {
		return nil, fmt.Errorf("counting journeys of intake %s: %w", intakeID, err)
	}
	defer rows.Close()
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

func (s *Store) RebuildProjections(ctx context.Context) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Stop Record from changing the log or the projections underneath us.
		if _, err := tx.Exec(ctx, `LOCK TABLE events, journeys, intakes IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT seq, snapshot FROM events WHERE seq IN
			(SELECT max(seq) FROM events WHERE snapshot IS NOT NULL GROUP BY journey_id) ORDER BY seq`)
		if err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		type latest struct {
			seq  int64
			snap *store.JourneySnapshot
		}
		all, err := collect(rows, func(r pgx.Row) (latest, error) {
			var l latest
			var b []byte
			if err := r.Scan(&l.seq, &b); err != nil {
				return l, err
			}
			var err error
			l.snap, err = store.DecodeSnapshot(b)
			return l, err
		})
		if err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM journeys`); err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
		for _, l := range all {
			if err := upsertJourney(ctx, tx, *l.snap, l.seq); err != nil {
				return fmt.Errorf("rebuilding projections: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE intakes SET status = COALESCE(
			(SELECT e.intake_status FROM events e WHERE e.intake_id = intakes.id AND e.intake_status IS NOT NULL
			 ORDER BY e.seq DESC LIMIT 1), created_status)`); err != nil {
			return fmt.Errorf("rebuilding intake statuses: %w", err)
		}
		return nil
	})
}

// ---- outbox ----------------------------------------------------------------

func (s *Store) ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error) {
	limit := any(nil) // LIMIT NULL is no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	rows, err := s.pool.Query(ctx, `SELECT key, intake_id, journey_id, recipient_id, role, template, item_id,
			channel, send_at, status, created_at
		FROM outbox
		WHERE ($1::uuid IS NULL OR intake_id = $1) AND ($2::uuid IS NULL OR journey_id = $2)
		  AND ($3::uuid IS NULL OR recipient_id = $3) AND ($4 = '' OR status = $4)
		ORDER BY send_at, id LIMIT $5`,
		nullUUID(f.IntakeID), nullUUID(f.JourneyID), nullUUID(f.RecipientID), string(f.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return collect(rows, func(row pgx.Row) (store.Message, error) {
		var m store.Message
		var journey uuid.NullUUID
		var role, status string
		err := row.Scan(&m.Key, &m.IntakeID, &journey, &m.RecipientID, &role, &m.Template, &m.ItemID,
			&m.Channel, &m.SendAt, &status, &m.CreatedAt)
		m.JourneyID, m.Role, m.Status = fromNullUUID(journey), store.Role(role), store.MessageStatus(status)
		m.SendAt, m.CreatedAt = store.StoredTime(m.SendAt), store.StoredTime(m.CreatedAt)
		return m, err
	})
}

// ---- notes -----------------------------------------------------------------

const noteColumns = `id, author_id, journey_id, body, created_at`

func scanNote(row pgx.Row) (store.Note, error) {
	var n store.Note
	var journey uuid.NullUUID
	err := row.Scan(&n.ID, &n.AuthorID, &journey, &n.Body, &n.CreatedAt)
	n.JourneyID, n.CreatedAt = fromNullUUID(journey), store.StoredTime(n.CreatedAt)
	return n, err
}

func (s *Store) SaveNote(ctx context.Context, n store.Note) error {
	n, err := store.PrepareNote(n, now())
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO notes (`+noteColumns+`) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO NOTHING`, n.ID, n.AuthorID, nullUUID(n.JourneyID), n.Body, n.CreatedAt)
		if err != nil {
			return fmt.Errorf("saving note %s: %w", n.ID, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		old, err := scanNote(tx.QueryRow(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = $1`, n.ID))
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
	n, err := scanNote(s.pool.QueryRow(ctx, `SELECT `+noteColumns+` FROM notes WHERE id = $1`, id))
	if err != nil {
		return store.Note{}, notFound(err, "note", id)
	}
	return n, nil
}
