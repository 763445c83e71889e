package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// The methods of API tokens, sign-in links, web sessions and idempotency
// records (queries/access.sql).

func (s *Store) CreateAPIToken(ctx context.Context, t store.APIToken) (string, store.APIToken, error) {
	return createAPIToken(t, now(),
		func() (store.Person, error) { return s.GetPerson(ctx, t.PersonID) },
		func(tok store.APIToken, hash string) error {
			_, err := s.b.Write.Exec(ctx, s.q.InsertAPIToken, tok.ID, tok.PersonID, string(tok.Role), tok.Name, hash,
				tok.CreatedAt, NullTime(tok.ExpiresAt))
			return err
		})
}

func (s *Store) AuthenticateAPIToken(ctx context.Context, plaintext string, at time.Time) (store.APIToken, error) {
	return authenticateAPIToken(plaintext, at,
		func(hash string) Scanner { return s.b.Read.QueryRow(ctx, s.q.FindAPIToken, hash) },
		func(id uuid.UUID, at time.Time) error {
			_, err := s.b.Write.Exec(ctx, s.q.TouchAPIToken, id, at)
			return err
		})
}

func (s *Store) APITokensOf(ctx context.Context, personID uuid.UUID) ([]store.APIToken, error) {
	out, err := list(ctx, s.b.Read, ScanAPIToken, s.q.APITokensOf, personID, personID == uuid.Nil)
	return out, failing(err, "listing API tokens")
}

func (s *Store) RevokeAPIToken(ctx context.Context, id uuid.UUID) error {
	found, err := changed(ctx, s.b.Write, s.q.RevokeAPIToken, now(), id)
	if err != nil {
		return fmt.Errorf("revoking API token %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("API token %s: %w", id, store.ErrNotFound)
	}
	return nil
}

func (s *Store) CreateSignInLink(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, error) {
	return s.CreateSignInLinkUpTo(ctx, personID, now, expiresAt, 0)
}

func (s *Store) CreateSignInLinkUpTo(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time, maxLive int) (string, error) {
	return createSignInLink(personID, now, expiresAt,
		func() (store.Person, error) { return s.GetPerson(ctx, personID) },
		func(hash string, now, expiresAt time.Time) error {
			return s.b.InTx(ctx, func(tx DB) error {
				if maxLive > 0 && s.b.Postgres {
					// The count is a statement of its own after the lock:
					// a statement's snapshot is taken when it starts, so
					// one that waited for the lock would not see the link
					// the lock's holder just added.
					live, err := changed(ctx, tx, s.q.LockLivePerson, personID)
					if err != nil {
						return err
					}
					if !live {
						return fmt.Errorf("person %s: %w (erased)", personID, store.ErrNotFound)
					}
				}
				if _, err := tx.Exec(ctx, s.q.DeleteExpiredSignInLinks, now); err != nil {
					return err
				}
				if maxLive > 0 {
					var live int
					if err := tx.QueryRow(ctx, s.q.CountLiveSignInLinks, personID, now).Scan(&live); err != nil {
						return err
					}
					if live >= maxLive {
						return MaxLiveReached(personID, maxLive)
					}
				}
				_, err := tx.Exec(ctx, s.q.InsertSignInLink, hash, personID, now, expiresAt)
				return err
			})
		})
}

func (s *Store) RedeemSignInLink(ctx context.Context, plaintext string, now time.Time) (uuid.UUID, error) {
	return redeemSignInLink(plaintext, func(hash string) Scanner {
		return s.b.Write.QueryRow(ctx, s.q.RedeemSignInLink, hash, now)
	})
}

func (s *Store) CreateWebSession(ctx context.Context, personID uuid.UUID, now, expiresAt time.Time) (string, store.WebSession, error) {
	return createWebSession(personID, now, expiresAt,
		func() (store.Person, error) { return s.GetPerson(ctx, personID) },
		func(ws store.WebSession, hash string) error {
			_, err := s.b.Write.Exec(ctx, s.q.InsertWebSession, ws.ID, hash, ws.PersonID, ws.CreatedAt, ws.ExpiresAt)
			return err
		})
}

func (s *Store) AuthenticateWebSession(ctx context.Context, plaintext string, now time.Time) (store.WebSession, error) {
	return authenticateWebSession(plaintext, func(hash string) Scanner {
		return s.b.Read.QueryRow(ctx, s.q.FindWebSession, hash, now)
	})
}

func (s *Store) EndWebSession(ctx context.Context, plaintext string) error {
	if _, err := s.b.Write.Exec(ctx, s.q.EndWebSession, now(), store.HashAPIToken(plaintext)); err != nil {
		return fmt.Errorf("ending a web session: %w", err)
	}
	return nil
}

func (s *Store) WebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) ([]store.WebSession, error) {
	out, err := list(ctx, s.b.Read, ScanWebSession, s.q.WebSessionsOf, personID, now)
	return out, failing(err, "listing the sessions of person %s", personID)
}

