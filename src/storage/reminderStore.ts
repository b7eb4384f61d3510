import { LocalDate } from '../localDate';
import { createConversationStore } from './conversations';
import { Database } from './database';

/**
 * What the scheduler keeps between sweeps: the lease that lets one sweep run at a time across
 * instances, when each case next matters (`case_reminders`), and the reminders people snoozed.
 */
export type ReminderStore = ReturnType<typeof createReminderStore>;

/** How long a sweep may hold the lease before another instance may take it over. */
export const SWEEP_LEASE_MS = 2 * 60_000;

export function createReminderStore(db: Database) {
  return {
    /** Takes the sweep lease for `holder`, or null while another holds it; with when the last sweep ran and the last team digest day. */
    async takeLease(holder: string, leaseMs = SWEEP_LEASE_MS): Promise<{ lastSweptAt: Date | null; teamDigestOn: LocalDate | null } | null> {
      const [row] = await db.query<{ last_swept_at: string | null; team_digest_on: string | null }>(
        `UPDATE scheduler_runs SET locked_by = $1, locked_until = now() + ($2::int * interval '1 millisecond')
          WHERE name = 'reminders' AND (locked_until IS NULL OR locked_until < now() OR locked_by = $1)
          RETURNING last_swept_at, team_digest_on::text`,
        [holder, leaseMs],
      );
      if (!row) return null;
      return { lastSweptAt: row.last_swept_at ? new Date(row.last_swept_at) : null, teamDigestOn: (row.team_digest_on as LocalDate | null) ?? null };
    },
    /** Gives the lease back, recording the sweep's instant (and the team digest day, when it planned them). */
    async releaseLease(holder: string, sweptAt: Date | null, teamDigestOn?: LocalDate): Promise<void> {
      await db.query(
        `UPDATE scheduler_runs SET locked_by = NULL, locked_until = NULL,
                last_swept_at = CASE WHEN $2::timestamptz IS NULL THEN last_swept_at ELSE GREATEST(COALESCE(last_swept_at, $2::timestamptz), $2::timestamptz) END,
                team_digest_on = COALESCE($3::date, team_digest_on)
          WHERE name = 'reminders' AND locked_by = $1`,
        [holder, sweptAt?.toISOString() ?? null, teamDigestOn ?? null],
      );
    },
    /** The cases whose next reminder or escalation falls at or before `now` (or that changed since the last sweep). */
    async dueCases(now: Date): Promise<string[]> {
      return (await db.query<{ case_id: string }>('SELECT case_id FROM case_reminders WHERE next_at <= $1::timestamptz ORDER BY case_id', [now.toISOString()])).map((r) => r.case_id);
    },
    /** Every case not closed (the weekly team digest reads them all). */
    async openCases(): Promise<string[]> {
      return (await db.query<{ id: string }>(`SELECT id FROM cases WHERE status <> 'closed' ORDER BY id`)).map((r) => r.id);
    },
    /**
     * Sets when each case next matters, unless it changed after it was read (its version moved on:
     * the change set it to be worked out again, and that stands). `null`: nothing will fall due.
     */
    async setNext(next: ReadonlyArray<{ caseId: string; version: number; at: Date | null }>): Promise<void> {
      for (let from = 0; from < next.length; from += 5000) {
        const rows = next.slice(from, from + 5000).map((n) => ({ case_id: n.caseId, version: n.version, next_at: n.at ? n.at.toISOString() : 'infinity' }));
        await db.query(
          `UPDATE case_reminders r SET next_at = n.next_at::timestamptz, updated_at = now()
             FROM jsonb_to_recordset($1::jsonb) AS n(case_id text, version int, next_at text), cases c
            WHERE r.case_id = n.case_id AND c.id = n.case_id AND c.version = n.version`,
          [JSON.stringify(rows)],
        );
      }
    },
    /**
     * The snoozes standing on these cases, per case: obligation id to the day the snooze ends; one
     * person's, or with no person the latest anyone set (the sweep's view).
     */
    async snoozesOf(caseIds: readonly string[], staffId?: string): Promise<Map<string, Map<string, LocalDate>>> {
      const out = new Map<string, Map<string, LocalDate>>();
      if (caseIds.length === 0) return out;
      const rows = await db.query<{ case_id: string; obligation_id: string; until: string }>(
        `SELECT case_id, obligation_id, max(until)::text AS until FROM reminder_snoozes
          WHERE case_id = ANY($1::text[]) AND ($2::text IS NULL OR staff_id = $2) GROUP BY case_id, obligation_id`,
        [caseIds, staffId ?? null],
      );
      for (const r of rows) {
        let m = out.get(r.case_id);
        if (!m) out.set(r.case_id, (m = new Map()));
        m.set(r.obligation_id, r.until as LocalDate);
      }
      return out;
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
