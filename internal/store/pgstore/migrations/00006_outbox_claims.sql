-- Any number of deliverers share the outbox: a deliverer claims the due
-- messages it is about to send (store.ClaimDue), stamping them with its name
-- and the time its lease runs out, and the claim keeps every other deliverer
-- off that message's recipient until the deliverer marks the messages or
-- hands them back, or the lease runs out (the deliverer died).

-- +goose Up
ALTER TABLE outbox
    -- The deliverer holding the claim; '' when nobody does.
    ADD COLUMN claimed_by    text NOT NULL DEFAULT '',
    -- When its lease runs out; NULL when nobody holds a claim.
    ADD COLUMN claimed_until timestamptz;
-- ClaimDue: is anyone serving this recipient now? Only claimed queued rows,
-- so the index stays as small as the messages in flight.
CREATE INDEX outbox_claimed_idx ON outbox (recipient_id, claimed_until)
    WHERE status = 'queued' AND claimed_until IS NOT NULL;

-- +goose Down
DROP INDEX outbox_claimed_idx;
ALTER TABLE outbox
    DROP COLUMN claimed_until,
    DROP COLUMN claimed_by;
