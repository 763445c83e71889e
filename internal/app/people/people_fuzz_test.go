package people

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// FuzzImportPeople: whatever file a coordinator imports, the import does
// not panic; it either stores every line or none, and then says why, with
// line numbers, as an ImportError; and importing the same file again
// changes nothing. `go test -run '^$' -fuzz FuzzImportPeople ./internal/app/people`
// explores further; the seeds run with the suite.
func FuzzImportPeople(f *testing.F) {
	f.Add(goodPeople)
	f.Add("role,given_name,family_name,email,local_authority,theme,language\n" +
		"participant,Siân,O'Brien,sian@example.org,Torfaen,communities,cy\n")
	f.Add("role,given_name,family_name,email\ncoach,\"Nia\nParry\",Jones,nia@example.org\n")
	f.Add("role,given_name,email\ncoach,Rhys,rhys@example.org,extra\n")
	f.Add("")
	f.Add("\ufeffrole,given_name,email\n")
	f.Add("role,given_name,email\ncoach,\x1b[31mRed,red@example.org\n")
	f.Add("role,given_name,email\ncoach,A,a@example.org\ncoach,B,A@EXAMPLE.ORG\n")
	f.Fuzz(func(t *testing.T, file string) {
		ctx := context.Background()
		st, err := sqlitestore.Open(ctx, ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		s := New(st)
		res, err := s.ImportPeople(ctx, strings.NewReader(file))
		if err != nil {
			var imp *ImportError
			if !errors.As(err, &imp) || !errors.Is(err, apperr.ErrInvalid) {
				t.Fatalf("a refused file is %T %v, want an ImportError (apperr.ErrInvalid)", err, err)
			}
			if imp.Error() == "" {
				t.Fatal("an ImportError says nothing")
			}
			for _, row := range imp.Rows {
				if row.Line < 2 || len(row.Problems) == 0 {
					t.Fatalf("a bad line is reported as %+v: want its line (2 or more: the header is 1) and what is wrong", row)
				}
			}
			if people, err := s.ListPeople(ctx, ""); err != nil || len(people) != 0 {
				t.Fatalf("a refused file left %d people stored (%v); want none", len(people), err)
			}
			return
		}
		again, err := s.ImportPeople(ctx, strings.NewReader(file))
		if err != nil || len(again.Created) != 0 || len(again.Unchanged) != len(res.Created)+len(res.Unchanged) {
			t.Fatalf("importing the same file again = %+v, %v; want all %d unchanged", again, err, len(res.Created)+len(res.Unchanged))
		}
	})
}
