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
import { DueCase, inChunks, NextTime, ReminderStore, SnapshotToKeep, SweepRecord } from '../storage/reminderStore';
import { reminderTimesKeyOf, reminderTimesOf } from './nextReminder';
import { CaseSnapshot, inPlanOrder, PlannedNotification, planSweep, planSweepDigests, planSweepEscalations, SweepInput } from './plan';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';
import { reminderPayload } from './reminderPayload';
import { CachedSnapshot, cachedSnapshotOf, SnapshotValidity, snapshotFromText, snapshotRulesOf, validityOf } from './snapshotCache';

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
    const owed = owedAt(ctx, now, before);
    // Times kept under other reminder settings say nothing: every case is worked out again.
    if (!owed.timesHold && !options.dryRun) await ctx.store.timesUnder(holder, owed.timesKey);
    const { today, rules, digests, teamDigests } = owed;
    // A digest sweep reads many cases: who is who, who can be reached, the snoozes (and the
    // caseloads for the team digests, from the case summary) are read meanwhile.
    const people = digests || teamDigests ? peopleOfSweep(ctx, today, teamDigests) : undefined;
    people?.catch(() => undefined);
    const due = await ctx.store.casesToSweep({ now, day: today, rules, digestDay: digests || teamDigests ? today : undefined, all: !owed.timesHold && options.dryRun });
    const done = () => Object.assign(planned, digests ? { digestOn: today } : {}, teamDigests ? { teamDigestOn: today } : {});
    // Between digest times nothing is due: the sweep ends here, having read one index.
    if (due.length === 0 && !teamDigests) {
      done();
      return { planned: [], casesRead: 0, casesFolded: 0 };
    }
    const { staff, reachable, snoozes, caseloads } = await (people ?? peopleOfSweep(ctx, today, false));
    const input = { now, policy: ctx.policy, calendar: ctx.calendar, staff, reachable, includeDigests: digests, includeTeamDigests: teamDigests, ...(caseloads ? { caseloads } : {}) };
    if (options.dryRun) {
      const cases = await readCases(ctx, due, today, rules, snoozes, false);
      return { planned: planSweep({ ...input, cases: cases.map((c) => c.snapshot) }), ...readOf(cases) };
    }
    const result = await planAndQueue(ctx, holder, input, { due, today, rules, snoozes });
    done();
    return result;
  } finally {
    if (!options.dryRun) await ctx.store.releaseLease(holder, now, planned);
  }
}

/** What a sweep at `now` owes, given what the sweeps before planned. */
function owedAt(ctx: SweepContext, now: Date, before: SweepRecord) {
  const today = londonDateOf(now);
  const digestTime = isWithinWorkingHours(now, ctx.calendar, ctx.policy) && now >= digestInstant(today, ctx.policy);
  const rules = snapshotRulesOf(ctx.policy, ctx.calendar);
  const timesKey = reminderTimesKeyOf(ctx.policy, rules);
  return {
    today,
    rules,
    timesKey,
    /** The cases' times were worked out under these reminder settings. */
    timesHold: before.timesKey === timesKey,
    /** The day's digests, once: by the first sweep from the digest time (later, if the server was down then). */
    digests: digestTime && before.digestOn !== today,
    /** The weekly team digests, once, on the first working day of the week. */
    teamDigests: digestTime && ctx.policy.reminders.teamDigest.enabled && isTeamDigestDay(today, ctx.calendar) && before.teamDigestOn !== today,
  };
}

/**
 * The sweep for real: each case's escalations are its own, so they are planned and queued as its
 * chunk is read, the server writing them while the next chunks are read; then the digests are
 * planned and queued; then, only once all is queued, each case's times are set (a sweep cut short
 * leaves its cases due, to be planned again, once, by their dedupe keys).
 */
async function planAndQueue(
  ctx: SweepContext,
  holder: string,
  input: Omit<SweepInput, 'cases'>,
  read: { due: readonly DueCase[]; today: LocalDate; rules: string; snoozes: ReadonlyMap<string, ReadonlyMap<string, LocalDate>> },
): Promise<SweepResult> {
  const escalating = escalationQueue(ctx, holder);
  let cases: SweptCase[];
  try {
    cases = await readCases(ctx, read.due, read.today, read.rules, read.snoozes, true, (chunk) => escalating.add(planSweepEscalations(input, chunk.map((c) => c.snapshot)), chunk));
  } catch (e) {
    await escalating.settled();
    throw e;
  }
  // The escalations written meanwhile are in the cases' snapshots as well as in `escalating.planned`: a digest lists them the same either way.
  const digests = planSweepDigests({ ...input, cases: cases.map((c) => c.snapshot) }, escalating.planned);
  const queuing = enqueueMany(ctx.db, digests.map(reminderMessage), { atOnce: ctx.db.kind === 'postgres' ? 3 : 1 });
  let queued: Set<string>;
  try {
    queued = await escalating.done();
  } finally {
    await queuing.catch(() => undefined);
  }
  for (const key of await queuing) queued.add(key);
  await ctx.store.setNext(nextTimes(cases, read.due, input.now, ctx), read.rules);
  const plan = inPlanOrder([...escalating.planned, ...digests]);
  return { planned: plan.filter((n) => queued.has(n.dedupeKey)), ...readOf(cases) };
}

