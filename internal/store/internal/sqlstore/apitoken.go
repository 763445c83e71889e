package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// APITokenColumns are the api_tokens table's columns (all but the hash), in
// the order ScanAPIToken reads them.
const APITokenColumns = `id, person_id, role, name, created_at, expires_at, last_used_at, revoked_at`

// ScanAPIToken reads APITokenColumns.
func ScanAPIToken(row Scanner) (store.APIToken, error) {
	var tok store.APIToken
	var role string
	err := row.Scan(uuidCol{&tok.ID}, uuidCol{&tok.PersonID}, &role, &tok.Name, timeCol{&tok.CreatedAt},
		timeCol{&tok.ExpiresAt}, timeCol{&tok.LastUsedAt}, timeCol{&tok.RevokedAt})
	tok.Role = store.Role(role)
	return tok, err
}

// authenticateAPIToken is the logic of Store.AuthenticateAPIToken; find
// reads the live (unrevoked, of a live person in its role) token with the
// hash, sql.ErrNoRows if there is none; touch records its use at now.
func authenticateAPIToken(plaintext string, now time.Time, find func(hash string) Scanner, touch func(id uuid.UUID, at time.Time) error) (store.APIToken, error) {
	tok, err := ScanAPIToken(find(store.HashAPIToken(plaintext)))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return store.APIToken{}, fmt.Errorf("API token: %w (unknown or revoked)", store.ErrNotFound)
	case err != nil:
		return store.APIToken{}, fmt.Errorf("checking an API token: %w", err)
	case !tok.ExpiresAt.IsZero() && !now.Before(tok.ExpiresAt):
		return store.APIToken{}, fmt.Errorf("API token %s: %w (expired at %s)", tok.ID, store.ErrNotFound, tok.ExpiresAt.Format(time.RFC3339))
	}
	if now.Sub(tok.LastUsedAt) >= store.APITokenUseGranularity {
		// Best effort: a valid token works even when its use cannot be
		// written (a busy or read-only database); LastUsedAt stays as it
		// was, and the next use tries again.
		if touch(tok.ID, store.StoredTime(now)) == nil {
			tok.LastUsedAt = store.StoredTime(now)
		}
	}
	return tok, nil
}

// createAPIToken is the logic of Store.CreateAPIToken:
// check the request, make sure the person exists, has not been erased
// (erasure revokes a person's tokens; none may be made after it) and has
// the token's role, draw the secret, and hand the row (with only the
// secret's hash) to insert. It returns the plaintext, which is shown once
// and never stored.
func createAPIToken(t store.APIToken, now time.Time,
	person func() (store.Person, error), insert func(tok store.APIToken, hash string) error) (string, store.APIToken, error) {
	tok, err := store.PrepareAPIToken(t, now)
	if err != nil {
		return "", store.APIToken{}, err
	}
	p, err := livePerson("creating an API token", t.PersonID, person)
	if err != nil {
		return "", store.APIToken{}, err
	}
	if p.Role != tok.Role {
		return "", store.APIToken{}, fmt.Errorf("%w: API token: person %s is a %s, and a token can only have its person's own role", store.ErrInvalid, p.ID, p.Role)
	}
	plaintext, hash, err := store.NewAPITokenSecret()
	if err != nil {
		return "", store.APIToken{}, err
	}
	if err := insert(tok, hash); err != nil {
		return "", store.APIToken{}, fmt.Errorf("creating an API token: %w", err)
	}
	return plaintext, tok, nil
}
