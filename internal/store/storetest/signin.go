package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// SignInHashReader is implemented, in a backend's _test.go files, by stores
// whose stored sign-in link and session hashes the suite can read. Run
// requires it: it is how the suite proves that only hashes are kept.
type SignInHashReader interface {
	// StoredSignInHashes are the token_hash columns of the person's
	// sign-in links and web sessions, in any order.
	StoredSignInHashes(ctx context.Context, personID uuid.UUID) (links, sessions []string, err error)
}

func storedSignInHashes(t *testing.T, s store.Store, personID uuid.UUID) (links, sessions []string) {
	t.Helper()
	hr, ok := s.(SignInHashReader)
	if !ok {
		t.Fatalf("%T does not implement storetest.SignInHashReader", s)
	}
	links, sessions, err := hr.StoredSignInHashes(ctxFor(t), personID)
	must(t, err)
	return links, sessions
}

// onlyHashOf fails unless stored is exactly the hash of each plaintext.
func onlyHashOf(t *testing.T, what string, stored []string, plaintexts ...string) {
	t.Helper()
	var want []string
	for _, p := range plaintexts {
		want = append(want, store.HashAPIToken(p))
		for _, h := range stored {
			if strings.Contains(h, p) {
				t.Errorf("%s: the secret %q is stored", what, p)
			}
		}
	}
	slices.Sort(want)
	stored = slices.Sorted(slices.Values(stored))
	if !slices.Equal(stored, want) {
		t.Errorf("%s: stored %q, want the SHA-256 of the secrets: %q", what, stored, want)
	}
}

func isSecret(t *testing.T, what, plain string) {
	t.Helper()
	if raw, err := base64.RawURLEncoding.DecodeString(plain); err != nil || len(raw) != 32 {
		t.Errorf("%s %q is not 32 bytes of unpadded base64url (%v)", what, plain, err)
	}
}

// testSignInLinks: a link works once, until it expires, for its person;
// only its hash is kept.
func testSignInLinks(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	p := newPerson(store.RoleParticipant)
	must(t, s.CreatePeople(ctx, []store.Person{p}))
	expires := base.Add(15 * time.Minute)

	link, err := s.CreateSignInLink(ctx, p.ID, base, expires)
	must(t, err)
	isSecret(t, "sign-in link", link)
	other, err := s.CreateSignInLink(ctx, p.ID, base, expires)
	must(t, err)
	if other == link {
		t.Fatal("two sign-in links are the same")
	}
	links, _ := storedSignInHashes(t, s, p.ID)
	onlyHashOf(t, "sign-in links", links, link, other)

	_, err = s.RedeemSignInLink(ctx, links[0], base)
	mustNotFound(t, "RedeemSignInLink(a stored hash)", err)
	got, err := s.RedeemSignInLink(ctx, link, base.Add(time.Minute))
	must(t, err)
	if got != p.ID {
		t.Errorf("RedeemSignInLink = %s, want %s", got, p.ID)
	}
	_, err = s.RedeemSignInLink(ctx, link, base.Add(time.Minute))
	mustNotFound(t, "RedeemSignInLink a second time", err)

	// Valid up to, not at, expiresAt.
	_, err = s.RedeemSignInLink(ctx, other, expires)
	mustNotFound(t, "RedeemSignInLink at expiresAt", err)
	_, err = s.RedeemSignInLink(ctx, other, expires.Add(time.Hour))
	mustNotFound(t, "RedeemSignInLink after expiry", err)
	last, err := s.CreateSignInLink(ctx, p.ID, base, expires)
	must(t, err)
	if got, err := s.RedeemSignInLink(ctx, last, expires.Add(-time.Microsecond)); err != nil || got != p.ID {
		t.Errorf("RedeemSignInLink just before expiry = %s, %v; want %s", got, err, p.ID)
	}

	_, err = s.RedeemSignInLink(ctx, "not-a-link", base)
	mustNotFound(t, "RedeemSignInLink(unknown)", err)
	_, err = s.RedeemSignInLink(ctx, "", base)
	mustNotFound(t, "RedeemSignInLink(empty)", err)

	_, err = s.CreateSignInLink(ctx, uuid.New(), base, expires)
	mustNotFound(t, "CreateSignInLink(unknown person)", err)
	_, err = s.CreateSignInLink(ctx, p.ID, base, base)
	mustIs(t, "CreateSignInLink expiring when made", err, store.ErrInvalid)
	_, err = s.CreateSignInLink(ctx, uuid.Nil, base, expires)
	mustIs(t, "CreateSignInLink without a person", err, store.ErrInvalid)
}

// testSignInLinksUpTo: CreateSignInLinkUpTo makes no link while the
// person has maxLive neither used nor expired, and never more than that
// however many ask at once.
func testSignInLinksUpTo(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	p, q := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	must(t, s.CreatePeople(ctx, []store.Person{p, q}))
	expires := base.Add(15 * time.Minute)
	upTo := func(who uuid.UUID, at time.Time) error {
		_, err := s.CreateSignInLinkUpTo(ctx, who, at, at.Add(15*time.Minute), 2)
		return err
	}
	first, err := s.CreateSignInLink(ctx, p.ID, base, expires)
	must(t, err)
	must(t, upTo(p.ID, base))
	mustIs(t, "CreateSignInLinkUpTo with two live", upTo(p.ID, base), store.ErrConflict)
	must(t, upTo(q.ID, base)) // someone else's are their own
	_, err = s.RedeemSignInLink(ctx, first, base.Add(time.Minute))
	must(t, err)
	must(t, upTo(p.ID, base.Add(time.Minute))) // a used link no longer counts
	mustIs(t, "CreateSignInLinkUpTo with two live again", upTo(p.ID, base.Add(time.Minute)), store.ErrConflict)
	must(t, upTo(p.ID, base.Add(16*time.Minute))) // the first two have expired

	// Many at once, for a person with none: exactly two.
	r := newPerson(store.RoleParticipant)
	must(t, s.CreatePeople(ctx, []store.Person{r}))
	var made, refused atomic.Int32
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			switch err := upTo(r.ID, base); {
			case err == nil:
				made.Add(1)
			case errors.Is(err, store.ErrConflict):
				refused.Add(1)
			default:
				t.Errorf("concurrent CreateSignInLinkUpTo: %v", err)
			}
		})
	}
	wg.Wait()
	if made.Load() != 2 || refused.Load() != 8 {
		t.Errorf("10 concurrent CreateSignInLinkUpTo(max 2) made %d and refused %d, want 2 and 8", made.Load(), refused.Load())
	}
}

