package sqlitestore

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestReadsFromKeptStatements: each read query is prepared once and kept,
// whoever asks and however often; a query that cannot be prepared still
// reports its error, in the row as database/sql does; past maxPrepared a
// query runs unprepared, with the same answer; and a kept statement still
// reads right after the schema under it changes.
func TestReadsFromKeptStatements(t *testing.T) {
	ctx := t.Context()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "journeys.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	const count = `SELECT count(*) FROM people WHERE role = ?1`
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				var n int
				if err := s.read.QueryRowContext(ctx, count, "coach").Scan(&n); err != nil || n != 0 {
					t.Errorf("counting coaches: %d, %v; want 0", n, err)
				}
			}
		})
	}
	wg.Wait()
	if got := s.read.kept.Load(); got != 1 {
		t.Errorf("%d statements kept after one query asked 160 times at once, want 1", got)
	}

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
	if got := s.read.kept.Load(); got != maxPrepared {
		t.Errorf("%d statements kept, want the bound, %d", got, maxPrepared)
	}

	const columns = `SELECT * FROM people LIMIT 0`
	before, err := s.read.QueryContext(ctx, columns)
	if err != nil {
		t.Fatal(err)
	}
	was, _ := before.Columns()
	before.Close()
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
