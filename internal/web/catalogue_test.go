package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/infuse-cymru/journeys/dev/welsh"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/workflows"
)

// Every string exists in Welsh and English: the Welsh Language Standards
// allow no page that is English only.
func TestCatalogueHasBothLanguages(t *testing.T) {
	for key, tx := range catalogue {
		if tx.cy == "" || tx.en == "" {
			t.Errorf("%s: cy %q, en %q; both are required", key, tx.cy, tx.en)
		}
	}
}

// sameInBothLanguages lists the only strings whose Welsh is rightly the
// English, each with the reason. These three local authorities have a
// Welsh name and no other: the councils use it in English as well
// (Blaenau Gwent County Borough Council, Rhondda Cynon Taf County Borough
// Council, Torfaen County Borough Council), so a translation would be a
// name nobody uses.
var sameInBothLanguages = map[string]string{
	"group.Blaenau Gwent":     "a Welsh place name, the council's name in English too",
	"group.Rhondda Cynon Taf": "a Welsh place name, the council's name in English too",
	"group.Torfaen":           "a Welsh place name, the council's name in English too",
}

// sameText is whether two strings are the same words, ignoring case and
// the spaces around them.
func sameText(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

// A Welsh string that is just the English one is English on a Welsh page:
// it is an error unless sameInBothLanguages says why it is right. The list
// must not go stale either, or it would let a later copy through.
func TestWelshIsNotTheEnglish(t *testing.T) {
	for key, tx := range catalogue {
		if sameText(tx.cy, tx.en) && sameInBothLanguages[key] == "" {
			t.Errorf("%s: the Welsh is the English, %q: translate it (or, if it is a name that is the same in both languages, "+
				"add it to sameInBothLanguages saying why)", key, tx.en)
		}
	}
	for key := range sameInBothLanguages {
		if tx, ok := catalogue[key]; !ok || !sameText(tx.cy, tx.en) {
			t.Errorf("%s is in sameInBothLanguages but the catalogue has %+v: take it off the list", key, tx)
		}
	}
}

// Every key the templates ask for is in the catalogue (a missing one
// would show as its key).
func TestTemplatesUseKnownKeys(t *testing.T) {
	used := regexp.MustCompile(`\.T "([a-z0-9._-]+)"`)
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if _, ok := catalogue[m[1]]; !ok {
				t.Errorf("%s uses %q, which is not in the catalogue", name, m[1])
			}
		}
	}
}

// Keys the templates and handlers build from values (a withdrawal reason,
// an authority, a flash after a form) are in the catalogue too: the test
// above cannot see them.
func TestBuiltKeysAreKnown(t *testing.T) {
	var keys []string
	for _, r := range workflows.WithdrawReasons {
		keys = append(keys, "withdrawreason."+r)
	}
	for _, g := range append(append([]string{"(not recorded)"}, programme.LocalAuthorities...), programme.Themes...) {
		keys = append(keys, "group."+g)
	}
	for _, by := range []string{"localAuthority", "theme"} {
		keys = append(keys, "report."+by, "report."+by+".group")
	}
	for _, task := range []string{"plan", "reflection"} {
		keys = append(keys, "task.text."+task)
	}
	for _, done := range []string{"started", "decided", "checkpoint", "accepted", "declined", "language", "signedout",
		"created", "rescheduled", "attendance", "paused", "resumed", "withdrawn", "handedin", "edited", "unchanged", "signedouteverywhere"} {
		keys = append(keys, "flash."+done)
	}
	for _, k := range keys {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("%q is not in the catalogue", k)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for header, want := range map[string]Lang{
		"":                        English,
		"cy":                      Welsh,
		"cy-GB,cy;q=0.9,en;q=0.8": Welsh,
		"en-GB,en;q=0.9,cy;q=0.8": English,
		"en;q=0.5,cy;q=0.7":       Welsh,
		"cy;q=0,en":               English,
		"fr,de":                   English,
		"fr,cy;q=0.5":             Welsh,
		"en,cy":                   English,
		"CY-gb":                   Welsh,
		"garbage;;;,q=x":          English,
	} {
		if got := acceptLang(header); got != want {
			t.Errorf("Accept-Language %q: %s, want %s", header, got, want)
		}
	}
}

func TestDatesInLondonInBothLanguages(t *testing.T) {
	at := time.Date(2027, 10, 5, 9, 0, 0, 0, time.UTC) // 10:00 in London (BST)
	if got := Welsh.When(at); got != "5 Hydref 2027, 10:00" {
		t.Errorf("Welsh: %q", got)
	}
	if got := English.When(at); got != "5 October 2027, 10:00" {
		t.Errorf("English: %q", got)
	}
	if got := Welsh.Item(nil, "checkpoint/2"); got != "Pwynt gwirio hyfforddi 2" {
		t.Errorf("Welsh item: %q", got)
	}
	if got := English.Session(nil, "adaption-lab/2", at); got != "Adaption Lab 2 — 5 October 2027, 10:00" {
		t.Errorf("English session: %q", got)
	}
	if got := Welsh.Session(nil, "adaption-lab/2", at); got != Welsh.Item(nil, "adaption-lab/2")+" — 5 Hydref 2027, 10:00" {
		t.Errorf("Welsh session: %q", got)
	}
	if got := English.Session(nil, "adaption-lab/2", time.Time{}); got != "Adaption Lab 2" {
		t.Errorf("a session without a known start: %q", got)
	}
}

// Every Welsh string of the pages is spelt right.
func TestWelshIsSpeltRight(t *testing.T) {
	texts := make([]welsh.Text, 0, len(catalogue))
	for key, tx := range catalogue {
		texts = append(texts, welsh.Text{Where: "the pages' " + key, Welsh: tx.cy})
	}
	welsh.CheckSpelling(t, texts)
}
