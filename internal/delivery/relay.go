package delivery

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// MailServerDownWarning is what a Deliverer logs, at warn level, each time
// it tries the mail server and cannot reach it (see Error.Unreachable),
// with the error, since when (down_since), how many tries in a row have
// failed (failed_tries) and when it will try again (next_try). Messages
// are not sent meanwhile, and none is charged an attempt: the outage is
// not theirs. Alert on it: while messages wait it comes at every try (at
// most MaxRetry apart, an hour by default) until the server answers, and
// then MailServerBackInfo is logged.
const MailServerDownWarning = "the mail server cannot be reached: no message is sent, and none is charged an attempt, until it answers; check that it is up and that the SMTP settings (host, port, TLS, credentials) are right"

// MailServerBackInfo is what a Deliverer logs, at info level, when the
// mail server answers again after MailServerDownWarning, with how long it
// was out of reach (down_for) and how many tries failed (failed_tries).
const MailServerBackInfo = "the mail server answers again; sending what waited for it"

// relayState is what a Deliverer knows of the mail server.
type relayState int

const (
	// relayUnknown: nothing tried yet in this pass. One send finds out
	// before any other dials, so a server that went down since the last
	// pass is dialled once, not once for each recipient served at once.
	relayUnknown relayState = iota
	relayUp                 // a send reached it in this pass: send freely
	relayDown               // it could not be reached: wait for retryAt
)

// relay keeps a Deliverer from dialling a mail server it cannot reach: one
// send at a time finds out whether the server answers, and while it does
// not, no message is sent until its own backoff (the Deliverer's, by count
// of failed tries) has passed. Messages wait without an attempt charged,
// so an outage of days loses nothing; MaxAttempts counts only failures
// about the message itself. It is in memory, one per Deliverer: a
// Deliverer that starts afresh tries the server once and learns again.
type relay struct {
	now     func() time.Time
	backoff func(tries int) time.Duration
	log     *zap.Logger

	mu       sync.Mutex
	state    relayState
	failures int       // tries in a row that could not reach it
	since    time.Time // the first of them
	retryAt  time.Time // when down: the next try
	// probe is open while one send finds out whether the server answers
	// (state unknown, or down with retryAt passed); the others wait for it
	// to be closed.
	probe chan struct{}
}

// finding is what one send told of the mail server.
type finding int

const (
	foundNothing     finding = iota // not sent (stopping, claim short): nothing learnt
	foundReached                    // it answered, whether or not it took the message
	foundUnreachable                // Error.Unreachable
)

// newPass forgets that the server answered in an earlier pass: it may have
// gone down since, and the first send of this pass finds out alone.
func (r *relay) newPass() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == relayUp {
		r.state = relayUnknown
	}
}

// downUntil is when the server is next tried, while it is known to be
// down and that is still to come; ok is false otherwise.
func (r *relay) downUntil() (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == relayDown && r.now().Before(r.retryAt) {
		return r.retryAt, true
	}
	return time.Time{}, false
}

// admit says whether a send may dial the server now: ok if it is known to
// answer, or as the probe that finds out (probe true: it must call done);
// otherwise it waits for a probe under way to end, and refuses while the
// server is down or when ctx is cancelled.
func (r *relay) admit(ctx context.Context) (probe, ok bool) {
	for {
		r.mu.Lock()
		switch {
		case r.state == relayUp:
			r.mu.Unlock()
			return false, true
		case r.state == relayDown && r.now().Before(r.retryAt):
			r.mu.Unlock()
			return false, false
		case r.probe == nil:
			r.probe = make(chan struct{})
			r.mu.Unlock()
			return true, true
		}
		wait := r.probe
		r.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return false, false
		}
	}
}

// done records what a send admitted by admit found, and ends its probe.
func (r *relay) done(probe bool, v finding, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if probe {
		close(r.probe)
		r.probe = nil
	}
	switch v {
	case foundReached:
		if r.state == relayDown {
			r.log.Info(MailServerBackInfo, zap.Duration("down_for", r.now().Sub(r.since)), zap.Int("failed_tries", r.failures))
		}
		r.state, r.failures = relayUp, 0
	case foundUnreachable:
		if r.state == relayDown && !probe {
			// Dialled while it was thought up, and failed after another
			// send had found it down: the same news, not another try.
			return
		}
		now := r.now()
		if r.failures == 0 {
			r.since = now
		}
		r.failures++
		r.state, r.retryAt = relayDown, now.Add(r.backoff(r.failures))
		r.log.Warn(MailServerDownWarning, zap.Error(err), zap.Time("down_since", r.since),
			zap.Int("failed_tries", r.failures), zap.Time("next_try", r.retryAt))
	}
}
