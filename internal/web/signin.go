package web

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
)

// sendTimeout bounds the work for one sign-in request: the look-up, the
// link and the e-mail. It is done after the answer, so a slow mail server
// never shows in how long the page took, and the timing does not tell
// whether an address is known either.
const sendTimeout = 30 * time.Second

// signInData is the body of the sign-in pages.
type signInData struct {
	Email  string
	Secret string // the link's secret, on the confirmation page
	CSRF   string // the confirmation form's token (see confirmSignIn)
}

func (s *server) signInForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", s.newPage(r, "signin.title"))
}

// sendSignInLink e-mails a sign-in link to the address given, if it is a
// person's. The answer is the same whether it is or not (and whether the
// e-mail could be sent), and comes before any of the work, so neither it
// nor its timing tells who has an account. A client that asks too often is
// told to wait (429), as is everyone when the queue of e-mails is full
// (503); neither depends on the address.
//
// It takes no CSRF token: a forged request can only make a link go to the
// address's own mailbox, which the forger could ask for just as well
// themselves, and it signs nobody in. Login CSRF (signing a victim in as
// the attacker, so what they type lands in the attacker's account) is
// possible only where a link is redeemed, and signIn guards that.
func (s *server) sendSignInLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	email := strings.TrimSpace(r.PostFormValue("email"))
	if _, err := mail.ParseAddress(email); err != nil || strings.ContainsAny(email, "<>") {
		p := s.newPage(r, "signin.title")
		p.Errors = []fieldError{{Field: "email", Message: p.T("signin.email.invalid")}}
		p.Data = signInData{Email: email}
		s.render(w, r, http.StatusUnprocessableEntity, "signin", p)
		return
	}
	s.noticeUntrustedProxy(r)
	if !s.clients.allow(clientKey(r, s.trusted), s.now()) {
		s.log.Debug("sign-in refused: too many from one client")
		w.Header().Set("Retry-After", strconv.Itoa(int(clientLimit.every.Seconds())))
		s.errorPage(w, r, http.StatusTooManyRequests, "signin.toomany.title", "signin.toomany.body")
		return
	}
	if !s.links.add(linkRequest{email: email}) {
		s.log.Warn("sign-in refused: the queue of sign-in e-mails is full", zap.Int("queue", linkQueueSize))
		w.Header().Set("Retry-After", "60")
		s.errorPage(w, r, http.StatusServiceUnavailable, "signin.busy.title", "signin.busy.body")
		return
	}
	p := s.newPage(r, "signin.sent.title")
	p.Data = signInData{Email: email}
	s.render(w, r, http.StatusOK, "signin-sent", p)
}

// noticeUntrustedProxy warns, once, when a request carries
// X-Forwarded-For from a peer --trusted-proxy does not name: behind a
// proxy left unnamed, every client shares that proxy's sign-in limit.
func (s *server) noticeUntrustedProxy(r *http.Request) {
	if r.Header.Get("X-Forwarded-For") == "" {
		return
	}
	peer, ok := peerAddr(r)
	if !ok || isTrusted(peer, s.trusted) {
		return
	}
	s.untrustedProxy.Do(func() {
		s.log.Warn("a request came with X-Forwarded-For from a peer not named by --trusted-proxy; if it is a proxy of yours, name it, "+
			"or every client behind it shares one sign-in limit", zap.String("peer", peer.String()))
	})
}

// now is the pages' clock: the authenticator's, which tests move.
func (s *server) now() time.Time {
	if s.auth.Now != nil {
		return s.auth.Now()
	}
	return time.Now()
}

// mailLink makes a link for the person with the address asked about, if
// any, and sends it, unless the person has maxLiveLinks unused already. Failures are logged, never shown: showing them would tell the
// visitor the address is known.
func (s *server) mailLink(req linkRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	person, err := s.svc.People.ByEmail(ctx, req.email)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !person.ErasedAt.IsZero()) {
		return
	}
	if err != nil {
		s.log.Error("looking up a sign-in address", zap.Error(err))
		return
	}
	if s.mail == nil {
		s.log.Warn("a sign-in link was asked for but no mail sender is configured", zap.String("person", person.ID.String()))
		return
	}
	// A slot of the process's allowance, handed back unless an e-mail goes.
	now := s.now()
	slot := s.sends.ReserveN(now, 1)
	if !slot.OK() || slot.DelayFrom(now) > 0 {
		slot.CancelAt(now)
		s.log.Warn("sign-in link not sent: this process has sent as many sign-in e-mails as it may just now",
			zap.String("person", person.ID.String()))
		return
	}
	secret, expires, err := s.auth.NewSignInLinkUpTo(ctx, person.ID, maxLiveLinks)
	if err != nil {
		slot.CancelAt(now)
	}
	if errors.Is(err, store.ErrConflict) {
		s.log.Info("sign-in link not sent: the person has as many unused ones as are allowed", zap.String("person", person.ID.String()))
		return
	}
	if err != nil {
		s.log.Error("making a sign-in link", zap.String("person", person.ID.String()), zap.Error(err))
		return
	}
	if err := s.mail.Send(ctx, signInEmail(person, s.from, s.base+SignInPath(secret), expires)); err != nil {
		s.log.Error("sending a sign-in link", zap.String("person", person.ID.String()), zap.Error(err))
	}
}