func (s *Store) EndWebSessionsOf(ctx context.Context, personID uuid.UUID, now time.Time) (int, error) {
	var n int64
	err := s.b.InTx(ctx, func(tx DB) error {
		var err error
		if n, err = tx.Exec(ctx, s.q.EndWebSessionsOf, personID, now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, s.q.DeleteSignInLinksOf, personID)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("ending the sessions of person %s: %w", personID, err)
	}
	return int(n), nil
}

// idempotencyRecord reads the record of the principal's key in tx.
func (s *Store) idempotencyRecord(ctx context.Context, tx DB, principalID uuid.UUID, key string) (store.IdempotencyRecord, error) {
	return ScanIdempotencyRecord(tx.QueryRow(ctx, s.q.GetIdempotencyRecord, principalID, key))
}

func (s *Store) ClaimIdempotencyKey(ctx context.Context, c store.IdempotencyClaim) (store.IdempotencyRecord, bool, error) {
	var rec store.IdempotencyRecord
	var claimed bool
	err := s.b.InTx(ctx, func(tx DB) error {
		var err error
		rec, claimed, err = claimIdempotencyKey(c,
			func(r store.IdempotencyRecord) (bool, error) {
				return changed(ctx, tx, s.q.ClaimIdempotencyKey, r.PrincipalID, r.Key, r.Fingerprint, r.Token, r.CreatedAt,
					c.StaleBefore, c.ForgetBefore)
			}, func() (store.IdempotencyRecord, error) { return s.idempotencyRecord(ctx, tx, c.PrincipalID, c.Key) })
		return err
	})
	return rec, claimed, err
}

func (s *Store) CompleteIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.b.InTx(ctx, func(tx DB) error {
		return completeIdempotencyKey(rec, func() (bool, error) {
			return changed(ctx, tx, s.q.CompleteIdempotencyKey, rec.Status, rec.ContentType, rec.Body,
				rec.PrincipalID, rec.Key, rec.Token)
		}, func() (store.IdempotencyRecord, error) { return s.idempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key) })
	})
}

func (s *Store) ReleaseIdempotencyKey(ctx context.Context, rec store.IdempotencyRecord) error {
	return s.b.InTx(ctx, func(tx DB) error {
		return releaseIdempotencyKey(rec, func() (bool, error) {
			return changed(ctx, tx, s.q.ReleaseIdempotencyKey, rec.PrincipalID, rec.Key, rec.Token)
		}, func() (store.IdempotencyRecord, error) { return s.idempotencyRecord(ctx, tx, rec.PrincipalID, rec.Key) })
	})
}

func (s *Store) ForgetIdempotencyRecords(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.b.Write.Exec(ctx, s.q.ForgetIdempotencyRecords, before)
	return n, failing(err, "forgetting idempotency records from before %s", before.Format(time.RFC3339))
}
