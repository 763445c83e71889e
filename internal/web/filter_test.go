package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The intake page's participants can be narrowed by state, authority,
// theme, coach and overdue, with no script: the filter is the address,
// shown chosen in its form, carried by the decision forms back to the same
// list, and a filter that matches nobody says so.
func TestTheIntakePageFiltersItsParticipants(t *testing.T) {
	s := newSite(t, siteOptions{})
	megan := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	coord := s.browser()
	coord.signIn(megan)
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20, Status: store.IntakeOpen,
		CoordinatorID: megan.ID, OpensAt: time.Now(), ClosesAt: time.Now().Add(time.Hour), StartsOn: time.Now().Add(48 * time.Hour)}
	if err := s.st.CreateIntake(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	for i, p := range []struct {
		name, authority string
		state           contract.Status
	}{{"Aled", "Cardiff", contract.StatusSubmitted}, {"Bethan", "Newport", contract.StatusSubmitted}, {"Cai", "Cardiff", contract.StatusOffered}} {
		person := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: p.name, FamilyName: "Prosser",
			EmailAddress: strings.ToLower(p.name) + "@example.org", LocalAuthority: p.authority, Theme: "communities"}
		if err := s.st.CreatePeople(t.Context(), []store.Person{person}); err != nil {
			t.Fatal(err)
		}
		journey := uuid.New()
		if _, err := s.st.Record(t.Context(), store.Event{Key: fmt.Sprintf("j/%d", i), IntakeID: in.ID, JourneyID: journey, Type: "journey.test",
			Snapshot: &store.JourneySnapshot{JourneyID: journey, PersonID: person.ID, IntakeID: in.ID, State: p.state}}); err != nil {
			t.Fatal(err)
		}
	}
	path := "/intakes/" + in.ID.String()
	everyone := coord.get(path)
	expect(t, "the whole list", everyone, http.StatusOK, "Aled Prosser", "Bethan Prosser", "Cai Prosser", `<select id="filter-authority" name="authority">`)
	if strings.Contains(everyone.body, "Show every journey") {
		t.Error("the whole list offers to show every journey")
	}

	submitted := coord.get(path + "?state=submitted&authority=Cardiff")
	expect(t, "submitted in Cardiff", submitted, http.StatusOK, "Aled Prosser", `<option value="submitted" selected>`,
		`<option value="Cardiff" selected>`, "Show every journey", `<input type="hidden" name="authority" value="Cardiff">`,
		`<input type="hidden" name="state" value="submitted">`)
	for _, other := range []string{"Bethan Prosser", "Cai Prosser"} {
		if strings.Contains(submitted.body, other) {
			t.Errorf("the list of those submitted in Cardiff has %s", other)
		}
	}
	expect(t, "a filter that matches nobody", coord.get(path+"?state=completed"), http.StatusOK, "No journey matches.")
}
