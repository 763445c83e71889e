package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/store"
)

// NotFound explains a failed look-up of what (named by id): store.ErrNotFound
// when there was no row (pgx.ErrNoRows is also sql.ErrNoRows).
func NotFound(err error, what string, id any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s %v: %w", what, id, store.ErrNotFound)
	}
	return fmt.Errorf("reading %s %v: %w", what, id, err)
}

// createPeople is the body of Store.CreatePeople's transaction, for a batch
// prepared by store.PreparePeople. insert adds a person unless the ID or the
// e-mail address is taken, reporting whether it did; get reads the stored
// person with an ID.
func createPeople(people []store.Person, insert func(store.Person) (bool, error), get func(uuid.UUID) (store.Person, error)) error {
	for i, p := range people {
		added, err := insert(p)
		if err != nil {
			return fmt.Errorf("person %d (%s): %w", i, p.ID, err)
		}
		if added {
			continue
		}
		// Either the ID or the e-mail address is taken.
		old, err := get(p.ID)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return fmt.Errorf("person %d (%s): %w: e-mail address %q belongs to another person",
				i, p.ID, store.ErrConflict, p.EmailAddress)
		case err != nil:
			return fmt.Errorf("person %d (%s): %w", i, p.ID, err)
		case !old.ErasedAt.IsZero():
			// Re-creating them would undo an erasure.
			return fmt.Errorf("person %d (%s): %w: the person with this ID was erased", i, p.ID, store.ErrConflict)
		case !store.SamePerson(old, p):
			return fmt.Errorf("person %d (%s): %w: a person with this ID exists with different details",
				i, p.ID, store.ErrConflict)
		}
	}
	return nil
}

// createIntake is the body of Store.CreateIntake's transaction, for an
// intake prepared by store.PrepareIntake: insert adds it unless its ID is
// taken, reporting whether it did; get reads the stored intake.
func createIntake(in store.Intake, insert func() (bool, error), get func() (store.Intake, error)) error {
	return insertOnce(in, insert, get, store.SameIntake,
		fmt.Sprintf("intake %s", in.ID),
		fmt.Sprintf("intake %s", in.ID), "an intake with this ID exists with different details")
}