// testSignInLinkConcurrent: of many browsers following one link at once,
// exactly one signs in.
func testSignInLinkConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	p := newPerson(store.RoleCoach)
	must(t, s.CreatePeople(ctx, []store.Person{p}))
	link, err := s.CreateSignInLink(ctx, p.ID, base, base.Add(time.Hour))
	must(t, err)
	const n = 10
	var wg sync.WaitGroup
	results := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			id, err := s.RedeemSignInLink(ctx, link, base.Add(time.Minute))
			if err == nil && id != p.ID {
				err = fmt.Errorf("redeemed for %s, want %s", id, p.ID)
			}
			results <- err
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	ok := 0
	for err := range results {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("concurrent RedeemSignInLink: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent redemptions succeeded, want exactly 1", ok, n)
	}
}

// testWebSessions: a session authenticates as its person, with their role,
// until it expires or is ended; only its hash is kept.
func testWebSessions(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	coach, coord := newPerson(store.RoleCoach), newPerson(store.RoleCoordinator)
	must(t, s.CreatePeople(ctx, []store.Person{coach, coord}))
	expires := base.Add(8 * time.Hour)

	plain, ws, err := s.CreateWebSession(ctx, coach.ID, base, expires)
	must(t, err)
	isSecret(t, "session secret", plain)
	if ws.ID == uuid.Nil || ws.PersonID != coach.ID || ws.Role != store.RoleCoach {
		t.Errorf("created session %+v", ws)
	}
	sameTime(t, "session CreatedAt", ws.CreatedAt, base)
	sameTime(t, "session ExpiresAt", ws.ExpiresAt, expires)
	plain2, ws2, err := s.CreateWebSession(ctx, coach.ID, base, expires)
	must(t, err)
	if plain2 == plain || ws2.ID == ws.ID {
		t.Fatal("two sessions are the same")
	}
	_, sessions := storedSignInHashes(t, s, coach.ID)
	onlyHashOf(t, "web sessions", sessions, plain, plain2)

	got, err := s.AuthenticateWebSession(ctx, plain, base.Add(time.Hour))
	must(t, err)
	if got != ws {
		t.Errorf("AuthenticateWebSession = %+v, want %+v", got, ws)
	}
	cplain, cws, err := s.CreateWebSession(ctx, coord.ID, base, expires)
	must(t, err)
	if got, err := s.AuthenticateWebSession(ctx, cplain, base); err != nil || got.Role != store.RoleCoordinator || got.ID != cws.ID {
		t.Errorf("AuthenticateWebSession(coordinator) = %+v, %v; want role coordinator", got, err)
	}

	if _, err := s.AuthenticateWebSession(ctx, plain, expires.Add(-time.Microsecond)); err != nil {
		t.Errorf("AuthenticateWebSession just before expiry: %v", err)
	}
	_, err = s.AuthenticateWebSession(ctx, plain, expires)
	mustNotFound(t, "AuthenticateWebSession at expiresAt", err)
	_, err = s.AuthenticateWebSession(ctx, "not-a-session", base)
	mustNotFound(t, "AuthenticateWebSession(unknown)", err)
	_, err = s.AuthenticateWebSession(ctx, sessions[0], base)
	mustNotFound(t, "AuthenticateWebSession(a stored hash)", err)

	must(t, s.EndWebSession(ctx, plain))
	_, err = s.AuthenticateWebSession(ctx, plain, base.Add(time.Hour))
	mustNotFound(t, "AuthenticateWebSession after EndWebSession", err)
	must(t, s.EndWebSession(ctx, plain)) // again: nothing to do
	must(t, s.EndWebSession(ctx, "not-a-session"))
	if _, err := s.AuthenticateWebSession(ctx, plain2, base.Add(time.Hour)); err != nil {
		t.Errorf("ending one session ended another: %v", err)
	}

	// Sign out everywhere: the coach's open sessions, and no one else's.
	_, ws3, err := s.CreateWebSession(ctx, coach.ID, base.Add(time.Minute), expires)
	must(t, err)
	_, _, err = s.CreateWebSession(ctx, coach.ID, base.Add(-9*time.Hour), base.Add(-time.Hour)) // expired
	must(t, err)
	open, err := s.WebSessionsOf(ctx, coach.ID, base.Add(time.Hour))
	must(t, err)
	if len(open) != 2 || open[0].ID != ws3.ID || open[1].ID != ws2.ID || open[0].Role != store.RoleCoach {
		t.Errorf("WebSessionsOf(coach) = %+v, want the two open ones, newest first", open)
	}
	unused, err := s.CreateSignInLink(ctx, coach.ID, base.Add(time.Hour), expires)
	must(t, err)
	n, err := s.EndWebSessionsOf(ctx, coach.ID, base.Add(time.Hour))
	if err != nil || n != 2 {
		t.Errorf("EndWebSessionsOf(coach) = %d, %v; want 2", n, err)
	}
	_, err = s.RedeemSignInLink(ctx, unused, base.Add(time.Hour))
	mustNotFound(t, "RedeemSignInLink of a link made before signing out everywhere", err)
	_, err = s.AuthenticateWebSession(ctx, plain2, base.Add(time.Hour))
	mustNotFound(t, "AuthenticateWebSession after EndWebSessionsOf", err)
	if open, err := s.WebSessionsOf(ctx, coach.ID, base.Add(time.Hour)); err != nil || len(open) != 0 {
		t.Errorf("WebSessionsOf(coach) after ending them = %+v, %v; want none", open, err)
	}
	if _, err := s.AuthenticateWebSession(ctx, cplain, base.Add(time.Hour)); err != nil {
		t.Errorf("signing the coach out everywhere ended the coordinator's session: %v", err)
	}

	_, _, err = s.CreateWebSession(ctx, uuid.New(), base, expires)
	mustNotFound(t, "CreateWebSession(unknown person)", err)
	_, _, err = s.CreateWebSession(ctx, coach.ID, base, base.Add(-time.Second))
	mustIs(t, "CreateWebSession expiring before it starts", err, store.ErrInvalid)

	// An erased person's session stops working, and they get no new one.
	_, err = s.ErasePerson(ctx, coord.ID, base.Add(time.Hour))
	must(t, err)
	_, err = s.AuthenticateWebSession(ctx, cplain, base.Add(2*time.Hour))
	mustNotFound(t, "AuthenticateWebSession of an erased person", err)
	_, _, err = s.CreateWebSession(ctx, coord.ID, base.Add(2*time.Hour), expires)
	mustNotFound(t, "CreateWebSession for an erased person", err)
	_, err = s.CreateSignInLink(ctx, coord.ID, base.Add(2*time.Hour), expires)
	mustNotFound(t, "CreateSignInLink for an erased person", err)
}

