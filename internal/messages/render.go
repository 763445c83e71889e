package messages

import (
	"fmt"
	htemplate "html/template"
	"net/url"
	"strings"

	"github.com/infuse-cymru/journeys/internal/store"
)

// part is a message rendered in one language.
type part struct {
	lang    store.Language
	subject string
	text    string
	html    htemplate.HTML // the body's HTML, escaped, without the page around it
}

// Render writes the message for key in the language the Welsh Language
// Standards call for: a recorded preference of Welsh or English gets that
// language only; an unknown preference gets both, Welsh first, in the
// subject ("Welsh / English") and in the body (Welsh section, then
// English section).
func (c *Catalogue) Render(key string, lang store.Language, d Data) (Rendered, error) {
	langs, err := languagesFor(lang)
	if err != nil {
		return Rendered{}, err
	}
	if err := checkLink(d.Link); err != nil {
		return Rendered{}, err
	}
	parts := make([]part, 0, len(langs))
	for _, l := range langs {
		p, err := c.renderPart(key, l, d)
		if err != nil {
			return Rendered{}, fmt.Errorf("message %q (%s): %w", key, languageName(l), err)
		}
		parts = append(parts, p)
	}
	return combine(parts)
}

func languagesFor(l store.Language) ([]store.Language, error) {
	switch l {
	case store.LanguageWelsh, store.LanguageEnglish:
		return []store.Language{l}, nil
	case store.LanguageUnknown:
		return languages, nil // Welsh first
	}
	return nil, fmt.Errorf("language %q is not cy, en or unknown (\"\")", l)
}

// checkLink refuses anything but a web address, so a bad value can never
// become a javascript: or mailto: link in a message.
func checkLink(link string) error {
	if link == "" {
		return nil
	}
	u, err := url.Parse(link)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("link %q is not an http or https address", link)
	}
	return nil
}

func (c *Catalogue) renderPart(key string, lang store.Language, d Data) (part, error) {
	t, ok := c.templates[key][lang]
	if !ok {
		return part{}, fmt.Errorf("no template %q in programme %q version %d: known keys are %v",
			key, c.prog.ID, c.prog.Version, c.Keys())
	}
	v, err := c.view(lang, d)
	if err != nil {
		return part{}, err
	}
	var subject, text, html strings.Builder
	if err := t.subject.Execute(&subject, v); err != nil {
		return part{}, err
	}
	if err := t.text.Execute(&text, v); err != nil {
		return part{}, err
	}
	if err := t.html.Execute(&html, v); err != nil {
		return part{}, err
	}
	return part{
		lang:    lang,
		subject: oneLine(subject.String()),
		text:    tidy(text.String()),
		html:    paragraphs(tidy(html.String())),
	}, nil
}

// oneLine keeps a subject to one line whatever a value holds: a line break
// in a mail header would start a new header.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// tidy trims trailing spaces and leaves at most one blank line between
// paragraphs, so optional lines a template leaves out leave no gaps.
func tidy(s string) string {
	var out []string
	blank := true
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// paragraphs lays out an already escaped body as HTML: a blank line starts
// a paragraph, a line break stays a line break, and a paragraph whose
// lines all start "- " is a list. It only adds tags, so it cannot undo the
// escaping html/template did.
func paragraphs(escaped string) htemplate.HTML {
	var b strings.Builder
	for para := range strings.SplitSeq(escaped, "\n\n") {
		lines := strings.Split(para, "\n")
		if isList(lines) {
			b.WriteString("<ul>\n")
			for _, l := range lines {
				b.WriteString("<li>" + strings.TrimPrefix(l, "- ") + "</li>\n")
			}
			b.WriteString("</ul>\n")
			continue
		}
		b.WriteString("<p>" + strings.Join(lines, "<br>\n") + "</p>\n")
	}
	return htemplate.HTML(b.String()) //nolint:gosec // built only from html/template output and fixed tags
}

func isList(lines []string) bool {
	for _, l := range lines {
		if !strings.HasPrefix(l, "- ") {
			return false
		}
	}
	return len(lines) > 0
}

// textLink and htmlLink are the templates' {{link .Link}}: the address in
// the text part, a link in the HTML part. checkLink has already refused
// anything but http and https.
func textLink(u string) string { return u }

func htmlLink(u string) htemplate.HTML {
	e := htemplate.HTMLEscapeString(u)
	return htemplate.HTML(`<a href="` + e + `">` + e + `</a>`) //nolint:gosec // escaped, and the scheme is checked
}

// page is the HTML document around the body sections, each marked with
// its language so screen readers pronounce it correctly.
var page = htemplate.Must(htemplate.New("page").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<title>{{.Subject}}</title>
</head>
<body>
{{range $i, $s := .Sections}}{{if $i}}<hr>
{{end}}<div lang="{{$s.Lang}}">
{{$s.Body}}</div>
{{end}}</body>
</html>
`))

type section struct {
	Lang string
	Body htemplate.HTML
}

// separator divides the Welsh and English sections of a bilingual text part.
const separator = "\n\n--------------------------------------------------\n\n"

func combine(parts []part) (Rendered, error) {
	var subjects, texts, langs []string
	var sections []section
	for _, p := range parts {
		subjects = append(subjects, p.subject)
		texts = append(texts, p.text)
		langs = append(langs, string(p.lang))
		sections = append(sections, section{Lang: string(p.lang), Body: p.html})
	}
	r := Rendered{
		Subject:  strings.Join(subjects, " / "),
		Text:     strings.Join(texts, separator) + "\n",
		Language: strings.Join(langs, ", "),
	}
	var html strings.Builder
	err := page.Execute(&html, map[string]any{"Lang": langs[0], "Subject": r.Subject, "Sections": sections})
	r.HTML = html.String()
	return r, err
}
