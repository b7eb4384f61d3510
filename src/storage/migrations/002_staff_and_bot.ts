/** The staff directory, the bot's conversation references and installs, and the outbox of messages to send. */
export default {
  version: 2,
  name: 'staff directory, bot conversations, outbox',
  sql: `
CREATE TABLE staff (
  id text PRIMARY KEY,            -- Entra ID object id
  name text NOT NULL,
  email text NOT NULL UNIQUE,
  role text NOT NULL CHECK (role IN ('worker', 'manager', 'business-support', 'administrator')),
  team text NOT NULL,
  line_manager text REFERENCES staff (id),
  capacity_points integer NOT NULL DEFAULT 0 CHECK (capacity_points >= 0),
  active boolean NOT NULL DEFAULT true,
  absent_until date,               -- on leave up to and including this day: a duty manager covers
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_team ON staff (team);

-- Where the bot can reach a person or a chat proactively (reminders, cards to a manager), shared by every instance.
CREATE TABLE conversation_references (
  conversation_id text PRIMARY KEY,
  staff_id text,                   -- set for a personal chat
  conversation_type text NOT NULL, -- personal, groupChat, channel
  reference jsonb NOT NULL,
  welcomed_at timestamptz,         -- the welcome card goes once per install
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX conversation_references_staff ON conversation_references (staff_id);

-- Messages to send (e-mails, Teams notifications), written in the same transaction as the change that causes them.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL,
  case_id text,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  not_before timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  failed_at timestamptz,
  last_error text
);
CREATE INDEX outbox_pending ON outbox (not_before) WHERE sent_at IS NULL AND failed_at IS NULL;

-- Card messages the bot posted, so that a decision can update every copy in place.
CREATE TABLE posted_cards (
  activity_id text NOT NULL,
  conversation_id text NOT NULL,
  case_id text NOT NULL,
  purpose text NOT NULL,           -- e.g. caf-authorisation
  subject_id text NOT NULL,        -- e.g. the CAF submission event id
  posted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, activity_id)
);
CREATE INDEX posted_cards_subject ON posted_cards (purpose, subject_id);
`,
};
