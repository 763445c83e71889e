package api

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/storetest"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// me is GET /api/me as p.
func (w *world) me(t *testing.T, p who) Me {
	t.Helper()
	var m Me
	decode(t, w.do(t, call{method: "GET", path: "/api/me", token: p.token}), http.StatusOK, &m)
	return m
}

// testBadInput: each malformed change is a clear 4xx that says what to
// fix, and changes nothing.
func (w *world) testBadInput(t *testing.T) {
	const lang = "/api/me/language"
	if got := w.me(t, w.participant).Language; got != store.LanguageWelsh {
		t.Fatalf("language before: %q", got)
	}
	huge := `{"language":"` + strings.Repeat("c", maxBodyBytes) + `"}`
	for _, c := range []struct {
		name   string
		c      call
		want   int
		detail string
	}{
		{"malformed JSON", call{body: `{"language":`}, 400, "not valid JSON"},
		{"empty body", call{}, 400, "empty"},
		{"two JSON values", call{body: `{} {}`}, 400, "more data"},
		{"unknown field", call{body: `{"language":"en","lang":"en"}`}, 400, `"lang"`},
		{"wrong type", call{body: `{"language":5}`}, 400, `"language" should be a string`},
		{"not an object", call{body: `["en"]`}, 400, "should be"},
		{"oversized", call{body: huge}, 413, "larger than"},
		{"form instead of JSON", call{body: "language=en", contentType: "application/x-www-form-urlencoded"}, 415, "application/json"},
		{"no Idempotency-Key", call{body: `{"language":"en"}`, key: "-"}, 400, "Idempotency-Key"},
		{"Idempotency-Key too long", call{body: `{"language":"en"}`, key: strings.Repeat("k", idempotency.MaxKeyLength+1)}, 400, "Idempotency-Key"},
		{"unknown language", call{body: `{"language":"fr"}`}, 422, "cy (Cymraeg)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.c.method, c.c.path, c.c.token = "PUT", lang, w.participant.token
			switch c.c.key {
			case "":
				c.c.key = uuid.NewString()
			case "-":
				c.c.key = ""
			}
			p := checkProblem(t, w.do(t, c.c), c.want)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not mention %q", p.Detail, c.detail)
			}
		})
	}
	if got := w.me(t, w.participant).Language; got != store.LanguageWelsh {
		t.Errorf("a refused request changed the language to %q", got)
	}

	t.Run("bad IDs and numbers in the path or query", func(t *testing.T) {
		for _, c := range []struct{ method, path, detail string }{
			{"GET", "/api/journeys/nope", "journey ID"},
			{"GET", "/api/intakes/nope/dashboard", "intake ID"},
			{"GET", "/api/intakes/" + w.intakeA.String() + "/dashboard?after=nope", "not a journey ID"},
			{"GET", "/api/intakes/" + w.intakeA.String() + "/dashboard?before=1", "not a journey ID"},
			{"GET", "/api/intakes/" + w.intakeA.String() + "/dashboard?limit=0", "from 1 to 1000"},
			{"GET", "/api/intakes/" + w.intakeA.String() + "/dashboard?limit=1001", "from 1 to 1000"},
			{"GET", "/api/intakes/" + w.intakeA.String() + "/dashboard?limit=ten", "from 1 to 1000"},
			{"GET", "/api/people/nope/export", "person ID"},
			{"GET", "/api/reports/themes?intake=nope", "not an intake ID"},
			{"POST", "/api/journeys/" + w.journey.String() + "/checkpoints/0/complete", "checkpoint number"},
			{"POST", "/api/journeys/" + w.journey.String() + "/checkpoints/x/complete", "checkpoint number"},
		} {
			tok := w.coordinator.token
			if strings.Contains(c.path, "checkpoints") {
				tok = w.coach.token
			}
			body := ""
			if c.method == "POST" {
				body = `{"notes":"Fine.","status":"green"}`
			}
			p := checkProblem(t, w.do(t, call{method: c.method, path: c.path, token: tok, body: body, key: uuid.NewString()}), 400)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("%s %s: detail %q does not mention %q", c.method, c.path, p.Detail, c.detail)
			}
		}
	})

	t.Run("import: content type, size, bad lines", func(t *testing.T) {
		imp := call{method: "POST", path: "/api/people/import", token: w.coordinator.token}
		for _, c := range []struct {
			body, ct string
			want     int
			detail   string
		}{
			{`[{"email":"x@example.org"}]`, "application/json", 415, "text/csv"},
			{"role,given_name,email\n" + strings.Repeat("participant,A,a@example.org\n", maxImportBytes/20), "text/csv", 413, "larger than"},
			{"role,given_name,family_name,email,local_authority,theme,language\nparticipant,Dewi,Ifans,dewi@example.org,Atlantis,communities,cy\nwizard,Ann,Other,ann@example.org,Cardiff,communities,en\n",
				"text/csv", 422, "line 2"},
		} {
			imp.body, imp.contentType, imp.key = c.body, c.ct, uuid.NewString()
			p := checkProblem(t, w.do(t, imp), c.want)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not mention %q", p.Detail, c.detail)
			}
		}
		for _, email := range []string{"dewi@example.org", "ann@example.org", "a@example.org"} {
			if _, err := w.st.FindPersonByEmail(t.Context(), email); err == nil {
				t.Errorf("%s was imported by a refused request", email)
			}
		}
	})

	t.Run("replayed Idempotency-Key: same answer, acted once", func(t *testing.T) {
		file := "role,given_name,family_name,email,local_authority,theme,language\nparticipant,Dewi,Ifans,dewi@example.org,Newport,communities,cy\n"
		imp := call{method: "POST", path: "/api/people/import", token: w.coordinator.token, body: file, contentType: "text/csv", key: "import-dewi"}
		first := w.do(t, imp)
		var res people.ImportResult
		decode(t, first, 200, &res)
		if len(res.Created) != 1 || first.Header().Get(idempotency.ReplayedHeader) != "" {
			t.Fatalf("first import: %+v %v", res, first.Header())
		}
		again := w.do(t, imp)
		if again.Code != 200 || again.Body.String() != first.Body.String() || again.Header().Get(idempotency.ReplayedHeader) != "true" {
			t.Errorf("replay: %d %v %s, want the first answer %s", again.Code, again.Header(), again.Body, first.Body)
		}
		// Had the replay imported again, Dewi would be listed unchanged.
		imp.key = "import-dewi-2"
		decode(t, w.do(t, imp), 200, &res)
		if len(res.Created) != 0 || len(res.Unchanged) != 1 {
			t.Errorf("a new key: %+v", res)
		}
		// The same key for another request is refused, and does nothing.
		imp.key, imp.body = "import-dewi", strings.Replace(file, "Dewi,Ifans,dewi", "Mair,Ifans,mair", 1)
		if p := checkProblem(t, w.do(t, imp), 422); !strings.Contains(p.Detail, "different request") {
			t.Errorf("detail: %q", p.Detail)
		}
		if _, err := w.st.FindPersonByEmail(t.Context(), "mair@example.org"); err == nil {
			t.Error("the refused request imported Mair")
		}
		// Keys are the caller's own: another coordinator's same key acts.
		other := w.coordinatorTwo(t)
		imp.token = other.token
		decode(t, w.do(t, imp), 200, &res)
		if len(res.Created) != 1 {
			t.Errorf("another caller's key: %+v", res)
		}
	})
}

