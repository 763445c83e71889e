package web_test

import (
	"html"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/internal/web"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// TestWorkflowCauseLoggedNotShown: a journey page whose workflow cannot be
// asked says so in the visitor's words; why it could not is logged, under
// the request's ID, and is not on the page.
func TestWorkflowCauseLoggedNotShown(t *testing.T) {
	core, logs := observer.New(zapcore.WarnLevel)
	s := newSite(t, siteOptions{log: zap.New(core), wrap: telemetry.WithCorrelationIDs}) // no Temporal client
	coord := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	part := s.person(store.RoleParticipant, "Aled", "aled@example.org", store.LanguageEnglish)
	in := store.Intake{ID: uuid.New(), Name: "Cohort A", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: coord.ID, Status: store.IntakeStarted, OpensAt: time.Now(), ClosesAt: time.Now(), StartsOn: time.Now()}
	if err := s.st.CreateIntake(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	journey := uuid.New()
	_, err := s.st.Record(t.Context(), store.Event{Key: "j/1", IntakeID: in.ID, JourneyID: journey, Type: "journey.started", OccurredAt: time.Now(),
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: part.ID, State: contract.StatusInLabs}})
	if err != nil {
		t.Fatal(err)
	}

	b := s.browser()
	b.signIn(coord)
	page := b.get("/journeys/" + journey.String())
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, html.EscapeString(web.English.T("journey.liveerror"))) {
		t.Fatalf("journey page: %d\n%s", page.StatusCode, page.body)
	}
	id := page.Header.Get(telemetry.CorrelationHeader)
	lines := logs.FilterField(zap.String("request_id", id)).FilterMessage("a journey's workflow could not be asked").All()
	if len(lines) != 1 || lines[0].ContextMap()["journey"] != journey.String() {
		t.Fatalf("log lines under request ID %q: %+v, want the journey's cause", id, logs.All())
	}
	if cause, _ := lines[0].ContextMap()["error"].(string); cause == "" || strings.Contains(page.body, cause) {
		t.Errorf("the page shows the logged cause %q", cause)
	}
}
