package messages

import (
	"bytes"
	"errors"
	"fmt"
	htemplate "html/template"
	"io"
	"maps"
	"slices"
	"strings"
	ttemplate "text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// languages are the languages every text must be in, Welsh first: the
// order of a bilingual message and of load errors.
var languages = []store.Language{store.LanguageWelsh, store.LanguageEnglish}

// TemplateError is one problem in a message template file. Field is where
// it is ("templates.offer", "partials.signoff", "criteria.reflection");
// Language is the translation at fault, empty when the problem is not in
// one language.
type TemplateError struct {
	Field    string
	Language store.Language
	Problem  string
}

func (e *TemplateError) Error() string {
	if e.Language == "" {
		return e.Field + ": " + e.Problem
	}
	return fmt.Sprintf("%s.%s (%s): %s", e.Field, e.Language, languageName(e.Language), e.Problem)
}

func languageName(l store.Language) string {
	switch l {
	case store.LanguageWelsh:
		return "Welsh"
	case store.LanguageEnglish:
		return "English"
	}
	return string(l)
}

// file is the YAML schema of a template file. Translations are pointers so
// that a missing one is told apart from one left empty.
type file struct {
	Programme string                  `yaml:"programme"`
	Version   int                     `yaml:"version"`
	Partials  map[string]translations `yaml:"partials"`
	Criteria  map[string]translations `yaml:"criteria"`
	Templates map[string]struct {
		CY *source `yaml:"cy"`
		EN *source `yaml:"en"`
	} `yaml:"templates"`
}

type translations struct {
	CY *string `yaml:"cy"`
	EN *string `yaml:"en"`
}

func (t translations) in(l store.Language) *string {
	if l == store.LanguageWelsh {
		return t.CY
	}
	return t.EN
}

type source struct {
	Subject string `yaml:"subject"`
	Body    string `yaml:"body"`
}

// compiled is one template in one language: a subject, and the body
// parsed twice, as text and as HTML, so both parts come from one source
// and the HTML part escapes every value.
type compiled struct {
	subject *ttemplate.Template
	text    *ttemplate.Template
	html    *htemplate.Template
}

// loader collects every problem, so an author fixes a file in one pass.
type loader struct {
	prog *programme.Programme
	errs []error
}

func (l *loader) add(field string, lang store.Language, format string, args ...any) {
	l.errs = append(l.errs, &TemplateError{Field: field, Language: lang, Problem: fmt.Sprintf(format, args...)})
}

// Parse reads a template file and checks it against the programme version
// it belongs to: every template the programme or a fixed notice needs is
// present in Welsh and English, parses, and renders. All problems are
// reported together, each a *TemplateError naming its key and language.
func Parse(data []byte, p *programme.Programme) (*Catalogue, error) {
	f, err := decode(data)
	if err != nil {
		return nil, err
	}
	l := &loader{prog: p}
	l.checkOwner(f)
	partials := l.partials(f.Partials)
	c := &Catalogue{prog: p, templates: map[string]map[store.Language]*compiled{}}
	c.criteria = l.criteria(f.Criteria)
	l.checkKeys(f)
	for _, key := range sortedKeys(f.Templates) {
		t := f.Templates[key]
		c.templates[key] = l.compileKey(key, map[store.Language]*source{store.LanguageWelsh: t.CY, store.LanguageEnglish: t.EN}, partials)
	}
	if len(l.errs) == 0 {
		// Only a catalogue that parsed is worth rendering.
		l.dryRun(c)
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return c, nil
}

func decode(data []byte) (*file, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt "subjet" must not silently vanish
	var f file
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("message template file is empty: expected programme, version, partials, criteria and templates")
		}
		return nil, fmt.Errorf("message template file is not valid YAML for this schema (check field names and that only cy and en are used): %w", err)
	}
	return &f, nil
}

// checkOwner stops one version's messages being loaded for another.
func (l *loader) checkOwner(f *file) {
	if f.Programme != l.prog.ID || f.Version != l.prog.Version {
		l.add("programme", "", "file is for programme %q version %d, but is being loaded for %q version %d",
			f.Programme, f.Version, l.prog.ID, l.prog.Version)
	}
}

