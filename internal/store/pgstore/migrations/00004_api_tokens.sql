-- API tokens: how other systems sign in to the API. Only the SHA-256 of a
-- token is kept (hex); the token itself is shown once, when it is created.
-- A person's tokens go when the person is erased.

-- +goose Up
CREATE TABLE api_tokens (
    id         uuid PRIMARY KEY,
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('coordinator', 'coach', 'participant')),
    name       text NOT NULL,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

-- +goose Down
DROP TABLE api_tokens;
