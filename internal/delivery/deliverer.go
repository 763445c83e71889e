package delivery

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Composer renders an outbox message as an e-mail, reading what it needs
// (the recipient's name, address and language, the item's details) from the
// store at send time. It sets From, To, Subject, Text and/or HTML, and any
// attachments and headers; the Deliverer sets MessageID.
//
// A Compose error fails the message for good, with the error as the reason
// (a template that does not render will not render next time either),
// unless it is marked Temporary (such as the store being unreachable).
type Composer interface {
	Compose(ctx context.Context, m store.Message) (Email, error)
}

// ComposerFunc is a function as a Composer.
type ComposerFunc func(ctx context.Context, m store.Message) (Email, error)

func (f ComposerFunc) Compose(ctx context.Context, m store.Message) (Email, error) { return f(ctx, m) }

// Options tune a Deliverer. Zero values take the defaults shown.
type Options struct {
	Poll        time.Duration // how often Run looks for due messages: 10s
	Batch       int           // messages read from the outbox at a time: 100
	Concurrency int           // recipients served at once: DefaultConcurrency
	// A message that fails temporarily is tried again after FirstRetry,
	// then after twice as long each time, up to MaxRetry: 1m, 2m, 4m, … 1h.
	FirstRetry time.Duration // 1 minute
	MaxRetry   time.Duration // 1 hour
	// MaxAttempts is how many times a message is tried before it is given
	// up as failed: 20 (with the defaults, about 15 hours of trying). Only
	// failures about the message count: the mail server being out of reach
	// (Error.Unreachable) counts against no message however long it lasts,
	// and is tried again on the same backoff, FirstRetry doubling to
	// MaxRetry (see the package comment, "Mail server down").
	MaxAttempts     int
	MessageIDDomain string           // DefaultMessageIDDomain
	Now             func() time.Time // time.Now
	Logger          *zap.Logger      // none

	// Policy, when set, applies each programme's delivery section (quiet
	// hours, a daily cap with digests) before sending: see Policy. Nil
	// sends every message as soon as it is due.
	Policy *Policy
}

func (o Options) withDefaults() Options {
	if o.Poll <= 0 {
		o.Poll = 10 * time.Second
	}
	if o.Batch <= 0 {
		o.Batch = 100
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.FirstRetry <= 0 {
		o.FirstRetry = time.Minute
	}
	if o.MaxRetry <= 0 {
		o.MaxRetry = time.Hour
	}
	if o.MaxRetry < o.FirstRetry {
		o.MaxRetry = o.FirstRetry
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 20
	}
	if o.MessageIDDomain == "" {
		o.MessageIDDomain = DefaultMessageIDDomain
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = zap.NewNop()
	}
	return o
}

// DefaultConcurrency is how many recipients a Deliverer serves at once
// unless told otherwise: so how many of its messages can be on their way
// to the mail server when its process dies.
const DefaultConcurrency = 4

// Outbox is the store as a Deliverer uses it: the queued messages, claimed
// by recipient, and what became of each.
type Outbox interface {
	ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Message, error)
	ReleaseClaims(ctx context.Context, owner string, keys ...string) error
	DueMessages(ctx context.Context, now time.Time, limit int) ([]store.Message, error)
	ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error)
	MarkSent(ctx context.Context, key, messageID string, at time.Time) error
	MarkRetry(ctx context.Context, owner, key string, next time.Time, reason string) error
	MarkFailed(ctx context.Context, owner, key, reason string) error
	Defer(ctx context.Context, owner, key string, until time.Time) error
}

// Deliverer drains the outbox of a store. Any number of Deliverers, in one
// process or several, may drain one store: each claims the messages it
// sends (store.ClaimDue), under a name of its own.
type Deliverer struct {
	store    Outbox
	composer Composer
	sender   Sender
	o        Options
	owner    string // whose claims are this Deliverer's
	relay    *relay // whether the mail server can be reached
}

