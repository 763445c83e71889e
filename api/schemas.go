package api

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The schemas of /openapi.json are made from the Go types the handlers
// decode and answer (openapi3gen), so a field cannot be renamed, added or
// dropped without the document following. What a Go type cannot say is
// added here:
//
//   - which fields are required: those encoding/json always writes (no
//     omitempty that can apply, no omitzero); no other properties allowed;
//   - a field's description and limits, from its tags: `doc:"..."` and
//     `openapi:"minimum=0,maxLength=80,enum=a|b,nullable"` (nullable: a
//     slice or map that may be null; pointers are not nullable unless
//     tagged); limits that are Go constants go in notes, so they cannot
//     drift from the code that enforces them;
//   - a description for each type, and what a field's tags cannot say, in
//     notes;
//   - the values of the string types that have a fixed set, in enums.

// note is what the document says of a type or a field beyond its Go type.
type note struct {
	doc                  string
	min, max             *float64
	minLength, maxLength uint64
	enum                 []string
	// values is the enum of a map's values.
	values   []string
	nullable bool
}

// parseNote reads a field's doc and openapi tags.
func parseNote(tag reflect.StructTag) (note, error) {
	n := note{doc: tag.Get("doc")}
	for opt := range strings.SplitSeq(tag.Get("openapi"), ",") {
		key, value, _ := strings.Cut(opt, "=")
		switch key {
		case "":
		case "nullable":
			n.nullable = true
		case "enum":
			n.enum = strings.Split(value, "|")
		case "minimum", "maximum", "minLength", "maxLength":
			f, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return n, fmt.Errorf("openapi tag %q: %v", opt, err)
			}
			switch key {
			case "minimum":
				n.min = &f
			case "maximum":
				n.max = &f
			case "minLength":
				n.minLength = uint64(f)
			default:
				n.maxLength = uint64(f)
			}
		default:
			return n, fmt.Errorf("openapi tag %q: unknown option", opt)
		}
	}
	return n, nil
}

// set sets on v what n says.
func (n note) set(v *openapi3.Schema) {
	v.Description = cmp.Or(n.doc, v.Description)
	v.Min, v.Max = cmp.Or(n.min, v.Min), cmp.Or(n.max, v.Max)
	v.MinLength = max(n.minLength, v.MinLength)
	if n.maxLength > 0 {
		v.MaxLength = &n.maxLength
	}
	v.Nullable = v.Nullable || n.nullable
	if n.values != nil && v.AdditionalProperties.Schema != nil && v.AdditionalProperties.Schema.Value != nil {
		for _, e := range n.values {
			v.AdditionalProperties.Schema.Value.Enum = append(v.AdditionalProperties.Schema.Value.Enum, e)
		}
	}
	if n.enum != nil {
		v.Enum = nil
		for _, e := range n.enum {
			if v.Type.Is("boolean") {
				v.Enum = append(v.Enum, e == "true")
			} else {
				v.Enum = append(v.Enum, e)
			}
		}
	}
}

// says is whether n says anything.
func (n note) says() bool {
	return n.doc != "" || n.enum != nil || n.values != nil || n.min != nil || n.max != nil || n.minLength+n.maxLength > 0 || n.nullable
}

func atLeast(f float64) *float64 { return &f }

func atMost(f float64) *float64 { return &f }

