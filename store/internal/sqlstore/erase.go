package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
)

// ErasedReason is the LastError of a queued message given up because its
// recipient was erased: there is nobody left to send it to.
const ErasedReason = "recipient erased"

// EraseTx is a backend's statements for ErasePerson, all in one write
// transaction. The counting statements report how many rows they changed.
type EraseTx interface {
	// BlankPerson blanks the person's names and e-mail address (e-mail
	// key NULL, so the address is free for someone else), sets erased_at
	// to at unless it is set already, and returns the row of the stored
	// erased_at: none if there is no such person. It goes first, so its
	// row lock keeps a concurrent erasure of the same person waiting.
	BlankPerson(id uuid.UUID, at time.Time) Scanner
	// DeleteNotes deletes the notes the person wrote and the notes on
	// journeys of which they are the participant.
	DeleteNotes(id uuid.UUID) (int64, error)
	// FailMessages gives up the person's queued messages with reason.
	FailMessages(id uuid.UUID, reason string) (int64, error)
	RevokeAPITokens(id uuid.UUID, at time.Time) (int64, error)
	// EndWebSessions ends the person's sessions still open at at (an
	// expired one has ended by itself, and is not counted).
	EndWebSessions(id uuid.UUID, at time.Time) (int64, error)
	DeleteSignInLinks(id uuid.UUID) (int64, error)
	// DeleteIdempotencyRecords forgets the answers the API kept for the
	// person's requests, which may repeat what they sent. Nobody can
	// retry those requests once the person's tokens and sessions are gone.
	DeleteIdempotencyRecords(id uuid.UUID) error
}

// ErasePerson is Store.ErasePerson. inTx runs its function in a write
// transaction, committing if it returns nil. Every step runs on every
// call, so erasing again also catches anything that arrived for the person
// since (a message a workflow queued late, say); normally it finds nothing.
func ErasePerson(id uuid.UUID, at time.Time, inTx func(func(EraseTx) error) error) (store.PersonErasure, error) {
	if id == uuid.Nil {
		return store.PersonErasure{}, fmt.Errorf("%w: erasing a person: person ID is missing", store.ErrInvalid)
	}
	if at.IsZero() {
		at = time.Now()
	}
	var out store.PersonErasure
	err := inTx(func(tx EraseTx) error {
		out = store.PersonErasure{PersonID: id}
		var erasedAt time.Time
		err := tx.BlankPerson(id, store.StoredTime(at)).Scan(timeCol{&erasedAt})
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("person %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("blanking person %s: %w", id, err)
		}
		out.ErasedAt = erasedAt
		n, err := tx.DeleteNotes(id)
		if err != nil {
			return fmt.Errorf("deleting notes: %w", err)
		}
		out.NotesDeleted = int(n)
		if n, err = tx.FailMessages(id, ErasedReason); err != nil {
			return fmt.Errorf("giving up queued messages: %w", err)
		}
		out.MessagesFailed = int(n)
		if n, err = tx.RevokeAPITokens(id, out.ErasedAt); err != nil {
			return fmt.Errorf("revoking API tokens: %w", err)
		}
		out.TokensRevoked = int(n)
		if n, err = tx.EndWebSessions(id, out.ErasedAt); err != nil {
			return fmt.Errorf("ending web sessions: %w", err)
		}
		out.SessionsEnded = int(n)
		if n, err = tx.DeleteSignInLinks(id); err != nil {
			return fmt.Errorf("deleting sign-in links: %w", err)
		}
		out.SignInLinksGone = int(n)
		if err := tx.DeleteIdempotencyRecords(id); err != nil {
			return fmt.Errorf("deleting idempotency records: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.PersonErasure{}, fmt.Errorf("erasing person %s: %w", id, err)
	}
	return out, nil
}
