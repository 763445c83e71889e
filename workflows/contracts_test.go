package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/workflow"
)

// The requests people send, by the workflow that takes them.
var (
	journeyRequests = []JourneyRequest{RespondToOfferRequest{}, AssignCoachRequest{}, AttendanceRequest{},
		CompleteCheckpointRequest{}, SubmitTaskRequest{}, WithdrawRequest{}, DeferRequest{}, PauseRequest{}, ResumeRequest{}}
	intakeRequests = []IntakeRequest{SubmitApplicationRequest{}, DecideRequest{}, StartIntakeRequest{},
		RescheduleSessionRequest{}, SetCapacityRequest{}}
)

// Each request names an update of the workflow it is sent to, whose
// handler and validator take it (or nothing, for a request with no
// argument), and every update people send has a request: what the
// commands and the preview send is what the workflows registered.
func TestEveryRequestNamesTheUpdateThatTakesIt(t *testing.T) {
	// Workflows send these to each other, through activities; people never do.
	between := map[string]bool{UpdateDecision: true, UpdateAcceptDeferral: true}
	t.Run("journey", func(t *testing.T) {
		checkRequests(t, (&journey{}).updates(), requests(journeyRequests), between)
	})
	t.Run("intake", func(t *testing.T) {
		checkRequests(t, (&intake{}).updates(), requests(intakeRequests), between)
	})
	// Two requests take no argument, so their types cannot tell them apart.
	for req, want := range map[Request]string{PauseRequest{}: UpdatePause, ResumeRequest{}: UpdateResume} {
		if name, _ := req.Update(); name != want {
			t.Errorf("%T names update %q, want %q", req, name, want)
		}
	}
}

func requests[R Request](rs []R) []Request {
	out := make([]Request, len(rs))
	for i, r := range rs {
		out[i] = r
	}
	return out
}

func checkRequests(t *testing.T, registered []updateHandler, reqs []Request, between map[string]bool) {
	handlers := map[string]updateHandler{}
	for _, u := range registered {
		handlers[u.name] = u
	}
	named := map[string]bool{}
	for _, req := range reqs {
		name, arg := req.Update()
		named[name] = true
		u, ok := handlers[name]
		if !ok {
			t.Errorf("%T names update %q, which this workflow does not register", req, name)
			continue
		}
		var want []reflect.Type
		if arg != nil {
			want = []reflect.Type{reflect.TypeOf(arg)}
		}
		for what, fn := range map[string]any{"handler": u.handler, "validator": u.validator} {
			if v := reflect.ValueOf(fn); !v.IsValid() || v.IsNil() {
				t.Errorf("update %q has no %s", name, what)
				continue
			}
			if got := argTypes(fn); !reflect.DeepEqual(got, want) {
				t.Errorf("update %q's %s takes %v; %T sends %v", name, what, got, req, want)
			}
		}
	}
	for name := range handlers {
		if !named[name] && !between[name] {
			t.Errorf("update %q has no request type naming it", name)
		}
	}
}

// argTypes are the types of what fn takes after its workflow.Context, which
// the SDK passes first when a handler asks for it.
func argTypes(fn any) []reflect.Type {
	var out []reflect.Type
	ft := reflect.TypeOf(fn)
	for i := range ft.NumIn() {
		if p := ft.In(i); i > 0 || p != reflect.TypeFor[workflow.Context]() {
			out = append(out, p)
		}
	}
	return out
}

// The lists above are every type with an Update method: a request added
// to the package and not to them would go unchecked.
func TestTheRequestListsAreComplete(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var declared []string
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil && fn.Name.Name == "Update" {
				declared = append(declared, fn.Recv.List[0].Type.(*ast.Ident).Name)
			}
		}
	}
	var listed []string
	for _, r := range append(requests(journeyRequests), requests(intakeRequests)...) {
		listed = append(listed, reflect.TypeOf(r).Name())
	}
	slices.Sort(declared)
	slices.Sort(listed)
	if !slices.Equal(declared, listed) {
		t.Errorf("types with an Update method: %v; the tests' lists: %v", declared, listed)
	}
}
