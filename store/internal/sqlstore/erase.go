package sqlstore

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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
	// PersonTraces returns the row of the person's given name, family name
	// and e-mail address (none if there is no such person), read before
	// they are blanked to find what else mentions them. It goes first and
	// locks the row where the backend can, so a concurrent erasure of the
	// same person waits.
	PersonTraces(id uuid.UUID) Scanner
	// BlankPerson blanks the person's names and e-mail address (e-mail
	// key NULL, so the address is free for someone else), sets erased_at
	// to at unless it is set already, and returns the row of the stored
	// erased_at.
	BlankPerson(id uuid.UUID, at time.Time) Scanner
	// DeleteNotes deletes the notes the person wrote and the notes on
	// journeys of which they are the participant.
	DeleteNotes(id uuid.UUID) (int64, error)
	// FailMessages gives up the person's queued messages with reason.
	FailMessages(id uuid.UUID, reason string) (int64, error)
	// RevokeAPITokens revokes the person's live API tokens, counting them,
	// and blanks the names of all their tokens: a name is free text, which
	// whoever made the token may have written the person's name into.
	RevokeAPITokens(id uuid.UUID, at time.Time) (int64, error)
	// EndWebSessions ends the person's sessions still open at at (an
	// expired one has ended by itself, and is not counted).
	EndWebSessions(id uuid.UUID, at time.Time) (int64, error)
	DeleteSignInLinks(id uuid.UUID) (int64, error)
	// DeleteIdempotencyRecords forgets the answers kept for the person's
	// requests, which may repeat what they sent (nobody can retry those
	// once the person's tokens and sessions are gone), and every kept
	// answer whose body holds one of mentions: someone else's request
	// about them, such as an import that created them.
	DeleteIdempotencyRecords(id uuid.UUID, mentions [][]byte) error
}

// Mentions are the byte strings by which a stored answer names a person:
// their ID, their e-mail address as written and as JSON escapes it, and
// their full name as a whole JSON string. Every answer about a person
// carries their ID or address; a single given or family name is not
// searched for, since erasing one Siân would then forget every answer that
// names another (and so let its retry act again). Blank traces (a person
// erased before) add nothing.
func Mentions(id uuid.UUID, givenName, familyName, email string) [][]byte {
	out := [][]byte{[]byte(id.String())}
	add := func(b []byte) {
		for _, m := range out {
			if bytes.Equal(m, b) {
				return
			}
		}
		out = append(out, b)
	}
	if email != "" {
		add([]byte(email))
		add(bytes.Trim(jsonString(email), `"`))
	}
	if name := strings.TrimSpace(givenName + " " + familyName); name != "" {
		add(jsonString(name))
	}
	return out
}

// jsonString is s as encoding/json writes it, quotes included.
func jsonString(s string) []byte {
	b, _ := json.Marshal(s) // a string always encodes
	return b
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
		var given, family, email string
		err := tx.PersonTraces(id).Scan(&given, &family, &email)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("person %s: %w", id, store.ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("reading person %s: %w", id, err)
		}
		var erasedAt time.Time
		if err := tx.BlankPerson(id, store.StoredTime(at)).Scan(timeCol{&erasedAt}); err != nil {
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
		if err := tx.DeleteIdempotencyRecords(id, Mentions(id, given, family, email)); err != nil {
			return fmt.Errorf("deleting idempotency records: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.PersonErasure{}, fmt.Errorf("erasing person %s: %w", id, err)
	}
	return out, nil
}

// HoldsAny reports whether value holds one of texts; empty texts hold
// nothing. Tests use it to search a whole database for a person's traces.
func HoldsAny(value []byte, texts []string) bool {
	for _, t := range texts {
		if t != "" && bytes.Contains(value, []byte(t)) {
			return true
		}
	}
	return false
}
