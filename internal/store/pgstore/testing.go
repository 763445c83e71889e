package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
)

// TestDatabaseURLEnv names the environment variable that points tests at a
// PostgreSQL server; DefaultTestDatabaseURL is used when it is unset.
const (
	TestDatabaseURLEnv     = "INFUSE_TEST_DATABASE_URL"
	DefaultTestDatabaseURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// TestDatabaseURL is the server tests use: $INFUSE_TEST_DATABASE_URL, or
// DefaultTestDatabaseURL.
func TestDatabaseURL() string {
	if u := os.Getenv(TestDatabaseURLEnv); u != "" {
		return u
	}
	return DefaultTestDatabaseURL
}

// OpenTest opens a Store in a schema of its own, created for this test on the
// server at TestDatabaseURL and dropped when the test ends, so parallel tests,
// parallel packages and reruns never see each other's rows.
//
// If the server cannot be reached the test fails, saying how to start it:
// the PostgreSQL suite must never be skipped silently.
func OpenTest(t testing.TB) *Store {
	t.Helper()
	u := TestSchemaURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, u)
	if err != nil {
		t.Fatalf("opening store in test schema %s: %v", redact(u), err)
	}
	t.Cleanup(s.Close) // runs before the schema is dropped
	return s
}

// TestSchemaURL creates a schema of its own for this test on the server at
// TestDatabaseURL, dropped when the test ends, and returns the database URL
// that keeps a store there: for a test that runs the store in another
// process (the cluster test's workers).
func TestSchemaURL(t testing.TB) string {
	t.Helper()
	base := TestDatabaseURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("PostgreSQL for tests is not reachable at %s: %v\n"+
			"Start the local server with:\n"+
			"    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n"+
			"or set %s to the URL of a server where you may create schemas.",
			redact(base), err, TestDatabaseURLEnv)
	}
	defer admin.Close(context.Background())

	schema := "t_" + randomHex(8)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating test schema %s on %s: %v", schema, redact(base), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping test schema %s: %v", schema, err)
		}
	})

	u, err := WithSearchPath(base, schema)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// WithSearchPath returns databaseURL (URL or key=value form) with its
// search_path set to schema, which is where Open then keeps the store.
func WithSearchPath(databaseURL, schema string) (string, error) {
	if strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://") {
		u, err := url.Parse(databaseURL)
		if err != nil {
			return "", fmt.Errorf("parsing database URL: %w", err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String(), nil
	}
	return strings.TrimSpace(databaseURL) + " search_path=" + schema, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redact hides a password in a database URL for error messages.
var passwordParam = regexp.MustCompile(`password=('(?:[^'\\]|\\.)*'|\S+)`)

func redact(databaseURL string) string {
	if !strings.Contains(databaseURL, "://") {
		return passwordParam.ReplaceAllString(databaseURL, "password=xxxxx")
	}
	u, err := url.Parse(databaseURL)
	if err != nil || u.User == nil {
		return databaseURL
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// FindText lists, as "table.column", every column of every table in the
// store's schema holding a value in which one of texts appears (as the
// bytes PostgreSQL sends: text, json and bytea alike). It is how tests
// prove an erasure leaves nothing of a person behind.
func (s *Store) FindText(ctx context.Context, texts ...string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	return sqlstore.FindText(tables, texts, func(table string, texts []string) ([]string, error) {
		return s.findTextIn(ctx, table, texts)
	})
}

// findTextIn is FindText for one table.
func (s *Store) findTextIn(ctx context.Context, table string, texts []string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT * FROM `+pgx.Identifier{table}.Sanitize())
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %w", table, err)
	}
	defer rows.Close()
	seen := map[string]bool{}
	for rows.Next() {
		for i, v := range rows.RawValues() {
			if sqlstore.HoldsAny(v, texts) {
				seen[table+"."+rows.FieldDescriptions()[i].Name] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), rows.Err()
}

// Analyze has the server vacuum the store's tables and gather their
// statistics, as its autovacuum does within a minute or so of a bulk load.
// A benchmark that has just stored thousands of rows calls it so that its
// queries run with the plans a deployment's would, not those made for
// empty tables (for a 10,000-journey intake's roster: 20,000 index
// look-ups instead of one hash join, twice the time), over tables rid of
// the rows its updates left dead (each of a journey's events rewrites its
// projection row, each attendance its totals), as autovacuum would have.
func (s *Store) Analyze(ctx context.Context) error {
	rows, err := s.pool.Query(ctx, `SELECT quote_ident(schemaname) || '.' || quote_ident(tablename)
		FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`)
	if err != nil {
		return fmt.Errorf("listing the store's tables: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("listing the store's tables: %w", err)
	}
	// Only the store's own: other tests' schemas share the database.
	if _, err := s.pool.Exec(ctx, `VACUUM ANALYZE `+strings.Join(tables, ", ")); err != nil {
		return fmt.Errorf("analyzing the store's tables: %w", err)
	}
	return nil
}
