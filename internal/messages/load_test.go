package messages

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

func infuse(t *testing.T) *programme.Programme {
	t.Helper()
	p, err := programme.Lookup("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEmbeddedCatalogueLoads(t *testing.T) {
	c, err := Load("infuse", 1)
	if err != nil {
		t.Fatalf("the embedded catalogue must load: %v", err)
	}
	// The keys the programme data and the journeys use today; the catalogue
	// itself gets them from the programme, this list only checks that walk.
	want := []string{
		"application-unsuccessful", "checkpoint-overdue-coach", "checkpoint-overdue-coordinator",
		"checkpoint-reminder", "completion", "intake-started", "non-completion", "offer", "offer-reminder",
		"plan-reminder", "reflection-reminder", "session-absence", "session-cancelled",
		"session-reminder-day", "session-reminder-week",
	}
	if got := c.Keys(); !slices.Equal(got, want) {
		t.Errorf("keys = %v, want %v", got, want)
	}
	if again, _ := Load("infuse", 1); again != c {
		t.Error("a second Load parsed the file again instead of sharing the catalogue")
	}
	if c.Programme() != infuse(t) {
		t.Error("catalogue is not bound to the programme version it was loaded for")
	}
}

func TestLoadUnknownVersion(t *testing.T) {
	if _, err := Load("infuse", 99); err == nil || !strings.Contains(err.Error(), "no version 99") {
		t.Errorf("Load of a missing version: err = %v", err)
	}
}

// brokenCatalogue parses the real template file after edit has changed it.
func brokenCatalogue(t *testing.T, p *programme.Programme, edit func(doc map[string]any)) error {
	t.Helper()
	data, err := programme.MessageTemplates("infuse", 1)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	edit(doc)
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(out, p)
	if err == nil {
		t.Fatalf("broken catalogue loaded with keys %v", c.Keys())
	}
	return err
}

// node walks the YAML document by keys.
func node(doc map[string]any, path ...string) map[string]any {
	for _, k := range path {
		doc = doc[k].(map[string]any)
	}
	return doc
}

func templateErrors(err error) []*TemplateError {
	var out []*TemplateError
	var walk func(error)
	walk = func(e error) {
		var te *TemplateError
		if errors.As(e, &te) && e == error(te) {
			out = append(out, te)
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, inner := range j.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return out
}

func wantError(t *testing.T, err error, field string, lang store.Language, problem string) {
	t.Helper()
	for _, te := range templateErrors(err) {
		if te.Field == field && te.Language == lang && strings.Contains(te.Problem, problem) {
			return
		}
	}
	t.Errorf("want an error at %s (%q) saying %q; got:\n%v", field, lang, problem, err)
}

func TestLoadTimeFailures(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(doc map[string]any)
		field   string
		lang    store.Language
		problem string
	}{
		{"missing English translation", func(d map[string]any) {
			delete(node(d, "templates", "offer"), "en")
		}, "templates.offer", store.LanguageEnglish, "missing translation"},
		{"missing Welsh translation", func(d map[string]any) {
			delete(node(d, "templates", "completion"), "cy")
		}, "templates.completion", store.LanguageWelsh, "missing translation"},
		{"empty Welsh subject", func(d map[string]any) {
			node(d, "templates", "plan-reminder", "cy")["subject"] = "  "
		}, "templates.plan-reminder.subject", store.LanguageWelsh, "is empty"},
		{"missing partial translation", func(d map[string]any) {
			delete(node(d, "partials", "signoff"), "cy")
		}, "partials.signoff", store.LanguageWelsh, "missing translation"},
		{"missing criterion translation", func(d map[string]any) {
			delete(node(d, "criteria", "reflection"), "en")
		}, "criteria.reflection", store.LanguageEnglish, "missing translation"},
		{"missing criterion the programme has", func(d map[string]any) {
			delete(node(d, "criteria"), "checkpoints")
		}, "criteria.checkpoints", "", "missing"},
		{"missing template a reminder rule uses", func(d map[string]any) {
			delete(node(d, "templates"), "checkpoint-overdue-coach")
		}, "templates.checkpoint-overdue-coach", "", "experimentation.tasks[1].reminders[1] uses it"},
		{"missing offer reminder", func(d map[string]any) {
			delete(node(d, "templates"), "offer-reminder")
		}, "templates.offer-reminder", "", "application.reminders[0] uses it"},
		{"missing fixed notice", func(d map[string]any) {
			delete(node(d, "templates"), "session-cancelled")
		}, "templates.session-cancelled", "", "fixed notices"},
		{"body does not parse", func(d map[string]any) {
			node(d, "templates", "offer", "cy")["body"] = "Annwyl {{.RecipientGivenName"
		}, "templates.offer", store.LanguageWelsh, "does not parse"},
		{"subject does not parse", func(d map[string]any) {
			node(d, "templates", "completion", "en")["subject"] = "{{if .IntakeName}}Done"
		}, "templates.completion", store.LanguageEnglish, "does not parse"},
		{"partial does not parse", func(d map[string]any) {
			node(d, "partials", "greeting")["en"] = "Dear {{.RecipientGivenName}"
		}, "partials.greeting", store.LanguageEnglish, "does not parse"},
		{"field Data does not have", func(d map[string]any) {
			node(d, "templates", "session-absence", "en")["body"] = "Dear {{.GivenName}},"
		}, "templates.session-absence", store.LanguageEnglish, "does not render"},
		{"partial that does not exist", func(d map[string]any) {
			node(d, "templates", "intake-started", "cy")["body"] = `{{template "cyfarchiad" .}}`
		}, "templates.intake-started", store.LanguageWelsh, "does not render"},
		{"misspelt key", func(d map[string]any) {
			node(d, "templates")["ofer"] = node(d, "templates", "offer")
		}, "templates.ofer", "", "misspelt"},
		{"file for another version", func(d map[string]any) {
			d["version"] = 2
		}, "programme", "", "version 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := brokenCatalogue(t, infuse(t), tc.edit)
			wantError(t, err, tc.field, tc.lang, tc.problem)
		})
	}
}

func TestLoadReportsEveryProblemAtOnce(t *testing.T) {
	err := brokenCatalogue(t, infuse(t), func(d map[string]any) {
		delete(node(d, "templates", "offer"), "cy")
		delete(node(d, "templates"), "completion")
	})
	wantError(t, err, "templates.offer", store.LanguageWelsh, "missing translation")
	wantError(t, err, "templates.completion", "", "missing")
	if !strings.Contains(err.Error(), "templates.offer.cy (Welsh): missing translation") {
		t.Errorf("error text should name key and language: %v", err)
	}
}

// The required keys come from the programme data: a programme version that
// adds a reminder with a new template needs that template, with no change
// to this package.
func TestRequiredKeysFollowTheProgramme(t *testing.T) {
	p := *infuse(t)
	p.Labs = slices.Clone(p.Labs)
	p.Labs[2].Reminders = append(slices.Clone(p.Labs[2].Reminders), programme.ReminderRule{Key: "bring", Template: "data-lab-bring-laptop"})
	err := brokenCatalogue(t, &p, func(map[string]any) {})
	wantError(t, err, "templates.data-lab-bring-laptop", "", "labs[2].reminders[3] uses it")
}

func TestParseRejectsUnknownFields(t *testing.T) {
	for name, data := range map[string]string{
		"a third language": "programme: infuse\nversion: 1\ntemplates:\n  offer:\n    fr: {subject: x, body: y}\n",
		"misspelt field":   "programme: infuse\nversion: 1\ntemplates:\n  offer:\n    cy: {subjet: x, body: y}\n",
		"empty file":       "",
	} {
		if _, err := Parse([]byte(data), infuse(t)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