// coordinatorTwo is a second coordinator.
func (w *world) coordinatorTwo(t *testing.T) who {
	t.Helper()
	p := who{name: "coordinator two", id: uuid.New()}
	must(t, w.st.CreatePeople(t.Context(), []store.Person{{ID: p.id, Role: store.RoleCoordinator, GivenName: "Lowri",
		FamilyName: "Jenkins", EmailAddress: "lowri@example.org", LocalAuthority: "Newport"}}))
	w.credentials(t, &p, store.RoleCoordinator)
	return p
}

// testIntakeB: the coordinator moves a session, pauses and resumes a
// journey and withdraws another; the participant downloads their calendar.
func (w *world) testIntakeB(t *testing.T) {
	coord := call{token: w.coordinator.token}
	post := func(path, body string) call {
		c := coord
		c.method, c.path, c.body, c.key = "POST", path, body, uuid.NewString()
		return c
	}
	intake := "/api/intakes/" + w.intakeB.String()
	journey := "/api/journeys/" + w.bJourney.String()

	// The session has not started: attendance is refused, and says why.
	if p := checkProblem(t, w.do(t, post(journey+"/attendance", `{"session":"adaption-lab/1","attended":true}`)), 409); !strings.Contains(p.Detail, "not started") {
		t.Errorf("attendance detail: %q", p.Detail)
	}
	// Rescheduling: into the past is 422, an unknown session 409, a good one 200.
	checkProblem(t, w.do(t, post(intake+"/reschedule", `{"session":"adaption-lab/2","startsAt":"2020-01-01T10:00"}`)), 422)
	checkProblem(t, w.do(t, post(intake+"/reschedule", fmt.Sprintf(`{"session":"nope/9","startsAt":%q}`, time.Now().Add(240*time.Hour).Format(time.RFC3339)))), 409)
	at := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Hour).UTC()
	var done Done
	decode(t, w.do(t, post(intake+"/reschedule", fmt.Sprintf(`{"session":"adaption-lab/2","startsAt":%q}`, at.Format(time.RFC3339)))), 200, &done)
	if !done.Done {
		t.Errorf("reschedule: %+v", done)
	}
	deadline := time.Now().Add(10 * time.Second)
	for moved := false; !moved; {
		var d wire.JourneyDetail
		decode(t, w.do(t, call{method: "GET", path: journey, token: w.bParticipant.token}), 200, &d)
		moved = slices.ContainsFunc(d.Upcoming, func(u wire.Upcoming) bool {
			return u.ItemID == "adaption-lab/2" && u.What == "session" && u.At.Equal(at)
		})
		if !moved && time.Now().After(deadline) {
			t.Fatalf("adaption-lab/2 never moved to %s: %+v", at, d.Upcoming)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// Pause and resume.
	decode(t, w.do(t, post(journey+"/pause", "")), 200, &done)
	var d wire.JourneyDetail
	decode(t, w.do(t, call{method: "GET", path: journey, token: w.coordinator.token}), 200, &d)
	if d.Live == nil || d.Live.Status != contract.StatusPaused {
		t.Errorf("after pausing: %+v", d.Live)
	}
	checkProblem(t, w.do(t, post(journey+"/pause", "{}")), 409) // already paused
	decode(t, w.do(t, post(journey+"/resume", "{}")), 200, &done)
	decode(t, w.do(t, call{method: "GET", path: journey, token: w.coordinator.token}), 200, &d)
	if d.Live == nil || d.Live.Status == contract.StatusPaused || d.Live.PausedFor <= 0 {
		t.Errorf("after resuming: %+v", d.Live)
	}

	// Withdrawal, with a note kept in the store.
	leaver := "/api/journeys/" + w.bLeaverJourney.String()
	decode(t, w.do(t, post(leaver+"/withdraw", `{"reason":"workload","note":"Moving to a new post."}`)), 200, &done)
	w.waitFor(t, w.bLeaverJourney, func(s store.JourneySnapshot) bool { return s.State == contract.StatusWithdrawn })
	if r := w.record(t, w.bLeaverJourney); r.notes != 1 {
		t.Errorf("withdrawal notes: %d", r.notes)
	}
	checkProblem(t, w.do(t, post(leaver+"/withdraw", `{"reason":"workload"}`)), 404) // ended journeys take no actions

	// The calendar: a real iCalendar file of what is ahead, naming nobody.
	rec := w.do(t, call{method: "GET", path: journey + "/calendar.ics", token: w.bParticipant.token})
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/calendar") {
		t.Fatalf("calendar: %d %v", rec.Code, rec.Header())
	}
	cal, err := ics.ParseCalendar(bytes.NewReader(rec.Body.Bytes()))
	must(t, err)
	events := cal.Events()
	if len(events) < 12 {
		t.Errorf("calendar has %d events, want the programme's sessions and checkpoints", len(events))
	}
	for _, e := range events {
		start, err := e.GetStartAt()
		must(t, err)
		if !start.After(time.Now()) {
			t.Errorf("event %s starts %s, in the past", e.Id(), start)
		}
	}
	if strings.Contains(rec.Body.String(), "Gwen") || strings.Contains(rec.Body.String(), "gwen@") {
		t.Error("the calendar names the participant")
	}
}

