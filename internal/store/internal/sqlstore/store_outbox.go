package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/infuse-cymru/journeys/internal/store"
)

// The methods of the outbox (queries/outbox.sql).

func (s *Store) ListMessages(ctx context.Context, f store.OutboxFilter) ([]store.Message, error) {
	limit := any(nil) // PostgreSQL's LIMIT NULL is no limit
	if !s.b.Postgres {
		limit = -1 // SQLite's
	}
	if f.Limit > 0 {
		limit = f.Limit
	}
	out, err := list(ctx, s.b.Read, ScanMessage, s.q.ListMessages,
		NullUUID(f.IntakeID), NullUUID(f.JourneyID), NullUUID(f.RecipientID), string(f.Status), limit)
	if err != nil {
		return nil, fmt.Errorf("listing messages: %w", err)
	}
	return out, nil
}

func (s *Store) SentEmails(ctx context.Context, recipient uuid.UUID, from, to time.Time) (int, error) {
	var n int
	if err := s.b.Read.QueryRow(ctx, s.q.SentEmails, recipient, from, to).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting the e-mails sent to %s: %w", recipient, err)
	}
	return n, nil
}

func (s *Store) DueMessages(ctx context.Context, now time.Time, limit int) ([]store.Message, error) {
	out, err := list(ctx, s.b.Read, ScanMessage, s.q.DueMessages, now, DueLimit(limit))
	return out, failing(err, "listing due messages")
}

// claimTx is the statements of ClaimDue, in its write transaction.
type claimTx struct {
	s   *Store
	ctx context.Context
	db  DB
}

// Candidates runs the ClaimCandidates query at now with limit.
func (c claimTx) Candidates(now time.Time, limit int) ([]Candidate, error) {
	return list(c.ctx, c.db, ScanCandidate, c.s.q.ClaimCandidates, now, limit)
}

// Lock locks, of the rows ids, those that are still queued, due at now
// and unclaimed (or their lease run out) and that no other transaction
// holds, without waiting for any, and returns them. On PostgreSQL that is
// SELECT … FOR UPDATE SKIP LOCKED: what Candidates read was a snapshot, and
// another deliverer may be claiming the same rows at this moment. On
// SQLite it has nothing to do: no other claim runs while this write
// transaction does, so the candidates it read are as they are.
func (c claimTx) Lock(ids []int64, now time.Time) ([]int64, error) {
	if !c.s.b.Postgres {
		return ids, nil
	}
	return list(c.ctx, c.db, scanID, c.s.q.LockClaims, List[int64](ids), now)
}

// scanID reads a row's one integer.
func scanID(row Scanner) (int64, error) {
	var id int64
	err := row.Scan(&id)
	return id, err
}

// Stamp claims the rows ids for owner until until and returns them
// (ClaimedColumns, in any order).
func (c claimTx) Stamp(ids []int64, owner string, until time.Time) ([]Claimed, error) {
	return list(c.ctx, c.db, ScanClaimed, c.s.q.StampClaims, owner, until, List[int64](ids))
}

func (s *Store) ReleaseClaims(ctx context.Context, owner string, keys ...string) error {
	return releaseClaims(owner, keys, func() error {
		_, err := s.b.Write.Exec(ctx, s.q.ReleaseClaims, owner, List[string](keys))
		return err
	})
}

// transition runs u in a write transaction: update (with args) changes the row.
func (s *Store) transition(ctx context.Context, u Update, update string, args ...any) error {
	return s.b.InTx(ctx, func(tx DB) error {
		u.Apply = func() (bool, error) { return changed(ctx, tx, update, args...) }
		u.State = func() (store.MessageStatus, string, error) {
			var status, holder string
			err := tx.QueryRow(ctx, s.q.MessageState, u.Key).Scan(&status, &holder)
			return store.MessageStatus(status), holder, err
		}
		return applyTransition(u)
	})
}

func (s *Store) MarkSent(ctx context.Context, key, messageID string, at time.Time) error {
	if at.IsZero() {
		at = now()
	}
	return s.transition(ctx, Update{What: "marking sent", Key: key, Done: []store.MessageStatus{store.MessageSent}},
		s.q.MarkSent, at, messageID, key)
}

func (s *Store) MarkRetry(ctx context.Context, owner, key string, next time.Time, reason string) error {
	const what = "marking for retry"
	if err := CheckTime(what, key, "time of the next attempt", next); err != nil {
		return err
	}
	if err := CheckReason(what, key, reason); err != nil {
		return err
	}
	return s.transition(ctx, Update{What: what, Key: key, Owner: owner},
		s.q.MarkRetry, next, Reason(reason), key, owner)
}

func (s *Store) MarkFailed(ctx context.Context, owner, key, reason string) error {
	const what = "marking failed"
	if err := CheckReason(what, key, reason); err != nil {
		return err
	}
	return s.transition(ctx, Update{What: what, Key: key, Owner: owner, Done: []store.MessageStatus{store.MessageFailed}},
		s.q.MarkFailed, Reason(reason), key, owner)
}

func (s *Store) Defer(ctx context.Context, owner, key string, until time.Time) error {
	const what = "deferring"
	if err := CheckTime(what, key, "time to defer to", until); err != nil {
		return err
	}
	return s.transition(ctx, Update{What: what, Key: key, Owner: owner}, s.q.DeferMessage, until, key, owner)
}

// OutboxByStatus counts the outbox's messages by status.
func (s *Store) OutboxByStatus(ctx context.Context) ([]store.OutboxCount, error) {
	out, err := list(ctx, s.b.Read, ScanOutboxCount, s.q.OutboxCounts)
	return out, failing(err, "counting outbox messages")
}

// OldestDueMessage is the SendAt of the oldest queued message due at now
// (whether or not it is waiting for a retry), or the zero time if none is.
func (s *Store) OldestDueMessage(ctx context.Context, now time.Time) (time.Time, error) {
	return OldestDue(s.b.Read.QueryRow(ctx, s.q.OldestDue, now))
}
