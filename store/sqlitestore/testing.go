package sqlitestore

import (
	"context"
	"path/filepath"
	"testing"
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
