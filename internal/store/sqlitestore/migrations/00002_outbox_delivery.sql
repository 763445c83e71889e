-- The outbox becomes deliverable: when the item a message is about happens
-- (for its text and calendar invite), the invite's revision and whether it
-- cancels, and the delivery state a delivery worker keeps (status, attempts,
-- last_error and sent_at are there since 00001).

-- +goose Up
ALTER TABLE outbox ADD COLUMN item_starts_at  TEXT;
ALTER TABLE outbox ADD COLUMN item_ends_at    TEXT;
ALTER TABLE outbox ADD COLUMN revision        INTEGER NOT NULL DEFAULT 0 CHECK (revision >= 0);
ALTER TABLE outbox ADD COLUMN cancels         INTEGER NOT NULL DEFAULT 0 CHECK (cancels IN (0, 1));
-- When a message held back after a temporary failure may be tried again.
ALTER TABLE outbox ADD COLUMN next_attempt_at TEXT;
-- The Message-ID header it was sent with.
ALTER TABLE outbox ADD COLUMN message_id      TEXT NOT NULL DEFAULT '';
-- DueMessages: queued messages in send order, and each recipient's queue.
CREATE INDEX outbox_queued_idx ON outbox (send_at, id) WHERE status = 'queued';
CREATE INDEX outbox_recipient_queued_idx ON outbox (recipient_id, send_at, id) WHERE status = 'queued';

-- +goose Down
DROP INDEX outbox_recipient_queued_idx;
DROP INDEX outbox_queued_idx;
ALTER TABLE outbox DROP COLUMN message_id;
ALTER TABLE outbox DROP COLUMN next_attempt_at;
ALTER TABLE outbox DROP COLUMN cancels;
ALTER TABLE outbox DROP COLUMN revision;
ALTER TABLE outbox DROP COLUMN item_ends_at;
ALTER TABLE outbox DROP COLUMN item_starts_at;
