-- Completion certificates and the codes that verify them. One certificate
-- per journey; the code is what a printed certificate carries, so anyone
-- shown one can ask the programme to confirm it. person_id has no foreign
-- key: a certificate stays verifiable (as issued, without a name) after its
-- holder's personal data is erased.

-- +goose Up
CREATE TABLE certificates (
    code       text PRIMARY KEY CHECK (code ~ '^[2-9A-HJ-NP-Z]{10}$'), -- store.NormalizeCertificateCode form, no dash
    journey_id uuid NOT NULL UNIQUE,
    person_id  uuid NOT NULL,
    intake_id  uuid NOT NULL REFERENCES intakes (id),
    issued_at  timestamptz NOT NULL -- the date the certificate carries: when the journey completed
);

-- +goose Down
DROP TABLE certificates;
