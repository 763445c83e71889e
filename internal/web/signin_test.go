package web_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/web"
)

var linkInMail = regexp.MustCompile(`https?://\S+/signin/[A-Za-z0-9_-]+`)

// sessionCookie is the session cookie an answer sets, or nil.
func sessionCookie(a answer) *http.Cookie {
	for _, c := range a.Cookies() {
		if (c.Name == auth.SessionCookie || c.Name == auth.SecureSessionCookie) && c.Value != "" {
			return c
		}
	}
	return nil
}

// A person asks for a link, it arrives by e-mail, opening it does not use
// it up, the button signs them in once, and a second use is refused.
func TestSignInWithEmailedLink(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	s := newSite(t, siteOptions{log: zap.New(core)})
	p := s.person(store.RoleParticipant, "Eleri", "eleri.prosser@torfaen.example.org", store.LanguageUnknown)
	b := s.browser()

	if a := b.post("/signin", url.Values{"email": {"Eleri.Prosser@torfaen.example.org"}}); a.StatusCode != http.StatusOK ||
		!strings.Contains(a.body, "a sign-in link is on its way") {
		t.Fatalf("asking for a link: %d\n%s", a.StatusCode, a.body)
	}
	mail := s.waitForMail(1)[0]
	if !strings.Contains(mail.To, p.EmailAddress) {
		t.Errorf("mail to %q, want %s", mail.To, p.EmailAddress)
	}
	// No language chosen: bilingual, Welsh first.
	cy, en := strings.Index(mail.Text, "Defnyddiwch y ddolen"), strings.Index(mail.Text, "Use this link")
	if cy < 0 || en < 0 || cy > en {
		t.Errorf("want Welsh then English, got:\n%s", mail.Text)
	}
	link := linkInMail.FindString(mail.Text)
	if link == "" {
		t.Fatalf("no sign-in link in the e-mail:\n%s", mail.Text)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}

	// Opening the link (as a mail scanner would) only shows a button.
	for range 2 {
		if a := b.get(u.Path); a.StatusCode != http.StatusOK || !strings.Contains(a.body, `method="post" action="`+u.Path+`"`) {
			t.Fatalf("opening the link: %d\n%s", a.StatusCode, a.body)
		}
	}
	a := b.redeem(u.Path)
	if a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != "/" {
		t.Fatalf("signing in: %d to %q\n%s", a.StatusCode, a.Header.Get("Location"), a.body)
	}
	c := sessionCookie(a)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain HTTP", c)
	}
	if home := b.get("/"); home.StatusCode != http.StatusOK || !strings.Contains(home.body, "Eleri Prosser") {
		t.Errorf("home after signing in: %d\n%s", home.StatusCode, home.body)
	}

	// The same link again, from another browser: refused, no session.
	again := s.browser().redeem(u.Path)
	if again.StatusCode != http.StatusBadRequest || !strings.Contains(again.body, "expired or has already been used") ||
		sessionCookie(again) != nil {
		t.Errorf("reusing the link: %d, cookie %v\n%s", again.StatusCode, sessionCookie(again), again.body)
	}
	if !strings.Contains(again.body, `action="/signin"`) {
		t.Error("the refusal does not offer a new link")
	}

	// Nothing logged along the way, at any level, carries the link's
	// secret: whoever reads the log could sign in as Eleri.
	secret := path.Base(u.Path)
	for _, e := range logs.All() {
		if strings.Contains(e.Message, secret) || strings.Contains(fmt.Sprint(e.ContextMap()), secret) {
			t.Errorf("the link's secret is in the log: %q %v", e.Message, e.ContextMap())
		}
	}
	if logs.Len() == 0 {
		t.Error("nothing was logged: the check above saw nothing")
	}
}

