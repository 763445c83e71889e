package delivery

import (
	"fmt"
	"strings"
	"testing"
)

// A digest speaks the language of what it gathers: a Welsh speaker's digest
// is in Welsh only, an English speaker's in English only, and one for
// someone with no recorded preference is bilingual, Welsh first.
func TestDigestLanguageFollowsTheMessages(t *testing.T) {
	mk := func(lang string) []Email {
		var es []Email
		for i := 0; i < 3; i++ {
			es = append(es, Email{Subject: fmt.Sprintf("s%d", i), Text: "t", Headers: map[string]string{"Content-Language": lang}})
		}
		return es
	}
	for lang, want := range map[string]struct{ subject, lacks string }{
		"cy":     {"Crynodeb: 3 neges", "You have"},
		"en":     {"Digest: 3 messages", "Mae gennych"},
		"cy, en": {"Crynodeb: 3 neges | Digest: 3 messages", ""},
	} {
		d := digestEmail(mk(lang))
		if d.Subject != want.subject || d.Headers["Content-Language"] != lang {
			t.Errorf("%q digest: subject %q, Content-Language %q", lang, d.Subject, d.Headers["Content-Language"])
		}
		if want.lacks != "" && strings.Contains(d.Text, want.lacks) {
			t.Errorf("%q digest contains %q:\n%s", lang, want.lacks, d.Text)
		}
		if lang == "cy, en" && strings.Index(d.Text, "Mae gennych") > strings.Index(d.Text, "You have") {
			t.Errorf("bilingual digest does not put Welsh first:\n%s", d.Text)
		}
	}
}
