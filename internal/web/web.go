// Package web is Infuse Journeys for people: server-rendered pages that
// coordinators at Welsh councils, coaches and participants use in a
// browser, in Welsh or English, with no JavaScript needed. It exists
// beside the JSON API (package api, which mounts these pages at "/") so
// that nobody needs a client program or an API token: a person signs in
// with a single-use link e-mailed to them, and the pages call the same
// application (internal/app) as the API and the command line, so every page shows
// the same facts and every form does exactly what the API would.
//
// Security, in brief: sessions are cookies (HttpOnly, SameSite=Lax, Secure
// over TLS; see package auth); every form that changes anything is a POST
// carrying the session's CSRF token and an idempotency key, so a
// double-click or a resubmitted form acts once; a journey the person may
// not see answers exactly like one that does not exist.
package web

import (
	"context"
	"embed"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"go.uber.org/zap"
	"golang.org/x/time/rate"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
)

//go:embed templates/*.html static/*
var files embed.FS

// Options configure New.
type Options struct {
	// Auth checks sessions and redeems sign-in links; one on svc's store
	// with default lifetimes when nil (HTTPS if BaseURL is https).
	Auth *auth.Authenticator
	// Mail sends sign-in links; without it nobody can sign in by e-mail
	// (links can still be made with Auth.NewSignInLink, as `infuse dev` does).
	Mail delivery.Sender
	// From is the sender of sign-in e-mails.
	From delivery.Address
	// BaseURL is where people reach these pages, e.g.
	// "https://journeys.example.org", for links in e-mails; no trailing slash.
	BaseURL string
	// TrustedProxies are the proxies in front of the pages, whose
	// X-Forwarded-For says which client a request came from (for the
	// sign-in limits). Empty: the peer is the client, and the header is
	// not believed.
	TrustedProxies []netip.Prefix
	Logger         *zap.Logger
}

// SignInPath is the path of the page that redeems a sign-in link secret.
func SignInPath(secret string) string { return "/signin/" + secret }

// server holds what every handler needs.
type server struct {
	svc   *app.App
	auth  *auth.Authenticator
	mail  delivery.Sender
	from  delivery.Address
	base  string
	log   *zap.Logger
	pages pages
	once  onceMiddleware
	// Sign-in by e-mail: the proxies whose X-Forwarded-For is believed,
	// the per-client and whole-process limits, and the queue of e-mails
	// to send (see signinlimits.go).
	trusted        []netip.Prefix
	untrustedProxy sync.Once // warned of X-Forwarded-For from an unnamed peer
	clients        *limiter
	sends          *rate.Limiter
	links          *linkQueue
}

// New returns the handler of every page.
func New(svc *app.App, o Options) *Pages {
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	if o.Auth == nil {
		o.Auth = &auth.Authenticator{Store: svc.Credentials, HTTPS: auth.HTTPSBaseURL(o.BaseURL)}
	}
	s := &server{
		svc: svc, auth: o.Auth, mail: o.Mail, from: o.From,
		base: strings.TrimRight(o.BaseURL, "/"), log: o.Logger.Named("web"), pages: mustParsePages(),
	}
	s.once = s.newOnce()
	s.trusted, s.clients, s.sends = o.TrustedProxies, newLimiter(clientLimit), rateOf(sendLimit)
	s.links = &linkQueue{size: linkQueueSize, senders: linkSenders, send: s.mailLink}
	if s.mail != nil && s.base == "" {
		s.log.Warn("no BaseURL: sign-in e-mails will carry a path without the site's address; set it to where people reach the pages")
	}
	return &Pages{Handler: s.routes(), links: s.links}
}

// Pages is the web pages: the handler, and Drain for shutting down.
type Pages struct {
	http.Handler
	links *linkQueue
}

// Drain stops taking sign-in requests (they are told to try again) and
// waits until the sign-in e-mails already promised have been sent, or ctx
// ends. Call it once the HTTP server has stopped, before the store closes.
func (p *Pages) Drain(ctx context.Context) error { return p.links.drain(ctx) }

