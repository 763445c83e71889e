package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/pressly/goose/v3"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
	"github.com/infuse-cymru/journeys/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return OpenTest(t) })
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	})
}

// AppendBare lets the conformance suite append an event as an earlier
// release's Record would have: the row alone.
func (s *Store) AppendBare(ctx context.Context, ev store.Event) error {
	_, err := s.write.ExecContext(ctx, `INSERT INTO events (key, intake_id, journey_id, type, occurred_at, data, recorded_at)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)`, ev.Key, ev.IntakeID.String(), ev.JourneyID.String(), ev.Type, fmtTime(ev.OccurredAt), string(ev.Data))
	return err
}

// WipeProjections lets the conformance suite prove RebuildProjections: it
// empties the projections and leaves the journeys' totals wrong, as rows
// changed outside their triggers would.
func (s *Store) WipeProjections(ctx context.Context) error {
	return s.tx(ctx, func(tx sqlstore.DB) error {
		for _, q := range []string{`DELETE FROM journeys`, `DELETE FROM journey_items`, `DELETE FROM journey_ends`,
			`UPDATE journey_totals SET attended = attended + 5, completed = completed + 5`, `UPDATE intakes SET status = 'draft'`} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// TestTwoProcesses opens one file twice, as a worker and an API process
// would, and writes through both at once: BEGIN IMMEDIATE and the busy
// timeout must keep SQLITE_BUSY away.
func TestTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, path) // migrations already applied: a no-op
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	in := store.Intake{ID: uuid.New(), Name: "Cohort Alpha"}
	if err := a.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w, s := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				ev := store.Event{Key: fmt.Sprintf("w%d/%d", w, i), IntakeID: in.ID, Type: "t"}
				if _, err := s.Record(ctx, ev); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	evs, err := b.IntakeEvents(ctx, in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 100 {
		t.Errorf("%d events, want 100", len(evs))
	}
}

func TestOpenBadPath(t *testing.T) {
	for _, p := range []string{"", "a?b.db", filepath.Join(t.TempDir(), "missing-dir", "x.db")} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

// StoredTokenHash lets the conformance suite see what is kept of a token.
func (s *Store) StoredTokenHash(ctx context.Context, id uuid.UUID) (string, error) {
	var h string
	err := s.read.QueryRowContext(ctx, `SELECT token_hash FROM api_tokens WHERE id = ?`, id.String()).Scan(&h)
	return h, err
}

// StoredSignInHashes lets the conformance suite see what is kept of
// sign-in links and sessions.
func (s *Store) StoredSignInHashes(ctx context.Context, personID uuid.UUID) (links, sessions []string, err error) {
	hashes := func(query string) ([]string, error) {
		rows, err := s.read.QueryContext(ctx, query, personID.String())
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return nil, err
			}
			out = append(out, h)
		}
		return out, rows.Err()
	}
	if links, err = hashes(`SELECT token_hash FROM sign_in_links WHERE person_id = ?`); err != nil {
		return nil, nil, err
	}
	sessions, err = hashes(`SELECT token_hash FROM web_sessions WHERE person_id = ?`)
	return links, sessions, err
}

// TestUpgradeKeepsPeopleAndTokens opens a database that an older release
// (migrations up to 00004) left with people and API tokens in it. 00005
// rebuilds people with foreign keys off; the tokens, whose foreign key
// would cascade from people, must survive it, foreign keys must be on
// again afterwards, and going down and up again must work.
func TestUpgradeKeepsPeopleAndTokens(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "old.db")
	db, p := migrator(t, path)
	if _, err := p.UpTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	person := uuid.New()
	if _, err := db.ExecContext(ctx, `INSERT INTO people (id, role, given_name, family_name, email, email_key, local_authority, theme, language, created_at)
		VALUES (?, 'coach', 'Nia', 'Ben', 'Nia@example.org', 'nia@example.org', 'Torfaen', '', 'cy', '2021-10-01T09:00:00.000000Z')`,
		person.String()); err != nil {
		t.Fatal(err)
	}
	plain, hash, err := store.NewAPITokenSecret()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO api_tokens (id, person_id, role, name, token_hash, created_at)
		VALUES (?, ?, 'coach', 'crm', ?, '2021-10-01T09:00:00.000000Z')`, uuid.NewString(), person.String(), hash); err != nil {
		t.Fatal(err)
	}

	check := func(s *Store) {
		t.Helper()
		got, err := s.GetPerson(ctx, person)
		if err != nil || got.GivenName != "Nia" || got.EmailAddress != "Nia@example.org" || !got.ErasedAt.IsZero() {
			t.Errorf("person after upgrade = %+v, %v", got, err)
		}
		if _, err := s.FindPersonByEmail(ctx, "NIA@example.org"); err != nil {
			t.Errorf("FindPersonByEmail after upgrade: %v", err)
		}
		if tok, err := s.AuthenticateAPIToken(ctx, plain, time.Now()); err != nil || tok.PersonID != person {
			t.Errorf("API token after upgrade = %+v, %v", tok, err)
		}
		var on int
		if err := s.write.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
			t.Errorf("foreign_keys = %d (%v) after migrating, want 1", on, err)
		}
		rows, err := s.write.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			t.Fatal(err)
		}
		if rows.Next() {
			t.Error("foreign_key_check reports violations after migrating")
		}
		rows.Close()
	}
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	check(s)
	if _, err := s.ErasePerson(ctx, person, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Down to 00004 (the erased person gets a placeholder key) and up again.
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatalf("migrating down: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM api_tokens`).Scan(&n); err != nil || n != 1 {
		t.Errorf("%d API tokens (%v) after migrating down, want 1", n, err)
	}
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
	defer s.Close()
	if got, err := s.GetPerson(ctx, person); err != nil || got.Role != store.RoleCoach {
		t.Errorf("person after down and up = %+v, %v", got, err)
	}
}

