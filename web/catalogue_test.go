package web

import (
	"io/fs"
	"regexp"
	"testing"
	"time"
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
	if got := Welsh.Item("checkpoint/2"); got != "Pwynt gwirio hyfforddi 2" {
		t.Errorf("Welsh item: %q", got)
	}
}
