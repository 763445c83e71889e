-- What the funders' outcomes file counts of each journey, kept as events
-- are recorded so that the file reads one row per journey instead of the
-- intake's whole event log: the last recorded attendance of each session,
-- each checkpoint completed, and when the journey ended (its first event
-- with an outcome). Rebuildable from events, as the backfill below does
-- (sqlstore.JourneyItemsFromEvents is the same in code).

-- +goose Up
CREATE TABLE journey_items (
    journey_id uuid NOT NULL,
    intake_id  uuid NOT NULL,
    item_id    text NOT NULL,
    attended   boolean, -- NULL: no attendance recorded
    completed  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (journey_id, item_id)
);
CREATE INDEX journey_items_intake_idx ON journey_items (intake_id);
ALTER TABLE journeys ADD COLUMN ended_at timestamptz;

INSERT INTO journey_items (journey_id, intake_id, item_id, attended)
    SELECT journey_id, intake_id, item, type = 'attendance.present' FROM (
        SELECT journey_id, intake_id, type, data->>'item' AS item,
            row_number() OVER (PARTITION BY journey_id, data->>'item' ORDER BY seq DESC) AS latest
        FROM events
        WHERE journey_id IS NOT NULL AND type IN ('attendance.present', 'attendance.absent')
            AND data->>'item' IS NOT NULL) AS a
    WHERE latest = 1;
INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
    SELECT DISTINCT journey_id, intake_id, data->>'item', true FROM events
    WHERE journey_id IS NOT NULL AND type = 'checkpoint.completed' AND data->>'item' IS NOT NULL
    ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = true;
UPDATE journeys SET ended_at = (SELECT e.occurred_at FROM events e
    WHERE e.journey_id = journeys.journey_id AND COALESCE(e.snapshot->>'outcome', '') <> ''
    ORDER BY e.seq LIMIT 1);

-- +goose Down
ALTER TABLE journeys DROP COLUMN ended_at;
DROP TABLE journey_items;
