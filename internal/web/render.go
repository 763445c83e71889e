package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/reports"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/programme"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/telemetry"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// pages are the parsed templates, one set per page: the layout, the shared
// partials and the page's own "content".
type pages map[string]*template.Template

// mustParsePages parses the embedded templates; they are part of the
// binary, so a broken one is a programming error found by any test.
func mustParsePages() pages {
	shared := []string{"templates/layout.html", "templates/partials.html"}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := pages{}
	for _, name := range names {
		base := strings.TrimSuffix(path.Base(name), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		out[base] = template.Must(template.New(base).Funcs(funcs).ParseFS(files, append(shared, name)...))
	}
	return out
}

// funcs are the few helpers templates need beyond the page's methods.
var funcs = template.FuncMap{"checkpointPath": checkpointPath, "ongoing": ongoing, "endedOtherwise": endedOtherwise}

// ongoing is how many of a group's journeys have not ended.
func ongoing(g reports.GroupCounts) int {
	n := g.Journeys
	for _, c := range g.ByOutcome {
		n -= c
	}
	return n
}

// endedOtherwise is how many of a group's journeys ended other than by
// completing (withdrawn, deferred, declined, …).
func endedOtherwise(g reports.GroupCounts) int {
	return g.Journeys - ongoing(g) - g.ByOutcome[string(contract.StatusCompleted)]
}

// checkpointPath is the page of a checkpoint's form: "checkpoint/2" of a
// journey is /journeys/ID/checkpoints/2.
func checkpointPath(journeyID uuid.UUID, checkpointID string) string {
	_, n, _ := strings.Cut(checkpointID, "/")
	return "/journeys/" + journeyID.String() + "/checkpoints/" + n
}

// page is what every template gets: the page's language and who is signed
// in, for the layout, and Data for the page itself.
type page struct {
	Lang  Lang
	Title string // the page's h1 and <title>, already in Lang
	// Principal is who is signed in; nil on sign-in and error pages for
	// visitors who are not.
	Principal *auth.Principal
	Who       string // the signed-in person's name
	Path      string // the request's path and query, for the language toggle
	Flash     string // what the last form did, already in Lang
	// Errors is the page's error summary: each a message and the id of the
	// field it is about ("" if none), so the summary can link to it.
	Errors []fieldError
	Data   any
	// programme is the version the page's journey or intake pinned, which
	// names its items (nil: the newest); journeyProgrammes, on a page of
	// several journeys (the inbox), each journey's.
	programme         *programme.Programme
	journeyProgrammes map[uuid.UUID]*programme.Programme
}

// Item names a schedule item as the page's programme version does.
func (p *page) Item(id string) string { return p.Lang.Item(p.programme, id) }

// Session names a lab session and its start as the page's programme version does.
func (p *page) Session(id string, startsAt time.Time) string {
	return p.Lang.Session(p.programme, id, startsAt)
}

// JourneyItem names an item of one of the page's journeys as its programme version does.
func (p *page) JourneyItem(journeyID uuid.UUID, id string) string {
	return p.Lang.Item(p.journeyProgrammes[journeyID], id)
}

type fieldError struct {
	Field   string
	Message string
	// Detail, after Message, is the system's own words (a journey's
	// refusal, an import's problems with a line), which are English: the
	// page marks them so, for screen readers on a Welsh page.
	Detail string
}

// T is a catalogue string in the page's language.
func (p *page) T(key string) string { return p.Lang.T(key) }

// CSRF is the token every form of a signed-in page sends back.
func (p *page) CSRF() string {
	if p.Principal == nil {
		return ""
	}
	return p.Principal.CSRFToken()
}

// NewKey is a fresh idempotency key for one form: a resubmission of the
// same rendered form carries the same key, so it acts once.
func (p *page) NewKey() string { return uuid.NewString() }

// ToggleURL switches the page to the other language and comes back here.
func (p *page) ToggleURL() string {
	return "/lang/" + string(p.Lang.other()) + "?next=" + url.QueryEscape(p.Path)
}

// Other is the language the toggle offers.
func (p *page) Other() Lang { return p.Lang.other() }

// newPage starts the page data for r, with its language, principal and
// any flash message named in the query ("?done=key").
func (s *server) newPage(r *http.Request, titleKey string) *page {
	p := &page{Lang: pageLang(r), Path: r.URL.RequestURI()}
	p.Title = p.T(titleKey)
	if pr, ok := auth.FromContext(r.Context()); ok {
		p.Principal = &pr
		p.Who = s.nameOf(r, pr)
	}
	if done := r.URL.Query().Get("done"); done != "" {
		p.Flash = p.Lang.TOr("flash."+done, "")
	}
	return p
}

// pinned is the programme version an intake pinned; nil, so that the
// newest names its items, if this build does not have it.
func pinned(id string, version int) *programme.Programme {
	p, err := programme.Lookup(id, version)
	if err != nil {
		return nil
	}
	return p
}

// intakeProgramme is the programme version the intake pinned, or nil (the
// newest) if the intake cannot be read: names are no reason to fail a page.
func (s *server) intakeProgramme(r *http.Request, intakeID uuid.UUID) *programme.Programme {
	in, err := s.svc.Views.Intake(r.Context(), intakeID)
	if err != nil {
		s.log.Warn("naming items by the newest programme", zap.Stringer("intake", intakeID), zap.Error(err))
		return nil
	}
	return pinned(in.ProgrammeID, in.ProgrammeVersion)
}

// accessibility is the accessibility statement the Public Sector Bodies
// Accessibility Regulations 2018 ask of every public body's site, open to
// everyone, signed in or not.
func (s *server) accessibility(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "accessibility", s.newPage(r, "accessibility.title"))
}

