-- The log (events), the projections Record keeps from it (journeys,
-- intakes' statuses) and the heads of fenced streams (see fence.go). The
-- statements that make journey_items and journey_ends again, and those
-- that take one journey or every journey, are made in Go (write.go), as
-- their shape changes with what they are asked.

-- name: AppendEvent
-- A concurrent transaction inserting the same key makes this one wait for
-- it (PostgreSQL); if it commits, ON CONFLICT turns this insert into a
-- no-op that returns no row.
INSERT INTO events
	(key, intake_id, journey_id, type, occurred_at, data, snapshot, intake_status, recorded_at, stream, stream_seq, fence)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (key) DO NOTHING RETURNING seq

-- name: UpsertJourney
-- The journey's row reflects the event $12 unless it reflects a later one.
INSERT INTO journeys
	(journey_id, intake_id, person_id, coach_id, state, phase, next_due_item, next_due_at, overdue_count, outcome,
	 checkpoints, updated_seq)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (journey_id) DO UPDATE SET
	intake_id = excluded.intake_id, person_id = excluded.person_id, coach_id = excluded.coach_id,
	state = excluded.state, phase = excluded.phase, next_due_item = excluded.next_due_item,
	next_due_at = excluded.next_due_at, overdue_count = excluded.overdue_count,
	outcome = excluded.outcome, checkpoints = excluded.checkpoints, updated_seq = excluded.updated_seq
WHERE journeys.updated_seq < excluded.updated_seq

-- name: SetIntakeStatus
UPDATE intakes SET status = $2 WHERE id = $1

-- name: DeleteJourneys
DELETE FROM journeys

-- name: DeleteJourney
DELETE FROM journeys WHERE journey_id = $1

-- name: LockForRebuild
-- PostgreSQL only: keeps Record from changing the log or the projections
-- while RebuildProjections reads and replaces them. SQLite's write
-- transaction keeps every other writer out already.
{{if .Postgres}}LOCK TABLE events, journeys, intakes IN SHARE ROW EXCLUSIVE MODE{{end}}

-- name: LockStream
-- Reads the stream's head (fence, seq). On PostgreSQL the no-op update
-- takes the row lock, which a concurrent writer of the stream then waits
-- for; a new stream's insert does the same for a concurrent insert, and
-- RETURNING reads the row as it is once locked. On SQLite the write
-- transaction keeps every other writer out already: reading is enough, a
-- new stream has no row (its head is (0, 0)) and SetStreamHead adds it.
{{if .Postgres}}INSERT INTO event_streams AS h (stream, fence, seq) VALUES ($1, 0, 0)
ON CONFLICT (stream) DO UPDATE SET fence = h.fence RETURNING fence, seq
{{- else}}SELECT fence, seq FROM event_streams WHERE stream = $1{{end}}

-- name: SetStreamHead
INSERT INTO event_streams (stream, fence, seq) VALUES ($1, $2, $3)
ON CONFLICT (stream) DO UPDATE SET fence = excluded.fence, seq = excluded.seq

-- name: RecordedAs
SELECT {{.Recorded}} FROM events WHERE key = $1

-- name: Refence
UPDATE events SET fence = $2 WHERE key = $1

-- name: DropQueuedMessages
-- The messages still queued that the stream $1's events numbered $2 or
-- later queued. A join from the stream's events, so that the messages are
-- looked up by event (outbox_event_idx), not among every queued one: the
-- status is "not sent nor failed" (queued, as outbox's CHECK allows no
-- other), which no index on status serves, so neither database's planner
-- (SQLite's never has statistics) is drawn to one.
DELETE FROM outbox WHERE id IN (SELECT o.id FROM events e JOIN outbox o ON o.event_seq = e.seq
	WHERE e.stream = $1 AND e.stream_seq >= $2 AND o.status NOT IN ('sent', 'failed'))

-- name: DropEvents
DELETE FROM events WHERE stream = $1 AND stream_seq >= $2 RETURNING {{.Dropped}}

-- name: JourneyEvents
SELECT {{.Event}} FROM events WHERE journey_id = $1 ORDER BY seq

-- name: IntakeEvents
SELECT {{.Event}} FROM events WHERE intake_id = $1 ORDER BY seq
