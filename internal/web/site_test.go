package web_test

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/infuse-cymru/journeys/dev/devmail"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/web"
)

// clock is the authenticator's clock, which tests move to expire links.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// site is the pages served over real HTTP, on a real store, e-mailing
// through real SMTP to a dev mailbox on loopback.
type site struct {
	t     *testing.T
	st    store.Store
	svc   *app.App
	auth  *auth.Authenticator
	clock *clock
	box   *devmail.Server
	srv   *httptest.Server
}

// siteOptions say how to start a site.
type siteOptions struct {
	tls bool
	// svc, when set, is the application to serve (with Temporal) and st
	// its store; else one on a new SQLite store without Temporal, enough
	// for sign-in.
	svc *app.App
	st  store.Store
	// wrap, when set, stands in front of the pages: a test's way to see,
	// or hold, what passes between a browser and the pages.
	wrap func(http.Handler) http.Handler
	// log, when set, is the pages' logger (else the test's).
	log *zap.Logger
}

func newSite(t *testing.T, o siteOptions) *site {
	t.Helper()
	s := &site{t: t, clock: &clock{}, svc: o.svc, st: o.st}
	if s.svc == nil {
		s.st = sqlitestore.OpenTest(t)
		s.svc = app.New(nil, s.st)
	}
	s.auth = &auth.Authenticator{Store: s.st, Now: s.clock.Now}
	box, err := devmail.Start(devmail.Options{Dir: t.TempDir(), Port: 0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = box.Close() })
	s.box = box
	sender, err := delivery.NewSMTP(delivery.SMTPConfig{Host: box.Host(), Port: box.Port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// The handler needs the server's address for links in e-mails, and
	// the server needs the handler: the handler is filled in before any
	// request arrives.
	var h http.Handler
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) })
	if o.tls {
		s.srv = httptest.NewTLSServer(serve)
	} else {
		s.srv = httptest.NewServer(serve)
	}
	h = web.New(s.svc, web.Options{
		Auth: s.auth, Mail: sender, From: delivery.Address{Name: "Infuse", Address: "infuse@example.org"},
		BaseURL: s.srv.URL, Logger: cmp.Or(o.log, zaptest.NewLogger(t)),
	})
	if o.wrap != nil {
		h = o.wrap(h)
	}
	t.Cleanup(s.srv.Close)
	return s
}

// person adds a person to the store.
func (s *site) person(role store.Role, given, email string, lang store.Language) store.Person {
	s.t.Helper()
	p := store.Person{
		ID: uuid.New(), Role: role, GivenName: given, FamilyName: "Prosser", EmailAddress: email,
		LocalAuthority: "Torfaen", Language: lang,
	}
	if role == store.RoleParticipant {
		p.Theme = "communities"
	}
	if err := s.st.CreatePeople(context.Background(), []store.Person{p}); err != nil {
		s.t.Fatal(err)
	}
	return p
}

// browser is an HTTP client with its own cookies that does not follow
// redirects, so tests see each answer.
type browser struct {
	t    *testing.T
	site *site
	c    *http.Client
	// lang, when set, is sent as Accept-Language.
	lang string
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	// A copy: the server's client is one value, and browsers must not
	// share a cookie jar.
	c := *s.srv.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: s.t, site: s, c: &c}
}

// answer is a response with its body read.
type answer struct {
	*http.Response
	body string
}

func (b *browser) do(method, path string, form url.Values) answer {
	b.t.Helper()
	a, err := b.send(method, path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	return a
}

// send is do for a goroutine other than the test's, which must not stop
// the test: it returns what went wrong instead.
func (b *browser) send(method, path string, form url.Values) (answer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.site.srv.URL+path, body)
	if err != nil {
		return answer{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	return answer{Response: resp, body: string(data)}, nil
}

func (b *browser) get(path string) answer                   { return b.do(http.MethodGet, path, nil) }
func (b *browser) post(path string, form url.Values) answer { return b.do(http.MethodPost, path, form) }

// signIn signs p in with a link made directly, as `infuse dev` does.
func (b *browser) signIn(p store.Person) answer {
	b.t.Helper()
	secret, _, err := b.site.auth.NewSignInLink(context.Background(), p.ID)
	if err != nil {
		b.t.Fatal(err)
	}
	a := b.redeem(web.SignInPath(secret))
	if a.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("signing %s in: %d\n%s", p.GivenName, a.StatusCode, a.body)
	}
	return a
}

// redeem opens a sign-in link and presses its button, as a person does.
func (b *browser) redeem(path string) answer {
	b.t.Helper()
	confirm := b.get(path)
	if confirm.StatusCode != http.StatusOK {
		b.t.Fatalf("opening %s: %d\n%s", path, confirm.StatusCode, confirm.body)
	}
	return b.post(path, formFields(b.t, confirm.body, path))
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// formFields are the hidden fields of the first form on a page whose
// action is action.
func formFields(t *testing.T, page, action string) url.Values {
	t.Helper()
	i := strings.Index(page, `action="`+action+`"`)
	if i < 0 {
		t.Fatalf("no form posting to %s on the page:\n%s", action, page)
	}
	end := strings.Index(page[i:], "</form>")
	v := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page[i:i+end], -1) {
		v.Set(m[1], m[2])
	}
	return v
}

// waitForMail waits until the mailbox holds n messages and returns them.
func (s *site) waitForMail(n int) []devmail.Message {
	s.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := devmail.List(s.box.Dir())
		if err != nil {
			s.t.Fatal(err)
		}
		if len(list) >= n {
			out := make([]devmail.Message, len(list))
			for i, sum := range list {
				if out[i], err = devmail.Read(s.box.Dir(), sum.File); err != nil {
					s.t.Fatal(err)
				}
			}
			return out
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the mailbox has %d messages after 10 s, want %d", len(list), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
