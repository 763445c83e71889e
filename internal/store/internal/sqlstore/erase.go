package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// ErasedReason is the LastError of a queued message given up because its
// recipient was erased: there is nobody left to send it to.
const ErasedReason = "recipient erased"

// mentionedIn lists the answers that name the person with id and address
// email (see Mentions).
func mentionedIn(answers []store.IdempotencyRecord, id uuid.UUID, email string) []store.IdempotencyRecord {
	var out []store.IdempotencyRecord
	for _, a := range answers {
		if Mentions(a.Body, id, email) {
			out = append(out, a)
		}
	}
	return out
}

// Mentions reports whether body names the person with id and address
// email: by their ID or their address, in any letter case (the import
// matches addresses so, and repeats them as typed), and whole:
// "ann@example.org" is not in "joann@example.org" or
// "ann@example.org.uk". A JSON body (what the API answers) is searched in
// its decoded strings, so an address after an escape (\n, \u003c) is
// found; any other body byte for byte, where a match may run on into
// neighbouring characters (better to forget an answer too many than keep
// one). Names are not searched for: every answer about a person carries
// their ID or address, and erasing one Siân Jones must not forget the
// answers about another.
func Mentions(body []byte, id uuid.UUID, email string) bool {
	needles := []string{id.String()}
	if email != "" {
		needles = append(needles, strings.ToLower(email))
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		text := strings.ToLower(string(body))
		for _, n := range needles {
			if strings.Contains(text, n) {
				return true
			}
		}
		return false
	}
	found := false
	eachString(doc, func(s string) {
		text := strings.ToLower(s)
		for _, n := range needles {
			found = found || containsWhole(text, n)
		}
	})
	return found
}

// eachString calls fn with every string in a decoded JSON value, object
// keys included.
func eachString(v any, fn func(string)) {
	switch v := v.(type) {
	case string:
		fn(v)
	case []any:
		for _, e := range v {
			eachString(e, fn)
		}
	case map[string]any:
		for k, e := range v {
			fn(k)
			eachString(e, fn)
		}
	}
}

// containsWhole reports whether needle is in text with no address
// character just before or after it. A dot after it ends a sentence
// unless a letter or digit follows (a longer domain).
func containsWhole(text, needle string) bool {
	for from := 0; ; {
		i := strings.Index(text[from:], needle)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(needle)
		before := start > 0 && addressChar(text[start-1])
		after := end < len(text) && (addressChar(text[end]) && text[end] != '.' ||
			text[end] == '.' && end+1 < len(text) && alnum(text[end+1]))
		if !before && !after {
			return true
		}
		from = start + 1
	}
}

// addressChar is a byte that can be part of an e-mail address or UUID as
// written in text (any non-ASCII byte counts: it may be part of a letter).
// An apostrophe is left out: it quotes an address more often than it is
// part of one.
func addressChar(b byte) bool {
	return alnum(b) || strings.IndexByte("._%+-", b) >= 0 || b >= 0x80
}

func alnum(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
}

// ErasePerson runs every step on every call, so erasing again also catches
// anything that arrived for the person since (a message a workflow queued
// late, say); normally it finds nothing.
func (s *Store) ErasePerson(ctx context.Context, id uuid.UUID, at time.Time) (store.PersonErasure, error) {
	if id == uuid.Nil {
		return store.PersonErasure{}, fmt.Errorf("%w: erasing a person: person ID is missing", store.ErrInvalid)
	}
	if at.IsZero() {
		at = time.Now()
	}
	var out store.PersonErasure
	err := s.b.InTx(ctx, func(db DB) error {
		tx := eraseTx{s, ctx, db}
		out = store.PersonErasure{PersonID: id}
		var email string
		err := tx.PersonAddress(id).Scan(&email)
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
		answers, err := tx.StoredAnswers()
		if err != nil {
			return fmt.Errorf("reading stored answers: %w", err)
		}
		if err := tx.DeleteIdempotencyRecords(id, mentionedIn(answers, id, email)); err != nil {
			return fmt.Errorf("deleting idempotency records: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.PersonErasure{}, fmt.Errorf("erasing person %s: %w", id, err)
	}
	return out, nil
}

// FindText is the backends' FindText (a test helper) without the SQL: it
// asks in which columns of each of tables one of texts appears, and lists
// them all as "table.column".
func FindText(tables []string, texts []string, in func(table string, texts []string) ([]string, error)) ([]string, error) {
	var found []string
	for _, table := range tables {
		cols, err := in(table, texts)
		if err != nil {
			return nil, err
		}
		found = append(found, cols...)
	}
	return found, nil
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