// claims claims idempotency keys for the suite's tests.
type claims struct {
	t *testing.T
	s store.Store
}

// claim makes c, checks whether it was claimed, and
// returns the record claimed or found.
func (k claims) claim(c store.IdempotencyClaim, wantClaimed bool) store.IdempotencyRecord {
	k.t.Helper()
	rec, claimed, err := k.s.ClaimIdempotencyKey(ctxFor(k.t), c)
	must(k.t, err)
	if claimed != wantClaimed {
		k.t.Errorf("ClaimIdempotencyKey(%q, %q, token %q) claimed = %v, want %v (record %+v)", c.Key, c.Fingerprint, c.Token, claimed, wantClaimed, rec)
	}
	if rec.PrincipalID != c.PrincipalID || rec.Key != c.Key {
		k.t.Errorf("ClaimIdempotencyKey(%q) = %+v, want principal %s", c.Key, rec, c.PrincipalID)
	}
	return rec
}

// claimOf is a claim of key by who with token at now; claims in progress
// go stale a minute before now, and answers are kept for ever.
func claimOf(who uuid.UUID, key, fp, token string, now time.Time) store.IdempotencyClaim {
	return store.IdempotencyClaim{PrincipalID: who, Key: key, Fingerprint: fp, Token: token, Now: now, StaleBefore: now.Add(-time.Minute)}
}

// answer is rec answered with status, contentType and body.
func answer(rec store.IdempotencyRecord, status int, contentType string, body []byte) store.IdempotencyRecord {
	rec.Status, rec.ContentType, rec.Body = status, contentType, body
	return rec
}

