import type { WorkingDayCalendar } from '../calendar';
import { CaseEvent, standingEvents } from '../caseEvents';
import { caseState } from '../caseState';
import { enqueueMany } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import { obligations } from '../obligations';
import type { Policy } from '../policy';
import type { StaffMember } from '../staff';
import type { CaseLog, CaseRecord } from '../storage/caseLog';
import type { Database } from '../storage/database';
import { DueCase, inChunks, NextTime, ReminderStore, SnapshotToKeep, SweepRecord } from '../storage/reminderStore';
import { reminderTimesKeyOf, reminderTimesOf } from './nextReminder';
import { CaseSnapshot, inPlanOrder, PlannedNotification, planSweep, SweepInput, sweepPlanner } from './plan';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';
import { escalationQueue } from './escalationWrites';
import { reminderMessage } from './reminderPayload';
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

export { REMINDER_KIND } from './reminderPayload';

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
  const planner = sweepPlanner(input);
  const escalating = escalationQueue(ctx, holder);
  let cases: SweptCase[];
  try {
    cases = await readCases(ctx, read.due, read.today, read.rules, read.snoozes, true, (chunk) => escalating.add(planner.escalations(chunk.map((c) => c.snapshot)), chunk));
  } catch (e) {
    await escalating.settled();
    throw e;
  }
  // The escalations written meanwhile are in the cases' snapshots as well as in `escalating.planned`: a digest lists them the same either way.
  const digests = planner.digests(cases.map((c) => c.snapshot), escalating.planned);
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
  for (const c of cases) {
    if (!c.folded && !c.escalated && settled.has(c.snapshot.caseId)) continue;
    out.push(nextTimeOf(c, c.toKeep, now, ctx));
  }
  return out;
}

/** A case's times from `now`, and what to keep of it with them, if anything. */
function nextTimeOf({ snapshot: s, validity }: Pick<SweptCase, 'snapshot' | 'validity'>, keep: CachedSnapshot | undefined, now: Date, ctx: SweepContext): NextTime {
  return { caseId: s.caseId, version: s.version, ...reminderTimesOf(s, now, ctx.calendar, ctx.policy), ...(keep ? { keep: { validity, snapshot: keep } } : {}) };
}

/** What a sweep reads besides the cases: the staff, who can be reached in Teams, the snoozes standing today, and with `caseloads` every open case's caseload. */
async function peopleOfSweep(ctx: SweepContext, today: LocalDate, caseloads: boolean) {
  const [staff, reachable, snoozes, open] = await Promise.all([ctx.staff(), ctx.store.reachableStaff(), ctx.store.standingSnoozes(today), caseloads ? ctx.caseLog.openCaseloads() : undefined]);
  return { staff, reachable, snoozes, caseloads: open };
}

const readOf = (cases: readonly SweptCase[]) => ({ casesRead: cases.length, casesFolded: cases.filter((c) => c.folded).length });

/** A case as a sweep reads it, and what to keep of it for the sweeps after. */
export interface SweptCase {
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
    const keep = new Map(toKeep.map((k) => [k.caseId, k.snapshot]));
    await ctx.store.setNext(swept.map((c) => nextTimeOf(c, keep.get(c.snapshot.caseId), now, ctx)), rules);
    return [toKeep.length];
  });
  return kept.reduce((a, b) => a + b, 0);
}
