package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/infuse-cymru/journeys/internal/app/wire"
)

// TestOpenAPIFileIsUpToDate: api/openapi.json, kept for readers and
// clients' code generators, is the document the code makes and serves.
func TestOpenAPIFileIsUpToDate(t *testing.T) {
	want, err := OpenAPIDocument()
	if err != nil {
		t.Fatalf("making the document: %v", err)
	}
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gotLines, wantLines := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		line := 0
		for line < min(len(gotLines), len(wantLines)) && gotLines[line] == wantLines[line] {
			line++
		}
		t.Errorf("api/openapi.json is not the document the route table and the Go types make: run `go generate ./api/` and commit it.\n"+
			"First difference, line %d:\n  file: %s\n  code: %s", line+1, at(gotLines, line), at(wantLines, line))
	}
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return strings.TrimSpace(lines[i])
	}
	return "(end of document)"
}

// TestOpenAPIObjectsAllowNothingElse: every object schema lists its
// properties and allows no others, and requires some, so the response
// validation of the tests catches a key spelt otherwise (another casing)
// or an answer of another shape.
func TestOpenAPIObjectsAllowNothingElse(t *testing.T) {
	doc, err := (&handler{}).document()
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range doc.Components.Schemas {
		s := ref.Value
		if !s.Type.Is("object") {
			continue
		}
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("schema %s allows properties it does not list", name)
		}
		if name != "Empty" && len(s.Required) == 0 && name != "EditIntakeRequest" && name != "ApplyRequest" {
			t.Errorf("schema %s requires nothing, so an answer with none of its keys would pass", name)
		}
	}
}

// TestValidationCatchesAnotherCasing: an answer whose keys are spelt
// otherwise than the document says, or which lacks one, does not pass the
// response validation every test of this package goes through.
func TestValidationCatchesAnotherCasing(t *testing.T) {
	doc, err := OpenAPIDocument()
	if err != nil {
		t.Fatal(err)
	}
	router := openAPIRouter(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(doc)
	}))
	const good = `{"id":"0b6c5ed2-3f4e-4b8a-9f0e-1c2d3e4f5a6b","name":"Megan Howells","email":"m@example.org","role":"coordinator","language":"cy"}`
	for body, ok := range map[string]bool{
		good:                                     true,
		strings.Replace(good, `"id"`, `"ID"`, 1): false,
		strings.Replace(good, `"name"`, `"Name"`, 1):         false,
		strings.Replace(good, `,"language":"cy"`, ``, 1):     false,
		strings.Replace(good, `"coordinator"`, `"admin"`, 1): false,
		strings.Replace(good, `}`, `,"extra":1}`, 1):         false, // every key right, and one more
	} {
		req := httptest.NewRequest(http.MethodGet, "http://example.com/api/me", nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal(err)
		}
		err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 http.StatusOK,
			Header:                 http.Header{"Content-Type": {"application/json"}},
			Body:                   io.NopCloser(strings.NewReader(body)),
		})
		if (err == nil) != ok {
			t.Errorf("GET /api/me answering %s: validation error %v, want one: %v", body, err, !ok)
		}
	}
}

// TestDocumentRefusesWhatItCannotName: a route whose {id} names no
// collection the document knows, or whose tag is not in its list, and a
// tag of the list no route has, are mistakes in the route table, not
// something to guess at.
func TestDocumentRefusesWhatItCannotName(t *testing.T) {
	all := slices.Concat((&handler{}).routes(), (&handler{}).system())
	thing := route{"GET /api/things/{id}", reads(coordinator), plain(nil), op{id: "thing", tag: "reports", says: "A thing", answer: Done{}}}
	odd := route{"GET /api/odd", reads(coordinator), plain(nil), op{id: "odd", tag: "odd", says: "Odd", answer: Done{}}}
	for _, c := range []struct {
		routes []route
		want   string
	}{
		{append(slices.Clone(all), thing), "/api/things/{id}: what does its {id} name?"},
		{append(slices.Clone(all), odd), `GET /api/odd has the tag "odd"`},
		{(&handler{}).routes(), `the tag "system" of the document's list (tags) has no route`},
	} {
		if _, err := documentOf(c.routes); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("documentOf(%d routes) = %v, want an error saying %q", len(c.routes), err, c.want)
		}
	}
	if _, err := documentOf(all); err != nil {
		t.Errorf("the route table's document: %v", err)
	}
}

// TestOpenAPIPropertiesAreLowerCamelCase: every key of every answer and
// request the document describes is lowerCamelCase, one style for the
// whole API (the keys of counts are data: states, authorities, themes).
func TestOpenAPIPropertiesAreLowerCamelCase(t *testing.T) {
	doc, err := (&handler{}).document()
	if err != nil {
		t.Fatal(err)
	}
	for name, ref := range doc.Components.Schemas {
		for key := range ref.Value.Properties {
			if !wire.LowerCamelCase(key) {
				t.Errorf("schema %s has the property %q: write it lowerCamelCase", name, key)
			}
		}
	}
}
