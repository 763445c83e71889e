package sqlstore

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// ---- sign-in links and web sessions ------------------------------------------

// Both kinds of secret are drawn like API tokens (store.NewAPITokenSecret)
// and kept as their hash only. Redeeming and authenticating join people
// for erased_at, so a link or session created in the instant an erasure
// commits (after it deleted the person's rows) still never works.

// checkWindow refuses a secret that could never be used.
func checkWindow(what string, personID uuid.UUID, now, expiresAt time.Time) error {
	var problems []string
	if personID == uuid.Nil {
		problems = append(problems, "person ID is missing")
	}
	if now.IsZero() {
		problems = append(problems, "the time now is missing")
	}
	if !expiresAt.After(now) {
		problems = append(problems, fmt.Sprintf("it would expire (%s) before it is made (%s)",
			expiresAt.Format(time.RFC3339), now.Format(time.RFC3339)))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s: %s", store.ErrInvalid, what, strings.Join(problems, "; "))
	}
	return nil
}

// livePerson reads the person a secret is for, with get (Store.GetPerson);
// an erased person is as unknown as one never created.
func livePerson(what string, personID uuid.UUID, get func() (store.Person, error)) (store.Person, error) {
	p, err := get()
	if err != nil {
		return store.Person{}, fmt.Errorf("%s: %w", what, err)
	}
	if !p.ErasedAt.IsZero() {
		return store.Person{}, fmt.Errorf("%s: person %s: %w (erased)", what, personID, store.ErrNotFound)
	}
	return p, nil
}

// MaxLiveReached is CreateSignInLinkUpTo's error when the person has
// maxLive live links already.
func MaxLiveReached(personID uuid.UUID, maxLive int) error {
	return fmt.Errorf("creating a sign-in link: %w: person %s has %d unused sign-in links already", store.ErrConflict, personID, maxLive)
}

// createSignInLink is the logic of Store.CreateSignInLink and CreateSignInLinkUpTo:
// person reads the person, insert adds the link's row
// (its hash and stored times), in the transaction that counts the
// person's live links if there is a maximum.
func createSignInLink(personID uuid.UUID, now, expiresAt time.Time, person func() (store.Person, error),
	insert func(hash string, now, expiresAt time.Time) error) (string, error) {
	const what = "creating a sign-in link"
	if err := checkWindow(what, personID, now, expiresAt); err != nil {
		return "", err
	}
	if _, err := livePerson(what, personID, person); err != nil {
		return "", err
	}
	plaintext, hash, err := store.NewAPITokenSecret()
	if err != nil {
		return "", err
	}
	if err := insert(hash, store.StoredTime(now), store.StoredTime(expiresAt)); errors.Is(err, store.ErrConflict) {
		return "", err
	} else if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	return plaintext, nil
}

// redeemSignInLink is the logic of Store.RedeemSignInLink; take runs
// the one statement that deletes the link with the hash, if it is still
// valid, returning its person_id. One statement, so of two concurrent
// redemptions only one can see the row.
func redeemSignInLink(plaintext string, take func(hash string) Scanner) (uuid.UUID, error) {
	var id uuid.UUID
	err := take(store.HashAPIToken(plaintext)).Scan(uuidCol{&id})
	if errors.Is(err, sql.ErrNoRows) {
		return uuid.Nil, fmt.Errorf("sign-in link: %w (unknown, used or expired)", store.ErrNotFound)
	}
	if err != nil {
		return uuid.Nil, fmt.Errorf("redeeming a sign-in link: %w", err)
	}
	return id, nil
}

// WebSessionColumns are what ScanWebSession reads: web_sessions joined,
// as s, with the person's role from people, as p.
const WebSessionColumns = `s.id, s.person_id, p.role, s.created_at, s.expires_at`

// ScanWebSession reads WebSessionColumns.
func ScanWebSession(row Scanner) (store.WebSession, error) {
	var ws store.WebSession
	var role string
	err := row.Scan(uuidCol{&ws.ID}, uuidCol{&ws.PersonID}, &role, timeCol{&ws.CreatedAt}, timeCol{&ws.ExpiresAt})
	ws.Role = store.Role(role)
	return ws, err
}

