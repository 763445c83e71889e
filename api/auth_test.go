package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
)

// fixture is an API on a real SQLite store (no Temporal: these endpoints
// read the store only) with a coordinator's and a coach's token, and an
// intake with one journey.
type fixture struct {
	api                      http.Handler
	st                       store.Store
	coachID                  uuid.UUID
	router                   routers.Router
	intake                   uuid.UUID
	coordinator, coach, gone string // tokens; gone is revoked
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st := sqlitestore.OpenTest(t)
	coord := store.Person{ID: uuid.New(), Role: store.RoleCoordinator, GivenName: "Ceri", FamilyName: "Jones",
		EmailAddress: "ceri@example.org", LocalAuthority: "Cardiff", Language: store.LanguageWelsh}
	coach := store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Dai", FamilyName: "Evans",
		EmailAddress: "dai@example.org", LocalAuthority: "Newport", Language: store.LanguageEnglish}
	part := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Siân", FamilyName: "Llywelyn",
		EmailAddress: "sian@example.org", LocalAuthority: "Caerphilly", Theme: "decarbonisation", Language: store.LanguageWelsh}
	must(t, st.CreatePeople(ctx, []store.Person{coord, coach, part}))
	in := store.Intake{ID: uuid.New(), Name: "Cohort 1", ProgrammeID: "infuse", ProgrammeVersion: 1,
		OpensAt: time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC), ClosesAt: time.Date(2026, 9, 13, 23, 0, 0, 0, time.UTC),
		StartsOn: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), Capacity: 20, CoordinatorID: coord.ID, Status: store.IntakeOpen}
	must(t, st.CreateIntake(ctx, in))
	journey := uuid.New()
	_, err := st.Record(ctx, store.Event{Key: "j1-0", IntakeID: in.ID, JourneyID: journey, Type: "application.submitted",
		OccurredAt: time.Date(2026, 8, 2, 10, 0, 0, 0, time.UTC), Data: json.RawMessage(`{}`),
		Snapshot: &store.JourneySnapshot{JourneyID: journey, IntakeID: in.ID, PersonID: part.ID, CoachID: coach.ID, State: "submitted"}})
	must(t, err)

	f := &fixture{intake: in.ID, st: st, coachID: coach.ID}
	f.coordinator, _, err = st.CreateAPIToken(ctx, coord.ID, store.RoleCoordinator, "test coordinator")
	must(t, err)
	f.coach, _, err = st.CreateAPIToken(ctx, coach.ID, store.RoleCoach, "test coach")
	must(t, err)
	var gone store.APIToken
	f.gone, gone, err = st.CreateAPIToken(ctx, coord.ID, store.RoleCoordinator, "revoked")
	must(t, err)
	must(t, st.RevokeAPIToken(ctx, gone.ID))

	f.api = New(starter.New(nil, st), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	f.router = openAPIRouter(t, f.api)
	return f
}

// openAPIRouter loads the document the API serves and checks it is valid.
func openAPIRouter(t *testing.T, h http.Handler) routers.Router {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("loading /openapi.json: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://example.com"}} // httptest's host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// do sends a GET with token (none if "") and checks the response against
// the OpenAPI document.
func (f *fixture) do(t *testing.T, path, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	f.api.ServeHTTP(rec, req)
	f.validate(t, req, rec)
	return rec
}

func (f *fixture) validate(t *testing.T, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := f.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in /openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match /openapi.json: %v\nbody: %s", req.Method, req.URL.Path, rec.Code, err, rec.Body)
	}
}

// TestAuthorisationMatrix: every endpoint × {no token, unknown token,
// revoked token, coach, coordinator}, each response as documented.
func TestAuthorisationMatrix(t *testing.T) {
	f := newFixture(t)
	endpoints := []string{
		"/api/intakes",
		"/api/intakes/" + f.intake.String() + "/dashboard",
		"/api/intakes/" + uuid.NewString() + "/dashboard",
		"/api/intakes/not-a-uuid/dashboard",
	}
	wantCoordinator := []int{http.StatusOK, http.StatusOK, http.StatusNotFound, http.StatusBadRequest}
	for i, path := range endpoints {
		for _, c := range []struct {
			who, token string
			want       int
		}{
			{"no token", "", http.StatusUnauthorized},
			{"unknown token", "bm90LWEtdG9rZW4", http.StatusUnauthorized},
			{"revoked token", f.gone, http.StatusUnauthorized},
			{"coach", f.coach, http.StatusForbidden},
			{"coordinator", f.coordinator, wantCoordinator[i]},
		} {
			t.Run(fmt.Sprintf("%s/%s", path, c.who), func(t *testing.T) {
				rec := f.do(t, path, c.token)
				if rec.Code != c.want {
					t.Fatalf("status %d, want %d; body %s", rec.Code, c.want, rec.Body)
				}
				if c.want >= 400 {
					checkProblem(t, rec, c.want)
				}
				if c.want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
				}
			})
		}
	}
}

