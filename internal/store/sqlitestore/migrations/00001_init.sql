-- The business record of Infuse Journeys (see package store).
-- Only people and notes hold personal data; everything else refers to people by ID.
-- UUIDs are TEXT in canonical form; times are TEXT in UTC with microseconds
-- ("2006-01-02T15:04:05.000000Z"), so they sort as they compare; JSON is TEXT.

-- +goose Up
CREATE TABLE people (
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
CREATE INDEX people_role_idx ON people (role, created_at);

CREATE TABLE intakes (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    programme_id      TEXT NOT NULL,
    programme_version INTEGER NOT NULL,
    opens_at          TEXT,
    closes_at         TEXT,
    starts_on         TEXT,
    capacity          INTEGER NOT NULL CHECK (capacity >= 0),
    coordinator_id    TEXT,
    -- status is a projection of the event log; created_status is where
    -- RebuildProjections starts before replaying intake status changes.
    status            TEXT NOT NULL,
    created_status    TEXT NOT NULL,
    created_at        TEXT NOT NULL
);

-- The append-only domain event log. Rows are never updated or deleted.
CREATE TABLE events (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    key           TEXT NOT NULL UNIQUE,
    intake_id     TEXT NOT NULL REFERENCES intakes (id),
    journey_id    TEXT, -- NULL for intake-level events
    type          TEXT NOT NULL,
    occurred_at   TEXT NOT NULL,
    data          TEXT CHECK (data IS NULL OR json_valid(data)),
    snapshot      TEXT CHECK (snapshot IS NULL OR json_valid(snapshot)),
    intake_status TEXT,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX events_intake_idx ON events (intake_id, seq);
CREATE INDEX events_journey_idx ON events (journey_id, seq) WHERE journey_id IS NOT NULL;

-- Projection: the snapshot of each journey's latest event. Rebuildable from events.
CREATE TABLE journeys (
    journey_id    TEXT PRIMARY KEY,
    intake_id     TEXT NOT NULL REFERENCES intakes (id),
    person_id     TEXT NOT NULL,
    coach_id      TEXT,
    state         TEXT NOT NULL,
    phase         TEXT NOT NULL,
    next_due_item TEXT NOT NULL,
    next_due_at   TEXT,
    overdue_count INTEGER NOT NULL,
    outcome       TEXT NOT NULL,
    updated_seq   INTEGER NOT NULL
);
CREATE INDEX journeys_intake_idx ON journeys (intake_id);

-- Messages waiting to go out. Delivery fills status, attempts, last_error, sent_at.
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE,
    event_seq    INTEGER NOT NULL REFERENCES events (seq), -- the event that queued it
    intake_id    TEXT NOT NULL,
    journey_id   TEXT,
    recipient_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    template     TEXT NOT NULL,
    item_id      TEXT NOT NULL,
    channel      TEXT NOT NULL,
    send_at      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    sent_at      TEXT,
    created_at   TEXT NOT NULL
);
CREATE INDEX outbox_due_idx ON outbox (status, send_at);
CREATE INDEX outbox_intake_idx ON outbox (intake_id, send_at);
CREATE INDEX outbox_journey_idx ON outbox (journey_id, send_at);
CREATE INDEX outbox_recipient_idx ON outbox (recipient_id, send_at);

CREATE TABLE notes (
    id         TEXT PRIMARY KEY,
    author_id  TEXT NOT NULL,
    journey_id TEXT,
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX notes_journey_idx ON notes (journey_id);
CREATE INDEX notes_author_idx ON notes (author_id);

-- +goose Down
DROP TABLE notes;
DROP TABLE outbox;
DROP TABLE journeys;
DROP TABLE events;
DROP TABLE intakes;
DROP TABLE people;
