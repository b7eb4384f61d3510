import type { WorkingDayCalendar } from '../calendar';
import { CaseEvent, NewCaseEvent, standingEvents } from '../caseEvents';
import { caseState } from '../caseState';
import { enqueue, enqueueMany } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import { obligations } from '../obligations';
import type { Policy } from '../policy';
import type { StaffMember } from '../staff';
import { CaseLog, CaseRecord, createCaseLog, IdempotencyConflictError, VersionConflictError } from '../storage/caseLog';
import type { Database } from '../storage/database';
import { DueCase, inChunks, NextTime, ReminderStore, SnapshotToKeep } from '../storage/reminderStore';
import { ReminderTimes, reminderTimesOf } from './nextReminder';
import { CaseSnapshot, PlannedNotification, planSweep } from './plan';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';
import { reminderPayload } from './reminderPayload';
import { CachedSnapshot, cachedSnapshotOf, SnapshotValidity, snapshotFromCache, snapshotRulesOf, validityOf } from './snapshotCache';

/**
 * One sweep of the scheduler: reads the cases whose time has come, plans what they owe (pure, in
 * plan.ts), and queues it in the outbox, each notification under its dedupe key so that a sweep run
 * twice, or by two instances, or again after a crash, plans each once. An escalation is written to
 * the case log (`escalated`) in the same transaction as its card. The running server delivers.
 * A case is read from what an earlier sweep kept of it while that still holds
 * (src/reminders/snapshotCache.ts), from its events otherwise, and then kept for the next sweep.
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
  /** Of the cases read, those worked out from their events (nothing kept of them held). */
  casesFolded: number;
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
  // A dry run takes no lease, but reads what the sweeps before planned, so that it shows what a sweep would send now.
  const before = options.dryRun ? await ctx.store.lastSweeps() : await ctx.store.takeLease(holder);
  if (!before) return { planned: [], casesRead: 0, casesFolded: 0, skipped: 'another sweep is running' };
  const planned: { digestOn?: LocalDate; teamDigestOn?: LocalDate } = {};
  try {
    const today = londonDateOf(now);
    const digestTime = isWithinWorkingHours(now, ctx.calendar, ctx.policy) && now >= digestInstant(today, ctx.policy);
    // The day's digests, once: by the first sweep from the digest time (later, if the server was down then).
    const digests = digestTime && before.digestOn !== today;
    // The weekly team digests read every open case, once, on the first working day of the week.
    const teamDigests = digestTime && ctx.policy.reminders.teamDigest.enabled && isTeamDigestDay(today, ctx.calendar) && before.teamDigestOn !== today;
    const due = teamDigests ? await ctx.store.openCases() : await ctx.store.dueCases(now, digests ? today : undefined);
    const done = () => {
      if (digests) planned.digestOn = today;
      if (teamDigests) planned.teamDigestOn = today;
    };
    // Between digest times nothing is due: the sweep ends here, having read one index.
    if (due.length === 0) {
      done();
      return { planned: [], casesRead: 0, casesFolded: 0 };
    }
    const rules = snapshotRulesOf(ctx.policy, ctx.calendar);
    const cases = await readCases(ctx, due.map((d) => d.caseId), today, rules, !options.dryRun);
    const snapshots = cases.map((c) => c.snapshot);
    const read = { casesRead: cases.length, casesFolded: cases.filter((c) => c.folded).length };
    const plan = planSweep({ now, policy: ctx.policy, calendar: ctx.calendar, staff: await ctx.staff(), reachable: await ctx.store.reachableStaff(), cases: snapshots, includeDigests: digests, includeTeamDigests: teamDigests });
    if (options.dryRun) return { planned: plan, ...read };
    // The digests are written while the escalations are, and while each case's next time is worked out.
    const queuing = queueDigests(ctx, plan);
    let queued: Set<string>;
    let next: NextTime[];
    try {
      queued = await queueEscalations(ctx, plan, cases, holder);
      next = nextTimes(cases, due, now, today, ctx);
    } finally {
      await queuing.catch(() => undefined);
    }
    for (const key of await queuing) queued.add(key);
    // Only once all is queued: a sweep cut short leaves its cases due, to be planned again (once, by their dedupe keys).
    await ctx.store.setNext(next, rules);
    done();
    return { planned: plan.filter((n) => queued.has(n.dedupeKey)), ...read };
  } finally {
    if (!options.dryRun) await ctx.store.releaseLease(holder, now, planned);
  }
}

