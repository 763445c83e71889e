package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/store"
)

// peopleData is the body of the people page: everyone, and the import form.
type peopleData struct {
	People []store.Person
	// Columns are the columns a people file has, for the form's hint.
	Columns []string
}

// peoplePage lists everyone, with the form that imports a people file.
func (s *server) peoplePage(w http.ResponseWriter, r *http.Request) {
	s.renderPeople(w, r, http.StatusOK, nil)
}

func (s *server) renderPeople(w http.ResponseWriter, r *http.Request, status int, errs []fieldError) {
	everyone, err := s.svc.People.ListPeople(r.Context(), "")
	if err != nil {
		s.serverError(w, r, "listing people", err)
		return
	}
	p := s.newPage(r, "people.title")
	p.Errors = errs
	p.Data = peopleData{People: everyone, Columns: people.ImportColumns}
	s.render(w, r, status, "people", p)
}

// importPeople stores the people of an uploaded file, all of them or,
// if any line is wrong, none: then every wrong line is listed on the page
// by its number, and the corrected file can be sent again. Importing the
// same file twice changes nothing.
func (s *server) importPeople(w http.ResponseWriter, r *http.Request) {
	lang := pageLang(r)
	missing := []fieldError{{Field: "file", Message: lang.T("people.file.missing")}}
	if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
		s.renderPeople(w, r, http.StatusUnprocessableEntity, missing)
		return
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }() // this handler's copy of the request parsed it
	file, _, err := r.FormFile("file")
	if err != nil {
		s.renderPeople(w, r, http.StatusUnprocessableEntity, missing)
		return
	}
	defer file.Close()
	res, err := s.svc.People.ImportPeople(r.Context(), file)
	var bad *people.ImportError
	switch {
	case errors.As(err, &bad):
		s.renderPeople(w, r, http.StatusUnprocessableEntity, importErrors(lang, bad))
		return
	case err != nil:
		s.failAction(w, r, "/people", err)
		return
	}
	s.log.Info("people imported", zap.Int("created", len(res.Created)), zap.Int("unchanged", len(res.Unchanged)))
	seeOther(w, r, "/people", "imported")
}

// maxLinesShown bounds the wrong lines a refused file's page lists: a
// file gone wrong throughout says so in its first few.
const maxLinesShown = 50

// importErrors are a refused file's problems, a line each (the first
// maxLinesShown), linked to the file field. The problems themselves are
// the import's words, in English.
func importErrors(lang Lang, e *people.ImportError) []fieldError {
	errs := []fieldError{{Field: "file", Message: lang.T("people.file.refused")}}
	if e.File != "" {
		errs = append(errs, fieldError{Field: "file", Detail: e.File})
	}
	for i, row := range e.Rows {
		if i == maxLinesShown {
			errs = append(errs, fieldError{Field: "file", Message: fmt.Sprintf(lang.T("people.file.more"), len(e.Rows)-i)})
			break
		}
		errs = append(errs, fieldError{Field: "file", Message: fmt.Sprintf(lang.T("people.file.line"), row.Line), Detail: strings.Join(row.Problems, "; ")})
	}
	return errs
}

// personData is the body of a person's page.
type personData struct {
	Person store.Person
	// Form is what was sent with the erasure form that failed.
	Form url.Values
}

// pathPerson is the person the path names, or the not-found page.
func (s *server) pathPerson(w http.ResponseWriter, r *http.Request) (store.Person, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		s.notFound(w, r)
		return store.Person{}, false
	}
	p, err := s.svc.People.Get(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.notFound(w, r)
		return p, false
	case err != nil:
		s.serverError(w, r, "reading the person", err)
		return p, false
	}
	return p, true
}

// personPage shows one person, with the export of their data and the
// form that erases it.
func (s *server) personPage(w http.ResponseWriter, r *http.Request) {
	if person, ok := s.pathPerson(w, r); ok {
		s.renderPerson(w, r, http.StatusOK, person, nil)
	}
}

func (s *server) renderPerson(w http.ResponseWriter, r *http.Request, status int, person store.Person, errs []fieldError) {
	p := s.newPage(r, "person.title")
	if person.ErasedAt.IsZero() {
		p.Title = strings.TrimSpace(person.GivenName + " " + person.FamilyName)
	}
	p.Errors = errs
	p.Data = personData{Person: person, Form: postedForm(r)}
	s.render(w, r, status, "person", p)
}

// exportPerson is everything the store holds about a person, as the file
// to hand them (their UK GDPR right of access): the API's export.
func (s *server) exportPerson(w http.ResponseWriter, r *http.Request) {
	person, ok := s.pathPerson(w, r)
	if !ok {
		return
	}
	x, err := s.svc.Privacy.Export(r.Context(), person.ID)
	if err != nil {
		s.failAction(w, r, "/people/"+person.ID.String(), err)
		return
	}
	s.log.Info("person's data exported", zap.Stringer("person", person.ID), zap.Stringer("by", principal(r).PersonID))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="person-%s.json"`, person.ID))
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(x); err != nil {
		s.log.Warn("sending a person's export", zap.Stringer("person", person.ID), zap.Error(err))
	}
}

// erasePerson erases a person's data once the coordinator has confirmed
// it. It is refused, with what to do first, while the person takes part
// in a journey or intake still running, and for the coordinator
// themselves.
func (s *server) erasePerson(w http.ResponseWriter, r *http.Request) {
	person, ok := s.pathPerson(w, r)
	if !ok {
		return
	}
	again := func(status int, errs []fieldError) { s.renderPerson(w, r, status, person, errs) }
	lang := pageLang(r)
	if r.PostFormValue("confirm") != "yes" {
		again(http.StatusUnprocessableEntity, []fieldError{{Field: "confirm", Message: lang.T("person.erase.confirm.missing")}})
		return
	}
	if person.ID == principal(r).PersonID {
		again(http.StatusConflict, []fieldError{{Message: lang.T("person.erase.self")}})
		return
	}
	e, err := s.svc.Privacy.Erase(r.Context(), person.ID)
	if err == nil {
		s.log.Info("person erased", zap.Stringer("person", person.ID), zap.Stringer("by", principal(r).PersonID),
			zap.Int("notes", e.NotesDeleted), zap.Int("messages given up", e.MessagesFailed))
	}
	s.finishForm(w, r, err, again, "/people/"+person.ID.String(), "erased")
}