// Login CSRF: another site cannot make a browser redeem a link (the
// attacker's own) without the confirmation page's Strict cookie and token;
// the refusal leaves the link usable.
func TestSignInNeedsTheConfirmationPage(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleParticipant, "Iwan", "iwan@example.org", store.LanguageEnglish)
	secret, _, err := s.auth.NewSignInLink(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	path := "/signin/" + secret
	victim := s.browser()
	for name, form := range map[string]url.Values{"no token": {}, "a guessed token": {"csrf": {"guess"}}} {
		if a := victim.post(path, form); a.StatusCode != http.StatusForbidden || sessionCookie(a) != nil {
			t.Errorf("%s without the page's cookie: %d, cookie %v\n%s", name, a.StatusCode, sessionCookie(a), a.body)
		}
	}
	// The token of a page opened in another browser is no good either.
	other := s.browser()
	stolen := formFields(t, other.get(path).body, path)
	if a := victim.post(path, stolen); a.StatusCode != http.StatusForbidden {
		t.Errorf("another browser's token: %d, want 403", a.StatusCode)
	}
	confirm := victim.get(path)
	var strict bool
	for _, c := range confirm.Cookies() {
		strict = strict || (c.Name == "signin_csrf" && c.SameSite == http.SameSiteStrictMode && c.HttpOnly)
	}
	if !strict {
		t.Errorf("the confirmation page sets no HttpOnly SameSite=Strict token cookie: %v", confirm.Cookies())
	}
	if a := victim.post(path, formFields(t, confirm.body, path)); a.StatusCode != http.StatusSeeOther || sessionCookie(a) == nil {
		t.Errorf("the refused attempts used the link up: %d\n%s", a.StatusCode, a.body)
	}
}