// testReports: the coordinator's reports, the funders' file, and a
// person's data exported and erased.
func (w *world) testReports(t *testing.T) {
	coord := call{method: "GET", token: w.coordinator.token}
	get := func(path string) call { c := coord; c.path = path; return c }
	var byLA, byTheme reports.GroupReport
	decode(t, w.do(t, get("/api/reports/authorities?intake="+w.intakeA.String())), 200, &byLA)
	decode(t, w.do(t, get("/api/reports/themes?intake="+w.intakeA.String())), 200, &byTheme)
	count := func(r reports.GroupReport, name string) int {
		for _, g := range r.Groups {
			if g.Name == name {
				return g.Journeys
			}
		}
		return -1
	}
	if byLA.By != "localAuthority" || len(byLA.Groups) != 10 || count(byLA, "Newport") != 1 || count(byLA, "Cardiff") != 1 || count(byLA, "Torfaen") != 0 {
		t.Errorf("by authority: %+v", byLA)
	}
	if byTheme.By != "theme" || count(byTheme, "communities") != 1 || count(byTheme, "decarbonisation") != 1 {
		t.Errorf("by theme: %+v", byTheme)
	}
	var every reports.GroupReport
	decode(t, w.do(t, get("/api/reports/authorities")), 200, &every)
	if count(every, "Newport") != 1 || count(every, "Bridgend") != 1 || count(every, "Torfaen") != 1 || every.IntakeID != uuid.Nil {
		t.Errorf("every intake by authority: %+v", every)
	}
	checkProblem(t, w.do(t, get("/api/reports/themes?intake="+uuid.NewString())), 404)

	rec := w.do(t, get("/api/intakes/"+w.intakeB.String()+"/outcomes.csv"))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("outcomes: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	rows, err := csv.NewReader(strings.NewReader(rec.Body.String())).ReadAll()
	must(t, err)
	if len(rows) != 3 || !slices.Equal(rows[0], reports.OutcomesCSVColumns) {
		t.Fatalf("outcomes.csv: %q", rows)
	}
	outcomes := map[string]string{rows[1][0]: rows[1][6], rows[2][0]: rows[2][6]}
	if outcomes[w.bLeaverJourney.String()] != "withdrawn" || outcomes[w.bJourney.String()] != "" {
		t.Errorf("outcomes: %q", rows)
	}
	if strings.Contains(rec.Body.String(), "Owain") || strings.Contains(rec.Body.String(), "@") {
		t.Error("the funders' file names people")
	}
	checkProblem(t, w.do(t, get("/api/intakes/"+uuid.NewString()+"/outcomes.csv")), 404)

	// Export, erase, export again.
	person := "/api/people/" + w.eraseMe.id.String()
	var x privacy.PersonExport
	decode(t, w.do(t, get(person+"/export")), 200, &x)
	if x.Person.Email != "ffion@example.org" || x.Person.GivenName != "Ffion" || len(x.Journeys) != 0 {
		t.Errorf("export: %+v", x)
	}
	var aled privacy.PersonExport
	decode(t, w.do(t, get("/api/people/"+w.participant.id.String()+"/export")), 200, &aled)
	if len(aled.Journeys) != 1 || aled.Journeys[0].JourneyID != w.journey || len(aled.Journeys[0].Events) == 0 {
		t.Errorf("the participant's export: %+v", aled.Journeys)
	}
	checkProblem(t, w.do(t, get("/api/people/"+uuid.NewString()+"/export")), 404)
	// A refused import that names them: its answer is kept for retries.
	twice := "role,given_name,family_name,email,local_authority,theme,language\n" +
		"participant,Ffion,Rees,ffion@example.org,Caerphilly,communities,cy\n" +
		"participant,Ffion,Rees,ffion@example.org,Caerphilly,communities,cy\n"
	if p := checkProblem(t, w.do(t, call{method: "POST", path: "/api/people/import", body: twice, contentType: "text/csv",
		token: w.coordinator.token, key: uuid.NewString()}), 422); !strings.Contains(p.Detail, "ffion@example.org") {
		t.Fatalf("the refused import does not name the address: %+v", p)
	}
	erase := call{method: "POST", path: person + "/erase", token: w.coordinator.token, key: uuid.NewString()}
	var e wire.Erasure
	decode(t, w.do(t, erase), 200, &e)
	if e.PersonID != w.eraseMe.id || e.TokensRevoked != 1 || e.SessionsEnded != 1 {
		t.Errorf("erasure: %+v", e)
	}
	decode(t, w.do(t, get(person+"/export")), 200, &x)
	if x.Person.Email != "" || x.Person.GivenName != "" || x.Person.ErasedAt.IsZero() {
		t.Errorf("export after erasure: %+v", x.Person)
	}
	// Their token went with them.
	checkProblem(t, w.do(t, call{method: "GET", path: "/api/me", token: w.eraseMe.token}), 401)
	// And nothing of them is left anywhere, not even in the kept answer
	// to the coordinator's refused import.
	if found, err := w.st.(storetest.TextFinder).FindText(t.Context(), "Ffion", "Rees", "ffion@example.org"); err != nil || len(found) > 0 {
		t.Errorf("after erasure, the person's name or address is still in %v (%v)", found, err)
	}
	erase.path, erase.key = "/api/people/"+w.coordinator.id.String()+"/erase", uuid.NewString()
	checkProblem(t, w.do(t, erase), 409)
	erase.path, erase.key = "/api/people/"+uuid.NewString()+"/erase", uuid.NewString()
	checkProblem(t, w.do(t, erase), 404)
}

// testParticipant: a participant sees and sets their own things only;
// a coach lists only the journeys they coach.
func (w *world) testParticipant(t *testing.T) {
	if m := w.me(t, w.participant); m.ID != w.participant.id || m.Name != "Aled Powell" || m.Role != participant || m.Email != "aled@example.org" {
		t.Errorf("me: %+v", m)
	}
	set := call{method: "PUT", path: "/api/me/language", body: `{"language":"en"}`, token: w.participant.token, key: "lang-1"}
	var done Done
	decode(t, w.do(t, set), 200, &done)
	if got := w.me(t, w.participant).Language; got != store.LanguageEnglish {
		t.Errorf("language: %q", got)
	}
	if other := w.me(t, w.otherParticipant).Language; other != store.LanguageUnknown {
		t.Errorf("the other participant's language changed to %q", other)
	}
	// Through the browser session, with its CSRF token.
	decode(t, w.do(t, call{method: "PUT", path: "/api/me/language", body: `{"language":"both"}`, session: w.participant.session,
		csrf: w.participant.csrf, key: "lang-2"}), 200, &done)
	if got := w.me(t, w.participant).Language; got != store.LanguageUnknown {
		t.Errorf("language after both: %q", got)
	}

	mine := func(p who) []uuid.UUID {
		var js []views.JourneySummary
		decode(t, w.do(t, call{method: "GET", path: "/api/me/journeys", token: p.token}), 200, &js)
		var ids []uuid.UUID
		for _, j := range js {
			ids = append(ids, j.JourneyID)
		}
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return ids
	}
	sorted := func(ids ...uuid.UUID) []uuid.UUID {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return strings.Compare(a.String(), b.String()) })
		return ids
	}
	if got := mine(w.participant); !slices.Equal(got, []uuid.UUID{w.journey}) {
		t.Errorf("the participant's journeys: %v", got)
	}
	if got := mine(w.otherParticipant); !slices.Equal(got, []uuid.UUID{w.otherJourney}) {
		t.Errorf("the other participant's journeys: %v", got)
	}
	// The coach coaches one journey in each intake; the inbox lists those.
	want := sorted(w.journey, w.bLeaverJourney)
	if got := mine(w.coach); !slices.Equal(got, want) {
		t.Errorf("the coach's journeys: %v, want %v", got, want)
	}
	var in views.CoachInbox
	decode(t, w.do(t, call{method: "GET", path: "/api/coach/inbox", token: w.coach.token}), 200, &in)
	var ids []uuid.UUID
	for _, j := range in.Journeys {
		ids = append(ids, j.JourneyID)
	}
	if !slices.Equal(sorted(ids...), want) || in.Coach.ID != w.coach.id {
		t.Errorf("inbox journeys %v, want %v", ids, want)
	}
	for _, item := range in.Open {
		if item.JourneyID != w.journey {
			t.Errorf("inbox lists %s, not the coach's", item.JourneyID)
		}
	}
}