// partials checks the shared pieces (greeting, sign-off) and returns their
// sources by language.
func (l *loader) partials(in map[string]translations) map[store.Language]map[string]string {
	out := map[store.Language]map[string]string{}
	for _, lang := range languages {
		out[lang] = map[string]string{}
	}
	for _, name := range sortedKeys(in) {
		for _, lang := range languages {
			src := in[name].in(lang)
			if !l.present("partials."+name, lang, src) {
				continue
			}
			if _, err := parseText(name, *src, nil); err != nil {
				// Left out, so templates using it are not reported as broken too.
				l.add("partials."+name, lang, "does not parse: %v", err)
				continue
			}
			out[lang][name] = *src
		}
	}
	return out
}

// criteria checks and renders the description of each completion
// criterion the programme has, in each language.
func (l *loader) criteria(in map[string]translations) map[string]map[store.Language]string {
	out := map[string]map[store.Language]string{}
	for _, code := range sortedKeys(in) {
		out[code] = map[store.Language]string{}
		for _, lang := range languages {
			src := in[code].in(lang)
			if !l.present("criteria."+code, lang, src) {
				continue
			}
			s, err := renderCriterion(code, *src, l.prog.Completion)
			if err != nil {
				l.add("criteria."+code, lang, "%v", err)
			}
			out[code][lang] = s
		}
	}
	for _, code := range criteriaOf(l.prog.Completion) {
		if _, ok := in[code]; !ok {
			l.add("criteria."+code, "", "missing: the programme's completion rule has this criterion, so a non-completion message may need to describe it")
		}
	}
	return out
}

