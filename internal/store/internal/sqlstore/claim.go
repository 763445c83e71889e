package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// dueWhere holds for a message o that may be sent at $1 (Store.DueMessages):
// queued, its SendAt and next attempt come, and no earlier queued message
// of its recipient waiting for a retry. queries/outbox.sql's DueMessages
// and ClaimCandidates both take it, as DueAt.
const dueWhere = `o.status = 'queued' AND o.send_at <= $1 AND (o.next_attempt_at IS NULL OR o.next_attempt_at <= $1)
	AND NOT EXISTS (SELECT 1 FROM outbox p
		WHERE p.recipient_id = o.recipient_id AND p.status = 'queued'
		  AND (p.send_at, p.id) < (o.send_at, o.id) AND p.next_attempt_at > $1)`

// ClaimedColumns is what claimTx.Stamp returns of each row, for ScanClaimed.
const ClaimedColumns = `id, ` + MessageColumns

// Candidate is a message a claim may take: its row, its recipient, and
// the deliverer whose claim on it ran out, if one did (a due message is
// unclaimed or its lease is over, and only a send it never marked leaves
// its owner's name behind).
type Candidate struct {
	ID        int64
	Recipient uuid.UUID
	Lapsed    string
}

// ScanCandidate reads (id, recipient_id, claimed_by).
func ScanCandidate(row Scanner) (Candidate, error) {
	var c Candidate
	err := row.Scan(&c.ID, uuidCol{&c.Recipient}, &c.Lapsed)
	return c, err
}

// Claimed is a message a claim took, with its row ID.
type Claimed struct {
	ID int64
	store.Message
}

// ScanClaimed reads ClaimedColumns.
func ScanClaimed(row Scanner) (Claimed, error) {
	var c Claimed
	err := scanMessage(row, &c.Message, &c.ID)
	return c, err
}

func (s *Store) ClaimDue(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Message, error) {
	now = store.StoredTime(now)
	if owner == "" {
		return nil, fmt.Errorf("claiming due messages: %w: the owner is missing (give each deliverer a name of its own)", store.ErrInvalid)
	}
	if lease <= 0 {
		return nil, fmt.Errorf("claiming due messages: %w: a lease of %s runs out at once; give one longer than a send takes", store.ErrInvalid, lease)
	}
	var out []store.Message
	err := s.b.InTx(ctx, func(db DB) error {
		tx := claimTx{s, ctx, db}
		cands, err := tx.Candidates(now, DueLimit(limit))
		if err != nil || len(cands) == 0 {
			return err
		}
		ids := make([]int64, len(cands))
		for i, c := range cands {
			ids[i] = c.ID
		}
		locked, err := tx.Lock(ids, now)
		if err != nil {
			return err
		}
		keep := whole(cands, locked)
		if len(keep) == 0 {
			return nil
		}
		claimed, err := tx.Stamp(keep, owner, now.Add(lease))
		out = inOrder(keep, claimed, cands)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claiming due messages for %s: %w", owner, err)
	}
	return out, nil
}

// whole keeps, in order, the candidates of the recipients all of whose
// candidates were locked. A candidate not locked is being claimed by
// another deliverer this moment, or was claimed since Candidates read it:
// taking its recipient's other messages would have two deliverers serving
// one person, sending out of order and past the Policy's daily cap.
func whole(cands []Candidate, locked []int64) []int64 {
	got := make(map[int64]bool, len(locked))
	for _, id := range locked {
		got[id] = true
	}
	taken := map[uuid.UUID]bool{}
	for _, c := range cands {
		if !got[c.ID] {
			taken[c.Recipient] = true
		}
	}
	var keep []int64
	for _, c := range cands {
		if !taken[c.Recipient] {
			keep = append(keep, c.ID)
		}
	}
	return keep
}

// inOrder is the messages of claimed in the order of ids, each with the
// LapsedClaim its candidate row had.
func inOrder(ids []int64, claimed []Claimed, cands []Candidate) []store.Message {
	byID := make(map[int64]store.Message, len(claimed))
	for _, c := range claimed {
		byID[c.ID] = c.Message
	}
	for _, c := range cands {
		if m, ok := byID[c.ID]; ok {
			m.LapsedClaim = c.Lapsed
			byID[c.ID] = m
		}
	}
	out := make([]store.Message, 0, len(claimed))
	for _, id := range ids {
		if m, ok := byID[id]; ok {
			out = append(out, m)
		}
	}
	return out
}

// releaseClaims is Store.ReleaseClaims: release runs the UPDATE that ends
// owner's claims on the messages with keys.
func releaseClaims(owner string, keys []string, release func() error) error {
	if owner == "" || len(keys) == 0 {
		return nil // nothing is claimed by nobody
	}
	if err := release(); err != nil {
		return fmt.Errorf("handing back %d messages claimed by %s: %w", len(keys), owner, err)
	}
	return nil
}
