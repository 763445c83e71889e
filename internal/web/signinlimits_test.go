package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/web"
)

// signInBench is the pages on a real SQLite store with people, in a
// synctest bubble: its clock moves only when the test sleeps, and
// synctest.Wait lets every sign-in e-mail the requests so far asked for be
// sent first.
type signInBench struct {
	t      *testing.T
	pages  *web.Pages
	people []store.Person
}

func newSignInBench(t *testing.T, mail delivery.Sender, people int, trusted ...netip.Prefix) *signInBench {
	st := sqlitestore.OpenTest(t)
	b := &signInBench{t: t}
	for i := range people {
		b.people = append(b.people, store.Person{ID: uuid.New(), Role: store.RoleParticipant, GivenName: "Person", FamilyName: fmt.Sprint(i),
			EmailAddress: fmt.Sprintf("person%d@example.org", i), LocalAuthority: "Torfaen", Theme: "communities"})
	}
	if err := st.CreatePeople(t.Context(), b.people); err != nil {
		t.Fatal(err)
	}
	b.pages = web.New(app.New(nil, st), web.Options{Mail: mail, From: delivery.Address{Address: "infuse@example.org"},
		BaseURL: "http://journeys.example.org", TrustedProxies: trusted, Logger: zap.NewNop()})
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
// held up by it. X-Forwarded-For is believed only from a trusted proxy.
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
		// X-Forwarded-For from a peer that is not a trusted proxy changes nothing.
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
		// An IPv6 client is its /64: other addresses in it share the limit.
		for i := range 5 {
			b.ask("v6@example.org", fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1), "")
		}
		if code := b.ask("v6@example.org", "[2001:db8:1:2:ffff::1]:443", ""); code != http.StatusTooManyRequests {
			t.Errorf("a sixth address in the same /64: %d, want 429", code)
		}
		synctest.Wait()
	})
}

// TestSignInClientBehindProxies: behind trusted proxies, the client is the
// first hop from the right of X-Forwarded-For that is not one of them;
// what the client wrote to its left does not make it another client.
func TestSignInClientBehindProxies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSignInBench(t, &outbox{}, 0, netip.MustParsePrefix("10.0.0.0/8"))
		const lb = "10.0.0.2:80"
		for i := range 5 {
			if code := b.ask("x@example.org", lb, fmt.Sprintf("203.0.113.%d", i)); code != http.StatusOK {
				t.Errorf("client %d behind the proxy: %d, want 200 (each its own limit)", i, code)
			}
		}
		for i := range 5 {
			// The client writes a new first hop each time; the proxy, its address.
			b.ask("x@example.org", lb, fmt.Sprintf("192.0.2.%d, 203.0.113.200", i))
		}
		if code := b.ask("x@example.org", lb, "192.0.2.99, 203.0.113.200"); code != http.StatusTooManyRequests {
			t.Errorf("a client naming a new first hop each time: %d, want 429 on its sixth", code)
		}
		// Two proxies of ours: the inner one's hop is skipped.
		for range 5 {
			b.ask("x@example.org", lb, "203.0.113.201, 10.0.0.9")
		}
		if code := b.ask("x@example.org", lb, "203.0.113.201, 10.0.0.9"); code != http.StatusTooManyRequests {
			t.Errorf("a client behind two proxies: %d, want 429 on its sixth", code)
		}
		if code := b.ask("x@example.org", lb, "203.0.113.202, 10.0.0.9"); code != http.StatusOK {
			t.Errorf("another client behind the two: %d, want 200", code)
		}
		// A hop written with its port is the same client.
		if code := b.ask("x@example.org", lb, "203.0.113.201:51234, 10.0.0.9"); code != http.StatusTooManyRequests {
			t.Errorf("the same client, its hop with a port: %d, want 429", code)
		}
		synctest.Wait()
	})
}