// notes describe types (by schema name), and fields (by schema name and JSON
// name) where a tag cannot: an enum or a limit kept in Go, or what the API
// says of a field of another package's type that its tag does not. A note's
// description replaces the tag's. Generating the document fails for a note
// that names no schema or property, so none is left behind by a rename.
var notes = map[string]note{
	"Problem":                      {doc: "RFC 9457 problem details"},
	"Intake":                       {doc: "An intake (cohort) of the programme"},
	"Journey":                      {doc: "The store's projection of a journey"},
	"LiveJourney":                  {doc: "The journey's workflow's own view"},
	"Erasure":                      {doc: "What the erasure removed; all zero when the person was already erased"},
	"Done":                         {doc: "The change is made"},
	"TaskAnswer":                   {doc: "A completed task or checkpoint; status only for checkpoints"},
	"PersonExport":                 {doc: "Everything the store holds about one person (UK GDPR Article 15)"},
	"EditIntakeRequest":            {doc: "The fields to change, at least one"},
	"ApplyRequest":                 {doc: "A participant sends {}; a coordinator names the applicant"},
	"WithdrawRequest.reason":       {enum: workflows.WithdrawReasons},
	"CreateIntakeRequest.capacity": {min: atLeast(workflows.MinCapacity), max: atMost(workflows.MaxCapacity)},
	"EditIntakeRequest.capacity":   {min: atLeast(workflows.MinCapacity), max: atMost(workflows.MaxCapacity)},
	"EditIntakeRequest.name":       {minLength: 1, maxLength: store.MaxIntakeNameLength},
	"Readiness.failing":            {values: []string{telemetry.CheckTimedOut, telemetry.CheckFailed}},
	"EventRecord.data": {doc: "The event's IDs and codes exactly as recorded; null when it has none. " +
		"Its keys are the stored event's own, not this API's style, and never change, as recorded events do not: " +
		"snake_case in most (starts_at, lapses_at, from_journey), Go field names in an ended journey's outcome (AttendancePercent, Unmet)"},
	"Journey.outcome":      outcome,
	"DashboardRow.outcome": outcome,
	// Left out while the journey is under way.
	"JourneySummary.outcome": {enum: names(contract.Outcomes())},
	"JourneyRecord.outcome":  {enum: names(contract.Outcomes())},
}

// outcome is a journey's outcome: empty until it ends, then its terminal status.
var outcome = note{doc: "The journey's terminal status once it has ended; empty before",
	enum: append([]string{""}, names(contract.Outcomes())...)}

// enums are the string types with a fixed set of values, and what they mean.
var enums = map[reflect.Type]note{
	reflect.TypeFor[contract.Status]():    {doc: "Where a journey is", enum: names(contract.Statuses())},
	reflect.TypeFor[workflows.RAG]():      {doc: "A coach's red/amber/green view of the participant", enum: []string{"red", "amber", "green"}},
	reflect.TypeFor[workflows.Decision](): {enum: []string{"offer", "waitlist", "reject"}},
	reflect.TypeFor[store.IntakeStatus](): {enum: []string{"draft", "open", "closed", "started", "finished"}},
	reflect.TypeFor[store.Role]():         {enum: []string{"coordinator", "coach", "participant"}},
	reflect.TypeFor[store.Language]():     {doc: "cy, en, or empty for bilingual (Welsh first)", enum: []string{"cy", "en", ""}},
}

// schemas generates the component schemas of the types answered and taken.
type schemas struct {
	gen        *openapi3gen.Generator
	components openapi3.Schemas
	// types is the Go type of each component, to find its fields' tags.
	types map[string]reflect.Type
	err   error
}

func newSchemas() *schemas {
	s := &schemas{components: openapi3.Schemas{}, types: map[string]reflect.Type{}}
	s.gen = openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.UseAllExportedFields(), openapi3gen.CreateTypeNameGenerator(s.name),
		openapi3gen.SchemaCustomizer(s.customize))
	return s
}

// name is a struct's schema name: its Go name, which must be unique.
func (s *schemas) name(t reflect.Type) string {
	if seen, ok := s.types[t.Name()]; ok && seen != t && s.err == nil {
		s.err = fmt.Errorf("two types are called %s: %v and %v; the document needs one name each", t.Name(), seen, t)
	}
	s.types[t.Name()] = t
	return t.Name()
}

