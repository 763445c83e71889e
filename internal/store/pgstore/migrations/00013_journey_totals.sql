-- Each journey's sessions attended and checkpoints completed, summed from
-- journey_items as they change, so that the funders' outcomes file joins
-- one row per journey instead of grouping the intake's items on every
-- read (about half of that query's time at 10,000 journeys). The triggers
-- add the change each row of journey_items makes, whoever makes it (the
-- events trigger, a rebuild, a fence's reset), so the totals are always
-- journey_items summed. They add rather than count again: two
-- transactions changing one journey's items at once would each count
-- without the other's row, and the last to commit would win; an increment
-- waits for the other's row lock and adds to what it committed. Creating
-- the trigger holds journey_items' writers off until the backfill is done.
-- A change that bypasses row triggers (TRUNCATE, a hand edit) leaves the
-- totals wrong until the projections are rebuilt, which starts them anew.

-- +goose Up
CREATE TABLE journey_totals (
    journey_id uuid PRIMARY KEY,
    attended   integer NOT NULL DEFAULT 0,
    completed  integer NOT NULL DEFAULT 0
);

-- +goose StatementBegin
CREATE FUNCTION keep_journey_totals() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    journey uuid;
    attended integer := 0;
    completed integer := 0;
BEGIN
    IF TG_OP <> 'INSERT' THEN
        journey := OLD.journey_id;
        attended := attended - (OLD.attended IS TRUE)::integer;
        completed := completed - OLD.completed::integer;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        journey := NEW.journey_id;
        attended := attended + (NEW.attended IS TRUE)::integer;
        completed := completed + NEW.completed::integer;
    END IF;
    IF attended <> 0 OR completed <> 0 THEN
        INSERT INTO journey_totals AS t (journey_id, attended, completed) VALUES (journey, attended, completed)
            ON CONFLICT (journey_id) DO UPDATE
            SET attended = t.attended + excluded.attended, completed = t.completed + excluded.completed;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER journey_items_keep_totals AFTER INSERT OR UPDATE OR DELETE ON journey_items
    FOR EACH ROW EXECUTE FUNCTION keep_journey_totals();

INSERT INTO journey_totals (journey_id, attended, completed)
    SELECT journey_id, count(*) FILTER (WHERE attended), count(*) FILTER (WHERE completed)
    FROM journey_items GROUP BY journey_id;

-- +goose Down
DROP TRIGGER journey_items_keep_totals ON journey_items;
DROP FUNCTION keep_journey_totals();
DROP TABLE journey_totals;