// Over TLS the session cookie is Secure and __Host- prefixed (host-only,
// path /), and a session cookie without the prefix, as a sibling
// subdomain could plant, is not taken.
func TestSessionCookieSecureOverTLS(t *testing.T) {
	s := newSite(t, siteOptions{tls: true})
	p := s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish)
	b := s.browser()
	c := sessionCookie(b.signIn(p))
	if c == nil || c.Name != auth.SecureSessionCookie || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
		c.Path != "/" || c.Domain != "" {
		t.Fatalf("session cookie over TLS %+v: want %s, Secure, HttpOnly, SameSite=Lax, Path=/, no Domain", c, auth.SecureSessionCookie)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.TLS = &tls.ConnectionState{}
	req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: c.Value})
	if _, err := s.auth.Identify(req); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("over TLS, a session in a cookie without the __Host- prefix: %v, want no credentials", err)
	}
	req = httptest.NewRequest(http.MethodGet, "/", nil)
	req.TLS = &tls.ConnectionState{}
	req.AddCookie(c)
	if who, err := s.auth.Identify(req); err != nil || who.PersonID != p.ID {
		t.Errorf("over TLS, the __Host- session cookie: %+v, %v; want %s", who, err, p.ID)
	}

	// The sign-in button's token is __Host- too: a token a sibling
	// subdomain planted without the prefix does not sign anyone in.
	secret, _, err := s.auth.NewSignInLink(t.Context(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	fresh := s.browser()
	confirm := fresh.get(web.SignInPath(secret))
	var button *http.Cookie
	for _, k := range confirm.Cookies() {
		button = k
	}
	if button == nil || button.Name != "__Host-signin_csrf" || !button.Secure || button.Path != "/" {
		t.Fatalf("the sign-in button's cookie over TLS: %+v, want __Host-signin_csrf, Secure, Path=/", button)
	}
	planted := s.browser()
	u, _ := url.Parse(s.srv.URL + "/signin/")
	planted.c.Jar.SetCookies(u, []*http.Cookie{{Name: "signin_csrf", Value: "planted", Path: "/signin/"}})
	if a := planted.post(web.SignInPath(secret), url.Values{"csrf": {"planted"}}); a.StatusCode != http.StatusForbidden || sessionCookie(a) != nil {
		t.Errorf("a sign-in with a planted, unprefixed token: %d, want 403 and no session", a.StatusCode)
	}
}

// A link past its lifetime is a 400 that starts no session, and signing
// in with a fresh one still works.
func TestExpiredLinkRefused(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleCoach, "Huw", "huw@example.org", store.LanguageWelsh)
	secret, _, err := s.auth.NewSignInLink(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.clock.advance(auth.DefaultLinkTTL + time.Minute)
	b := s.browser()
	a := b.redeem("/signin/" + secret)
	if a.StatusCode != http.StatusBadRequest || sessionCookie(a) != nil {
		t.Fatalf("expired link: %d, cookie %v\n%s", a.StatusCode, sessionCookie(a), a.body)
	}
	if home := b.get("/"); home.StatusCode != http.StatusSeeOther || home.Header.Get("Location") != "/signin" {
		t.Errorf("after an expired link, home answers %d to %q; want a redirect to sign in", home.StatusCode, home.Header.Get("Location"))
	}
	b.signIn(p)
}

// An unknown address gets exactly the page a known one gets, and no mail.
//
// The work for a sign-in request (the look-up, the link, the e-mail) is
// done by a sender goroutine after the answer, so no wait (a while, or for
// another e-mail) can show that none is coming. The requests run in a
// synctest bubble instead: synctest.Wait returns once every goroutine
// started in the bubble has exited or is durably blocked, and the senders
// exit when the queue is empty. After it, every e-mail the requests were
// ever going to send is in the outbox.
func TestUnknownAddressLooksTheSame(t *testing.T) {
	p := store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Gwen", FamilyName: "Prosser",
		EmailAddress: "gwen@example.org", LocalAuthority: "Torfaen", Theme: "communities", Language: store.LanguageEnglish}
	box := &outbox{}
	var unknown, known *httptest.ResponseRecorder
	synctest.Test(t, func(t *testing.T) {
		st := sqlitestore.OpenTest(t)
		if err := st.CreatePeople(t.Context(), []store.Person{p}); err != nil {
			t.Fatal(err)
		}
		pages := web.New(app.New(nil, st), web.Options{Mail: box, From: delivery.Address{Address: "infuse@example.org"},
			BaseURL: "http://journeys.example.org", Logger: zaptest.NewLogger(t)})
		ask := func(email string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(url.Values{"email": {email}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			pages.ServeHTTP(rec, req)
			return rec
		}
		unknown, known = ask("nobody@example.org"), ask(p.EmailAddress)
		synctest.Wait() // before the store closes: the senders use it
	})

	if unknown.Code != known.Code || strings.ReplaceAll(unknown.Body.String(), "nobody@", "") != strings.ReplaceAll(known.Body.String(), "gwen@", "") {
		t.Errorf("unknown address: %d\n%s\nknown: %d\n%s", unknown.Code, unknown.Body, known.Code, known.Body)
	}
	mails := box.sent()
	if len(mails) != 1 || mails[0].To.Address != p.EmailAddress {
		var to []string
		for _, m := range mails {
			to = append(to, m.To.Address)
		}
		t.Fatalf("asking for links for nobody@example.org and %s sent %d e-mails, to %q; want one, to %s", p.EmailAddress, len(mails), to, p.EmailAddress)
	}
	// Chose English: English only.
	if strings.Contains(mails[0].Text, "Defnyddiwch") || !strings.Contains(mails[0].Text, "Use this link") {
		t.Errorf("an English speaker's e-mail:\n%s", mails[0].Text)
	}
}

// outbox is a delivery.Sender that keeps what it is given.
type outbox struct {
	mu    sync.Mutex
	mails []delivery.Email
}

func (o *outbox) Send(_ context.Context, e delivery.Email) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.mails = append(o.mails, e)
	return nil
}

func (o *outbox) sent() []delivery.Email {
	o.mu.Lock()
	defer o.mu.Unlock()
	return slices.Clone(o.mails)
}

// A form without the session's CSRF token is refused and changes nothing.
func TestFormsNeedTheCSRFToken(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleParticipant, "Rhys", "rhys@example.org", store.LanguageEnglish)
	b := s.browser()
	b.signIn(p)
	for name, csrf := range map[string][]string{"missing": nil, "wrong": {strings.Repeat("0", 64)}} {
		form := url.Values{"language": {"cy"}, "idempotency_key": {name}, "csrf": csrf}
		if a := b.post("/language", form); a.StatusCode != http.StatusForbidden {
			t.Errorf("CSRF token %s: %d, want 403\n%s", name, a.StatusCode, a.body)
		}
	}
	if got := language(t, s, p); got != store.LanguageEnglish {
		t.Errorf("after refused forms the language is %q, want it unchanged (en)", got)
	}
}

