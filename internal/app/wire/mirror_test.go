package wire

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"slices"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows"
)

// mirror pairs a type of this package with the type it shows, and names
// the exported fields that one has and the other has not, with why.
type mirror struct {
	wire, source         reflect.Type
	onlyWire, onlySource map[string]string
}

var mirrors = []mirror{
	{wire: reflect.TypeFor[Intake](), source: reflect.TypeFor[store.Intake]()},
	{wire: reflect.TypeFor[IntakeSummary](), source: reflect.TypeFor[views.IntakeSummary]()},
	{wire: reflect.TypeFor[IntakeDashboard](), source: reflect.TypeFor[views.IntakeDashboard]()},
	{wire: reflect.TypeFor[JourneyDetail](), source: reflect.TypeFor[views.JourneyDetail](),
		onlySource: map[string]string{"LiveCause": "the error behind LiveError, for the log only: it may name servers, ports and internals"}},
	{wire: reflect.TypeFor[Journey](), source: reflect.TypeFor[store.JourneySnapshot]()},
	{wire: reflect.TypeFor[LiveJourney](), source: reflect.TypeFor[workflows.JourneyView]()},
	{wire: reflect.TypeFor[Item](), source: reflect.TypeFor[workflows.ItemView]()},
	{wire: reflect.TypeFor[Outcome](), source: reflect.TypeFor[workflows.Outcome]()},
	{wire: reflect.TypeFor[Upcoming](), source: reflect.TypeFor[workflows.Upcoming]()},
	{wire: reflect.TypeFor[TaskAnswer](), source: reflect.TypeFor[workflows.Task](),
		onlyWire: map[string]string{
			"Task":   "the task or checkpoint the caller named, which the workflow's record does not repeat",
			"Status": "the RAG, under the name the request gives it",
		},
		onlySource: map[string]string{
			"By":        "the caller, who knows who they are",
			"NoteID":    "the store's key of the note, no business of the caller's",
			"RequestID": "Temporal's update ID, no business of the caller's",
			"RAG":       "shown as Status",
		}},
	{wire: reflect.TypeFor[Erasure](), source: reflect.TypeFor[store.PersonErasure]()},
	{wire: reflect.TypeFor[Person](), source: reflect.TypeFor[store.Person]()},
}

// ownTypes are this package's struct types that stand for no other type.
var ownTypes = []string{"Started"}

// TestMirrorsHaveTheirSourcesFields: each type that shows another has
// its exported fields, by name, but those named with a reason, so a field
// added to a store, workflow or application type cannot silently miss
// the API's answers and the --json output; and every struct type of the
// package is paired here or listed as its own.
func TestMirrorsHaveTheirSourcesFields(t *testing.T) {
	for _, m := range mirrors {
		wire, source := exported(m.wire), exported(m.source)
		for _, f := range source {
			if _, why := m.onlySource[f]; !slices.Contains(wire, f) && !why {
				t.Errorf("%v has the field %s, which %v lacks: add it (with a lowerCamelCase json tag) and convert it, or say in mirrors why it is not shown", m.source, f, m.wire)
			}
		}
		for _, f := range wire {
			if _, why := m.onlyWire[f]; !slices.Contains(source, f) && !why {
				t.Errorf("%v has the field %s, which %v lacks: where does it come from?", m.wire, f, m.source)
			}
		}
		for f := range m.onlySource {
			if !slices.Contains(source, f) || slices.Contains(wire, f) {
				t.Errorf("mirrors: %v's %s is said to be left out of %v, but is not", m.source, f, m.wire)
			}
		}
		for f := range m.onlyWire {
			if !slices.Contains(wire, f) || slices.Contains(source, f) {
				t.Errorf("mirrors: %v's %s is said not to be in %v, but is", m.wire, f, m.source)
			}
		}
	}

	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "wire.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range file.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.TYPE {
			continue
		}
		for _, s := range g.Specs {
			ts := s.(*ast.TypeSpec)
			if _, isStruct := ts.Type.(*ast.StructType); !isStruct || !ts.Name.IsExported() {
				continue
			}
			paired := slices.ContainsFunc(mirrors, func(m mirror) bool { return m.wire.Name() == ts.Name.Name })
			if !paired && !slices.Contains(ownTypes, ts.Name.Name) {
				t.Errorf("the type %s of wire.go is neither paired with the type it shows in mirrors nor listed in ownTypes", ts.Name.Name)
			}
		}
	}
}

// exported are the names of t's exported fields (an embedded struct's
// under its type's name).
func exported(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		if f.IsExported() {
			out = append(out, f.Name)
		}
	}
	return out
}
