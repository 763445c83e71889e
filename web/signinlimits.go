package web

import (
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Sign-in by e-mail is open to anyone, so it is bounded three ways: each
// client may ask a few times, then once a minute (clientLimit); each
// address gets a few links, then one every five minutes, however many
// clients ask (addressLimit); and the e-mails wait in a bounded queue for
// a few senders (linkQueue), so a flood costs a fixed number of goroutines
// and SMTP connections, not one each. The page answers before any of the
// work (the look-up, the link, the e-mail), so it takes as long for an
// address with an account as for one without.
//
// The limits are per process: with several API processes each keeps its
// own, which still bounds what a client or an address can be sent.
var (
	clientLimit  = limit{every: time.Minute, burst: 5}
	addressLimit = limit{every: 5 * time.Minute, burst: 3}
)

const (
	// linkQueueSize is how many sign-in e-mails may wait to be sent; a
	// request beyond it is told to try again in a minute.
	linkQueueSize = 100
	// linkSenders is how many sign-in e-mails are sent at once.
	linkSenders = 4
	// maxLimitKeys bounds how many clients or addresses each limiter
	// remembers (see limiter.allow).
	maxLimitKeys = 10000
)

// limit is a rate: burst at once, then one more each every.
type limit struct {
	every time.Duration
	burst int
}

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
		lim = rate.NewLimiter(rate.Every(l.limit.every), l.limit.burst)
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

// clientAddress is the IP address a request came from. A request from a
// loopback or private address came through a proxy of ours, which adds
// the client's address last in X-Forwarded-For (what came before it the
// client may have written itself); from anywhere else, the peer is the
// client, and X-Forwarded-For is not trusted.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer := net.ParseIP(host)
	if peer == nil || !(peer.IsLoopback() || peer.IsPrivate()) {
		return host
	}
	forwarded := r.Header.Values("X-Forwarded-For")
	if len(forwarded) == 0 {
		return host
	}
	hops := strings.Split(forwarded[len(forwarded)-1], ",")
	if ip := net.ParseIP(strings.TrimSpace(hops[len(hops)-1])); ip != nil {
		return ip.String()
	}
	return host
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
}

// linkRequest is one address that asked for a sign-in link.
type linkRequest struct {
	email string
}

// add queues req, or says false when the queue is full.
func (q *linkQueue) add(req linkRequest) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) >= q.size {
		return false
	}
	q.pending = append(q.pending, req)
	if q.running < q.senders {
		q.running++
		go q.drain()
	}
	return true
}

func (q *linkQueue) drain() {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.running--
			q.mu.Unlock()
			return
		}
		req := q.pending[0]
		q.pending = q.pending[1:]
		q.mu.Unlock()
		q.send(req)
	}
}
