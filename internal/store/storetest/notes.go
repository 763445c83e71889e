package storetest

// Coaches' notes.

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

func testNotes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	n := store.Note{
		ID:        uuid.New(),
		AuthorID:  uuid.New(),
		JourneyID: uuid.New(),
		Body:      "Cynllun arbrawf: lleihau teithio staff.\nExperiment plan: cut staff travel. ✓",
		CreatedAt: base,
	}
	must(t, s.SaveNote(ctx, n))
	got, err := s.GetNote(ctx, n.ID)
	must(t, err)
	sameTime(t, "note CreatedAt", got.CreatedAt, n.CreatedAt)
	got.CreatedAt, n.CreatedAt = time.Time{}, time.Time{}
	if got != n {
		t.Errorf("note = %+v\nwant   %+v", got, n)
	}
	must(t, s.SaveNote(ctx, n)) // a retry is fine
	changed := n
	changed.Body = "something else"
	if err := s.SaveNote(ctx, changed); !errors.Is(err, store.ErrConflict) {
		t.Errorf("SaveNote with changed body: %v, want store.ErrConflict", err)
	}
	if err := s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: uuid.New()}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("SaveNote with no body: %v, want store.ErrInvalid", err)
	}

	intakeNote := store.Note{ID: uuid.New(), AuthorID: uuid.New(), Body: "no journey"}
	before := time.Now()
	must(t, s.SaveNote(ctx, intakeNote))
	got, err = s.GetNote(ctx, intakeNote.ID)
	must(t, err)
	if got.JourneyID != uuid.Nil || got.Body != intakeNote.Body {
		t.Errorf("note without journey = %+v", got)
	}
	recentTime(t, "defaulted note CreatedAt", got.CreatedAt, before)

	must(t, s.DeleteNote(ctx, n.ID))
	if _, err := s.GetNote(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetNote after DeleteNote: %v, want store.ErrNotFound", err)
	}
	must(t, s.DeleteNote(ctx, n.ID)) // already gone: nothing to do
	if _, err := s.GetNote(ctx, intakeNote.ID); err != nil {
		t.Errorf("deleting one note touched another: %v", err)
	}
}
