package storetest

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
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

	plain, tok, err := s.CreateAPIToken(ctx, coord.ID, store.RoleCoordinator, "  council CRM ")
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

	got, err := s.AuthenticateAPIToken(ctx, plain)
	must(t, err)
	if got != tok {
		t.Errorf("AuthenticateAPIToken = %+v, want %+v", got, tok)
	}
	plain2, tok2, err := s.CreateAPIToken(ctx, coord.ID, store.RoleCoach, "second")
	must(t, err)
	if plain2 == plain || tok2.ID == tok.ID {
		t.Error("two tokens are the same")
	}

	_, err = s.AuthenticateAPIToken(ctx, "not-a-token")
	mustNotFound(t, "AuthenticateAPIToken(unknown)", err)
	_, err = s.AuthenticateAPIToken(ctx, "")
	mustNotFound(t, "AuthenticateAPIToken(empty)", err)
	_, err = s.AuthenticateAPIToken(ctx, stored)
	mustNotFound(t, "AuthenticateAPIToken(the stored hash)", err)

	must(t, s.RevokeAPIToken(ctx, tok.ID))
	must(t, s.RevokeAPIToken(ctx, tok.ID)) // again: no change, no error
	_, err = s.AuthenticateAPIToken(ctx, plain)
	mustNotFound(t, "AuthenticateAPIToken(revoked)", err)
	if _, err := s.AuthenticateAPIToken(ctx, plain2); err != nil {
		t.Errorf("revoking one token stopped another: %v", err)
	}
	mustNotFound(t, "RevokeAPIToken(unknown)", s.RevokeAPIToken(ctx, uuid.New()))

	// An erased person's tokens stop working, and they get no new one.
	_, err = s.ErasePerson(ctx, coord.ID, base)
	must(t, err)
	_, err = s.AuthenticateAPIToken(ctx, plain2)
	mustNotFound(t, "AuthenticateAPIToken of an erased person", err)
	_, _, err = s.CreateAPIToken(ctx, coord.ID, store.RoleCoordinator, "after erasure")
	mustNotFound(t, "CreateAPIToken for an erased person", err)
	coord = newPerson(store.RoleCoordinator)
	must(t, s.CreatePeople(ctx, []store.Person{coord}))

	_, _, err = s.CreateAPIToken(ctx, uuid.New(), store.RoleCoach, "nobody")
	mustNotFound(t, "CreateAPIToken(unknown person)", err)
	_, _, err = s.CreateAPIToken(ctx, coord.ID, "admin", "x")
	mustIs(t, "CreateAPIToken(unknown role)", err, store.ErrInvalid)
	_, _, err = s.CreateAPIToken(ctx, coord.ID, store.RoleCoach, " ")
	mustIs(t, "CreateAPIToken(no name)", err, store.ErrInvalid)
}
