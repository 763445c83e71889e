package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestReadsFromKeptStatements: each read query is prepared once and kept,
// whoever asks and however often, and runs from the statement kept; a
// query that cannot be prepared still reports its error, in the row as
// database/sql does; past maxPrepared a query runs unprepared, with the
// same answer; and a kept statement still reads right after the schema
// under it changes.
func TestReadsFromKeptStatements(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "journeys.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var prepares atomic.Int64
	prepare := s.read.prepare
	s.read.prepare = func(ctx context.Context, query string) (*sql.Stmt, error) {
		prepares.Add(1)
		return prepare(ctx, query)
	}

	const count = `SELECT count(*) FROM people WHERE role = ?1`
	ask := func() {
		var n int
		if err := s.read.QueryRowContext(ctx, count, "coach").Scan(&n); err != nil || n != 0 {
			t.Errorf("counting coaches: %d, %v; want 0", n, err)
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				ask()
			}
		})
	}
	wg.Wait()
	// Eight asking at once may each prepare it before one is kept.
	if got := prepares.Load(); got < 1 || got > 8 {
		t.Errorf("one query asked 160 times by 8 at once was prepared %d times, want 1 to 8", got)
	}
	if got := s.read.kept(); got != 1 {
		t.Errorf("%d statements kept after one query asked 160 times at once, want 1", got)
	}
	before := prepares.Load()
	ask()
	if got := prepares.Load(); got != before {
		t.Errorf("a kept query asked again was prepared again")
	}
	s.read.mu.Lock()
	s.read.prepared[count].Close()
	s.read.mu.Unlock()
	if err := s.read.QueryRowContext(ctx, count, "coach").Scan(new(int)); err == nil {
		t.Error("the query ran with its kept statement closed: it does not run from the statement kept")
	}
	if _, err := s.read.QueryContext(ctx, count, "coach"); err == nil {
		t.Error("the query's rows came with its kept statement closed: they do not come from the statement kept")
	}
	s.read.mu.Lock()
	delete(s.read.prepared, count)
	s.read.mu.Unlock()

	err = s.read.QueryRowContext(ctx, `SELECT x FROM nowhere`).Scan(new(int))
	if err == nil || !strings.Contains(err.Error(), "no such table") {
		t.Errorf("a query of no table: %v, want its error", err)
	}
	if _, err := s.read.QueryContext(ctx, `SELECT x FROM nowhere`); err == nil {
		t.Error("a query of no table ran")
	}

	for i := range maxPrepared + 10 {
		var got int
		if err := s.read.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + ?1`, i), 1).Scan(&got); err != nil || got != i+1 {
			t.Fatalf("query %d: %d, %v; want %d", i, got, err, i+1)
		}
	}
	if got := s.read.kept(); got != maxPrepared {
		t.Errorf("%d statements kept, want the bound, %d", got, maxPrepared)
	}

	const columns = `SELECT * FROM people LIMIT 0`
	rows, err := s.read.QueryContext(ctx, columns)
	if err != nil {
		t.Fatal(err)
	}
	was, _ := rows.Columns()
	rows.Close()
	if _, err := s.write.ExecContext(ctx, `ALTER TABLE people ADD COLUMN nickname TEXT`); err != nil {
		t.Fatal(err)
	}
	after, err := s.read.QueryContext(ctx, columns)
	if err != nil {
		t.Fatal(err)
	}
	now, _ := after.Columns()
	after.Close()
	if len(now) != len(was)+1 || now[len(now)-1] != "nickname" {
		t.Errorf("columns after adding one: %v, want %v and nickname", now, was)
	}
}
