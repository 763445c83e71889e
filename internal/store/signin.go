package store

import (
	"time"

	"github.com/google/uuid"
)

// Sign-in, sessions and idempotency records: what the web pages and the
// API need to know who is asking and to act once per request. Every secret
// (sign-in link, session) is kept only as its SHA-256 (HashAPIToken), so a
// copy of the database hands out nothing that works.

// WebSession is a signed-in browser: the person, their role, and until when
// the session holds. The session's secret lives only in the browser's cookie.
type WebSession struct {
	ID        uuid.UUID
	PersonID  uuid.UUID
	Role      Role // the person's role, read from people when authenticated
	CreatedAt time.Time
	ExpiresAt time.Time
}

// IdempotencyRecord is what the API remembers of a state-changing request
// made with an Idempotency-Key: which request it was (Fingerprint) and, once
// answered, the answer, so a retry gets the same answer without acting twice.
type IdempotencyRecord struct {
	PrincipalID uuid.UUID // the person who sent it
	Key         string
	Fingerprint string // method, path and body digest of the request
	// Token is the secret of the request holding the claim: only it may
	// answer or release the record, so a request whose claim a retry took
	// over cannot overwrite or drop the retry's.
	Token string
	// Status is the HTTP status of the answer; 0 while the first request
	// is still being handled.
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// IdempotencyClaim is a request taking its key (ClaimIdempotencyKey).
type IdempotencyClaim struct {
	PrincipalID uuid.UUID
	Key         string
	Fingerprint string
	// Token is the claiming request's own random secret (see
	// IdempotencyRecord.Token).
	Token string
	Now   time.Time
	// StaleBefore: a record still in progress that was claimed before it
	// may be taken over; its request crashed or ran out of time.
	StaleBefore time.Time
	// ForgetBefore: an answer stored before it is forgotten, and the key
	// claimed afresh as if never used. Zero keeps answers for ever.
	ForgetBefore time.Time
}

// PersonErasure is what ErasePerson removed, for the audit event and the
// reply to the coordinator.
type PersonErasure struct {
	PersonID        uuid.UUID
	ErasedAt        time.Time
	NotesDeleted    int
	MessagesFailed  int // queued messages to the person, given up
	TokensRevoked   int
	SessionsEnded   int
	SignInLinksGone int
}