/**
 * When each case read next matters, from this sweep's instant (everything owed by now is planned),
 * with what to keep of it; not for a case whose times stand, so that the many cases in every
 * morning's digests are not written again every morning. A case's times stand when it was read as
 * it was kept, was not escalated now, and its times were worked out since it last changed, with
 * its next escalation still to come: its obligations and what was escalated are as they were, so
 * is its next escalation; and its first digest day, if after today, is the first from today too,
 * or if not, the case is listed every day from today on (`reminderTimesOf`).
 */
function nextTimes(cases: readonly SweptCase[], due: readonly DueCase[], now: Date, ctx: SweepContext): NextTime[] {
  const settled = new Set(due.filter((d) => d.settled).map((d) => d.caseId));
  const out: NextTime[] = [];
  for (const { snapshot: s, validity, toKeep, escalated, folded } of cases) {
    if (!folded && !escalated && settled.has(s.caseId)) continue;
    out.push({ caseId: s.caseId, version: s.version, ...reminderTimesOf(s, now, ctx.calendar, ctx.policy), ...(toKeep ? { keep: { validity, snapshot: toKeep } } : {}) });
  }
  return out;
}

/** What a sweep reads besides the cases: the staff, who can be reached in Teams, the snoozes standing today, and with `caseloads` every open case's caseload. */
async function peopleOfSweep(ctx: SweepContext, today: LocalDate, caseloads: boolean) {
  const [staff, reachable, snoozes, open] = await Promise.all([ctx.staff(), ctx.store.reachableStaff(), ctx.store.standingSnoozes(today), caseloads ? ctx.caseLog.openCaseloads() : undefined]);
  return { staff, reachable, snoozes, caseloads: open };
}

const readOf = (cases: readonly SweptCase[]) => ({ casesRead: cases.length, casesFolded: cases.filter((c) => c.folded).length });

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
 * thousand cases at a time, each chunk handed to `onChunk` as it is ready, so that its escalations
 * are written while the rest are read; the events of cases folded are read a chunk at a time, so
 * that all the events are never held at once. What is kept holds whatever the sweep then plans,
 * so it is written at once, not after the plan is queued as the next times are.
 */
async function readCases(
  ctx: SweepContext,
  due: readonly DueCase[],
  today: LocalDate,
  rules: string,
  snoozes: ReadonlyMap<string, ReadonlyMap<string, LocalDate>>,
  keep: boolean,
  onChunk?: (chunk: SweptCase[]) => void,
): Promise<SweptCase[]> {
  return inChunks(due, async (chunk) => {
    const stale = chunk.filter((d) => !d.kept).map((d) => d.caseId);
    const { swept, toKeep } = stale.length ? await foldCases(ctx, stale, today, snoozes) : { swept: [], toKeep: [] };
    if (keep && toKeep.length) await ctx.store.keep(toKeep, rules);
    const folded = new Map(swept.map((c) => [c.snapshot.caseId, c]));
    const out: SweptCase[] = [];
    for (const d of chunk) {
      if (d.kept) out.push({ snapshot: snapshotFromText(d, d.kept.text, today, ctx.policy, snoozes.get(d.caseId)), validity: d.kept.validity, folded: false });
      else if (folded.has(d.caseId)) out.push(folded.get(d.caseId)!);
    }
    onChunk?.(out);
    return out;
  });
}

/** These cases worked out from all their events, as the planner reads them on `today`, with what to keep of each. */
async function foldCases(ctx: SweepContext, caseIds: readonly string[], today: LocalDate, snoozes: ReadonlyMap<string, ReadonlyMap<string, LocalDate>>): Promise<{ swept: SweptCase[]; toKeep: SnapshotToKeep[] }> {
  const swept: SweptCase[] = [];
  const toKeep: SnapshotToKeep[] = [];
  for (const record of await ctx.caseLog.readForScheduler(caseIds)) {
    const snapshot = snapshotOf(record, ctx.policy, ctx.calendar, today, snoozes.get(record.caseId));
    const c: SweptCase = { snapshot, validity: validityOf(record.events, today), folded: true };
    swept.push(c);
    const cached = cachedSnapshotOf(snapshot, ctx.policy);
    if (cached) toKeep.push({ caseId: record.caseId, version: record.version, validity: c.validity, snapshot: cached });
  }
  return { swept, toKeep };
}

