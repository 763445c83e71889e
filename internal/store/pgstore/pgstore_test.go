package pgstore

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
	"github.com/infuse-cymru/journeys/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return OpenTest(t) })
}

// The roster orders names as Go compares strings on a database whose
// locale orders them otherwise too (the test database's C.UTF-8 already
// agrees with Go): here the people's names sort by ICU's rules, which put
// "anna" before "Bryn".
func TestRosterPagesWhateverTheCollation(t *testing.T) {
	s := OpenTest(t)
	if _, err := s.pool.Exec(t.Context(), `ALTER TABLE people
		ALTER COLUMN given_name TYPE text COLLATE "und-x-icu", ALTER COLUMN family_name TYPE text COLLATE "und-x-icu"`); err != nil {
		t.Fatalf("giving the people's names ICU's order: %v", err)
	}
	// Names RosterPages lists ("anna", "Bryn") that ICU orders otherwise
	// than Go does: else this test would prove nothing.
	var icuFirst string
	if err := s.pool.QueryRow(t.Context(), `SELECT min(n COLLATE "und-x-icu") FROM (VALUES ('anna'), ('Bryn')) AS v(n)`).Scan(&icuFirst); err != nil || icuFirst != "anna" {
		t.Fatalf("ICU puts %q first (%v): want anna, where Go puts Bryn", icuFirst, err)
	}
	storetest.RosterPages(t, s)
}

// AppendBare lets the conformance suite append an event as an earlier
// release's Record would have: the row alone.
func (s *Store) AppendBare(ctx context.Context, ev store.Event) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO events (key, intake_id, journey_id, type, occurred_at, data, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $5)`, ev.Key, ev.IntakeID, ev.JourneyID, ev.Type, ev.OccurredAt, []byte(ev.Data))
	return err
}

// WipeProjections lets the conformance suite prove RebuildProjections: it
// empties the projections and leaves the journeys' totals wrong, as rows
// changed outside their triggers would.
func (s *Store) WipeProjections(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM journeys; DELETE FROM journey_items; DELETE FROM journey_ends; UPDATE intakes SET status = 'draft';
		UPDATE journey_totals SET attended = attended + 5, completed = completed + 5`)
	return err
}

// TestOpenInSchema checks that everything, goose's version table included,
// lives in the schema named by search_path, and that reopening is a no-op.
func TestOpenInSchema(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(schema, "t_") {
		t.Fatalf("current_schema() = %q, want the test schema", schema)
	}
	for _, table := range []string{"goose_db_version", "people", "intakes", "events", "journeys", "outbox", "notes", "certificates", "api_tokens",
		"sign_in_links", "web_sessions", "idempotency_keys", "journey_items", "journey_ends"} {
		var found bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)`,
			schema, table).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("table %s is not in schema %s", table, schema)
		}
	}
	var function bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = $1 AND p.proname = 'keep_journey_facts')`, schema).Scan(&function); err != nil {
		t.Fatal(err)
	}
	if !function {
		t.Errorf("the trigger function keep_journey_facts is not in schema %s", schema)
	}
	u, err := WithSearchPath(TestDatabaseURL(), schema)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	again.Close()
}

func TestOpenMissingSchema(t *testing.T) {
	u, err := WithSearchPath(TestDatabaseURL(), "no_such_schema_here")
	if err != nil {
		t.Fatal(err)
	}
	OpenTest(t) // fails, with instructions, if the server is down
	s, err := Open(t.Context(), u)
	if err == nil {
		s.Close()
		t.Fatal("Open with a search_path naming no schema succeeded")
	}
	if !strings.Contains(err.Error(), "CREATE SCHEMA") {
		t.Errorf("error %q does not say what to do", err)
	}
}

