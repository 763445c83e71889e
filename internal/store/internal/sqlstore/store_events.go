package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// The methods of the log and its projections (queries/events.sql and
// queries/journeys.sql).

func (s *Store) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	ev, msgs, err := store.PrepareRecord(ev, msgs, now())
	if err != nil {
		return false, err
	}
	snap, err := store.EncodeSnapshot(ev.Snapshot)
	if err != nil {
		return false, err
	}
	recorded := false
	err = s.b.InTx(ctx, func(tx DB) (err error) {
		recorded, err = record(writeTx{s, ctx, tx}, ev, snap, msgs)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("recording event %q: %w", ev.Key, err)
	}
	return recorded, nil
}

func (s *Store) RebuildProjections(ctx context.Context) error {
	return s.b.InTx(ctx, func(tx DB) error {
		if s.b.Postgres {
			if _, err := tx.Exec(ctx, s.q.LockForRebuild); err != nil {
				return fmt.Errorf("rebuilding projections: %w", err)
			}
		}
		return rebuildProjections(writeTx{s, ctx, tx})
	})
}

// writeTx is the statements of Record and RebuildProjections (write.go)
// and of fenced events (fence.go), in a write transaction: each one query.
type writeTx struct {
	s   *Store
	ctx context.Context
	db  DB
}

// AppendEvent appends ev, with its snapshot encoded by
// store.EncodeSnapshot, unless an event with its key is already in the
// log: then appended is false.
func (w writeTx) AppendEvent(ev store.Event, snapshot []byte) (int64, bool, error) {
	var seq int64
	stream, streamSeq, fence := AttemptValues(ev.Attempt)
	err := w.db.QueryRow(w.ctx, w.s.q.AppendEvent,
		ev.Key, ev.IntakeID, NullUUID(ev.JourneyID), ev.Type, ev.OccurredAt, JSON(ev.Data), JSON(snapshot),
		NullString(string(ev.IntakeStatus)), ev.RecordedAt, stream, streamSeq, fence).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	return seq, err == nil, err
}

// UpsertJourney makes snap the journey's projection row, with its
// checkpoints encoded by store.EncodeCheckpoints (nil is NULL: unknown),
// recording seq as the event it reflects, unless the row reflects a
// later event.
func (w writeTx) UpsertJourney(snap store.JourneySnapshot, checkpoints []byte, seq int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.UpsertJourney,
		snap.JourneyID, snap.IntakeID, snap.PersonID, NullUUID(snap.CoachID), snap.State, snap.Phase,
		snap.NextDueItem, NullTime(snap.NextDueAt), snap.OverdueCount, snap.Outcome, JSON(checkpoints), seq)
	return err
}

func (w writeTx) SetIntakeStatus(intakeID uuid.UUID, status store.IntakeStatus) error {
	_, err := w.db.Exec(w.ctx, w.s.q.SetIntakeStatus, intakeID, string(status))
	return err
}

// QueueMessage adds m to the outbox unless its key is there already.
func (w writeTx) QueueMessage(m store.Message, eventSeq int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.QueueMessage,
		m.Key, eventSeq, m.IntakeID, NullUUID(m.JourneyID), m.RecipientID, string(m.Role), m.Template,
		m.ItemID, NullTime(m.ItemStartsAt), NullTime(m.ItemEndsAt), m.Revision, m.Cancels,
		m.Channel, m.SendAt, string(m.Status), m.CreatedAt)
	return err
}

// RebuildJourneyFacts makes journey_items and journey_ends again from
// the log, with JourneyFactsFromEvents' statements.
func (w writeTx) RebuildJourneyFacts() error { return w.execAll(JourneyFactsFromEvents(false)) }

// RebuildJourneyFactsOf is RebuildJourneyFacts for one journey, with
// the statements of JourneyFactsFromEvents for it.
func (w writeTx) RebuildJourneyFactsOf(journeyID uuid.UUID) error {
	return w.execAll(JourneyFactsFromEvents(true), journeyID)
}

