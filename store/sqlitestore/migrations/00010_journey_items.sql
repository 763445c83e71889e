-- What the funders' outcomes file counts of each journey, kept by the
-- database as events are appended, so that the file reads one row per
-- journey instead of the intake's whole event log: the last recorded
-- attendance of each session, each checkpoint completed (journey_items),
-- and when the journey ended, the time of its first event with an outcome
-- (journey_ends). Triggers keep them, not Record, so that events appended
-- by an earlier release's worker (during a rolling upgrade) count too.
-- Rebuildable from events, as the backfill below does
-- (sqlstore.JourneyFactsFromEvents is the same in code).

-- +goose Up
CREATE TABLE journey_items (
    journey_id TEXT NOT NULL,
    intake_id  TEXT NOT NULL,
    item_id    TEXT NOT NULL,
    attended   INTEGER, -- NULL: no attendance recorded
    completed  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (journey_id, item_id)
);
CREATE INDEX journey_items_intake_idx ON journey_items (intake_id);
CREATE TABLE journey_ends (
    journey_id TEXT PRIMARY KEY,
    ended_at   TEXT NOT NULL
);

-- +goose StatementBegin
CREATE TRIGGER events_keep_attendance AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND NEW.type IN ('attendance.present', 'attendance.absent')
    AND json_extract(NEW.data, '$.item') IS NOT NULL
BEGIN
    INSERT INTO journey_items (journey_id, intake_id, item_id, attended)
        VALUES (NEW.journey_id, NEW.intake_id, json_extract(NEW.data, '$.item'), NEW.type = 'attendance.present')
        ON CONFLICT (journey_id, item_id) DO UPDATE SET attended = excluded.attended;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_keep_checkpoints AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND NEW.type = 'checkpoint.completed' AND json_extract(NEW.data, '$.item') IS NOT NULL
BEGIN
    INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
        VALUES (NEW.journey_id, NEW.intake_id, json_extract(NEW.data, '$.item'), 1)
        ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER events_keep_journey_ends AFTER INSERT ON events
WHEN NEW.journey_id IS NOT NULL AND COALESCE(json_extract(NEW.snapshot, '$.outcome'), '') <> ''
BEGIN
    INSERT INTO journey_ends (journey_id, ended_at) VALUES (NEW.journey_id, NEW.occurred_at)
        ON CONFLICT (journey_id) DO NOTHING;
END;
-- +goose StatementEnd

INSERT INTO journey_items (journey_id, intake_id, item_id, attended)
    SELECT journey_id, intake_id, item, type = 'attendance.present' FROM (
        SELECT journey_id, intake_id, type, json_extract(data, '$.item') AS item,
            row_number() OVER (PARTITION BY journey_id, json_extract(data, '$.item') ORDER BY seq DESC) AS latest
        FROM events
        WHERE journey_id IS NOT NULL AND type IN ('attendance.present', 'attendance.absent')
            AND json_extract(data, '$.item') IS NOT NULL) AS a
    WHERE latest = 1;
INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
    SELECT DISTINCT journey_id, intake_id, json_extract(data, '$.item'), 1 FROM events
    WHERE journey_id IS NOT NULL AND type = 'checkpoint.completed' AND json_extract(data, '$.item') IS NOT NULL
    ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = 1;
INSERT INTO journey_ends (journey_id, ended_at)
    SELECT journey_id, occurred_at FROM (
        SELECT journey_id, occurred_at, row_number() OVER (PARTITION BY journey_id ORDER BY seq) AS earliest
        FROM events
        WHERE journey_id IS NOT NULL AND COALESCE(json_extract(snapshot, '$.outcome'), '') <> '') AS e
    WHERE earliest = 1;

-- +goose Down
DROP TRIGGER events_keep_journey_ends;
DROP TRIGGER events_keep_checkpoints;
DROP TRIGGER events_keep_attendance;
DROP TABLE journey_ends;
DROP TABLE journey_items;