/**
 * When each case read next matters, from this sweep's instant (everything owed by now is planned),
 * with what to keep of it: only where that differs from what the case has, so that the many cases
 * in every morning's digests are not written again every morning. A case this sweep escalated, or
 * that changed since it was last worked out, is always written.
 */
function nextTimes(cases: readonly SweptCase[], due: readonly DueCase[], now: Date, today: LocalDate, ctx: SweepContext): NextTime[] {
  const had = new Map(due.map((d) => [d.caseId, d]));
  const out: NextTime[] = [];
  for (const { snapshot: s, validity, toKeep, escalated } of cases) {
    const times = reminderTimesOf(s, now, ctx.calendar, ctx.policy);
    const before = had.get(s.caseId);
    if (!escalated && before?.known && sameTimes(before, times, today)) continue;
    out.push({ caseId: s.caseId, version: s.version, ...times, ...(toKeep ? { keep: { validity, snapshot: toKeep } } : {}) });
  }
  return out;
}

/** Whether a case's times say the same to every sweep from `today` on: two digest days up to today do (the case is listed from each on). */
function sameTimes(a: ReminderTimes, b: ReminderTimes, today: LocalDate): boolean {
  if ((a.at?.getTime() ?? null) !== (b.at?.getTime() ?? null)) return false;
  if (a.digestOn === b.digestOn) return true;
  return a.digestOn !== null && b.digestOn !== null && a.digestOn <= today && b.digestOn <= today;
}

/** A case as a sweep reads it, and what to keep of it for the sweeps after. */
interface SweptCase {
  snapshot: CaseSnapshot & { version: number };
  /** The sweep days what is kept of it holds for. */
  validity: SnapshotValidity;
  /** Worked out from its events (nothing kept held). */
  folded: boolean;
  /** Escalated by this sweep: at a new version, its times to be written whatever they are. */
  escalated?: true;
  /** What to keep of it with its next time: set when this sweep escalated it (what was kept before is of its version before). */
  toKeep?: CachedSnapshot;
}

/**
 * The cases, in the order given, as the planner reads them on `today`: from what was kept of each
 * where that still holds, otherwise from all its events, folded, and (with `keep`) kept. A few
 * thousand cases a statement, each chunk worked out while the server reads the next, so that all
 * the events are never held at once. What is kept holds whatever the sweep then plans, so it is
 * written at once, not after the plan is queued as the next times are.
 */
async function readCases(ctx: SweepContext, ids: readonly string[], today: LocalDate, rules: string, keep: boolean): Promise<SweptCase[]> {
  const snoozes = await ctx.store.snoozesOf(ids);
  return inChunks(ids, async (chunk) => {
    const kept = await ctx.store.keptSnapshots(chunk, rules, today);
    const folded = new Map<string, SweptCase>();
    const toKeep: SnapshotToKeep[] = [];
    const stale = chunk.filter((id) => !kept.has(id));
    for (const record of stale.length ? await ctx.caseLog.readForScheduler(stale) : []) {
      const snapshot = snapshotOf(record, ctx.policy, ctx.calendar, today, snoozes.get(record.caseId));
      const swept: SweptCase = { snapshot, validity: validityOf(record.events, today), folded: true };
      folded.set(record.caseId, swept);
      const cached = cachedSnapshotOf(snapshot, ctx.policy);
      if (cached) toKeep.push({ caseId: record.caseId, version: record.version, validity: swept.validity, snapshot: cached });
    }
    if (keep && toKeep.length) await ctx.store.keep(toKeep, rules);
    const out: SweptCase[] = [];
    for (const caseId of chunk) {
      const k = kept.get(caseId);
      if (k) out.push({ snapshot: snapshotFromCache({ caseId, reference: k.reference, version: k.version }, k.snapshot, today, ctx.policy, snoozes.get(caseId)), validity: k.validity, folded: false });
      else if (folded.has(caseId)) out.push(folded.get(caseId)!);
    }
    return out;
  });
}