var (
	everyone    = []store.Role{store.RoleCoordinator, store.RoleCoach, store.RoleParticipant}
	coordinator = []store.Role{store.RoleCoordinator}
	coach       = []store.Role{store.RoleCoach}
	participant = []store.Role{store.RoleParticipant}
)

func (s *server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(files))
	mux.HandleFunc("GET /lang/{lang}", s.setPageLang)

	mux.HandleFunc("GET /accessibility", s.accessibility)
	mux.HandleFunc("GET /signin", s.signInForm)
	mux.HandleFunc("POST /signin", s.sendSignInLink)
	mux.HandleFunc("GET /signin/{secret}", s.confirmSignIn)
	mux.HandleFunc("POST /signin/{secret}", s.signIn)
	mux.Handle("POST /signout", s.reads(everyone, s.signOut)) // CSRF-checked inside; see signOut
	mux.Handle("GET /sessions", s.reads(everyone, s.sessionsPage))
	mux.Handle("POST /sessions/end", s.changes(everyone, s.signOutEverywhere))

	mux.Handle("GET /{$}", s.reads(everyone, s.home))
	mux.Handle("POST /intakes", s.changes(coordinator, s.createIntake))
	mux.Handle("GET /intakes/{id}", s.reads(coordinator, s.intakePage))
	mux.Handle("GET /intakes/{id}/outcomes.csv", s.reads(coordinator, s.outcomesCSV))
	mux.Handle("POST /intakes/{id}/edit", s.changes(coordinator, s.editIntake))
	mux.Handle("POST /intakes/{id}/start", s.changes(coordinator, s.startIntake))
	mux.Handle("POST /intakes/{id}/reschedule", s.changes(coordinator, s.rescheduleSession))
	mux.Handle("POST /journeys/{id}/decision", s.changes(coordinator, s.decide))
	mux.Handle("GET /journeys/{id}", s.reads(everyone, s.journeyPage))
	mux.Handle("GET /journeys/{id}/calendar.ics", s.reads(everyone, s.calendar))
	mux.Handle("POST /journeys/{id}/offer", s.changes(participant, s.respondToOffer))
	mux.Handle("POST /journeys/{id}/attendance", s.changes(coordinator, s.recordAttendance()))
	mux.Handle("POST /journeys/{id}/pause", s.changes(coordinator, s.pause()))
	mux.Handle("POST /journeys/{id}/resume", s.changes(coordinator, s.resume()))
	mux.Handle("POST /journeys/{id}/withdraw", s.changes(coordinator, s.withdraw()))
	mux.Handle("POST /journeys/{id}/coach", s.changes(coordinator, s.assignCoach()))
	mux.Handle("POST /journeys/{id}/defer", s.changes(coordinator, s.deferJourney()))
	mux.Handle("POST /journeys/{id}/tasks", s.changes(participant, s.submitTask()))
	mux.Handle("GET /journeys/{id}/checkpoints/{n}", s.reads(coach, s.checkpointForm))
	mux.Handle("POST /journeys/{id}/checkpoints/{n}", s.changes(coach, s.completeCheckpoint))
	mux.Handle("POST /language", s.changes(everyone, s.setLanguage))
	mux.Handle("GET /people", s.reads(coordinator, s.peoplePage))
	mux.Handle("POST /people/import", s.uploads(coordinator, s.importPeople))
	mux.Handle("GET /people/{id}", s.reads(coordinator, s.personPage))
	mux.Handle("GET /people/{id}/export", s.reads(coordinator, s.exportPerson))
	mux.Handle("POST /people/{id}/erase", s.changes(coordinator, s.erasePerson))

	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.notFound(w, r) })
	return securityHeaders(mux)
}

// securityHeaders are sent with every page: nothing may frame the pages
// (clickjacking), no script runs at all, and pages showing personal data
// are not kept in shared caches.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer") // sign-in links must not leak through Referer
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}
