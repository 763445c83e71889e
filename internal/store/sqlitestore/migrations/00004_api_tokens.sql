-- API tokens: how other systems sign in to the API. Only the SHA-256 of a
-- token is kept (hex); the token itself is shown once, when it is created.
-- A person's tokens go when the person is erased.

-- +goose Up
CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('coordinator', 'coach', 'participant')),
    name       TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

-- +goose Down
DROP TABLE api_tokens;
