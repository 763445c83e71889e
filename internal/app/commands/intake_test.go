package commands

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/apptest"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/starter"
)

// A rename touches only the store (this service has no Temporal client, so
// reaching for a workflow would fail), twice is fine, and bad edits are refused
// before anything changes. Capacity edits, which go through the intake's
// workflow, are tested with Temporal in package api and cmd/infuse.
func TestEditIntakeRenamesAndRefusesBadEdits(t *testing.T) {
	ctx := context.Background()
	s, st := storeOnly(t)
	c := apptest.NewCohort(t, st, "Cohort 1")
	name := "  Carfan 1  "
	for range 2 {
		in, err := s.EditIntake(ctx, c.Intake.ID, IntakeEdit{Name: &name})
		if err != nil || in.Name != "Carfan 1" || in.Capacity != 20 {
			t.Fatalf("EditIntake(name) = %+v, %v", in, err)
		}
	}
	if got, err := s.Store.GetIntake(ctx, c.Intake.ID); err != nil || got.Name != "Carfan 1" || got.Capacity != 20 {
		t.Errorf("stored after renaming: %+v, %v", got, err)
	}

	empty, long, zero, huge := " ", strings.Repeat("n", store.MaxIntakeNameLength+1), 0, 501
	tabbed := "Cohort\t=HYPERLINK(\"http://evil.example\")"
	for _, tc := range []struct {
		what string
		edit IntakeEdit
		id   uuid.UUID
		want error
		says string
	}{
		{"nothing", IntakeEdit{}, c.Intake.ID, apperr.ErrInvalid, "new name, a new capacity"},
		{"an empty name", IntakeEdit{Name: &empty, Capacity: &huge}, c.Intake.ID, apperr.ErrInvalid, "capacity must be from 1 to 500"},
		{"an empty name", IntakeEdit{Name: &empty}, c.Intake.ID, apperr.ErrInvalid, "name is missing"},
		{"a long name", IntakeEdit{Name: &long}, c.Intake.ID, apperr.ErrInvalid, "longer than 200"},
		{"a name with a tab", IntakeEdit{Name: &tabbed}, c.Intake.ID, apperr.ErrInvalid, "control character (U+0009"},
		{"no places", IntakeEdit{Capacity: &zero}, c.Intake.ID, apperr.ErrInvalid, "got 0"},
		{"an unknown intake", IntakeEdit{Name: &name}, uuid.New(), apperr.ErrNotFound, "not found"},
	} {
		_, err := s.EditIntake(ctx, tc.id, tc.edit)
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("editing %s: %v, want %v saying %q", tc.what, err, tc.want, tc.says)
		}
	}
	if got, _ := s.Store.GetIntake(ctx, c.Intake.ID); got.Name != "Carfan 1" || got.Capacity != 20 {
		t.Errorf("a refused edit changed the intake: %+v", got)
	}
}

// storeOnly is a Service for what needs no workflows, and its store.
func storeOnly(t *testing.T) (*Service, store.Store) {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	return New(nil, st), st
}

// Without Temporal an intake cannot be opened, and nothing is recorded:
// an intake whose workflow never started would never open.
func TestCreateIntakeWithoutTemporalRecordsNothing(t *testing.T) {
	ctx := context.Background()
	s, st := storeOnly(t)
	c := apptest.NewCohort(t, st, "Cohort 1")
	now := time.Now()
	_, err := s.CreateIntake(ctx, IntakeSpec{Name: "Cohort 2", CoordinatorID: c.Coordinator.ID, Capacity: 20,
		OpensAt: now, ClosesAt: now.Add(48 * time.Hour), StartsOn: now.Add(96 * time.Hour)})
	if !errors.Is(err, starter.ErrNotConnected) {
		t.Errorf("creating an intake without Temporal: %v", err)
	}
	if intakes, err := st.ListIntakes(ctx); err != nil || len(intakes) != 1 {
		t.Errorf("intakes after the refusal: %d (%v), want only the first", len(intakes), err)
	}
}
