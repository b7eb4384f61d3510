/**
 * TAF meetings booked in the workers' calendars (issue 9): each meeting the product books, where it
 * stands, and the calendar event it is; which case versions the booking pass has looked at; the
 * Graph change-notification subscriptions and calendar delta links that keep meetings in step.
 * Nothing here names a family: a meeting is a case id, an obligation, a time and an event id.
 */
export default {
  version: 7,
  name: 'taf meetings',
  sql: `
CREATE TABLE taf_meetings (
  id text PRIMARY KEY,                           -- the product's own id (a UUID)
  case_id text NOT NULL REFERENCES cases (id),
  obligation_id text NOT NULL,                   -- the obligation it meets: first-taf:<date>, taf-review:<date>
  kind text NOT NULL CHECK (kind IN ('first-taf', 'taf-review')),
  organiser text NOT NULL,                       -- staff id of the lead professional, in whose calendar it is
  calendar text NOT NULL CHECK (calendar IN ('outlook', 'local')),
  state text NOT NULL CHECK (state IN ('booking', 'booked', 'held', 'not-held', 'cancelled')),
  deadline date NOT NULL,                        -- the date it must be held by
  window_from date NOT NULL,
  window_to date NOT NULL,
  aim date NOT NULL,
  starts_at timestamptz,
  ends_at timestamptz,
  late boolean NOT NULL DEFAULT false,           -- booked after its deadline: nothing could be had in time
  conflicts integer NOT NULL DEFAULT 0,          -- people not free at the time booked (the least bad slot)
  transaction_id text NOT NULL UNIQUE,           -- Graph's transactionId: a retried create makes no second event
  event_id text,
  ical_uid text,
  change_key text,
  join_url text,
  web_link text,
  outcome_reason text,                           -- why it was not held, or cancelled
  outcome_asked_at timestamptz,                  -- when the organiser was asked (after its end) whether it was held
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One live meeting per obligation, whoever books it (two instances, a retried pass).
CREATE UNIQUE INDEX taf_meetings_live ON taf_meetings (case_id, obligation_id) WHERE state IN ('booking', 'booked');
CREATE INDEX taf_meetings_by_case ON taf_meetings (case_id, created_at);
CREATE INDEX taf_meetings_by_organiser ON taf_meetings (organiser, starts_at) WHERE state IN ('booking', 'booked');
CREATE INDEX taf_meetings_by_event ON taf_meetings (event_id) WHERE event_id IS NOT NULL;

-- The case version the booking pass last looked at: a case is looked at again only once it changed
-- (or something reset it, e.g. its meeting was cancelled in Outlook).
CREATE TABLE taf_booking_checks (
  case_id text PRIMARY KEY REFERENCES cases (id),
  checked_version integer NOT NULL,
  checked_on date NOT NULL
);

-- Graph change-notification subscriptions on workers' calendars.
CREATE TABLE graph_subscriptions (
  id text PRIMARY KEY,                           -- Graph's subscription id
  mailbox text NOT NULL UNIQUE,
  client_state text NOT NULL,                    -- the secret Graph echoes in each notification
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Each mailbox's calendar delta link: the reconciliation that catches what a notification missed.
CREATE TABLE calendar_sync (
  mailbox text PRIMARY KEY,
  delta_link text,
  window_start timestamptz,
  window_end timestamptz,
  synced_at timestamptz
);

INSERT INTO scheduler_runs (name) VALUES ('taf-booking') ON CONFLICT DO NOTHING;
`,
};
