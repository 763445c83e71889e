-- Sign-in by e-mailed link, browser sessions, the answers the API keeps
-- for Idempotency-Key retries, and erasure of a person (UK GDPR).
--
-- Links and sessions keep only the SHA-256 of their secret (hex), like
-- api_tokens: a copy of the database signs nobody in. A link is deleted
-- when it is used, so a row is a link that may still work.
--
-- An erased person keeps their row (role, local authority and theme still
-- count for the funder; events and certificates refer to the ID) with
-- names and e-mail address blanked. email_key becomes NULL for them, which
-- UNIQUE lets any number of rows share, so their address is free for a new
-- person; people_erased makes sure an erased row holds nothing personal
-- and that everyone else still has a key to be found by.

-- +goose Up
ALTER TABLE people
    ADD COLUMN erased_at timestamptz,
    ALTER COLUMN email_key DROP NOT NULL,
    ADD CONSTRAINT people_erased CHECK (CASE WHEN erased_at IS NULL THEN email_key IS NOT NULL
        ELSE given_name = '' AND family_name = '' AND email = '' AND email_key IS NULL END);

-- JourneysOfPerson, JourneysOfCoach.
CREATE INDEX journeys_person_idx ON journeys (person_id);
CREATE INDEX journeys_coach_idx ON journeys (coach_id) WHERE coach_id IS NOT NULL;

CREATE TABLE sign_in_links (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX sign_in_links_person ON sign_in_links (person_id);
-- Expired links are swept when new ones are made.
CREATE INDEX sign_in_links_expiry ON sign_in_links (expires_at);

CREATE TABLE web_sessions (
    id         uuid PRIMARY KEY,
    token_hash text NOT NULL UNIQUE CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    person_id  uuid NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL CHECK (expires_at > created_at),
    ended_at   timestamptz -- signed out (or the person erased)
);
CREATE INDEX web_sessions_person ON web_sessions (person_id);

-- One row per request made with an Idempotency-Key, per principal (the
-- person the API acts for). status 0 means the first request is still
-- being handled; then status, content_type and body are its answer.
-- principal_id has no foreign key: the record is the API's memory of a
-- request it was sent, not a fact about the person.
CREATE TABLE idempotency_keys (
    principal_id uuid NOT NULL,
    key          text NOT NULL,
    fingerprint  text NOT NULL,
    status       integer NOT NULL DEFAULT 0 CHECK (status = 0 OR status BETWEEN 100 AND 599),
    content_type text NOT NULL DEFAULT '',
    body         bytea,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (principal_id, key)
);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE web_sessions;
DROP TABLE sign_in_links;
DROP INDEX journeys_coach_idx;
DROP INDEX journeys_person_idx;
ALTER TABLE people DROP CONSTRAINT people_erased;
-- NOT NULL again needs a key for erased people; one that no address folds to.
UPDATE people SET email_key = 'erased:' || id WHERE email_key IS NULL;
ALTER TABLE people
    ALTER COLUMN email_key SET NOT NULL,
    DROP COLUMN erased_at;