// TestSignInLimitedPerPerson: however many clients ask, a person is sent
// no more links while three are unused and unexpired (15 minutes).
func TestSignInLimitedPerPerson(t *testing.T) {
	box := &outbox{}
	synctest.Test(t, func(t *testing.T) {
		b := newSignInBench(t, box, 1)
		to := b.people[0].EmailAddress
		for i := range 6 {
			// At once: the four senders race for the person's links.
			if code := b.ask(to, fmt.Sprintf("198.51.100.%d:4000", i), ""); code != http.StatusOK {
				t.Fatalf("request %d: %d, want 200 (the same page however many were sent)", i+1, code)
			}
		}
		synctest.Wait()
		if n := len(box.sent()); n != 3 {
			t.Errorf("six requests sent %d e-mails, want 3", n)
		}
		time.Sleep(14 * time.Minute)
		b.ask(to, "198.51.100.50:4000", "")
		synctest.Wait()
		if n := len(box.sent()); n != 3 {
			t.Errorf("while the three links last: %d e-mails in all, want 3", n)
		}
		time.Sleep(time.Minute) // the three have expired
		b.ask(to, "198.51.100.51:4000", "")
		synctest.Wait()
		if n := len(box.sent()); n != 4 {
			t.Errorf("once they expired: %d e-mails in all, want 4", n)
		}
	})
}

// TestSignInLimitedPerProcess: a process sends 120 sign-in e-mails at
// once, then one every two seconds, to however many people; requests that
// send nothing (an address without an account, a person with as many
// links as allowed) do not use that up.
func TestSignInLimitedPerProcess(t *testing.T) {
	box := &outbox{}
	synctest.Test(t, func(t *testing.T) {
		b := newSignInBench(t, box, 122)
		client := 0
		ask := func(email string) {
			client++
			if code := b.ask(email, fmt.Sprintf("198.51.%d.%d:4000", client/200, client%200), ""); code != http.StatusOK {
				t.Fatalf("request %d: %d, want 200", client, code)
			}
			synctest.Wait() // the queue empties each time: only the process's limit counts
		}
		for i := range 200 {
			ask(fmt.Sprintf("nobody%d@example.org", i))
		}
		for range 200 { // the first person has three links after three of these
			ask(b.people[0].EmailAddress)
		}
		for _, p := range b.people[1:121] {
			ask(p.EmailAddress)
		}
		if n := len(box.sent()); n != 120 {
			t.Errorf("3 e-mails to one person asked 200 times, then 120 people, at once (after 200 unknown addresses): %d e-mails, want 120", n)
		}
		ask(b.people[121].EmailAddress)
		if n := len(box.sent()); n != 120 {
			t.Errorf("the 121st e-mail at once: %d e-mails in all, want still 120", n)
		}
		time.Sleep(2 * time.Second)
		ask(b.people[121].EmailAddress)
		if n := len(box.sent()); n != 121 {
			t.Errorf("two seconds later: %d e-mails in all, want 121", n)
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

// TestSignInDrain: shutting down, the pages take no more sign-in requests
// and wait for the e-mails already promised; past its deadline, Drain says
// how many were not sent.
func TestSignInDrain(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &stalledMail{release: make(chan struct{})}
		b := newSignInBench(t, slow, 2)
		for i, p := range b.people {
			b.ask(p.EmailAddress, fmt.Sprintf("198.51.100.%d:4000", i), "")
		}
		synctest.Wait()
		drained := make(chan error, 1)
		go func() { drained <- b.pages.Drain(context.Background()) }()
		synctest.Wait()
		if code := b.ask("late@example.org", "198.51.100.9:4000", ""); code != http.StatusServiceUnavailable {
			t.Errorf("a request while draining: %d, want 503", code)
		}
		select {
		case err := <-drained:
			t.Fatalf("Drain returned %v with two e-mails still being sent", err)
		default:
		}
		close(slow.release)
		if err := <-drained; err != nil {
			t.Errorf("Drain once they were sent: %v", err)
		}
		if n := slow.sending.Load(); n != 2 {
			t.Errorf("%d e-mails sent, want 2", n)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		slow := &stalledMail{release: make(chan struct{})}
		b := newSignInBench(t, slow, 1)
		b.ask(b.people[0].EmailAddress, "198.51.100.1:4000", "")
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := b.pages.Drain(ctx); err == nil || !strings.Contains(err.Error(), "1 sign-in e-mails were not sent") {
			t.Errorf("Drain past its deadline: %v, want it to say one was not sent", err)
		}
		close(slow.release)
		synctest.Wait()
	})
}