// createWebSession is the logic of Store.CreateWebSession; person reads
// the person, insert adds the session's row with the secret's hash.
func createWebSession(personID uuid.UUID, now, expiresAt time.Time, person func() (store.Person, error),
	insert func(ws store.WebSession, hash string) error) (string, store.WebSession, error) {
	const what = "starting a web session"
	if err := checkWindow(what, personID, now, expiresAt); err != nil {
		return "", store.WebSession{}, err
	}
	p, err := livePerson(what, personID, person)
	if err != nil {
		return "", store.WebSession{}, err
	}
	plaintext, hash, err := store.NewAPITokenSecret()
	if err != nil {
		return "", store.WebSession{}, err
	}
	ws := store.WebSession{ID: uuid.New(), PersonID: personID, Role: p.Role,
		CreatedAt: store.StoredTime(now), ExpiresAt: store.StoredTime(expiresAt)}
	if err := insert(ws, hash); err != nil {
		return "", store.WebSession{}, fmt.Errorf("%s: %w", what, err)
	}
	return plaintext, ws, nil
}

// authenticateWebSession is the logic of Store.AuthenticateWebSession:
// find reads WebSessionColumns of the live session with the hash.
func authenticateWebSession(plaintext string, find func(hash string) Scanner) (store.WebSession, error) {
	ws, err := ScanWebSession(find(store.HashAPIToken(plaintext)))
	if errors.Is(err, sql.ErrNoRows) {
		return store.WebSession{}, fmt.Errorf("web session: %w (unknown, ended or expired)", store.ErrNotFound)
	}
	if err != nil {
		return store.WebSession{}, fmt.Errorf("checking a web session: %w", err)
	}
	return ws, nil
}

// ---- idempotency records ------------------------------------------------------

// IdempotencyColumns are the idempotency_keys table's columns, in the
// order ScanIdempotencyRecord reads them.
const IdempotencyColumns = `principal_id, key, fingerprint, claim_token, status, content_type, body, created_at`

// ScanIdempotencyRecord reads IdempotencyColumns.
func ScanIdempotencyRecord(row Scanner) (store.IdempotencyRecord, error) {
	var r store.IdempotencyRecord
	err := row.Scan(uuidCol{&r.PrincipalID}, &r.Key, &r.Fingerprint, &r.Token, &r.Status, &r.ContentType, &r.Body, timeCol{&r.CreatedAt})
	return r, err
}

// MaxIdempotencyKey is the longest key kept, in bytes: a client's UUID or
// similar, not a document.
const MaxIdempotencyKey = 255

// checkIdempotencyRecord refuses a record that names no key, or no claim.
func checkIdempotencyRecord(what string, rec store.IdempotencyRecord) error {
	var problems []string
	if rec.PrincipalID == uuid.Nil {
		problems = append(problems, "principal ID is missing")
	}
	switch {
	case rec.Key == "":
		problems = append(problems, "key is missing")
	case len(rec.Key) > MaxIdempotencyKey:
		problems = append(problems, fmt.Sprintf("key is longer than %d bytes", MaxIdempotencyKey))
	}
	if rec.Token == "" {
		problems = append(problems, "claim token is missing")
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s: %s", store.ErrInvalid, what, strings.Join(problems, "; "))
	}
	return nil
}

// claimAttempts bounds ClaimIdempotencyKey's loop: a key released between
// the claim and the read is claimed again, but not for ever.
const claimAttempts = 3

