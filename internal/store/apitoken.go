package store

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// APIToken is the record of a token another system presents to the API
// (`Authorization: Bearer ...`) to act as a person in a role. The token
// itself is shown once, when it is created; the store keeps only its
// SHA-256 hash, so a copy of the database does not hand out working tokens.
type APIToken struct {
	ID        uuid.UUID
	PersonID  uuid.UUID
	Role      Role
	Name      string // what the token is for, e.g. "council CRM"
	CreatedAt time.Time
	// ExpiresAt is when the token stops working by itself; zero for never.
	ExpiresAt time.Time
	// LastUsedAt is when the token was last presented, to the minute; zero
	// if it never was.
	LastUsedAt time.Time
	// RevokedAt is when the token was revoked; zero while it is in use.
	RevokedAt time.Time
}

// MaxAPITokenYears bounds a token's ExpiresAt: beyond it, "until revoked"
// (no end) says what is meant.
const MaxAPITokenYears = 10

// APITokenUseGranularity is how often a token's LastUsedAt is written: a
// token used many times a minute costs one write a minute, not one each.
const APITokenUseGranularity = time.Minute

// apiTokenBytes is how much randomness a token carries.
const apiTokenBytes = 32

// NewAPITokenSecret returns a new token (32 random bytes from crypto/rand,
// unpadded base64url) and the hash the store keeps of it.
func NewAPITokenSecret() (plaintext, hash string, err error) {
	b := make([]byte, apiTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("making an API token: %w", err)
	}
	plaintext = base64.RawURLEncoding.EncodeToString(b)
	return plaintext, HashAPIToken(plaintext), nil
}

// HashAPIToken is what the store keeps of a token: its SHA-256, in hex.
// Tokens are looked up by this hash, so the plaintext is never compared
// byte by byte against stored secrets.
func HashAPIToken(plaintext string) string {
	sum := sha256.Sum256([]byte(plaintext))
	return hex.EncodeToString(sum[:])
}

// PrepareAPIToken checks the fields of a token to create (its PersonID,
// Role, Name and ExpiresAt) and fills in its ID and creation time.
func PrepareAPIToken(t APIToken, now time.Time) (APIToken, error) {
	var problems []string
	if t.PersonID == uuid.Nil {
		problems = append(problems, "person ID is missing")
	}
	switch t.Role {
	case RoleCoordinator, RoleCoach, RoleParticipant:
	default:
		problems = append(problems, fmt.Sprintf("role %q is not coordinator, coach or participant", t.Role))
	}
	name := strings.TrimSpace(t.Name)
	switch {
	case name == "":
		problems = append(problems, "name is missing (say what the token is for)")
	case len(name) > 200:
		problems = append(problems, "name is longer than 200 bytes")
	}
	switch {
	case t.ExpiresAt.IsZero():
	case !t.ExpiresAt.After(now):
		problems = append(problems, "it would expire before it is made (give a time to come, or none)")
	case t.ExpiresAt.After(now.AddDate(MaxAPITokenYears, 0, 0)):
		problems = append(problems, fmt.Sprintf("it would last more than %d years (give none to make one that works until revoked)", MaxAPITokenYears))
	}
	if len(problems) > 0 {
		return APIToken{}, fmt.Errorf("%w: API token: %s", ErrInvalid, strings.Join(problems, "; "))
	}
	return APIToken{ID: uuid.New(), PersonID: t.PersonID, Role: t.Role, Name: name,
		CreatedAt: StoredTime(now), ExpiresAt: StoredTime(t.ExpiresAt)}, nil
}
