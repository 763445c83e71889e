// Package people is who takes part: the people a coordinator imports from
// a file (all of a file or none of it, and the same file twice is
// harmless), found by ID or e-mail address, listed by role, and the
// language each wants their messages in. Their names and addresses live in
// the store only, never in a workflow, so they can be erased.
package people

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
)

// Store is the store's directory of people.
type Store interface {
	GetPerson(ctx context.Context, id uuid.UUID) (store.Person, error)
	FindPersonByEmail(ctx context.Context, email string) (store.Person, error)
	ListPeople(ctx context.Context, role store.Role) ([]store.Person, error)
	CreatePeople(ctx context.Context, people []store.Person) error
	SetLanguage(ctx context.Context, personID uuid.UUID, lang store.Language) error
}

// Service finds, lists and imports people.
type Service struct {
	Store Store
}

// New returns a Service over st.
func New(st Store) *Service { return &Service{Store: st} }

// ImportColumns are the columns of a people file, in the usual order. The
// header may name them in any order and case.
var ImportColumns = []string{"role", "given_name", "family_name", "email", "local_authority", "theme", "language"}

// requiredColumns must be in every file; the others may be left out when
// nobody in the file needs them (a file of coaches has no themes).
var requiredColumns = []string{"role", "given_name", "email"}

// ImportResult says what an import did. Re-importing a file lists everyone
// as unchanged.
type ImportResult struct {
	Created   []uuid.UUID `json:"created" openapi:"nullable" doc:"The people added; null when none"`
	Unchanged []uuid.UUID `json:"unchanged" openapi:"nullable" doc:"People already stored with the same details; null when none"`
}

// RowProblem is what is wrong with one line of a people file.
type RowProblem struct {
	Line     int
	Problems []string
}

// ImportError lists every bad line of a people file. It wraps apperr.ErrInvalid:
// nothing was imported, and the whole file can be corrected and imported again.
type ImportError struct {
	Rows []RowProblem
	// File is a problem with the file as a whole (header, CSV syntax).
	File string
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: ", apperr.ErrInvalid)
	switch {
	case e.File != "" && len(e.Rows) == 0:
		fmt.Fprintf(&b, "%s; nothing was imported", e.File)
	default:
		if len(e.Rows) == 1 {
			b.WriteString("1 line of the file has problems; nothing was imported")
		} else {
			fmt.Fprintf(&b, "%d lines of the file have problems; nothing was imported", len(e.Rows))
		}
		if e.File != "" {
			fmt.Fprintf(&b, " (and %s)", e.File)
		}
	}
	for _, r := range e.Rows {
		fmt.Fprintf(&b, "\n  line %d: %s", r.Line, strings.Join(r.Problems, "; "))
	}
	return b.String()
}

func (e *ImportError) Unwrap() error { return apperr.ErrInvalid }

// ImportPeople reads people from CSV (a header row naming ImportColumns,
// then one person per line) and stores them all, or none if any line is
// wrong. A person already stored with the same e-mail address and the same
// details is left as is, so importing the same file twice is harmless.
func (s *Service) ImportPeople(ctx context.Context, r io.Reader) (ImportResult, error) {
	rows, bad, err := readPeopleCSV(r)
	if err != nil {
		return ImportResult{}, err
	}
	var (
		res      ImportResult
		toCreate []store.Person
		seen     = map[string]int{} // e-mail key -> line
	)
	for _, row := range rows {
		p, existing, problems, err := s.checkRow(ctx, row, seen)
		switch {
		case err != nil:
			return ImportResult{}, err
		case len(problems) > 0:
			bad = append(bad, RowProblem{Line: row.line, Problems: problems})
		case existing != uuid.Nil:
			res.Unchanged = append(res.Unchanged, existing)
		default:
			toCreate = append(toCreate, p)
		}
	}
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b RowProblem) int { return a.Line - b.Line })
		return ImportResult{}, &ImportError{Rows: bad}
	}
	if err := s.Store.CreatePeople(ctx, toCreate); err != nil {
		return ImportResult{}, apperr.StoreError(err)
	}
	for _, p := range toCreate {
		res.Created = append(res.Created, p.ID)
	}
	return res, nil
}

// checkRow builds the person on one line and checks it against the lines
// before it (seen, by e-mail address) and against the store. existing is
// the stored ID when the person is already there unchanged.
func (s *Service) checkRow(ctx context.Context, row csvRow, seen map[string]int) (p store.Person, existing uuid.UUID, problems []string, err error) {
	p, problems = row.person()
	if key := store.EmailKey(p.EmailAddress); key != "" {
		if first, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("e-mail address %q is also on line %d; each person once", p.EmailAddress, first))
		} else {
			seen[key] = row.line
		}
	}
	if len(problems) > 0 {
		return p, uuid.Nil, problems, nil
	}
	existing, problem, err := s.existingPerson(ctx, p)
	if problem != "" {
		problems = append(problems, problem)
	}
	return p, existing, problems, err
}