// execAll runs each of statements with args.
func (w writeTx) execAll(statements []string, args ...any) error {
	for _, q := range statements {
		if _, err := w.db.Exec(w.ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// LatestSnapshots reads, in log order, the latest snapshot of every
// journey, with ScanLatest.
func (w writeTx) LatestSnapshots() ([]Latest, error) {
	return list(w.ctx, w.db, ScanLatest, LatestSnapshots(false))
}

// LatestSnapshotOf is LatestSnapshots for one journey: its latest
// snapshot, or sql.ErrNoRows.
func (w writeTx) LatestSnapshotOf(journeyID uuid.UUID) (Latest, error) {
	return ScanLatest(w.db.QueryRow(w.ctx, LatestSnapshots(true), journeyID))
}

func (w writeTx) DeleteJourneys() error {
	_, err := w.db.Exec(w.ctx, w.s.q.DeleteJourneys)
	return err
}

// DeleteJourney deletes the journey's projection row.
func (w writeTx) DeleteJourney(journeyID uuid.UUID) error {
	_, err := w.db.Exec(w.ctx, w.s.q.DeleteJourney, journeyID)
	return err
}

// ResetIntakeStatuses sets every intake's status to that of its latest
// event that has one, or else to the status it was created with.
func (w writeTx) ResetIntakeStatuses() error {
	_, err := w.db.Exec(w.ctx, ResetIntakeStatuses(false))
	return err
}

// ResetIntakeStatus is ResetIntakeStatuses for one intake.
func (w writeTx) ResetIntakeStatus(intakeID uuid.UUID) error {
	_, err := w.db.Exec(w.ctx, ResetIntakeStatuses(true), intakeID)
	return err
}

// LockStream reads the stream's head, (0, 0) for a new stream, and on
// PostgreSQL locks it (adding its row) until the transaction ends;
// SQLite's write transaction already keeps every other writer out, and
// SetStreamHead adds a new stream's row.
func (w writeTx) LockStream(stream string) (Head, error) {
	var h Head
	err := w.db.QueryRow(w.ctx, w.s.q.LockStream, stream).Scan(&h.Fence, &h.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	return h, err
}

// SetStreamHead makes h the stream's head.
func (w writeTx) SetStreamHead(stream string, h Head) error {
	_, err := w.db.Exec(w.ctx, w.s.q.SetStreamHead, stream, h.Fence, h.Seq)
	return err
}

// Refence sets the fence of the event with key.
func (w writeTx) Refence(key string, fence int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.Refence, key, fence)
	return err
}

// RecordedAs reads, with ScanRecorded, the event with key; sql.ErrNoRows
// when there is none.
func (w writeTx) RecordedAs(key string) (Recorded, error) {
	return ScanRecorded(w.db.QueryRow(w.ctx, w.s.q.RecordedAs, key))
}

// DropQueuedMessages deletes the messages still queued that the
// stream's events numbered from or later queued.
func (w writeTx) DropQueuedMessages(stream string, from int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.DropQueuedMessages, stream, from)
	return err
}

// DropEvents deletes the stream's events numbered from or later and
// returns, with ScanDropped, what the projections took from each.
func (w writeTx) DropEvents(stream string, from int64) ([]Dropped, error) {
	return list(w.ctx, w.db, ScanDropped, w.s.q.DropEvents, stream, from)
}

func (s *Store) JourneyEvents(ctx context.Context, journeyID uuid.UUID) ([]store.Event, error) {
	out, err := list(ctx, s.b.Read, ScanEvent, s.q.JourneyEvents, journeyID)
	return out, failing(err, "listing events of journey %s", journeyID)
}

func (s *Store) IntakeEvents(ctx context.Context, intakeID uuid.UUID) ([]store.Event, error) {
	out, err := list(ctx, s.b.Read, ScanEvent, s.q.IntakeEvents, intakeID)
	return out, failing(err, "listing events of intake %s", intakeID)
}

func (s *Store) GetJourney(ctx context.Context, journeyID uuid.UUID) (store.JourneySnapshot, error) {
	j, err := ScanJourney(s.b.Read.QueryRow(ctx, s.q.GetJourney, journeyID))
	if err != nil {
		return store.JourneySnapshot{}, NotFound(err, "journey", journeyID)
	}
	return j, nil
}

func (s *Store) ListJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.JourneySnapshot, error) {
	out, err := list(ctx, s.b.Read, ScanJourney, s.q.ListJourneys, intakeID)
	return out, failing(err, "listing journeys of intake %s", intakeID)
}

func (s *Store) JourneysOfPerson(ctx context.Context, personID uuid.UUID) ([]store.JourneySnapshot, error) {
	out, err := list(ctx, s.b.Read, ScanJourney, s.q.JourneysOfPerson, personID)
	return out, failing(err, "listing journeys of person %s", personID)
}

func (s *Store) JourneysOfCoach(ctx context.Context, coachID uuid.UUID) ([]store.JourneySnapshot, error) {
	out, err := list(ctx, s.b.Read, ScanCoachJourney, s.q.JourneysOfCoach, coachID)
	return out, failing(err, "listing journeys of coach %s", coachID)
}

func (s *Store) Caseload(ctx context.Context, coachID uuid.UUID) ([]store.CaseloadEntry, error) {
	out, err := list(ctx, s.b.Read, ScanCaseloadEntry, s.q.Caseload, coachID)
	return out, failing(err, "listing the caseload of coach %s", coachID)
}

func (s *Store) Roster(ctx context.Context, intakeID uuid.UUID, page store.RosterPage, each func(store.RosterEntry) error) error {
	explain := func(err error) error {
		return fmt.Errorf("listing the journeys of intake %s with their people: %w", intakeID, err)
	}
	query, args := Roster(s.b.Postgres, intakeID, page)
	rows, err := s.b.Read.Query(ctx, query, args...)
	if err != nil {
		return explain(err)
	}
	defer rows.Close()
	return Each(rows, ScanRosterEntry, each, explain)
}

func (s *Store) JourneyOutcomes(ctx context.Context, intakeID uuid.UUID) ([]store.JourneyOutcome, error) {
	out, err := list(ctx, s.b.Read, ScanJourneyOutcome, s.q.JourneyOutcomes, intakeID)
	return out, failing(err, "counting the outcomes of intake %s's journeys", intakeID)
}

func (s *Store) IntakeCounts(ctx context.Context, intakeID uuid.UUID) (map[string]int, error) {
	explain := func(err error) error { return fmt.Errorf("counting journeys of intake %s: %w", intakeID, err) }
	rows, err := s.b.Read.Query(ctx, s.q.IntakeCounts, intakeID)
	if err != nil {
		return nil, explain(err)
	}
	defer rows.Close()
	counts, err := StateCounts(rows)
	if err != nil {
		return nil, explain(err)
	}
	return counts, nil
}

func (s *Store) TallyJourneys(ctx context.Context, intakeID uuid.UUID) ([]store.Tally, error) {
	query, args := s.q.TallyJourneys, []any(nil)
	if intakeID != uuid.Nil {
		query, args = s.q.TallyIntakeJourneys, []any{intakeID}
	}
	out, err := list(ctx, s.b.Read, ScanTally, query, args...)
	return out, failing(err, "tallying journeys")
}
