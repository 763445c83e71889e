package pgstore

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return OpenTest(t) })
}

// WipeProjections lets the conformance suite prove RebuildProjections.
func (s *Store) WipeProjections(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM journeys; UPDATE intakes SET status = 'draft'`)
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
	for _, table := range []string{"goose_db_version", "people", "intakes", "events", "journeys", "outbox", "notes", "certificates", "api_tokens"} {
		var found bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2)`,
			schema, table).Scan(&found); err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Errorf("table %s is not in schema %s", table, schema)
		}
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
