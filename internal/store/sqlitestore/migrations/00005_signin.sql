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
-- person; the CHECK makes sure an erased row holds nothing personal and
-- that everyone else still has a key to be found by.
--
-- SQLite cannot drop NOT NULL from a column, so people is rebuilt the way
-- https://sqlite.org/lang_altertable.html#otheralter describes. That needs
-- foreign keys off (dropping the old table would otherwise cascade to
-- api_tokens), which SQLite only allows outside a transaction: hence NO
-- TRANSACTION, and a transaction of our own around the rebuild.

-- +goose NO TRANSACTION
-- +goose Up
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
CREATE TABLE people_new (
    id              TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('participant', 'coach', 'coordinator')),
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    email           TEXT NOT NULL,
    -- store.EmailKey(email): folded in Go (SQLite's lower() is ASCII-only). NULL once erased.
    email_key       TEXT UNIQUE,
    local_authority TEXT NOT NULL,
    theme           TEXT NOT NULL,
    language        TEXT NOT NULL CHECK (language IN ('', 'cy', 'en')),
    created_at      TEXT NOT NULL,
    erased_at       TEXT,
    CHECK (CASE WHEN erased_at IS NULL THEN email_key IS NOT NULL
        ELSE given_name = '' AND family_name = '' AND email = '' AND email_key IS NULL END)
);
INSERT INTO people_new (id, role, given_name, family_name, email, email_key, local_authority, theme, language, created_at)
    SELECT id, role, given_name, family_name, email, email_key, local_authority, theme, language, created_at FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE INDEX people_role_idx ON people (role, created_at);

-- JourneysOfPerson, JourneysOfCoach.
CREATE INDEX journeys_person_idx ON journeys (person_id);
CREATE INDEX journeys_coach_idx ON journeys (coach_id) WHERE coach_id IS NOT NULL;

CREATE TABLE sign_in_links (
    token_hash TEXT PRIMARY KEY CHECK (length(token_hash) = 64),
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL CHECK (expires_at > created_at)
);
CREATE INDEX sign_in_links_person ON sign_in_links (person_id);
-- Expired links are swept when new ones are made.
CREATE INDEX sign_in_links_expiry ON sign_in_links (expires_at);

CREATE TABLE web_sessions (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL CHECK (expires_at > created_at),
    ended_at   TEXT -- signed out (or the person erased)
);
CREATE INDEX web_sessions_person ON web_sessions (person_id);

-- One row per request made with an Idempotency-Key, per principal (the
-- person the API acts for). status 0 means the first request is still
-- being handled; then status, content_type and body are its answer.
-- principal_id has no foreign key: the record is the API's memory of a
-- request it was sent, not a fact about the person.
CREATE TABLE idempotency_keys (
    principal_id TEXT NOT NULL,
    key          TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    status       INTEGER NOT NULL DEFAULT 0 CHECK (status = 0 OR status BETWEEN 100 AND 599),
    content_type TEXT NOT NULL DEFAULT '',
    body         BLOB,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (principal_id, key)
) WITHOUT ROWID;
COMMIT;
PRAGMA foreign_keys = ON;

-- +goose Down
PRAGMA foreign_keys = OFF;
BEGIN IMMEDIATE;
DROP TABLE idempotency_keys;
DROP TABLE web_sessions;
DROP TABLE sign_in_links;
DROP INDEX journeys_coach_idx;
DROP INDEX journeys_person_idx;
CREATE TABLE people_old (
    id              TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('participant', 'coach', 'coordinator')),
    given_name      TEXT NOT NULL,
    family_name     TEXT NOT NULL,
    email           TEXT NOT NULL,
    -- store.EmailKey(email): folded in Go (SQLite's lower() is ASCII-only).
    email_key       TEXT NOT NULL UNIQUE,
    local_authority TEXT NOT NULL,
    theme           TEXT NOT NULL,
    language        TEXT NOT NULL CHECK (language IN ('', 'cy', 'en')),
    created_at      TEXT NOT NULL
);
-- NOT NULL again needs a key for erased people; one that no address folds to.
INSERT INTO people_old (id, role, given_name, family_name, email, email_key, local_authority, theme, language, created_at)
    SELECT id, role, given_name, family_name, email, COALESCE(email_key, 'erased:' || id),
           local_authority, theme, language, created_at FROM people;
DROP TABLE people;
ALTER TABLE people_old RENAME TO people;
CREATE INDEX people_role_idx ON people (role, created_at);
COMMIT;
PRAGMA foreign_keys = ON;
