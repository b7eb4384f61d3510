import type { WorkingDayCalendar } from '../calendar';
import { CaseEvent, standingEvents } from '../caseEvents';
import { caseState } from '../caseState';
import { enqueue, enqueueMany } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import { obligations } from '../obligations';
import type { Policy } from '../policy';
import type { StaffMember } from '../staff';
import { CaseLog, CaseRecord, IdempotencyConflictError, VersionConflictError } from '../storage/caseLog';
import type { Database } from '../storage/database';
import { ReminderStore } from '../storage/reminderStore';
import { CaseSnapshot, nextReminderAt, PlannedNotification, planSweep } from './plan';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';

/**
 * One sweep of the scheduler: reads the cases whose time has come, plans what they owe (pure, in
 * plan.ts), and queues it in the outbox, each notification under its dedupe key so that a sweep run
 * twice, or by two instances, or again after a crash, plans each once. An escalation is written to
 * the case log (`escalated`) in the same transaction as its card. The running server delivers.
 */
export interface SweepContext {
  db: Database;
  caseLog: CaseLog;
  store: ReminderStore;
  policy: Policy;
  calendar: WorkingDayCalendar;
  staff(): Promise<StaffMember[]>;
}

export interface SweepOptions {
  /** The scheduler's clock for this sweep. */
  now: Date;
  /** Print what would be sent; change nothing. */
  dryRun?: boolean;
  /** Who holds the sweep lease (an instance id). */
  holder?: string;
}

export interface SweepResult {
  /** What this sweep queued (with --dry-run: what it would queue). A notification already queued is not planned again. */
  planned: PlannedNotification[];
  casesRead: number;
  /** Set when the sweep did not run: another instance holds the lease. */
  skipped?: string;
}

/** What a reminder message carries in the outbox: the plan, with case references and ids, never a family's name. */
export const REMINDER_KIND = 'reminder';

/** The case as the planner reads it. */
export function snapshotOf(record: CaseRecord, policy: Policy, calendar: WorkingDayCalendar, today: LocalDate, snoozed?: ReadonlyMap<string, LocalDate>): CaseSnapshot & { version: number } {
  const escalated = new Set<string>();
  for (const e of standingEvents(record.events) as CaseEvent[]) if (e.type === 'escalated') escalated.add(e.data.obligation);
  return { caseId: record.caseId, reference: record.reference, version: record.version, state: caseState(record.events), obligations: obligations(record.events, policy, calendar, today), escalated, snoozed: snoozed ?? new Map() };
}

export async function sweepReminders(ctx: SweepContext, options: SweepOptions): Promise<SweepResult> {
  const { now } = options;
  const holder = options.holder ?? `sweep:${process.pid}`;
  let lease: Awaited<ReturnType<ReminderStore['takeLease']>> = { lastSweptAt: null, teamDigestOn: null };
  if (!options.dryRun) {
    lease = await ctx.store.takeLease(holder);
    if (!lease) return { planned: [], casesRead: 0, skipped: 'another sweep is running' };
  }
  let teamDigestPlanned: LocalDate | undefined;
  try {
    const today = londonDateOf(now);
    const working = isWithinWorkingHours(now, ctx.calendar, ctx.policy);
    // The weekly team digests read every open case, once, on the first working day of the week.
    const teamDigests = working && ctx.policy.reminders.teamDigest.enabled && isTeamDigestDay(today, ctx.calendar) && now >= digestInstant(today, ctx.policy) && lease.teamDigestOn !== today;
    const ids = teamDigests ? await ctx.store.openCases() : await ctx.store.dueCases(now);
    // Between digest times nothing is due: the sweep ends here, having read one index.
    if (ids.length === 0) return { planned: [], casesRead: 0 };
    const records = await ctx.caseLog.readForScheduler(ids);
    const snoozes = await ctx.store.snoozesOf(ids);
    const snapshots = records.map((r) => snapshotOf(r, ctx.policy, ctx.calendar, today, snoozes.get(r.caseId)));
    const plan = planSweep({ now, policy: ctx.policy, calendar: ctx.calendar, staff: await ctx.staff(), reachable: await ctx.store.reachableStaff(), cases: snapshots, includeTeamDigests: teamDigests });
    if (options.dryRun) return { planned: plan, casesRead: records.length };
    const planned = await queueAll(ctx, plan, records, snapshots, holder);
    if (teamDigests) teamDigestPlanned = today;
    // Each case's next time, from this sweep's instant (everything owed by now is planned).
    await ctx.store.setNext(snapshots.map((s) => ({ caseId: s.caseId, version: s.version, at: s.state.status === 'closed' ? null : nextReminderAt(s, now, ctx.calendar, ctx.policy) })));
    return { planned, casesRead: records.length };
  } finally {
    if (!options.dryRun) await ctx.store.releaseLease(holder, now, teamDigestPlanned);
  }
}

