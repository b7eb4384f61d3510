import { inChunks as chunked } from '../concurrency';
import { LocalDate } from '../localDate';
import { CachedSnapshot, snapshotText, SnapshotValidity } from '../reminders/snapshotCache';
import { createConversationStore } from './conversations';
import { Database } from './database';

/**
 * What the scheduler keeps between sweeps: the lease that lets one sweep run at a time across
 * instances, when each case next matters (`case_reminders`), what it worked out of each case
 * (`reminder_snapshots`), and the reminders people snoozed.
 */
export type ReminderStore = ReturnType<typeof createReminderStore>;

/** How long a sweep may hold the lease before another instance may take it over. */
export const SWEEP_LEASE_MS = 2 * 60_000;

/** Cases a statement of the sweep carries: few statements for a whole caseload, each of a few megabytes at most. */
const CASES_PER_STATEMENT = 5000;
/** Statements of one sweep at once on a server (PGlite runs one at a time anyway); the rest of the pool stays free for people. */
const STATEMENTS_AT_ONCE = 3;

/** `fn` over `items` a chunk of cases at a time, a few chunks at once (src/concurrency.ts), the results in the order of the items. */
export const inChunks = <T, R>(items: readonly T[], fn: (chunk: T[]) => Promise<R[]>, size = CASES_PER_STATEMENT, atOnce = STATEMENTS_AT_ONCE): Promise<R[]> => chunked(items, fn, size, atOnce);

/**
 * Runs a statement again when the server chose it to break a deadlock (40P01): two sweepers at
 * once (a lease run out) may update the same cases' rows in different orders. The statements
 * retried here write what they write whatever the order, and write it once.
 */
async function againOnDeadlock<T>(statement: () => Promise<T>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await statement();
    } catch (e) {
      if ((e as { code?: string }).code !== '40P01' || i >= tries) throw e;
    }
  }
}

/** What a sweep worked out of a case read at `version`, to keep for the sweeps after. */
export interface SnapshotToKeep {
  caseId: string;
  version: number;
  validity: SnapshotValidity;
  snapshot: CachedSnapshot;
}

/** When a case next matters (src/reminders/nextReminder.ts `reminderTimesOf`), from the sweep that read it at `version`; with `keep`, the snapshot to keep of it. */
export interface NextTime {
  caseId: string;
  version: number;
  /** Its next escalation; null: none will fall due. */
  at: Date | null;
  /** The first working day whose digest lists it; null: none will. */
  digestOn: LocalDate | null;
  keep?: { validity: SnapshotValidity; snapshot: CachedSnapshot };
}

/** What the sweeps before planned: when the last ran, and the last days whose team digests and daily digests were planned. */
export interface SweepRecord {
  lastSweptAt: Date | null;
  teamDigestOn: LocalDate | null;
  digestOn: LocalDate | null;
  /** The reminder settings the cases' times were worked out under. */
  timesKey: string | null;
}
type SweepRow = { last_swept_at: string | null; team_digest_on: string | null; digest_on: string | null; times_key: string | null };
const SWEEP_RECORD = `last_swept_at, team_digest_on::text, digest_on::text, times_key`;
const sweepRecordOf = (row: SweepRow): SweepRecord => ({
  lastSweptAt: row.last_swept_at ? new Date(row.last_swept_at) : null,
  teamDigestOn: (row.team_digest_on as LocalDate | null) ?? null,
  digestOn: (row.digest_on as LocalDate | null) ?? null,
  timesKey: row.times_key ?? null,
});

/**
 * A case a sweep reads: its reference and version; `settled` when its times were worked out since
 * it last changed and its next escalation is still to come; and what was kept of it, when that
 * holds for the sweep (at the case's version, under the sweep's rules, on its day).
 */
export interface DueCase {
  caseId: string;
  reference: string;
  version: number;
  settled: boolean;
  kept?: { validity: SnapshotValidity; text: string };
}

type SnoozeRow = { case_id: string; obligation_id: string; until: string };
function snoozesByCase(rows: readonly SnoozeRow[]): Map<string, Map<string, LocalDate>> {
  const out = new Map<string, Map<string, LocalDate>>();
  for (const r of rows) {
    let m = out.get(r.case_id);
    if (!m) out.set(r.case_id, (m = new Map()));
    m.set(r.obligation_id, r.until as LocalDate);
  }
  return out;
}

