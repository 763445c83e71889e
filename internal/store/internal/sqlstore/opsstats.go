package sqlstore

import (
	"fmt"
	"time"

	"github.com/infuse-cymru/journeys/internal/store"
)

// ScanOutboxCount reads a row of the OutboxCounts query.
func ScanOutboxCount(row Scanner) (store.OutboxCount, error) {
	var c store.OutboxCount
	err := row.Scan(&c.Status, &c.Messages)
	return c, err
}

// ScanJourneyCount reads a row of the JourneyCounts query.
func ScanJourneyCount(row Scanner) (store.JourneyCount, error) {
	var c store.JourneyCount
	err := row.Scan(&c.Phase, &c.State, &c.Journeys)
	return c, err
}

// OldestDue reads the row of the OldestDue query: a
// single stored time, the zero time if NULL (no message is due).
func OldestDue(row Scanner) (time.Time, error) {
	var t time.Time
	if err := row.Scan(timeCol{&t}); err != nil {
		return time.Time{}, fmt.Errorf("finding the oldest due message: %w", err)
	}
	return t, nil
}

// OverdueCount reads the row of the OverdueCheckpoints query.
func OverdueCount(row Scanner) (int, error) {
	var n int
	if err := row.Scan(&n); err != nil {
		return 0, fmt.Errorf("counting overdue checkpoints: %w", err)
	}
	return n, nil
}
