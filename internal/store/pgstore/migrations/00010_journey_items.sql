-- What the funders' outcomes file counts of each journey, kept by the
-- database as events are appended, so that the file reads one row per
-- journey instead of the intake's whole event log: the last recorded
-- attendance of each session, each checkpoint completed (journey_items),
-- and when the journey ended, the time of its first event with an outcome
-- (journey_ends). A trigger keeps them, not Record, so that events appended
-- by workers of an earlier release during a rolling upgrade count too.
-- Each fact carries the seq of the event it came from, and only an earlier
-- (end) or later (attendance) event replaces it: two transactions' triggers
-- may run in another order than their events' seqs. An event without an
-- item counts under the item '' (as the report did when it read the log).
-- Rebuildable from events, as the backfill below does
-- (sqlstore.JourneyFactsFromEvents is the same in code). Creating the
-- trigger holds appends off until the backfill is done, so none is missed:
-- an upgrade's first worker start takes three reads of the whole log.

-- +goose Up
CREATE TABLE journey_items (
    journey_id uuid NOT NULL,
    intake_id  uuid NOT NULL,
    item_id    text NOT NULL,
    attended   boolean, -- NULL: no attendance recorded
    attended_seq bigint, -- the event attended came from
    completed  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (journey_id, item_id)
);
CREATE INDEX journey_items_intake_idx ON journey_items (intake_id);
CREATE TABLE journey_ends (
    journey_id uuid PRIMARY KEY,
    ended_at   timestamptz NOT NULL,
    ended_seq  bigint NOT NULL -- the event ended_at came from
);

-- +goose StatementBegin
CREATE FUNCTION keep_journey_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.type IN ('attendance.present', 'attendance.absent') THEN
        INSERT INTO journey_items (journey_id, intake_id, item_id, attended, attended_seq)
            VALUES (NEW.journey_id, NEW.intake_id, COALESCE(NEW.data->>'item', ''), NEW.type = 'attendance.present', NEW.seq)
            ON CONFLICT (journey_id, item_id) DO UPDATE SET attended = excluded.attended, attended_seq = excluded.attended_seq
            WHERE journey_items.attended_seq IS NULL OR journey_items.attended_seq < excluded.attended_seq;
    ELSIF NEW.type = 'checkpoint.completed' THEN
        INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
            VALUES (NEW.journey_id, NEW.intake_id, COALESCE(NEW.data->>'item', ''), true)
            ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = true;
    END IF;
    IF COALESCE(NEW.snapshot->>'outcome', '') <> '' THEN
        INSERT INTO journey_ends (journey_id, ended_at, ended_seq) VALUES (NEW.journey_id, NEW.occurred_at, NEW.seq)
            ON CONFLICT (journey_id) DO UPDATE SET ended_at = excluded.ended_at, ended_seq = excluded.ended_seq
            WHERE excluded.ended_seq < journey_ends.ended_seq;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER events_keep_journey_facts AFTER INSERT ON events
    FOR EACH ROW WHEN (NEW.journey_id IS NOT NULL) EXECUTE FUNCTION keep_journey_facts();

INSERT INTO journey_items (journey_id, intake_id, item_id, attended, attended_seq)
    SELECT journey_id, intake_id, item, type = 'attendance.present', seq FROM (
        SELECT journey_id, intake_id, type, seq, COALESCE(data->>'item', '') AS item,
            row_number() OVER (PARTITION BY journey_id, COALESCE(data->>'item', '') ORDER BY seq DESC) AS latest
        FROM events
        WHERE journey_id IS NOT NULL AND type IN ('attendance.present', 'attendance.absent')) AS a
    WHERE latest = 1;
INSERT INTO journey_items (journey_id, intake_id, item_id, completed)
    SELECT DISTINCT journey_id, intake_id, COALESCE(data->>'item', ''), true FROM events
    WHERE journey_id IS NOT NULL AND type = 'checkpoint.completed'
    ON CONFLICT (journey_id, item_id) DO UPDATE SET completed = true;
INSERT INTO journey_ends (journey_id, ended_at, ended_seq)
    SELECT journey_id, occurred_at, seq FROM (
        SELECT journey_id, occurred_at, seq, row_number() OVER (PARTITION BY journey_id ORDER BY seq) AS earliest
        FROM events
        WHERE journey_id IS NOT NULL AND COALESCE(snapshot->>'outcome', '') <> '') AS e
    WHERE earliest = 1;

-- +goose Down
DROP TRIGGER events_keep_journey_facts ON events;
DROP FUNCTION keep_journey_facts();
DROP TABLE journey_ends;
DROP TABLE journey_items;
