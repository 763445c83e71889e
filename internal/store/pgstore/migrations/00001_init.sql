-- The business record of Infuse Journeys (see package store).
-- Only people and notes hold personal data; everything else refers to people by ID.

-- +goose Up
CREATE TABLE people (
    id              uuid PRIMARY KEY,
    role            text NOT NULL CHECK (role IN ('participant', 'coach', 'coordinator')),
    given_name      text NOT NULL,
    family_name     text NOT NULL,
    email           text NOT NULL,
    -- store.EmailKey(email): folded in Go so both backends agree on what "the same address" means.
    email_key       text NOT NULL UNIQUE,
    local_authority text NOT NULL,
    theme           text NOT NULL,
    language        text NOT NULL CHECK (language IN ('', 'cy', 'en')),
    created_at      timestamptz NOT NULL
);
CREATE INDEX people_role_idx ON people (role, created_at);

CREATE TABLE intakes (
    id                uuid PRIMARY KEY,
    name              text NOT NULL,
    programme_id      text NOT NULL,
    programme_version integer NOT NULL,
    opens_at          timestamptz,
    closes_at         timestamptz,
    starts_on         timestamptz,
    capacity          integer NOT NULL CHECK (capacity >= 0),
    coordinator_id    uuid,
    -- status is a projection of the event log; created_status is where
    -- RebuildProjections starts before replaying intake status changes.
    status            text NOT NULL,
    created_status    text NOT NULL,
    created_at        timestamptz NOT NULL
);

-- The append-only domain event log. Rows are never updated or deleted.
CREATE TABLE events (
    seq           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key           text NOT NULL UNIQUE,
    intake_id     uuid NOT NULL REFERENCES intakes (id),
    journey_id    uuid, -- NULL for intake-level events
    type          text NOT NULL,
    occurred_at   timestamptz NOT NULL,
    -- json, not jsonb: the caller's (compacted) bytes come back unchanged.
    data          json,
    snapshot      jsonb,
    intake_status text,
    recorded_at   timestamptz NOT NULL
);
CREATE INDEX events_intake_idx ON events (intake_id, seq);
CREATE INDEX events_journey_idx ON events (journey_id, seq) WHERE journey_id IS NOT NULL;

-- Projection: the snapshot of each journey's latest event. Rebuildable from events.
CREATE TABLE journeys (
    journey_id    uuid PRIMARY KEY,
    intake_id     uuid NOT NULL REFERENCES intakes (id),
    person_id     uuid NOT NULL,
    coach_id      uuid,
    state         text NOT NULL,
    phase         text NOT NULL,
    next_due_item text NOT NULL,
    next_due_at   timestamptz,
    overdue_count integer NOT NULL,
    outcome       text NOT NULL,
    updated_seq   bigint NOT NULL
);
CREATE INDEX journeys_intake_idx ON journeys (intake_id);

-- Messages waiting to go out. Delivery fills status, attempts, last_error, sent_at.
CREATE TABLE outbox (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    event_seq    bigint NOT NULL REFERENCES events (seq), -- the event that queued it
    intake_id    uuid NOT NULL,
    journey_id   uuid,
    recipient_id uuid NOT NULL,
    role         text NOT NULL,
    template     text NOT NULL,
    item_id      text NOT NULL,
    channel      text NOT NULL,
    send_at      timestamptz NOT NULL,
    status       text NOT NULL CHECK (status IN ('queued', 'sent', 'failed')),
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text NOT NULL DEFAULT '',
    sent_at      timestamptz,
    created_at   timestamptz NOT NULL
);
CREATE INDEX outbox_due_idx ON outbox (status, send_at);
CREATE INDEX outbox_intake_idx ON outbox (intake_id, send_at);
CREATE INDEX outbox_journey_idx ON outbox (journey_id, send_at);
CREATE INDEX outbox_recipient_idx ON outbox (recipient_id, send_at);

CREATE TABLE notes (
    id         uuid PRIMARY KEY,
    author_id  uuid NOT NULL,
    journey_id uuid,
    body       text NOT NULL,
    created_at timestamptz NOT NULL
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