/** Escalations a transaction carries: a few statements and one commit for many, not several each. */
const ESCALATIONS_PER_TRANSACTION = 500;
/** Transactions of escalations at once on a server: each over other cases, so they never wait for each other. */
const ESCALATION_TRANSACTIONS_AT_ONCE = 2;

/**
 * Queues a sweep's escalations, each with its `escalated` event in the same transaction, a few
 * hundred a transaction. Returns the dedupe keys newly queued. A case's snapshot takes in the
 * escalations written, so that its next time is set, and it is kept, as it now is.
 */
async function queueEscalations(ctx: SweepContext, plan: PlannedNotification[], cases: SweptCase[], holder: string): Promise<Set<string>> {
  const byId = new Map(cases.map((c) => [c.snapshot.caseId, c]));
  const escalationsByCase = new Map<string, PlannedNotification[]>();
  for (const n of plan) {
    if (n.type !== 'escalation') continue;
    const caseId = n.items[0].caseId;
    escalationsByCase.set(caseId, [...(escalationsByCase.get(caseId) ?? []), n]);
  }
  // Whole cases a transaction, in the order of their ids: two sweepers at once lock cases in one order.
  const batches: PlannedNotification[][] = [];
  for (const caseId of [...escalationsByCase.keys()].sort()) {
    const last = batches.at(-1);
    if (last && last.length < ESCALATIONS_PER_TRANSACTION) last.push(...escalationsByCase.get(caseId)!);
    else batches.push([...escalationsByCase.get(caseId)!]);
  }
  const queued = new Set<string>();
  const atOnce = ctx.db.kind === 'postgres' ? ESCALATION_TRANSACTIONS_AT_ONCE : 1;
  await inChunks(batches, async ([batch]) => {
    // A long sweep keeps its lease: another instance may take it over only from a sweeper that died.
    await ctx.store.takeLease(holder);
    for (const { n, outcome } of await escalationBatch(ctx, batch, byId)) {
      if (outcome.queued) queued.add(n.dedupeKey);
      if (outcome.version === undefined) continue;
      const swept = byId.get(n.items[0].caseId)!;
      const s = swept.snapshot;
      s.version = outcome.version;
      s.escalated = new Set([...s.escalated, n.items[0].obligationId]);
      // The `escalated` event is dated today: what is kept holds from today.
      if (swept.validity.from === null || swept.validity.from < n.day) swept.validity = { ...swept.validity, from: n.day };
      swept.escalated = true;
      swept.toKeep = cachedSnapshotOf(s, ctx.policy) ?? undefined;
    }
    return [];
  }, 1, atOnce);
  return queued;
}

/** Queues a sweep's digests and team digests, a few thousand a statement. Returns the dedupe keys newly queued. */
function queueDigests(ctx: SweepContext, plan: PlannedNotification[]): Promise<Set<string>> {
  return enqueueMany(ctx.db, plan.filter((n) => n.type !== 'escalation').map(reminderMessage));
}

/** A notification as the outbox holds it: the plan, compactly (src/reminders/reminderPayload.ts), with case references and ids, never a family's name. */
function reminderMessage(n: PlannedNotification) {
  return { kind: REMINDER_KIND, recipient: { staffId: n.recipient }, ...(n.type === 'escalation' ? { caseId: n.items[0].caseId } : {}), payload: reminderPayload(n) as unknown as Record<string, unknown>, dedupeKey: n.dedupeKey };
}

interface EscalationOutcome {
  queued: boolean;
  /** The case's version once its `escalated` event is written; unset when it was not (the case changed meanwhile: the next sweep sees it again). */
  version?: number;
}

