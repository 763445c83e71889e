package sqlstore

import (
	"fmt"

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

// APITokenNotFound is AuthenticateAPIToken's error for a token that is
// unknown or revoked. It does not repeat the token.
func APITokenNotFound() error {
	return fmt.Errorf("API token: %w (unknown or revoked)", store.ErrNotFound)
}