// New returns a Deliverer sending st's due messages, composed by c, through s.
func New(st Outbox, c Composer, s Sender, o Options) *Deliverer {
	owner := "deliverer/" + uuid.NewString()
	o = o.withDefaults()
	o.Logger = o.Logger.With(zap.String("deliverer", owner))
	d := &Deliverer{store: st, composer: c, sender: s, o: o, owner: owner}
	d.relay = &relay{now: o.Now, backoff: d.Backoff, log: o.Logger}
	return d
}

// claimLease is how long a claim keeps other Deliverers off the recipients
// of the messages it took. A claim covers a batch, sent Concurrency
// recipients at a time, and a send starts only while sendReserve of the
// claim remains (see claimHeld), so the lease must leave good time for a
// batch beyond that reserve. It is also how long a crashed Deliverer's
// messages wait before another sends them: a few minutes' delay to a
// reminder is nothing, a message sent twice is what the claim prevents.
const claimLease = 5 * time.Minute

// sendReserve is how much of its claim a message must have left for a send
// to start. go-mail gives up on a hung server after SMTPConfig.Timeout (30
// seconds) for connecting and greeting, and that again for the mail
// transaction: about a minute. Two minutes cover that, composing the
// message and marking it, and some difference between the workers' clocks.
// A send that outlived the claim could go out a second time from the
// Deliverer that took the message over.
const sendReserve = 2 * time.Minute

// releaseTimeout bounds handing claims back at the end of a batch, which
// happens even when the pass was cancelled (a worker shutting down).
const releaseTimeout = 10 * time.Second

// Stats counts what a pass did.
type Stats struct {
	Sent    int // accepted by the mail server and marked sent
	Retried int // failed for now, to be tried again later
	Failed  int // given up, with the reason in the outbox
	// Folded counts the messages, among Sent, that went in a digest.
	Folded int
	// Deferred counts messages the Policy held back for a later window.
	Deferred int
	// Unreachable counts tries of the mail server that could not reach it
	// (Error.Unreachable): the message tried, and every other, waits for
	// the server's next try, charged nothing.
	Unreachable int
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.Sent += o.Sent
	s.Retried += o.Retried
	s.Failed += o.Failed
	s.Folded += o.Folded
	s.Deferred += o.Deferred
	s.Unreachable += o.Unreachable
}

