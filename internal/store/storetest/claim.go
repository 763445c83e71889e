package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// lease is how long the suite's claims last.
const lease = 5 * time.Minute

// outbox queues messages for the claim tests: each to the recipient it is
// given, due when it is given, in the order given (so that messages due at
// the same instant go in that order).
type outbox struct {
	t       *testing.T
	s       store.Store
	in      store.Intake
	journey uuid.UUID
	n       int
}

func newOutbox(t *testing.T, s store.Store) *outbox {
	return &outbox{t: t, s: s, in: newIntake(t, s), journey: uuid.New()}
}

// queue records one event queueing a message with key to recipient at sendAt.
func (o *outbox) queue(key string, recipient uuid.UUID, sendAt time.Time) {
	o.t.Helper()
	o.n++
	m := message(o.in, o.journey, key, sendAt)
	m.RecipientID = recipient
	_, err := o.s.Record(ctxFor(o.t), journeyEvent(o.in, o.journey, fmt.Sprintf("e%d", o.n), "t", nil), m)
	must(o.t, err)
}

// claim claims for owner at now and checks it got want, in that order,
// claimed by owner until now+lease; it returns what it got.
func (o *outbox) claim(owner string, now time.Time, limit int, want ...string) []store.Message {
	o.t.Helper()
	got, err := o.s.ClaimDue(ctxFor(o.t), owner, now, lease, limit)
	must(o.t, err)
	if !reflect.DeepEqual(keys(got), want) {
		o.t.Errorf("ClaimDue(%s, limit %d) at %s = %v, want %v", owner, limit, now.Format(time.TimeOnly), keys(got), want)
	}
	for _, m := range got {
		if m.ClaimedBy != owner || m.Status != store.MessageQueued {
			o.t.Errorf("claimed message %s is %s, claimed by %q; want queued and claimed by %s", m.Key, m.Status, m.ClaimedBy, owner)
		}
		sameTime(o.t, "ClaimedUntil of "+m.Key, m.ClaimedUntil, now.Add(lease))
	}
	return got
}

// lapsed checks that each of got names lapsed as the claim that ran out on it.
func lapsed(t *testing.T, got []store.Message, lapsed string) {
	t.Helper()
	for _, m := range got {
		if m.LapsedClaim != lapsed {
			t.Errorf("claimed message %s has LapsedClaim %q, want %q", m.Key, m.LapsedClaim, lapsed)
		}
	}
}

// holder is who the outbox says claims the message with key ("" for nobody).
func (o *outbox) holder(key string) string {
	o.t.Helper()
	return getMessage(o.t, o.s, o.journey, key).ClaimedBy
}

// testClaimsExclude: a claim takes every due message of the oldest
// recipients, and nobody, its owner included, claims a recipient while
// someone's claim on them lasts; DueMessages still lists them.
func testClaimsExclude(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	o := newOutbox(t, s)
	siân, rhys, owain, gwen := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	o.queue("s1", siân, base.Add(time.Hour))
	o.queue("r1", rhys, base.Add(90*time.Minute))
	o.queue("s2", siân, base.Add(2*time.Hour))
	o.queue("o1", owain, base.Add(3*time.Hour))
	o.queue("not yet", gwen, base.Add(6*time.Hour))
	now := base.Add(5 * time.Hour)

	o.claim("a", now, 1, "s1", "s2") // the oldest message's recipient, whole
	o.claim("a", now, 0, "r1", "o1")
	o.claim("b", now, 0)
	if got := o.holder("s2"); got != "a" {
		t.Errorf("ListMessages says s2 is claimed by %q, want a", got)
	}
	due, err := s.DueMessages(ctx, now, 0)
	must(t, err)
	if want := []string{"s1", "r1", "s2", "o1"}; !reflect.DeepEqual(keys(due), want) {
		t.Errorf("DueMessages with everything claimed = %v, want %v", keys(due), want)
	}
	// Siân's new message waits for a's claim on her; Huw's is anyone's.
	o.queue("s3", siân, base.Add(4*time.Hour))
	o.queue("h1", uuid.New(), base.Add(4*time.Hour))
	o.claim("b", now, 0, "h1")

	_, err = s.ClaimDue(ctx, "", now, lease, 0)
	mustIs(t, "ClaimDue without an owner", err, store.ErrInvalid)
	_, err = s.ClaimDue(ctx, "c", now, 0, 0)
	mustIs(t, "ClaimDue without a lease", err, store.ErrInvalid)
}

