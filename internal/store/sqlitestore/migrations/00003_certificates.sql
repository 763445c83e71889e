-- Completion certificates and the codes that verify them. One certificate
-- per journey; the code is what a printed certificate carries, so anyone
-- shown one can ask the programme to confirm it. person_id has no foreign
-- key: a certificate stays verifiable (as issued, without a name) after its
-- holder's personal data is erased.

-- +goose Up
CREATE TABLE certificates (
    code       TEXT PRIMARY KEY CHECK (length(code) = 10 AND code NOT GLOB '*[^2-9A-HJ-NP-Z]*'), -- no dash
    journey_id TEXT NOT NULL UNIQUE,
    person_id  TEXT NOT NULL,
    intake_id  TEXT NOT NULL REFERENCES intakes (id),
    issued_at  TEXT NOT NULL -- the date the certificate carries: when the journey completed
);

-- +goose Down
DROP TABLE certificates;