func renderCriterion(code, src string, rule programme.CompletionRule) (string, error) {
	t, err := parseText(code, src, nil)
	if err != nil {
		return "", fmt.Errorf("does not parse: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, rule); err != nil {
		return "", fmt.Errorf("does not render: %w", err)
	}
	return b.String(), nil
}

// criteriaOf lists the codes the journeys use for the criteria a
// completion rule sets (see workflows.assessCompletion).
func criteriaOf(r programme.CompletionRule) []string {
	var codes []string
	if r.MinLabAttendancePercent > 0 {
		codes = append(codes, "lab-attendance")
	}
	if r.MinCheckpoints > 0 {
		codes = append(codes, "checkpoints")
	}
	if r.ReflectionRequired {
		codes = append(codes, "reflection")
	}
	return codes
}

// present reports a missing or blank translation as a load error.
func (l *loader) present(field string, lang store.Language, s *string) bool {
	switch {
	case s == nil:
		l.add(field, lang, "missing translation: every message needs Welsh and English (Welsh Language Standards)")
		return false
	case strings.TrimSpace(*s) == "":
		l.add(field, lang, "is empty: write the %s text", languageName(lang))
		return false
	}
	return true
}

// checkKeys finds templates the programme needs but the file lacks, and
// templates nothing uses (most likely a misspelt key).
func (l *loader) checkKeys(f *file) {
	needed := RequiredKeys(l.prog)
	for _, key := range sortedKeys(needed) {
		if _, ok := f.Templates[key]; !ok {
			l.add("templates."+key, "", "missing, but %s uses it: add it in Welsh and English", needed[key])
		}
	}
	for _, key := range sortedKeys(f.Templates) {
		if _, ok := needed[key]; !ok {
			l.add("templates."+key, "", "is not used by programme %q version %d nor a fixed notice (%s): is the key misspelt?",
				l.prog.ID, l.prog.Version, strings.Join(NoticeKeys(), ", "))
		}
	}
}

// RequiredKeys is every template key a programme version can queue, each
// with the first place that uses it: the reminder rules' templates, read
// from the programme itself, and the fixed notices.
func RequiredKeys(p *programme.Programme) map[string]string {
	used := map[string]string{}
	note := func(key, where string) {
		if _, ok := used[key]; !ok && key != "" {
			used[key] = where
		}
	}
	for _, key := range NoticeKeys() {
		note(key, "the journeys' fixed notices")
	}
	for i, r := range p.Application.Reminders {
		note(r.Template, fmt.Sprintf("application.reminders[%d]", i))
	}
	for i, lab := range p.Labs {
		for j, r := range lab.Reminders {
			note(r.Template, fmt.Sprintf("labs[%d].reminders[%d]", i, j))
		}
	}
	for i, t := range p.Experimentation.Tasks {
		for j, r := range t.Reminders {
			note(r.Template, fmt.Sprintf("experimentation.tasks[%d].reminders[%d]", i, j))
		}
	}
	return used
}

// compileKey parses one template in each language.
func (l *loader) compileKey(key string, srcs map[store.Language]*source, partials map[store.Language]map[string]string) map[store.Language]*compiled {
	field := "templates." + key
	out := map[store.Language]*compiled{}
	for _, lang := range languages {
		src := srcs[lang]
		if src == nil {
			l.add(field, lang, "missing translation: every message needs Welsh and English (Welsh Language Standards)")
			continue
		}
		subjectOK := l.present(field+".subject", lang, &src.Subject)
		bodyOK := l.present(field+".body", lang, &src.Body)
		if !subjectOK || !bodyOK {
			continue
		}
		c, err := compile(key, src, partials[lang])
		if err != nil {
			l.add(field, lang, "does not parse: %v", err)
			continue
		}
		out[lang] = c
	}
	return out
}

func compile(key string, src *source, partials map[string]string) (*compiled, error) {
	subject, err := parseText(key+".subject", src.Subject, nil)
	if err != nil {
		return nil, err
	}
	text, err := parseText(key, src.Body, partials)
	if err != nil {
		return nil, err
	}
	html, err := parseHTML(key, src.Body, partials)
	if err != nil {
		return nil, err
	}
	return &compiled{subject: subject, text: text, html: html}, nil
}

// missingkey=error: a template naming a field Data lacks fails the dry
// run at load time instead of printing "<no value>" to a participant.
func parseText(name, body string, partials map[string]string) (*ttemplate.Template, error) {
	t := ttemplate.New(name).Option("missingkey=error").Funcs(ttemplate.FuncMap{"link": textLink})
	for _, p := range sortedKeys(partials) {
		if _, err := t.New(p).Parse(partials[p]); err != nil {
			return nil, err
		}
	}
	return t.Parse(body)
}

func parseHTML(name, body string, partials map[string]string) (*htemplate.Template, error) {
	t := htemplate.New(name).Option("missingkey=error").Funcs(htemplate.FuncMap{"link": htmlLink})
	for _, p := range sortedKeys(partials) {
		if _, err := t.New(p).Parse(partials[p]); err != nil {
			return nil, err
		}
	}
	return t.Parse(body)
}

// dryRun renders every template in every language, once with every field
// filled and once with none, so a template that names a missing field or
// partial, or that html/template cannot escape, fails at load time.
func (l *loader) dryRun(c *Catalogue) {
	for _, d := range []Data{sampleData(l.prog), {}} {
		for _, key := range c.Keys() {
			for _, lang := range languages {
				if _, err := c.renderPart(key, lang, d); err != nil {
					l.add("templates."+key, lang, "does not render: %v", err)
				}
			}
		}
		if len(l.errs) > 0 {
			return // one report per broken template is enough
		}
	}
}

func sampleData(p *programme.Programme) Data {
	start := time.Date(2021, time.October, 5, 9, 0, 0, 0, time.UTC)
	d := Data{
		RecipientGivenName: "Sample",
		ParticipantName:    "Sample Participant",
		CoachName:          "Sample Coach",
		IntakeName:         "Sample Cohort",
		IntakeStartsOn:     start,
		ItemStartsAt:       start,
		ItemEndsAt:         start.Add(3 * time.Hour),
		RespondBy:          start,
		Unmet:              criteriaOf(p.Completion),
		Link:               "https://example.org/journeys/sample",
	}
	if len(p.Labs) > 0 {
		d.ItemID = p.Labs[0].Key + "/1"
	}
	return d
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
