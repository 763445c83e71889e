package web_test

import (
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/web"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// TestIntakePagesItsParticipants: an intake of more participants than a
// page holds is read a page at a time, in the coordinator's language, by
// links to the next and previous pages that name a journey, never a
// person; a link from another intake leads to the first page.
func TestIntakePagesItsParticipants(t *testing.T) {
	const n = views.DashboardRows + 3
	s := newSite(t, siteOptions{}) // no Temporal: the page is read from the store
	coord := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageWelsh)
	in := store.Intake{ID: uuid.New(), Name: "Cohort Big", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: n,
		CoordinatorID: coord.ID, Status: store.IntakeStarted, OpensAt: time.Now(), ClosesAt: time.Now(), StartsOn: time.Now()}
	if err := s.st.CreateIntake(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	var people []store.Person
	for i := range n {
		people = append(people, store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Person",
			FamilyName: fmt.Sprintf("%03d", i), EmailAddress: fmt.Sprintf("p%d@example.org", i)})
	}
	if err := s.st.CreatePeople(t.Context(), people); err != nil {
		t.Fatal(err)
	}
	for _, p := range people {
		j := uuid.New()
		_, err := s.st.Record(t.Context(), store.Event{Key: j.String() + "/1", IntakeID: in.ID, JourneyID: j, Type: "journey.started",
			OccurredAt: time.Now(), Snapshot: &store.JourneySnapshot{JourneyID: j, IntakeID: in.ID, PersonID: p.ID, State: contract.StatusSubmitted}})
		if err != nil {
			t.Fatal(err)
		}
	}
	b := s.browser()
	b.lang = "cy"
	b.signIn(coord)
	link := regexp.MustCompile(`<a href="(/intakes/[^"]+)" rel="(prev|next)">([^<]+)</a>`)
	links := func(page answer) map[string]string {
		out := map[string]string{}
		for _, m := range link.FindAllStringSubmatch(page.body, -1) {
			out[m[2]] = html.UnescapeString(m[1])
			if m[3] != web.Welsh.T("intake.page.previous") && m[3] != web.Welsh.T("intake.page.next") {
				t.Errorf("a page link reads %q, not in Welsh", m[3])
			}
		}
		return out
	}
	named := func(page answer) []string {
		return regexp.MustCompile(`>Person (\d{3})</a>`).FindAllString(page.body, -1)
	}
	first := b.get("/intakes/" + in.ID.String())
	expect(t, "the first page", first, http.StatusOK, fmt.Sprintf("%s %d %s %d", web.Welsh.T("intake.page"), views.DashboardRows,
		web.Welsh.T("intake.page.of"), n), ">Person 000</a>", fmt.Sprintf(">Person %03d</a>", views.DashboardRows-1))
	if got := named(first); len(got) != views.DashboardRows {
		t.Errorf("the first page names %d participants, want %d", len(got), views.DashboardRows)
	}
	next := links(first)
	if next["prev"] != "" || next["next"] == "" {
		t.Fatalf("the first page links to %v; want the next page only", next)
	}
	second := b.get(next["next"])
	expect(t, "the second page", second, http.StatusOK, ">Person 100</a>", ">Person 102</a>")
	// A decision on a row comes back to the row's page.
	after := strings.TrimSuffix(strings.SplitN(next["next"], "after=", 2)[1], "#journeys")
	if n := strings.Count(second.body, `<input type="hidden" name="after" value="`+after+`">`); n != 3 {
		t.Errorf("the second page's 3 decision forms carry its place %d times", n)
	}
	if strings.Contains(first.body, `name="after"`) || strings.Contains(first.body, `name="before"`) {
		t.Errorf("the first page's decision forms carry a place")
	}
	if got := named(second); len(got) != 3 {
		t.Errorf("the second page names %v, want the last 3", got)
	}
	back := links(second)
	if back["next"] != "" || back["prev"] == "" {
		t.Fatalf("the last page links to %v; want the previous page only", back)
	}
	if again := b.get(back["prev"]); strings.Join(named(again), ",") != strings.Join(named(first), ",") {
		t.Errorf("the page before the last names %v, want the first page's", named(again))
	}
	for _, l := range []string{next["next"], back["prev"]} {
		for _, p := range people {
			if strings.Contains(l, p.GivenName) || strings.Contains(l, p.ID.String()) {
				t.Errorf("the link %s names a person", l)
			}
		}
	}
	// The page after the last journey lists nobody and leads back to the
	// first page.
	rows := regexp.MustCompile(`<a href="/journeys/([0-9a-f-]{36})">`).FindAllStringSubmatch(second.body, -1)
	if len(rows) == 0 {
		t.Fatal("the second page links to no journey")
	}
	beyond := b.get("/intakes/" + in.ID.String() + "?after=" + rows[len(rows)-1][1])
	expect(t, "the page after the last journey", beyond, http.StatusOK, fmt.Sprintf("%s 0 %s %d", web.Welsh.T("intake.page"), web.Welsh.T("intake.page.of"), n),
		`<a href="/intakes/`+in.ID.String()+`#journeys">`+web.Welsh.T("intake.page.first")+`</a>`)
	// A link naming a journey of another intake, or no journey, leads to
	// the first page.
	for _, q := range []string{"?after=" + uuid.NewString(), "?before=nonsense"} {
		if got := b.get("/intakes/" + in.ID.String() + q); strings.Join(named(got), ",") != strings.Join(named(first), ",") {
			t.Errorf("the intake's page %s names %v; want the first page", q, named(got))
		}
	}
}
