-- A journey's projection carries its coaching checkpoints not yet
-- completed (store.EncodeCheckpoints: id, opens_at, due_at), so a coach's
-- inbox reads them from the store instead of asking every journey's
-- workflow. NULL means unknown: rows projected from snapshots recorded
-- before this column, whose inbox entries still come from the workflow.

-- +goose Up
ALTER TABLE journeys ADD COLUMN checkpoints TEXT;

-- +goose Down
ALTER TABLE journeys DROP COLUMN checkpoints;