// nameOf is the signed-in person's name for the header; their role if the
// store cannot say.
func (s *server) nameOf(r *http.Request, pr auth.Principal) string {
	person, err := s.svc.People.Get(r.Context(), pr.PersonID)
	if err != nil {
		return pageLang(r).Role(pr.Role)
	}
	return strings.TrimSpace(person.GivenName + " " + person.FamilyName)
}

// render writes page name with status. It renders into a buffer first, so
// a template failure is a clean 500 rather than half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.pages[name]
	if !ok {
		s.serverError(w, r, "finding a page template", fmt.Errorf("no template %q", name))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		s.serverError(w, r, "rendering page "+name, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", string(p.Lang))
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// errorData is the body of the error page.
type errorData struct {
	Message string
	// Detail is the system's own reason (for refusals by a journey), shown
	// as given; it is in English.
	Detail string
	// Reference is the request's correlation ID, on a server error page:
	// what to quote so that an operator finds the log lines.
	Reference string
	// Link and LinkText offer a way on.
	Link, LinkText string
}

// errorPage answers status with the error page: titleKey for its heading,
// messageKey for what happened and what to do.
func (s *server) errorPage(w http.ResponseWriter, r *http.Request, status int, titleKey, messageKey string) {
	p := s.newPage(r, titleKey)
	d := errorData{Message: p.T(messageKey), Link: "/", LinkText: p.T("error.home")}
	if status >= 500 {
		// The page says what to quote; the log says what went wrong.
		d.Reference = telemetry.CorrelationID(r.Context())
	}
	p.Data = d
	s.render(w, r, status, "error", p)
}

// workflowUnavailable logs why a journey's workflow could not be asked
// (nothing when cause is nil): the page shows only that it could not.
func (s *server) workflowUnavailable(r *http.Request, journeyID uuid.UUID, cause error) {
	if cause != nil {
		s.log.Warn("a journey's workflow could not be asked", telemetry.Correlation(r.Context()),
			zap.String("journey", journeyID.String()), zap.Error(cause))
	}
}

// notFound is the 404 page, for anything that does not exist or that the
// person may not see: the two must be indistinguishable.
func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusNotFound, "error.notfound.title", "error.notfound.body")
}

func (s *server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.errorPage(w, r, http.StatusForbidden, "error.forbidden.title", "error.forbidden.body")
}