func TestWithSearchPath(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h:5432/db?sslmode=disable": "postgres://u@h:5432/db?search_path=s1&sslmode=disable",
		"postgresql://u@h/db?search_path=x":      "postgresql://u@h/db?search_path=s1",
		"host=h dbname=db":                       "host=h dbname=db search_path=s1",
	} {
		got, err := WithSearchPath(in, "s1")
		if err != nil || got != want {
			t.Errorf("WithSearchPath(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got := redact("postgres://u:secret@h/db"); strings.Contains(got, "secret") {
		t.Errorf("redact left the password in %q", got)
	}
	if got := redact("host=h password=secret dbname=db"); strings.Contains(got, "secret") {
		t.Errorf("redact left the password in %q", got)
	}
}

// StoredTokenHash lets the conformance suite see what is kept of a token.
func (s *Store) StoredTokenHash(ctx context.Context, id uuid.UUID) (string, error) {
	var h string
	err := s.pool.QueryRow(ctx, `SELECT token_hash FROM api_tokens WHERE id = $1`, id).Scan(&h)
	return h, err
}

// StoredSignInHashes lets the conformance suite see what is kept of
// sign-in links and sessions.
func (s *Store) StoredSignInHashes(ctx context.Context, personID uuid.UUID) (links, sessions []string, err error) {
	rows, err := s.pool.Query(ctx, `SELECT token_hash FROM sign_in_links WHERE person_id = $1`, personID)
	if err != nil {
		return nil, nil, err
	}
	if links, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return nil, nil, err
	}
	rows, err = s.pool.Query(ctx, `SELECT token_hash FROM web_sessions WHERE person_id = $1`, personID)
	if err != nil {
		return nil, nil, err
	}
	sessions, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return links, sessions, err
}

// TestMigrateDownAndUp: 00005 goes down (an erased person gets a
// placeholder e-mail key, as email_key is NOT NULL again) and up again.
func TestMigrateDownAndUp(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	p := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", EmailAddress: "nia@example.org"}
	if err := s.CreatePeople(ctx, []store.Person{p}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ErasePerson(ctx, p.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	u := migrateDownTo(t, s, 4)
	again, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
	defer again.Close()
	if got, err := again.GetPerson(ctx, p.ID); err != nil || got.Role != store.RoleCoach || got.GivenName != "" {
		t.Errorf("person after down and up = %+v, %v", got, err)
	}
}

// TestMigrationFillsJourneyItems: 00010 fills the outcomes' table and the
// journeys' ends, and 00013 their totals, from an existing log as
// recording would have: migrated up from before either, and from before
// the totals alone.
func TestMigrationFillsJourneyItems(t *testing.T) {
	for _, from := range []int64{9, 12} {
		t.Run(fmt.Sprintf("from=%05d", from), func(t *testing.T) {
			s := OpenTest(t)
			check := storetest.SeedOutcomes(t, s)
			again, err := Open(t.Context(), migrateDownTo(t, s, from))
			if err != nil {
				t.Fatalf("migrating up again: %v", err)
			}
			defer again.Close()
			check(t, again, fmt.Sprintf("after migrating up from %05d", from))
		})
	}
}

// migrateDownTo migrates s's schema down to version and returns the URL
// that opens it (migrating it up again).
func migrateDownTo(t *testing.T, s *Store, version int64) string {
	t.Helper()
	ctx := t.Context()
	var schema string
	if err := s.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		t.Fatal(err)
	}
	u, err := WithSearchPath(TestDatabaseURL(), schema)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	prov, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := prov.DownTo(ctx, version); err != nil {
		t.Fatalf("migrating down to %d: %v", version, err)
	}
	return u
}

// TestClaimSkipsRecipientBeingClaimed: while another transaction holds one
// of a person's due messages (another deliverer's claim under way), a claim
// leaves that person out whole rather than take their other messages, and
// does not wait; once the lock is gone, the person is claimed whole.
func TestClaimSkipsRecipientBeingClaimed(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20}
	if err := s.CreateIntake(ctx, in); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2027, 1, 11, 9, 0, 0, 0, time.UTC)
	siân, rhys := uuid.New(), uuid.New()
	var msgs []store.Message
	for i, to := range []uuid.UUID{siân, siân, siân, rhys} {
		key := fmt.Sprintf("m%d", i)
		msgs = append(msgs, store.Message{Key: key, IntakeID: in.ID, RecipientID: to, Role: store.RoleParticipant,
			Template: "t", SendAt: at.Add(time.Duration(i) * time.Minute)})
	}
	if _, err := s.Record(ctx, store.Event{Key: "e", IntakeID: in.ID, Type: "t"}, msgs...); err != nil {
		t.Fatal(err)
	}
	other, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx)
	if _, err := other.Exec(ctx, `SELECT 1 FROM outbox WHERE key = 'm1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	now := at.Add(time.Hour)
	claim := func(owner string, want ...string) {
		t.Helper()
		// A claim that waited for the lock would wait for ever: other
		// only lets go below. The deadline ends that, however slow the machine.
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		got, err := s.ClaimDue(ctx, owner, now, time.Minute, 0)
		var keys []string
		for _, m := range got {
			keys = append(keys, m.Key)
		}
		if err != nil || !slices.Equal(keys, want) {
			t.Errorf("ClaimDue(%s) = %v, %v; want %v", owner, keys, err, want)
		}
	}
	claim("a", "m3")
	if err := other.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	claim("b", "m0", "m1", "m2")
}

// TestMigrationFencedEvents: 00011 goes down (the fences go; a sent
// message of a dropped event goes, as event_seq is NOT NULL again) and up
// again, and fenced events are recorded as before.
func TestMigrationFencedEvents(t *testing.T) {
	ctx := t.Context()
	s := OpenTest(t)
	check := storetest.SeedFenced(t, s)
	check(t, s, "before migrating down", true)
	u := migrateDownTo(t, s, 10)
	var columns int
	var streams *string
	var nullable string
	if err := s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'events'
			AND column_name IN ('stream', 'stream_seq', 'fence')),
		to_regclass('event_streams')::text,
		(SELECT is_nullable FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'outbox'
			AND column_name = 'event_seq')`).Scan(&columns, &streams, &nullable); err != nil {
		t.Fatal(err)
	}
	if columns != 0 || streams != nil || nullable != "NO" {
		t.Errorf("after migrating down: %d of the events' fence columns, event_streams %v, outbox.event_seq nullable %s; want 0, none, NO",
			columns, streams, nullable)
	}
	again, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("migrating up again: %v", err)
	}
	defer again.Close()
	check(t, again, "after migrating down and up", false)
}