// migrator opens the database file at path for goose to migrate, closed
// when the test ends.
func migrator(t *testing.T, path string) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, err := sql.Open("sqlite", path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	return db, p
}

// TestMigrationFillsJourneyItems: 00010 fills the outcomes' table and the
// journeys' ends, and 00013 their totals, from an existing log as
// recording would have: migrated up from before either, and from before
// the totals alone.
func TestMigrationFillsJourneyItems(t *testing.T) {
	for _, from := range []int64{9, 12} {
		t.Run(fmt.Sprintf("from=%05d", from), func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "journeys.db")
			s, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			check := storetest.SeedOutcomes(t, s)
			s.Close()
			_, p := migrator(t, path)
			if _, err := p.DownTo(ctx, from); err != nil {
				t.Fatalf("migrating down to %05d: %v", from, err)
			}
			again, err := Open(ctx, path)
			if err != nil {
				t.Fatalf("migrating up again: %v", err)
			}
			defer again.Close()
			check(t, again, fmt.Sprintf("after migrating up from %05d", from))
		})
	}
}

// TestTokenWorksWhenItsUseCannotBeWritten: recording a token's last use
// is best effort; a database that refuses the write (here a trigger, as a
// read-only or failing database would) still lets a valid token in.
func TestTokenWorksWhenItsUseCannotBeWritten(t *testing.T) {
	ctx := context.Background()
	s := OpenTest(t)
	p := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", EmailAddress: "nia@example.org"}
	if err := s.CreatePeople(ctx, []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	plain, _, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: store.RoleCoach, Name: "crm"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.write.ExecContext(ctx, `CREATE TRIGGER refuse_use BEFORE UPDATE OF last_used_at ON api_tokens
		BEGIN SELECT RAISE(ABORT, 'the disk is full'); END`); err != nil {
		t.Fatal(err)
	}
	tok, err := s.AuthenticateAPIToken(ctx, plain, time.Now())
	if err != nil || tok.PersonID != p.ID {
		t.Fatalf("AuthenticateAPIToken when its use cannot be written = %+v, %v; want the token", tok, err)
	}
	if !tok.LastUsedAt.IsZero() {
		t.Errorf("LastUsedAt = %s, want it unchanged (never used) since the write failed", tok.LastUsedAt)
	}
}

// TestMigrationFencedEvents: 00011 goes down (the fences go; a sent
// message of a dropped event goes, as event_seq is NOT NULL again) and up
// again, each time rebuilding outbox with its ids, its AUTOINCREMENT
// counter and foreign keys intact, and fenced events are recorded as before.
func TestMigrationFencedEvents(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "journeys.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	check := storetest.SeedFenced(t, s)
	check(t, s, "before migrating down", true)
	counter := func(db *sql.DB) (n int64) {
		t.Helper()
		if err := db.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = 'outbox'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	// The newest message goes (as a dropped event's queued one does), so
	// the counter is past every id left: a rebuild must keep it so.
	if _, err := s.write.ExecContext(ctx, `DELETE FROM outbox WHERE id = (SELECT max(id) FROM outbox)`); err != nil {
		t.Fatal(err)
	}
	before := counter(s.write)
	s.Close()
	db, p := migrator(t, path)
	if _, err := p.DownTo(ctx, 10); err != nil {
		t.Fatalf("migrating down to 00010: %v", err)
	}
	var columns, streams, notNull int
	if err := db.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM pragma_table_info('events') WHERE name IN ('stream', 'stream_seq', 'fence')),
		(SELECT count(*) FROM sqlite_master WHERE name = 'event_streams'),
		(SELECT "notnull" FROM pragma_table_info('outbox') WHERE name = 'event_seq')`).Scan(&columns, &streams, &notNull); err != nil {
		t.Fatal(err)
	}
	if columns != 0 || streams != 0 || notNull != 1 {
		t.Errorf("after migrating down: %d of the events' fence columns, %d event_streams, outbox.event_seq NOT NULL %d; want 0, 0, 1",
			columns, streams, notNull)
	}
	if n := counter(db); n != before {
		t.Errorf("outbox's AUTOINCREMENT counter after migrating down = %d, want %d (ids would be used again)", n, before)
	}
	again, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
	defer again.Close()
	if n := counter(again.write); n != before {
		t.Errorf("outbox's AUTOINCREMENT counter after migrating down and up = %d, want %d (ids would be used again)", n, before)
	}
	check(t, again, "after migrating down and up", false)
	rows, err := again.write.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("foreign_key_check reports violations after migrating down and up")
	}
}

func BenchmarkRecord(b *testing.B) { storetest.BenchmarkRecord(b, OpenTest(b)) }

// BenchmarkRecordInMemory is BenchmarkRecord without the disk: the
// statements' own cost.
func BenchmarkRecordInMemory(b *testing.B) {
	s, err := Open(context.Background(), ":memory:")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.BenchmarkRecord(b, s)
}

// TestEveryQueryPrepares: SQLite parses every query of queries/*.sql
// against the migrated schema, those no conformance test happens to reach
// included.
func TestEveryQueryPrepares(t *testing.T) {
	s := OpenTest(t)
	q, err := sqlstore.LoadQueries(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, query := range q.All() {
		st, err := s.write.PrepareContext(t.Context(), query)
		if err != nil {
			t.Errorf("preparing %q: %v", query, err)
			continue
		}
		st.Close()
	}
}
