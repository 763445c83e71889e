package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/store"
)

// The methods of the log and its projections (queries/events.sql and
// queries/journeys.sql).

func (s *Store) Record(ctx context.Context, ev store.Event, msgs ...store.Message) (bool, error) {
	return Record(ev, msgs, now(), func(fn func(Tx) error) error {
		return s.b.InTx(ctx, func(tx DB) error { return fn(writeTx{s, ctx, tx}) })
	})
}

func (s *Store) RebuildProjections(ctx context.Context) error {
	return s.b.InTx(ctx, func(tx DB) error {
		if s.b.Postgres {
			if _, err := tx.Exec(ctx, s.q.LockForRebuild); err != nil {
				return fmt.Errorf("rebuilding projections: %w", err)
			}
		}
		return RebuildProjections(writeTx{s, ctx, tx})
	})
}

// writeTx is Tx: the statements of Record and RebuildProjections in a
// write transaction.
type writeTx struct {
	s   *Store
	ctx context.Context
	db  DB
}

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

func (w writeTx) QueueMessage(m store.Message, eventSeq int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.QueueMessage,
		m.Key, eventSeq, m.IntakeID, NullUUID(m.JourneyID), m.RecipientID, string(m.Role), m.Template,
		m.ItemID, NullTime(m.ItemStartsAt), NullTime(m.ItemEndsAt), m.Revision, m.Cancels,
		m.Channel, m.SendAt, string(m.Status), m.CreatedAt)
	return err
}

func (w writeTx) RebuildJourneyFacts() error { return w.execAll(JourneyFactsFromEvents(false)) }

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

func (w writeTx) LatestSnapshots() ([]Latest, error) {
	return list(w.ctx, w.db, ScanLatest, LatestSnapshots(false))
}

func (w writeTx) LatestSnapshotOf(journeyID uuid.UUID) (Latest, error) {
	return ScanLatest(w.db.QueryRow(w.ctx, LatestSnapshots(true), journeyID))
}

func (w writeTx) DeleteJourneys() error {
	_, err := w.db.Exec(w.ctx, w.s.q.DeleteJourneys)
	return err
}

func (w writeTx) DeleteJourney(journeyID uuid.UUID) error {
	_, err := w.db.Exec(w.ctx, w.s.q.DeleteJourney, journeyID)
	return err
}

func (w writeTx) ResetIntakeStatuses() error {
	_, err := w.db.Exec(w.ctx, ResetIntakeStatuses(false))
	return err
}

func (w writeTx) ResetIntakeStatus(intakeID uuid.UUID) error {
	_, err := w.db.Exec(w.ctx, ResetIntakeStatuses(true), intakeID)
	return err
}

// LockStream reads the stream's head, locking it on PostgreSQL; a new
// stream's is (0, 0): SQLite has no row for it until SetStreamHead adds it.
func (w writeTx) LockStream(stream string) (Head, error) {
	var h Head
	err := w.db.QueryRow(w.ctx, w.s.q.LockStream, stream).Scan(&h.Fence, &h.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return Head{}, nil
	}
	return h, err
}

func (w writeTx) SetStreamHead(stream string, h Head) error {
	_, err := w.db.Exec(w.ctx, w.s.q.SetStreamHead, stream, h.Fence, h.Seq)
	return err
}

func (w writeTx) Refence(key string, fence int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.Refence, key, fence)
	return err
}

func (w writeTx) RecordedAs(key string) (Recorded, error) {
	return ScanRecorded(w.db.QueryRow(w.ctx, w.s.q.RecordedAs, key))
}

func (w writeTx) DropQueuedMessages(stream string, from int64) error {
	_, err := w.db.Exec(w.ctx, w.s.q.DropQueuedMessages, stream, from)
	return err
}

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