// existingPerson looks p up by e-mail address. It returns the stored ID if
// the same person is already there, or a problem if the address belongs to
// someone with other details.
func (s *Service) existingPerson(ctx context.Context, p store.Person) (uuid.UUID, string, error) {
	old, err := s.Store.FindPersonByEmail(ctx, p.EmailAddress)
	if errors.Is(err, store.ErrNotFound) {
		return uuid.Nil, "", nil
	}
	if err != nil {
		return uuid.Nil, "", err
	}
	if diff := personDiff(old, p); len(diff) > 0 {
		return uuid.Nil, fmt.Sprintf("a person with e-mail address %q is already stored with a different %s; "+
			"the file must match what is stored (people are not updated by import)", p.EmailAddress, strings.Join(diff, ", ")), nil
	}
	return old.ID, "", nil
}

// personDiff names the columns in which b differs from the stored a.
func personDiff(a, b store.Person) []string {
	var diff []string
	for _, f := range []struct {
		col  string
		x, y string
	}{
		{"role", string(a.Role), string(b.Role)},
		{"given_name", a.GivenName, b.GivenName},
		{"family_name", a.FamilyName, b.FamilyName},
		{"local_authority", a.LocalAuthority, b.LocalAuthority},
		{"theme", a.Theme, b.Theme},
		{"language", string(a.Language), string(b.Language)},
	} {
		if f.x != f.y {
			diff = append(diff, f.col)
		}
	}
	return diff
}

// csvRow is one data line of a people file, by column name.
type csvRow struct {
	line   int
	fields map[string]string
}

// readPeopleCSV parses the header and the data lines. Problems with the
// file as a whole (no header, unknown columns, broken quoting) stop it and
// come back as the error; lines with the wrong number of fields come back
// in bad, so that one pass reports every bad line.
func readPeopleCSV(r io.Reader) (rows []csvRow, bad []RowProblem, err error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short line is reported by line number, not as a parse error
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, &ImportError{File: "the file is empty; its first line must be a header such as " + strings.Join(ImportColumns, ",")}
	}
	if err != nil {
		return nil, nil, &ImportError{File: fmt.Sprintf("the file is not valid CSV: %v", err)}
	}
	cols, err := parseHeader(header)
	if err != nil {
		return nil, nil, err
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, bad, nil
		}
		if err != nil {
			// After broken quoting the reader cannot tell where lines end.
			return nil, nil, &ImportError{Rows: bad, File: fmt.Sprintf("the file is not valid CSV: %v", err)}
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != len(cols) {
			bad = append(bad, RowProblem{Line: line, Problems: []string{
				fmt.Sprintf("has %d fields but the header has %d (%s)", len(rec), len(cols), strings.Join(cols, ","))}})
			continue
		}
		row := csvRow{line: line, fields: make(map[string]string, len(cols))}
		for i, c := range cols {
			row.fields[c] = strings.TrimSpace(rec[i])
		}
		rows = append(rows, row)
	}
}

func parseHeader(header []string) ([]string, error) {
	cols := make([]string, len(header))
	var problems []string
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // spreadsheet programs start UTF-8 files with a byte-order mark
		}
		c := strings.ToLower(strings.TrimSpace(h))
		switch {
		case !slices.Contains(ImportColumns, c):
			problems = append(problems, fmt.Sprintf("unknown column %q", h))
		case slices.Contains(cols[:i], c):
			problems = append(problems, fmt.Sprintf("column %q appears twice", h))
		}
		cols[i] = c
	}
	for _, c := range requiredColumns {
		if !slices.Contains(cols, c) {
			problems = append(problems, fmt.Sprintf("column %q is missing", c))
		}
	}
	if len(problems) > 0 {
		return nil, &ImportError{File: fmt.Sprintf("line 1 (the header): %s; the columns are %s",
			strings.Join(problems, "; "), strings.Join(ImportColumns, ","))}
	}
	return cols, nil
}

