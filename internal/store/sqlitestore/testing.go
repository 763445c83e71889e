package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"

	"github.com/infuse-cymru/journeys/internal/store/internal/sqlstore"
)

// OpenTest opens a Store on a new database file in the test's temporary
// directory (a file rather than ":memory:", so tests exercise WAL mode and
// the separate read pool as production does). It is closed when the test ends.
func OpenTest(t testing.TB) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "journeys.db")
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("opening test store %s: %v", path, err)
	}
	t.Cleanup(s.Close)
	return s
}

// FindText lists, as "table.column", every column of every table holding a
// value in which one of texts appears (as bytes: TEXT and BLOB alike). It
// is how tests prove an erasure leaves nothing of a person behind.
func (s *Store) FindText(ctx context.Context, texts ...string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("listing tables: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return sqlstore.FindText(tables, texts, func(table string, texts []string) ([]string, error) {
		return s.findTextIn(ctx, table, texts)
	})
}

// findTextIn is FindText for one table.
func (s *Store) findTextIn(ctx context.Context, table string, texts []string) ([]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return nil, fmt.Errorf("reading table %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	values := make([]sql.RawBytes, len(cols))
	dest := make([]any, len(cols))
	for i := range values {
		dest[i] = &values[i]
	}
	seen := map[string]bool{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("reading table %s: %w", table, err)
		}
		for i, v := range values {
			if sqlstore.HoldsAny(v, texts) {
				seen[table+"."+cols[i]] = true
			}
		}
	}
	return slices.Sorted(maps.Keys(seen)), rows.Err()
}