// claimIdempotencyKey is the logic of Store.ClaimIdempotencyKey. claim
// inserts rec (in progress), or takes over a record still in progress
// created before c.StaleBefore or one created before c.ForgetBefore, in one
// statement, and reports whether it wrote; get reads the stored record
// (sql.ErrNoRows if there is none).
func claimIdempotencyKey(c store.IdempotencyClaim,
	claim func(rec store.IdempotencyRecord) (bool, error), get func() (store.IdempotencyRecord, error)) (store.IdempotencyRecord, bool, error) {
	const what = "claiming an idempotency key"
	rec := store.IdempotencyRecord{PrincipalID: c.PrincipalID, Key: c.Key, Fingerprint: c.Fingerprint, Token: c.Token, CreatedAt: store.StoredTime(c.Now)}
	if err := checkIdempotencyRecord(what, rec); err != nil {
		return store.IdempotencyRecord{}, false, err
	}
	if c.Fingerprint == "" {
		return store.IdempotencyRecord{}, false, fmt.Errorf("%w: %s: fingerprint is missing", store.ErrInvalid, what)
	}
	if c.Now.IsZero() {
		return store.IdempotencyRecord{}, false, fmt.Errorf("%w: %s: the time now is missing", store.ErrInvalid, what)
	}
	for range claimAttempts {
		claimed, err := claim(rec)
		if err != nil {
			return store.IdempotencyRecord{}, false, fmt.Errorf("%s: %w", what, err)
		}
		if claimed {
			return rec, true, nil
		}
		old, err := get()
		if errors.Is(err, sql.ErrNoRows) {
			continue // released since: claim it afresh
		}
		if err != nil {
			return store.IdempotencyRecord{}, false, fmt.Errorf("%s: %w", what, err)
		}
		return old, false, nil
	}
	return store.IdempotencyRecord{}, false, fmt.Errorf("%s: it was released %d times in a row while claiming", what, claimAttempts)
}

// completeIdempotencyKey is the logic of Store.CompleteIdempotencyKey:
// update stores rec's answer if the record is still in progress under
// rec.Token, reporting whether it did; get reads the record. Storing the
// same answer again is a retry and fine; another answer is
// store.ErrConflict, since the client may already have seen the first.
func completeIdempotencyKey(rec store.IdempotencyRecord, update func() (bool, error), get func() (store.IdempotencyRecord, error)) error {
	const what = "completing an idempotency key"
	if err := checkIdempotencyRecord(what, rec); err != nil {
		return err
	}
	if rec.Status < 100 || rec.Status > 599 {
		return fmt.Errorf("%w: %s: status %d is not an HTTP status", store.ErrInvalid, what, rec.Status)
	}
	done, err := update()
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, rec.Key, err)
	}
	if done {
		return nil
	}
	old, err := get()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s %q: %w (never claimed, or released)", what, rec.Key, store.ErrNotFound)
	case err != nil:
		return fmt.Errorf("%s %q: %w", what, rec.Key, err)
	case old.Token != rec.Token:
		return fmt.Errorf("%s %q: %w: a retry took the key over, so its answer stands", what, rec.Key, store.ErrConflict)
	case old.Status == rec.Status && old.ContentType == rec.ContentType && bytes.Equal(old.Body, rec.Body):
		return nil
	}
	return fmt.Errorf("%s %q: %w: it was answered already, with status %d", what, rec.Key, store.ErrConflict, old.Status)
}

// releaseIdempotencyKey is the logic of Store.ReleaseIdempotencyKey:
// del deletes the record if it is still in progress under rec.Token,
// reporting whether it did; get reads the record. A key that is not there
// is released already; an answered one must stay, or a retry would act
// twice, and one a retry took over is the retry's.
func releaseIdempotencyKey(rec store.IdempotencyRecord, del func() (bool, error), get func() (store.IdempotencyRecord, error)) error {
	const what = "releasing an idempotency key"
	if err := checkIdempotencyRecord(what, rec); err != nil {
		return err
	}
	gone, err := del()
	if err != nil {
		return fmt.Errorf("%s %q: %w", what, rec.Key, err)
	}
	if gone {
		return nil
	}
	old, err := get()
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("%s %q: %w", what, rec.Key, err)
	case old.Token != rec.Token:
		return fmt.Errorf("%s %q: %w: a retry took the key over and holds it now", what, rec.Key, store.ErrConflict)
	}
	return fmt.Errorf("%s %q: %w: it was answered already, with status %d", what, rec.Key, store.ErrConflict, old.Status)
}
