/**
 * The outbox becomes the one delivery pipeline for every proactive message (cards now; reminders,
 * escalations and e-mails later): who a message is for, where it stands, who holds it and until
 * when, and what happened. See src/delivery/outbox.ts for how the columns are used.
 */
export default {
  version: 3,
  name: 'delivery pipeline',
  sql: `
ALTER TABLE outbox
  ADD COLUMN recipient_staff_id text,            -- a person: their personal chat (or mailbox)
  ADD COLUMN conversation_id text,               -- a group chat or channel, not a person
  ADD COLUMN status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'waiting', 'delivered', 'failed')),
  ADD COLUMN claimed_by text,                    -- the claim (sender and batch) that holds it, or last held it
  ADD COLUMN lease_until timestamptz,            -- another sender may take it over after this
  ADD COLUMN delivered_at timestamptz,
  ADD COLUMN delivered_activity_id text,
  ADD COLUMN send_started_at timestamptz,        -- set just before the send: still set with no outcome, the send is in doubt
  ADD COLUMN dedupe_key text UNIQUE;             -- a scheduler planning the same message twice gets one row

-- sent_at and failed_at are kept in step with the status for readers that know only them.
UPDATE outbox SET status = 'delivered', delivered_at = sent_at WHERE sent_at IS NOT NULL;
UPDATE outbox SET status = 'failed' WHERE sent_at IS NULL AND failed_at IS NOT NULL;

DROP INDEX outbox_pending;
-- The claim: pending rows, oldest first, each the oldest undelivered one of its recipient.
CREATE INDEX outbox_claimable ON outbox (id) WHERE status = 'pending';
CREATE INDEX outbox_open_by_staff ON outbox (recipient_staff_id, id) WHERE status IN ('pending', 'waiting');
CREATE INDEX outbox_open_by_conversation ON outbox (conversation_id, id) WHERE status IN ('pending', 'waiting');
CREATE INDEX outbox_failed ON outbox (id) WHERE status = 'failed';

-- After a 429 every sender to that destination holds off until the window has passed, on every instance.
CREATE TABLE delivery_holds (
  destination text PRIMARY KEY,                  -- e.g. teams
  until timestamptz NOT NULL
);
`,
};
