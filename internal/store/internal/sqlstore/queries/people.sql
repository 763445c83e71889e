-- People, intakes and notes: the store's own records, outside the log.
--
-- Each query is written once for both databases. PostgreSQL reads $1, $2, …
-- as its parameters and SQLite's driver binds them by number too; each
-- backend encodes the arguments its own way (a time is a timestamptz in
-- one, TEXT in sqlstore.TimeLayout in the other). Where the two differ, a
-- query says so with {{if .Postgres}} … {{else}} … {{end}}. {{.Person}} and
-- the like are the column lists that sqlstore's Scan functions read.

-- name: InsertPerson
-- Adds a person unless the ID or the e-mail address is taken; nobody is
-- created erased.
INSERT INTO people ({{.Person}}, email_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, $10) ON CONFLICT DO NOTHING

-- name: GetPerson
SELECT {{.Person}} FROM people WHERE id = $1

-- name: FindPersonByEmail
-- $1 is the address's store.EmailKey.
SELECT {{.Person}} FROM people WHERE email_key = $1

-- name: ListPeople
-- $1 is the role, '' for everyone.
SELECT {{.Person}} FROM people WHERE $1 = '' OR role = $1 ORDER BY created_at, id

-- name: SetLanguage
UPDATE people SET language = $1 WHERE id = $2

-- name: InsertIntake
-- created_status keeps the status the intake began with, to which
-- RebuildProjections returns an intake whose events carry none.
INSERT INTO intakes ({{.Intake}}, created_status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $10) ON CONFLICT (id) DO NOTHING

-- name: GetIntake
SELECT {{.Intake}} FROM intakes WHERE id = $1

-- name: UpdateIntake
UPDATE intakes SET name = $1, capacity = $2 WHERE id = $3

-- name: ListIntakes
-- Those with a start date first, in its order.
SELECT {{.Intake}} FROM intakes ORDER BY starts_on IS NULL, starts_on, created_at, id

-- name: InsertNote
INSERT INTO notes ({{.Note}}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING

-- name: GetNote
SELECT {{.Note}} FROM notes WHERE id = $1

-- name: DeleteNote
DELETE FROM notes WHERE id = $1

-- name: NotesOfJourney
SELECT {{.Note}} FROM notes WHERE journey_id = $1 ORDER BY created_at, id