// TestOpenAPIIsPublic: the document needs no token.
func TestOpenAPIIsPublic(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "bm90LWEtdG9rZW4", f.coach, f.coordinator} {
		if rec := f.do(t, "/openapi.json", token); rec.Code != http.StatusOK {
			t.Errorf("GET /openapi.json with token %q: %d", token, rec.Code)
		}
	}
}

func checkProblem(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
		t.Errorf("Content-Type %q, want %s", ct, problemContentType)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Type == "" || len(p.Detail) < 20 {
		t.Errorf("problem %+v for status %d", p, status)
	}
}

// TestCoordinatorViews: the bodies are the starter's views.
func TestCoordinatorViews(t *testing.T) {
	f := newFixture(t)
	var list []starter.IntakeSummary
	decode(t, f.do(t, "/api/intakes", f.coordinator), &list)
	if len(list) != 1 || list[0].ID != f.intake || list[0].Applications != 1 || list[0].Counts["submitted"] != 1 {
		t.Errorf("intakes = %+v", list)
	}
	var d starter.IntakeDashboard
	decode(t, f.do(t, "/api/intakes/"+f.intake.String()+"/dashboard", f.coordinator), &d)
	if d.Intake.ID != f.intake || d.Coordinator.Name != "Ceri Jones" || len(d.Rows) != 1 ||
		d.Rows[0].Name != "Siân Llywelyn" || d.Rows[0].CoachName != "Dai Evans" || d.ByLocalAuthority["Caerphilly"] != 1 {
		t.Errorf("dashboard = %+v", d)
	}
	// The problem for an unknown intake says what to do.
	rec := f.do(t, "/api/intakes/"+uuid.NewString()+"/dashboard", f.coordinator)
	if !strings.Contains(rec.Body.String(), "GET /api/intakes") {
		t.Errorf("404 detail does not point at the list: %s", rec.Body)
	}
}

// TestPrincipalInContext: the handler behind the middleware sees the
// token's person and role.
func TestPrincipalInContext(t *testing.T) {
	f := newFixture(t)
	var got Principal
	var ok bool
	h := &handler{svc: starter.New(nil, f.st), log: zap.NewNop()}
	probe := h.requireRole(func(_ http.ResponseWriter, r *http.Request) { got, ok = PrincipalFrom(r.Context()) },
		store.RoleCoach, store.RoleCoordinator)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "bearer "+f.coach) // the scheme is case-insensitive
	probe.ServeHTTP(httptest.NewRecorder(), req)
	if !ok || got.PersonID != f.coachID || got.Role != store.RoleCoach || got.TokenID == uuid.Nil {
		t.Errorf("principal = %+v, %v; want the coach %s", got, ok, f.coachID)
	}
}

// TestDecodeJSON: the body helper limits size and refuses unknown fields,
// wrong types and bad syntax, each with a problem response.
func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	for _, c := range []struct {
		body, ct string
		want     int
	}{
		{`{"name":"a","n":1}`, "application/json", 0},
		{`{"name":"` + strings.Repeat("a", 200) + `"}`, "application/json", http.StatusRequestEntityTooLarge},
		{`{"name":"a","extra":1}`, "application/json", http.StatusBadRequest},
		{`{"n":"one"}`, "application/json", http.StatusBadRequest},
		{`{"name":`, "application/json", http.StatusBadRequest},
		{``, "application/json", http.StatusBadRequest},
		{`{} {}`, "application/json", http.StatusBadRequest},
		{`name=a`, "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
	} {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
		req.Header.Set("Content-Type", c.ct)
		rec := httptest.NewRecorder()
		var b body
		ok := decodeJSON(rec, req, &b, 100)
		if c.want == 0 {
			if !ok || b.Name != "a" || b.N != 1 {
				t.Errorf("%q: ok=%v %+v", c.body, ok, b)
			}
			continue
		}
		if ok || rec.Code != c.want {
			t.Errorf("%q: ok=%v status %d, want %d", c.body, ok, rec.Code, c.want)
			continue
		}
		checkProblem(t, rec, c.want)
	}
}

func decode(t *testing.T, rec *httptest.ResponseRecorder, v any) {
	t.Helper()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
