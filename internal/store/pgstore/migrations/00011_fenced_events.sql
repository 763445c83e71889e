-- Events recorded from inside a workflow task (by a local activity, before
-- the task commits) are fenced (store.Event.Attempt): each belongs to a
-- stream (the workflow), is numbered in it (stream_seq) and carries the
-- fence of the task attempt that wrote it. A later attempt's event replaces
-- the stream's events from its number on, and an attempt that a later one
-- has replaced may write nothing (store.Store.Record).
--
-- event_streams is the head of each stream: the highest fence that has
-- written it (it never falls) and the number of its latest event. Record
-- locks a stream's row, so one writer at a time records a stream.
--
-- Events recorded before this migration, and every event without an
-- attempt, keep NULL in the three columns: never fenced, never dropped.
--
-- Dropping a failed attempt's events drops the messages they queued that are
-- still queued, but a message already sent (or given up) stays, as the
-- record of what went out: its event_seq becomes NULL (ON DELETE SET NULL),
-- so event_seq is no longer NOT NULL. outbox_event_idx serves that foreign
-- key (and the drop of the queued ones), so deleting an event does not scan
-- the outbox.

-- +goose Up
ALTER TABLE events ADD COLUMN stream text, ADD COLUMN stream_seq bigint, ADD COLUMN fence bigint;
CREATE INDEX events_stream_idx ON events (stream, stream_seq) WHERE stream IS NOT NULL;
CREATE TABLE event_streams (
    stream text PRIMARY KEY,
    fence  bigint NOT NULL, -- the highest fence that has written the stream
    seq    bigint NOT NULL  -- the number of its latest event
);
CREATE INDEX outbox_event_idx ON outbox (event_seq);
ALTER TABLE outbox ALTER COLUMN event_seq DROP NOT NULL,
    DROP CONSTRAINT outbox_event_seq_fkey,
    ADD CONSTRAINT outbox_event_seq_fkey FOREIGN KEY (event_seq) REFERENCES events (seq) ON DELETE SET NULL;

-- +goose Down
-- A message whose event was dropped has no event to name: the schema before
-- cannot hold it, so it goes (sent or given up; nothing still queued).
DELETE FROM outbox WHERE event_seq IS NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_event_seq_fkey,
    ADD CONSTRAINT outbox_event_seq_fkey FOREIGN KEY (event_seq) REFERENCES events (seq),
    ALTER COLUMN event_seq SET NOT NULL;
DROP INDEX outbox_event_idx;
DROP TABLE event_streams;
DROP INDEX events_stream_idx;
ALTER TABLE events DROP COLUMN fence, DROP COLUMN stream_seq, DROP COLUMN stream;
