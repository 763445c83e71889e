package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/internal/testenv"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
	"github.com/infuse-cymru/journeys/workflows"
)

// coachFixture is the API over a real SQLite store and a real in-process
// Temporal server and worker, with an intake started (its programme three
// days away) holding two accepted journeys, each with its own coach.
type coachFixture struct {
	fixture
	journey, otherJourney uuid.UUID
	participant           string // a participant's token
}

func newCoachFixture(t *testing.T) *coachFixture {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	svc := starter.New(testenv.Start(t, st).GetDefaultClient(), st)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	coord, coach, otherCoach, part, otherPart := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	must(t, st.CreatePeople(ctx, []store.Person{
		{ID: coord, Role: store.RoleCoordinator, GivenName: "Megan", FamilyName: "Howells", EmailAddress: "megan@example.org"},
		{ID: coach, Role: store.RoleCoach, GivenName: "Nia", FamilyName: "Parry", EmailAddress: "nia@example.org"},
		{ID: otherCoach, Role: store.RoleCoach, GivenName: "Rhys", FamilyName: "Owen", EmailAddress: "rhys@example.org"},
		{ID: part, Role: store.RoleParticipant, GivenName: "Aled", FamilyName: "Powell", EmailAddress: "aled@example.org",
			LocalAuthority: "Newport", Theme: "communities"},
		{ID: otherPart, Role: store.RoleParticipant, GivenName: "Elin", FamilyName: "Hughes", EmailAddress: "elin@example.org",
			LocalAuthority: "Cardiff", Theme: "communities"},
	}))
	now := time.Now()
	in, err := svc.CreateIntake(ctx, starter.IntakeSpec{
		Name: "Cohort API", CoordinatorID: coord, Capacity: 20,
		OpensAt: now.Add(-time.Hour), ClosesAt: now.Add(24 * time.Hour), StartsOn: now.Add(72 * time.Hour),
	})
	must(t, err)
	accepted := func(person, coachID uuid.UUID) uuid.UUID {
		t.Helper()
		var journey uuid.UUID
		deadline := time.Now().Add(20 * time.Second)
		for journey == uuid.Nil {
			// The intake opens a moment after its workflow starts.
			journey, err = svc.Apply(ctx, in.ID, person, coachID)
			if err != nil && (!errors.Is(err, starter.ErrRejected) || time.Now().After(deadline)) {
				t.Fatal(err)
			}
		}
		_, err = svc.Decide(ctx, in.ID, journey, workflows.DecisionOffer)
		must(t, err)
		_, err = svc.RespondToOffer(ctx, journey, true)
		must(t, err)
		return journey
	}
	f := &coachFixture{journey: accepted(part, coach), otherJourney: accepted(otherPart, otherCoach)}
	_, err = svc.StartIntake(ctx, in.ID)
	must(t, err)
	// The handler checks the coach against the store's projection.
	for _, j := range []uuid.UUID{f.journey, f.otherJourney} {
		for {
			snap, err := st.GetJourney(ctx, j)
			if err == nil && snap.CoachID != uuid.Nil {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("journey %s never projected with its coach: %v", j, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	f.st, f.coachID, f.intake = st, coach, in.ID
	f.coach, _, err = st.CreateAPIToken(ctx, coach, store.RoleCoach, "test coach")
	must(t, err)
	f.coordinator, _, err = st.CreateAPIToken(ctx, coord, store.RoleCoordinator, "test coordinator")
	must(t, err)
	f.participant, _, err = st.CreateAPIToken(ctx, part, store.RoleParticipant, "test participant")
	must(t, err)
	f.api = New(svc, zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	f.router = openAPIRouter(t, f.api)
	return f
}

// post sends a POST with token, Idempotency-Key key (none if "") and
// body, and checks the response against the OpenAPI document.
func (f *fixture) post(t *testing.T, path, token, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	f.validate(t, req, rec)
	return rec
}

// TestCompleteCheckpoint: what a coach can reach in real time, before the
// programme's first checkpoint opens. Every answer is a documented problem.
func TestCompleteCheckpoint(t *testing.T) {
	f := newCoachFixture(t)
	path := func(j uuid.UUID, n string) string {
		return "/api/journeys/" + j.String() + "/checkpoints/" + n + "/complete"
	}
	good := `{"notes":"Going well.","status":"green"}`
	for _, c := range []struct {
		name, path, token, key, body string
		want                         int
		detail                       string
	}{
		{"not open yet", path(f.journey, "1"), f.coach, "req-1", good, http.StatusConflict, "not open"},
		{"replayed, still not open", path(f.journey, "1"), f.coach, "req-1", good, http.StatusConflict, "not open"},
		{"another coach's journey", path(f.otherJourney, "1"), f.coach, "req-2", good, http.StatusNotFound, "You coach no journey"},
		{"no such journey", path(uuid.New(), "1"), f.coach, "req-3", good, http.StatusNotFound, "You coach no journey"},
		{"participant", path(f.journey, "1"), f.participant, "req-4", good, http.StatusForbidden, "coaches"},
		{"coordinator", path(f.journey, "1"), f.coordinator, "req-5", good, http.StatusForbidden, "coaches"},
		{"no token", path(f.journey, "1"), "", "req-6", good, http.StatusUnauthorized, "API token"},
		{"no Idempotency-Key", path(f.journey, "1"), f.coach, "", good, http.StatusBadRequest, "Idempotency-Key"},
		{"malformed JSON", path(f.journey, "1"), f.coach, "req-7", `{"notes":}`, http.StatusBadRequest, "not valid JSON"},
		{"unknown field", path(f.journey, "1"), f.coach, "req-8", `{"notes":"x","status":"green","coach":"` + uuid.NewString() + `"}`,
			http.StatusBadRequest, "does not take"},
		{"bad status", path(f.journey, "1"), f.coach, "req-9", `{"notes":"Going well.","status":"purple"}`, http.StatusUnprocessableEntity, "purple"},
		{"no notes", path(f.journey, "1"), f.coach, "req-10", `{"notes":"  ","status":"red"}`, http.StatusUnprocessableEntity, "notes"},
		{"bad journey ID", "/api/journeys/nope/checkpoints/1/complete", f.coach, "req-11", good, http.StatusBadRequest, "journey ID"},
		{"bad checkpoint number", path(f.journey, "0"), f.coach, "req-13", good, http.StatusBadRequest, "checkpoint number"},
		{"too large", path(f.journey, "1"), f.coach, "req-12", `{"notes":"` + strings.Repeat("a", maxBodyBytes) + `","status":"green"}`,
			http.StatusRequestEntityTooLarge, "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := f.post(t, c.path, c.token, c.key, c.body)
			if rec.Code != c.want {
				t.Fatalf("status %d, want %d; body %s", rec.Code, c.want, rec.Body)
			}
			checkProblem(t, rec, c.want)
			if !strings.Contains(rec.Body.String(), c.detail) {
				t.Errorf("detail does not mention %q: %s", c.detail, rec.Body)
			}
		})
	}
	// The refused completion left no notes behind.
	if _, err := f.st.GetNote(t.Context(), uuid.NewSHA1(f.journey, []byte("req-1"))); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused request's note is still in the store (%v)", err)
	}
}
