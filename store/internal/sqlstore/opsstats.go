package sqlstore

import (
	"fmt"
	"time"

	"github.com/infuse-cymru/journeys/store"
)

// The operators' figures (store/opsstats.go) that both backends ask in the
// same SQL, and the reading of the rows. The oldest due message and the
// overdue checkpoints are asked differently (placeholders, time encoding,
// JSON access), so each backend keeps its own SQL for them.
const (
	OutboxCountsQuery  = `SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status`
	JourneyCountsQuery = `SELECT phase, state, count(*) FROM journeys GROUP BY phase, state ORDER BY phase, state`
)

// ScanOutboxCount reads a row of OutboxCountsQuery.
func ScanOutboxCount(row Scanner) (store.OutboxCount, error) {
	var c store.OutboxCount
	err := row.Scan(&c.Status, &c.Messages)
	return c, err
}

// ScanJourneyCount reads a row of JourneyCountsQuery.
func ScanJourneyCount(row Scanner) (store.JourneyCount, error) {
	var c store.JourneyCount
	err := row.Scan(&c.Phase, &c.State, &c.Journeys)
	return c, err
}

// OldestDue reads the row of a backend's oldest-due-message query: a
// single stored time, the zero time if NULL (no message is due).
func OldestDue(row Scanner) (time.Time, error) {
	var t time.Time
	if err := row.Scan(timeCol{&t}); err != nil {
		return time.Time{}, fmt.Errorf("finding the oldest due message: %w", err)
	}
	return t, nil
}

// OverdueCount reads the row of a backend's overdue-checkpoints query.
func OverdueCount(row Scanner) (int, error) {
	var n int
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("counting overdue checkpoints: %w", err)
	}
	return n, nil
}
