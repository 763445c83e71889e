package auth_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

type setup struct {
	a              *auth.Authenticator
	st             store.Store
	coach, partner store.Person
	now            time.Time
}

func newSetup(t *testing.T) *setup {
	t.Helper()
	st := sqlitestore.OpenTest(t)
	s := &setup{st: st, now: time.Now(),
		coach:   store.Person{ID: uuid.New(), Role: store.RoleCoach, GivenName: "Nia", EmailAddress: "nia@example.org"},
		partner: store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Aled", EmailAddress: "aled@example.org", LocalAuthority: "Newport", Theme: "communities"},
	}
	if err := st.CreatePeople(context.Background(), []store.Person{s.coach, s.partner}); err != nil {
		t.Fatal(err)
	}
	s.a = &auth.Authenticator{Store: st, Now: func() time.Time { return s.now }}
	return s
}

// signIn redeems a fresh link for p and returns the cookie set.
func (s *setup) signIn(t *testing.T, p store.Person, r *http.Request) (*http.Cookie, auth.Principal) {
	t.Helper()
	secret, expires, err := s.a.NewSignInLink(context.Background(), p.ID)
	if err != nil || !expires.Equal(s.now.Add(auth.DefaultLinkTTL)) {
		t.Fatal(expires, err)
	}
	rec := httptest.NewRecorder()
	pr, err := s.a.SignIn(rec, r, secret)
	if err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != s.a.SessionCookieName(r) {
		t.Fatalf("cookies: %v", cookies)
	}
	return cookies[0], pr
}

func request(header string, c *http.Cookie) *http.Request {
	r := httptest.NewRequest("GET", "/api/me", nil)
	if header != "" {
		r.Header.Set("Authorization", header)
	}
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func TestIdentifyPrecedence(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	token, _, err := s.st.CreateAPIToken(ctx, store.APIToken{PersonID: s.coach.ID, Role: store.RoleCoach, Name: "crm"})
	if err != nil {
		t.Fatal(err)
	}
	cookie, _ := s.signIn(t, s.partner, httptest.NewRequest("GET", "/signin", nil))

	p, err := s.a.Identify(request("Bearer "+token, cookie))
	if err != nil || p.PersonID != s.coach.ID || p.Role != store.RoleCoach || p.ViaSession() {
		t.Errorf("token and cookie: %+v %v; the token wins", p, err)
	}
	if p, err := s.a.Identify(request("bearer "+token, nil)); err != nil || p.PersonID != s.coach.ID {
		t.Errorf("lower-case scheme: %+v %v", p, err)
	}
	p, err = s.a.Identify(request("", cookie))
	if err != nil || p.PersonID != s.partner.ID || p.Role != store.RoleParticipant || !p.ViaSession() {
		t.Errorf("cookie alone: %+v %v", p, err)
	}
	for _, h := range []string{"Bearer nope", "Basic YTpi", "Bearer ", "Bearer"} {
		if _, err := s.a.Identify(request(h, cookie)); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("%q with a good cookie: %v, want %v (a bad token is never covered up by a cookie)", h, err, auth.ErrBadCredentials)
		}
	}
	if _, err := s.a.Identify(request("", nil)); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("nothing: %v", err)
	}
	if _, err := s.a.Identify(request("", &http.Cookie{Name: auth.SessionCookie, Value: "made-up"})); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("unknown session: %v", err)
	}
	// Only the session cookie counts.
	if _, err := s.a.Identify(request("", &http.Cookie{Name: "other", Value: cookie.Value})); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("another cookie's name: %v", err)
	}
}

func TestSessionExpiresAndEnds(t *testing.T) {
	s := newSetup(t)
	cookie, _ := s.signIn(t, s.partner, httptest.NewRequest("GET", "/signin", nil))
	s.now = s.now.Add(auth.DefaultSessionTTL - time.Minute)
	if _, err := s.a.Identify(request("", cookie)); err != nil {
		t.Errorf("just before it expires: %v", err)
	}
	s.now = s.now.Add(2 * time.Minute)
	if _, err := s.a.Identify(request("", cookie)); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("expired session: %v", err)
	}

	// Signing out ends the session for good and clears the cookie.
	s.now = time.Now()
	cookie, _ = s.signIn(t, s.partner, httptest.NewRequest("GET", "/signin", nil))
	rec := httptest.NewRecorder()
	if err := s.a.SignOut(rec, request("", cookie)); err != nil {
		t.Fatal(err)
	}
	if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 || c[0].Value != "" {
		t.Errorf("sign-out cookie: %v", c)
	}
	if _, err := s.a.Identify(request("", cookie)); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("after signing out: %v", err)
	}
}