// signInEmail is the e-mail carrying a sign-in link: in the person's
// language if they chose one, else bilingual with Welsh first, as the
// Welsh Language Standards ask.
func signInEmail(p store.Person, from delivery.Address, link string, expires time.Time) delivery.Email {
	langs := []Lang{Welsh, English}
	switch p.Language {
	case store.LanguageWelsh:
		langs = []Lang{Welsh}
	case store.LanguageEnglish:
		langs = []Lang{English}
	}
	var subject, text []string
	for _, l := range langs {
		subject = append(subject, l.T("mail.subject"))
		text = append(text, strings.Join([]string{
			l.T("mail.greeting") + " " + p.GivenName + ",",
			"",
			l.T("mail.body"),
			"",
			link,
			"",
			l.T("mail.expires") + " " + l.When(expires) + ".",
			l.T("mail.ignore"),
		}, "\n"))
	}
	return delivery.Email{
		From:    from,
		To:      delivery.Address{Name: strings.TrimSpace(p.GivenName + " " + p.FamilyName), Address: p.EmailAddress},
		Subject: strings.Join(subject, " / "),
		Text:    strings.Join(text, "\n\n----------\n\n") + "\n",
		Headers: map[string]string{"Auto-Submitted": "auto-generated"},
	}
}

// preSessionCookie carries the sign-in button's CSRF token before there
// is a session to derive one from; over TLS it is securePreSessionCookie,
// whose __Host- prefix keeps a sibling subdomain from planting a token of
// its own choosing beside its own link (login CSRF by cookie tossing).
const (
	preSessionCookie       = "signin_csrf"
	securePreSessionCookie = "__Host-" + preSessionCookie
)

// preSessionCookieFor is the sign-in button's cookie for r with value:
// over TLS __Host- (which must be Secure and for every path), else for
// the sign-in paths only.
func (s *server) preSessionCookieFor(r *http.Request, value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: preSessionCookie, Value: value, Path: "/signin/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode}
	if s.auth.OverTLS(r) {
		c.Name, c.Path, c.Secure = securePreSessionCookie, "/", true
	}
	return c
}

// confirmSignIn shows a button that signs in; it does not redeem the
// link, because mail scanners and link previews fetch links by GET and
// would use it up before the person clicks.
//
// The button's form carries a fresh token that is also set as a
// SameSite=Strict cookie (double submit): another site can make a browser
// POST an attacker's own link, but not send that cookie with it, so it
// cannot sign a visitor in as someone else.
func (s *server) confirmSignIn(w http.ResponseWriter, r *http.Request) {
	token := rand.Text()
	http.SetCookie(w, s.preSessionCookieFor(r, token, int(auth.DefaultLinkTTL.Seconds())))
	p := s.newPage(r, "signin.confirm.title")
	p.Data = signInData{Secret: r.PathValue("secret"), CSRF: token}
	s.render(w, r, http.StatusOK, "signin-confirm", p)
}

// fromConfirmPage says whether a sign-in POST came from our confirmation
// page: its form's token matches the Strict cookie that page set.
func (s *server) fromConfirmPage(r *http.Request) bool {
	c, err := r.Cookie(s.preSessionCookieFor(r, "", 0).Name)
	sent := r.PostFormValue(csrfField)
	return err == nil && c.Value != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sent)) == 1
}

// signIn redeems the link and starts a session. A request that did not
// come from the confirmation page is a 403 that leaves the link unused; an
// unknown, used or expired link is a 400 that changes nothing and offers
// a new link.
func (s *server) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if !s.fromConfirmPage(r) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf.title", "signin.confirm.forged")
		return
	}
	http.SetCookie(w, s.preSessionCookieFor(r, "", -1))
	pr, err := s.auth.SignIn(w, r, r.PathValue("secret"))
	if errors.Is(err, auth.ErrLinkUnusable) {
		p := s.newPage(r, "signin.unusable.title")
		p.Errors = []fieldError{{Field: "email", Message: p.T("signin.unusable.body")}}
		s.render(w, r, http.StatusBadRequest, "signin", p)
		return
	}
	if err != nil {
		s.serverError(w, r, "signing you in", err)
		return
	}
	s.log.Info("signed in", zap.String("person", pr.PersonID.String()), zap.String("role", string(pr.Role)))
	s.followPreference(w, r, pr.PersonID)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// signOut ends the session. It needs the CSRF token (another site must not
// sign people out) but no idempotency key: signing out twice is the same
// as once.
func (s *server) signOut(w http.ResponseWriter, r *http.Request) {
	if !s.checkCSRF(w, r) {
		return
	}
	if err := s.auth.SignOut(w, r); err != nil {
		s.serverError(w, r, "signing you out", err)
		return
	}
	seeOther(w, r, "/signin", "signedout")
}

// sessionsData is the body of the sessions page.
type sessionsData struct {
	Sessions []store.WebSession
	Current  uuid.UUID // this browser's session
}

// sessionsPage lists where the person is signed in, with a way to sign
// out of all of them (a lost or shared computer).
func (s *server) sessionsPage(w http.ResponseWriter, r *http.Request) {
	pr := principal(r)
	if !pr.ViaSession() {
		s.forbidden(w, r) // an API token has no browser sessions to see
		return
	}
	sessions, err := s.auth.Sessions(r.Context(), pr)
	if err != nil {
		s.serverError(w, r, "listing your sessions", err)
		return
	}
	p := s.newPage(r, "sessions.title")
	p.Data = sessionsData{Sessions: sessions, Current: pr.SessionID}
	s.render(w, r, http.StatusOK, "sessions", p)
}

// signOutEverywhere ends every session of the person, this one included.
func (s *server) signOutEverywhere(w http.ResponseWriter, r *http.Request) {
	if !principal(r).ViaSession() {
		s.forbidden(w, r) // a system's token must not sign its person's browsers out
		return
	}
	n, err := s.auth.SignOutEverywhere(w, r, principal(r))
	if err != nil {
		s.serverError(w, r, "signing you out everywhere", err)
		return
	}
	s.log.Info("signed out everywhere", zap.String("person", principal(r).PersonID.String()), zap.Int("sessions", n))
	seeOther(w, r, "/signin", "signedouteverywhere")
}