export function createReminderStore(db: Database) {
  return {
    /** Takes the sweep lease for `holder`, or null while another holds it; with what the sweeps before planned. */
    async takeLease(holder: string, leaseMs = SWEEP_LEASE_MS): Promise<SweepRecord | null> {
      const [row] = await db.query<SweepRow>(
        `UPDATE scheduler_runs SET locked_by = $1, locked_until = now() + ($2::int * interval '1 millisecond')
          WHERE name = 'reminders' AND (locked_until IS NULL OR locked_until < now() OR locked_by = $1)
          RETURNING ${SWEEP_RECORD}`,
        [holder, leaseMs],
      );
      return row ? sweepRecordOf(row) : null;
    },
    /** What the sweeps before planned, without taking the lease (a dry run reads it). */
    async lastSweeps(): Promise<SweepRecord> {
      const [row] = await db.query<SweepRow>(`SELECT ${SWEEP_RECORD} FROM scheduler_runs WHERE name = 'reminders'`);
      return row ? sweepRecordOf(row) : { lastSweptAt: null, teamDigestOn: null, digestOn: null, timesKey: null };
    },
    /**
     * Whether cases' times worked out under `timesKey` may be kept: the scheduler's times are kept
     * under it, or under none yet (a new system: they are then kept under it).
     */
    async timesKeptUnder(timesKey: string): Promise<boolean> {
      const [row] = await db.query<{ times_key: string }>(`UPDATE scheduler_runs SET times_key = COALESCE(times_key, $1) WHERE name = 'reminders' RETURNING times_key`, [timesKey]);
      return row?.times_key === timesKey;
    },
    /**
     * Sets every case to be worked out again at the next sweep, for the cases' times were worked
     * out under other reminder settings than `timesKey` (a digest time or an escalation moved);
     * in one transaction with the new key. By the lease's holder.
     */
    async timesUnder(holder: string, timesKey: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query(`UPDATE case_reminders SET next_at = '-infinity', updated_at = now() WHERE next_at <> '-infinity'`);
        await tx.query(`UPDATE scheduler_runs SET times_key = $2 WHERE name = 'reminders' AND locked_by = $1`, [holder, timesKey]);
      });
    },
    /** Gives the lease back, recording the sweep's instant (and the day whose digests, or team digests, it planned). */
    async releaseLease(holder: string, sweptAt: Date | null, planned: { teamDigestOn?: LocalDate; digestOn?: LocalDate } = {}): Promise<void> {
      await db.query(
        `UPDATE scheduler_runs SET locked_by = NULL, locked_until = NULL,
                last_swept_at = CASE WHEN $2::timestamptz IS NULL THEN last_swept_at ELSE GREATEST(COALESCE(last_swept_at, $2::timestamptz), $2::timestamptz) END,
                team_digest_on = COALESCE($3::date, team_digest_on),
                digest_on = GREATEST(digest_on, $4::date)
          WHERE name = 'reminders' AND locked_by = $1`,
        [holder, sweptAt?.toISOString() ?? null, planned.teamDigestOn ?? null, planned.digestOn ?? null],
      );
    },
    /**
     * The cases a sweep at `now` reads, in the order of their ids, each with what was kept of it
     * if that holds on `day` under `rules`: those whose next escalation falls at or before `now`,
     * or that changed since the last sweep; with `digestDay`, also those its digest lists; with
     * `all`, every case not closed (the weekly team digests). One statement: the server finds
     * the cases and what was kept of them together.
     */
    async casesToSweep(q: { now: Date; day: LocalDate; rules: string; digestDay?: LocalDate; all?: boolean }): Promise<DueCase[]> {
      const params: unknown[] = [q.now.toISOString(), q.rules, q.day];
      let from = `case_reminders r JOIN cases c ON c.id = r.case_id`;
      let where: string;
      if (q.all) {
        from = `cases c LEFT JOIN case_reminders r ON r.case_id = c.id`;
        where = `c.status <> 'closed'`;
      } else if (q.digestDay !== undefined) {
        where = `r.next_at <= $1::timestamptz OR r.digest_on <= $${params.push(q.digestDay)}::date`;
      } else {
        // Between digests: few cases or none, found by the index first (a plan for the whole
        // table would read every snapshot to find none), then read by id.
        const ids = await db.query<{ case_id: string }>(`SELECT case_id FROM case_reminders WHERE next_at <= $1::timestamptz`, [params[0]]);
        if (ids.length === 0) return [];
        where = `c.id = ANY($${params.push(ids.map((r) => r.case_id))}::text[])`;
      }
      const rows = await db.query<{ case_id: string; reference: string; version: number; settled: boolean | null; valid_from: string | null; valid_until: string | null; snapshot: string | null }>(
        `SELECT c.id AS case_id, c.reference, c.version, r.next_at > $1::timestamptz AS settled, s.valid_from, s.valid_until, s.snapshot
           FROM ${from}
           LEFT JOIN reminder_snapshots s ON s.case_id = c.id AND s.version = c.version AND s.rules = $2
                AND (s.valid_from IS NULL OR s.valid_from <= $3::date) AND (s.valid_until IS NULL OR s.valid_until > $3::date)
          WHERE ${where}
          ORDER BY c.id COLLATE "C"`,
        params,
      );
      return rows.map((r) => {
        const due: DueCase = { caseId: r.case_id, reference: r.reference, version: r.version, settled: r.settled === true };
        if (r.snapshot !== null) due.kept = { validity: { from: r.valid_from as LocalDate | null, until: r.valid_until as LocalDate | null }, text: r.snapshot };
        return due;
      });
    },
    /**
     * Keeps what a sweep worked out of these cases, each at the version it read, unless the case
     * has moved on since (what is kept would then never be used). The snapshots go as one text of
     * lines, not inside a JSON document: the server then only splits it (parsing them out of JSON
     * cost it more than the rest of the statement).
     */
    async keep(kept: readonly SnapshotToKeep[], rules: string): Promise<void> {
      const sql = `INSERT INTO reminder_snapshots (case_id, version, rules, valid_from, valid_until, snapshot)
        SELECT u.case_id, u.version, $6, u.valid_from, u.valid_until, s.snapshot
          FROM unnest($1::text[], $2::int[], $3::date[], $4::date[]) WITH ORDINALITY AS u(case_id, version, valid_from, valid_until, line)
          JOIN string_to_table($5::text, E'\\n') WITH ORDINALITY AS s(snapshot, line) ON s.line = u.line
          JOIN cases c ON c.id = u.case_id AND c.version = u.version
        ON CONFLICT (case_id) DO UPDATE SET version = EXCLUDED.version, rules = EXCLUDED.rules, valid_from = EXCLUDED.valid_from,
               valid_until = EXCLUDED.valid_until, snapshot = EXCLUDED.snapshot, updated_at = now()
         WHERE reminder_snapshots.version <= EXCLUDED.version`;
      await inChunks(kept, (chunk) => {
        const params = [
          chunk.map((k) => k.caseId),
          chunk.map((k) => k.version),
          chunk.map((k) => k.validity.from),
          chunk.map((k) => k.validity.until),
          // JSON has no line breaks of its own: one line a case.
          chunk.map((k) => snapshotText(k.snapshot)).join('\n'),
          rules,
        ];
        return againOnDeadlock(() => db.query(sql, params));
      });
    },
    /**
     * Sets when each case next matters, and keeps the snapshots given, unless the case changed
     * after it was read (its version moved on: the change set it to be worked out again, and that
     * stands). `null`: nothing will fall due. One statement a chunk of cases; the snapshots go as
     * `keep` sends them.
     */
    async setNext(next: readonly NextTime[], rules?: string): Promise<void> {
      const sql = `WITH n AS (SELECT u.case_id, u.version, u.next_at, u.digest_on, u.valid_from, u.valid_until, NULLIF(s.snapshot, '') AS snapshot
                     FROM unnest($1::text[], $2::int[], $3::timestamptz[], $4::date[], $5::date[], $6::date[]) WITH ORDINALITY AS u(case_id, version, next_at, digest_on, valid_from, valid_until, line)
                     LEFT JOIN string_to_table($7::text, E'\\n') WITH ORDINALITY AS s(snapshot, line) ON s.line = u.line
                     JOIN cases c ON c.id = u.case_id AND c.version = u.version),
             -- Checked on the row itself, so that an append committed while this ran (it sets the row's version) stands.
             timed AS (UPDATE case_reminders r SET next_at = n.next_at, digest_on = n.digest_on, updated_at = now() FROM n WHERE r.case_id = n.case_id AND r.version = n.version)
        INSERT INTO reminder_snapshots (case_id, version, rules, valid_from, valid_until, snapshot)
        SELECT case_id, version, $8, valid_from, valid_until, snapshot FROM n WHERE snapshot IS NOT NULL
        ON CONFLICT (case_id) DO UPDATE SET version = EXCLUDED.version, rules = EXCLUDED.rules, valid_from = EXCLUDED.valid_from,
               valid_until = EXCLUDED.valid_until, snapshot = EXCLUDED.snapshot, updated_at = now()
         WHERE reminder_snapshots.version <= EXCLUDED.version`;
      if (rules === undefined && next.some((n) => n.keep)) throw new Error('A snapshot is kept with the rules it was worked out under.');
      await inChunks(next, (chunk) => {
        const params = [
          chunk.map((n) => n.caseId),
          chunk.map((n) => n.version),
          chunk.map((n) => (n.at ? n.at.toISOString() : 'infinity')),
          chunk.map((n) => n.digestOn ?? null),
          chunk.map((n) => n.keep?.validity.from ?? null),
          chunk.map((n) => n.keep?.validity.until ?? null),
          // JSON has no line breaks of its own: one line a case, empty where nothing is kept.
          chunk.map((n) => (n.keep ? snapshotText(n.keep.snapshot) : '')).join('\n'),
          rules ?? null,
        ];
        return againOnDeadlock(() => db.query(sql, params));
      });
    },
    /** One person's snoozes standing on these cases, per case: obligation id to the day the snooze ends. */
    async snoozesOf(caseIds: readonly string[], staffId: string): Promise<Map<string, Map<string, LocalDate>>> {
      if (caseIds.length === 0) return new Map();
      return snoozesByCase(
        await db.query<SnoozeRow>(
          `SELECT case_id, obligation_id, max(until)::text AS until FROM reminder_snoozes
            WHERE case_id = ANY($1::text[]) AND staff_id = $2 GROUP BY case_id, obligation_id`,
          [caseIds, staffId],
        ),
      );
    },
    /**
     * Every snooze still hiding an item on `day` (one that ends on or before it hides nothing:
     * `isSnoozedOn`), per case, the latest anyone set: the sweep's view. A few a person, not one a
     * case, so a sweep reads them all rather than sending the server its cases.
     */
    async standingSnoozes(day: LocalDate): Promise<Map<string, Map<string, LocalDate>>> {
      return snoozesByCase(
        await db.query<SnoozeRow>(`SELECT case_id, obligation_id, max(until)::text AS until FROM reminder_snoozes WHERE until > $1::date GROUP BY case_id, obligation_id`, [day]),
      );
    },
    /** Puts off one reminder of a case for a person until a working day (checked by the caller); the case is worked out again at the next sweep. */
    async snooze(s: { caseId: string; obligationId: string; staffId: string; until: LocalDate }): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO reminder_snoozes (case_id, obligation_id, staff_id, until) VALUES ($1, $2, $3, $4)
           ON CONFLICT (case_id, obligation_id, staff_id) DO UPDATE SET until = $4, created_at = now()`,
          [s.caseId, s.obligationId, s.staffId, s.until],
        );
        await tx.query(`UPDATE case_reminders SET next_at = '-infinity', updated_at = now() WHERE case_id = $1`, [s.caseId]);
      });
    },
    /** Staff ids that have a personal chat with the bot (can be reached in Teams). */
    reachableStaff: () => createConversationStore(db).staffWithPersonalChat(),
  };
}
