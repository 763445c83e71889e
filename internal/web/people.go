package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

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

// importErrors are a refused file's problems, a line each, linked to the
// file field. The problems themselves are the import's words, in English.
func importErrors(lang Lang, e *people.ImportError) []fieldError {
	errs := []fieldError{{Field: "file", Message: lang.T("people.file.refused")}}
	if e.File != "" {
		errs = append(errs, fieldError{Field: "file", Message: e.File})
	}
	for _, row := range e.Rows {
		errs = append(errs, fieldError{Field: "file", Message: fmt.Sprintf(lang.T("people.file.line"), row.Line, strings.Join(row.Problems, "; "))})
	}
	return errs
}