// updateIntake is the logic of Store.UpdateIntake: it validates the
// edit with store.PrepareIntakeEdit and hands the stored name to update,
// which sets both fields of the row with the ID and reports whether there
// was one.
func updateIntake(id uuid.UUID, name string, capacity int, update func(name string) (bool, error)) error {
	name, err := store.PrepareIntakeEdit(id, name, capacity)
	if err != nil {
		return err
	}
	found, err := update(name)
	if err != nil {
		return fmt.Errorf("updating intake %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("intake %s: %w", id, store.ErrNotFound)
	}
	return nil
}

// saveNote is the body of Store.SaveNote's transaction, for a note prepared
// by store.PrepareNote: insert adds it unless its ID is taken, reporting
// whether it did; get reads the stored note.
func saveNote(n store.Note, insert func() (bool, error), get func() (store.Note, error)) error {
	return insertOnce(n, insert, get, store.SameNote,
		fmt.Sprintf("saving note %s", n.ID),
		fmt.Sprintf("note %s", n.ID), "a note with this ID exists with different contents")
}

// insertOnce inserts v; if a row with its ID was there already, that row
// must be the same as v. Errors start with failing, or with conflicting and
// then say why.
func insertOnce[T any](v T, insert func() (bool, error), get func() (T, error), same func(a, b T) bool,
	failing, conflicting, why string) error {
	added, err := insert()
	if err != nil {
		return fmt.Errorf("%s: %w", failing, err)
	}
	if added {
		return nil
	}
	old, err := get()
	if err != nil {
		return fmt.Errorf("%s: %w", failing, err)
	}
	if !same(old, v) {
		return fmt.Errorf("%s: %w: %s", conflicting, store.ErrConflict, why)
	}
	return nil
}

// record is Store.Record's transaction: it reports whether ev was appended.
func record(tx writeTx, ev store.Event, snap []byte, msgs []store.Message) (bool, error) {
	a := ev.Attempt
	if a == nil {
		seq, appended, err := tx.AppendEvent(ev, snap)
		if err != nil || !appended { // not appended: already recorded
			return false, appending(ev, err)
		}
		return true, apply(tx, ev, seq, msgs)
	}
	head, err := tx.LockStream(a.Stream)
	if err != nil {
		return false, fmt.Errorf("locking stream %q: %w", a.Stream, err)
	}
	seq, err := fence(tx, ev, head)
	if err != nil {
		return false, err
	}
	appended := seq == 0
	if appended {
		if seq, appended, err = tx.AppendEvent(ev, snap); err != nil {
			return false, appending(ev, err)
		}
		if !appended { // fence found no event with the key, or dropped it
			return false, keyTaken(ev)
		}
		if err := apply(tx, ev, seq, msgs); err != nil {
			return false, err
		}
	}
	// An event kept keeps the messages it queued: msgs are the same
	// notices made at another moment, whose keys (a notice's holds its
	// time) would have them sent twice.
	if err := tx.SetStreamHead(a.Stream, Head{Fence: a.Fence, Seq: a.Seq}); err != nil {
		return false, fmt.Errorf("moving the head of stream %q: %w", a.Stream, err)
	}
	return appended, nil
}

func appending(ev store.Event, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("appending event %q: %w", ev.Key, err)
}

// apply makes the projections take ev, appended as seq, and queues msgs.
func apply(tx writeTx, ev store.Event, seq int64, msgs []store.Message) error {
	if ev.Snapshot != nil {
		if err := project(tx, *ev.Snapshot, seq); err != nil {
			return err
		}
	}
	if ev.IntakeStatus != "" {
		if err := tx.SetIntakeStatus(ev.IntakeID, ev.IntakeStatus); err != nil {
			return fmt.Errorf("updating status of intake %s: %w", ev.IntakeID, err)
		}
	}
	return queue(tx, seq, msgs)
}

// queue queues msgs for event seq, but for those whose keys are queued.
func queue(tx writeTx, seq int64, msgs []store.Message) error {
	for _, m := range msgs {
		if err := tx.QueueMessage(m, seq); err != nil {
			return fmt.Errorf("queueing message %q: %w", m.Key, err)
		}
	}
	return nil
}

// project makes snap, carried by event seq, the journey's projection row.
// Record and RebuildProjections both come here, so a rebuilt row keeps
// what the recorded one had, checkpoints too.
func project(tx writeTx, snap store.JourneySnapshot, seq int64) error {
	checkpoints, err := store.EncodeCheckpoints(snap)
	if err != nil {
		return fmt.Errorf("projecting journey %s: %w", snap.JourneyID, err)
	}
	if err := tx.UpsertJourney(snap, checkpoints, seq); err != nil {
		return fmt.Errorf("projecting journey %s: %w", snap.JourneyID, err)
	}
	return nil
}

// Latest is a journey's latest snapshot and the event that carried it.
type Latest struct {
	Seq      int64
	Snapshot *store.JourneySnapshot
}

// ScanLatest reads (seq, snapshot).
func ScanLatest(row Scanner) (Latest, error) {
	var l Latest
	var b []byte
	if err := row.Scan(&l.Seq, &b); err != nil {
		return l, err
	}
	var err error
	l.Snapshot, err = store.DecodeSnapshot(b)
	return l, err
}

// rebuildProjections is the body of Store.RebuildProjections' transaction,
// which must keep Record out until it commits.
func rebuildProjections(tx writeTx) error {
	all, err := tx.LatestSnapshots()
	if err != nil {
		return fmt.Errorf("rebuilding projections: %w", err)
	}
	if err := tx.DeleteJourneys(); err != nil {
		return fmt.Errorf("rebuilding projections: %w", err)
	}
	for _, l := range all {
		if err := project(tx, *l.Snapshot, l.Seq); err != nil {
			return fmt.Errorf("rebuilding projections: %w", err)
		}
	}
	if err := tx.RebuildJourneyFacts(); err != nil {
		return fmt.Errorf("rebuilding the outcomes' counts: %w", err)
	}
	if err := tx.ResetIntakeStatuses(); err != nil {
		return fmt.Errorf("rebuilding intake statuses: %w", err)
	}
	return nil
}

// JourneyFactsFromEvents are the statements that make journey_items and
// journey_ends (and so journey_totals, kept by journey_items' triggers)
// from the log: the latest attendance of each session, every checkpoint
// completed, and the time of each journey's first event (in the log's
// order) with an outcome, each with the seq of the event it came from. The
// migration that made the tables (00010) ran statements like these, and
// its triggers keep the tables as events are appended. With one, they make
// again the facts of the one journey whose ID is each statement's $1; else
// every journey's.
func JourneyFactsFromEvents(one bool) []string {
	const item, outcome = `COALESCE(data->>'item', '')`, `snapshot->>'outcome'`
	only, and := "", ""
	if one {
		only, and = ` WHERE journey_id = $1`, ` AND journey_id = $1`
	}
	return []string{
		`DELETE FROM journey_items` + only,
		// After the items' triggers have taken them off: what is left is
		// drift (rows changed outside the triggers), which a rebuild ends.
		`DELETE FROM journey_totals` + only,
		`DELETE FROM journey_ends` + only,
		`INSERT INTO journey_items (journey_id, intake_id, item_id, attended, attended_seq)
			SELECT journey_id, intake_id, item, type = '` + store.EventAttended + `', seq FROM (
				SELECT journey_id, intake_id, type, seq, ` + item + ` AS item,
					row_number() OVER (PARTITION BY journey_id, ` + item + ` ORDER BY seq DESC) AS latest
				FROM events
				WHERE journey_id IS NOT NULL AND type IN ('` + store.EventAttended + `', '` + store.EventAbsent + `')` + and + `) AS a
			WHERE latest = 1`,
		`INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
			SELECT DISTINCT journey_id, intake_id, ` + item + `, true FROM events
			WHERE journey_id IS NOT NULL AND type = '` + store.EventCheckpointCompleted + `'` + and + `
			ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = true`,
		`INSERT INTO journey_ends (journey_id, ended_at, ended_seq)
			SELECT journey_id, occurred_at, seq FROM (
				SELECT journey_id, occurred_at, seq, row_number() OVER (PARTITION BY journey_id ORDER BY seq) AS earliest
				FROM events
				WHERE journey_id IS NOT NULL AND COALESCE(` + outcome + `, '') <> ''` + and + `) AS e
			WHERE earliest = 1`,
	}
}

// LatestSnapshots is the query of writeTx.LatestSnapshots, or with one (the
// journey's ID as $1) that of writeTx.LatestSnapshotOf.
func LatestSnapshots(one bool) string {
	and := ""
	if one {
		and = ` AND journey_id = $1`
	}
	return `SELECT seq, snapshot FROM events WHERE seq IN
		(SELECT max(seq) FROM events WHERE snapshot IS NOT NULL` + and + ` GROUP BY journey_id) ORDER BY seq`
}

// ResetIntakeStatuses is the statement of writeTx.ResetIntakeStatuses, or with
// one (the intake's ID as $1) that of writeTx.ResetIntakeStatus.
func ResetIntakeStatuses(one bool) string {
	where := ""
	if one {
		where = ` WHERE id = $1`
	}
	return `UPDATE intakes SET status = COALESCE(
		(SELECT e.intake_status FROM events e WHERE e.intake_id = intakes.id AND e.intake_status IS NOT NULL
		 ORDER BY e.seq DESC LIMIT 1), created_status)` + where
}