// testIdempotencyKeys: the first request with a key claims it; a retry
// sees it in progress, then its answer; a stale claim can be taken over
// and a released one claimed again; keys are per principal.
func testIdempotencyKeys(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	k := claims{t, s}
	a, b := uuid.New(), uuid.New()
	now := base

	first := k.claim(claimOf(a, "k1", "POST /x digest-1", "t1", now), true)
	if first.Fingerprint != "POST /x digest-1" || first.Token != "t1" || first.Status != 0 || len(first.Body) != 0 {
		t.Errorf("claimed record = %+v", first)
	}
	sameTime(t, "claimed CreatedAt", first.CreatedAt, now)
	// The retry while the first is in progress; even with another body.
	rec := k.claim(claimOf(a, "k1", "POST /x digest-2", "t2", now.Add(time.Second)), false)
	if rec.Status != 0 || rec.Fingerprint != "POST /x digest-1" || rec.Token != "t1" {
		t.Errorf("record in progress = %+v, want status 0 and the first claim", rec)
	}
	bFirst := k.claim(claimOf(b, "k1", "POST /x digest-1", "t1", now), true) // someone else's k1

	body := []byte(`{"id":"c1","status":"completed"}`)
	must(t, s.CompleteIdempotencyKey(ctx, answer(first, 201, "application/json", body)))
	must(t, s.CompleteIdempotencyKey(ctx, answer(first, 201, "application/json", body))) // a retry
	rec = k.claim(claimOf(a, "k1", "POST /x digest-1", "t3", now.Add(time.Hour)), false)
	if rec.Status != 201 || rec.ContentType != "application/json" || !bytes.Equal(rec.Body, body) || rec.Fingerprint != "POST /x digest-1" {
		t.Errorf("replayed record = %+v, want the stored answer", rec)
	}
	sameTime(t, "replayed CreatedAt", rec.CreatedAt, now)
	err := s.CompleteIdempotencyKey(ctx, answer(first, 500, "application/problem+json", nil))
	mustIs(t, "CompleteIdempotencyKey with another answer", err, store.ErrConflict)
	mustIs(t, "ReleaseIdempotencyKey of an answered key", s.ReleaseIdempotencyKey(ctx, first), store.ErrConflict)
	if rec := k.claim(claimOf(a, "k1", "x", "t4", now.Add(time.Hour)), false); rec.Status != 201 {
		t.Errorf("answered key after a refused release = %+v", rec)
	}
	// b's k1 is still in progress.
	if rec := k.claim(claimOf(b, "k1", "POST /x digest-1", "t5", now), false); rec.Status != 0 || rec.Token != bFirst.Token {
		t.Errorf("b's k1 = %+v, want in progress", rec)
	}

	// A failed request releases its key; a retry claims it afresh.
	k3 := k.claim(claimOf(a, "k3", "fp", "t1", now), true)
	must(t, s.ReleaseIdempotencyKey(ctx, k3))
	must(t, s.ReleaseIdempotencyKey(ctx, k3)) // released already
	k3 = k.claim(claimOf(a, "k3", "fp-retry", "t2", now), true)
	must(t, s.CompleteIdempotencyKey(ctx, answer(k3, 204, "", nil)))
	if rec := k.claim(claimOf(a, "k3", "fp-retry", "t3", now), false); rec.Status != 204 || rec.ContentType != "" || len(rec.Body) != 0 {
		t.Errorf("answer without a body = %+v", rec)
	}

	never := store.IdempotencyRecord{PrincipalID: a, Key: "never-claimed", Token: "t1"}
	mustNotFound(t, "CompleteIdempotencyKey(unknown)", s.CompleteIdempotencyKey(ctx, answer(never, 200, "text/plain", []byte("x"))))
	must(t, s.ReleaseIdempotencyKey(ctx, never))
	k4 := k.claim(claimOf(a, "k4", "fp", "t1", now), true)
	mustIs(t, "CompleteIdempotencyKey with status 0", s.CompleteIdempotencyKey(ctx, answer(k4, 0, "", nil)), store.ErrInvalid)
	for name, c := range map[string]store.IdempotencyClaim{
		"without a key":       claimOf(a, "", "fp", "t", now),
		"without a principal": claimOf(uuid.Nil, "k", "fp", "t", now),
		"without a token":     claimOf(a, "k", "fp", "", now),
		"without a time":      claimOf(a, "k", "fp", "t", time.Time{}),
	} {
		_, _, err = s.ClaimIdempotencyKey(ctx, c)
		mustIs(t, "ClaimIdempotencyKey "+name, err, store.ErrInvalid)
	}
	k4.Token = ""
	mustIs(t, "CompleteIdempotencyKey without a token", s.CompleteIdempotencyKey(ctx, answer(k4, 200, "", nil)), store.ErrInvalid)
	mustIs(t, "ReleaseIdempotencyKey without a token", s.ReleaseIdempotencyKey(ctx, k4), store.ErrInvalid)
}

// testIdempotencyTakeover: a claim still in progress is taken over once it
// is stale, not before; from then on it is the retry's, and the request it
// was taken from can neither answer it nor release it.
func testIdempotencyTakeover(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	k := claims{t, s}
	a := uuid.New()
	now := base

	slow := k.claim(claimOf(a, "k", "fp-old", "slow", now), true)
	soon := claimOf(a, "k", "fp-new", "retry", now.Add(time.Minute))
	soon.StaleBefore = now
	k.claim(soon, false)
	late := claimOf(a, "k", "fp-new", "retry", now.Add(10*time.Minute))
	late.StaleBefore = now.Add(5 * time.Minute)
	retry := k.claim(late, true)
	if retry.Fingerprint != "fp-new" || retry.Token != "retry" || retry.Status != 0 {
		t.Errorf("taken-over record = %+v", retry)
	}
	sameTime(t, "taken-over CreatedAt", retry.CreatedAt, now.Add(10*time.Minute))

	// The slow request finishes, failed or answered: neither touches the
	// retry's claim.
	mustIs(t, "ReleaseIdempotencyKey by the request taken over", s.ReleaseIdempotencyKey(ctx, slow), store.ErrConflict)
	mustIs(t, "CompleteIdempotencyKey by the request taken over",
		s.CompleteIdempotencyKey(ctx, answer(slow, 201, "application/json", []byte(`{"slow":true}`))), store.ErrConflict)
	third := claimOf(a, "k", "fp-third", "third", now.Add(11*time.Minute))
	third.StaleBefore = now.Add(5 * time.Minute)
	if rec := k.claim(third, false); rec.Token != "retry" || rec.Status != 0 {
		t.Errorf("record after the slow request finished = %+v, want the retry's claim, in progress", rec)
	}
	must(t, s.CompleteIdempotencyKey(ctx, answer(retry, 200, "application/json", []byte(`{"retry":true}`))))
	if rec := k.claim(third, false); rec.Status != 200 || string(rec.Body) != `{"retry":true}` {
		t.Errorf("answer = %+v, want the retry's", rec)
	}
	mustIs(t, "CompleteIdempotencyKey by the request taken over, once answered",
		s.CompleteIdempotencyKey(ctx, answer(slow, 200, "application/json", []byte(`{"retry":true}`))), store.ErrConflict)
}

