// Package api is the HTTP face of Infuse Journeys: the JSON API that other
// council systems and our own pages' scripts call, described by the OpenAPI
// 3 document it serves at /openapi.json. It calls the same application
// (internal/app: commands, views, people, reports, privacy) as the command line, so a request and a command do exactly the same thing.
//
// Who may do what: coordinators run intakes and see everything; a coach
// sees and acts on only the journeys they coach; a participant only their
// own. A journey the caller may not see is answered 404, the same as one
// that does not exist, so IDs reveal nothing. Every state-changing request
// needs an Idempotency-Key (see package idempotency). Errors are
// application/problem+json (RFC 9457), written for the person reading them.
package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/workflows"
)

// Options configure New.
type Options struct {
	// Auth checks credentials; one on svc's store with default lifetimes when nil.
	Auth *auth.Authenticator
	// Pages, when set, serves every path the API does not (the web pages).
	Pages  http.Handler
	Logger *zap.Logger
}

// New returns the HTTP handler of the API, answering through the application svc.
func New(svc *app.App, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Auth == nil {
		o.Auth = &auth.Authenticator{Store: svc.Credentials}
	}
	h := &handler{svc: svc, auth: o.Auth, log: o.Logger.Named("api")}
	h.once = newIdempotency(svc.Claims, h.log)
	mux := http.NewServeMux()
	h.live = telemetry.Live().ServeHTTP
	h.ready = telemetry.Ready(h.log, telemetry.StoreCheck(svc.Health), telemetry.TemporalCheck(svc.Workflows.Temporal)).ServeHTTP
	for _, rt := range h.system() {
		mux.Handle(rt.pattern, rt.handler.serve)
	}
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, h.guard(rt.access, rt.handler.serve))
	}
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "There is no such API endpoint; /openapi.json lists them all.")
	}))
	if o.Pages != nil {
		mux.Handle("/", o.Pages)
	}
	return telemetry.WithCorrelationIDs(transportHeaders(o.Auth, mux))
}

