package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// fixture is the API on a real SQLite store without Temporal (these
// endpoints read the store only), with a coordinator's and a coach's
// token and an intake with one journey.
type fixture struct {
	*apiClient
	st                 store.Store
	coachID            uuid.UUID
	intake             uuid.UUID
	coordinator, coach string // tokens
	coordinatorSession string
	coordinatorCSRF    string
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
	f.coordinator, _, err = st.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "test coordinator"})
	must(t, err)
	f.coach, _, err = st.CreateAPIToken(ctx, store.APIToken{PersonID: coach.ID, Role: store.RoleCoach, Name: "test coach"})
	must(t, err)
	f.coordinatorSession, _, err = st.CreateWebSession(ctx, coord.ID, time.Now(), time.Now().Add(time.Hour))
	must(t, err)
	req := httptest.NewRequest("GET", "/", nil)
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: f.coordinatorSession})
	p, err := (&auth.Authenticator{Store: st}).Identify(req)
	must(t, err)
	f.coordinatorCSRF = p.CSRFToken()
	f.apiClient = newClient(t, New(app.New(nil, st), Options{Logger: zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel))}))
	return f
}

// TestOpenAPIIsPublic: the document needs no credentials, and a bad
// token does not stand in its way.
func TestOpenAPIIsPublic(t *testing.T) {
	f := newFixture(t)
	for _, token := range []string{"", "bm90LWEtdG9rZW4", f.coach, f.coordinator} {
		if rec := f.do(t, call{method: "GET", path: "/openapi.json", token: token}); rec.Code != http.StatusOK {
			t.Errorf("GET /openapi.json with token %q: %d", token, rec.Code)
		}
	}
}

// TestUnreachedSuccesses: the check of the whole run (everySuccessReached)
// names each route whose success status no request got, and only those.
func TestUnreachedSuccesses(t *testing.T) {
	routes := []route{
		{pattern: "GET /a", op: op{id: "a"}},
		{pattern: "POST /b", op: op{id: "b", status: http.StatusCreated}},
		{pattern: "POST /c", op: op{id: "c"}},
	}
	got := map[string]bool{"a 200": true, "b 200": true, "c 200": true, "c 409": true}
	missing := unreachedSuccesses(routes, func(a string) bool { return got[a] })
	if len(missing) != 1 || !strings.HasPrefix(missing[0], "POST /b (b 201)") {
		t.Errorf("unreachedSuccesses = %q, want POST /b's 201 alone", missing)
	}
}

// TestEveryChangeTakesAnIdempotencyKey: each route that changes things
// has the Idempotency-Key header in its operation.
func TestEveryChangeTakesAnIdempotencyKey(t *testing.T) {
	f := newFixture(t)
	for _, rt := range (&handler{}).routes() {
		method, path, _ := strings.Cut(rt.pattern, " ")
		path = strings.NewReplacer("{id}", uuid.NewString(), "{task}", "plan", "{n}", "1").Replace(path)
		req := httptest.NewRequest(method, "http://example.com"+path, nil)
		route, _, err := f.router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s is not in /openapi.json: %v", rt.pattern, err)
		}
		if rt.access.changes && route.Operation.Parameters.GetByInAndName("header", "Idempotency-Key") == nil {
			t.Errorf("%s changes things but its operation has no Idempotency-Key", rt.pattern)
		}
	}
}

// TestCoordinatorViews: the bodies are the application's views.
func TestCoordinatorViews(t *testing.T) {
	f := newFixture(t)
	var list []wire.IntakeSummary
	decode(t, f.do(t, call{method: "GET", path: "/api/intakes", token: f.coordinator}), 200, &list)
	if len(list) != 1 || list[0].ID != f.intake || list[0].Applications != 1 || list[0].Counts["submitted"] != 1 {
		t.Errorf("intakes = %+v", list)
	}
	var d wire.IntakeDashboard
	decode(t, f.do(t, call{method: "GET", path: "/api/intakes/" + f.intake.String() + "/dashboard", session: f.coordinatorSession}), 200, &d)
	if d.Intake.ID != f.intake || d.Coordinator.Name != "Ceri Jones" || len(d.Rows) != 1 ||
		d.Rows[0].Name != "Siân Llywelyn" || d.Rows[0].CoachName != "Dai Evans" || d.ByLocalAuthority["Caerphilly"] != 1 {
		t.Errorf("dashboard = %+v", d)
	}
	// A page is named by the journey it follows; one named by a journey not
	// on this intake is refused, rather than looking like the end.
	dashboard := "/api/intakes/" + f.intake.String() + "/dashboard"
	var after wire.IntakeDashboard
	decode(t, f.do(t, call{method: "GET", path: dashboard + "?limit=1&after=" + d.Rows[0].JourneyID.String(), token: f.coordinator}), 200, &after)
	if after.Total != 1 || len(after.Rows) != 0 || after.Next != uuid.Nil || d.Total != 1 || d.Next != uuid.Nil || d.Previous != uuid.Nil {
		t.Errorf("the page after the only journey = %+v; the first = %+v", after, d)
	}
	if p := checkProblem(t, f.do(t, call{method: "GET", path: dashboard + "?after=" + uuid.NewString(), token: f.coordinator}), 422); !strings.Contains(p.Detail, "first page") {
		t.Errorf("a page after another intake's journey: %q", p.Detail)
	}
	// The problem for an unknown intake says what to do.
	rec := f.do(t, call{method: "GET", path: "/api/intakes/" + uuid.NewString() + "/dashboard", token: f.coordinator})
	checkProblem(t, rec, 404)
	if !strings.Contains(rec.Body.String(), "infuse intake list") {
		t.Errorf("404 detail does not point at the list: %s", rec.Body)
	}
	var open []wire.Intake
	decode(t, f.do(t, call{method: "GET", path: "/api/intakes/open", token: f.coach}), 200, &open)
	if len(open) != 1 || open[0].ID != f.intake {
		t.Errorf("open intakes = %+v", open)
	}
}

// TestBadTokenBeatsCookie: a wrong token is refused even with a good
// session cookie, so a system learns its token is wrong.
func TestBadTokenBeatsCookie(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, call{method: "GET", path: "/api/intakes", token: "bm90LWEtdG9rZW4", session: f.coordinatorSession})
	checkProblem(t, rec, 401)
	if !strings.Contains(rec.Header().Get("WWW-Authenticate"), "invalid_token") {
		t.Errorf("WWW-Authenticate: %q", rec.Header().Get("WWW-Authenticate"))
	}
}

// TestUnknownAPIPath: a path under /api/ that is no endpoint is a problem
// pointing at the document.
func TestUnknownAPIPath(t *testing.T) {
	f := newFixture(t)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/nothing", nil))
	checkProblem(t, rec, 404)
	if !strings.Contains(rec.Body.String(), "/openapi.json") {
		t.Errorf("detail: %s", rec.Body)
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
		{`{"name":"a","n":1}`, "application/json; charset=utf-8", 0},
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