func TestSignInLinks(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	secret, _, err := s.a.NewSignInLink(ctx, s.coach.ID)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/signin", nil)
	if _, err := s.a.SignIn(httptest.NewRecorder(), r, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.SignIn(httptest.NewRecorder(), r, secret); !errors.Is(err, auth.ErrLinkUnusable) {
		t.Errorf("a link used twice: %v", err)
	}
	secret, _, err = s.a.NewSignInLink(ctx, s.coach.ID)
	if err != nil {
		t.Fatal(err)
	}
	s.now = s.now.Add(auth.DefaultLinkTTL + time.Second)
	rec := httptest.NewRecorder()
	if _, err := s.a.SignIn(rec, r, secret); !errors.Is(err, auth.ErrLinkUnusable) || len(rec.Result().Cookies()) != 0 {
		t.Errorf("an expired link: %v %v", err, rec.Result().Cookies())
	}
	if _, err := s.a.SignIn(httptest.NewRecorder(), r, "made-up"); !errors.Is(err, auth.ErrLinkUnusable) {
		t.Errorf("an unknown link: %v", err)
	}
}

func TestCookieFlags(t *testing.T) {
	s := newSetup(t)
	plain := httptest.NewRequest("GET", "http://infuse.example/signin", nil)
	direct := httptest.NewRequest("GET", "https://infuse.example/signin", nil)
	direct.TLS = &tls.ConnectionState{}
	proxied := httptest.NewRequest("GET", "http://infuse.example/signin", nil)
	https := *s.a
	https.HTTPS = true // TLS ends at a proxy in front; the base URL is https
	for _, c := range []struct {
		name   string
		a      *auth.Authenticator
		r      *http.Request
		secure bool
	}{{"plain HTTP", s.a, plain, false}, {"TLS", s.a, direct, true}, {"behind a TLS proxy", &https, proxied, true}} {
		s := *s
		s.a = c.a
		cookie, _ := s.signIn(t, s.partner, c.r)
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure != c.secure || cookie.Path != "/" ||
			cookie.MaxAge != int(auth.DefaultSessionTTL/time.Second) || len(cookie.Value) < 20 {
			t.Errorf("%s: cookie %+v", c.name, cookie)
		}
		// Over TLS the __Host- prefix: browsers keep it only Secure, host-only, path /.
		if want := map[bool]string{false: auth.SessionCookie, true: auth.SecureSessionCookie}[c.secure]; cookie.Name != want || cookie.Domain != "" {
			t.Errorf("%s: cookie %s (domain %q), want %s and no domain", c.name, cookie.Name, cookie.Domain, want)
		}
	}
}

func TestCSRF(t *testing.T) {
	s := newSetup(t)
	ctx := context.Background()
	cookie, signedIn := s.signIn(t, s.partner, httptest.NewRequest("GET", "/signin", nil))
	p, err := s.a.Identify(request("", cookie))
	if err != nil {
		t.Fatal(err)
	}
	tok := p.CSRFToken()
	if len(tok) != 64 || tok != signedIn.CSRFToken() {
		t.Errorf("CSRF token %q; at sign-in %q", tok, signedIn.CSRFToken())
	}
	if !p.CheckCSRF(tok) || p.CheckCSRF("") || p.CheckCSRF(tok[:63]) || p.CheckCSRF(tok+"0") {
		t.Error("CheckCSRF accepts something other than the session's token")
	}
	// Another session of the same person has another token.
	other, _ := s.signIn(t, s.partner, httptest.NewRequest("GET", "/signin", nil))
	q, err := s.a.Identify(request("", other))
	if err != nil {
		t.Fatal(err)
	}
	if q.CSRFToken() == tok || q.CheckCSRF(tok) {
		t.Error("one session's CSRF token works for another")
	}
	// API tokens need none, and have none.
	token, _, err := s.st.CreateAPIToken(ctx, store.APIToken{PersonID: s.coach.ID, Role: store.RoleCoach, Name: "crm"})
	if err != nil {
		t.Fatal(err)
	}
	api, err := s.a.Identify(request("Bearer "+token, nil))
	if err != nil || api.CSRFToken() != "" || !api.CheckCSRF("") {
		t.Errorf("API token principal: %+v %v", api, err)
	}
	// The principal travels in the context.
	if got, ok := auth.FromContext(auth.NewContext(ctx, p)); !ok || got.PersonID != s.partner.ID || got.CSRFToken() != tok {
		t.Errorf("FromContext: %+v %v", got, ok)
	}
	if _, ok := auth.FromContext(ctx); ok {
		t.Error("FromContext found a principal in an empty context")
	}
}

// A request is over TLS if it came over TLS, or the site is served over
// https (TLS ends at a proxy); X-Forwarded-Proto, which anyone can send,
// is not believed.
func TestOverTLS(t *testing.T) {
	plainSite, httpsSite := &auth.Authenticator{}, &auth.Authenticator{HTTPS: true}
	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	claims := httptest.NewRequest(http.MethodGet, "/", nil)
	claims.Header.Set("X-Forwarded-Proto", "https")
	direct := httptest.NewRequest(http.MethodGet, "/", nil)
	direct.TLS = &tls.ConnectionState{}
	for _, c := range []struct {
		name string
		a    *auth.Authenticator
		r    *http.Request
		want bool
	}{
		{"plain, on a plain site", plainSite, plain, false},
		{"X-Forwarded-Proto: https, on a plain site", plainSite, claims, false},
		{"TLS, on a plain site", plainSite, direct, true},
		{"plain, on an https site", httpsSite, plain, true},
	} {
		if got := c.a.OverTLS(c.r); got != c.want {
			t.Errorf("%s: OverTLS = %v, want %v", c.name, got, c.want)
		}
	}
}