// transportHeaders are sent with every answer, the pages' included: no
// browser guesses a type other than the one declared (a JSON answer
// holding markup must not run as a page), and over TLS browsers keep to
// HTTPS for a year (HSTS). Over plain HTTP there is no HSTS: browsers
// ignore it there anyway, and a site not yet on TLS must not lock itself
// out.
func transportHeaders(a *auth.Authenticator, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		if a.OverTLS(r) {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// route is one endpoint of the API: its pattern, who may call it, its
// handler and what /openapi.json says of it (contract.go).
type route struct {
	pattern string
	access  access
	handler endpoint
	op      op
}

// system is the endpoints for machines, open to all: health and this
// document.
func (h *handler) system() []route {
	public := access{public: true}
	return []route{
		// /healthz is liveness (the process answers), /readyz readiness (the
		// store and Temporal answer too): see package telemetry.
		{"GET /healthz", public, plain(h.live), op{tag: "system", answer: Health{}, id: "health",
			summary: "Whether the process answers (a liveness check: it does not ask the store or Temporal, see /readyz)",
			says:    "The process answers"}},
		{"GET /readyz", public, plain(h.ready), op{tag: "system", answer: Health{}, id: "ready",
			summary: "Whether the store and Temporal answer (a readiness check, for load balancers and monitoring)",
			says:    "Both answer", also: map[int]string{http.StatusServiceUnavailable: "A dependency did not answer; failing says which"}}},
		{"GET /openapi.json", public, plain(h.openAPI), op{id: "openAPIDocument", tag: "system", summary: "This document",
			says: "The OpenAPI document", answer: map[string]any{}}},
	}
}

// routes is every guarded endpoint, with who may call it. The
// authorisation matrix test walks this same table.
func (h *handler) routes() []route {
	return []route{
		// Intakes.
		{"GET /api/intakes", reads(coordinator), plain(h.listIntakes), op{id: "listIntakes", tag: "intakes",
			summary: "Every intake, soonest start first, with its numbers", says: "The intakes", answer: []wire.IntakeSummary{}}},
		{"POST /api/intakes", changes(coordinator), decoding(h.createIntake), op{id: "createIntake", tag: "intakes",
			summary: "Open a new intake; its workflow opens and closes the application window on time",
			notes:   "404 when coordinatorId names nobody; 422 for missing or inconsistent values (detail lists them all).",
			status:  http.StatusCreated, says: "The intake, as created", answer: wire.Intake{}, errs: []int{http.StatusNotFound}}},
		{"GET /api/intakes/open", reads(anyone...), plain(h.openIntakes), op{id: "openIntakes", tag: "intakes",
			summary: "The intakes taking applications now, soonest start first", says: "The open intakes", answer: []wire.Intake{}}},
		{"PATCH /api/intakes/{id}", changes(coordinator), pathChange("an intake", h.editIntake), op{id: "editIntake", tag: "intakes",
			summary: "Rename an intake or change its number of places",
			notes: "Send only what changes, at least one of name and capacity; the dates cannot change. A new capacity goes to the intake first: " +
				"places it frees are offered to the waitlist at once, longest-waiting first. 422 for an empty body, no field, an empty or over-long name " +
				"or a capacity outside " + strconv.Itoa(workflows.MinCapacity) + " to " + strconv.Itoa(workflows.MaxCapacity) + "; 409 (the intake's reason) for fewer places than are already offered or taken, or once the intake has started; " +
				"404 for an unknown intake. Sending the same edit again changes nothing.",
			says: "The intake, as edited", answer: wire.Intake{}}},
		{"GET /api/intakes/{id}/dashboard", reads(coordinator), plain(h.intakeDashboard), op{id: "intakeDashboard", tag: "intakes",
			summary: "The dashboard of one intake, a page of its journeys at a time, from the store's projections",
			params:  dashboardParams, errs: []int{http.StatusUnprocessableEntity}, says: "The dashboard", answer: wire.IntakeDashboard{}}},
		{"POST /api/intakes/{id}/start", changes(coordinator), pathChange("an intake", h.startIntake), op{tag: "intakes", id: "startIntake",
			summary: "Start the programme for everyone who accepted", notes: "409 if the intake has already started or nobody has accepted.",
			says: "Started: the journeys by state", answer: wire.Started{}}},
		{"POST /api/intakes/{id}/reschedule", changes(coordinator), pathChange("an intake", h.rescheduleSession), op{tag: "intakes", id: "rescheduleSession",
			summary: "Move one lab session for the whole intake",
			notes:   "422 for a time that is not in the future or unreadable; 409 for an unknown session or one that has already started.",
			says:    "Moved; every journey moves its reminders", answer: Done{}}},
		{"POST /api/intakes/{id}/applications", changes(coordinator, participant), pathChange("an intake", h.apply), op{tag: "intakes", id: "apply",
			summary: "Apply to an open intake",
			notes: "A participant applies for themselves and sends {} (naming anyone else, or a coach, is 403); a coordinator names the applicant. " +
				"409 when the window is not open or the person has applied already.",
			status: http.StatusCreated, says: "The application is in", answer: Applied{}}},
		{"GET /api/intakes/{id}/outcomes.csv", reads(coordinator), plain(h.outcomesCSV), op{id: "outcomesCSV", tag: "reports",
			summary: "The funders' outcome report of an intake: one line per journey, no names",
			says:    "CSV with the header " + strings.Join(reports.OutcomesCSVColumns, ","), media: "text/csv", headers: []string{"Content-Disposition"}}},
		// Reports.
		{"GET /api/reports/authorities", reads(coordinator), plain(h.byAuthority), op{id: "byAuthority", tag: "reports",
			summary: "Journeys by state and outcome for each of the ten local authorities", params: reportParams,
			errs: []int{http.StatusNotFound}, says: "The counts", answer: reports.GroupReport{}}},
		{"GET /api/reports/themes", reads(coordinator), plain(h.byTheme), op{id: "byTheme", tag: "reports",
			summary: "Journeys by state and outcome for each theme", params: reportParams,
			errs: []int{http.StatusNotFound}, says: "The counts", answer: reports.GroupReport{}}},
		// People.
		{"POST /api/people/import", changes(coordinator), plain(h.importPeople), op{id: "importPeople", tag: "people",
			summary: "Import people from CSV: all of them, or none if any line is wrong", notes: "422 names every bad line; nothing is imported then.",
			csv:  "A header row naming the columns " + strings.Join(people.ImportColumns, ",") + " (any order), then one person per line",
			says: "Imported; importing the same file again lists everyone as unchanged", answer: people.ImportResult{}}},
		{"GET /api/people/{id}/export", reads(coordinator), plain(h.exportPerson), op{id: "exportPerson", tag: "people",
			summary: "Everything the store holds about a person (UK GDPR right of access)",
			says:    "The person's data", answer: privacy.PersonExport{}, headers: []string{"Content-Disposition"}}},
		{"POST /api/people/{id}/erase", changes(coordinator), pathChange("a person", h.erasePerson), op{id: "erasePerson", tag: "people",
			summary: "Erase a person's personal data for good (UK GDPR right to erasure)",
			notes:   `Their journeys still count in reports, shown as "(erased)". You cannot erase yourself (409).`,
			says:    "What was erased; erasing again reports zero counts", answer: wire.Erasure{}}},
		{"GET /api/me", reads(anyone...), plain(h.me), op{id: "me", tag: "me", summary: "Who you are signed in as",
			errs: []int{http.StatusNotFound}, says: "You", answer: Me{}}},
		{"PUT /api/me/language", changes(anyone...), decoding(h.setLanguage), op{id: "setLanguage", tag: "me",
			summary: "The language you want your messages in", errs: []int{http.StatusNotFound}, says: "Recorded", answer: Done{}}},
		{"GET /api/me/journeys", reads(coach, participant), plain(h.myJourneys), op{id: "myJourneys", tag: "me",
			summary: "Your journeys: a participant's own, or those a coach coaches", errs: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
			says: "The journeys, oldest first", answer: []views.JourneySummary{}}},
		// Journeys.
		{"GET /api/journeys/{id}", reads(anyone...), plain(h.journey), op{id: "journey", tag: "journeys",
			summary: "One journey: its state, what is ahead, its timeline", who: seesJourney,
			notes: "A journey you may not see answers 404, exactly as one that does not exist.",
			says:  "The journey", answer: wire.JourneyDetail{}}},
		{"GET /api/journeys/{id}/calendar.ics", reads(anyone...), plain(h.calendar), op{id: "calendar", tag: "journeys",
			summary: "The journey's sessions and checkpoints still ahead, as an iCalendar file", who: seesJourney,
			says: "An iCalendar file (Europe/London); an ended journey's has no events", media: "text/calendar", headers: []string{"Content-Disposition"}}},
		{"POST /api/journeys/{id}/decision", changes(coordinator), journeyChange(h, h.decide), op{tag: "journeys", id: "decide",
			summary: "Decide an application: offer, waitlist or reject", says: "The journey's new state", answer: StatusAnswer{}}},
		{"POST /api/journeys/{id}/offer", changes(participant), journeyChange(h, h.respondToOffer), op{tag: "journeys", id: "respondToOffer",
			summary: "Accept or decline your offer", who: "the journey's participant", says: "The journey's new state", answer: StatusAnswer{}}},
		{"POST /api/journeys/{id}/coach", changes(coordinator), journeyChange(h, h.assignCoach), op{tag: "journeys", id: "assignCoach",
			summary: "Assign the journey's coach", says: "Assigned", answer: Done{}}},
		{"POST /api/journeys/{id}/attendance", changes(coordinator), journeyChange(h, h.attendance), op{tag: "journeys", id: "recordAttendance",
			summary: "Record whether the participant attended a lab session", notes: "409 for a session that has not started yet.",
			says: "Recorded", answer: Done{}}},
		{"POST /api/journeys/{id}/withdraw", changes(coordinator), journeyChange(h, h.withdraw), op{tag: "journeys", id: "withdraw",
			summary: "End the journey early", says: "Withdrawn", answer: Done{}}},
		{"POST /api/journeys/{id}/defer", changes(coordinator), journeyChange(h, h.deferJourney), op{tag: "journeys", id: "defer",
			summary: "Move the participant, with their progress, to a later intake", says: "Deferred", answer: Deferred{}}},
		{"POST /api/journeys/{id}/pause", changes(coordinator), journeyChange(h, h.pause), op{tag: "journeys", id: "pause",
			summary: "Stop the journey's clock", says: "Paused", answer: Done{}}},
		{"POST /api/journeys/{id}/resume", changes(coordinator), journeyChange(h, h.resume), op{tag: "journeys", id: "resume",
			summary: "Restart a paused journey; what is ahead moves by the length of the pause", says: "Resumed", answer: Done{}}},
		{"POST /api/journeys/{id}/tasks/{task}/submit", changes(participant), journeyChange(h, h.submitTask), op{tag: "journeys", id: "submitTask",
			summary: "Hand in your experiment plan or final reflection", who: "the journey's participant",
			params: []param{{name: "task", in: "path", doc: "plan or reflection", schema: openapi3.NewStringSchema()}},
			says:   "Handed in", answer: wire.TaskAnswer{}}},
		{"POST /api/journeys/{id}/checkpoints/{n}/complete", changes(coach), journeyChange(h, h.completeCheckpoint), op{tag: "journeys", id: "completeCheckpoint",
			summary: "Complete a coaching checkpoint of a participant you coach", who: "the journey's coach",
			notes: "The coach is the caller. The checkpoint must be open (409 otherwise); a journey you do not coach answers 404. " +
				"The Idempotency-Key is also the completion's ID, so a retry completes the checkpoint once.",
			params: []param{{name: "n", in: "path", doc: "The checkpoint's number: 3 for checkpoint/3",
				schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(99)}},
			says: "The checkpoint is complete (or was already, by this same request)", answer: wire.TaskAnswer{}}},
		// Coaches.
		{"GET /api/coach/inbox", reads(coach), plain(h.coachInbox), op{id: "coachInbox", tag: "coach",
			summary: "Your open checkpoints, overdue first, and your participants' journeys",
			errs:    []int{http.StatusNotFound, http.StatusUnprocessableEntity}, says: "The inbox", answer: views.CoachInbox{}}},
	}
}

// seesJourney is who may see a journey.
const seesJourney = "coordinators; its coach; its participant"

var dashboardParams = []param{
	{name: "after", in: "query", schema: uuidSchema(),
		doc: "List the journeys after this one, in the dashboard's order: a page's Next. Without after or before, the first page."},
	{name: "before", in: "query", schema: uuidSchema(), doc: "List the journeys before this one: a page's Previous. Not with after."},
	{name: "limit", in: "query", doc: "The most journeys a page lists",
		schema: openapi3.NewIntegerSchema().WithMin(1).WithMax(views.MaxDashboardRows).WithDefault(views.DashboardRows)},
}

var reportParams = []param{{name: "intake", in: "query", schema: uuidSchema(), doc: "Count one intake only; every intake when absent"}}

type handler struct {
	svc  *app.App
	auth *auth.Authenticator
	once *idempotency.Middleware
	log  *zap.Logger
	// live and ready answer /healthz and /readyz.
	live, ready http.HandlerFunc
}

// Health is the body of GET /healthz and GET /readyz.
type Health = telemetry.Readiness

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
