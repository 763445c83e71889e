package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/store"
)

// A coordinator exports a person's data and erases it from the pages:
// the export is the person's file, the erasure needs its box ticked, is
// refused for the coordinator themselves and while the person still has
// a journey running (saying what to do first), and leaves a person with
// no name or address whose journeys still count.
func TestACoordinatorExportsAndErasesFromThePages(t *testing.T) {
	s := newSite(t, siteOptions{})
	megan := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	coord := s.browser()
	coord.signIn(megan)
	aled := s.person(store.RoleParticipant, "Aled", "aled@example.org", store.LanguageWelsh)
	path := "/people/" + aled.ID.String()

	expect(t, "the people page links to the person", coord.get("/people"), http.StatusOK, `<a href="`+path+`">Aled Prosser</a>`)
	expect(t, "the person's page", coord.get(path), http.StatusOK, "<h1>Aled Prosser</h1>", "aled@example.org", `href="`+path+`/export"`)

	export := coord.get(path + "/export")
	var x privacy.PersonExport
	if err := json.Unmarshal([]byte(export.body), &x); err != nil || x.Person.Email != "aled@example.org" ||
		!strings.Contains(export.Header.Get("Content-Disposition"), "attachment") {
		t.Errorf("the export: %d %q, %v\n%s", export.StatusCode, export.Header.Get("Content-Disposition"), err, export.body)
	}

	// Only coordinators see and act on people.
	participant := s.browser()
	participant.signIn(s.person(store.RoleParticipant, "Owain", "owain@example.org", store.LanguageEnglish))
	for _, p := range []string{path, path + "/export"} {
		if a := participant.get(p); a.StatusCode != http.StatusForbidden {
			t.Errorf("a participant opening %s: %d, want 403", p, a.StatusCode)
		}
	}
	if a := participant.post(path+"/erase", url.Values{"csrf": {csrfOf(t, participant)}, "idempotency_key": {"p-1"}, "confirm": {"yes"}}); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant erasing: %d, want 403", a.StatusCode)
	}

	erase := path + "/erase"
	expect(t, "erasing without ticking the box", send(coord, path, erase, nil), http.StatusUnprocessableEntity,
		`<a href="#confirm">Tick the box to confirm</a>`)
	mine := "/people/" + megan.ID.String()
	expect(t, "erasing oneself", send(coord, mine, mine+"/erase", url.Values{"confirm": {"yes"}}), http.StatusConflict,
		"You cannot erase your own data while signed in")

	// A journey still running: the erasure is refused, saying what to do.
	journey := uuid.New()
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: megan.ID, OpensAt: time.Now(), ClosesAt: time.Now().Add(time.Hour), StartsOn: time.Now().Add(48 * time.Hour)}
	if err := s.st.CreateIntake(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	record := func(key string, state store.JourneySnapshot) {
		t.Helper()
		if _, err := s.st.Record(t.Context(), store.Event{Key: key, IntakeID: in.ID, JourneyID: journey, Type: "journey.test", Snapshot: &state}); err != nil {
			t.Fatal(err)
		}
	}
	record("j/1", store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: aled.ID, State: "in_labs"})
	expect(t, "erasing while a journey runs", send(coord, path, erase, url.Values{"confirm": {"yes"}}), http.StatusConflict,
		"withdraw or defer the participant")
	record("j/2", store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: aled.ID, State: "withdrawn", Outcome: "withdrawn"})

	after := follow(coord, send(coord, path, erase, url.Values{"confirm": {"yes"}}))
	expect(t, "erasing", after, http.StatusOK, "Their data is erased.", "Data erased")
	if strings.Contains(after.body, "aled@example.org") || strings.Contains(after.body, `action="`+erase+`"`) {
		t.Errorf("the erased person's page still shows their address or the form:\n%s", after.body)
	}
	if p, err := s.st.GetPerson(t.Context(), aled.ID); err != nil || p.ErasedAt.IsZero() || p.GivenName != "" || p.EmailAddress != "" {
		t.Errorf("stored after erasing: %+v, %v", p, err)
	}
}