// A form sent twice with the same idempotency key acts once and gets the
// same redirect both times.
func TestReplayedFormActsOnce(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleParticipant, "Nia", "nia@example.org", store.LanguageEnglish)
	b := s.browser()
	b.signIn(p)
	form := url.Values{"language": {"cy"}, "next": {"/"}, "idempotency_key": {"k-1"}, "csrf": {csrfOf(t, b)}}
	first := b.post("/language", form)
	if first.StatusCode != http.StatusSeeOther || language(t, s, p) != store.LanguageWelsh {
		t.Fatalf("setting the language: %d\n%s", first.StatusCode, first.body)
	}
	// Someone changes it back by other means; a replay must not undo that.
	if err := s.st.SetLanguage(context.Background(), p.ID, store.LanguageEnglish); err != nil {
		t.Fatal(err)
	}
	replay := b.post("/language", form)
	if replay.StatusCode != first.StatusCode || replay.Header.Get("Location") != first.Header.Get("Location") ||
		replay.Header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("replay: %d to %q (replayed %q); first: %d to %q", replay.StatusCode, replay.Header.Get("Location"),
			replay.Header.Get(idempotency.ReplayedHeader), first.StatusCode, first.Header.Get("Location"))
	}
	if got := language(t, s, p); got != store.LanguageEnglish {
		t.Errorf("the replay acted again: language %q", got)
	}
	// The same key with other answers is refused, nothing done.
	form.Set("language", "both")
	if a := b.post("/language", form); a.StatusCode != http.StatusUnprocessableEntity || language(t, s, p) != store.LanguageEnglish {
		t.Errorf("a reused key with other answers: %d\n%s", a.StatusCode, a.body)
	}
}

// Pages need a session and the right role.
func TestPagesNeedSessionAndRole(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleParticipant, "Owain", "owain@example.org", store.LanguageEnglish)
	anon := s.browser()
	for _, path := range []string{"/", "/intakes/" + p.ID.String(), "/journeys/" + p.ID.String(), "/sessions"} {
		if a := anon.get(path); a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != "/signin" {
			t.Errorf("%s without a session: %d to %q", path, a.StatusCode, a.Header.Get("Location"))
		}
	}
	if a := anon.post("/sessions/end", url.Values{"csrf": {"x"}, "idempotency_key": {"k"}}); a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != "/signin" {
		t.Errorf("signing out everywhere without a session: %d to %q", a.StatusCode, a.Header.Get("Location"))
	}
	b := s.browser()
	b.signIn(p)
	if a := b.get("/intakes/" + p.ID.String()); a.StatusCode != http.StatusForbidden {
		t.Errorf("a participant opening an intake: %d, want 403", a.StatusCode)
	}
	// Another's journey and no journey at all look the same.
	if a := b.get("/journeys/" + p.ID.String()); a.StatusCode != http.StatusNotFound {
		t.Errorf("a journey that is not there: %d, want 404", a.StatusCode)
	}
}

// The language toggle is remembered; without it the browser's preference
// decides; the toggle never redirects off the site.
func TestLanguageToggle(t *testing.T) {
	s := newSite(t, siteOptions{})
	b := s.browser()
	if a := b.get("/signin"); !strings.Contains(a.body, `<html lang="en">`) || !strings.Contains(a.body, "<h1>Sign in</h1>") {
		t.Errorf("default page:\n%s", a.body)
	}
	welshBrowser := s.browser()
	welshBrowser.lang = "cy-GB,cy;q=0.9,en;q=0.5"
	if a := welshBrowser.get("/signin"); !strings.Contains(a.body, `<html lang="cy">`) || !strings.Contains(a.body, "<h1>Mewngofnodi</h1>") {
		t.Errorf("a browser preferring Welsh:\n%s", a.body)
	}
	a := b.get("/lang/cy?next=" + url.QueryEscape("/signin"))
	if a.StatusCode != http.StatusSeeOther || a.Header.Get("Location") != "/signin" {
		t.Fatalf("toggle: %d to %q", a.StatusCode, a.Header.Get("Location"))
	}
	if a := b.get("/signin"); !strings.Contains(a.body, `<html lang="cy">`) || !strings.Contains(a.body, `lang="en" hreflang="en">English</a>`) {
		t.Errorf("after choosing Welsh:\n%s", a.body)
	}
	if a := b.get("/lang/en?next=" + url.QueryEscape("//evil.example/")); a.Header.Get("Location") != "/" {
		t.Errorf("toggle to another site went to %q", a.Header.Get("Location"))
	}
}