/**
 * Works these cases out from their events as of `now` and keeps what the sweeps read of them, with
 * their times (an import's cases: their events are appended in bulk), so that the sweeps after
 * read them as they read any case: the morning's, only those its digests list or with an
 * escalation due, from what was kept, rather than every event of every case. The times are kept
 * only under the reminder settings the scheduler's are kept under (or, on a new system, these
 * become them); otherwise the cases are left for the next sweep to work out. Only ever early: an
 * escalation already owed is left due at once, and a sweep works out again a case changed since.
 * Returns how many were kept.
 */
export async function keepForSweeps(ctx: SweepContext, caseIds: readonly string[], now: Date): Promise<number> {
  const today = londonDateOf(now);
  const rules = snapshotRulesOf(ctx.policy, ctx.calendar);
  const withTimes = await ctx.store.timesKeptUnder(reminderTimesKeyOf(ctx.policy, rules));
  const kept = await inChunks(caseIds, async (chunk) => {
    const { swept, toKeep } = await foldCases(ctx, chunk, today, new Map());
    if (!withTimes) {
      if (toKeep.length) await ctx.store.keep(toKeep, rules);
      return [toKeep.length];
    }
    const keep = new Map(toKeep.map((k) => [k.caseId, k]));
    await ctx.store.setNext(
      swept.map(({ snapshot: s }) => {
        const k = keep.get(s.caseId);
        return { caseId: s.caseId, version: s.version, ...reminderTimesOf(s, now, ctx.calendar, ctx.policy), ...(k ? { keep: { validity: k.validity, snapshot: k.snapshot } } : {}) };
      }),
      rules,
    );
    return [toKeep.length];
  });
  return kept.reduce((a, b) => a + b, 0);
}

/** Escalations a transaction carries: a few statements and one commit for many, not several each. */
const ESCALATIONS_PER_TRANSACTION = 500;
/** Transactions of escalations at once on a server: each over other cases, so they never wait for each other. */
const ESCALATION_TRANSACTIONS_AT_ONCE = 2;

/**
 * Queues a sweep's escalations as its cases are read, each with its `escalated` event in the same
 * transaction, a few hundred a transaction, two transactions at once on a server. A case's snapshot
 * takes in the escalations written, so that its next time is set, and it is kept, as it now is.
 * `done` answers the dedupe keys newly queued, once all are written (or the first failure).
 */
function escalationQueue(ctx: SweepContext, holder: string) {
  const planned: PlannedNotification[] = [];
  const queued = new Set<string>();
  const writing: Array<Promise<void>> = [];
  const atOnce = ctx.db.kind === 'postgres' ? ESCALATION_TRANSACTIONS_AT_ONCE : 1;
  let running = 0;
  const waiting: Array<() => void> = [];
  const inTurn = async (write: () => Promise<void>) => {
    while (running >= atOnce) await new Promise<void>((resume) => waiting.push(resume));
    running++;
    try {
      await write();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
  const write = async (batch: PlannedNotification[], byId: ReadonlyMap<string, SweptCase>) => {
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
  };
  return {
    planned,
    /** Queues these escalations of these cases (a chunk read). */
    add(escalations: readonly PlannedNotification[], cases: readonly SweptCase[]): void {
      if (escalations.length === 0) return;
      planned.push(...escalations);
      const byId = new Map(cases.map((c) => [c.snapshot.caseId, c]));
      // Whole cases a transaction, in the order of their ids: two sweepers at once lock cases in one order.
      const byCase = new Map<string, PlannedNotification[]>();
      for (const n of escalations) {
        const caseId = n.items[0].caseId;
        const list = byCase.get(caseId);
        if (list) list.push(n);
        else byCase.set(caseId, [n]);
      }
      let batch: PlannedNotification[] = [];
      const flush = () => {
        const full = batch;
        const written = inTurn(() => write(full, byId));
        // Handled here so that a failure waits for `done` rather than ending the process.
        written.catch(() => undefined);
        writing.push(written);
        batch = [];
      };
      for (const caseId of [...byCase.keys()].sort()) {
        batch.push(...byCase.get(caseId)!);
        if (batch.length >= ESCALATIONS_PER_TRANSACTION) flush();
      }
      if (batch.length) flush();
    },
    async done(): Promise<Set<string>> {
      await Promise.all(writing);
      return queued;
    },
    /** Once every write begun has ended, however. */
    async settled(): Promise<void> {
      await Promise.allSettled(writing);
    },
  };
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
