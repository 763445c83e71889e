-- The outbox: the messages Record queues, and their delivery (see
-- claim.go and outbox.go). A time is compared as a time in both
-- databases: SQLite stores it as TEXT in a layout that sorts as it
-- compares.

-- name: QueueMessage
-- Adds the message unless its key is queued already.
INSERT INTO outbox
	(key, event_seq, intake_id, journey_id, recipient_id, role, template, item_id,
	 item_starts_at, item_ends_at, revision, cancels, channel, send_at, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) ON CONFLICT (key) DO NOTHING

-- name: ListMessages
-- $1, $2, $3 (intake, journey, recipient) NULL and $4 (status) '' match
-- every message; $5 is the limit, NULL (PostgreSQL) or -1 (SQLite) for none.
SELECT {{.Message}} FROM outbox
WHERE ({{.Typed 1 "uuid"}} IS NULL OR intake_id = $1) AND ({{.Typed 2 "uuid"}} IS NULL OR journey_id = $2)
  AND ({{.Typed 3 "uuid"}} IS NULL OR recipient_id = $3) AND ($4 = '' OR status = $4)
ORDER BY send_at, id LIMIT $5

-- name: SentEmails
-- $1 is the recipient, [$2, $3) the window. It names the recipient
-- outright, so that the outbox's recipient index finds their rows.
SELECT COUNT(DISTINCT message_id) FROM outbox
WHERE recipient_id = $1 AND status = 'sent' AND sent_at >= $2 AND sent_at < $3

-- name: DueMessages
-- What may be sent at $1, oldest first, at most $2: queued, its SendAt and
-- next attempt come, and no earlier queued message of its recipient
-- waiting for a retry.
SELECT {{.Message}} FROM outbox o WHERE {{.DueAt}}
ORDER BY o.send_at, o.id LIMIT $2

-- name: ClaimCandidates
-- (id, recipient_id, claimed_by), oldest first, of what a claim at $1 may
-- take: every due message of the recipients of the oldest $2 due
-- messages, leaving out the recipients someone is serving (any of whose
-- queued messages is claimed with a lease running past $1).
WITH due AS (
	SELECT o.id, o.recipient_id, o.send_at, o.claimed_by FROM outbox o
	WHERE {{.DueAt}}
	  AND NOT EXISTS (SELECT 1 FROM outbox c
		WHERE c.recipient_id = o.recipient_id AND c.status = 'queued' AND c.claimed_until > $1))
SELECT id, recipient_id, claimed_by FROM due
WHERE recipient_id IN (SELECT recipient_id FROM due ORDER BY send_at, id LIMIT $2)
ORDER BY send_at, id

-- name: LockClaims
-- PostgreSQL only (SQLite's single writer keeps every other claim out):
-- of the rows $1, those still queued, due at $2 and unclaimed (or their
-- lease run out) that no other transaction holds. It skips the rows
-- another claim has locked rather than waiting for it, and reads a row
-- that changed since the candidates were read as it is now.
{{if .Postgres}}SELECT id FROM outbox
WHERE id = ANY($1) AND status = 'queued' AND send_at <= $2
  AND (next_attempt_at IS NULL OR next_attempt_at <= $2) AND (claimed_until IS NULL OR claimed_until <= $2)
FOR UPDATE SKIP LOCKED{{end}}

-- name: StampClaims
-- Claims the rows $3 (a list) for $1 until $2.
UPDATE outbox SET claimed_by = $1, claimed_until = $2 WHERE {{.InList "id" 3}}
RETURNING {{.Claimed}}

-- name: ReleaseClaims
-- Ends $1's claims on the messages with the keys $2 (a list).
UPDATE outbox SET claimed_by = '', claimed_until = NULL WHERE claimed_by = $1 AND {{.InList "key" 2}}

-- name: MessageState
-- What Update.State returns of the message with the key.
SELECT status, claimed_by FROM outbox WHERE key = $1

-- name: MarkSent
UPDATE outbox SET status = 'sent', sent_at = $1, message_id = $2, next_attempt_at = NULL,
	claimed_by = '', claimed_until = NULL
WHERE key = $3 AND status IN ('queued', 'failed')

-- name: MarkRetry
UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $1, last_error = $2,
	claimed_by = '', claimed_until = NULL
WHERE key = $3 AND status = 'queued' AND claimed_by IN ('', $4)

-- name: MarkFailed
UPDATE outbox SET status = 'failed', attempts = attempts + 1, next_attempt_at = NULL, last_error = $1,
	claimed_by = '', claimed_until = NULL
WHERE key = $2 AND status = 'queued' AND claimed_by IN ('', $3)

-- name: DeferMessage
-- Always updates a queued row it may change, even one whose send_at stays,
-- so that the claim ends either way.
UPDATE outbox SET send_at = CASE WHEN send_at > $1 THEN send_at ELSE $1 END, claimed_by = '', claimed_until = NULL
WHERE key = $2 AND status = 'queued' AND claimed_by IN ('', $3)

-- name: FailMessagesTo
-- Erasure: the queued messages to the person $1 will never be sent.
UPDATE outbox SET status = 'failed', next_attempt_at = NULL, last_error = $2
WHERE recipient_id = $1 AND status = 'queued'

-- name: OutboxCounts
SELECT status, count(*) FROM outbox GROUP BY status ORDER BY status

-- name: OldestDue
-- The send_at of the oldest queued message due at $1, whether or not it
-- is waiting for a retry; NULL if none is.
SELECT min(send_at) FROM outbox WHERE status = 'queued' AND send_at <= $1
