package storetest

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// TokenHashReader is implemented, in a backend's _test.go files, by stores
// whose stored API token hashes the suite can read. Run requires it: it is
// how the suite proves that only a token's hash is kept, never the token.
type TokenHashReader interface {
	// StoredTokenHash is the token_hash column of the token with id.
	StoredTokenHash(ctx context.Context, id uuid.UUID) (string, error)
}

// testAPITokens: a token is shown once and kept as its SHA-256 only; it
// authenticates as its person and role until it is revoked or the person
// is erased; an unknown token is ErrNotFound.
func testAPITokens(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	coord := newPerson(store.RoleCoordinator)
	must(t, s.CreatePeople(ctx, []store.Person{coord}))

	plain, tok, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "  council CRM "})
	must(t, err)
	if raw, err := base64.RawURLEncoding.DecodeString(plain); err != nil || len(raw) != 32 {
		t.Errorf("token %q is not 32 bytes of unpadded base64url (%v)", plain, err)
	}
	if tok.ID == uuid.Nil || tok.PersonID != coord.ID || tok.Role != store.RoleCoordinator ||
		tok.Name != "council CRM" || tok.CreatedAt.IsZero() || !tok.RevokedAt.IsZero() {
		t.Errorf("created token %+v", tok)
	}

	hr, ok := s.(TokenHashReader)
	if !ok {
		t.Fatalf("%T does not implement storetest.TokenHashReader", s)
	}
	stored, err := hr.StoredTokenHash(ctx, tok.ID)
	must(t, err)
	if stored != store.HashAPIToken(plain) || strings.Contains(stored, plain) {
		t.Errorf("stored token_hash %q, want the SHA-256 of the token %q and not the token", stored, store.HashAPIToken(plain))
	}

	got, err := s.AuthenticateAPIToken(ctx, plain, time.Now())
	must(t, err)
	if got.LastUsedAt.IsZero() {
		t.Errorf("AuthenticateAPIToken = %+v, want its use recorded", got)
	}
	got.LastUsedAt = time.Time{}
	if got != tok {
		t.Errorf("AuthenticateAPIToken = %+v, want %+v", got, tok)
	}
	plain2, tok2, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "second"})
	must(t, err)
	if plain2 == plain || tok2.ID == tok.ID {
		t.Error("two tokens are the same")
	}

	_, err = s.AuthenticateAPIToken(ctx, "not-a-token", time.Now())
	mustNotFound(t, "AuthenticateAPIToken(unknown)", err)
	_, err = s.AuthenticateAPIToken(ctx, "", time.Now())
	mustNotFound(t, "AuthenticateAPIToken(empty)", err)
	_, err = s.AuthenticateAPIToken(ctx, stored, time.Now())
	mustNotFound(t, "AuthenticateAPIToken(the stored hash)", err)

	must(t, s.RevokeAPIToken(ctx, tok.ID))
	must(t, s.RevokeAPIToken(ctx, tok.ID)) // again: no change, no error
	_, err = s.AuthenticateAPIToken(ctx, plain, time.Now())
	mustNotFound(t, "AuthenticateAPIToken(revoked)", err)
	if _, err := s.AuthenticateAPIToken(ctx, plain2, time.Now()); err != nil {
		t.Errorf("revoking one token stopped another: %v", err)
	}
	mustNotFound(t, "RevokeAPIToken(unknown)", s.RevokeAPIToken(ctx, uuid.New()))

	// An erased person's tokens stop working, and they get no new one.
	_, err = s.ErasePerson(ctx, coord.ID, base)
	must(t, err)
	_, err = s.AuthenticateAPIToken(ctx, plain2, time.Now())
	mustNotFound(t, "AuthenticateAPIToken of an erased person", err)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "after erasure"})
	mustNotFound(t, "CreateAPIToken for an erased person", err)
	coord = newPerson(store.RoleCoordinator)
	must(t, s.CreatePeople(ctx, []store.Person{coord}))

	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: uuid.New(), Role: store.RoleCoach, Name: "nobody"})
	mustNotFound(t, "CreateAPIToken(unknown person)", err)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: "admin", Name: "x"})
	mustIs(t, "CreateAPIToken(unknown role)", err, store.ErrInvalid)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: " "})
	mustIs(t, "CreateAPIToken(no name)", err, store.ErrInvalid)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoach, Name: "another role"})
	mustIs(t, "CreateAPIToken(a coordinator as coach)", err, store.ErrInvalid)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "ended", ExpiresAt: time.Now().Add(-time.Minute)})
	mustIs(t, "CreateAPIToken(expired already)", err, store.ErrInvalid)
	_, _, err = s.CreateAPIToken(ctx, store.APIToken{PersonID: coord.ID, Role: store.RoleCoordinator, Name: "for ever and a day",
		ExpiresAt: time.Now().AddDate(store.MaxAPITokenYears, 0, 1)})
	mustIs(t, "CreateAPIToken(ending too far ahead)", err, store.ErrInvalid)
}