// Run delivers due messages every Poll until ctx is cancelled, then
// returns nil once the pass under way has stopped. A pass's errors are
// logged and the next pass tries again.
func (d *Deliverer) Run(ctx context.Context) error {
	// Its name is in every line it logs: this one ties a claim named in
	// another deliverer's LapsedClaimWarning to the process that held it.
	d.o.Logger.Info("delivering the outbox under this deliverer's name", zap.Duration("poll", d.o.Poll))
	t := time.NewTicker(d.o.Poll)
	defer t.Stop()
	for {
		if _, err := d.DeliverDue(ctx); err != nil && ctx.Err() == nil {
			d.o.Logger.Warn("delivering due messages", zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// DeliverDue delivers every message due now that no other Deliverer is
// sending, a batch at a time, and returns what it did. It returns early,
// with ctx's error, when ctx is cancelled; messages it had not finished
// stay queued, and their claims are handed back. While the mail server is
// out of reach it returns at once, until the time to try it again (see the
// package comment, "Mail server down").
func (d *Deliverer) DeliverDue(ctx context.Context) (Stats, error) {
	d.relay.newPass()
	var total Stats
	for {
		if until, down := d.relay.downUntil(); down {
			// Nothing can go before the server is tried again, so nothing
			// is claimed: that would only keep other deliverers, which may
			// reach it, off these recipients.
			d.o.Logger.Debug("the mail server is out of reach; waiting to try it again", zap.Time("next_try", until))
			return total, nil
		}
		due, err := d.store.ClaimDue(ctx, d.owner, d.o.Now(), claimLease, d.o.Batch)
		if err != nil {
			return total, fmt.Errorf("claiming due messages: %w", err)
		}
		if len(due) == 0 {
			return total, nil
		}
		d.warnLapsed(due)
		st, kept, err := d.deliverBatch(ctx, due)
		d.release(ctx, without(due, kept))
		total.Add(st)
		if err != nil {
			return total, err
		}
		// Every message of the batch is now sent, failed or held back (or
		// behind one held back, or left for a new claim when this one ran
		// short), so the next claim makes progress; a short batch was the
		// last.
		if len(due) < d.o.Batch || st == (Stats{}) {
			return total, nil
		}
	}
}

// LapsedClaimWarning is what a Deliverer logs, at warn level, for each
// message it takes over from a claim that ran out unmarked: its deliverer
// may have died, or failed to write to the store, after the mail server
// accepted it, so it may reach its recipient twice (see the package
// comment). The other way to a second copy, a reply to DATA lost on its
// way, is logged as a retry, or not at all when the worker is stopping.
const LapsedClaimWarning = "taking over a message whose earlier claim ran out before it was marked: if that deliverer stopped after the mail server accepted it, the recipient gets it twice, with the same Message-ID"

// warnLapsed logs LapsedClaimWarning for each of due that a lapsed claim
// held, so that operators (and the cluster test) can tell a possible second
// copy from a fault that sends twice.
func (d *Deliverer) warnLapsed(due []store.Message) {
	for _, m := range due {
		if m.LapsedClaim != "" {
			d.logger(m).Warn(LapsedClaimWarning, zap.String("lapsed_claim", m.LapsedClaim),
				zap.String("message_id", MessageID(m.Key, d.o.MessageIDDomain)))
		}
	}
}

// sentUnmarked is messages the mail server accepted but the outbox could
// not mark sent. Their claims are kept, not handed back, so that no other
// deliverer sends them again while the claims last.
type sentUnmarked struct {
	keys []string
	err  error
}

func (e *sentUnmarked) Error() string {
	return fmt.Sprintf("sent but not marked sent: %s: %v", strings.Join(e.keys, ", "), e.err)
}
func (e *sentUnmarked) Unwrap() error { return e.err }

// markSent marks keys sent, as messageID, even when ctx has been cancelled
// meanwhile (a worker stopping as the server accepted them): what the
// server has must be marked, or another deliverer sends it again.
func (d *Deliverer) markSent(ctx context.Context, keys []string, messageID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	at := d.o.Now()
	for i, key := range keys {
		err := d.store.MarkSent(ctx, key, messageID, at)
		if errors.Is(err, store.ErrNotFound) {
			// Dropped since it was claimed: the event that queued it was a
			// failed workflow task's, replaced by the retry (store.Record).
			// It is gone; the others must still be marked.
			d.o.Logger.Warn("a message sent had been dropped from the outbox with the void event that queued it",
				zap.String("key", key), zap.String("messageID", messageID))
			continue
		}
		if err != nil {
			return &sentUnmarked{keys: keys[i:], err: err}
		}
	}
	return nil
}

// without is due less the messages whose keys are in kept.
func without(due []store.Message, kept []string) []store.Message {
	if len(kept) == 0 {
		return due
	}
	return slices.DeleteFunc(slices.Clone(due), func(m store.Message) bool { return slices.Contains(kept, m.Key) })
}

// release hands back the claims on due that the batch did not end by
// marking the message: those behind one held back for a retry, or not
// reached because ctx was cancelled or the claim ran short. Others then
// need not wait for the lease to run out; if handing back fails, they do.
func (d *Deliverer) release(ctx context.Context, due []store.Message) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	keys := make([]string, len(due))
	for i, m := range due {
		keys[i] = m.Key
	}
	if err := d.store.ReleaseClaims(ctx, d.owner, keys...); err != nil {
		d.o.Logger.Warn("handing back claimed messages; other deliverers take them when the claim runs out", zap.Error(err))
	}
}

// claimHeld reports whether enough of m's claim remains to start sending it
// (sendReserve), logging when not: the message is left for a new claim.
func (d *Deliverer) claimHeld(m store.Message) bool {
	if left := m.ClaimedUntil.Sub(d.o.Now()); left < sendReserve {
		d.logger(m).Info("claim running short; leaving the message for the next claim", zap.Duration("left", left))
		return false
	}
	return true
}

// NextDue is the earliest time at which DeliverDue will find a message to
// send (or for the Policy to hold back): the time a queued
// message falls due or may be retried, as the store's DueMessages sees it,
// so a message waiting behind its recipient's retry counts from that retry.
// It may be in the past, when messages are overdue. ok is false when
// nothing is queued. A caller may sleep until then instead of polling
// (tests use it to step a fake clock); what DeliverDue does then, held
// back or retried, moves the time NextDue gives next. It does not look at
// claims: a message another Deliverer is sending counts as due, and this
// one finds it gone or sent by then. While the mail server is out of reach
// nothing goes before this Deliverer tries it again, so NextDue is no
// earlier than that try.
func (d *Deliverer) NextDue(ctx context.Context) (at time.Time, ok bool, err error) {
	at, ok, err = d.nextQueued(ctx)
	if until, down := d.relay.downUntil(); ok && down && at.Before(until) {
		at = until
	}
	return at, ok, err
}

// nextQueued is NextDue as the outbox alone sees it.
func (d *Deliverer) nextQueued(ctx context.Context) (at time.Time, ok bool, err error) {
	// At the end of time every queued message is due, so this is the one
	// with the oldest SendAt: nothing is due before it, and usually it is
	// due then, unless a retry holds it back.
	oldest, err := d.store.DueMessages(ctx, endOfTime, 1)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the oldest queued message: %w", err)
	}
	if len(oldest) == 0 {
		return time.Time{}, false, nil
	}
	at = oldest[0].SendAt
	due, err := d.anyDue(ctx, at)
	if err != nil || due {
		return at, due, err
	}
	return d.nextDueAfterRetries(ctx)
}

// endOfTime is later than any message is due.
var endOfTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// anyDue reports whether DueMessages finds a message at t.
func (d *Deliverer) anyDue(ctx context.Context, t time.Time) (bool, error) {
	due, err := d.store.DueMessages(ctx, t, 1)
	if err != nil {
		return false, fmt.Errorf("looking for messages due at %s: %w", t, err)
	}
	return len(due) > 0, nil
}

// nextDueAfterRetries is NextDue when retries hold messages back. Whether
// anything is due only changes at a queued message's SendAt or
// NextAttemptAt, and once something is due at t, it is still due later
// (nothing becomes blocked as time passes): it searches those times for
// the first at which DueMessages finds something, rather than
// re-implementing its rules about retries and order here.
func (d *Deliverer) nextDueAfterRetries(ctx context.Context) (time.Time, bool, error) {
	queued, err := d.store.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("reading the queued messages: %w", err)
	}
	times := dueTimes(queued)
	i, err := searchTimes(times, func(t time.Time) (bool, error) { return d.anyDue(ctx, t) })
	if err != nil || i == len(times) { // none: all sent since DueMessages
		return time.Time{}, false, err
	}
	return times[i], true, nil
}

// dueTimes lists, in order and once each, the times at which one of msgs
// may fall due: its SendAt and, after a failed attempt, its NextAttemptAt.
func dueTimes(msgs []store.Message) []time.Time {
	var times []time.Time
	for _, m := range msgs {
		times = append(times, m.SendAt)
		if !m.NextAttemptAt.IsZero() {
			times = append(times, m.NextAttemptAt)
		}
	}
	slices.SortFunc(times, time.Time.Compare)
	return slices.CompactFunc(times, time.Time.Equal)
}

// searchTimes is sort.Search over times for a test that can fail: the
// index of the first time at which found is true (len(times) if none),
// given that once true it stays true for every later time.
func searchTimes(times []time.Time, found func(time.Time) (bool, error)) (int, error) {
	lo, hi := 0, len(times)
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := found(times[mid])
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// deliverBatch sends each recipient's messages in order, Concurrency
// recipients at a time.
func (d *Deliverer) deliverBatch(ctx context.Context, due []store.Message) (_ Stats, kept []string, _ error) {
	var order []uuid.UUID
	queues := map[uuid.UUID][]store.Message{}
	for _, m := range due {
		if _, ok := queues[m.RecipientID]; !ok {
			order = append(order, m.RecipientID)
		}
		queues[m.RecipientID] = append(queues[m.RecipientID], m)
	}
	work := make(chan []store.Message)
	var (
		mu    sync.Mutex
		total Stats
		errs  []error
		wg    sync.WaitGroup
	)
	for range min(d.o.Concurrency, len(order)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for q := range work {
				if _, down := d.relay.downUntil(); down {
					continue // q waits for the server, untouched; its claims are handed back
				}
				st, err := d.deliverQueue(ctx, q)
				mu.Lock()
				total.Add(st)
				if err != nil {
					errs = append(errs, err)
				}
				var unmarked *sentUnmarked
				if errors.As(err, &unmarked) {
					kept = append(kept, unmarked.keys...)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, r := range order {
		select {
		case work <- queues[r]:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return total, kept, errors.Join(append([]error{ctx.Err()}, errs...)...)
}

// outcome is what became of one message.
type outcome int

const (
	sent outcome = iota
	retried
	failed
	stopped // ctx cancelled, the claim ran short, or the mail server out of reach: left as it was
	waiting // this try found the mail server out of reach: left as it was
	ready   // composed, not yet sent
	tried   // the mail server answered and did not take it: not yet recorded
)

// holdsBack reports whether a recipient's later messages must wait after
// one with outcome out: they must not overtake one still to go.
func (out outcome) holdsBack() bool {
	return out == retried || out == stopped || out == waiting
}

// deliverQueue sends one recipient's due messages in order, stopping at the
// first that does not go (a later one must not overtake it), after asking
// the Policy, if there is one.
func (d *Deliverer) deliverQueue(ctx context.Context, q []store.Message) (Stats, error) {
	if d.o.Policy == nil {
		return d.sendEach(ctx, q)
	}
	return d.deliverByPolicy(ctx, q)
}

// sendEach sends q in order, stopping at the first that does not go.
func (d *Deliverer) sendEach(ctx context.Context, q []store.Message) (Stats, error) {
	var st Stats
	for _, m := range q {
		out, err := d.deliverOne(ctx, m)
		st.count(out, 1)
		if err != nil || out.holdsBack() {
			return st, err
		}
	}
	return st, nil
}

func (s *Stats) count(out outcome, n int) {
	switch out {
	case sent:
		s.Sent += n
	case retried:
		s.Retried += n
	case failed:
		s.Failed += n
	case waiting:
		s.Unreachable += n
	}
}

// logger is the Deliverer's logger for message m.
func (d *Deliverer) logger(m store.Message) *zap.Logger {
	return d.o.Logger.With(zap.String("message", m.Key), zap.Stringer("recipient", m.RecipientID))
}

// deliverOne composes, checks, sends and records one message.
func (d *Deliverer) deliverOne(ctx context.Context, m store.Message) (outcome, error) {
	e, out, err := d.compose(ctx, m)
	if out != ready {
		return out, err
	}
	return d.send(ctx, m, e)
}

// compose renders m and checks its recipient: ready with the e-mail (its
// MessageID set), or what became of m (failed, retried, stopped).
func (d *Deliverer) compose(ctx context.Context, m store.Message) (Email, outcome, error) {
	log := d.logger(m)
	e, err := d.composer.Compose(ctx, m)
	if err != nil {
		if ctx.Err() != nil {
			return Email{}, stopped, nil
		}
		var out outcome
		if IsTemporary(err) {
			out, err = d.retry(ctx, log, m, fmt.Sprintf("composing the message: %v", err))
		} else {
			out, err = d.fail(ctx, log, m, fmt.Sprintf("composing the message failed (template %q): %v", m.Template, err))
		}
		return Email{}, out, err
	}
	e.MessageID = MessageID(m.Key, d.o.MessageIDDomain)
	if reason := checkRecipient(e.To.Address, m.RecipientID); reason != "" {
		out, err := d.fail(ctx, log, m, reason)
		return Email{}, out, err
	}
	return e, ready, nil
}

// send sends the composed e-mail e of m and records the outcome.
func (d *Deliverer) send(ctx context.Context, m store.Message, e Email) (outcome, error) {
	out, err := d.transmit(ctx, m, e)
	log := d.logger(m)
	switch out {
	case sent:
		if err := d.markSent(ctx, []string{m.Key}, e.MessageID); err != nil {
			// The server has it; the outbox does not know. The claim stays
			// until it runs out; then a pass sends it again, with the same
			// Message-ID (see the package comment).
			return sent, err
		}
		log.Debug("sent", zap.String("message_id", e.MessageID))
		return sent, nil
	case waiting:
		log.Debug("the mail server is out of reach: the message waits for it, charged no attempt")
		return waiting, nil
	case stopped:
		return stopped, nil
	}
	var de *Error
	if errors.As(err, &de) && !de.Temporary {
		return d.fail(ctx, log, m, fmt.Sprintf("the mail server refused the message: %v", err))
	}
	return d.retry(ctx, log, m, err.Error())
}

// transmit hands e, rendered from m (for a digest, its first message), to
// the mail server, through d.relay: it returns sent; stopped when e was not
// offered (the server known to be out of reach, ctx cancelled, m's claim
// running short); waiting when this try found the server out of reach; or
// tried, with the server's answer as the error, when the server was
// reached and did not take e, for the caller to retry or fail m. Only
// tried is m's own failure.
func (d *Deliverer) transmit(ctx context.Context, m store.Message, e Email) (outcome, error) {
	probe, ok := d.relay.admit(ctx)
	if !ok {
		return stopped, nil
	}
	// Checked after admit, which may have waited for another send to
	// find out whether the server answers.
	if !d.claimHeld(m) {
		d.relay.done(probe, foundNothing, nil)
		return stopped, nil
	}
	err := d.sender.Send(ctx, e)
	switch {
	case err == nil:
		d.relay.done(probe, foundReached, nil)
		return sent, nil
	case ctx.Err() != nil:
		d.relay.done(probe, foundNothing, nil)
		return stopped, nil
	case IsUnreachable(err):
		d.relay.done(probe, foundUnreachable, err)
		return waiting, nil
	default:
		d.relay.done(probe, foundReached, nil)
		return tried, err
	}
}

// checkRecipient explains why addr cannot be sent to, or returns "". The
// reason names the recipient by ID, never by address.
func checkRecipient(addr string, recipient uuid.UUID) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return fmt.Sprintf("recipient %s has no e-mail address", recipient)
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr {
		why := "not a plain address such as name@example.org"
		if err != nil {
			why = strings.TrimPrefix(err.Error(), "mail: ")
		}
		return fmt.Sprintf("recipient %s has a malformed e-mail address (%s)", recipient, why)
	}
	return ""
}

// retry holds m back for a backoff that doubles with each attempt, or gives
// it up once it has had MaxAttempts.
func (d *Deliverer) retry(ctx context.Context, log *zap.Logger, m store.Message, reason string) (outcome, error) {
	attempt := m.Attempts + 1
	if attempt >= d.o.MaxAttempts {
		return d.fail(ctx, log, m, fmt.Sprintf("gave up after %d attempts; the last failed with: %s", attempt, reason))
	}
	next := d.o.Now().Add(d.Backoff(attempt))
	if err := d.store.MarkRetry(ctx, d.owner, m.Key, next, reason); err != nil {
		return retried, fmt.Errorf("marking message %q for retry: %w", m.Key, err)
	}
	log.Info("will retry", zap.Int("attempt", attempt), zap.Time("next", next), zap.String("reason", reason))
	return retried, nil
}

// Backoff is how long a message waits after its attempt-th failed attempt
// (1, 2, …): FirstRetry, doubling each time, at most MaxRetry.
func (d *Deliverer) Backoff(attempt int) time.Duration {
	b := d.o.FirstRetry
	for i := 1; i < attempt && b < d.o.MaxRetry; i++ {
		b *= 2
	}
	return min(b, d.o.MaxRetry)
}

func (d *Deliverer) fail(ctx context.Context, log *zap.Logger, m store.Message, reason string) (outcome, error) {
	if err := d.store.MarkFailed(ctx, d.owner, m.Key, reason); err != nil {
		return failed, fmt.Errorf("marking message %q failed: %w", m.Key, err)
	}
	log.Warn("failed", zap.String("reason", reason))
	return failed, nil
}
