// Package welsh checks the spelling of the project's Welsh, so that a typo
// in a Welsh edit fails the tests as a broken English sentence would be
// noticed in review: every Welsh string (the pages, the messages, the
// programme's names, the certificate) is checked against Debian's Welsh
// dictionary (aspell-cy) and a reviewed list of the words it lacks
// (words.txt: modern terms such as "mewngofnodi", mutated forms, place
// names, names of our own). A test of each package hands it that
// package's Welsh.
package welsh

import (
	"bytes"
	_ "embed"
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/dev/testdeps"
)

// install is how to get what the check needs, for the message when it is missing.
const install = "apt-get install aspell aspell-cy"

// Text is a piece of Welsh and where it is, for the failure message.
type Text struct {
	Where, Welsh string
}

//go:embed words.txt
var wordsFile string

// CheckSpelling fails t for each word of texts that neither the dictionary
// nor words.txt knows, saying where it is.
func CheckSpelling(t testing.TB, texts []Text) {
	t.Helper()
	aspell := testdeps.Command(t, "aspell", install)
	var in strings.Builder
	for _, x := range texts {
		in.WriteString(Words(x.Welsh))
		in.WriteByte('\n')
	}
	cmd := exec.Command(aspell, "-l", "cy", "--encoding=utf-8", "list")
	cmd.Stdin = strings.NewReader(in.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && strings.Contains(stderr.String(), "No word lists can be found") {
		testdeps.Missing(t, "the Welsh dictionary (aspell-cy)", install)
	}
	if err != nil {
		t.Fatalf("aspell: %v\n%s", err, stderr.String())
	}
	known := reviewed()
	var unknown []string
	for _, w := range strings.Fields(string(out)) {
		if !known[strings.ToLower(w)] && !slices.Contains(unknown, w) {
			unknown = append(unknown, w)
		}
	}
	slices.Sort(unknown)
	for _, w := range unknown {
		t.Errorf("%q is not a word the Welsh dictionary or dev/welsh/words.txt knows, in %s: a typo, or a word to add to words.txt once a Welsh speaker has checked it",
			w, strings.Join(where(texts, w), ", "))
	}
}

// Words is the Welsh of s as the dictionary reads it: without template
// actions ({{.Name}}), format verbs (%s), addresses, and with the
// apostrophe of a clitic ("Mae'r", "i'ch") a space, which the dictionary
// does not split at.
func Words(s string) string {
	for _, re := range notWords {
		s = re.ReplaceAllString(s, " ")
	}
	return strings.NewReplacer("'", " ", "’", " ").Replace(s)
}

var notWords = []*regexp.Regexp{
	regexp.MustCompile(`\{\{.*?\}\}`),
	regexp.MustCompile(`https?://\S+`),
	regexp.MustCompile(`\S+@\S+`),
	regexp.MustCompile(`%[-+# 0]*[0-9.]*[a-zA-Z]`),
}

// reviewed is words.txt as a set of lower-case words: one a line, after
// any comment (#).
func reviewed() map[string]bool {
	known := map[string]bool{}
	for _, line := range strings.Split(wordsFile, "\n") {
		line, _, _ = strings.Cut(line, "#")
		if w := strings.TrimSpace(line); w != "" {
			known[strings.ToLower(w)] = true
		}
	}
	return known
}

// where lists the texts that have word w.
func where(texts []Text, w string) []string {
	word := regexp.MustCompile(`(^|[^\pL])` + regexp.QuoteMeta(w) + `($|[^\pL])`)
	var out []string
	for _, x := range texts {
		if word.MatchString(Words(x.Welsh)) {
			out = append(out, x.Where)
		}
	}
	return out
}
