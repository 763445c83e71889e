package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/delivery"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/sqlitestore"
	"github.com/infuse-cymru/journeys/web"
)

// signInBench is the pages on a real SQLite store with people, in a
// synctest bubble: its clock moves only when the test sleeps, and
// synctest.Wait lets every sign-in e-mail the requests so far asked for be
// sent first.
type signInBench struct {
	t      *testing.T
	pages  http.Handler
	people []store.Person
}

func newSignInBench(t *testing.T, mail delivery.Sender, people int) *signInBench {
	st := sqlitestore.OpenTest(t)
	b := &signInBench{t: t}
	for i := range people {
		b.people = append(b.people, store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Person", FamilyName: fmt.Sprint(i),
			EmailAddress: fmt.Sprintf("person%d@example.org", i), LocalAuthority: "Torfaen", Theme: "communities"})
	}
	if err := st.CreatePeople(t.Context(), b.people); err != nil {
		t.Fatal(err)
	}
	b.pages = web.New(starter.New(nil, st), web.Options{Mail: mail, From: delivery.Address{Address: "infuse@example.org"},
		BaseURL: "http://journeys.example.org", Logger: zap.NewNop()})
	return b
}

// ask asks for a sign-in link for email from peer (host:port), through
// our proxy adding forwarded when it is not empty.
func (b *signInBench) ask(email, peer, forwarded string) int {
	req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(url.Values{"email": {email}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = peer
	if forwarded != "" {
		req.Header.Set("X-Forwarded-For", forwarded)
	}
	rec := httptest.NewRecorder()
	b.pages.ServeHTTP(rec, req)
	if rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusServiceUnavailable {
		if rec.Header().Get("Retry-After") == "" {
			b.t.Errorf("%d without Retry-After", rec.Code)
		}
	}
	return rec.Code
}

// TestSignInLimitedPerClient: a client may ask five times at once, then
// once a minute, whichever addresses it asks about; another client is not
// held up by it. Behind our proxy (a private peer) the client is the last
// X-Forwarded-For hop; anyone else's X-Forwarded-For is not believed.
func TestSignInLimitedPerClient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSignInBench(t, &outbox{}, 0)
		for i := range 5 {
			if code := b.ask(fmt.Sprintf("someone%d@example.org", i), "198.51.100.7:4000", ""); code != http.StatusOK {
				t.Fatalf("request %d: %d, want 200", i+1, code)
			}
		}
		if code := b.ask("someone5@example.org", "198.51.100.7:4001", ""); code != http.StatusTooManyRequests {
			t.Errorf("sixth request at once: %d, want 429", code)
		}
		// A forged X-Forwarded-For from a public peer changes nothing.
		if code := b.ask("someone6@example.org", "198.51.100.7:4002", "203.0.113.99"); code != http.StatusTooManyRequests {
			t.Errorf("sixth request with its own X-Forwarded-For: %d, want 429", code)
		}
		if code := b.ask("someone7@example.org", "198.51.100.8:4000", ""); code != http.StatusOK {
			t.Errorf("another client: %d, want 200", code)
		}
		time.Sleep(time.Minute)
		if code := b.ask("someone8@example.org", "198.51.100.7:4003", ""); code != http.StatusOK {
			t.Errorf("a minute later: %d, want 200", code)
		}
		if code := b.ask("someone9@example.org", "198.51.100.7:4004", ""); code != http.StatusTooManyRequests {
			t.Errorf("and again at once: %d, want 429", code)
		}

		// Through our proxy: each client behind it has its own limit,
		// named by the hop the proxy added last.
		for i := range 5 {
			if code := b.ask("x@example.org", "10.0.0.2:80", fmt.Sprintf("192.0.2.50, 203.0.113.%d", i)); code != http.StatusOK {
				t.Errorf("client %d behind the proxy: %d, want 200", i, code)
			}
		}
		for range 5 {
			b.ask("x@example.org", "10.0.0.2:80", "203.0.113.200")
		}
		if code := b.ask("x@example.org", "10.0.0.2:80", "192.0.2.50, 203.0.113.200"); code != http.StatusTooManyRequests {
			t.Errorf("a client behind the proxy naming another first hop: %d, want 429", code)
		}
		synctest.Wait()
	})
}

// TestSignInLimitedPerAddress: however many clients ask, one person is
// sent three links at once, then one every five minutes.
func TestSignInLimitedPerAddress(t *testing.T) {
	box := &outbox{}
	synctest.Test(t, func(t *testing.T) {
		b := newSignInBench(t, box, 1)
		to := b.people[0].EmailAddress
		for i := range 6 {
			if code := b.ask(to, fmt.Sprintf("198.51.100.%d:4000", i), ""); code != http.StatusOK {
				t.Fatalf("request %d: %d, want 200 (the same page however many were sent)", i+1, code)
			}
		}
		synctest.Wait()
		if n := len(box.sent()); n != 3 {
			t.Errorf("six requests at once sent %d e-mails, want 3", n)
		}
		time.Sleep(5 * time.Minute)
		b.ask(to, "198.51.100.50:4000", "")
		b.ask(to, "198.51.100.51:4000", "")
		synctest.Wait()
		if n := len(box.sent()); n != 4 {
			t.Errorf("two more five minutes later: %d e-mails in all, want 4", n)
		}
	})
}

// TestSignInQueueBounded: while the mail server is slow, sign-in e-mails
// wait in a queue of a hundred for four senders; past that, people are
// told to try again in a minute, and nothing more waits.
func TestSignInQueueBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Made in the bubble: a wait on its channel counts as blocked.
		slow := &stalledMail{release: make(chan struct{})}
		b := newSignInBench(t, slow, 4)
		client := 0
		ask := func(email string) int {
			client++
			return b.ask(email, fmt.Sprintf("198.51.%d.%d:4000", client/250, client%250), "")
		}
		for _, p := range b.people {
			if code := ask(p.EmailAddress); code != http.StatusOK {
				t.Fatalf("asking for %s: %d", p.EmailAddress, code)
			}
		}
		synctest.Wait() // the four senders are each held by the mail server
		if n := slow.sending.Load(); n != 4 {
			t.Fatalf("%d e-mails being sent, want 4", n)
		}
		for i := range 100 {
			if code := ask(fmt.Sprintf("waiting%d@example.org", i)); code != http.StatusOK {
				t.Fatalf("queued request %d: %d, want 200", i+1, code)
			}
		}
		if code := ask("one.too.many@example.org"); code != http.StatusServiceUnavailable {
			t.Errorf("with the queue full: %d, want 503", code)
		}
		close(slow.release)
		synctest.Wait()
		if code := ask("later@example.org"); code != http.StatusOK {
			t.Errorf("once the queue drained: %d, want 200", code)
		}
		synctest.Wait()
	})
}

// stalledMail is a mail server that takes each e-mail only once released.
type stalledMail struct {
	sending atomic.Int32
	release chan struct{}
}

func (m *stalledMail) Send(ctx context.Context, _ delivery.Email) error {
	m.sending.Add(1)
	select {
	case <-m.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
