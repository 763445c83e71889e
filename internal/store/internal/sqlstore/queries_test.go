package sqlstore

import (
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

// TestQueriesLoad: every query is there for both databases, filled in (no
// template left), and PostgreSQL's own are empty on SQLite alone.
func TestQueriesLoad(t *testing.T) {
	for _, postgres := range []bool{true, false} {
		q, err := LoadQueries(postgres)
		if err != nil {
			t.Fatalf("LoadQueries(postgres=%v): %v", postgres, err)
		}
		v, typ := reflect.ValueOf(q).Elem(), reflect.TypeFor[Queries]()
		for i := range typ.NumField() {
			f, text := typ.Field(i), v.Field(i).String()
			onlyPostgres := f.Tag.Get("dialect") == "postgres"
			if (text == "") != (onlyPostgres && !postgres) {
				t.Errorf("postgres=%v: query %s is %q", postgres, f.Name, text)
			}
			if strings.Contains(text, "{{") || strings.Contains(text, "<no value>") || strings.Contains(text, "--") {
				t.Errorf("postgres=%v: query %s is not filled in, or keeps a comment: %q", postgres, f.Name, text)
			}
			if !postgres && (strings.Contains(text, "::") || strings.Contains(text, "ANY(")) {
				t.Errorf("SQLite's query %s has PostgreSQL's syntax: %q", f.Name, text)
			}
		}
	}
}

// TestQueriesRefuseMistakes: a query named twice, an entry without a field
// and a field without an entry each fail loading, saying which query.
func TestQueriesRefuseMistakes(t *testing.T) {
	real, err := fs.Sub(queryFiles, "queries")
	if err != nil {
		t.Fatal(err)
	}
	people, err := fs.ReadFile(real, "people.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		edit  func(files fstest.MapFS)
		wants string
	}{
		{"named twice in a file", func(files fstest.MapFS) {
			files["people.sql"].Data = append(people, "\n-- name: GetPerson\nSELECT 1\n"...)
		}, "names query GetPerson twice"},
		{"named in two files", func(files fstest.MapFS) {
			files["more.sql"] = &fstest.MapFile{Data: []byte("-- name: GetPerson\nSELECT 1\n")}
		}, "query GetPerson is named in another file too"},
		{"an entry without a field", func(files fstest.MapFS) {
			files["more.sql"] = &fstest.MapFile{Data: []byte("-- name: GetPersonAgain\nSELECT 1\n")}
		}, "query GetPersonAgain in queries/*.sql has no field"},
		{"a field without an entry", func(files fstest.MapFS) {
			files["people.sql"].Data = []byte(strings.Replace(string(people), "-- name: GetPerson\n", "-- name: GetPersonX\n", 1))
		}, "no query GetPerson in queries/*.sql"},
		{"an empty query", func(files fstest.MapFS) {
			files["people.sql"].Data = []byte(strings.Replace(string(people), "SELECT {{.Person}} FROM people WHERE id = $1", "-- nothing", 1))
		}, "query GetPerson is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			files := fstest.MapFS{}
			names, err := fs.Glob(real, "*.sql")
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				b, err := fs.ReadFile(real, n)
				if err != nil {
					t.Fatal(err)
				}
				files[n] = &fstest.MapFile{Data: b}
			}
			if _, err := loadQueries(files, false); err != nil {
				t.Fatalf("before the edit: %v", err)
			}
			c.edit(files)
			_, err = loadQueries(files, false)
			if err == nil || !strings.Contains(err.Error(), c.wants) {
				t.Errorf("loading = %v, want an error saying %q", err, c.wants)
			}
		})
	}
}
