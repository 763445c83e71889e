package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// probe is the request the matrix sends to one endpoint and what each
// role allowed to call it gets: valid reads, and deliberately invalid
// changes (refused before anything is done), so the matrix changes nothing.
type probe struct {
	body, contentType string
	want              map[store.Role]int
}

func all(status int) map[store.Role]int {
	return map[store.Role]int{store.RoleCoordinator: status, store.RoleCoach: status, store.RoleParticipant: status}
}
func only(role store.Role, status int) map[store.Role]int { return map[store.Role]int{role: status} }

// probes has an entry for every pattern of routes(); the matrix fails for
// a route without one, so a new endpoint cannot be left out.
func (w *world) probes() map[string]probe {
	return map[string]probe{
		"GET /api/intakes":                  {want: only(coordinator, 200)},
		"POST /api/intakes":                 {body: `{}`, want: only(coordinator, 422)},
		"GET /api/intakes/open":             {want: all(200)},
		"PATCH /api/intakes/{id}":           {body: `{}`, want: only(coordinator, 422)},
		"GET /api/intakes/{id}/dashboard":   {want: only(coordinator, 200)},
		"POST /api/intakes/{id}/start":      {body: `{"now":true}`, want: only(coordinator, 400)},
		"POST /api/intakes/{id}/reschedule": {body: `{"session":"","startsAt":""}`, want: only(coordinator, 422)},
		// Both participants applied already (and the intake has started).
		"POST /api/intakes/{id}/applications":              {body: `{}`, want: map[store.Role]int{coordinator: 422, participant: 409}},
		"GET /api/intakes/{id}/outcomes.csv":               {want: only(coordinator, 200)},
		"GET /api/reports/authorities":                     {want: only(coordinator, 200)},
		"GET /api/reports/themes":                          {want: only(coordinator, 200)},
		"POST /api/people/import":                          {body: "given_name\nNobody\n", contentType: "text/csv", want: only(coordinator, 422)},
		"GET /api/people/{id}/export":                      {want: only(coordinator, 200)},
		"POST /api/people/{id}/erase":                      {body: `[]`, want: only(coordinator, 400)},
		"GET /api/me":                                      {want: all(200)},
		"PUT /api/me/language":                             {body: `{"language":"fr"}`, want: all(422)},
		"GET /api/me/journeys":                             {want: map[store.Role]int{coach: 200, participant: 200}},
		"GET /api/journeys/{id}":                           {want: all(200)},
		"GET /api/journeys/{id}/calendar.ics":              {want: all(200)},
		"POST /api/journeys/{id}/decision":                 {body: `{"decision":"maybe"}`, want: only(coordinator, 422)},
		"POST /api/journeys/{id}/offer":                    {body: `{}`, want: only(participant, 422)},
		"POST /api/journeys/{id}/coach":                    {body: `{"coachId":"nobody"}`, want: only(coordinator, 400)},
		"POST /api/journeys/{id}/attendance":               {body: `{"session":"adaption-lab/1"}`, want: only(coordinator, 422)},
		"POST /api/journeys/{id}/withdraw":                 {body: `{"reason":"bored"}`, want: only(coordinator, 422)},
		"POST /api/journeys/{id}/defer":                    {body: fmt.Sprintf(`{"intakeId":%q}`, uuid.New()), want: only(coordinator, 404)},
		"POST /api/journeys/{id}/pause":                    {body: `[]`, want: only(coordinator, 400)},
		"POST /api/journeys/{id}/resume":                   {body: `[]`, want: only(coordinator, 400)},
		"POST /api/journeys/{id}/tasks/{task}/submit":      {body: `{"text":"  "}`, want: only(participant, 422)},
		"POST /api/journeys/{id}/checkpoints/{n}/complete": {body: `{"notes":"Fine.","status":"purple"}`, want: only(coach, 422)},
		"GET /api/coach/inbox":                             {want: only(coach, 200)},
	}
}

// path fills in a route pattern's wildcards: intake A, the participant's
// journey (coached by coach), the person to erase.
func (w *world) path(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	r := strings.NewReplacer("/api/intakes/{id}", "/api/intakes/"+w.intakeA.String(),
		"/api/journeys/{id}", "/api/journeys/"+w.journey.String(),
		"/api/people/{id}", "/api/people/"+w.eraseMe.id.String(), "{task}", "plan", "{n}", "1")
	return method, r.Replace(path)
}

