-- Certificates, erasure's changes to a person, and the operators' figures.

-- name: InsertCertificate
-- Adds the certificate unless its journey has one or its code is taken.
INSERT INTO certificates ({{.Certificate}}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING

-- name: CertificateOf
SELECT {{.Certificate}} FROM certificates WHERE journey_id = $1

-- name: CertificateByCode
-- $1 is the code in its stored form (store.NormalizeCertificateCode).
SELECT {{.Certificate}} FROM certificates WHERE code = $1

-- name: PersonAddress
-- Erasure's first step: the person's address, their row locked
-- (PostgreSQL) until the erasure commits.
SELECT email FROM people WHERE id = $1{{if .Postgres}} FOR UPDATE{{end}}

-- name: BlankPerson
UPDATE people SET given_name = '', family_name = '', email = '', email_key = NULL,
	erased_at = COALESCE(erased_at, $2) WHERE id = $1 RETURNING erased_at

-- name: DeleteNotesOf
-- The notes the person $1 wrote, and those on their journeys.
DELETE FROM notes WHERE author_id = $1
	OR journey_id IN (SELECT journey_id FROM journeys WHERE person_id = $1)

-- name: JourneyCounts
SELECT phase, state, count(*) FROM journeys GROUP BY phase, state ORDER BY phase, state

-- name: OverdueCheckpoints
-- The checkpoints ($3 is their items' prefix), on journeys that have not
-- ended, that their journey recorded overdue ($1) and their coach has not
-- completed ($2) since.
SELECT count(*) FROM (
	SELECT DISTINCT o.journey_id, o.data->>'item'
	FROM events o JOIN journeys j ON j.journey_id = o.journey_id AND j.outcome = ''
	WHERE o.type = $1 AND o.data->>'item' LIKE $3 || '%'
	  AND NOT EXISTS (SELECT 1 FROM events c
		WHERE c.journey_id = o.journey_id AND c.type = $2 AND c.data->>'item' = o.data->>'item')) overdue