// testAttendance: a session of intake A has taken place; recording it
// twice with one key records it once.
func (w *world) testAttendance(t *testing.T) {
	time.Sleep(time.Until(w.startedA.Add(500 * time.Millisecond)))
	rec := call{method: "POST", path: "/api/journeys/" + w.journey.String() + "/attendance",
		body: `{"session":"adaption-lab/1","attended":true}`, token: w.coordinator.token, key: "attendance-1"}
	first := w.do(t, rec)
	var done Done
	decode(t, first, 200, &done)
	again := w.do(t, rec)
	if again.Code != 200 || again.Header().Get(idempotency.ReplayedHeader) != "true" || again.Body.String() != first.Body.String() {
		t.Errorf("replay: %d %v %s", again.Code, again.Header(), again.Body)
	}
	if n := w.countEvents(t, w.journey, "attendance.present"); n != 1 {
		t.Errorf("%d attendance.present events, want 1", n)
	}
}

// testCheckpoint: once checkpoint/1 of the participant's journey opens,
// its coach completes it; the replay answers the same and completes it
// once; the other coach cannot touch it.
func (w *world) testCheckpoint(t *testing.T) {
	path := "/api/journeys/" + w.journey.String() + "/checkpoints/1/complete"
	good := `{"notes":"Aled has a clear plan.","status":"green"}`
	deadline := w.checkpointOpens.Add(30 * time.Second)
	for {
		var in views.CoachInbox
		decode(t, w.do(t, call{method: "GET", path: "/api/coach/inbox", token: w.coach.token}), 200, &in)
		if slices.ContainsFunc(in.Open, func(i views.InboxItem) bool { return i.JourneyID == w.journey && i.CheckpointID == "checkpoint/1" }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint/1 never opened: %+v", in)
		}
		time.Sleep(200 * time.Millisecond)
	}
	before := w.record(t, w.journey)
	// The other coach: as if the journey did not exist.
	checkProblem(t, w.do(t, call{method: "POST", path: path, body: good, token: w.otherCoach.token, key: "cp-other"}), 404)
	if now := w.record(t, w.journey); now != before {
		t.Errorf("the other coach's attempt changed the journey: %+v, then %+v", before, now)
	}

	// The participant hands in their plan with the key the coach is about
	// to use: keys are each caller's own, so the two are separate changes.
	var plan wire.TaskAnswer
	decode(t, w.do(t, call{method: "POST", path: "/api/journeys/" + w.journey.String() + "/tasks/plan/submit",
		body: `{"text":"Try a shared van pool."}`, token: w.participant.token, key: "cp-1"}), 200, &plan)
	if plan.Task != "plan" || plan.CompletedAt.IsZero() {
		t.Errorf("plan: %+v", plan)
	}
	complete := call{method: "POST", path: path, body: good, token: w.coach.token, key: "cp-1"}
	first := w.do(t, complete)
	var a wire.TaskAnswer
	decode(t, first, 200, &a)
	if a.Task != "checkpoint/1" || a.Status != workflows.RAGGreen || a.CompletedAt.IsZero() {
		t.Errorf("completed: %+v", a)
	}
	again := w.do(t, complete)
	if again.Code != 200 || again.Body.String() != first.Body.String() || again.Header().Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("replay: %d %v %s", again.Code, again.Header(), again.Body)
	}
	complete.key = "cp-2"
	if p := checkProblem(t, w.do(t, complete), 409); !strings.Contains(p.Detail, "checkpoint/1") {
		t.Errorf("second completion: %q", p.Detail)
	}
	if n := w.countEvents(t, w.journey, "checkpoint.completed"); n != 1 {
		t.Errorf("%d checkpoint.completed events, want 1", n)
	}
	var d wire.JourneyDetail
	decode(t, w.do(t, call{method: "GET", path: "/api/journeys/" + w.journey.String(), token: w.participant.token}), 200, &d)
	var js []byte
	js, _ = json.Marshal(d.Live)
	if d.Live == nil || len(d.Live.Checkpoints) == 0 || d.Live.Checkpoints[0].RAG != workflows.RAGGreen {
		t.Errorf("journey after completion: %s", js)
	}
}

