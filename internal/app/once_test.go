package app_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// twice runs act twice at once and returns both answers.
func twice[T any](act func() (T, error)) ([2]T, [2]error) {
	var (
		got  [2]T
		errs [2]error
		wg   sync.WaitGroup
	)
	for i := range 2 {
		wg.Go(func() { got[i], errs[i] = act() })
	}
	wg.Wait()
	return got, errs
}

// The same thing asked twice at once, or asked again as a retry of the
// same request, is done once, through a real Temporal server: an intake
// created again under the same request ID, an application sent twice, a
// deferral sent twice, a withdrawal retried.
func TestTheSameRequestTwiceIsDoneOnce(t *testing.T) {
	t.Parallel() // a Temporal namespace of its own (testenv)
	s := withTemporal(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	coordinator, coach, participant := coordinatorCoachAndParticipant(ctx, t, s)
	now := time.Now()
	spec := commands.IntakeSpec{Name: "Cohort 9", CoordinatorID: coordinator, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour)}

	// Creating: the retry of one request names the same intake.
	create := starter.WithRequestID(ctx, "test/create-cohort-9")
	intakes, errs := twice(func() (store.Intake, error) { return s.Commands.CreateIntake(create, spec) })
	if errs[0] != nil || errs[1] != nil || intakes[0].ID != intakes[1].ID {
		t.Fatalf("creating twice under one request: %v, %v; intakes %s and %s", errs[0], errs[1], intakes[0].ID, intakes[1].ID)
	}
	in := intakes[0]
	later, err := s.Commands.CreateIntake(ctx, commands.IntakeSpec{Name: "Cohort 10", CoordinatorID: coordinator, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(30 * 24 * time.Hour), StartsOn: now.Add(40 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	// Applying twice at once: one journey, both told its ID.
	err = starter.WaitFor(ctx, "the intake to open", func() (bool, error) {
		got, err := s.Store.GetIntake(ctx, in.ID)
		return got.Status == store.IntakeOpen, err
	})
	if err != nil {
		t.Fatal(err)
	}
	// Two applications at once: one is taken, the other refused as a
	// second application (never a second journey).
	journeys, errs := twice(func() (uuid.UUID, error) { return s.Commands.Apply(ctx, in.ID, participant, coach) })
	var journey uuid.UUID
	for i, err := range errs {
		switch {
		case err == nil && journey == uuid.Nil:
			journey = journeys[i]
		case err == nil:
			t.Errorf("both applications taken, as journeys %s and %s", journey, journeys[i])
		case !errors.Is(err, apperr.ErrRejected) || !strings.Contains(err.Error(), "already applied"):
			t.Errorf("the second application: %v, want it refused as already applied", err)
		}
	}
	if journey == uuid.Nil {
		t.Fatalf("neither application was taken: %v", errs)
	}
	// The intake's own count (its query: the store's projection may lag).
	var counts map[workflows.Status]int
	err = s.Workflows.QueryIntake(ctx, in.ID, workflows.QueryIntakeCounts, &counts)
	if err != nil || counts[contract.StatusSubmitted] != 1 || len(counts) != 1 {
		t.Errorf("the intake counts %v (%v), want one application", counts, err)
	}
	if _, err := s.Commands.Decide(ctx, in.ID, journey, workflows.DecisionOffer); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commands.RespondToOffer(ctx, journey, true); err != nil {
		t.Fatal(err)
	}

	// Deferring twice at once: one journey in the later intake.
	deferred, errs := twice(func() (uuid.UUID, error) { return s.Commands.Defer(ctx, journey, later.ID) })
	if errs[0] != nil || errs[1] != nil || deferred[0] != deferred[1] {
		t.Fatalf("deferring twice at once: %v, %v; journeys %s and %s", errs[0], errs[1], deferred[0], deferred[1])
	}
	err = starter.WaitFor(ctx, "the later intake to take the deferral", func() (bool, error) {
		d, err := s.Views.IntakeDashboard(ctx, later.ID, views.DashboardPage{})
		return len(d.Rows) > 0, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := s.Views.IntakeDashboard(ctx, later.ID, views.DashboardPage{}); err != nil || len(d.Rows) != 1 || d.Rows[0].JourneyID != deferred[0] {
		t.Errorf("the later intake holds %d journeys (%v), want the one deferral %s", len(d.Rows), err, deferred[0])
	}

	// Withdrawing, retried under the same request: the retry gets the
	// first answer rather than "already withdrawn".
	withdraw := starter.WithRequestID(ctx, "test/withdraw-aled")
	for i := range 2 {
		if err := s.Commands.Withdraw(withdraw, deferred[0], coordinator, "other", "Moved away"); err != nil {
			t.Fatalf("withdrawal, attempt %d: %v", i+1, err)
		}
	}
	if err := s.Commands.Withdraw(ctx, deferred[0], coordinator, "other", ""); !errors.Is(err, apperr.ErrRejected) && !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("a new withdrawal of a withdrawn journey: %v, want it refused (the journey has ended)", err)
	}
}
