package workflows_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// A store that keeps failing does not fill a journey's history with
// retries: after two minutes of local tries the record waits as a regular
// activity (in runs of record-locally 3 from the start),
// whose retries the server keeps out of the history, and once the store
// is back the event is recorded, once, and the journey carries on.
func TestAFailingRecordWaitsAsAnActivity(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.at(day(2021, 10, 4, 12), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	var mu sync.Mutex // activities run on goroutines of their own
	failures, asActivity := 0, 0
	h.env.OnActivity(h.acts.Record, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.RecordInput) error {
			mu.Lock()
			defer mu.Unlock()
			if in.Event.Type == "offer.made" && failures < 12 {
				failures++ // more attempts than two minutes of local retries make
				return errors.New("the store is down")
			}
			return h.acts.Record(ctx, in)
		})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, args converter.EncodedValues) {
		var in activities.RecordInput
		if info.ActivityType.Name == "Record" && args.Get(&in) == nil && in.Event.Type == "offer.made" {
			mu.Lock()
			asActivity++
			mu.Unlock()
		}
	})
	h.run()

	if asActivity == 0 {
		t.Errorf("the failing record never fell back to a regular activity (%d failures)", failures)
	}
	events := h.events(j)
	if count(events, "offer.made") != 1 || count(events, "journey.withdrawn") != 1 {
		t.Errorf("the journey recorded %v, want the offer once and the journey carrying on to its withdrawal", events)
	}
	if got := h.journey(j).State; got != contract.StatusWithdrawn {
		t.Errorf("journey ended %s, want withdrawn", got)
	}
}

// A plan that keeps failing (the offer's, the schedule's) is tried locally
// for two minutes and then waits as a regular activity, as a record does
// (lifecycle-guard 7), and the journey carries on once it is made: the
// offer made once, the programme scheduled once.
func TestAFailingPlanWaitsAsAnActivity(t *testing.T) {
	h := newHarness(t, 20)
	j := h.startedJourney()
	h.at(day(2021, 10, 4, 12), func() { h.mustAccept(h.withdraw(j), "withdraw") })
	var mu sync.Mutex // activities run on goroutines of their own
	failures, asActivity := map[string]int{}, map[string]int{}
	fail := func(name string) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures[name] < 12 { // more attempts than two minutes of local retries make
			failures[name]++
			return true
		}
		return false
	}
	h.env.OnActivity(h.acts.PlanOffer, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PlanOfferInput) (programme.OfferPlan, error) {
			if fail("PlanOffer") {
				return programme.OfferPlan{}, errors.New("the planner is down")
			}
			return h.acts.PlanOffer(ctx, in)
		})
	h.env.OnActivity(h.acts.PlanSchedule, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.PlanScheduleInput) (programme.Schedule, error) {
			if fail("PlanSchedule") {
				return programme.Schedule{}, errors.New("the planner is down")
			}
			return h.acts.PlanSchedule(ctx, in)
		})
	h.env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		mu.Lock()
		asActivity[info.ActivityType.Name]++
		mu.Unlock()
	})
	h.run()

	for _, name := range []string{"PlanOffer", "PlanSchedule"} {
		if asActivity[name] == 0 {
			t.Errorf("the failing %s never fell back to a regular activity (%d failures)", name, failures[name])
		}
	}
	events := h.events(j)
	if count(events, "offer.made") != 1 || count(events, "programme.scheduled") != 1 || count(events, "journey.withdrawn") != 1 {
		t.Errorf("the journey recorded %v, want the offer and the schedule once and the journey carrying on to its withdrawal", events)
	}
}
