-- What the funders' outcomes file counts of each journey, kept by the
-- database as events are appended, so that the file reads one row per
-- journey instead of the intake's whole event log: the last recorded
-- attendance of each session, each checkpoint completed (journey_items),
-- and when the journey ended, the time of its first event with an outcome
-- (journey_ends). A trigger keeps them, not Record, so that events appended
-- by workers of an earlier release during a rolling upgrade count too.
-- Rebuildable from events, as the backfill below does
-- (sqlstore.JourneyFactsFromEvents is the same in code).

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
CREATE TABLE journey_ends (
    journey_id uuid PRIMARY KEY,
    ended_at   timestamptz NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION keep_journey_facts() RETURNS trigger LANGUAGE plpgsql
-- The tables of the schema it was made in, whoever's search_path appends.
SET search_path FROM CURRENT AS $$
BEGIN
    IF NEW.journey_id IS NULL THEN
        RETURN NULL;
    END IF;
    IF NEW.type IN ('attendance.present', 'attendance.absent') AND NEW.data->>'item' IS NOT NULL THEN
        INSERT INTO journey_items (journey_id, intake_id, item_id, attended)
            VALUES (NEW.journey_id, NEW.intake_id, NEW.data->>'item', NEW.type = 'attendance.present')
            ON CONFLICT (journey_id, item_id) DO UPDATE SET attended = excluded.attended;
    ELSIF NEW.type = 'checkpoint.completed' AND NEW.data->>'item' IS NOT NULL THEN
        INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
            VALUES (NEW.journey_id, NEW.intake_id, NEW.data->>'item', true)
            ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = true;
    END IF;
    IF COALESCE(NEW.snapshot->>'outcome', '') <> '' THEN
        INSERT INTO journey_ends (journey_id, ended_at) VALUES (NEW.journey_id, NEW.occurred_at)
            ON CONFLICT (journey_id) DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_keep_journey_facts AFTER INSERT ON events
    FOR EACH ROW EXECUTE FUNCTION keep_journey_facts();

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
INSERT INTO journey_ends (journey_id, ended_at)
    SELECT journey_id, occurred_at FROM (
        SELECT journey_id, occurred_at, row_number() OVER (PARTITION BY journey_id ORDER BY seq) AS earliest
        FROM events
        WHERE journey_id IS NOT NULL AND COALESCE(snapshot->>'outcome', '') <> '') AS e
    WHERE earliest = 1;

-- +goose Down
DROP TRIGGER events_keep_journey_facts ON events;
DROP FUNCTION keep_journey_facts();
DROP TABLE journey_ends;
DROP TABLE journey_items;
