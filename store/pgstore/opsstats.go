package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/infuse-cymru/journeys/store"
	"github.com/infuse-cymru/journeys/store/internal/sqlstore"
)

// OutboxByStatus counts the outbox's messages by status.
func (s *Store) OutboxByStatus(ctx context.Context) ([]store.OutboxCount, error) {
	rows, err := s.pool.Query(ctx, sqlstore.OutboxCountsQuery)
	if err != nil {
		return nil, fmt.Errorf("counting outbox messages: %w", err)
	}
	return collect(rows, sqlstore.ScanOutboxCount)
}

// OldestDueMessage is the SendAt of the oldest queued message due at now
// (whether or not it is waiting for a retry), or the zero time if none is.
func (s *Store) OldestDueMessage(ctx context.Context, now time.Time) (time.Time, error) {
	return sqlstore.OldestDue(s.pool.QueryRow(ctx,
		`SELECT min(send_at) FROM outbox WHERE status = 'queued' AND send_at <= $1`, store.StoredTime(now)))
}

// OverdueCheckpoints counts the checkpoints, on journeys that have not
// ended, that their journey recorded overdue and their coach has not
// completed since.
func (s *Store) OverdueCheckpoints(ctx context.Context) (int, error) {
	return sqlstore.OverdueCount(s.pool.QueryRow(ctx, `SELECT count(*) FROM (
		SELECT DISTINCT o.journey_id, o.data->>'item'
		FROM events o JOIN journeys j ON j.journey_id = o.journey_id AND j.outcome = ''
		WHERE o.type = $1 AND o.data->>'item' LIKE $3 || '%'
		  AND NOT EXISTS (SELECT 1 FROM events c
			WHERE c.journey_id = o.journey_id AND c.type = $2 AND c.data->>'item' = o.data->>'item')) overdue`,
		store.EventTaskOverdue, store.EventCheckpointCompleted, store.CheckpointItemPrefix))
}

// JourneysByPhase counts the journeys by phase and state.
func (s *Store) JourneysByPhase(ctx context.Context) ([]store.JourneyCount, error) {
	rows, err := s.pool.Query(ctx, sqlstore.JourneyCountsQuery)
	if err != nil {
		return nil, fmt.Errorf("counting journeys: %w", err)
	}
	return collect(rows, sqlstore.ScanJourneyCount)
}