// testIdempotencyForget: an answer is kept until ForgetBefore passes it;
// then the key is claimed afresh, and ForgetIdempotencyRecords deletes
// every record claimed before the time it is given, answered or not.
func testIdempotencyForget(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	k := claims{t, s}
	a := uuid.New()
	day := 24 * time.Hour
	// Far from the other tests' records: ForgetIdempotencyRecords is global.
	now := base.Add(-1000 * day)

	old := k.claim(claimOf(a, "old", "fp", "t1", now), true)
	must(t, s.CompleteIdempotencyKey(ctx, answer(old, 201, "application/json", []byte(`{"n":1}`))))
	within := claimOf(a, "old", "fp", "t2", now.Add(day-time.Second))
	within.ForgetBefore = within.Now.Add(-day)
	if rec := k.claim(within, false); rec.Status != 201 {
		t.Errorf("answer within its day = %+v, want it replayed", rec)
	}
	after := claimOf(a, "old", "fp-other", "t3", now.Add(day+time.Second))
	after.ForgetBefore = after.Now.Add(-day)
	if rec := k.claim(after, true); rec.Status != 0 || len(rec.Body) != 0 || rec.Fingerprint != "fp-other" || rec.Token != "t3" {
		t.Errorf("key claimed after its answer's day = %+v, want a fresh claim", rec)
	}

	k.claim(claimOf(a, "in progress", "fp", "t1", now), true)
	answered := k.claim(claimOf(a, "answered", "fp", "t1", now.Add(time.Hour)), true)
	must(t, s.CompleteIdempotencyKey(ctx, answer(answered, 200, "", nil)))
	k.claim(claimOf(a, "recent", "fp", "t1", now.Add(2*day)), true)

	n, err := s.ForgetIdempotencyRecords(ctx, now.Add(2*time.Hour))
	must(t, err)
	if n != 2 {
		t.Errorf("ForgetIdempotencyRecords deleted %d records, want 2 (in progress and answered)", n)
	}
	for key, want := range map[string]bool{"in progress": true, "answered": true, "recent": false} {
		c := claimOf(a, key, "fp", "probe", now.Add(2*day))
		c.StaleBefore = time.Time{} // nothing is stale: only a deleted key is claimed
		if _, claimed, err := s.ClaimIdempotencyKey(ctx, c); err != nil || claimed != want {
			t.Errorf("key %q after ForgetIdempotencyRecords: claimed = %v, %v; want %v", key, claimed, err, want)
		}
	}
}

// testIdempotencyKeyConcurrent: of many requests sent at once with one
// key, exactly one claims it; the others see it in progress.
func testIdempotencyKeyConcurrent(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	who := uuid.New()
	const n = 10
	var wg sync.WaitGroup
	type result struct {
		rec     store.IdempotencyRecord
		claimed bool
		err     error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rec, claimed, err := s.ClaimIdempotencyKey(ctx, claimOf(who, "same", fmt.Sprintf("fp-%d", i), fmt.Sprintf("t-%d", i), base))
			results <- result{rec, claimed, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	claimed := 0
	for r := range results {
		switch {
		case r.err != nil:
			t.Errorf("concurrent ClaimIdempotencyKey: %v", r.err)
		case r.claimed:
			claimed++
		case r.rec.Status != 0:
			t.Errorf("concurrent ClaimIdempotencyKey not claimed: %+v, want in progress", r.rec)
		}
	}
	if claimed != 1 {
		t.Errorf("%d of %d concurrent claims succeeded, want exactly 1", claimed, n)
	}
}

// testJourneysOfPeople: a participant's and a coach's journeys, from the
// projection, in the order the journeys began.
func testJourneysOfPeople(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	person, coach, other := uuid.New(), uuid.New(), uuid.New()
	// Journey IDs in the reverse of the order the journeys begin, so
	// ordering by ID cannot pass for ordering by age.
	js := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	slices.SortFunc(js, func(a, b uuid.UUID) int { return -bytes.Compare(a[:], b[:]) })
	j1, j2, j3, oj := js[0], js[1], js[2], js[3]
	seq := 0
	record := func(j, p, c uuid.UUID, state contract.Status) store.JourneySnapshot {
		t.Helper()
		seq++
		snap := snapshot(in, j, p, state)
		snap.CoachID = c
		_, err := s.Record(ctx, journeyEvent(in, j, fmt.Sprintf("e%d", seq), "moved", snap))
		must(t, err)
		return *snap
	}
	record(j1, person, uuid.Nil, "submitted")
	record(oj, other, uuid.Nil, "submitted")
	record(j2, person, uuid.Nil, "submitted")
	record(j3, person, coach, "lab")
	s2 := record(j2, person, coach, "lab")
	s3 := record(j3, person, uuid.New(), "lab") // reassigned away from coach
	so := record(oj, other, coach, "lab")
	s1 := record(j1, person, uuid.Nil, "withdrawn") // latest event: still the oldest journey

	check := func(what string, got []store.JourneySnapshot, err error, want ...store.JourneySnapshot) {
		t.Helper()
		must(t, err)
		if len(got) != len(want) {
			t.Fatalf("%s = %d journeys %+v, want %d", what, len(got), got, len(want))
		}
		for i := range want {
			sameSnapshot(t, fmt.Sprintf("%s[%d]", what, i), got[i], want[i])
		}
	}
	got, err := s.JourneysOfPerson(ctx, person)
	check("JourneysOfPerson", got, err, s1, s2, s3)
	got, err = s.JourneysOfCoach(ctx, coach)
	check("JourneysOfCoach", got, err, so, s2)
	got, err = s.JourneysOfPerson(ctx, uuid.New())
	check("JourneysOfPerson(unknown)", got, err)
	got, err = s.JourneysOfCoach(ctx, uuid.New())
	check("JourneysOfCoach(unknown)", got, err)
}

// testNotesOfJourney: a journey's notes, oldest first, and only its own.
func testNotesOfJourney(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	journey, author := uuid.New(), uuid.New()
	var want []store.Note
	for _, h := range []int{2, 0, 1} {
		n := store.Note{ID: uuid.New(), AuthorID: author, JourneyID: journey,
			Body: fmt.Sprintf("nodyn %d", h), CreatedAt: base.Add(time.Duration(h) * time.Hour)}
		must(t, s.SaveNote(ctx, n))
		want = append(want, n)
	}
	slices.SortFunc(want, func(a, b store.Note) int { return a.CreatedAt.Compare(b.CreatedAt) })
	must(t, s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: author, JourneyID: uuid.New(), Body: "elsewhere"}))
	must(t, s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: author, Body: "no journey"}))

	got, err := s.NotesOfJourney(ctx, journey)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("NotesOfJourney = %d notes, want %d", len(got), len(want))
	}
	for i := range want {
		sameTime(t, "note CreatedAt", got[i].CreatedAt, want[i].CreatedAt)
		g, w := got[i], want[i]
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("NotesOfJourney[%d] = %+v, want %+v", i, g, w)
		}
	}
	none, err := s.NotesOfJourney(ctx, uuid.New())
	must(t, err)
	if len(none) != 0 {
		t.Errorf("NotesOfJourney(unknown) = %+v", none)
	}
}

