// Package activities is where journeys touch the outside world: the store
// (event log, projections, outbox) and the programme data. Workflows stay
// deterministic by asking activities for anything that reads data which may
// change between releases (holiday calendars, programme files), and by
// recording every fact through an activity with an idempotency key, so a
// retried activity never records or queues anything twice.
package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"

	"github.com/infuse-cymru/journeys/programme"
	"github.com/infuse-cymru/journeys/store"
)

// Planner turns a pinned programme version into concrete times.
type Planner interface {
	Schedule(programmeID string, version int, in programme.ScheduleInput) (programme.Schedule, error)
	OfferPlan(programmeID string, version int, offeredAt time.Time) (programme.OfferPlan, error)
}

// ProgrammePlanner plans from the programme versions embedded in the binary.
type ProgrammePlanner struct{}

func (ProgrammePlanner) Schedule(id string, version int, in programme.ScheduleInput) (programme.Schedule, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.Schedule{}, err
	}
	return p.Schedule(in)
}

func (ProgrammePlanner) OfferPlan(id string, version int, offeredAt time.Time) (programme.OfferPlan, error) {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return programme.OfferPlan{}, err
	}
	return p.OfferPlan(offeredAt), nil
}

// Activities holds what the activities need. Register a *Activities with the worker.
type Activities struct {
	Store   store.Store
	Planner Planner
}

// New returns activities that plan from the embedded programme data.
func New(s store.Store) *Activities {
	return &Activities{Store: s, Planner: ProgrammePlanner{}}
}

// PlanScheduleInput names the pinned programme version and the journey's dates.
type PlanScheduleInput struct {
	ProgrammeID      string
	ProgrammeVersion int
	Input            programme.ScheduleInput
}

// PlanSchedule computes a journey's schedule. Its result is recorded in the
// workflow history, so the journey keeps this schedule even if a later
// release changes the holiday data or the planning code.
func (a *Activities) PlanSchedule(ctx context.Context, in PlanScheduleInput) (programme.Schedule, error) {
	s, err := a.Planner.Schedule(in.ProgrammeID, in.ProgrammeVersion, in.Input)
	if err != nil {
		// Bad programme data or an unknown session will not fix itself on retry.
		return programme.Schedule{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("planning %s v%d: %v", in.ProgrammeID, in.ProgrammeVersion, err), "PlanningFailed", err)
	}
	return s, nil
}

// PlanOfferInput names the pinned programme version and when the offer was made.
type PlanOfferInput struct {
	ProgrammeID      string
	ProgrammeVersion int
	OfferedAt        time.Time
}

// PlanOffer computes when an offer lapses and when the applicant is reminded.
func (a *Activities) PlanOffer(ctx context.Context, in PlanOfferInput) (programme.OfferPlan, error) {
	p, err := a.Planner.OfferPlan(in.ProgrammeID, in.ProgrammeVersion, in.OfferedAt)
	if err != nil {
		return programme.OfferPlan{}, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("planning offer for %s v%d: %v", in.ProgrammeID, in.ProgrammeVersion, err), "PlanningFailed", err)
	}
	return p, nil
}

// RecordInput is one domain event and the messages it queues.
type RecordInput struct {
	Event    store.Event
	Messages []store.Message
}

// Record appends a domain event, updates the projections and queues its
// messages in one transaction. The event key makes it exactly-once: a retry
// after a lost acknowledgement finds the key taken and does nothing.
func (a *Activities) Record(ctx context.Context, in RecordInput) error {
	if in.Event.Key == "" {
		return temporal.NewNonRetryableApplicationError("event has no idempotency key", "BadEvent", nil)
	}
	_, err := a.Store.Record(ctx, in.Event, in.Messages...)
	if errors.Is(err, store.ErrInvalid) {
		// The event itself is wrong (a bug in the workflow): retrying the
		// same input cannot succeed, so fail it and let the workflow task show it.
		return temporal.NewNonRetryableApplicationError(err.Error(), "BadEvent", err)
	}
	return err
}
