/** The case event log, its read model, and the audit log. */
export default {
  version: 1,
  name: 'case log',
  sql: `
CREATE TABLE cases (
  id text PRIMARY KEY,
  reference text NOT NULL UNIQUE,
  version integer NOT NULL CHECK (version >= 0),
  -- The read model below is derived from the events and updated in the same transaction as each append.
  lead_professional text,
  manager text,
  caseload_points integer NOT NULL DEFAULT 0,
  status text NOT NULL DEFAULT 'open',
  allocated_on date,
  closed_on date,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cases_lead_professional ON cases (lead_professional);
CREATE INDEX cases_manager ON cases (manager);

CREATE TABLE case_events (
  id text PRIMARY KEY,
  case_id text NOT NULL REFERENCES cases (id),
  sequence integer NOT NULL CHECK (sequence >= 1),
  type text NOT NULL,
  by_staff text NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  effective_on date NOT NULL,
  data jsonb NOT NULL,
  idempotency_key text UNIQUE,
  UNIQUE (case_id, sequence)
);

-- Append-only: an event is never edited or deleted; a correction is a new event.
CREATE FUNCTION case_events_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'case_events is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER case_events_append_only BEFORE UPDATE OR DELETE ON case_events
  FOR EACH ROW EXECUTE FUNCTION case_events_are_append_only();

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  case_id text,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_case ON audit_log (case_id, at);
`,
};