/**
 * Escalations, each with its `escalated` event and its card in one transaction, or neither: many
 * cases a statement (a case's second escalation of the morning in the next, at the version the
 * first left), or, should that fail, each on its own. What came of each, in order.
 */
async function escalationBatch(ctx: SweepContext, batch: PlannedNotification[], byId: ReadonlyMap<string, SweptCase>): Promise<Array<{ n: PlannedNotification; outcome: EscalationOutcome }>> {
  const escalated = (n: PlannedNotification): NewCaseEvent => ({ type: 'escalated', by: 'system', effectiveOn: n.day, data: { obligation: n.items[0].obligationId, to: n.recipient } });
  const outcomes = new Map<PlannedNotification, EscalationOutcome>();
  try {
    await ctx.db.transaction(async (tx) => {
      outcomes.clear();
      const caseLog = createCaseLog(tx);
      const versions = new Map<string, number | null>();
      let pending = batch;
      while (pending.length) {
        const round: PlannedNotification[] = [];
        const later: PlannedNotification[] = [];
        const inRound = new Set<string>();
        for (const n of pending) {
          const caseId = n.items[0].caseId;
          if (versions.get(caseId) === null) outcomes.set(n, { queued: false });
          else if (inRound.has(caseId)) later.push(n);
          else {
            round.push(n);
            inRound.add(caseId);
          }
        }
        const written = await caseLog.appendEach(
          round.map((n) => {
            const caseId = n.items[0].caseId;
            return { caseId, expectedVersion: versions.get(caseId) ?? byId.get(caseId)!.snapshot.version, events: [escalated(n)], idempotencyKey: n.dedupeKey };
          }),
          { actor: 'scheduler' },
        );
        const cards = await enqueueMany(tx, round.filter((n) => written.has(n.items[0].caseId)).map(reminderMessage));
        for (const n of round) {
          const caseId = n.items[0].caseId;
          const version = written.get(caseId);
          // A case that moved on meanwhile is escalated by the next sweep, which sees it again.
          versions.set(caseId, version ?? null);
          outcomes.set(n, version === undefined ? { queued: false } : { queued: cards.has(n.dedupeKey), version });
        }
        pending = later;
      }
    });
  } catch {
    // One that failed (an escalation written before, then entered in error, say) takes the others
    // with it: each again on its own, so that one fault holds up no other escalation.
    outcomes.clear();
    const versions = new Map<string, number>();
    for (const n of batch) {
      const s = byId.get(n.items[0].caseId)!.snapshot;
      const outcome = await queueEscalation(ctx, n, escalated(n), { caseId: s.caseId, reference: s.reference, version: versions.get(s.caseId) ?? s.version });
      if (outcome.version !== undefined) versions.set(s.caseId, outcome.version);
      outcomes.set(n, outcome);
    }
  }
  return batch.map((n) => ({ n, outcome: outcomes.get(n)! }));
}

/** One escalation: the `escalated` event and its card in one transaction, or neither. */
async function queueEscalation(ctx: SweepContext, n: PlannedNotification, event: NewCaseEvent, c: { caseId: string; reference: string; version: number }): Promise<EscalationOutcome> {
  let queued = false;
  try {
    // The escalation process starts on the case (seed 000/002) with the card that tells the manager, or neither.
    const written = await ctx.caseLog.append(c.caseId, c.version, [event], {
      actor: 'scheduler',
      idempotencyKey: n.dedupeKey,
      // The case as the sweep read it, so that the log does not read it back: only the version written is used.
      previous: { caseId: c.caseId, reference: c.reference, version: c.version, events: [] },
      alsoInTransaction: async (tx) => {
        queued = (await enqueue(tx, reminderMessage(n))) !== null;
      },
    });
    return { queued: queued && !written.replayed, version: written.replayed ? undefined : written.version };
  } catch (e) {
    if (e instanceof VersionConflictError || e instanceof IdempotencyConflictError) return { queued: false };
    throw e;
  }
}
