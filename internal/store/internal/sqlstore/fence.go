package sqlstore

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Head is the head of a stream (event_streams): the highest fence that has
// written it and the number of its latest event.
type Head struct{ Fence, Seq int64 }

// Recorded is what Record compares of the event already recorded under a
// fenced event's key: its place in the log (LogSeq), its stream, number and
// fence (Fenced false for an event without an attempt), its type and its
// data.
type Recorded struct {
	LogSeq    int64
	Fenced    bool
	Stream    string
	StreamSeq int64
	Fence     int64
	Type      string
	Data      []byte
}

// RecordedColumns are what ScanRecorded reads, of the events table.
const RecordedColumns = `seq, stream, stream_seq, fence, type, data`

// ScanRecorded reads RecordedColumns.
func ScanRecorded(row Scanner) (Recorded, error) {
	var r Recorded
	var stream *string
	var streamSeq, fence *int64
	if err := row.Scan(&r.LogSeq, &stream, &streamSeq, &fence, &r.Type, &r.Data); err != nil {
		return Recorded{}, err
	}
	if stream != nil && streamSeq != nil && fence != nil {
		r.Fenced, r.Stream, r.StreamSeq, r.Fence = true, *stream, *streamSeq, *fence
	}
	var err error
	r.Data, err = store.CompactData(r.Data)
	return r, err
}

// Dropped is what the projections may have taken from an event that a
// later attempt dropped: the journey (uuid.Nil for none), whether it
// carried a snapshot, its intake, and whether it carried a status for it.
type Dropped struct {
	JourneyID, IntakeID    uuid.UUID
	Snapshot, IntakeStatus bool
}

// DroppedColumns are what ScanDropped reads, of a deleted events row (a
// DELETE's RETURNING).
const DroppedColumns = `journey_id, intake_id, snapshot IS NOT NULL, intake_status IS NOT NULL`

// ScanDropped reads DroppedColumns.
func ScanDropped(row Scanner) (Dropped, error) {
	var d Dropped
	err := row.Scan(uuidCol{&d.JourneyID}, uuidCol{&d.IntakeID}, &d.Snapshot, &d.IntakeStatus)
	return d, err
}

// fence applies the rules of a fenced event (ev.Attempt set; see
// store.Store.Record) before Record appends it, in Record's transaction:
// it locks the stream's head, refuses an attempt that a later one has
// replaced, keeps the event where it is recorded already as it is, and
// drops the stream's events from ev's number on if there are any. The
// common case, a new event past the head, costs the lock alone here. kept
// is the log's seq of the event kept, 0 if ev is to be appended.
func fence(tx writeTx, ev store.Event, head Head) (kept int64, err error) {
	a := ev.Attempt
	if head.Fence > a.Fence {
		return 0, fmt.Errorf("stream %q holds events of fence %d, event %q has fence %d: "+
			"its workflow task attempt was replaced by a later one: %w",
			a.Stream, head.Fence, ev.Key, a.Fence, store.ErrStaleAttempt)
	}
	if head.Seq < a.Seq {
		return 0, nil
	}
	old, err := tx.RecordedAs(ev.Key)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return 0, fmt.Errorf("reading event %q: %w", ev.Key, err)
	case old.Fenced && old.Stream == a.Stream && old.StreamSeq == a.Seq && old.Type == ev.Type && bytes.Equal(old.Data, ev.Data):
		// The same event again: a retried local activity, or a later
		// attempt making it as the failed one did. It keeps its place and
		// its messages (a deliverer may be sending one), and takes the
		// later fence; only what the failed attempt numbered after it goes.
		return old.LogSeq, keep(tx, ev, head)
	}
	// An event with the key that the drop leaves (one without an attempt,
	// or another stream's, or earlier in this one) makes the append fail,
	// which rolls the drop back.
	if err := drop(tx, a); err != nil {
		return 0, fmt.Errorf("dropping the events of stream %q from number %d: %w", a.Stream, a.Seq, err)
	}
	return 0, nil
}

// keep gives the recorded event ev's fence and drops the stream's events
// after it.
func keep(tx writeTx, ev store.Event, head Head) error {
	a := ev.Attempt
	if err := tx.Refence(ev.Key, a.Fence); err != nil {
		return fmt.Errorf("fencing event %q again: %w", ev.Key, err)
	}
	if head.Seq > a.Seq {
		after := &store.TaskAttempt{Stream: a.Stream, Seq: a.Seq + 1, Fence: a.Fence}
		if err := drop(tx, after); err != nil {
			return fmt.Errorf("dropping the events of stream %q after number %d: %w", a.Stream, a.Seq, err)
		}
	}
	return nil
}

// keyTaken is Record's refusal of a fenced event whose key an event that
// it does not replace has (one without an attempt, or another stream's, or
// one earlier in its stream).
func keyTaken(ev store.Event) error {
	return fmt.Errorf("event %q: %w: the key is recorded already, not as event %d of stream %q or later",
		ev.Key, store.ErrConflict, ev.Attempt.Seq, ev.Attempt.Stream)
}

// drop deletes the stream's events numbered from a.Seq on, with the
// messages they queued that are still queued, and makes again what the
// projections took from them: their journeys' facts and rows, and their
// intakes' statuses.
func drop(tx writeTx, a *store.TaskAttempt) error {
	if err := tx.DropQueuedMessages(a.Stream, a.Seq); err != nil {
		return fmt.Errorf("dropping their queued messages: %w", err)
	}
	dropped, err := tx.DropEvents(a.Stream, a.Seq)
	if err != nil {
		return err
	}
	journeys := map[uuid.UUID]bool{} // with a snapshot dropped
	var intakes []uuid.UUID
	for _, d := range dropped {
		if d.JourneyID != uuid.Nil {
			journeys[d.JourneyID] = journeys[d.JourneyID] || d.Snapshot
		}
		if d.IntakeStatus && !slices.Contains(intakes, d.IntakeID) {
			intakes = append(intakes, d.IntakeID)
		}
	}
	// In one order, so that two transactions lock rows alike.
	ids := make([]uuid.UUID, 0, len(journeys))
	for id := range journeys {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	slices.SortFunc(intakes, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		if err := tx.RebuildJourneyFactsOf(id); err != nil {
			return fmt.Errorf("counting the outcomes of journey %s again: %w", id, err)
		}
		if journeys[id] {
			if err := reproject(tx, id); err != nil {
				return err
			}
		}
	}
	for _, id := range intakes {
		if err := tx.ResetIntakeStatus(id); err != nil {
			return fmt.Errorf("resetting the status of intake %s: %w", id, err)
		}
	}
	return nil
}

// reproject makes the journey's row that of its latest snapshot left in the
// log, or deletes it if none is left. The row reflects a dropped event,
// later in the log than any left, so it is deleted first: UpsertJourney
// would not go back.
func reproject(tx writeTx, journeyID uuid.UUID) error {
	if err := tx.DeleteJourney(journeyID); err != nil {
		return fmt.Errorf("projecting journey %s again: %w", journeyID, err)
	}
	l, err := tx.LatestSnapshotOf(journeyID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("projecting journey %s again: %w", journeyID, err)
	}
	return project(tx, *l.Snapshot, l.Seq)
}

// AttemptValues are the values of the events columns stream, stream_seq
// and fence for an event with attempt a: all NULL when a is nil.
func AttemptValues(a *store.TaskAttempt) (stream, seq, fence any) {
	if a == nil {
		return nil, nil, nil
	}
	return a.Stream, a.Seq, a.Fence
}
