// Package api is the HTTP face of Infuse Journeys: the JSON API that other
// council systems and our own pages' scripts call, described by the OpenAPI
// 3 document it serves at /openapi.json. It calls the same starter.Service
// as the command line, so a request and a command do exactly the same thing.
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
	"time"

	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/auth"
	"github.com/infuse-cymru/journeys/idempotency"
	"github.com/infuse-cymru/journeys/internal/app/privacy"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/starter"
)

// Options configure New.
type Options struct {
	// Auth checks credentials; one on svc's store with default lifetimes when nil.
	Auth *auth.Authenticator
	// Pages, when set, serves every path the API does not (the web pages).
	Pages  http.Handler
	Logger *zap.Logger
}

// New returns the HTTP handler of the API, serving svc's store and Temporal client.
func New(svc *starter.Service, o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Auth == nil {
		o.Auth = &auth.Authenticator{Store: svc.Store}
	}
	h := &handler{svc: svc, auth: o.Auth, log: o.Logger.Named("api"),
		reports: reports.New(svc.Store), privacy: &privacy.Service{Store: svc.Store, Now: func() time.Time { return svc.Now() }}}
	h.once = newIdempotency(svc.Store, h.log)
	mux := http.NewServeMux()
	// /healthz is liveness (the process answers), /readyz readiness (the
	// store and Temporal answer too): see package telemetry.
	mux.Handle("GET /healthz", telemetry.Live())
	mux.Handle("GET /readyz", telemetry.Ready(h.log,
		telemetry.StoreCheck(svc.Store), telemetry.TemporalCheck(svc.Temporal)))
	mux.HandleFunc("GET /openapi.json", h.openAPI)
	for _, rt := range h.routes() {
		mux.Handle(rt.pattern, h.guard(rt.access, rt.serve))
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

// route is one endpoint of the API.
type route struct {
	pattern string
	access  access
	serve   http.HandlerFunc
}

// routes is every guarded endpoint, with who may call it. The
// authorisation matrix test walks this same table.
func (h *handler) routes() []route {
	return []route{
		// Intakes.
		{"GET /api/intakes", reads(coordinator), h.listIntakes},
		{"POST /api/intakes", changes(coordinator), h.createIntake},
		{"GET /api/intakes/open", reads(anyone...), h.openIntakes},
		{"PATCH /api/intakes/{id}", changes(coordinator), h.editIntake},
		{"GET /api/intakes/{id}/dashboard", reads(coordinator), h.intakeDashboard},
		{"POST /api/intakes/{id}/start", changes(coordinator), pathChange("an intake", h.startIntake)},
		{"POST /api/intakes/{id}/reschedule", changes(coordinator), pathChange("an intake", h.rescheduleSession)},
		{"POST /api/intakes/{id}/applications", changes(coordinator, participant), pathChange("an intake", h.apply)},
		{"GET /api/intakes/{id}/outcomes.csv", reads(coordinator), h.outcomesCSV},
		// Reports.
		{"GET /api/reports/authorities", reads(coordinator), h.byAuthority},
		{"GET /api/reports/themes", reads(coordinator), h.byTheme},
		// People.
		{"POST /api/people/import", changes(coordinator), h.importPeople},
		{"GET /api/people/{id}/export", reads(coordinator), h.exportPerson},
		{"POST /api/people/{id}/erase", changes(coordinator), pathChange("a person", h.erasePerson)},
		{"GET /api/me", reads(anyone...), h.me},
		{"PUT /api/me/language", changes(anyone...), h.setLanguage},
		{"GET /api/me/journeys", reads(coach, participant), h.myJourneys},
		// Journeys.
		{"GET /api/journeys/{id}", reads(anyone...), h.journey},
		{"GET /api/journeys/{id}/calendar.ics", reads(anyone...), h.calendar},
		{"POST /api/journeys/{id}/decision", changes(coordinator), journeyChange(h, h.decide)},
		{"POST /api/journeys/{id}/offer", changes(participant), journeyChange(h, h.respondToOffer)},
		{"POST /api/journeys/{id}/coach", changes(coordinator), journeyChange(h, h.assignCoach)},
		{"POST /api/journeys/{id}/attendance", changes(coordinator), journeyChange(h, h.attendance)},
		{"POST /api/journeys/{id}/withdraw", changes(coordinator), journeyChange(h, h.withdraw)},
		{"POST /api/journeys/{id}/defer", changes(coordinator), journeyChange(h, h.deferJourney)},
		{"POST /api/journeys/{id}/pause", changes(coordinator), journeyChange(h, h.pause)},
		{"POST /api/journeys/{id}/resume", changes(coordinator), journeyChange(h, h.resume)},
		{"POST /api/journeys/{id}/tasks/{task}/submit", changes(participant), journeyChange(h, h.submitTask)},
		{"POST /api/journeys/{id}/checkpoints/{n}/complete", changes(coach), journeyChange(h, h.completeCheckpoint)},
		// Coaches.
		{"GET /api/coach/inbox", reads(coach), h.coachInbox},
	}
}

type handler struct {
	svc     *starter.Service
	reports *reports.Service
	privacy *privacy.Service
	auth    *auth.Authenticator
	once    *idempotency.Middleware
	log     *zap.Logger
}

// Health is the body of GET /healthz and GET /readyz.
type Health = telemetry.Readiness

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