// loggedPath is r's path as a log may show it: a sign-in link's secret
// would sign whoever reads the log in as that person, so it is left out.
func loggedPath(r *http.Request) string {
	if secret := r.PathValue("secret"); secret != "" {
		return strings.Replace(r.URL.Path, secret, "…", 1)
	}
	return r.URL.Path
}

// serverError logs err and answers a 500 page without its details; a
// store or Temporal that cannot be reached, or a form's time up while it
// waited for them (apperr.TryLater), is a 503 page asking to try again
// later instead.
func (s *server) serverError(w http.ResponseWriter, r *http.Request, what string, err error) {
	if apperr.TryLater(r.Context(), err) {
		s.log.Warn("page failed: a service is unavailable", telemetry.Correlation(r.Context()), zap.String("what", what),
			zap.String("path", loggedPath(r)), zap.Error(err))
		idempotency.RetryLater(w)
		s.errorPage(w, r, http.StatusServiceUnavailable, "error.unavailable.title", "error.unavailable.body")
		return
	}
	s.log.Error("page failed", telemetry.Correlation(r.Context()), zap.String("what", what), zap.String("path", loggedPath(r)), zap.Error(err))
	if what == "rendering page error" {
		// The error page itself failed: plain text, or this would loop.
		http.Error(w, "Something went wrong on the server. Try again.", http.StatusInternalServerError)
		return
	}
	s.errorPage(w, r, http.StatusInternalServerError, "error.server.title", "error.server.body")
}

// seeOther redirects after a successful form (post/redirect/get), with a
// flash message key for the page it lands on.
func seeOther(w http.ResponseWriter, r *http.Request, to, done string) {
	http.Redirect(w, r, withDone(to, done), http.StatusSeeOther)
}

// withDone is the address to, whose page says what done did ("" for nothing).
func withDone(to, done string) string {
	if done == "" {
		return to
	}
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	return to + sep + "done=" + url.QueryEscape(done)
}

// localPath is next if it is a path on this site, else "/": redirects
// taken from a query must not send people to another site. It judges next
// as a browser reads a Location header, which drops tabs and line breaks
// ("/\t/evil.example" is "//evil.example") and takes a backslash for a
// slash: so no control character and no backslash, and a path that starts
// with one slash only (which leaves no room for a scheme or a host).
func localPath(next string) string {
	if strings.ContainsFunc(next, func(r rune) bool { return r < ' ' || r == 0x7f || r == '\\' }) ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	return next
}

// setPageLang is the language toggle: it remembers the choice for a year
// and goes back to the page it was clicked on.
func (s *server) setPageLang(w http.ResponseWriter, r *http.Request) {
	l, ok := parseLang(r.PathValue("lang"))
	if !ok {
		s.notFound(w, r)
		return
	}
	s.rememberLang(w, r, l)
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// rememberLang makes l the language of the visitor's pages from the next
// one on, for a year or until the toggle says otherwise.
func (s *server) rememberLang(w http.ResponseWriter, r *http.Request, l Lang) {
	http.SetCookie(w, &http.Cookie{
		Name: langCookie, Value: string(l), Path: "/", MaxAge: langCookieAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.auth.OverTLS(r),
	})
}

// followPreference makes the pages speak the language personID has
// recorded, as their messages do: Welsh for cy, English for en. Where none
// is recorded the messages are bilingual, Welsh first; the pages keep the
// language the visitor chose with the toggle, else Welsh.
func (s *server) followPreference(w http.ResponseWriter, r *http.Request, personID uuid.UUID) {
	person, err := s.svc.People.Get(r.Context(), personID)
	if err != nil {
		s.log.Warn("pages in the browser's language: the person's preference could not be read", zap.Stringer("person", personID), zap.Error(err))
		return
	}
	switch person.Language {
	case store.LanguageWelsh:
		s.rememberLang(w, r, Welsh)
	case store.LanguageEnglish:
		s.rememberLang(w, r, English)
	default:
		if _, err := r.Cookie(langCookie); err != nil {
			s.rememberLang(w, r, Welsh)
		}
	}
}