func BenchmarkRecord(b *testing.B) { storetest.BenchmarkRecord(b, OpenTest(b)) }

// TestEveryQueryPrepares: PostgreSQL parses and plans every query of
// queries/*.sql against the migrated schema, those no conformance test
// happens to reach included (sqlitestore's test of the name does the same
// on SQLite).
func TestEveryQueryPrepares(t *testing.T) {
	s := OpenTest(t)
	q, err := sqlstore.LoadQueries(true)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := s.pool.Acquire(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, query := range q.All() {
		if _, err := conn.Conn().Prepare(t.Context(), "", query); err != nil {
			t.Errorf("preparing %q: %v", query, err)
		}
	}
}

// TestQueriesKeepTheirLocks: the row and table locks that keep concurrent
// writers apart on PostgreSQL are in its texts of the queries (SQLite's
// single writer needs none, so the templates leave them out there, and
// only PostgreSQL's concurrency tests would miss a lock a template lost).
func TestQueriesKeepTheirLocks(t *testing.T) {
	q, err := sqlstore.LoadQueries(true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, query, lock string }{
		{"PersonAddress (an erasure waits for another of the same person)", q.PersonAddress, "FOR UPDATE"},
		{"LockLivePerson (sign-in links for one person are counted one at a time)", q.LockLivePerson, "FOR UPDATE"},
		{"LockForRebuild (Record waits while the projections are rebuilt)", q.LockForRebuild, "LOCK TABLE events, journeys, intakes IN SHARE ROW EXCLUSIVE MODE"},
		{"LockClaims (two deliverers never claim one message)", q.LockClaims, "FOR UPDATE SKIP LOCKED"},
		{"LockStream (two attempts of one workflow task record one at a time)", q.LockStream, "ON CONFLICT (stream) DO UPDATE"},
	} {
		if !strings.Contains(c.query, c.lock) {
			t.Errorf("%s: %q has lost %q", c.name, c.query, c.lock)
		}
	}
}
