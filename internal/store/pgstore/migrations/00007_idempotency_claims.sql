-- A claimed idempotency key belongs to the request that claimed it: only
-- the holder of its claim token may answer or release it, so a request a
-- retry took over (it ran past the stale time) cannot overwrite the
-- retry's answer or drop its claim. Answers are kept for a day, not for
-- ever: the sweep deletes by created_at.

-- +goose Up
ALTER TABLE idempotency_keys ADD COLUMN claim_token text NOT NULL DEFAULT '';
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP INDEX idempotency_keys_created;
ALTER TABLE idempotency_keys DROP COLUMN claim_token;
