package web

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in by e-mail is open to anyone, so it is bounded four ways: each
// client may ask a few times, then once a minute (clientLimit); the
// process sends at most so many e-mails a minute, whoever asks, counting
// only real sends, so requests for unknown addresses cannot use it up and
// keep real people from signing in (sendLimit); a
// person with maxLiveLinks links still unused and unexpired is sent no
// more, however many clients ask (counted in the store, so across API
// processes and restarts); and the e-mails wait in a bounded queue for a
// few senders (linkQueue), so a flood costs a fixed number of goroutines
// and SMTP connections, not one each.
//
// The page answers before any of the work (the look-up, the link, the
// e-mail), so its answer and its timing are the same for an address with
// an account and one without. The senders do more for a known address
// (a link and an e-mail) than for an unknown one (a look-up), which shows
// only in how soon a full queue empties, for everyone at once.
var (
	clientLimit = limit{every: time.Minute, burst: 5}
	sendLimit   = limit{every: 2 * time.Second, burst: 120}
)

const (
	// maxLiveLinks is how many unused, unexpired sign-in links a person
	// may have before the pages send no more (links last 15 minutes).
	maxLiveLinks = 3
	// linkQueueSize is how many sign-in e-mails may wait to be sent; a
	// request beyond it is told to try again in a minute.
	linkQueueSize = 100
	// linkSenders is how many sign-in e-mails are sent at once.
	linkSenders = 4
	// maxLimitKeys bounds how many clients a limiter remembers (see
	// limiter.allow).
	maxLimitKeys = 10000
)

// limit is a rate: burst at once, then one more each every.
type limit struct {
	every time.Duration
	burst int
}

// rateOf is l as a limiter of its own.
func rateOf(l limit) *rate.Limiter { return rate.NewLimiter(rate.Every(l.every), l.burst) }

// limiter keeps a limit for each key it is asked about.
type limiter struct {
	limit limit
	mu    sync.Mutex
	keys  map[string]*rate.Limiter
}

func newLimiter(l limit) *limiter {
	return &limiter{limit: l, keys: map[string]*rate.Limiter{}}
}

// allow says whether key may act at now, and counts it if so. When it
// remembers maxLimitKeys keys it forgets those whose limit has refilled,
// which are as good as new; if every one is still busy (many clients at
// once) it forgets them all rather than refuse newcomers: the queue still
// bounds the work.
func (l *limiter) allow(key string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.keys[key]
	if !ok {
		if len(l.keys) >= maxLimitKeys {
			l.forgetIdle(now)
		}
		lim = rateOf(l.limit)
		l.keys[key] = lim
	}
	return lim.AllowN(now, 1)
}

func (l *limiter) forgetIdle(now time.Time) {
	for k, lim := range l.keys {
		if lim.TokensAt(now) >= float64(l.limit.burst) {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxLimitKeys {
		clear(l.keys)
	}
}

// clientKey names the client r came from, for its limit. The peer is the
// client unless it is one of trusted, the proxies in front of us: then
// X-Forwarded-For is read from the right (each proxy appends the address
// it was reached from), skipping trusted proxies, and the first address
// that is not one is the client; what lies left of it the client may have
// written itself. An IPv6 client is its /64, which one household or
// server gets whole; an IPv4 one, its address.
func clientKey(r *http.Request, trusted []netip.Prefix) string {
	client, ok := peerAddr(r)
	if !ok {
		return r.RemoteAddr
	}
	if isTrusted(client, trusted) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, err := parseHop(strings.TrimSpace(hops[i]))
			if err != nil {
				break // not an address: the last trusted hop is as far as we can tell
			}
			client = hop.Unmap()
			if !isTrusted(client, trusted) {
				break
			}
		}
	}
	if client.Is6() {
		p, _ := client.Prefix(64)
		return p.String()
	}
	return client.String()
}

// peerAddr is the address of the connection r came on.
func peerAddr(r *http.Request) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr().Unmap(), err == nil
}

// parseHop reads one X-Forwarded-For hop: an address, or (as some
// proxies write it) an address and port.
func parseHop(hop string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(hop); err == nil {
		return ap.Addr(), nil
	}
	return netip.ParseAddr(hop)
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// linkQueue holds sign-in requests for a few senders. Senders start as
// requests arrive, up to senders at once, and stop when the queue is
// empty, so an idle site runs none.
type linkQueue struct {
	size, senders int
	send          func(linkRequest)

	mu      sync.Mutex
	pending []linkRequest
	running int
	closed  bool          // drain has begun: nothing more is taken
	idle    chan struct{} // closed when the last sender stops, once closed
}

// linkRequest is one address that asked for a sign-in link.
type linkRequest struct {
	email string
}

// add queues req, or says false when the queue is full.
func (q *linkQueue) add(req linkRequest) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || len(q.pending) >= q.size {
		return false
	}
	q.pending = append(q.pending, req)
	if q.running < q.senders {
		q.running++
		go q.serve()
	}
	return true
}

// serve sends queued requests until there are none left.
func (q *linkQueue) serve() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running--
			if q.running == 0 && q.idle != nil {
				close(q.idle)
				q.idle = nil
			}
			q.mu.Unlock()
			return
		}
		req := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.send(req)
	}
}

// drain stops taking requests and waits until every one taken has been
// sent, or ctx ends; then it says how many were left unsent.
func (q *linkQueue) drain(ctx context.Context) error {
	q.mu.Lock()
	q.closed = true
	if q.running == 0 {
		q.mu.Unlock()
		return nil
	}
	if q.idle == nil {
		q.idle = make(chan struct{})
	}
	idle := q.idle
	q.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		q.mu.Lock()
		defer q.mu.Unlock()
		return fmt.Errorf("%d sign-in e-mails were not sent before shutdown (%d being sent): %w", len(q.pending)+q.running, q.running, ctx.Err())
	}
}