/**
 * Queues a sweep's plan: escalations one by one (each with its `escalated` event, in one
 * transaction), then every digest in a few statements. Returns what was newly queued. A case's
 * snapshot takes in the escalations written, so its next time is set from the case as it now is.
 */
async function queueAll(ctx: SweepContext, plan: PlannedNotification[], records: CaseRecord[], snapshots: Array<CaseSnapshot & { version: number }>, holder: string): Promise<PlannedNotification[]> {
  const byId = new Map(records.map((r) => [r.caseId, r]));
  const snapshotById = new Map(snapshots.map((s) => [s.caseId, s]));
  const planned: PlannedNotification[] = [];
  let written = 0;
  for (const n of plan) {
    if (n.type !== 'escalation') continue;
    // A long sweep keeps its lease: another instance may take it over only from a sweeper that died.
    if (++written % 200 === 0) await ctx.store.takeLease(holder);
    const item = n.items[0];
    const outcome = await queueEscalation(ctx, n, byId.get(item.caseId)!);
    if (outcome.record) {
      byId.set(item.caseId, outcome.record);
      const s = snapshotById.get(item.caseId)!;
      s.version = outcome.record.version;
      s.escalated = new Set([...s.escalated, item.obligationId]);
    }
    if (outcome.queued) planned.push(n);
  }
  const digests = plan.filter((n) => n.type !== 'escalation');
  const queued = await enqueueMany(ctx.db, digests.map((n) => ({ kind: REMINDER_KIND, recipient: { staffId: n.recipient }, payload: { ...n } as unknown as Record<string, unknown>, dedupeKey: n.dedupeKey })));
  planned.push(...digests.filter((n) => queued.has(n.dedupeKey)));
  return planned;
}

/** One escalation: the `escalated` event and its card in one transaction, or neither. The case as written, unless it changed meanwhile (the next sweep sees it again). */
async function queueEscalation(ctx: SweepContext, n: PlannedNotification, record: CaseRecord): Promise<{ queued: boolean; record?: CaseRecord }> {
  const item = n.items[0];
  let queued = false;
  try {
    // The escalation process starts on the case (seed 000/002) with the card that tells the manager, or neither.
    const written = await ctx.caseLog.append(record.caseId, record.version, [{ type: 'escalated', by: 'system', effectiveOn: n.day, data: { obligation: item.obligationId, to: n.recipient } }], {
      actor: 'scheduler',
      idempotencyKey: n.dedupeKey,
      previous: record,
      alsoInTransaction: async (tx) => {
        queued = (await enqueue(tx, { kind: REMINDER_KIND, recipient: { staffId: n.recipient }, caseId: record.caseId, payload: { ...n } as unknown as Record<string, unknown>, dedupeKey: n.dedupeKey })) !== null;
      },
    });
    return { queued: queued && !written.replayed, record: written.replayed ? undefined : written };
  } catch (e) {
    if (e instanceof VersionConflictError || e instanceof IdempotencyConflictError) return { queued: false };
    throw e;
  }
}