// testEditIntake: on a new intake with one place, the coordinator renames
// it, adds a place (the waitlisted applicant is offered it at once), is
// refused fewer places than are taken and any change of places once the
// intake has started, each with the intake's reason.
func (w *world) testEditIntake(t *testing.T) {
	people := w.participants(t, "Catrin", "Iolo")
	now := time.Now()
	id := w.createIntake(t, "Cohort C", now, now.Add(time.Hour), now.Add(72*time.Hour))
	path := "/api/intakes/" + id.String()
	edit := func(body string) *httptest.ResponseRecorder {
		t.Helper()
		return w.do(t, call{method: "PATCH", path: path, body: body, token: w.coordinator.token, key: uuid.NewString()})
	}
	edited := func(body string) wire.Intake {
		t.Helper()
		var in wire.Intake
		decode(t, edit(body), http.StatusOK, &in)
		stored, err := w.st.GetIntake(t.Context(), id)
		must(t, err)
		if in.ID != id || in.Name != stored.Name || in.Capacity != stored.Capacity {
			t.Errorf("PATCH %s answered %+v; stored %+v", body, in, stored)
		}
		return in
	}
	first := w.apply(t, id, w.coordinator, fmt.Sprintf(`{"personId":%q}`, people[0].id))
	second := w.apply(t, id, w.coordinator, fmt.Sprintf(`{"personId":%q}`, people[1].id))
	if in := edited(`{"capacity":1}`); in.Capacity != 1 || in.Name != "Cohort C" {
		t.Errorf("one place: %+v", in)
	}
	w.decide(t, first, workflows.DecisionOffer)
	w.decide(t, second, workflows.DecisionWaitlist)

	// Renaming touches the name only; the same edit again is fine.
	for range 2 {
		if in := edited(`{"name":"  Carfan C "}`); in.Name != "Carfan C" || in.Capacity != 1 {
			t.Errorf("renamed: %+v", in)
		}
	}
	// A second place goes to the waitlisted applicant.
	if in := edited(`{"capacity":2}`); in.Capacity != 2 || in.Name != "Carfan C" {
		t.Errorf("two places: %+v", in)
	}
	w.waitFor(t, second, func(s store.JourneySnapshot) bool { return s.State == contract.StatusOffered })
	if p := checkProblem(t, edit(`{"capacity":1}`), http.StatusConflict); !strings.Contains(p.Detail, "2 places are already offered or taken") {
		t.Errorf("fewer places than taken: %q", p.Detail)
	}

	// Bad edits say what can be edited, and change nothing.
	for _, c := range []struct {
		body   string
		status int
		detail string
	}{
		{"", 422, `{"capacity": 24}`},
		{`{}`, 422, `{"name": "Cohort 2"}`},
		{`{"name":"Cohort D","opensAt":"2027-01-01"}`, 400, `"opensAt"`},
		{`{"capacity":0}`, 422, "from 1 to 500"},
		{`{"name":" "}`, 422, "name is missing"},
	} {
		if p := checkProblem(t, edit(c.body), c.status); !strings.Contains(p.Detail, c.detail) {
			t.Errorf("PATCH %q: detail %q does not mention %q", c.body, p.Detail, c.detail)
		}
	}
	checkProblem(t, w.do(t, call{method: "PATCH", path: "/api/intakes/" + uuid.NewString(), body: `{"name":"Nowhere"}`,
		token: w.coordinator.token, key: uuid.NewString()}), http.StatusNotFound)
	if in, err := w.st.GetIntake(t.Context(), id); err != nil || in.Name != "Carfan C" || in.Capacity != 2 {
		t.Errorf("after refused edits: %+v, %v", in, err)
	}

	// Once started, the places are fixed; the name is not.
	w.accept(t, first, people[0])
	w.start(t, id, 1)
	if p := checkProblem(t, edit(`{"name":"Carfan C","capacity":3}`), http.StatusConflict); !strings.Contains(p.Detail, "has started") {
		t.Errorf("places after the start: %q", p.Detail)
	}
	if in := edited(`{"name":"Cohort C","capacity":2}`); in.Name != "Cohort C" || in.Capacity != 2 {
		t.Errorf("renamed after the start: %+v", in)
	}
}
