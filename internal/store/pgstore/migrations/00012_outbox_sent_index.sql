-- +goose NO TRANSACTION
-- The delivery policy counts each recipient's e-mails of the day
-- (store.SentEmails) before every delivery. This index finds their
-- messages sent that day without reading every message they were ever sent
-- (a coordinator's grow with every intake). It is built CONCURRENTLY,
-- outside a transaction, so that building it on a large outbox holds
-- neither deliveries nor records off; if the build fails it leaves an
-- invalid index: drop it (DROP INDEX CONCURRENTLY outbox_recipient_sent_idx)
-- and start the workers again.

-- +goose Up
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_recipient_sent_idx ON outbox (recipient_id, sent_at) WHERE status = 'sent';

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS outbox_recipient_sent_idx;
