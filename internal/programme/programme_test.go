package programme

import (
	"errors"
	"strings"
	"testing"
	"testing/fstest"
)

// TestEmbeddedProgrammesAreValid guards Default's panic: every embedded
// file must parse, validate and be named after its id and version.
func TestEmbeddedProgrammesAreValid(t *testing.T) {
	if _, err := parseAll(embedded); err != nil {
		t.Fatalf("embedded programme data: %v", err)
	}
	p := Default()
	if p.ID != "infuse" || p.Version != 1 {
		t.Fatalf("Default() = %s v%d, want infuse v1", p.ID, p.Version)
	}
	if got := p.Location().String(); got != "Europe/London" {
		t.Errorf("Location() = %s, want Europe/London", got)
	}
	wantLabs := []struct{ key, cy, en string }{
		{"adaption-lab", "Labordy Addasu", "Adaption Lab"},
		{"procurement-lab", "Labordy Caffael", "Procurement Lab"},
		{"data-lab", "Labordy Data", "Data Lab"},
	}
	if len(p.Labs) != len(wantLabs) {
		t.Fatalf("%d labs, want %d", len(p.Labs), len(wantLabs))
	}
	for i, w := range wantLabs {
		l := p.Labs[i]
		if l.Key != w.key || l.Name.CY != w.cy || l.Name.EN != w.en || l.Sessions != 4 || l.Duration != "3h" || l.StartsAt != "10:00" {
			t.Errorf("labs[%d] = %+v, want %s (%s / %s), 4 sessions at 10:00 for 3h", i, l, w.key, w.cy, w.en)
		}
	}
	if n := p.SessionCount(); n != 12 {
		t.Errorf("SessionCount() = %d, want 12", n)
	}
	if n := p.CheckpointCount(); n != 6 {
		t.Errorf("CheckpointCount() = %d, want 6", n)
	}
	if p.Application.OfferValidDays != 7 {
		t.Errorf("offer valid %d days, want 7", p.Application.OfferValidDays)
	}
	if c := p.Completion; c.MinLabAttendancePercent != 75 || c.MinCheckpoints != 5 || !c.ReflectionRequired {
		t.Errorf("completion = %+v, want 75%%, 5 checkpoints, reflection", c)
	}
	if d := p.Delivery; d == nil || !d.QuietOutsideWorkingHours || d.MaxPerPersonPerDay != 3 {
		t.Errorf("delivery = %+v, want quiet outside working hours, at most 3 a day", d)
	}
}

func TestLookup(t *testing.T) {
	p, err := Lookup("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	if p != Default() {
		t.Error("Lookup(infuse, 1) and Default() should share one parsed programme")
	}
	if _, err := Lookup("infuse", 99); err == nil || !strings.Contains(err.Error(), "known versions are [1]") {
		t.Errorf("Lookup(infuse, 99) error = %v, want one listing the known versions", err)
	}
	if _, err := Lookup("unknown", 1); err == nil || !strings.Contains(err.Error(), `known programmes are [infuse]`) {
		t.Errorf("Lookup(unknown, 1) error = %v, want one listing the known programmes", err)
	}
}

func TestRegistryChecksFileNames(t *testing.T) {
	data, err := embedded.ReadFile("programmes/infuse-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = parseAll(fstest.MapFS{"programmes/infuse-v2.yaml": {Data: data}})
	if err == nil || !strings.Contains(err.Error(), "must be named infuse-v1.yaml") {
		t.Errorf("error = %v, want a file-name mismatch", err)
	}
}

func TestPhaseAndItemNames(t *testing.T) {
	p := Default()
	if n, ok := p.PhaseName("lab-2"); !ok || n.CY != "Labordy Caffael" {
		t.Errorf(`PhaseName("lab-2") = %+v, %v`, n, ok)
	}
	if n, ok := p.PhaseName(PhaseExperimentation); !ok || n.EN != "Experimentation" {
		t.Errorf(`PhaseName("experimentation") = %+v, %v`, n, ok)
	}
	if _, ok := p.PhaseName("lab-4"); ok {
		t.Error(`PhaseName("lab-4") found a phase that does not exist`)
	}
	if n, ok := p.ItemName("data-lab/2"); !ok || n.EN != "Data Lab" {
		t.Errorf(`ItemName("data-lab/2") = %+v, %v`, n, ok)
	}
	if n, ok := p.ItemName("checkpoint/3"); !ok || n.EN != "Coaching checkpoint" {
		t.Errorf(`ItemName("checkpoint/3") = %+v, %v`, n, ok)
	}
}

func TestParseRejectsMalformedFiles(t *testing.T) {
	good, _ := embedded.ReadFile("programmes/infuse-v1.yaml")
	tests := []struct {
		name string
		data string
		want string
	}{
		{"empty", "", "empty"},
		{"misspelt field", strings.Replace(string(good), "    sessions: 4\n", "    sesions: 4\n", 1), "field sesions not found"},
		{"wrong type", strings.Replace(string(good), "version: 1", "version: one", 1), "cannot unmarshal"},
		{"two documents", string(good) + "\n---\nid: other\n", "more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestScheduleNeedsParsedProgramme(t *testing.T) {
	var p Programme
	if _, err := p.Schedule(ScheduleInput{}); !errors.Is(err, errNotParsed) {
		t.Errorf("Schedule on a hand-built Programme: error = %v, want errNotParsed", err)
	}
}
