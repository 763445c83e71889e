package workflows

import (
	"reflect"
	"testing"

	"go.temporal.io/sdk/workflow"
)

// Each request names the update whose handler and validator take it (or
// take nothing, for a request with no argument), and every update people
// send has a request: what the commands and the preview send is what the
// workflows registered.
func TestEveryRequestNamesTheUpdateThatTakesIt(t *testing.T) {
	handlers := map[string]update{}
	for _, u := range append((&journey{}).updates(), (&intake{}).updates()...) {
		handlers[u.name] = u
	}
	named := map[string]bool{}
	for _, req := range []Request{
		RespondToOfferRequest{}, AssignCoachRequest{}, AttendanceRequest{}, CompleteCheckpointRequest{},
		SubmitTaskRequest{}, WithdrawRequest{}, DeferRequest{}, PauseRequest{}, ResumeRequest{},
		SubmitApplicationRequest{}, DecideRequest{}, StartIntakeRequest{}, RescheduleSessionRequest{}, SetCapacityRequest{},
	} {
		name, arg := req.Update()
		named[name] = true
		u, ok := handlers[name]
		if !ok {
			t.Errorf("%T names update %q, which neither workflow registers", req, name)
			continue
		}
		var want []reflect.Type
		if arg != nil {
			want = []reflect.Type{reflect.TypeOf(arg)}
		}
		for what, fn := range map[string]any{"handler": u.handler, "validator": u.validator} {
			if fn == nil {
				t.Errorf("update %q has no %s", name, what)
				continue
			}
			if got := argTypes(fn); !reflect.DeepEqual(got, want) {
				t.Errorf("update %q's %s takes %v; %T sends %v", name, what, got, req, want)
			}
		}
	}
	// Workflows send these to each other, through activities; people never do.
	between := map[string]bool{UpdateDecision: true, UpdateAcceptDeferral: true}
	for name := range handlers {
		if !named[name] && !between[name] {
			t.Errorf("update %q has no request type naming it", name)
		}
	}
}

// argTypes are the types of what fn takes after its workflow.Context.
func argTypes(fn any) []reflect.Type {
	var out []reflect.Type
	ft := reflect.TypeOf(fn)
	for i := range ft.NumIn() {
		if p := ft.In(i); p != reflect.TypeFor[workflow.Context]() {
			out = append(out, p)
		}
	}
	return out
}
