package web_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// The coordinator's start page says what needs them: nothing at first,
// then a journey under way without a coach, leading to the journey's
// coach form. (What the lists hold is views' TestAttentionListsWhatNeedsACoordinator.)
func TestTheCoordinatorsStartPageSaysWhatNeedsThem(t *testing.T) {
	s := newSite(t, siteOptions{})
	megan := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	coord := s.browser()
	coord.signIn(megan)
	expect(t, "nothing to do", coord.get("/"), http.StatusOK, "<h2 id=\"attention\">Needs your attention</h2>", "Nothing needs your attention just now.")

	aled := s.person(store.RoleParticipant, "Aled", "aled@example.org", store.LanguageEnglish)
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: megan.ID, OpensAt: time.Now(), ClosesAt: time.Now().Add(time.Hour), StartsOn: time.Now().Add(48 * time.Hour)}
	if err := s.st.CreateIntake(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	if _, err := s.st.Record(t.Context(), store.Event{Key: "j/1", IntakeID: in.ID, JourneyID: journey, Type: "journey.test",
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: aled.ID, State: contract.StatusInLabs}}); err != nil {
		t.Fatal(err)
	}
	expect(t, "a journey without a coach", coord.get("/"), http.StatusOK, "<caption>Journeys without a coach</caption>",
		`<a href="/journeys/`+journey.String()+`#coach-title">Aled Prosser</a>`)
}