// testClaimLeaseExpires: once a claim's lease has run out its messages are
// claimable again, with the lapsed claim's owner named (it may have sent
// them), and the deliverer whose claim ran out may record that the server
// accepted a message but decide nothing else about it.
func testClaimLeaseExpires(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	o := newOutbox(t, s)
	siân := uuid.New()
	o.queue("m1", siân, base)
	o.queue("m2", siân, base.Add(time.Minute))
	now := base.Add(time.Hour)

	lapsed(t, o.claim("a", now, 0, "m1", "m2"), "")
	o.claim("b", now.Add(lease-time.Second), 0)
	later := now.Add(lease) // a died: its lease runs out
	lapsed(t, o.claim("b", later, 0, "m1", "m2"), "a")

	mustIs(t, "MarkRetry by a deliverer whose claim ran out", s.MarkRetry(ctx, "a", "m1", later.Add(time.Minute), "timeout"), store.ErrConflict)
	mustIs(t, "MarkFailed by a deliverer whose claim ran out", s.MarkFailed(ctx, "a", "m1", "550"), store.ErrConflict)
	mustIs(t, "Defer by a deliverer whose claim ran out", s.Defer(ctx, "a", "m2", later.Add(time.Hour)), store.ErrConflict)
	if m := getMessage(t, s, o.journey, "m1"); m.Attempts != 0 || m.Status != store.MessageQueued || m.ClaimedBy != "b" {
		t.Errorf("m1 after the refused marks = %+v, want untouched and still b's", m)
	}
	// a's send did go through after all: that is recorded, whoever claims it.
	must(t, s.MarkSent(ctx, "m1", "<m1@x>", later))
	if m := getMessage(t, s, o.journey, "m1"); m.Status != store.MessageSent || m.ClaimedBy != "" || !m.ClaimedUntil.IsZero() {
		t.Errorf("m1 marked sent = %+v, want sent with no claim", m)
	}
	mustIs(t, "MarkRetry of a message sent meanwhile", s.MarkRetry(ctx, "b", "m1", later.Add(time.Minute), "timeout"), store.ErrConflict)
	must(t, s.MarkRetry(ctx, "b", "m2", later.Add(time.Minute), "421 busy"))
}

// testClaimOrderAcrossClaimants: a recipient's later messages are not
// claimed, by anyone, while an earlier one is claimed or held for a retry;
// a claim hands them over in SendAt order, ties in the order queued.
func testClaimOrderAcrossClaimants(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	o := newOutbox(t, s)
	siân, rhys := uuid.New(), uuid.New()
	o.queue("s1", siân, base.Add(time.Hour))
	o.queue("s2", siân, base.Add(2*time.Hour))
	o.queue("r1", rhys, base.Add(2*time.Hour))
	o.queue("s2b", siân, base.Add(2*time.Hour))
	o.queue("s3", siân, base.Add(3*time.Hour))
	now := base.Add(5 * time.Hour)

	o.claim("a", now, 1, "s1", "s2", "s2b", "s3")
	o.claim("b", now, 1, "r1")
	// s1 fails for now: a's claim on it ends, not on the rest of Siân's.
	must(t, s.MarkRetry(ctx, "a", "s1", now.Add(time.Minute), "421 busy"))
	o.claim("b", now.Add(time.Minute), 0)
	// a hands the rest back: they wait behind s1's retry, for everyone.
	must(t, s.ReleaseClaims(ctx, "a", "s2", "s2b", "s3"))
	o.claim("b", now, 0)
	o.claim("b", now.Add(time.Minute), 0, "s1", "s2", "s2b", "s3")
}