// testMatrix: every route × every kind of caller. 401 without usable
// credentials, 403 for a role the route is not for and for a browser
// session's change without its CSRF token, 404 for a journey the caller
// may not see, and each allowed caller's exact answer. Nothing changes.
func (w *world) testMatrix(t *testing.T) {
	before := map[uuid.UUID]record{w.journey: w.record(t, w.journey), w.otherJourney: w.record(t, w.otherJourney)}
	// The erase probe must leave its person as they were. Erasure keeps the
	// row and blanks it, so the person's being found proves nothing: compare.
	eraseMe, err := w.st.GetPerson(t.Context(), w.eraseMe.id)
	must(t, err)
	if !eraseMe.ErasedAt.IsZero() || eraseMe.GivenName == "" {
		t.Fatalf("the person for the erase probe is erased before the matrix: %+v", eraseMe)
	}
	gone, tok, err := w.st.CreateAPIToken(t.Context(), store.APIToken{PersonID: w.coordinator.id, Role: store.RoleCoordinator, Name: "revoked"})
	must(t, err)
	must(t, w.st.RevokeAPIToken(t.Context(), tok.ID))
	expired, _, err := w.st.CreateWebSession(t.Context(), w.coordinator.id, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	must(t, err)

	probes := w.probes()
	routes := (&handler{}).routes()
	if len(probes) != len(routes) {
		t.Errorf("%d probes for %d routes", len(probes), len(routes))
	}
	callers := []struct {
		who
		role store.Role
		// sees is whether this caller may see the participant's journey.
		sees bool
	}{
		{w.coordinator, coordinator, true},
		{w.coach, coach, true}, {w.otherCoach, coach, false},
		{w.participant, participant, true}, {w.otherParticipant, participant, false},
	}
	for _, rt := range routes {
		pr, ok := probes[rt.pattern]
		if !ok {
			t.Errorf("route %s has no probe in the matrix: add one", rt.pattern)
			continue
		}
		method, path := w.path(rt.pattern)
		journeyRoute := strings.HasPrefix(path, "/api/journeys/")
		send := func(t *testing.T, c call, want int) {
			t.Helper()
			c.method, c.path, c.body, c.contentType = method, path, pr.body, pr.contentType
			if rt.access.changes {
				c.key = uuid.NewString()
			}
			rec := w.do(t, c)
			if rec.Code != want {
				t.Errorf("status %d, want %d; body %s", rec.Code, want, rec.Body)
			}
			if want >= 400 {
				checkProblem(t, rec, want)
			}
			if want == http.StatusUnauthorized && !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %q", rec.Header().Get("WWW-Authenticate"))
			}
		}
		t.Run(rt.pattern, func(t *testing.T) {
			t.Run("no credentials", func(t *testing.T) { send(t, call{}, 401) })
			t.Run("unknown token", func(t *testing.T) { send(t, call{token: "bm90LWEtdG9rZW4"}, 401) })
			t.Run("not a bearer token", func(t *testing.T) { send(t, call{raw: "Basic bWVnYW46c2VjcmV0"}, 401) })
			t.Run("revoked token", func(t *testing.T) { send(t, call{token: gone}, 401) })
			t.Run("expired session", func(t *testing.T) { send(t, call{session: expired, csrf: "x"}, 401) })
			for _, c := range callers {
				want, allowed := pr.want[c.role]
				switch {
				case !allowed:
					want = http.StatusForbidden
				case journeyRoute && !c.sees:
					want = http.StatusNotFound
				}
				t.Run(c.name+" token", func(t *testing.T) { send(t, call{token: c.token}, want) })
				t.Run(c.name+" session", func(t *testing.T) { send(t, call{session: c.session, csrf: c.csrf}, want) })
				if rt.access.changes && allowed {
					t.Run(c.name+" session without CSRF", func(t *testing.T) { send(t, call{session: c.session}, 403) })
					t.Run(c.name+" session with another's CSRF", func(t *testing.T) {
						send(t, call{session: c.session, csrf: w.coordinator.csrf + w.coach.csrf}, 403)
					})
				}
			}
		})
	}
	for j, was := range before {
		if now := w.record(t, j); now != was {
			t.Errorf("journey %s changed during the matrix: %+v, then %+v", j, was, now)
		}
	}
	now, err := w.st.GetPerson(t.Context(), w.eraseMe.id)
	if err != nil || !now.ErasedAt.IsZero() || now.GivenName != eraseMe.GivenName || now.FamilyName != eraseMe.FamilyName ||
		now.EmailAddress != eraseMe.EmailAddress {
		t.Errorf("the erase probe changed its person: %+v, then %+v (%v)", eraseMe, now, err)
	}
	intakes, err := w.st.ListIntakes(t.Context())
	must(t, err)
	if len(intakes) != 2 || slices.ContainsFunc(intakes, func(in store.Intake) bool { return in.ID != w.intakeA && in.ID != w.intakeB }) {
		t.Errorf("intakes after the matrix: %+v", intakes)
	}
}