// testAPITokenExpiryAndUse: a token with an end works until then, not
// after; each use is recorded, to the minute; APITokensOf lists a person's
// tokens, or everyone's, newest first.
func testAPITokenExpiryAndUse(t *testing.T, s store.Store) {
	ctx := ctxFor(t)
	coach, other := newPerson(store.RoleCoach), newPerson(store.RoleCoach)
	must(t, s.CreatePeople(ctx, []store.Person{coach, other}))
	start := time.Now()
	ends := start.Add(30 * 24 * time.Hour)
	plain, tok, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: coach.ID, Role: store.RoleCoach, Name: "for a month", ExpiresAt: ends})
	must(t, err)
	sameTime(t, "ExpiresAt", tok.ExpiresAt, ends)
	forever, _, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: coach.ID, Role: store.RoleCoach, Name: "until revoked"})
	must(t, err)
	_, othersTok, err := s.CreateAPIToken(ctx, store.APIToken{PersonID: other.ID, Role: store.RoleCoach, Name: "someone else's"})
	must(t, err)

	lastUse := func(id uuid.UUID) time.Time {
		t.Helper()
		toks, err := s.APITokensOf(ctx, coach.ID)
		must(t, err)
		for _, k := range toks {
			if k.ID == id {
				return k.LastUsedAt
			}
		}
		t.Fatalf("APITokensOf(coach) lacks token %s", id)
		return time.Time{}
	}
	if !lastUse(tok.ID).IsZero() {
		t.Error("a token never used has a LastUsedAt")
	}
	first := start.Add(time.Hour)
	_, err = s.AuthenticateAPIToken(ctx, plain, first)
	must(t, err)
	sameTime(t, "LastUsedAt after a use", lastUse(tok.ID), first)
	_, err = s.AuthenticateAPIToken(ctx, plain, first.Add(30*time.Second))
	must(t, err)
	sameTime(t, "LastUsedAt after another use within the minute", lastUse(tok.ID), first)
	_, err = s.AuthenticateAPIToken(ctx, plain, first.Add(2*time.Minute))
	must(t, err)
	sameTime(t, "LastUsedAt two minutes on", lastUse(tok.ID), first.Add(2*time.Minute))

	_, err = s.AuthenticateAPIToken(ctx, plain, ends.Add(-time.Second))
	must(t, err)
	_, err = s.AuthenticateAPIToken(ctx, plain, ends)
	mustNotFound(t, "AuthenticateAPIToken at its end", err)
	if _, err := s.AuthenticateAPIToken(ctx, forever, ends.Add(365*24*time.Hour)); err != nil {
		t.Errorf("a token without an end stopped working: %v", err)
	}

	toks, err := s.APITokensOf(ctx, coach.ID)
	must(t, err)
	if len(toks) != 2 || toks[0].Name != "until revoked" || toks[1].Name != "for a month" {
		t.Errorf("APITokensOf(coach) = %+v, want the two, newest first", toks)
	}
	all, err := s.APITokensOf(ctx, uuid.Nil)
	must(t, err)
	found := 0
	for _, k := range all {
		if k.ID == tok.ID || k.ID == othersTok.ID {
			found++
		}
	}
	if found != 2 {
		t.Errorf("APITokensOf(everyone) lacks the coach's or the other's token: %+v", all)
	}
}
