package programme

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// definition decodes the embedded Infuse file without validating it, so a
// test can break one thing and re-encode it.
func definition(t *testing.T) *Programme {
	t.Helper()
	data, err := embedded.ReadFile("programmes/infuse-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p Programme
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

func parseEdited(t *testing.T, edit func(p *Programme)) (*Programme, error) {
	t.Helper()
	p := definition(t)
	edit(p)
	data, err := yaml.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(data)
}

// fieldErrors flattens Parse's error into its FieldErrors.
func fieldErrors(err error) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		var fe *FieldError
		if errors.As(err, &fe) && err == error(fe) {
			out = append(out, fe)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

func TestValidationRejects(t *testing.T) {
	tasks := func(p *Programme) []Task { return p.Experimentation.Tasks }
	tests := []struct {
		name  string
		edit  func(p *Programme)
		field string
		want  string // part of the problem text
	}{
		{"missing id", func(p *Programme) { p.ID = "" }, "id", "missing"},
		{"version zero", func(p *Programme) { p.Version = 0 }, "version", "expected at least 1"},
		{"missing Welsh name", func(p *Programme) { p.Labs[2].Name.CY = " " }, "labs[2].name.cy", "Welsh"},
		{"unknown time zone", func(p *Programme) { p.TimeZone = "Europe/Cardiff" }, "time_zone", `unknown time zone "Europe/Cardiff"`},
		{"missing time zone", func(p *Programme) { p.TimeZone = "" }, "time_zone", "missing"},
		{"bad working hours start", func(p *Programme) { p.WorkingHours.Start = "9:00" }, "working_hours.start", `expected "HH:MM"`},
		{"working day ends before it starts", func(p *Programme) { p.WorkingHours.End = "08:00" }, "working_hours.end", `not after start "09:00"`},
		{"no working days", func(p *Programme) { p.WorkingHours.Days = nil }, "working_hours.days", "no working days"},
		{"unknown day", func(p *Programme) { p.WorkingHours.Days[4] = "funday" }, "working_hours.days[4]", `unknown day "funday"`},
		{"day twice", func(p *Programme) { p.WorkingHours.Days[4] = "monday" }, "working_hours.days[4]", "listed twice"},
		{"unknown bank holidays", func(p *Programme) { p.WorkingHours.BankHolidays = "scotland" }, "working_hours.bank_holidays", `expected "england-and-wales" or "none"`},
		{"bad closure date", func(p *Programme) { p.WorkingHours.Closures = []string{"2021-12-32"} }, "working_hours.closures[0]", `expected "YYYY-MM-DD"`},
		{"offer valid zero days", func(p *Programme) { p.Application.OfferValidDays = 0 }, "application.offer_valid_days", "expected at least 1"},
		{"absent offer reminder", func(p *Programme) {
			p.Application.Reminders[0].Trigger, p.Application.Reminders[0].Offset = Absent, Offset{}
		}, "application.reminders[0].trigger", `does not apply here: expected one of "before", "overdue"`},
		{"no labs", func(p *Programme) { p.Labs = nil }, "labs", "at least one lab"},
		{"zero sessions", func(p *Programme) { p.Labs[1].Sessions = 0 }, "labs[1].sessions", "is 0: expected at least 1 session"},
		{"zero lab months", func(p *Programme) { p.Labs[0].Months = 0 }, "labs[0].months", "expected at least 1 month"},
		{"zero days between sessions", func(p *Programme) { p.Labs[0].EveryDays = 0 }, "labs[0].every_days", "expected at least 1"},
		{"bad lab key", func(p *Programme) { p.Labs[0].Key = "Adaption Lab" }, "labs[0].key", "lower-case letters"},
		{"key with slash", func(p *Programme) { p.Labs[0].Key = "lab/1" }, "labs[0].key", `no "/"`},
		{"clock 25:00", func(p *Programme) { p.Labs[0].StartsAt = "25:00" }, "labs[0].starts_at", `"25:00" is not a clock time`},
		{"bad duration", func(p *Programme) { p.Labs[0].Duration = "3 hours" }, "labs[0].duration", "not a duration"},
		{"zero duration", func(p *Programme) { p.Labs[0].Duration = "0s" }, "labs[0].duration", "out of range"},
		{"duplicate lab key", func(p *Programme) { p.Labs[2].Key = "adaption-lab" }, "labs[2].key", `duplicate item key "adaption-lab" (already used by labs[0].key)`},
		{"task key clashes with lab key", func(p *Programme) { tasks(p)[0].Key = "data-lab" }, "experimentation.tasks[0].key", `duplicate item key "data-lab" (already used by labs[2].key)`},
		{"duplicate reminder key", func(p *Programme) { p.Labs[0].Reminders[1].Key = "7d" }, "labs[0].reminders[1].key", `duplicate reminder key "7d"`},
		{"unknown trigger", func(p *Programme) { p.Labs[0].Reminders[0].Trigger = "after" }, "labs[0].reminders[0].trigger", `unknown trigger "after"`},
		{"overdue session", func(p *Programme) { p.Labs[1].Reminders[0].Trigger = Overdue }, "labs[1].reminders[0].trigger", `"overdue" does not apply here`},
		{"absent task", func(p *Programme) {
			tasks(p)[1].Reminders[0].Trigger, tasks(p)[1].Reminders[0].Offset = Absent, Offset{}
		}, "experimentation.tasks[1].reminders[0].trigger", `"absent" does not apply here`},
		{"absent with offset", func(p *Programme) { p.Labs[0].Reminders[2].Offset.Days = 1 }, "labs[0].reminders[2].offset", "remove the offset"},
		{"negative offset", func(p *Programme) { p.Labs[0].Reminders[0].Offset.Days = -1 }, "labs[0].reminders[0].offset.days", `use trigger "overdue"`},
		{"overdue on the due day", func(p *Programme) { tasks(p)[1].Reminders[1].Offset.Days = 0 }, "experimentation.tasks[1].reminders[1].offset.days", "at least 1 day"},
		{"bad reminder clock", func(p *Programme) { tasks(p)[1].Reminders[1].Offset.At = "9am" }, "experimentation.tasks[1].reminders[1].offset.at", `"9am" is not a clock time`},
		{"unknown recipient", func(p *Programme) { tasks(p)[1].Reminders[0].Recipient = "mentor" }, "experimentation.tasks[1].reminders[0].recipient", `unknown role "mentor": expected one of "participant", "coach", "coordinator"`},
		{"unknown channel", func(p *Programme) { p.Labs[0].Reminders[0].Channel = "sms" }, "labs[0].reminders[0].channel", `unknown channel "sms"`},
		{"missing template", func(p *Programme) { tasks(p)[2].Reminders[1].Template = "" }, "experimentation.tasks[2].reminders[1].template", "missing"},
		{"no experimentation months", func(p *Programme) { p.Experimentation.Months = 0 }, "experimentation.months", "at least 1 month"},
		{"no tasks", func(p *Programme) {
			p.Experimentation.Tasks, p.Completion.MinCheckpoints, p.Completion.ReflectionRequired = nil, 0, false
		}, "experimentation.tasks", "no tasks"},
		{"unknown kind", func(p *Programme) { tasks(p)[0].Kind = "essay" }, "experimentation.tasks[0].kind", `unknown kind "essay"`},
		{"unknown assignee", func(p *Programme) { tasks(p)[1].Assignee = "mentor" }, "experimentation.tasks[1].assignee", `unknown role "mentor"`},
		{"negative repeat", func(p *Programme) { tasks(p)[0].Repeat = -2 }, "experimentation.tasks[0].repeat", "expected 0"},
		{"due at phase start", func(p *Programme) { tasks(p)[0].Due.AfterDays = 0 }, "experimentation.tasks[0].due", "at least one positive"},
		{"bad due clock", func(p *Programme) { tasks(p)[0].Due.At = "17:60" }, "experimentation.tasks[0].due.at", "not a clock time"},
		{"unknown working-day rule", func(p *Programme) { tasks(p)[0].Due.WorkingDay = "nearest" }, "experimentation.tasks[0].due.working_day", `expected "on-or-after" or "last-before"`},
		{"attendance over 100%", func(p *Programme) { p.Completion.MinLabAttendancePercent = 101 }, "completion.min_lab_attendance_percent", "from 0 to 100"},
		{"attendance below 0%", func(p *Programme) { p.Completion.MinLabAttendancePercent = -5 }, "completion.min_lab_attendance_percent", "from 0 to 100"},
		{"more checkpoints required than planned", func(p *Programme) { p.Completion.MinCheckpoints = 7 }, "completion.min_checkpoints", "is 7: expected 0 to 6"},
		{"delivery cap zero", func(p *Programme) { p.Delivery.MaxPerPersonPerDay = 0 }, "delivery.max_per_person_per_day", "is 0: expected at least 1"},
		{"delivery cap negative", func(p *Programme) { p.Delivery = &Delivery{QuietOutsideWorkingHours: true, MaxPerPersonPerDay: -1} }, "delivery.max_per_person_per_day", "is -1"},
		{"reflection required but none", func(p *Programme) { p.Experimentation.Tasks = tasks(p)[:2] }, "completion.reflection_required", "no task has kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseEdited(t, tt.edit)
			if err == nil {
				t.Fatalf("Parse accepted the definition (%s v%d); want an error at %s", p.ID, p.Version, tt.field)
			}
			fes := fieldErrors(err)
			i := slices.IndexFunc(fes, func(fe *FieldError) bool { return fe.Field == tt.field })
			if i < 0 {
				t.Fatalf("no error for field %s; got:\n%v", tt.field, err)
			}
			if !strings.Contains(fes[i].Problem, tt.want) {
				t.Errorf("%s: problem %q, want it to contain %q", tt.field, fes[i].Problem, tt.want)
			}
			if !strings.Contains(err.Error(), tt.field+": ") {
				t.Errorf("error text does not name %s:\n%v", tt.field, err)
			}
		})
	}
}

func TestValidationReportsEveryProblem(t *testing.T) {
	_, err := parseEdited(t, func(p *Programme) {
		p.TimeZone = "Mars/Olympus"
		p.Labs[1].Sessions = 0
		p.Labs[2].StartsAt = "25:00"
		p.Completion.MinCheckpoints = 9
	})
	got := []string{}
	for _, fe := range fieldErrors(err) {
		got = append(got, fe.Field)
	}
	want := []string{"time_zone", "labs[1].sessions", "labs[2].starts_at", "completion.min_checkpoints"}
	if !slices.Equal(got, want) {
		t.Errorf("problems reported for %v, want %v; error:\n%v", got, want, err)
	}
	if !strings.HasPrefix(err.Error(), `programme "infuse" version 1 is invalid:`) {
		t.Errorf("error should say which programme is invalid, got:\n%v", err)
	}
}

func TestEditedDefinitionStillParses(t *testing.T) {
	// Guards the table above: the round trip through yaml.Marshal must not
	// itself make the definition invalid.
	if _, err := parseEdited(t, func(*Programme) {}); err != nil {
		t.Fatalf("unedited definition rejected after a YAML round trip: %v", err)
	}
}
