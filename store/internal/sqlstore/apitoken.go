package sqlstore

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
)

// APITokenColumns are the api_tokens table's columns (all but the hash), in
// the order ScanAPIToken reads them.
const APITokenColumns = `id, person_id, role, name, created_at, revoked_at`

// ScanAPIToken reads APITokenColumns.
func ScanAPIToken(row Scanner) (store.APIToken, error) {
	var tok store.APIToken
	var role string
	err := row.Scan(uuidCol{&tok.ID}, uuidCol{&tok.PersonID}, &role, &tok.Name, timeCol{&tok.CreatedAt}, timeCol{&tok.RevokedAt})
	tok.Role = store.Role(role)
	return tok, err
}

// LivePersonToken ends AuthenticateAPIToken's query: the token's person
// must not be erased. Erasure revokes the person's tokens; this also
// refuses one inserted by a CreateAPIToken that checked the person just
// before an erasure committed.
const LivePersonToken = ` AND person_id IN (SELECT id FROM people WHERE erased_at IS NULL)`

// APITokenNotFound is AuthenticateAPIToken's error for a token that is
// unknown or revoked. It does not repeat the token.
func APITokenNotFound() error {
	return fmt.Errorf("API token: %w (unknown or revoked)", store.ErrNotFound)
}

// CreateAPIToken is the part of creating a token both backends share:
// check the request, make sure the person exists and has not been erased
// (erasure revokes a person's tokens; none may be made after it), draw the
// secret, and hand the row (with only the secret's hash) to insert. It
// returns the plaintext, which is shown once and never stored.
func CreateAPIToken(personID uuid.UUID, role store.Role, name string, now time.Time,
	person func() (store.Person, error), insert func(tok store.APIToken, hash string) error) (string, store.APIToken, error) {
	tok, err := store.PrepareAPIToken(personID, role, name, now)
	if err != nil {
		return "", store.APIToken{}, err
	}
	if _, err := livePerson("creating an API token", personID, person); err != nil {
		return "", store.APIToken{}, err
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