func testSetLanguage(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	p, other := newPerson(store.RoleParticipant), newPerson(store.RoleParticipant)
	must(t, s.CreatePeople(ctx, []store.Person{p, other}))
	for _, lang := range []store.Language{store.LanguageEnglish, store.LanguageUnknown, store.LanguageWelsh, store.LanguageEnglish} {
		must(t, s.SetLanguage(ctx, p.ID, lang))
		got, err := s.GetPerson(ctx, p.ID)
		must(t, err)
		want := p
		want.Language = lang
		samePerson(t, got, want)
	}
	mustIs(t, "SetLanguage(fr)", s.SetLanguage(ctx, p.ID, "fr"), store.ErrInvalid)
	if got, err := s.GetPerson(ctx, p.ID); err != nil || got.Language != store.LanguageEnglish {
		t.Errorf("after a refused SetLanguage the language is %q (%v), want %q", got.Language, err, store.LanguageEnglish)
	}
	mustNotFound(t, "SetLanguage(unknown person)", s.SetLanguage(ctx, uuid.New(), store.LanguageWelsh))
	got, err := s.GetPerson(ctx, other.ID)
	must(t, err)
	samePerson(t, got, other)
}

// testErasePerson: erasure blanks the person, deletes their notes and the
// notes on their journeys, gives up their queued messages, and stops every
// way of signing in as them, in one go; the rest of the record stays.
func testErasePerson(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	in := newIntake(t, s)
	p, coach, o := newPerson(store.RoleParticipant), newPerson(store.RoleCoach), newPerson(store.RoleParticipant)
	p.Language = store.LanguageEnglish
	must(t, s.CreatePeople(ctx, []store.Person{p, coach, o}))
	j, oj := uuid.New(), uuid.New()
	jsnap := snapshot(in, j, p.ID, "lab")
	jsnap.CoachID = coach.ID
	osnap := snapshot(in, oj, o.ID, "lab")
	osnap.CoachID = coach.ID

	// Messages to p: m1 queued, m2 sent, m3 failed already, m5 waiting
	// for a retry; m4 is to the coach.
	toP := func(key string, recipient uuid.UUID) store.Message {
		m := message(in, j, key, base)
		m.RecipientID = recipient
		return m
	}
	_, err := s.Record(ctx, journeyEvent(in, j, "j/1", "moved", jsnap),
		toP("m1", p.ID), toP("m2", p.ID), toP("m3", p.ID), toP("m4", coach.ID), toP("m5", p.ID))
	must(t, err)
	_, err = s.Record(ctx, journeyEvent(in, oj, "o/1", "moved", osnap))
	must(t, err)
	must(t, s.MarkSent(ctx, "m2", "<m2@example.org>", base))
	must(t, s.MarkFailed(ctx, marker, "m3", "mailbox full"))
	must(t, s.MarkRetry(ctx, marker, "m5", base.Add(time.Hour), "greylisted"))

	note := func(author, journey uuid.UUID) store.Note {
		n := store.Note{ID: uuid.New(), AuthorID: author, JourneyID: journey, Body: "nodyn", CreatedAt: base}
		must(t, s.SaveNote(ctx, n))
		return n
	}
	gone := []store.Note{note(coach.ID, j), note(p.ID, j), note(p.ID, oj), note(p.ID, uuid.Nil)}
	kept := note(coach.ID, oj)

	tok, _, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: store.RoleParticipant, Name: "app"})
	must(t, err)
	_, revoked, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: store.RoleParticipant, Name: "old app"})
	must(t, err)
	must(t, s.RevokeAPIToken(ctx, revoked.ID))
	coachTok, _, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: coach.ID, Role: store.RoleCoach, Name: "coach app"})
	must(t, err)

	at := base.Add(time.Hour)
	live, _, err := s.CreateWebSession(ctx, p.ID, base, base.Add(8*time.Hour))
	must(t, err)
	ended, _, err := s.CreateWebSession(ctx, p.ID, base, base.Add(8*time.Hour))
	must(t, err)
	must(t, s.EndWebSession(ctx, ended))
	_, _, err = s.CreateWebSession(ctx, p.ID, base.Add(-10*time.Hour), base.Add(-2*time.Hour)) // expired before at
	must(t, err)
	coachSession, _, err := s.CreateWebSession(ctx, coach.ID, base, base.Add(8*time.Hour))
	must(t, err)
	link1, err := s.CreateSignInLink(ctx, p.ID, base, base.Add(2*time.Hour))
	must(t, err)
	_, err = s.CreateSignInLink(ctx, p.ID, base, base.Add(2*time.Hour))
	must(t, err)

	// Stored answers: the person's own, and others' about them or not.
	k := claims{t, s}
	stored := map[string]struct {
		by   uuid.UUID
		body string
		gone bool
	}{
		"own":             {p.ID, `{"ok":true}`, true},
		"by ID":           {coach.ID, fmt.Sprintf(`{"created":[{"id":%q}]}`, p.ID), true},
		"by address":      {coach.ID, fmt.Sprintf(`{"detail":"line 3: %s is taken"}`, p.EmailAddress), true},
		"other case":      {coach.ID, fmt.Sprintf(`{"detail":"line 2: \\"%s\\" is taken"}`, strings.ToUpper(p.EmailAddress)), true},
		"sentence":        {coach.ID, fmt.Sprintf(`{"detail":"write to %s."}`, p.EmailAddress), true},
		"escaped address": {coach.ID, fmt.Sprintf(`{"to":"Siân \u003c%s\u003e"}`, p.EmailAddress), true},
		"escaped ID":      {coach.ID, fmt.Sprintf(`{"note":"line 1\n%s"}`, p.ID), true},
		"quoted":          {coach.ID, fmt.Sprintf(`{"detail":"address '%s' is taken"}`, p.EmailAddress), true},
		"not json":        {coach.ID, fmt.Sprintf("line 2: %s is taken", p.EmailAddress), true},
		"longer":          {coach.ID, fmt.Sprintf(`{"email":"jo%s"}`, p.EmailAddress), false},
		"subdomain":       {coach.ID, fmt.Sprintf(`{"email":"%s.example"}`, p.EmailAddress), false},
		"name only":       {coach.ID, fmt.Sprintf(`{"name":%q}`, p.GivenName+" "+p.FamilyName), false},
		"namesake":        {coach.ID, fmt.Sprintf(`{"givenName":%q,"id":%q}`, o.GivenName, o.ID), false},
		"unrelated":       {coach.ID, `{"ok":true}`, false},
		"no body":         {coach.ID, ``, false},
	}
	for key, a := range stored {
		rec := k.claim(claimOf(a.by, key, "fp", "t", at), true)
		must(t, s.CompleteIdempotencyKey(ctx, answer(rec, 200, "application/json", []byte(a.body))))
	}

	got, err := s.ErasePerson(ctx, p.ID, at)
	must(t, err)
	for key, a := range stored {
		c := claimOf(a.by, key, "fp", "probe", at)
		c.StaleBefore = time.Time{}
		if _, claimed, err := s.ClaimIdempotencyKey(ctx, c); err != nil || claimed != a.gone {
			t.Errorf("stored answer %q after erasure: claimed afresh = %v, %v; want %v (forgotten)", key, claimed, err, a.gone)
		}
	}
	sameTime(t, "PersonErasure.ErasedAt", got.ErasedAt, at)
	got.ErasedAt = time.Time{}
	want := store.PersonErasure{PersonID: p.ID, NotesDeleted: 4, MessagesFailed: 2, TokensRevoked: 1, SessionsEnded: 1, SignInLinksGone: 2}
	if got != want {
		t.Errorf("ErasePerson = %+v\nwant          %+v", got, want)
	}

	erased, err := s.GetPerson(ctx, p.ID)
	must(t, err)
	sameTime(t, "erased person ErasedAt", erased.ErasedAt, at)
	wantP := p
	wantP.GivenName, wantP.FamilyName, wantP.EmailAddress, wantP.ErasedAt = "", "", "", erased.ErasedAt
	samePerson(t, erased, wantP) // role, local authority, theme, language and creation stay
	_, err = s.FindPersonByEmail(ctx, p.EmailAddress)
	mustNotFound(t, "FindPersonByEmail(erased person's address)", err)
	_, err = s.FindPersonByEmail(ctx, "")
	mustNotFound(t, "FindPersonByEmail(\"\")", err)
	parts, err := s.ListPeople(ctx, store.RoleParticipant)
	must(t, err)
	if len(parts) != 2 || parts[0].ID != p.ID || parts[0].ErasedAt.IsZero() || parts[0].GivenName != "" {
		t.Errorf("ListPeople(participant) = %+v, want the erased person (blank) and o", parts)
	}

	for _, n := range gone {
		_, err := s.GetNote(ctx, n.ID)
		mustNotFound(t, "note by or about the erased person", err)
	}
	if _, err := s.GetNote(ctx, kept.ID); err != nil {
		t.Errorf("a note on someone else's journey by someone else was deleted: %v", err)
	}
	for key, want := range map[string]struct {
		status store.MessageStatus
		reason string
	}{
		"m1": {store.MessageFailed, "recipient erased"},
		"m2": {store.MessageSent, ""},
		"m3": {store.MessageFailed, "mailbox full"},
		"m4": {store.MessageQueued, ""},
		"m5": {store.MessageFailed, "recipient erased"},
	} {
		m := getMessage(t, s, j, key)
		if m.Status != want.status || m.LastError != want.reason {
			t.Errorf("message %s is %s (%q), want %s (%q)", key, m.Status, m.LastError, want.status, want.reason)
		}
	}
	due, err := s.DueMessages(ctx, at.Add(24*time.Hour), 0)
	must(t, err)
	if ks := keys(due); !slices.Equal(ks, []string{"m4"}) {
		t.Errorf("DueMessages after erasure = %v, want only the coach's m4", ks)
	}

	_, err = s.AuthenticateAPIToken(ctx, tok, time.Now())
	mustNotFound(t, "AuthenticateAPIToken of the erased person", err)
	_, err = s.AuthenticateWebSession(ctx, live, at)
	mustNotFound(t, "AuthenticateWebSession of the erased person", err)
	_, err = s.RedeemSignInLink(ctx, link1, at)
	mustNotFound(t, "RedeemSignInLink of the erased person", err)
	links, sessions := storedSignInHashes(t, s, p.ID)
	if len(links) != 0 {
		t.Errorf("%d sign-in links of the erased person are left", len(links))
	}
	if len(sessions) != 3 {
		t.Errorf("%d sessions of the erased person, want the 3 rows kept, ended", len(sessions))
	}
	if _, err := s.AuthenticateAPIToken(ctx, coachTok, time.Now()); err != nil {
		t.Errorf("erasing a participant stopped their coach's token: %v", err)
	}
	if _, err := s.AuthenticateWebSession(ctx, coachSession, at); err != nil {
		t.Errorf("erasing a participant ended their coach's session: %v", err)
	}

	// The event log and projection carry IDs only, and stay.
	if _, err := s.GetJourney(ctx, j); err != nil {
		t.Errorf("GetJourney of the erased person's journey: %v", err)
	}
	if evs, err := s.JourneyEvents(ctx, j); err != nil || len(evs) != 1 {
		t.Errorf("JourneyEvents of the erased person's journey = %d, %v; want 1", len(evs), err)
	}

	again, err := s.ErasePerson(ctx, p.ID, at.Add(time.Hour))
	must(t, err)
	sameTime(t, "second erasure ErasedAt", again.ErasedAt, at)
	again.ErasedAt = time.Time{}
	if again != (store.PersonErasure{PersonID: p.ID}) {
		t.Errorf("second ErasePerson = %+v, want zero counts", again)
	}
	_, err = s.ErasePerson(ctx, uuid.New(), at)
	mustNotFound(t, "ErasePerson(unknown)", err)

	// Another erased person beside the first, then the address reused.
	_, err = s.ErasePerson(ctx, o.ID, at)
	must(t, err)
	fresh := newPerson(store.RoleParticipant)
	fresh.EmailAddress = strings.ToUpper(p.EmailAddress)
	must(t, s.CreatePeople(ctx, []store.Person{fresh}))
	found, err := s.FindPersonByEmail(ctx, p.EmailAddress)
	must(t, err)
	samePerson(t, found, fresh)
	// Re-creating the erased person would undo the erasure.
	err = s.CreatePeople(ctx, []store.Person{p})
	mustIs(t, "CreatePeople of an erased person", err, store.ErrConflict)
	p.ErasedAt = at
	p.ID = uuid.New()
	p.EmailAddress = "someone.new@example.org"
	mustIs(t, "CreatePeople of someone erased already", s.CreatePeople(ctx, []store.Person{p}), store.ErrInvalid)
}

