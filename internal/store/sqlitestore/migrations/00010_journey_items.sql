-- What the funders' outcomes file counts of each journey, kept by the
-- database as events are appended, so that the file reads one row per
-- journey instead of the intake's whole event log: the last recorded
-- attendance of each session, each checkpoint completed (journey_items),
-- and when the journey ended, the time of its first event with an outcome
-- (journey_ends). Triggers keep them, not Record, so that events appended
-- by an earlier release's worker (during a rolling upgrade) count too.
-- Each fact carries the seq of the event it came from, and only an earlier
-- (end) or later (attendance) event replaces it, as PostgreSQL's must. An
-- event without an item counts under the item '' (as the report did when
-- it read the log). Rebuildable from events, as the backfill below does
-- (sqlstore.JourneyFactsFromEvents is the same in code).

-- +goose Up
CREATE TABLE journey_items (
    journey_id TEXT NOT NULL,
    intake_id  TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    attended   INTEGER, -- NULL: no attendance recorded
    attended_seq INTEGER, -- the event attended came from
    completed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (journey_id, item_id)
);
CREATE INDEX journey_items_intake_idx ON journey_items (intake_id);
CREATE TABLE journey_ends (
    journey_id TEXT PRIMARY KEY,
    ended_at   TEXT NOT NULL,
    ended_seq  INTEGER NOT NULL -- the event ended_at came from
);

-- +goose StatementBegin
CREATE TRIGGER events_keep_attendance AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND NEW.type IN ('attendance.present', 'attendance.absent')
BEGIN
    INSERT INTO journey_items (journey_id, intake_id, item_id, attended, attended_seq)
        VALUES (NEW.journey_id, NEW.intake_id, COALESCE(json_extract(NEW.data, '$.item'), ''), NEW.type = 'attendance.present', NEW.seq)
        ON CONFLICT (journey_id, item_id) DO UPDATE SET attended = excluded.attended, attended_seq = excluded.attended_seq
        WHERE journey_items.attended_seq IS NULL OR journey_items.attended_seq < excluded.attended_seq;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_keep_checkpoints AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND NEW.type = 'checkpoint.completed'
BEGIN
    INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
        VALUES (NEW.journey_id, NEW.intake_id, COALESCE(json_extract(NEW.data, '$.item'), ''), 1)
        ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_keep_journey_ends AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND COALESCE(json_extract(NEW.snapshot, '$.outcome'), '') <> ''
BEGIN
    INSERT INTO journey_ends (journey_id, ended_at, ended_seq) VALUES (NEW.journey_id, NEW.occurred_at, NEW.seq)
        ON CONFLICT (journey_id) DO UPDATE SET ended_at = excluded.ended_at, ended_seq = excluded.ended_seq
        WHERE excluded.ended_seq < journey_ends.ended_seq;
END;
-- +goose StatementEnd

INSERT INTO journey_items (journey_id, intake_id, item_id, attended, attended_seq)
    SELECT journey_id, intake_id, item, type = 'attendance.present', seq FROM (
        SELECT journey_id, intake_id, type, seq, COALESCE(json_extract(data, '$.item'), '') AS item,
            row_number() OVER (PARTITION BY journey_id, COALESCE(json_extract(data, '$.item'), '') ORDER BY seq DESC) AS latest
        FROM events
        WHERE journey_id IS NOT NULL AND type IN ('attendance.present', 'attendance.absent')) AS a
    WHERE latest = 1;
INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
    SELECT DISTINCT journey_id, intake_id, COALESCE(json_extract(data, '$.item'), ''), 1 FROM events
    WHERE journey_id IS NOT NULL AND type = 'checkpoint.completed'
    ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = 1;
INSERT INTO journey_ends (journey_id, ended_at, ended_seq)
    SELECT journey_id, occurred_at, seq FROM (
        SELECT journey_id, occurred_at, seq, row_number() OVER (PARTITION BY journey_id ORDER BY seq) AS earliest
        FROM events
        WHERE journey_id IS NOT NULL AND COALESCE(json_extract(snapshot, '$.outcome'), '') <> '') AS e
    WHERE earliest = 1;

-- +goose Down
DROP TRIGGER events_keep_journey_ends;
DROP TRIGGER events_keep_checkpoints;
DROP TRIGGER events_keep_attendance;
DROP TABLE journey_ends;
DROP TABLE journey_items;
