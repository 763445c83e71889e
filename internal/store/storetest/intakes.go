package storetest

// Intakes: creating, editing and listing them.

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

func testIntakes(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	first := newIntake(t, s)
	second := store.Intake{ // minimal: no dates yet, status defaults to draft
		ID:   uuid.New(),
		Name: "Cohort 2",
	}
	before := time.Now()
	must(t, s.CreateIntake(ctx, second))

	got, err := s.GetIntake(ctx, first.ID)
	must(t, err)
	sameIntake(t, got, first)
	recentTime(t, "intake CreatedAt", got.CreatedAt, before.Add(-time.Minute))

	got2, err := s.GetIntake(ctx, second.ID)
	must(t, err)
	if got2.Status != store.IntakeDraft {
		t.Errorf("intake created without status has status %q, want %q", got2.Status, store.IntakeDraft)
	}
	if !got2.OpensAt.IsZero() || !got2.StartsOn.IsZero() || got2.CoordinatorID != uuid.Nil {
		t.Errorf("minimal intake came back with dates or coordinator: %+v", got2)
	}

	// Creating the same intake again is a no-op; with other details, a conflict.
	must(t, s.CreateIntake(ctx, first))
	changed := first
	changed.Capacity = 25
	err = s.CreateIntake(ctx, changed)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateIntake with changed details: got %v, want store.ErrConflict", err)
	}
	err = s.CreateIntake(ctx, store.Intake{ID: uuid.New()})
	if !errors.Is(err, store.ErrInvalid) {
		t.Errorf("CreateIntake without a name: got %v, want store.ErrInvalid", err)
	}

	list, err := s.ListIntakes(ctx)
	must(t, err)
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Fatalf("ListIntakes = %+v, want %s then %s", list, first.ID, second.ID)
	}
	sameIntake(t, list[0], first)
}

// testUpdateIntake: the name (trimmed) and capacity change and nothing
// else does; the same edit twice is fine; a bad edit changes nothing.
func testUpdateIntake(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in, other := newIntake(t, s), newIntake(t, s)
	want := in
	want.Name, want.Capacity = "Carfan 1", 24
	for range 2 {
		must(t, s.UpdateIntake(ctx, in.ID, "  Carfan 1 ", 24))
		got, err := s.GetIntake(ctx, in.ID)
		must(t, err)
		sameIntake(t, got, want)
	}
	mustNotFound(t, "UpdateIntake(unknown intake)", s.UpdateIntake(ctx, uuid.New(), "Cohort 9", 10))
	for _, bad := range []struct {
		name     string
		capacity int
		problem  string
	}{
		{"   ", 24, "name is missing"},
		{strings.Repeat("n", store.MaxIntakeNameLength+1), 24, "longer than"},
		{"Cohort 1", -1, "negative"},
	} {
		err := s.UpdateIntake(ctx, in.ID, bad.name, bad.capacity)
		mustIs(t, fmt.Sprintf("UpdateIntake(%.20q, %d)", bad.name, bad.capacity), err, store.ErrInvalid)
		errContains(t, "UpdateIntake", err, bad.problem)
	}
	got, err := s.GetIntake(ctx, in.ID)
	must(t, err)
	sameIntake(t, got, want)
	got, err = s.GetIntake(ctx, other.ID)
	must(t, err)
	sameIntake(t, got, other)
}

func sameIntake(t *testing.T, got, want store.Intake) {
	t.Helper()
	sameTime(t, "OpensAt", got.OpensAt, want.OpensAt)
	sameTime(t, "ClosesAt", got.ClosesAt, want.ClosesAt)
	sameTime(t, "StartsOn", got.StartsOn, want.StartsOn)
	if !want.CreatedAt.IsZero() {
		sameTime(t, "CreatedAt", got.CreatedAt, want.CreatedAt)
	}
	got.OpensAt, got.ClosesAt, got.StartsOn, got.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	want.OpensAt, want.ClosesAt, want.StartsOn, want.CreatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if got != want {
		t.Errorf("intake = %+v\nwant     %+v", got, want)
	}
}
