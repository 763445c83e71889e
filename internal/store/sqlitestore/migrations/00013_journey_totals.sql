-- Each journey's sessions attended and checkpoints completed, summed from
-- journey_items as they change, so that the funders' outcomes file joins
-- one row per journey instead of grouping the intake's items on every
-- read. The triggers add the change each row of journey_items makes,
-- whoever makes it (the events triggers, a rebuild, a fence's reset), so
-- the totals are always journey_items summed; they add rather than count
-- again, as PostgreSQL's must, and only for a row whose counts change.
-- Nothing may write journey_items with INSERT OR REPLACE: with recursive
-- triggers off (SQLite's default) its delete fires no delete trigger, and
-- the replaced row's counts would stay in the total.

-- +goose Up
CREATE TABLE journey_totals (
    journey_id TEXT PRIMARY KEY,
    attended   INTEGER NOT NULL DEFAULT 0,
    completed  INTEGER NOT NULL DEFAULT 0
);

-- +goose StatementBegin
CREATE TRIGGER journey_items_total_insert AFTER INSERT ON journey_items
WHEN COALESCE(NEW.attended, 0) <> 0 OR NEW.completed <> 0
BEGIN
    INSERT INTO journey_totals (journey_id, attended, completed)
        VALUES (NEW.journey_id, COALESCE(NEW.attended, 0), NEW.completed)
        ON CONFLICT (journey_id) DO UPDATE
        SET attended = attended + excluded.attended, completed = completed + excluded.completed;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journey_items_total_update AFTER UPDATE OF attended, completed ON journey_items
WHEN COALESCE(NEW.attended, 0) <> COALESCE(OLD.attended, 0) OR NEW.completed <> OLD.completed
BEGIN
    INSERT INTO journey_totals (journey_id, attended, completed)
        VALUES (NEW.journey_id, COALESCE(NEW.attended, 0) - COALESCE(OLD.attended, 0), NEW.completed - OLD.completed)
        ON CONFLICT (journey_id) DO UPDATE
        SET attended = attended + excluded.attended, completed = completed + excluded.completed;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER journey_items_total_delete AFTER DELETE ON journey_items
WHEN COALESCE(OLD.attended, 0) <> 0 OR OLD.completed <> 0
BEGIN
    INSERT INTO journey_totals (journey_id, attended, completed)
        VALUES (OLD.journey_id, -COALESCE(OLD.attended, 0), -OLD.completed)
        ON CONFLICT (journey_id) DO UPDATE
        SET attended = attended + excluded.attended, completed = completed + excluded.completed;
END;
-- +goose StatementEnd

INSERT INTO journey_totals (journey_id, attended, completed)
    SELECT journey_id, SUM(COALESCE(attended, 0)), SUM(completed) FROM journey_items GROUP BY journey_id;

-- +goose Down
DROP TRIGGER journey_items_total_delete;
DROP TRIGGER journey_items_total_update;
DROP TRIGGER journey_items_total_insert;
DROP TABLE journey_totals;