// testMarkingReleasesClaims: MarkSent, MarkFailed, MarkRetry and Defer end
// the claim; ReleaseClaims hands back its owner's claims only.
func testMarkingReleasesClaims(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	o := newOutbox(t, s)
	for _, k := range []string{"sent", "failed", "retried", "deferred", "released"} {
		o.queue(k, uuid.New(), base)
	}
	now := base.Add(time.Hour)
	o.claim("a", now, 0, "sent", "failed", "retried", "deferred", "released")

	must(t, s.MarkSent(ctx, "sent", "<sent@x>", now))
	must(t, s.MarkFailed(ctx, "a", "failed", "550 no such user"))
	must(t, s.MarkRetry(ctx, "a", "retried", now, "421 busy"))
	must(t, s.Defer(ctx, "a", "deferred", base)) // SendAt stays as it is
	for _, k := range []string{"sent", "failed", "retried", "deferred"} {
		if m := getMessage(t, s, o.journey, k); m.ClaimedBy != "" || !m.ClaimedUntil.IsZero() {
			t.Errorf("%s is still claimed after marking: by %q until %s", k, m.ClaimedBy, m.ClaimedUntil)
		}
	}
	must(t, s.ReleaseClaims(ctx, "b", "released", "no-such-key"))
	if got := o.holder("released"); got != "a" {
		t.Errorf("another owner's ReleaseClaims took a's claim: now held by %q", got)
	}
	must(t, s.ReleaseClaims(ctx, "a"))
	lapsed(t, o.claim("b", now, 0, "retried", "deferred"), "")
	must(t, s.ReleaseClaims(ctx, "a", "released"))
	lapsed(t, o.claim("c", now, 0, "released"), "") // handed back, not run out
}

// testClaimConcurrent: deliverers claiming and marking at once never get
// the same message twice, and each gets all of a recipient's messages at
// once, in order.
func testClaimConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	o := newOutbox(t, s)
	const recipients, each, claimers = 24, 5, 6
	for r := range recipients {
		to := uuid.New()
		for k := range each {
			// Recipients interleave in SendAt, so every claim cuts across them.
			o.queue(fmt.Sprintf("r%02d/%d", r, k), to, base.Add(time.Duration(k*recipients+r)*time.Second))
		}
	}
	now := base.Add(time.Hour)

	var (
		mu      sync.Mutex
		claimed = map[string]string{} // key → owner
		wg      sync.WaitGroup
		start   = make(chan struct{})
	)
	record := func(owner string, got []store.Message) error {
		mu.Lock()
		defer mu.Unlock()
		for _, m := range got {
			if other, dup := claimed[m.Key]; dup {
				return fmt.Errorf("%s claimed %s, which %s had claimed", owner, m.Key, other)
			}
			if m.LapsedClaim != "" {
				return fmt.Errorf("%s claimed %s as lapsed from %s, which marked or never claimed it", owner, m.Key, m.LapsedClaim)
			}
			claimed[m.Key] = owner
		}
		return wholeRecipients(got, each)
	}
	errs := make(chan error, claimers)
	for i := range claimers {
		owner := fmt.Sprintf("deliverer-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- claimAndSend(ctx, s, owner, now, record)
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if len(claimed) != recipients*each {
		t.Errorf("%d messages claimed, want each of the %d once", len(claimed), recipients*each)
	}
}

// claimAndSend is one deliverer of testClaimConcurrent: it claims three
// messages' recipients at a time and marks what it claimed sent, until the
// outbox has nothing queued.
func claimAndSend(ctx context.Context, s store.Store, owner string, now time.Time, record func(string, []store.Message) error) error {
	for range 10_000 { // others' claims make it come back empty while they send
		got, err := s.ClaimDue(ctx, owner, now, lease, 3)
		if err != nil {
			return err
		}
		if err := record(owner, got); err != nil {
			return err
		}
		for _, m := range got {
			if err := s.MarkSent(ctx, m.Key, "<"+m.Key+"@x>", now); err != nil {
				return err
			}
		}
		if len(got) == 0 {
			queued, err := s.ListMessages(ctx, store.OutboxFilter{Status: store.MessageQueued, Limit: 1})
			if err != nil || len(queued) == 0 {
				return err
			}
		}
	}
	return fmt.Errorf("%s: messages still queued after 10000 claims", owner)
}

// wholeRecipients checks that a claim holds each of its recipients' each
// messages, in the order queued.
func wholeRecipients(got []store.Message, each int) error {
	byRecipient := map[uuid.UUID][]string{}
	for _, m := range got {
		byRecipient[m.RecipientID] = append(byRecipient[m.RecipientID], m.Key)
	}
	for _, ks := range byRecipient {
		if len(ks) != each {
			return fmt.Errorf("a claim took %v of a recipient's %d messages", ks, each)
		}
		for k := 1; k < len(ks); k++ {
			if ks[k] < ks[k-1] {
				return fmt.Errorf("a claim took a recipient's messages out of order: %v", ks)
			}
		}
	}
	return nil
}
