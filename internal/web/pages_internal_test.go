package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// A decision's way back to its page of participants is built from what
// the form sent: only a journey's ID is taken from it, so a value made up
// to lead elsewhere (another site, a header of its own) leads to the
// intake's first page.
func TestTheWayBackToAPageIsOnlyEverThatPage(t *testing.T) {
	intake, journey := uuid.New(), uuid.New()
	first := "/intakes/" + intake.String()
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"after": {journey.String()}}, first + "?after=" + journey.String()},
		{url.Values{"before": {journey.String()}}, first + "?before=" + journey.String()},
		{url.Values{"after": {"//evil.example"}}, first},
		{url.Values{"before": {journey.String() + "\r\nSet-Cookie: x=y"}}, first},
		{url.Values{"after": {"https://evil.example/" + journey.String()}}, first},
		{url.Values{}, first},
		// A filter goes back with it, in a fixed order; a state that is none is dropped.
		{url.Values{"after": {journey.String()}, "state": {"in_labs"}, "authority": {"Cardiff"}, "overdue": {"1"}, "next": {"//evil.example"}},
			first + "?after=" + journey.String() + "&authority=Cardiff&overdue=1&state=in_labs"},
		{url.Values{"state": {"'; DROP TABLE journeys"}, "coach": {"nobody"}}, first},
		{url.Values{"theme": {"a b&c"}}, first + "?theme=a+b%26c"},
	} {
		if got := intakePageURL(intake, pageAsked(c.form.Get)); got != c.want {
			t.Errorf("form %v leads back to %q, want %q", c.form, got, c.want)
		}
	}
}

// A journey's items are named by the programme version it pinned, not the
// newest: here a version that renames the Adaption Lab and the coaching
// checkpoints, on each page that names items.
func TestPagesNameItemsByThePinnedProgramme(t *testing.T) {
	yaml, err := os.ReadFile("../programme/programmes/infuse-v1.yaml")
	if err != nil {
		t.Fatal(err)
	}
	renamed := strings.NewReplacer("en: Adaption Lab", "en: Adaptation Lab", "en: Coaching checkpoint", "en: Coaching check-in").Replace(string(yaml))
	pinned, err := programme.Parse([]byte(renamed))
	if err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	s := &server{pages: mustParsePages(), log: zap.NewNop()}
	for _, c := range []struct {
		name string
		page *page
	}{
		{"intake", &page{programme: pinned, Data: intakeData{
			IntakeDashboard: views.IntakeDashboard{Rows: []views.DashboardRow{{JourneyID: journey, NextDueItem: "checkpoint/1"}}},
			Sessions:        []sessionChoice{{ID: "adaption-lab/1"}}}}},
		{"inbox", &page{journeyProgrammes: map[uuid.UUID]*programme.Programme{journey: pinned}, Data: views.CoachInbox{
			Open:     []views.InboxItem{{JourneyID: journey, CheckpointID: "checkpoint/1"}},
			Journeys: []views.JourneySummary{{JourneyID: journey, NextDueItem: "adaption-lab/1"}}}}},
		{"journey", &page{programme: pinned, Data: journeyData{JourneyDetail: views.JourneyDetail{
			Timeline: []views.TimelineEntry{{Event: "attendance.recorded", Item: "adaption-lab/1"}, {Event: "checkpoint.completed", Item: "checkpoint/1"}}}}}},
	} {
		c.page.Lang = English
		rec := httptest.NewRecorder()
		s.render(rec, httptest.NewRequest("GET", "/", nil), http.StatusOK, c.name, c.page)
		body := rec.Body.String()
		if rec.Code != http.StatusOK {
			t.Fatalf("%s page: %d\n%s", c.name, rec.Code, body)
		}
		for _, want := range map[string][]string{"intake": {"Coaching check-in 1", "Adaptation Lab 1"}, "inbox": {"Coaching check-in 1", "Adaptation Lab 1"},
			"journey": {"Coaching check-in 1", "Adaptation Lab 1"}}[c.name] {
			if !strings.Contains(body, want) {
				t.Errorf("the %s page does not name %q as its programme does", c.name, want)
			}
		}
		if strings.Contains(body, "Adaption Lab") || strings.Contains(body, "Coaching checkpoint") {
			t.Errorf("the %s page names an item by the newest programme, not the pinned one", c.name)
		}
	}
}
