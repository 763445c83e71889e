-- Events recorded from inside a workflow task (by a local activity, before
-- the task commits) are fenced (store.Event.Attempt): each belongs to a
-- stream (the workflow), is numbered in it (stream_seq) and carries the
-- fence of the task attempt that wrote it. A later attempt's event replaces
-- the stream's events from its number on, and an attempt that a later one
-- has replaced may write nothing (store.Store.Record).
--
-- event_streams is the head of each stream: the highest fence that has
-- written it (it never falls) and the number of its latest event. Write
-- transactions begin IMMEDIATE, so one writer at a time records anything.
--
-- Events recorded before this migration, and every event without an
-- attempt, keep NULL in the three columns: never fenced, never dropped.
--
-- Dropping a failed attempt's events drops the messages they queued that are
-- still queued, but a message already sent (or given up) stays, as the
-- record of what went out: its event_seq becomes NULL (ON DELETE SET NULL),
-- so event_seq is no longer NOT NULL. SQLite cannot change a column's
-- constraints, so outbox is rebuilt (https://sqlite.org/lang_altertable.html#otheralter;
-- no table refers to outbox, so foreign keys may stay on), keeping its ids
-- and its AUTOINCREMENT counter. outbox_event_idx serves the foreign key (and
-- the drop of the queued ones), so deleting an event does not scan the outbox.

-- +goose Up
ALTER TABLE events ADD COLUMN stream TEXT;
ALTER TABLE events ADD COLUMN stream_seq INTEGER;
ALTER TABLE events ADD COLUMN fence INTEGER;
CREATE INDEX events_stream_idx ON events (stream, stream_seq) WHERE stream IS NOT NULL;
CREATE TABLE event_streams (
    stream TEXT PRIMARY KEY,
    fence  INTEGER NOT NULL, -- the highest fence that has written the stream
    seq    INTEGER NOT NULL  -- the number of its latest event
);

CREATE TABLE outbox_new (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE,
    event_seq    INTEGER REFERENCES events (seq) ON DELETE SET NULL, -- the event that queued it; NULL once dropped
    intake_id    TEXT NOT NULL,
    journey_id   TEXT,
    recipient_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    template     TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    send_at      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      TEXT,
    created_at   TEXT NOT NULL,
    item_starts_at  TEXT,
    item_ends_at    TEXT,
    revision        INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    cancels         INTEGER NOT NULL DEFAULT 0 CHECK (cancels IN (0, 1)),
    next_attempt_at TEXT,
    message_id      TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   TEXT
);
INSERT INTO outbox_new SELECT id, key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id,
    channel, send_at, status, attempts, last_error, sent_at, created_at, item_starts_at, item_ends_at, revision,
    cancels, next_attempt_at, message_id, claimed_by, claimed_until FROM outbox;
DELETE FROM sqlite_sequence WHERE name = 'outbox_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_new', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due_idx ON outbox (status, send_at);
CREATE INDEX outbox_intake_idx ON outbox (intake_id, send_at);
CREATE INDEX outbox_journey_idx ON outbox (journey_id, send_at);
CREATE INDEX outbox_recipient_idx ON outbox (recipient_id, send_at);
CREATE INDEX outbox_queued_idx ON outbox (send_at, id) WHERE status = 'queued';
CREATE INDEX outbox_recipient_queued_idx ON outbox (recipient_id, send_at, id) WHERE status = 'queued';
CREATE INDEX outbox_claimed_idx ON outbox (recipient_id, claimed_until)
    WHERE status = 'queued' AND claimed_until IS NOT NULL;
CREATE INDEX outbox_event_idx ON outbox (event_seq);

-- +goose Down
-- A message whose event was dropped has no event to name: the schema before
-- cannot hold it, so it goes (sent or given up; nothing still queued).
CREATE TABLE outbox_old (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE,
    event_seq    INTEGER NOT NULL REFERENCES events (seq), -- the event that queued it
    intake_id    TEXT NOT NULL,
    journey_id   TEXT,
    recipient_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    template     TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    send_at      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      TEXT,
    created_at   TEXT NOT NULL,
    item_starts_at  TEXT,
    item_ends_at    TEXT,
    revision        INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0),
    cancels         INTEGER NOT NULL DEFAULT 0 CHECK (cancels IN (0, 1)),
    next_attempt_at TEXT,
    message_id      TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    claimed_until   TEXT
);
INSERT INTO outbox_old SELECT id, key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id,
    channel, send_at, status, attempts, last_error, sent_at, created_at, item_starts_at, item_ends_at, revision,
    cancels, next_attempt_at, message_id, claimed_by, claimed_until FROM outbox WHERE event_seq IS NOT NULL;
DELETE FROM sqlite_sequence WHERE name = 'outbox_old';
INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_old', seq FROM sqlite_sequence WHERE name = 'outbox';
DROP TABLE outbox;
ALTER TABLE outbox_old RENAME TO outbox;
CREATE INDEX outbox_due_idx ON outbox (status, send_at);
CREATE INDEX outbox_intake_idx ON outbox (intake_id, send_at);
CREATE INDEX outbox_journey_idx ON outbox (journey_id, send_at);
CREATE INDEX outbox_recipient_idx ON outbox (recipient_id, send_at);
CREATE INDEX outbox_queued_idx ON outbox (send_at, id) WHERE status = 'queued';
CREATE INDEX outbox_recipient_queued_idx ON outbox (recipient_id, send_at, id) WHERE status = 'queued';
CREATE INDEX outbox_claimed_idx ON outbox (recipient_id, claimed_until)
    WHERE status = 'queued' AND claimed_until IS NOT NULL;

DROP TABLE event_streams;
DROP INDEX events_stream_idx;
ALTER TABLE events DROP COLUMN fence;
ALTER TABLE events DROP COLUMN stream_seq;
ALTER TABLE events DROP COLUMN stream;