// TextFinder is implemented by stores the suite can search whole: it is how
// the suite proves an erasure leaves nothing of the person behind. FindText
// lists, as "table.column", every column of every table with a value that
// holds one of texts.
type TextFinder interface {
	FindText(ctx context.Context, texts ...string) ([]string, error)
}

// testErasureLeavesNoTrace: after erasure, the person's names and address
// are nowhere in the database, whatever mentioned them: their record,
// notes by and about them, their API token's name, and answers kept for
// retries of their own requests and of others' requests about them.
func testErasureLeavesNoTrace(t *testing.T, s store.Store) {
	finder, ok := s.(TextFinder)
	if !ok {
		t.Fatalf("%T does not implement storetest.TextFinder; add FindText to the backend", s)
	}
	ctx := ctxFor(t)
	in := newIntake(t, s)
	p, coach, coord := newPerson(store.RoleParticipant), newPerson(store.RoleCoach), newPerson(store.RoleCoordinator)
	p.GivenName, p.FamilyName, p.EmailAddress = "Nerys", "Prydderch", "Nerys.Prydderch@torfaen.gov.uk"
	traces := []string{p.GivenName, p.FamilyName, p.EmailAddress, strings.ToLower(p.EmailAddress), strings.ToUpper(p.EmailAddress)}
	must(t, s.CreatePeople(ctx, []store.Person{p, coach, coord}))
	j := uuid.New()
	snap := snapshot(in, j, p.ID, "lab")
	snap.CoachID = coach.ID
	m := message(in, j, "to nerys", base)
	m.RecipientID = p.ID
	_, err := s.Record(ctx, journeyEvent(in, j, "j/1", "moved", snap), m)
	must(t, err)
	must(t, s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: coach.ID, JourneyID: j, Body: "Nerys led the session", CreatedAt: base}))
	must(t, s.SaveNote(ctx, store.Note{ID: uuid.New(), AuthorID: p.ID, Body: "Nerys's own note", CreatedAt: base}))
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: p.ID, Role: store.RoleParticipant, Name: "Nerys Prydderch's phone"})
	must(t, err)
	_, _, err = s.CreateWebSession(ctx, p.ID, base, base.Add(time.Hour))
	must(t, err)
	_, err = s.CreateSignInLink(ctx, p.ID, base, base.Add(time.Hour))
	must(t, err)
	k := claims{t, s}
	for key, a := range map[string]struct {
		by   uuid.UUID
		body string
	}{
		"own":     {p.ID, `{"language":"cy"}`},
		"import":  {coord.ID, fmt.Sprintf(`{"created":[{"id":%q,"givenName":"Nerys","familyName":"Prydderch","email":%q}]}`, p.ID, p.EmailAddress)},
		"refused": {coord.ID, fmt.Sprintf(`{"detail":"line 2: %s is already someone else's address"}`, p.EmailAddress)},
		"shouted": {coord.ID, fmt.Sprintf(`{"detail":"line 3: \\"%s\\" is also on line 2"}`, strings.ToUpper(p.EmailAddress))},
	} {
		rec := k.claim(claimOf(a.by, key, "fp", "t", base), true)
		must(t, s.CompleteIdempotencyKey(ctx, answer(rec, 200, "application/json", []byte(a.body))))
	}
	before, err := finder.FindText(ctx, traces...)
	must(t, err)
	if len(before) < 4 {
		t.Fatalf("before erasure the person is found in %v only; FindText does not search the whole database", before)
	}

	_, err = s.ErasePerson(ctx, p.ID, base.Add(time.Hour))
	must(t, err)
	after, err := finder.FindText(ctx, traces...)
	must(t, err)
	if len(after) > 0 {
		t.Errorf("after erasure the person's name or address is still in %v (found before in %v)", after, before)
	}
}