func language(t *testing.T, s *site, p store.Person) store.Language {
	t.Helper()
	got, err := s.st.GetPerson(context.Background(), p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got.Language
}

// csrfOf is the CSRF token on the signed-in browser's pages: on the home
// page, or the journey a participant's home page leads to.
func csrfOf(t *testing.T, b *browser) string {
	t.Helper()
	home := b.get("/")
	if home.StatusCode == http.StatusSeeOther {
		home = b.get(home.Header.Get("Location"))
	}
	return formFields(t, home.body, "/signout").Get("csrf")
}

// A person signed in on two browsers sees both on the sessions page, this
// one marked; signing out everywhere from one ends both, and nobody
// else's.
func TestSignOutEverywhere(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleCoach, "Nia", "nia@example.org", store.LanguageEnglish)
	other := s.person(store.RoleCoach, "Rhys", "rhys@example.org", store.LanguageEnglish)
	office, shared, rhys := s.browser(), s.browser(), s.browser()
	office.signIn(p)
	s.clock.advance(time.Minute)
	shared.signIn(p)
	rhys.signIn(other)

	// A system's API token for Nia can neither list nor end her sessions.
	token, _, err := s.st.CreateAPIToken(t.Context(), store.APIToken{PersonID: p.ID, Role: store.RoleCoach, Name: "crm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ method, path, body string }{{"GET", "/sessions", ""}, {"POST", "/sessions/end", "idempotency_key=k"}} {
		req, _ := http.NewRequest(c.method, s.srv.URL+c.path, strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s with an API token: %d, want 403", c.method, c.path, res.StatusCode)
		}
	}

	page := office.get("/sessions")
	if page.StatusCode != http.StatusOK || strings.Count(page.body, "<tr>") != 3 || strings.Count(page.body, "This browser") != 1 {
		t.Fatalf("sessions page: %d, want a header and two sessions, one marked as this browser\n%s", page.StatusCode, page.body)
	}
	// This browser's is the older one: listed second.
	if strings.Index(page.body, "This browser") < strings.LastIndex(page.body, "<tr>") {
		t.Errorf("this browser is not the second (older) session:\n%s", page.body)
	}
	form := formFields(t, page.body, "/sessions/end")
	a := office.post("/sessions/end", form)
	if a.StatusCode != http.StatusSeeOther || !strings.HasPrefix(a.Header.Get("Location"), "/signin") {
		t.Fatalf("sign out everywhere: %d to %q\n%s", a.StatusCode, a.Header.Get("Location"), a.body)
	}
	if landed := office.get(a.Header.Get("Location")); !strings.Contains(landed.body, "You have signed out everywhere.") {
		t.Errorf("after signing out everywhere:\n%s", landed.body)
	}
	for name, b := range map[string]*browser{"this browser": office, "the other browser": shared} {
		if home := b.get("/"); home.StatusCode != http.StatusSeeOther || home.Header.Get("Location") != "/signin" {
			t.Errorf("%s after signing out everywhere: %d to %q, want to sign in", name, home.StatusCode, home.Header.Get("Location"))
		}
	}
	if home := rhys.get("/"); home.StatusCode != http.StatusOK {
		t.Errorf("someone else's session after Nia signed out everywhere: %d, want it still open", home.StatusCode)
	}
}

// After signing in, the pages speak the language the person recorded,
// whatever their browser prefers: Welsh for cy, English for en, and where
// none is recorded the language the visitor chose with the toggle, else
// Welsh. The toggle still works after, and is remembered.
func TestPagesFollowTheRecordedLanguage(t *testing.T) {
	s := newSite(t, siteOptions{})
	for i, c := range []struct {
		what     string
		recorded store.Language
		browser  string
		toggled  string // chosen before signing in
		want     string
	}{
		{"Welsh recorded, an English browser", store.LanguageWelsh, "en-GB,en;q=0.9", "", "cy"},
		{"English recorded, a Welsh browser, Welsh toggled", store.LanguageEnglish, "cy", "cy", "en"},
		{"nothing recorded, an English browser", store.LanguageUnknown, "en-GB,en;q=0.9", "", "cy"},
		{"nothing recorded, English toggled", store.LanguageUnknown, "cy", "en", "en"},
	} {
		p := s.person(store.RoleCoordinator, "Megan", fmt.Sprintf("megan%d@example.org", i), c.recorded)
		b := s.browser()
		b.lang = c.browser
		if c.toggled != "" {
			b.get("/lang/" + c.toggled + "?next=/signin")
		}
		b.signIn(p)
		if got := b.get("/").Header.Get("Content-Language"); got != c.want {
			t.Errorf("%s: the first page after signing in is in %q, want %q", c.what, got, c.want)
		}
		other := map[string]string{"cy": "en", "en": "cy"}[c.want]
		b.get("/lang/" + other + "?next=/")
		for range 2 {
			if got := b.get("/").Header.Get("Content-Language"); got != other {
				t.Errorf("%s: after the toggle to %s the page is in %q", c.what, other, got)
			}
		}
	}
}

// Recording another language on the pages switches the pages to it too.
func TestRecordingALanguageSwitchesThePages(t *testing.T) {
	s := newSite(t, siteOptions{})
	p := s.person(store.RoleParticipant, "Aled", "aled@example.org", store.LanguageWelsh)
	b := s.browser()
	b.signIn(p)
	form := formFields(t, b.get("/").body, "/signout") // the session's CSRF token
	form.Set("idempotency_key", uuid.NewString())
	form.Set("language", "en")
	form.Set("next", "/")
	a := b.post("/language", form)
	if a.StatusCode != http.StatusSeeOther {
		t.Fatalf("recording English: %d\n%s", a.StatusCode, a.body)
	}
	if after := follow(b, follow(b, a)); after.Header.Get("Content-Language") != "en" {
		t.Errorf("after recording English the pages are in %q", after.Header.Get("Content-Language"))
	}
	// The same form again (a double click, a retry) is answered from the
	// first, and leads the same way: the pages switch all the same.
	b.get("/lang/cy?next=/")
	replay := b.post("/language", form)
	if replay.Header.Get(idempotency.ReplayedHeader) != "true" {
		t.Errorf("the form sent twice was not replayed: %d", replay.StatusCode)
	}
	if after := follow(b, follow(b, replay)); after.Header.Get("Content-Language") != "en" {
		t.Errorf("after the replay the pages are in %q", after.Header.Get("Content-Language"))
	}
	if stored, err := s.st.GetPerson(t.Context(), p.ID); err != nil || stored.Language != store.LanguageEnglish {
		t.Errorf("recorded: %q, %v", stored.Language, err)
	}
}

// The accessibility statement is open to everyone, in both languages, and
// every page links to it.
func TestTheAccessibilityStatement(t *testing.T) {
	s := newSite(t, siteOptions{})
	for lang, says := range map[string][]string{
		"en-GB": {"<h1>Accessibility statement</h1>", "WCAG", "2.2", "Equality and Human Rights Commission"},
		"cy":    {"<h1>Datganiad hygyrchedd</h1>", "WCAG", "2.2", "Comisiwn Cydraddoldeb a Hawliau Dynol"},
	} {
		b := s.browser()
		b.lang = lang
		expect(t, "the statement in "+lang, b.get("/accessibility"), http.StatusOK, says...)
	}
	b := s.browser()
	b.signIn(s.person(store.RoleCoordinator, "Megan", "megan@example.org", store.LanguageEnglish))
	for _, path := range []string{"/", "/signin", "/no-such-page"} {
		if a := b.get(path); !strings.Contains(a.body, `<a href="/accessibility">Accessibility</a>`) {
			t.Errorf("%s does not link to the accessibility statement", path)
		}
	}
}
