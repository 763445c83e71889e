-- Who may come in: API tokens, sign-in links, web sessions, and the
-- answers kept for idempotency keys. Only hashes of secrets are stored.

-- name: InsertAPIToken
INSERT INTO api_tokens (id, person_id, role, name, token_hash, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)

-- name: FindAPIToken
-- The live token with the hash $1: unrevoked, and its person not erased
-- and still in its role. Erasure revokes the person's tokens; this also
-- refuses one inserted by a CreateAPIToken that checked the person just
-- before an erasure committed.
SELECT {{.APIToken}} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL
	AND person_id IN (SELECT id FROM people WHERE erased_at IS NULL AND people.role = api_tokens.role)

-- name: TouchAPIToken
UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)

-- name: APITokensOf
-- The person $1's tokens, or everyone's if $2 is true; newest first.
SELECT {{.APIToken}} FROM api_tokens WHERE $2 OR person_id = $1 ORDER BY created_at DESC, id

-- name: RevokeAPIToken
UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2

-- name: RevokeAPITokensOf
UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL

-- name: BlankAPITokenNames
UPDATE api_tokens SET name = '' WHERE person_id = $1

-- name: LockLivePerson
-- PostgreSQL only: the person's row lock queues concurrent sign-in links
-- for them; it is taken first, as erasure takes it before deleting their
-- links. (SQLite's single writer keeps the count and the insert from
-- being interleaved with another's.)
{{if .Postgres}}SELECT 1 FROM people WHERE id = $1 AND erased_at IS NULL FOR UPDATE{{end}}

-- name: DeleteExpiredSignInLinks
DELETE FROM sign_in_links WHERE expires_at <= $1

-- name: CountLiveSignInLinks
SELECT count(*) FROM sign_in_links WHERE person_id = $1 AND expires_at > $2

-- name: InsertSignInLink
INSERT INTO sign_in_links (token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4)

-- name: RedeemSignInLink
-- Takes the live link with the hash, once: a concurrent redemption that
-- deleted the row first makes this DELETE wait for it (PostgreSQL), then
-- find nothing.
DELETE FROM sign_in_links
WHERE token_hash = $1 AND expires_at > $2
  AND person_id IN (SELECT id FROM people WHERE erased_at IS NULL)
RETURNING person_id

-- name: DeleteSignInLinksOf
DELETE FROM sign_in_links WHERE person_id = $1

-- name: InsertWebSession
INSERT INTO web_sessions (id, token_hash, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)

-- name: FindWebSession
SELECT {{.WebSession}} FROM web_sessions s JOIN people p ON p.id = s.person_id
WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2 AND p.erased_at IS NULL

-- name: EndWebSession
UPDATE web_sessions SET ended_at = $1 WHERE token_hash = $2 AND ended_at IS NULL

-- name: WebSessionsOf
SELECT {{.WebSession}} FROM web_sessions s JOIN people p ON p.id = s.person_id
WHERE s.person_id = $1 AND s.ended_at IS NULL AND s.expires_at > $2 ORDER BY s.created_at DESC, s.id

-- name: EndWebSessionsOf
-- The person $1's sessions live at $2 end then.
UPDATE web_sessions SET ended_at = $2 WHERE person_id = $1 AND ended_at IS NULL AND expires_at > $2

-- name: GetIdempotencyRecord
SELECT {{.Idempotency}} FROM idempotency_keys WHERE principal_id = $1 AND key = $2

-- name: ClaimIdempotencyKey
-- Claims the key, taking over a claim left unanswered since before $6 or
-- any record from before $7. A concurrent claim of the same key makes
-- this wait for it (PostgreSQL); once it commits, the conflict is with its
-- row, whose created_at is too recent to take over.
INSERT INTO idempotency_keys AS k (principal_id, key, fingerprint, claim_token, created_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (principal_id, key) DO UPDATE SET fingerprint = excluded.fingerprint, claim_token = excluded.claim_token,
	created_at = excluded.created_at, status = 0, content_type = '', body = NULL
WHERE (k.status = 0 AND k.created_at < $6) OR k.created_at < $7

-- name: CompleteIdempotencyKey
UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3
WHERE principal_id = $4 AND key = $5 AND claim_token = $6 AND status = 0

-- name: ReleaseIdempotencyKey
DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND claim_token = $3 AND status = 0

-- name: ForgetIdempotencyRecords
DELETE FROM idempotency_keys WHERE created_at < $1

-- name: StoredAnswers
-- Every answer kept, for erasure to look for a person in.
SELECT {{.Idempotency}} FROM idempotency_keys WHERE body IS NOT NULL

-- name: DeleteIdempotencyRecordsOf
DELETE FROM idempotency_keys WHERE principal_id = $1

-- name: DeleteIdempotencyRecord
DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2
