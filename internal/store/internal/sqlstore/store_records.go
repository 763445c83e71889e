package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// The methods of certificates, erasure and the operators' figures
// (queries/records.sql).

func (s *Store) IssueCertificate(ctx context.Context, journeyID, personID, intakeID uuid.UUID, at time.Time) (store.Certificate, error) {
	c, err := store.PrepareCertificate(journeyID, personID, intakeID, at)
	if err != nil {
		return store.Certificate{}, err
	}
	var out store.Certificate
	// A concurrent transaction issuing for the same journey makes the
	// insert wait for it (PostgreSQL); once it commits, ON CONFLICT skips
	// the insert and the read (a new snapshot under READ COMMITTED) finds
	// its certificate.
	err = s.b.InTx(ctx, func(tx DB) error {
		var err error
		out, err = issueCertificate(c, func(c store.Certificate) (bool, error) {
			return changed(ctx, tx, s.q.InsertCertificate, c.Code, c.JourneyID, c.PersonID, c.IntakeID, c.IssuedAt)
		}, func() (store.Certificate, error) {
			return ScanCertificate(tx.QueryRow(ctx, s.q.CertificateOf, c.JourneyID))
		})
		return err
	})
	return out, err
}

func (s *Store) VerifyCertificate(ctx context.Context, code string) (store.Certificate, error) {
	norm, ok := store.NormalizeCertificateCode(code)
	if !ok {
		return store.Certificate{}, CertificateNotFound(code)
	}
	c, err := ScanCertificate(s.b.Read.QueryRow(ctx, s.q.CertificateByCode, norm))
	if err != nil {
		return store.Certificate{}, NotFound(err, "certificate with code", fmt.Sprintf("%q", code))
	}
	return c, nil
}

func (s *Store) CertificateOf(ctx context.Context, journeyID uuid.UUID) (store.Certificate, error) {
	c, err := ScanCertificate(s.b.Read.QueryRow(ctx, s.q.CertificateOf, journeyID))
	if err != nil {
		return store.Certificate{}, NotFound(err, "certificate of journey", journeyID)
	}
	return c, nil
}

// eraseTx is the statements of ErasePerson, in its write transaction. The
// counting statements report how many rows they changed.
type eraseTx struct {
	s   *Store
	ctx context.Context
	db  DB
}

// PersonAddress returns the row of the person's e-mail address (none
// if there is no such person), read before it is blanked to find the
// stored answers that mention them. It goes first and locks the row
// where the database can (PostgreSQL), so a concurrent erasure of the
// same person waits.
func (e eraseTx) PersonAddress(id uuid.UUID) Scanner {
	return e.db.QueryRow(e.ctx, e.s.q.PersonAddress, id)
}

// BlankPerson blanks the person's names and e-mail address (e-mail
// key NULL, so the address is free for someone else), sets erased_at
// to at unless it is set already, and returns the row of the stored
// erased_at.
func (e eraseTx) BlankPerson(id uuid.UUID, at time.Time) Scanner {
	return e.db.QueryRow(e.ctx, e.s.q.BlankPerson, id, at)
}

// DeleteNotes deletes the notes the person wrote and the notes on
// journeys of which they are the participant.
func (e eraseTx) DeleteNotes(id uuid.UUID) (int64, error) {
	return e.db.Exec(e.ctx, e.s.q.DeleteNotesOf, id)
}

// FailMessages gives up the person's queued messages with reason.
func (e eraseTx) FailMessages(id uuid.UUID, reason string) (int64, error) {
	return e.db.Exec(e.ctx, e.s.q.FailMessagesTo, id, reason)
}

// RevokeAPITokens revokes the person's live API tokens, counting them,
// and blanks the names of all their tokens: a name is free text, which
// whoever made the token may have written the person's name into.
func (e eraseTx) RevokeAPITokens(id uuid.UUID, at time.Time) (int64, error) {
	n, err := e.db.Exec(e.ctx, e.s.q.RevokeAPITokensOf, id, at)
	if err != nil {
		return 0, err
	}
	_, err = e.db.Exec(e.ctx, e.s.q.BlankAPITokenNames, id)
	return n, err
}

// EndWebSessions ends the person's sessions still open at at (an
// expired one has ended by itself, and is not counted).
func (e eraseTx) EndWebSessions(id uuid.UUID, at time.Time) (int64, error) {
	return e.db.Exec(e.ctx, e.s.q.EndWebSessionsOf, id, at)
}

func (e eraseTx) DeleteSignInLinks(id uuid.UUID) (int64, error) {
	return e.db.Exec(e.ctx, e.s.q.DeleteSignInLinksOf, id)
}

// StoredAnswers lists every answer kept for a retry that has a body,
// with its principal, key and body, to search for the person: there
// are a day's worth at most (idempotency.KeepAnswersFor).
func (e eraseTx) StoredAnswers() ([]store.IdempotencyRecord, error) {
	return list(e.ctx, e.db, ScanIdempotencyRecord, e.s.q.StoredAnswers)
}

// DeleteIdempotencyRecords forgets the answers kept for the person's
// requests, which may repeat what they sent (nobody can retry those
// once the person's tokens and sessions are gone), and the others
// listed (by principal and key): someone else's request about them,
// such as an import that named them.
func (e eraseTx) DeleteIdempotencyRecords(id uuid.UUID, others []store.IdempotencyRecord) error {
	if _, err := e.db.Exec(e.ctx, e.s.q.DeleteIdempotencyRecordsOf, id); err != nil {
		return err
	}
	for _, r := range others {
		if _, err := e.db.Exec(e.ctx, e.s.q.DeleteIdempotencyRecord, r.PrincipalID, r.Key); err != nil {
			return err
		}
	}
	return nil
}

// OverdueCheckpoints counts the checkpoints, on journeys that have not
// ended, that their journey recorded overdue and their coach has not
// completed since.
func (s *Store) OverdueCheckpoints(ctx context.Context) (int, error) {
	return OverdueCount(s.b.Read.QueryRow(ctx, s.q.OverdueCheckpoints,
		store.EventTaskOverdue, store.EventCheckpointCompleted, store.CheckpointItemPrefix))
}

// JourneysByPhase counts the journeys by phase and state.
func (s *Store) JourneysByPhase(ctx context.Context) ([]store.JourneyCount, error) {
	out, err := list(ctx, s.b.Read, ScanJourneyCount, s.q.JourneyCounts)
	return out, failing(err, "counting journeys")
}
