/**
 * Reminders and escalation: a message no longer owed is cancelled (not failed, not sent); staff
 * absence gets a start; each case keeps when its next reminder or escalation falls, so a sweep
 * between digests reads only the cases whose time has come; snoozed reminders.
 */
export default {
  version: 5,
  name: 'reminders',
  sql: `
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check CHECK (status IN ('pending', 'waiting', 'delivered', 'failed', 'cancelled'));
ALTER TABLE outbox ADD COLUMN cancelled_at timestamptz;

ALTER TABLE staff ADD COLUMN absent_from date;       -- on leave from this day (with absent_until): NULL = from any earlier day

-- When each case next matters to the scheduler (a digest it appears in, or an escalation).
-- '-infinity': work it out at the next sweep (the case was just opened, imported or changed: the
-- case log sets it in the same statement as the change); 'infinity': nothing will fall due.
CREATE TABLE case_reminders (
  case_id text PRIMARY KEY REFERENCES cases (id),
  next_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_reminders_due ON case_reminders (next_at);
INSERT INTO case_reminders (case_id, next_at) SELECT id, '-infinity' FROM cases;

-- A reminder a person put off to a later working day (never past the deadline).
CREATE TABLE reminder_snoozes (
  case_id text NOT NULL REFERENCES cases (id),
  obligation_id text NOT NULL,
  staff_id text NOT NULL,
  until date NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (case_id, obligation_id, staff_id)
);

-- One sweep at a time across every instance: a sweep takes the lease, and another instance may
-- take it over only once it has expired (a sweeper killed mid-sweep holds nobody up for long).
CREATE TABLE scheduler_runs (
  name text PRIMARY KEY,
  locked_by text,
  locked_until timestamptz,
  last_swept_at timestamptz,
  team_digest_on date                              -- the last day the weekly team digests were planned
);
INSERT INTO scheduler_runs (name) VALUES ('reminders');
`,
};
