package people

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// storeOnly is a Service for what needs no workflows: people and lists.
func storeOnly(t *testing.T) *Service {
	t.Helper()
	return New(sqlitestore.OpenTest(t))
}

const goodPeople = `Email,Role,Given_Name,Family_Name,Local_Authority,Theme,Language
carys@example.org,participant,Carys,Pritchard,rhondda  cynon taf,Decarbonisation,CY
tom@example.org,participant,Tom,Ashworth,Cardiff,communities,
elin@example.org,coach,Elin,Rowlands,,,en
`

func TestImportPeople(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	res, err := s.ImportPeople(ctx, strings.NewReader("\ufeff"+goodPeople))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Created) != 3 || len(res.Unchanged) != 0 {
		t.Fatalf("first import: %+v", res)
	}
	p, err := s.FindPerson(ctx, "CARYS@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if p.LocalAuthority != "Rhondda Cynon Taf" || p.Theme != "decarbonisation" || p.Language != store.LanguageWelsh {
		t.Errorf("not normalised: %+v", p)
	}
	if q, err := s.FindPerson(ctx, p.ID.String()); err != nil || q.ID != p.ID {
		t.Errorf("FindPerson by ID = %v, %v", q.ID, err)
	}

	// The same file again changes nothing.
	res, err = s.ImportPeople(ctx, strings.NewReader(goodPeople))
	if err != nil || len(res.Created) != 0 || len(res.Unchanged) != 3 {
		t.Fatalf("re-import: %+v, %v", res, err)
	}
}

func TestImportPeopleReportsEveryBadLine(t *testing.T) {
	ctx := context.Background()
	s := storeOnly(t)
	if _, err := s.ImportPeople(ctx, strings.NewReader(goodPeople)); err != nil {
		t.Fatal(err)
	}
	bad := `role,given_name,family_name,email,local_authority,theme,language
participant,Ok,Person,ok@example.org,Newport,communities,en
participant,Sam,Swansea,sam@example.org,Swansea,communities,en
participant,Bad,Theme,badtheme@example.org,Torfaen,health,
participant,Dup,One,dup@example.org,Bridgend,communities,
participant,Dup,Two,DUP@example.org,Bridgend,communities,
manager,No,Role,norole@example.org,,,
participant,Carys,Different,carys@example.org,Rhondda Cynon Taf,decarbonisation,cy
coach,Short,Line
participant,Lang,Bad,lang@example.org,Cardiff,communities,fr
participant,,Email,not-an-address,Cardiff,communities,
participant,"Eve	Tab",Jones,eve@example.org,Cardiff,communities,
participant,Ffion,"Evans` + "\x1b[31m" + `",ffion@example.org,Cardiff,communities,
participant,"Nia` + "\u202e" + `senoJ",Jones,nia@example.org,Cardiff,communities,
participant,Huw,"Ll` + "\u2028" + `oyd",huw@example.org,Cardiff,communities,
`
	_, err := s.ImportPeople(ctx, strings.NewReader(bad))
	if !errors.Is(err, apperr.ErrInvalid) {
		t.Fatalf("err = %v, want apperr.ErrInvalid", err)
	}
	var ie *ImportError
	if !errors.As(err, &ie) {
		t.Fatalf("err is %T, want *ImportError", err)
	}
	want := map[int]string{
		3:  "Swansea",
		4:  "theme \"health\"",
		6:  "also on line 5",
		7:  "role \"manager\"",
		8:  "different family_name",
		9:  "has 3 fields",
		10: "language \"fr\"",
		11: "not a plain address",
		12: "given name has a control character (U+0009",
		13: "family name has a control character (U+001B",
		14: "given name has a control character (U+202E",
		15: "family name has a control character (U+2028",
	}
	got := map[int]string{}
	for _, r := range ie.Rows {
		got[r.Line] = strings.Join(r.Problems, "; ")
	}
	for line, frag := range want {
		if !strings.Contains(got[line], frag) {
			t.Errorf("line %d: got %q, want it to mention %q", line, got[line], frag)
		}
	}
	if len(got) != len(want) {
		t.Errorf("bad lines = %v, want exactly %d", got, len(want))
	}
	if !strings.Contains(got[11], "given_name is missing") {
		t.Errorf("line 11 should report every problem: %q", got[11])
	}
	// Nothing from the file was stored, not even the good line.
	if _, err := s.FindPerson(ctx, "ok@example.org"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("ok@example.org was imported from a bad file: %v", err)
	}
}

func TestImportPeopleBadHeader(t *testing.T) {
	s := storeOnly(t)
	for name, file := range map[string]string{
		"empty":          "",
		"unknown column": "role,given_name,email,phone\n",
		"missing email":  "role,given_name\n",
		"repeated":       "role,given_name,email,email\n",
	} {
		_, err := s.ImportPeople(context.Background(), strings.NewReader(file))
		if !errors.Is(err, apperr.ErrInvalid) {
			t.Errorf("%s: err = %v, want apperr.ErrInvalid", name, err)
		}
	}
}

func TestFindPerson(t *testing.T) {
	s := storeOnly(t)
	ctx := context.Background()
	if _, err := s.FindPerson(ctx, "nobody@example.org"); !errors.Is(err, apperr.ErrNotFound) {
		t.Errorf("unknown address: %v", err)
	}
	if _, err := s.FindPerson(ctx, "Carys"); !errors.Is(err, apperr.ErrInvalid) {
		t.Errorf("a bare name: %v", err)
	}
	if _, err := s.ListPeople(ctx, "manager"); !errors.Is(err, apperr.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
}
