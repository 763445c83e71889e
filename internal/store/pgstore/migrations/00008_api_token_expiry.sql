-- An API token may have an end (expires_at, NULL for none), and records
-- when it was last used (last_used_at, at most once a minute), so that
-- coordinators can see which tokens are still in use and retire the rest.

-- +goose Up
ALTER TABLE api_tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE api_tokens ADD COLUMN last_used_at timestamptz;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN last_used_at;
ALTER TABLE api_tokens DROP COLUMN expires_at;
