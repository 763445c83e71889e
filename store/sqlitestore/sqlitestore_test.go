package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/storetest"
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

// WipeProjections lets the conformance suite prove RebuildProjections.
func (s *Store) WipeProjections(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM journeys`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE intakes SET status = 'draft'`)
		return err
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