// of is the schema of v's type: a reference to its component for a struct.
func (s *schemas) of(v any) *openapi3.SchemaRef {
	if _, empty := v.(struct{}); empty {
		s.components["Empty"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: &openapi3.Types{"object"},
			AdditionalProperties: openapi3.AdditionalProperties{Has: new(false)}, Description: "No fields: send no body or {}"})
		return openapi3.NewSchemaRef("#/components/schemas/Empty", nil)
	}
	ref, err := s.gen.NewSchemaRefForValue(v, s.components)
	if err != nil && s.err == nil {
		s.err = fmt.Errorf("schema of %T: %w", v, err)
	}
	return ref
}

// customize adds what follows from a type alone: UUIDs, enums, counts, and
// a struct's required fields.
func (s *schemas) customize(_ string, t reflect.Type, _ reflect.StructTag, schema *openapi3.Schema) error {
	if e, ok := enums[t]; ok {
		schema.Description = e.doc
		for _, v := range e.enum {
			schema.Enum = append(schema.Enum, v)
		}
	}
	switch {
	case t == reflect.TypeFor[uuid.UUID]():
		schema.Type, schema.Format = &openapi3.Types{"string"}, "uuid"
	case t.Kind() == reflect.Map && t.Elem().Kind() == reflect.Int:
		schema.Description = "A number per key (journey state, local authority or theme)"
		schema.AdditionalProperties.Schema.Value.Min = atLeast(0)
	case t.Kind() == reflect.Struct && schema.Properties != nil:
		schema.Required = nil
		for _, f := range jsonFields(t) {
			if !f.optional {
				schema.Required = append(schema.Required, f.name)
			}
		}
		schema.AdditionalProperties = openapi3.AdditionalProperties{Has: new(false)}
	}
	return nil
}

// annotate sets what the fields' tags and notes say on each component's
// properties, and the types' descriptions.
func (s *schemas) annotate() error {
	used := map[string]bool{}
	for name, ref := range s.components {
		if n, ok := notes[name]; ok {
			ref.Value.Description, used[name] = n.doc, true
		}
		t, ok := s.types[name]
		if !ok {
			continue
		}
		for _, f := range jsonFields(t) {
			key := name + "." + f.name
			n, err := parseNote(f.field.Tag)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			m, ok := notes[key]
			used[key] = ok
			prop := ref.Value.Properties[f.name]
			switch {
			case prop == nil:
				return fmt.Errorf("%s is not among the schema's properties", key)
			case prop.Ref != "" && (n.says() || m.says()):
				return fmt.Errorf("%s refers to %s, which says all there is to say", key, prop.Ref)
			case prop.Ref == "":
				// Pointers are nullable only when a note says so.
				prop.Value.Nullable = false
				n.set(prop.Value)
				m.set(prop.Value)
			}
		}
	}
	for key := range notes {
		if !used[key] {
			return fmt.Errorf("notes[%q] names no schema or property of /openapi.json", key)
		}
	}
	return nil
}

// jsonField is a field as encoding/json writes it.
type jsonField struct {
	name  string
	field reflect.StructField
	// optional: omitempty that can apply to its kind, or omitzero.
	optional bool
}

// jsonFields are the fields of struct t encoding/json writes, embedded
// structs' fields included, in order.
func jsonFields(t reflect.Type) []jsonField {
	var out []jsonField
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, jsonFields(f.Type)...)
			continue
		}
		if name == "" {
			name = f.Name
		}
		options := strings.Split(opts, ",")
		optional := slices.Contains(options, "omitzero") || (slices.Contains(options, "omitempty") && canBeEmpty(f.Type))
		out = append(out, jsonField{name: name, field: f, optional: optional})
	}
	return out
}

// canBeEmpty is whether omitempty can leave out a value of type t.
func canBeEmpty(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Struct:
		return false
	case reflect.Array:
		return t.Len() == 0
	}
	return true
}

// names are values of a string type as the document's enum lists them.
func names[S ~string](values []S) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = string(v)
	}
	return out
}
