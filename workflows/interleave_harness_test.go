package workflows_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/stretchr/testify/mock"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"

	"github.com/infuse-cymru/journeys/activities"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/scripted"
)

// An interjection is what a person does while a workflow waits on one of
// its activities: the moment a handler of theirs can overtake a step
// that read the workflow's state before the wait. The SDK's test
// environment runs activities on goroutines of their own and workflow
// code, updates included, on its main loop, so an update sent when the
// activity starts runs while the workflow waits for it; and an activity
// held until that update has finished lets the update run to its end
// first, however long it takes.
type interjection struct {
	what     string
	workflow string
	activity string
	match    func(converter.EncodedValues) bool
	act      func() *scripted.Update
	fired    bool
}

// interjections are a harness's interjections and the activities held.
type interjections struct {
	all []*interjection
	// mu guards held: the listener sets it on the main loop, the held
	// activities read it on theirs.
	mu   sync.Mutex
	held map[string]*scripted.Update // by workflow ID + "/" + activity ID
	// wrapped says which activity types are wrapped so they can be held.
	wrapped map[string]bool
}

// during runs act once, when the activity named activity starts in the
// workflow with ID workflowID and match (nil: any) accepts its input.
// An update act sends runs while the workflow waits on the activity. If
// act returns an update, the activity completes only after the update
// has: the update runs whole while the workflow waits. That is for an
// update to another workflow: one to the same workflow that records an
// event waits for this activity if it is a Record (events are recorded
// one at a time), and the two would wait for each other.
func (h *harness) during(what, workflowID, activityName string, match func(converter.EncodedValues) bool, act func() *scripted.Update) {
	h.t.Helper()
	if h.interjections.all == nil {
		h.env.SetOnActivityStartedListener(h.activityStarted)
		h.env.SetOnLocalActivityStartedListener(h.localActivityStarted)
		h.interjections.held = map[string]*scripted.Update{}
		h.interjections.wrapped = map[string]bool{}
	}
	h.interjections.all = append(h.interjections.all, &interjection{
		what: what, workflow: workflowID, activity: activityName, match: match, act: act,
	})
	h.holdable(activityName)
}

// activityStarted is the environment's listener: it runs on the main loop
// before the activity itself does.
func (h *harness) activityStarted(info *activity.Info, _ context.Context, args converter.EncodedValues) {
	for _, in := range h.interjections.all {
		if in.fired || info.WorkflowExecution.ID != in.workflow || info.ActivityType.Name != in.activity ||
			(in.match != nil && !in.match(args)) {
			continue
		}
		in.fired = true
		if u := in.act(); u != nil {
			h.interjections.mu.Lock()
			h.interjections.held[info.WorkflowExecution.ID+"/"+info.ActivityID] = u
			h.interjections.mu.Unlock()
		}
	}
}

// localActivityStarted is activityStarted for a local activity (events
// are recorded by one), whose listener is given its input as it is.
func (h *harness) localActivityStarted(info *activity.Info, ctx context.Context, args []any) {
	payloads, err := converter.GetDefaultDataConverter().ToPayloads(args...)
	if err != nil {
		panic(fmt.Sprintf("encoding a local activity's input: %v", err))
	}
	h.activityStarted(info, ctx, encoded{payloads})
}

// encoded is a local activity's input as a regular activity's listener
// sees it.
type encoded struct{ payloads *commonpb.Payloads }

func (e encoded) HasValues() bool { return e.payloads != nil }
func (e encoded) Get(valuePtr ...any) error {
	return converter.GetDefaultDataConverter().FromPayloads(e.payloads, valuePtr...)
}

// hold waits, in an activity, until the update an interjection sent
// while it started has finished.
func (h *harness) hold(ctx context.Context) {
	info := activity.GetInfo(ctx)
	h.interjections.mu.Lock()
	u := h.interjections.held[info.WorkflowExecution.ID+"/"+info.ActivityID]
	h.interjections.mu.Unlock()
	if u != nil {
		<-u.Finished()
	}
}

// holdable wraps the real activity so an interjection can hold it.
func (h *harness) holdable(name string) {
	if h.interjections.wrapped[name] {
		return
	}
	h.interjections.wrapped[name] = true
	switch name {
	case "Record":
		h.env.OnActivity(h.acts.Record, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.RecordInput) error {
				h.hold(ctx)
				return h.acts.Record(ctx, in)
			})
	case "PlanSchedule":
		h.env.OnActivity(h.acts.PlanSchedule, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.PlanScheduleInput) (programme.Schedule, error) {
				h.hold(ctx)
				return h.acts.PlanSchedule(ctx, in)
			})
	case "PlanOffer":
		h.env.OnActivity(h.acts.PlanOffer, mock.Anything, mock.Anything).Return(
			func(ctx context.Context, in activities.PlanOfferInput) (programme.OfferPlan, error) {
				h.hold(ctx)
				return h.acts.PlanOffer(ctx, in)
			})
	default:
		h.t.Fatalf("during: activity %q cannot be held; add it to holdable", name)
	}
}

// recording matches the Record activity of an event of this type (and,
// if item is not empty, about this item).
func recording(eventType, item string) func(converter.EncodedValues) bool {
	return func(args converter.EncodedValues) bool {
		var in activities.RecordInput
		if err := args.Get(&in); err != nil {
			panic(fmt.Sprintf("decoding a Record input: %v", err))
		}
		if in.Event.Type != eventType {
			return false
		}
		if item == "" {
			return true
		}
		var data struct{ Item string }
		_ = json.Unmarshal(in.Event.Data, &data)
		return data.Item == item
	}
}
