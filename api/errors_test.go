package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// TestWorkflowErrorsStayInTheLog: when a journey's workflow cannot be
// asked, the journey view and the coach's inbox say so in the same words
// whatever the cause, and the cause is logged under the answer's request
// ID, not sent to the caller.
func TestWorkflowErrorsStayInTheLog(t *testing.T) {
	st := sqlitestore.OpenTest(t)
	core, logs := observer.New(zap.WarnLevel)
	// No Temporal client: every question to a workflow fails, with a
	// cause the caller must not see.
	a := newClient(t, New(app.New(nil, st), Options{Logger: zap.New(core)}))
	ctx := context.Background()
	coord, coach, part := uuid.New(), uuid.New(), uuid.New()
	must(t, st.CreatePeople(ctx, []store.Person{
		{ID: coord, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: part, Role: store.RoleParticipant, GivenName: "Aled", FamilyName: "Powell", EmailAddress: "aled@example.org",
			LocalAuthority: "Newport", Theme: "communities"},
	}))
	in := store.Intake{ID: uuid.New(), Name: "Cohort A", ProgrammeID: "infuse", ProgrammeVersion: 1, Capacity: 20,
		CoordinatorID: coord, Status: store.IntakeStarted, OpensAt: time.Now(), ClosesAt: time.Now(), StartsOn: time.Now()}
	must(t, st.CreateIntake(ctx, in))
	// Recorded as before snapshots carried checkpoints: the inbox must ask
	// the journey's workflow for them.
	journey := uuid.New()
	_, err := st.Record(ctx, store.Event{Key: "j/1", IntakeID: in.ID, JourneyID: journey, Type: "journey.started", OccurredAt: time.Now(),
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: part, CoachID: coach, State: contract.StatusInLabs}})
	must(t, err)
	tokenOf := func(id uuid.UUID, role store.Role) string {
		tok, _, err := st.CreateAPIToken(ctx, store.APIToken{PersonID: id, Role: role, Name: "test"})
		must(t, err)
		return tok
	}

	rec := a.do(t, call{method: "GET", path: "/api/journeys/" + journey.String(), token: tokenOf(coord, store.RoleCoordinator)})
	var d struct{ LiveError string }
	decode(t, rec, http.StatusOK, &d)
	if d.LiveError != views.WorkflowUnavailable {
		t.Errorf("LiveError = %q, want %q", d.LiveError, views.WorkflowUnavailable)
	}
	logged(t, logs, rec, journey)

	rec = a.do(t, call{method: "GET", path: "/api/coach/inbox", token: tokenOf(coach, store.RoleCoach)})
	var inbox views.CoachInbox
	decode(t, rec, http.StatusOK, &inbox)
	if len(inbox.Unavailable) != 1 || inbox.Unavailable[0].Reason != views.WorkflowUnavailable {
		t.Errorf("inbox unavailable = %+v, want the journey with %q", inbox.Unavailable, views.WorkflowUnavailable)
	}
	logged(t, logs, rec, journey)

	// A server error names the request ID to quote, and only the log says
	// what failed.
	coordToken := tokenOf(coord, store.RoleCoordinator)
	st.Close()
	rec = a.do(t, call{method: "GET", path: "/api/me", token: coordToken})
	p := checkProblem(t, rec, http.StatusInternalServerError)
	id := rec.Header().Get(telemetry.CorrelationHeader)
	if id == "" || !strings.Contains(p.Detail, "request ID "+id) {
		t.Errorf("500 detail %q, want it to name the request ID %q", p.Detail, id)
	}
	failed := logs.FilterField(zap.String("request_id", id)).FilterMessage("request failed").All()
	if len(failed) != 1 || failed[0].ContextMap()["error"] == "" {
		t.Errorf("log lines under request ID %s: %v, want the failure with its error", id, failed)
	}
}

// logged checks that the log holds, under rec's request ID, why journey's
// workflow could not be asked, and that rec's body does not.
func logged(t *testing.T, logs *observer.ObservedLogs, rec *httptest.ResponseRecorder, journey uuid.UUID) {
	t.Helper()
	id := rec.Header().Get(telemetry.CorrelationHeader)
	if id == "" {
		t.Fatalf("the answer has no %s", telemetry.CorrelationHeader)
	}
	var cause string
	for _, e := range logs.FilterField(zap.String("request_id", id)).All() {
		fields := e.ContextMap()
		if fields["journey"] == journey.String() {
			cause, _ = fields["error"].(string)
		}
	}
	if cause == "" {
		t.Fatalf("no log line under request ID %s says why journey %s's workflow could not be asked; logged: %v", id, journey, logs.All())
	}
	if strings.Contains(rec.Body.String(), cause) {
		t.Errorf("the answer carries the logged cause %q: %s", cause, rec.Body)
	}
}
