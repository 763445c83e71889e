package messages

import (
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/store"
)

// FuzzRenderNames: whatever people are called, every message renders in
// every language; a name adds no tag to the HTML (it has no more '<' than
// with a plain name) and no line to the subject (no header injection).
// `go test -run '^$' -fuzz FuzzRenderNames ./messages` explores further;
// the seeds run with the suite.
func FuzzRenderNames(f *testing.F) {
	for _, name := range []string{trickyName, "Siân Ní Bhriain", "Ŵyn ap Ŷr", "", " ", "a\r\nBcc: x@example.org",
		"</p><img src=x onerror=alert(1)>", "{{.Link}}", "&amp;", "\x00\xff", strings.Repeat("Llan", 300)} {
		f.Add(name, name+" Jones")
	}
	c, err := Load("infuse", 1)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, recipient, other string) {
		for _, key := range c.Keys() {
			for _, lang := range []store.Language{store.LanguageWelsh, store.LanguageEnglish, store.LanguageUnknown} {
				plain := sample(t, key)
				plain.RecipientGivenName, plain.ParticipantName, plain.CoachName = "Nia", "Nia Jones", "Rhys Jones"
				named := plain
				named.RecipientGivenName, named.ParticipantName, named.CoachName = recipient, other, other
				want, err := c.Render(key, lang, plain)
				if err != nil {
					t.Fatal(err)
				}
				got, err := c.Render(key, lang, named)
				if err != nil {
					t.Fatalf("%s (%s) for %q and %q: %v", key, lang, recipient, other, err)
				}
				// An empty name may leave a line out; no name may add one.
				if n, m := strings.Count(got.HTML, "<"), strings.Count(want.HTML, "<"); n > m {
					t.Fatalf("%s (%s): the names %q and %q put %d '<' in the HTML, against %d", key, lang, recipient, other, n, m)
				}
				if strings.ContainsAny(got.Subject, "\r\n") {
					t.Fatalf("%s (%s): the subject %q has a line break", key, lang, got.Subject)
				}
			}
		}
	})
}
