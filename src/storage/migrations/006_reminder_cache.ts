/**
 * What the reminders sweep keeps of each case between sweeps (src/reminders/snapshotCache.ts), so
 * that a morning sweep reads one row a case, not every event of every case due. Staff ids, dates,
 * kinds and ids only: never a family's or a child's name or circumstances.
 */
export default {
  version: 6,
  name: 'reminder cache',
  sql: `
-- A case as the planner reads it, worked out at a version of the case: used only while the case is
-- still at that version, under the same rules, on a sweep day from valid_from until valid_until.
CREATE TABLE reminder_snapshots (
  case_id text PRIMARY KEY REFERENCES cases (id),
  version integer NOT NULL,                -- the case's version it was worked out at
  rules text NOT NULL,                     -- the timescales, calendar and folds it was worked out under
  valid_from date,                         -- the sweep days it holds for: NULL = any earlier day
  valid_until date,                        -- exclusive; NULL = no end
  snapshot text NOT NULL,                  -- JSON, read and written whole: as text it costs half what jsonb does
  updated_at timestamptz NOT NULL DEFAULT now()
);
`,
};
