/**
 * The daily digests without writing every case's time every day: each case keeps, beside the next
 * instant it owes something (an escalation), the first working day whose digest lists it (listed
 * on a day, it is listed every working day after until it changes); the scheduler keeps the day
 * whose digests it planned, so that the sweeps after them that day read only the cases whose
 * time has come.
 */
export default {
  version: 8,
  name: 'reminder digest day',
  sql: `
-- next_at now holds the next escalation (or '-infinity': work it out at the next sweep); digest_on
-- the first digest day listing the case. A row from before has digest_on NULL and a next_at that
-- counted its digests too: it is read when that comes, and written in this form.
ALTER TABLE case_reminders ADD COLUMN digest_on date;
-- The case's version when its times were last reset by a change: a sweep writes the times it
-- worked out at a version only while the case is still at it (a change meanwhile stands).
ALTER TABLE case_reminders ADD COLUMN version integer;
UPDATE case_reminders r SET version = c.version FROM cases c WHERE c.id = r.case_id;
CREATE INDEX case_reminders_digest ON case_reminders (digest_on);
-- The last working day whose daily digests a sweep planned; the reminder settings the cases' times
-- were worked out under (when they change, every case's times are worked out again).
ALTER TABLE scheduler_runs ADD COLUMN digest_on date;
ALTER TABLE scheduler_runs ADD COLUMN times_key text;
`,
};
