// Package auth says who is asking, for the JSON API and the web pages
// alike: a system presenting an API token (Authorization: Bearer), or a
// person whose browser holds a session cookie, started by redeeming a
// single-use sign-in link sent to their e-mail address. It also guards
// cookie-authenticated changes against cross-site request forgery.
//
// Every secret (token, link, session) is random, shown to its holder once
// and kept by the store only as a hash, so a copy of the database lets
// nobody in.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Defaults for how long secrets last.
const (
	// DefaultLinkTTL is short: a sign-in link sits in a mailbox, and
	// whoever reads the mailbox can use it.
	DefaultLinkTTL = 15 * time.Minute
	// DefaultSessionTTL covers a working day without signing in again.
	DefaultSessionTTL = 12 * time.Hour
)

// Names of the cookie that carries a browser's session: SessionCookie over
// plain HTTP (infuse dev), SecureSessionCookie over TLS. Its __Host- prefix
// makes browsers keep the cookie only if it is Secure, set by this very
// host, for every path: a page on a sibling subdomain, or any page over
// plain HTTP, cannot plant a session of its choosing (cookie tossing).
const (
	SessionCookie       = "infuse_session"
	SecureSessionCookie = "__Host-" + SessionCookie
)

// SessionCookieName is the session cookie's name for requests like r.
func (a *Authenticator) SessionCookieName(r *http.Request) string {
	if a.OverTLS(r) {
		return SecureSessionCookie
	}
	return SessionCookie
}

// Errors of Identify.
var (
	// ErrNoCredentials: the request carries neither a token nor a session.
	ErrNoCredentials = errors.New("no credentials")
	// ErrBadCredentials: it carries one that is unknown, revoked or expired.
	ErrBadCredentials = errors.New("unknown, revoked or expired credentials")
	// ErrLinkUnusable: a sign-in link that is unknown, used or expired.
	ErrLinkUnusable = errors.New("this sign-in link is unknown, has already been used or has expired")
)

// Principal is who a request acts as.
type Principal struct {
	PersonID uuid.UUID
	Role     store.Role
	// SessionID is the browser session's ID; uuid.Nil for API tokens.
	SessionID uuid.UUID
	// session is the browser session's secret; empty for API tokens. It
	// never leaves the process except in the cookie it came from.
	session string
}

// ViaSession reports whether the principal signed in with a browser
// session (so changes need a CSRF token) rather than an API token.
func (p Principal) ViaSession() bool { return p.session != "" }

// CSRFToken is the token a session's forms and scripts must send back with
// every change: derived from the session secret, so it needs no storage,
// changes with every sign-in, and a page on another site cannot know it.
// It is empty for API tokens, which browsers never send by themselves.
func (p Principal) CSRFToken() string {
	if p.session == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("infuse csrf\x00" + p.session))
	return hex.EncodeToString(sum[:])
}

// CheckCSRF reports whether submitted is the principal's CSRF token. API
// token requests need none.
func (p Principal) CheckCSRF(submitted string) bool {
	if !p.ViaSession() {
		return true
	}
	want := p.CSRFToken()
	return subtle.ConstantTimeCompare([]byte(want), []byte(submitted)) == 1
}

type principalKey struct{}

// NewContext returns ctx carrying p.
func NewContext(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext is the principal of an authenticated request's context.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// Credentials is the store as the authenticator uses it: API tokens,
// sign-in links and browser sessions, each kept only as a hash.
type Credentials interface {
	AuthenticateAPIToken(ctx context.Context, plaintext string, now time.Time) (store.APIToken, error)
	CreateSignInLinkUpTo(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time, maxLive int) (string, error)
	RedeemSignInLink(ctx context.Context, plaintext string, now time.Time) (uuid.UUID, error)
	CreateWebSession(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, store.WebSession, error)
	AuthenticateWebSession(ctx context.Context, plaintext string, now time.Time) (store.WebSession, error)
	EndWebSession(ctx context.Context, plaintext string) error
	WebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) ([]store.WebSession, error)
	EndWebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) (int, error)
}

