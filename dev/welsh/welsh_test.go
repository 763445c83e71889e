package welsh

import (
	"fmt"
	"strings"
	"testing"
)

// What the dictionary reads of a string: no template actions, format
// verbs or addresses, and a clitic's apostrophe a space.
func TestWords(t *testing.T) {
	for in, want := range map[string]string{
		"Annwyl {{.RecipientGivenName}},": "Annwyl  ,",
		"Mae'r daith wedi'i hoedi.":       "Mae r daith wedi i hoedi.",
		"rhowch y cod yn %s.":             "rhowch y cod yn  .",
		"ewch i https://infuse.example/x": "ewch i  ",
		"e-bostiwch megan@example.org":    "e-bostiwch  ",
	} {
		if got := Words(in); got != want {
			t.Errorf("Words(%q) = %q, want %q", in, got, want)
		}
	}
}

// A misspelt word fails the check and is named with where it is; the
// reviewed words and correct Welsh pass.
func TestCheckSpelling(t *testing.T) {
	CheckSpelling(t, []Text{{"a sentence", "Mae'r cydlynydd wedi mewngofnodi i'r wefan."}})
	var r recorder
	CheckSpelling(&r, []Text{{"the offer", "Croeso i'r rhaglen"}, {"the reminder", "Peidiwch ag anghofio'r sesiwn yfory, dewch"}, {"a typo", "Mae'r sesiwnn yfory"}})
	if len(r.errors) != 1 || !contains(r.errors[0], `"sesiwnn"`, "a typo") {
		t.Errorf("a misspelt word: %q", r.errors)
	}
}

// recorder is a testing.TB that keeps what would fail the test.
type recorder struct {
	testing.TB
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (r *recorder) Skipf(format string, args ...any) {
	panic("skipped: " + fmt.Sprintf(format, args...))
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