// person builds the person on this line and says what is wrong with it.
func (r csvRow) person() (store.Person, []string) {
	p := store.Person{
		ID:           uuid.New(),
		Role:         store.Role(strings.ToLower(r.fields["role"])),
		GivenName:    r.fields["given_name"],
		FamilyName:   r.fields["family_name"],
		EmailAddress: r.fields["email"],
		Theme:        strings.ToLower(r.fields["theme"]),
		Language:     store.Language(strings.ToLower(r.fields["language"])),
	}
	var problems []string
	if err := store.ValidatePerson(p); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), store.ErrInvalid.Error()+": "))
	}
	if p.GivenName == "" {
		problems = append(problems, "given_name is missing")
	}
	la, ok := NormaliseLocalAuthority(r.fields["local_authority"])
	switch {
	case !ok:
		problems = append(problems, fmt.Sprintf("local_authority %q is not one of the ten authorities (%s)",
			r.fields["local_authority"], strings.Join(programme.LocalAuthorities, ", ")))
	case la == "" && p.Role == store.RoleParticipant:
		problems = append(problems, "local_authority is missing; a participant works for one of "+strings.Join(programme.LocalAuthorities, ", "))
	}
	p.LocalAuthority = la
	switch {
	case p.Role == store.RoleParticipant && !slices.Contains(programme.Themes, p.Theme):
		problems = append(problems, fmt.Sprintf("theme %q is not %q or %q", r.fields["theme"], programme.Themes[0], programme.Themes[1]))
	case p.Role != store.RoleParticipant && p.Role != "" && p.Theme != "":
		problems = append(problems, fmt.Sprintf("theme %q is only for participants; leave it empty for a %s", r.fields["theme"], p.Role))
	}
	return p, problems
}

// NormaliseLocalAuthority returns the programme's spelling of name, matched
// case-insensitively; empty stays empty. ok is false for any other name.
func NormaliseLocalAuthority(name string) (la string, ok bool) {
	name = strings.Join(strings.Fields(name), " ")
	if name == "" {
		return "", true
	}
	for _, la := range programme.LocalAuthorities {
		if strings.EqualFold(la, name) {
			return la, true
		}
	}
	return "", false
}

// Get is the person with id as the store has them, or the store's own
// error (store.ErrNotFound), unlike FindPerson: the signed-in person's
// own record, read on every page, whose callers tell "gone" apart.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (store.Person, error) {
	return s.Store.GetPerson(ctx, id)
}

// ByEmail is the person with the e-mail address (compared as the store
// keys addresses), or the store's own error (store.ErrNotFound), as Get.
func (s *Service) ByEmail(ctx context.Context, email string) (store.Person, error) {
	return s.Store.FindPersonByEmail(ctx, email)
}

// FindPerson resolves how a person was named on a command line or in a
// request: by ID (a UUID) or by e-mail address.
func (s *Service) FindPerson(ctx context.Context, ref string) (store.Person, error) {
	ref = strings.TrimSpace(ref)
	var (
		p   store.Person
		err error
	)
	if id, perr := uuid.Parse(ref); perr == nil {
		p, err = s.Store.GetPerson(ctx, id)
	} else if strings.Contains(ref, "@") {
		p, err = s.Store.FindPersonByEmail(ctx, ref)
	} else {
		return store.Person{}, apperr.Invalidf("%q names nobody: give a person's ID or e-mail address", ref)
	}
	if errors.Is(err, store.ErrNotFound) {
		return store.Person{}, fmt.Errorf("%w: no person %s (import people first, or check with `infuse people list`)", apperr.ErrNotFound, ref)
	}
	return p, err
}

// ListPeople lists the people with the given role, or everyone if role is empty.
func (s *Service) ListPeople(ctx context.Context, role store.Role) ([]store.Person, error) {
	switch role {
	case "", store.RoleParticipant, store.RoleCoach, store.RoleCoordinator:
	default:
		return nil, apperr.Invalidf("role %q is not %s, %s or %s", role, store.RoleParticipant, store.RoleCoach, store.RoleCoordinator)
	}
	people, err := s.Store.ListPeople(ctx, role)
	if people == nil && err == nil {
		people = []store.Person{} // an empty list, not null, for JSON readers
	}
	return people, err
}

// SetLanguage records the language a person wants their messages in: "cy"
// (Welsh), "en" (English), or "both" / "" for bilingual, Welsh first (the
// Welsh Language Standards' default when no preference is recorded).
func (s *Service) SetLanguage(ctx context.Context, personID uuid.UUID, lang string) error {
	var l store.Language
	switch strings.ToLower(strings.TrimSpace(lang)) {
	case "cy":
		l = store.LanguageWelsh
	case "en":
		l = store.LanguageEnglish
	case "", "both":
		l = store.LanguageUnknown
	default:
		return apperr.Invalidf("language %q is not one of cy (Cymraeg), en (English) or both (bilingual, Welsh first)", lang)
	}
	err := s.Store.SetLanguage(ctx, personID, l)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: no person %s (check the ID with `infuse people list`)", apperr.ErrNotFound, personID)
	}
	return apperr.StoreError(err)
}
