-- The delivery policy counts each recipient's e-mails of the day
-- (store.SentEmails) before every delivery. This index finds their
-- messages sent that day without reading every message they were ever sent
-- (a coordinator's grow with every intake).

-- +goose Up
CREATE INDEX outbox_recipient_sent_idx ON outbox (recipient_id, sent_at) WHERE status = 'sent';

-- +goose Down
DROP INDEX outbox_recipient_sent_idx;