// Authenticator checks credentials against the store and starts and ends
// browser sessions.
type Authenticator struct {
	Store Credentials
	// Now is the clock (time.Now when nil); tests move it to expire things.
	Now        func() time.Time
	LinkTTL    time.Duration // DefaultLinkTTL when zero
	SessionTTL time.Duration // DefaultSessionTTL when zero
	// HTTPS says the site is served over https (its base URL is), so
	// every request counts as over TLS even where TLS ends at a proxy:
	// cookies are Secure and __Host-, and answers carry HSTS.
	HTTPS bool
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Identify finds who r acts as: an API token in an Authorization header
// if there is one (a bad one is refused even if a cookie is present, so a
// caller learns its token is wrong), else the session cookie.
func (a *Authenticator) Identify(r *http.Request) (Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return Principal{}, fmt.Errorf("%w: the Authorization header is not \"Bearer TOKEN\"", ErrBadCredentials)
		}
		tok, err := a.Store.AuthenticateAPIToken(r.Context(), token, a.now())
		if errors.Is(err, store.ErrNotFound) {
			return Principal{}, fmt.Errorf("%w: the API token is not known, has been revoked or has expired, or its person's role has changed", ErrBadCredentials)
		}
		if err != nil {
			return Principal{}, err
		}
		return Principal{PersonID: tok.PersonID, Role: tok.Role}, nil
	}
	c, err := r.Cookie(a.SessionCookieName(r))
	if err != nil || c.Value == "" {
		return Principal{}, ErrNoCredentials
	}
	s, err := a.Store.AuthenticateWebSession(r.Context(), c.Value, a.now())
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: the session has ended; sign in again", ErrBadCredentials)
	}
	if err != nil {
		return Principal{}, err
	}
	return Principal{PersonID: s.PersonID, Role: s.Role, SessionID: s.ID, session: c.Value}, nil
}

// NewSignInLink makes a single-use sign-in secret for a person, valid for
// LinkTTL; the caller puts it in a link and e-mails it to them.
func (a *Authenticator) NewSignInLink(ctx context.Context, personID uuid.UUID) (secret string, expires time.Time, err error) {
	return a.NewSignInLinkUpTo(ctx, personID, 0)
}

// NewSignInLinkUpTo is NewSignInLink unless the person already has maxLive
// unused links (0: no limit): then it is store.ErrConflict.
func (a *Authenticator) NewSignInLinkUpTo(ctx context.Context, personID uuid.UUID, maxLive int) (secret string, expires time.Time, err error) {
	now := a.now()
	expires = now.Add(orDefault(a.LinkTTL, DefaultLinkTTL))
	secret, err = a.Store.CreateSignInLinkUpTo(ctx, personID, now, expires, maxLive)
	return secret, expires, err
}

// SignIn redeems a sign-in link secret, starts a session for its person
// and sets the session cookie on w: HttpOnly (scripts cannot read it),
// SameSite=Lax (other sites cannot send it with their forms), and Secure
// when the request came over TLS.
func (a *Authenticator) SignIn(w http.ResponseWriter, r *http.Request, linkSecret string) (Principal, error) {
	now := a.now()
	personID, err := a.Store.RedeemSignInLink(r.Context(), linkSecret, now)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, ErrLinkUnusable
	}
	if err != nil {
		return Principal{}, err
	}
	ttl := orDefault(a.SessionTTL, DefaultSessionTTL)
	secret, s, err := a.Store.CreateWebSession(r.Context(), personID, now, now.Add(ttl))
	if err != nil {
		return Principal{}, err
	}
	http.SetCookie(w, a.sessionCookie(r, secret, int(ttl/time.Second)))
	return Principal{PersonID: s.PersonID, Role: s.Role, SessionID: s.ID, session: secret}, nil
}

// SignOutEverywhere ends every open session of p's person, this one
// included, clears the cookie, and says how many sessions it ended.
func (a *Authenticator) SignOutEverywhere(w http.ResponseWriter, r *http.Request, p Principal) (int, error) {
	http.SetCookie(w, a.sessionCookie(r, "", -1))
	return a.Store.EndWebSessionsOf(r.Context(), p.PersonID, a.now())
}

// Sessions lists the open sessions of p's person, newest first.
func (a *Authenticator) Sessions(ctx context.Context, p Principal) ([]store.WebSession, error) {
	return a.Store.WebSessionsOf(ctx, p.PersonID, a.now())
}

// SignOut ends the request's session, if any, and clears the cookie.
func (a *Authenticator) SignOut(w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, a.sessionCookie(r, "", -1))
	c, err := r.Cookie(a.SessionCookieName(r))
	if err != nil || c.Value == "" {
		return nil
	}
	return a.Store.EndWebSession(r.Context(), c.Value)
}

func (a *Authenticator) sessionCookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: a.SessionCookieName(r), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: a.OverTLS(r),
	}
}

// HTTPSBaseURL says whether base, a site's base URL, is https (in any
// letter case): the value for Authenticator.HTTPS.
func HTTPSBaseURL(base string) bool {
	u, err := url.Parse(base)
	return err == nil && u.Scheme == "https" // url.Parse lower-cases the scheme
}

// OverTLS reports whether r reached the site over TLS: the site is served
// over https (HTTPS, from its base URL, when TLS ends at a proxy in front)
// or r came over TLS itself. X-Forwarded-Proto is not believed: anyone
// can send it, and a site whose proxy forgot it would hand out cookies
// without Secure.
func (a *Authenticator) OverTLS(r *http.Request) bool {
	return a.HTTPS || r.TLS != nil
}
