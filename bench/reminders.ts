import { inServerSchema } from './serverSchema';
import { createAdapter } from '../bot/adapter';
import { botConfigFromEnv } from '../bot/config';
import { enqueueCard, teamsHandlers } from '../bot/delivery';
import { calendarFor, WorkingDayCalendar } from '../src/calendar';
import { CaseEvent, NewCaseEvent, validateNewEvent, ValidNewEvent } from '../src/caseEvents';
import { ImportedCase } from '../src/caseImport';
import { createDispatcher } from '../src/delivery/dispatcher';
import { countByStatus } from '../src/delivery/outbox';
import { RateWindow, TEAMS_LIMITS } from '../src/delivery/pacing';
import { addDays, addMonths, LocalDate } from '../src/localDate';
import { obligations } from '../src/obligations';
import { loadPolicy, Policy } from '../src/policy';
import { reminderInstant } from '../src/reminderTime';
import { isOpen } from '../src/reminders/digest';
import { escalationDay, isTeamDigestDay } from '../src/reminders/schedule';
import { keepForSweeps, sweepReminders, SweepContext } from '../src/reminders/sweep';
import { StaffMember } from '../src/staff';
import { createCaseLog } from '../src/storage/caseLog';
import { createConversationStore } from '../src/storage/conversations';
import { Database, openDatabase } from '../src/storage/database';
import { migrate } from '../src/storage/migrations';
import { createReminderStore } from '../src/storage/reminderStore';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { startConnector } from '../test/helpers/connector';
import { seeded } from '../test/helpers/seeded';

/**
 * The scheduler at an authority's scale (issue 8, "Benchmark"):
 *
 * 1. The 08:30 digest sweep of a working day over 100,000 open cases held by 5,000 workers (and
 *    their 500 managers), the first after they were imported at 07:00 (the import kept what the
 *    sweeps read of each case, and its times, as `earlyhelp cases import` does, so the sweep reads
 *    the cases the day's digests list or with an escalation due, from that); its time on the
 *    PostgreSQL server and on PGlite in memory, with what it read and planned, and a dry run of it
 *    with nothing kept (every case folded from its events, as after a release that changes a rule).
 * 2. A sweep between digests the same morning, once the 08:30 sweep has set each case's times, and
 *    the process's RSS after the sweeps.
 * 3. The daily sweeps as they run from then on (src/reminders/snapshotCache.ts, nextReminder.ts):
 *    08:30 the next working day (the cases the day's digests list, and those with an escalation
 *    due), and 08:30 on the first working day of the next week (the weekly team digests too).
 * 4. Delivery of 2,000 cards to 500 people through a loopback Teams connector that refuses (429)
 *    whatever breaks Teams' limits, against the least time those limits allow.
 *
 * The caseload (`reminderCaseload`) is made to look like a service's: cases allocated over the
 * last three months, most timescales met on time, some late, some missed; every deadline missed
 * before today already escalated on its morning (so that the sweep escalates only what falls
 * today, as a server running every day would); a few workers and managers away. The crash and
 * two-instance tests of the sweep (test/reminders/crash.test.ts) load a small one the same way.
 */

// ---------------------------------------------------------------------------------------------
// The caseload

export interface CaseloadOptions {
  cases: number;
  workers: number;
  /** The working day the sweep runs on: every event is before it. */
  day: LocalDate;
  /** Workers per team, under two managers (one manager to ten workers at the default 20). */
  teamSize?: number;
  /** How often a timescale is missed outright (the rest: on time, or late one time in eight). */
  missRate?: number;
  /** Cases allocated up to this many working days before `day` (65: about three months). */
  spanWorkingDays?: number;
  seed?: number;
  /** The prefix of the references (`EH-1`, ...). */
  prefix?: string;
}

export interface Caseload {
  staff: StaffMember[];
  cases: ImportedCase[];
  /** Obligations missed before `day` and written as escalated on their morning. */
  escalatedBefore: number;
}

const guid = (kind: number, n: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

/** Teams of `teamSize` workers under two managers; one worker in 50 and one manager in 100 away today. */
export function caseloadStaff(workers: number, day: LocalDate, teamSize = 20): StaffMember[] {
  const teams = Math.ceil(workers / teamSize);
  const away = { absentFrom: addDays(day, -3), absentUntil: addDays(day, 4) };
  const managers = Array.from({ length: teams * 2 }, (_, m): StaffMember => ({
    id: guid(0x51, m),
    name: `Manager ${String(m).padStart(4, '0')}`,
    email: `manager.${m}@sweep.example`,
    role: 'manager',
    team: `Team ${Math.floor(m / 2)}`,
    capacityPoints: 0,
    active: true,
    ...(m % 100 === 7 ? away : {}),
  }));
  const staff = Array.from({ length: workers }, (_, w): StaffMember => {
    const team = Math.floor(w / teamSize);
    return {
      id: guid(0x52, w),
      name: `Worker ${String(w).padStart(5, '0')}`,
      email: `worker.${w}@sweep.example`,
      role: 'worker',
      team: `Team ${team}`,
      lineManager: managers[team * 2 + (w % 2)].id,
      capacityPoints: 60,
      active: true,
      ...(w % 50 === 13 ? away : {}),
    };
  });
  return [...managers, ...staff];
}

/**
 * One case's history up to the day before `day`: each step done on time (most), late, or not at
 * all, so that on `day` some items are due, some overdue, and a few escalate.
 */
function caseHistory(n: number, worker: StaffMember, day: LocalDate, calendar: WorkingDayCalendar, r: () => number, missRate: number, span: number): NewCaseEvent[] {
  const manager = worker.lineManager!;
  const allocatedOn = calendar.addWorkingDays(day, -(1 + Math.floor(r() * span)));
  const yesterday = calendar.addWorkingDays(day, -1);
  const events: NewCaseEvent[] = [];
  const wd = (from: LocalDate, n: number) => calendar.addWorkingDays(from, n);
  /** When a step with `within` working days is done after `from`: on time, late, or never (null). */
  const done = (from: LocalDate, within: number): LocalDate | null => {
    const p = r();
    if (p < missRate) return null;
    if (p < missRate + (1 - missRate) / 8) return wd(from, within + 1 + Math.floor(r() * 6));
    return wd(from, Math.floor(r() * (within + 1)));
  };
  const add = (type: NewCaseEvent['type'], on: LocalDate | null, data: Record<string, unknown> = {}, by = worker.id): LocalDate | null => {
    if (on === null || on > yesterday) return null;
    events.push({ type, by, effectiveOn: on, data } as NewCaseEvent);
    return on;
  };
  const cafRequired = n % 10 !== 0;
  add('allocated', allocatedOn, { leadProfessional: worker.id, manager, caseloadPoints: 1 + (n % 5), initialActions: 'Call the family; visit', cafRequired, source: n % 7 === 0 ? 'cin-step-down' : 'referral' }, manager);
  const recorded = (on: LocalDate | null) => on && add('case-recorded', done(on, 2));
  recorded(add('telephone-contact-made', done(allocatedOn, 2)));
  recorded(add('visit', done(allocatedOn, 5), { childSeen: true, consentForm: true, medicalForm: true, homeChecked: r() < 0.9 }));
  if (r() < 0.3) recorded(add('information-received', wd(allocatedOn, 3 + Math.floor(r() * 20)), { from: 'school' }));
  if (cafRequired) {
    const submitted = add('caf-submitted', done(allocatedOn, 20), { to: manager });
    // Most are authorised within the week; a few wait on the manager.
    if (submitted && r() < 0.93) add('caf-authorised', wd(submitted, 1 + Math.floor(r() * 5)), {}, manager);
  }
  let taf = add('taf-held', done(allocatedOn, 25));
  while (taf) {
    recorded(taf);
    add('minutes-shared', done(taf, 15), { tafDate: taf });
    // Reviews every six weeks, eight at most.
    const p = r();
    taf = p < missRate ? null : add('taf-held', calendar.workingDayOnOrBefore(addDays(taf, p < missRate + 0.1 ? 43 + Math.floor(r() * 14) : 35 + Math.floor(r() * 8))), { review: true });
  }
  for (let held = done(calendar.workingDayOnOrBefore(addMonths(allocatedOn, 1)), 0); held && add('supervision-held', held, { supervisor: manager }, manager); ) {
    add('supervision-record-returned', done(held, 10), { supervisionDate: held }, manager);
    add('supervision-record-authorised', done(held, 20), { supervisionDate: held }, manager);
    held = done(calendar.workingDayOnOrBefore(addMonths(held, 1)), 0);
  }
  return events.sort((a, b) => (a.type === 'allocated' ? -1 : b.type === 'allocated' ? 1 : a.effectiveOn < b.effectiveOn ? -1 : a.effectiveOn > b.effectiveOn ? 1 : 0));
}

/**
 * A service's open caseload on the morning of `day`: `cases` cases shared round the workers, each
 * with its history and, for every timescale missed before `day`, the `escalated` event the
 * scheduler wrote on its escalation morning.
 */
export function reminderCaseload(options: CaseloadOptions, policy: Policy = loadPolicy()): Caseload {
  const { day } = options;
  const calendar = calendarFor(policy);
  const r = seeded(options.seed ?? 2026);
  const staff = caseloadStaff(options.workers, day, options.teamSize);
  const workers = staff.filter((m) => m.role === 'worker');
  const cases: ImportedCase[] = [];
  let escalatedBefore = 0;
  for (let n = 0; n < options.cases; n++) {
    const worker = workers[n % workers.length];
    const history = caseHistory(n, worker, day, calendar, r, options.missRate ?? 0.06, options.spanWorkingDays ?? 65);
    const valid: ValidNewEvent[] = history.map((e) => validateNewEvent(e));
    const logged = valid.map((e, i) => ({ ...e, id: `${n}#${i + 1}`, caseId: `case-${n}`, sequence: i + 1, recordedAt: `${e.effectiveOn}T12:00:00.000Z` }) as CaseEvent);
    const escalations: ValidNewEvent[] = [];
    for (const o of obligations(logged, policy, calendar, day)) {
      const on = escalationDay(o, calendar, policy);
      if (on === null || on >= day) continue;
      if (isOpen(o) || (o.metOn !== undefined && o.metOn >= on)) escalations.push(validateNewEvent({ type: 'escalated', by: 'system', effectiveOn: on, data: { obligation: o.id, to: worker.lineManager } }));
    }
    escalatedBefore += escalations.length;
    const events = escalations.length ? [valid[0], ...[...valid.slice(1), ...escalations].sort((a, b) => (a.effectiveOn < b.effectiveOn ? -1 : a.effectiveOn > b.effectiveOn ? 1 : 0))] : valid;
    cases.push({ reference: `${options.prefix ?? 'EH'}-${n + 1}`, events });
  }
  return { staff, cases, escalatedBefore };
}

/**
 * Writes a caseload: the staff, a chat with the bot for all but one in 25 (who cannot be reached),
 * and the cases through `importCases` (each case due at the next sweep), `chunk` cases a transaction.
 */
export async function loadCaseload(db: Database, caseload: Caseload, options: { chunk?: number; keep?: { policy: Policy; now: Date } } = {}): Promise<{ keepSeconds: number }> {
  const chunk = options.chunk ?? 10_000;
  await createStaffDirectory(db).save(caseload.staff, 'bench');
  const conversations = createConversationStore(db);
  for (const [i, m] of caseload.staff.entries()) {
    if (i % 25 === 24) continue;
    await conversations.save({ conversationId: `a:personal-${m.id}`, staffId: m.id, conversationType: 'personal', reference: { conversation: { id: `a:personal-${m.id}` } } });
  }
  const caseLog = createCaseLog(db);
  const ids: string[] = [];
  for (let from = 0; from < caseload.cases.length; from += chunk) ids.push(...(await caseLog.importCases(caseload.cases.slice(from, from + chunk), { actor: 'bench', file: 'caseload.json' })).map((c) => c.caseId));
  if (!options.keep) return { keepSeconds: 0 };
  // As `earlyhelp cases import` does: what the sweeps read of each case kept at import.
  const started = process.hrtime.bigint();
  await keepForSweeps(sweepContext(db, options.keep.policy), ids, options.keep.now);
  return { keepSeconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

/** What the scheduler runs with, on this database. */
export function sweepContext(db: Database, policy: Policy = loadPolicy()): SweepContext {
  const directory = createStaffDirectory(db);
  return { db, caseLog: createCaseLog(db), store: createReminderStore(db), policy, calendar: calendarFor(policy), staff: () => directory.all() };
}

// ---------------------------------------------------------------------------------------------
// 1 to 3: the sweeps

const CASES = Number(process.env.BENCH_SWEEP_CASES ?? 100_000);
const WORKERS = Math.max(1, Math.round(CASES / 20));
/** A Wednesday: a working day that is not a team digest day. */
const DAY = '2026-11-25' as LocalDate;
/** PGlite's budget for loading and sweeping the full caseload; beyond it a smaller count is swept, and the line says so. */
const PGLITE_BUDGET_S = 140;

const n = (x: number) => x.toLocaleString('en-GB');
const seconds = (from: bigint) => Number(process.hrtime.bigint() - from) / 1e9;
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;

interface SweepFigures {
  cases: number;
  workers: number;
  loadSeconds: number;
  /** Of the load, keeping what the sweeps read of each case (as `earlyhelp cases import` does). */
  keepSeconds: number;
  /** A dry run of the 08:30 sweep with nothing kept: every case folded from its events. */
  foldAllSeconds: number;
  dryRunSeconds: number;
  digestSeconds: number;
  planned: number;
  escalations: number;
  casesRead: number;
  dryRunPlanned: number;
  nextSweep: { ms: number; casesRead: number; planned: number };
  between: { ms: number; casesRead: number; planned: number };
  /** The next working morning's 08:30 sweep, each case's next time set by the day before: the daily sweep as it runs. */
  nextMorning: { ms: number; casesRead: number; casesFolded: number; planned: number; escalations: number };
  /** 08:30 on the first working day of the next week (the days between swept too): the weekly team digests too. */
  teamDigestMorning: { ms: number; casesRead: number; casesFolded: number; planned: number; escalations: number };
  rss: number;
}

/** Loads the caseload, then times the day's sweeps: a dry run and the real one at 08:30, and sweeps between digests. */
async function sweepFigures(db: Database, cases: number): Promise<SweepFigures> {
  const policy = loadPolicy();
  const workers = Math.max(1, Math.round((cases * WORKERS) / CASES));
  const start = process.hrtime.bigint();
  await migrate(db);
  // Imported at 07:00 on the morning of the sweep.
  const { keepSeconds } = await loadCaseload(db, reminderCaseload({ cases, workers, day: DAY }, policy), { keep: { policy, now: reminderInstant(DAY, '07:00') } });
  const loadSeconds = seconds(start);
  const ctx = sweepContext(db, policy);
  const at = (time: string) => reminderInstant(DAY, time);

  // The same sweep with nothing kept to read (as after a release that changes a rule): every case folded from its events; a dry run, so that nothing changes.
  const nothingKept: SweepContext = { ...ctx, store: { ...ctx.store, casesToSweep: async (q) => (await ctx.store.casesToSweep({ ...q, all: true })).map(({ kept: _kept, ...c }) => c) } };
  let t = process.hrtime.bigint();
  const folding = await sweepReminders(nothingKept, { now: at('08:30'), dryRun: true, holder: 'bench' });
  const foldAllSeconds = seconds(t);
  if (folding.casesFolded !== cases) throw new Error(`the dry run with nothing kept folded ${folding.casesFolded} of ${cases} cases`);
  t = process.hrtime.bigint();
  const dry = await sweepReminders(ctx, { now: at('08:30'), dryRun: true, holder: 'bench' });
  const dryRunSeconds = seconds(t);
  t = process.hrtime.bigint();
  const digest = await sweepReminders(ctx, { now: at('08:30'), holder: 'bench' });
  const digestSeconds = seconds(t);
  if (digest.skipped || digest.casesRead === 0 || digest.casesFolded !== 0) throw new Error(`the 08:30 sweep read ${digest.casesRead} of ${cases} cases, ${digest.casesFolded} from their events (${digest.skipped ?? 'not skipped'})`);
  if (dry.planned.length < digest.planned.length) throw new Error('the sweep planned more than its dry run');

  // The first sweep after 08:30 reads again the cases the escalations changed; then the morning rests.
  const timedAt = async (now: Date) => {
    const from = process.hrtime.bigint();
    const result = await sweepReminders(ctx, { now, holder: 'bench' });
    return { ms: seconds(from) * 1000, casesRead: result.casesRead, casesFolded: result.casesFolded, planned: result.planned.length, escalations: result.planned.filter((p) => p.type === 'escalation').length };
  };
  const timed = (time: string) => timedAt(at(time));
  const nextSweep = await timed('08:31');
  const quiet = [];
  for (const time of ['10:00', '10:01', '10:02', '10:03', '10:04']) quiet.push(await timed(time));
  quiet.sort((a, b) => a.ms - b.ms);
  const calendar = calendarFor(policy);
  const nextMorning = await timedAt(reminderInstant(calendar.addWorkingDays(DAY, 1), '08:30'));
  // The working days to the next week's first, each swept at 08:30 as the server would.
  let day = calendar.addWorkingDays(DAY, 2);
  while (!isTeamDigestDay(day, calendar)) {
    await sweepReminders(ctx, { now: reminderInstant(day, '08:30'), holder: 'bench' });
    day = calendar.addWorkingDays(day, 1);
  }
  const teamDigestMorning = await timedAt(reminderInstant(day, '08:30'));
  return {
    cases,
    workers,
    loadSeconds,
    keepSeconds,
    foldAllSeconds,
    dryRunSeconds,
    digestSeconds,
    planned: digest.planned.length,
    escalations: digest.planned.filter((p) => p.type === 'escalation').length,
    casesRead: digest.casesRead,
    dryRunPlanned: dry.planned.length,
    nextSweep,
    between: quiet[2],
    nextMorning,
    teamDigestMorning,
    rss: process.memoryUsage().rss,
  };
}

function sweepLines(engine: string, aim: number, f: SweepFigures, note = ''): string[] {
  return [
    `reminders sweep at 08:30, ${engine}, the first after the import at 07:00 (which kept what the sweeps read of each case, and its times): ${n(f.cases)} cases, ${n(f.workers)} workers: ${f.digestSeconds.toFixed(2)} s (aim < ${aim} s); ` +
      `${n(f.planned)} notifications planned (${n(f.escalations)} escalations), ${n(f.casesRead)} cases read (those the day's digests list or with an escalation due); its dry run (read and plan, nothing written) ${f.dryRunSeconds.toFixed(2)} s, ${n(f.dryRunPlanned)} planned; ` +
      `loaded in ${f.loadSeconds.toFixed(0)} s, of which keeping what the sweeps read ${f.keepSeconds.toFixed(1)} s; with nothing kept (after a release that changes a rule: every case folded from its events) its dry run takes ${f.foldAllSeconds.toFixed(2)} s${note}`,
    `reminders sweep between digests, ${engine}: ${f.between.ms.toFixed(1)} ms (aim < 20 ms), ${n(f.between.casesRead)} cases read; ` +
      `the sweep at 08:31: ${f.nextSweep.ms.toFixed(0)} ms, ${n(f.nextSweep.casesRead)} cases read again (changed by their escalations), ${n(f.nextSweep.planned)} planned; RSS after the sweeps ${mb(f.rss)}`,
    `reminders sweep at 08:30 the next working day, ${engine} (the daily sweep as it runs from then on): ${(f.nextMorning.ms / 1000).toFixed(2)} s (aim < ${aim} s), ` +
      `${n(f.nextMorning.casesRead)} of ${n(f.cases)} cases read (${n(f.nextMorning.casesFolded)} with all their events, the rest from what was kept), ${n(f.nextMorning.planned)} notifications planned (${n(f.nextMorning.escalations)} escalations)`,
    `reminders sweep at 08:30 on the first working day of the next week, ${engine} (the weekly team digests too: caseloads from the case summary, the cases the day lists read): ${(f.teamDigestMorning.ms / 1000).toFixed(2)} s (aim < ${aim} s), ` +
      `${n(f.teamDigestMorning.casesRead)} cases read (${n(f.teamDigestMorning.casesFolded)} with all their events, the rest from what was kept), ${n(f.teamDigestMorning.planned)} notifications planned (${n(f.teamDigestMorning.escalations)} escalations)`,
  ];
}

async function benchSweeps(): Promise<string[]> {
  const lines: string[] = [];
  // The server, in a schema of the benchmark's own, dropped afterwards.
  try {
    lines.push(...(await inServerSchema('bench_sweep', async (db) => sweepLines('PostgreSQL', 2, await sweepFigures(db, CASES)))));
  } catch (e) {
    lines.push(`reminders sweep, PostgreSQL: not measured (${(e as Error).message.slice(0, 120)})`);
  }

  // PGlite: a sample sets the count, the full one if loading and sweeping it fit the budget.
  try {
    const sampleCases = Math.min(5_000, CASES);
    const sample = await openDatabase({ dataDir: 'memory://' });
    let figures: SweepFigures;
    try {
      figures = await sweepFigures(sample, sampleCases);
    } finally {
      await sample.close();
    }
    const perCase = (figures.loadSeconds + figures.foldAllSeconds + figures.dryRunSeconds + figures.digestSeconds) / sampleCases;
    const count = perCase * CASES <= PGLITE_BUDGET_S ? CASES : ([50_000, 20_000, 10_000].find((c) => c < CASES && perCase * c <= PGLITE_BUDGET_S) ?? sampleCases);
    const note = count < CASES ? `; ${n(CASES)} would take about ${Math.round(perCase * CASES)} s to load and sweep, so ${n(count)} were swept` : '';
    if (count !== sampleCases) {
      const db = await openDatabase({ dataDir: 'memory://' });
      try {
        figures = await sweepFigures(db, count);
      } finally {
        await db.close();
      }
    }
    lines.push(...sweepLines('PGlite (in memory)', 5, figures, note));
  } catch (e) {
    lines.push(`reminders sweep, PGlite: not measured (${(e as Error).message.slice(0, 120)})`);
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// 4: delivery within Teams' limits

const CARDS = Number(process.env.BENCH_DELIVERY_CARDS ?? 2_000);
const PEOPLE = Number(process.env.BENCH_DELIVERY_PEOPLE ?? 500);
/** The delivery's budget: a run still going after it is stopped, and its rate so far projected. */
const DELIVERY_BUDGET_S = 90;

/** Sends kept, per conversation and over all, and whether one more at `t` breaks a window (half-open: (t - window, t]). */
class TeamsLimits {
  private readonly perConversation = new Map<string, number[]>();
  private readonly global: number[] = [];
  throttled = 0;

  private static breaks(times: number[], windows: readonly RateWindow[], t: number): boolean {
    return windows.some((w) => {
      let inWindow = 1;
      for (let i = times.length - 1; i >= 0 && times[i] > t - w.windowMs; i--) inWindow++;
      return inWindow > w.count;
    });
  }

  /** Whether a message to `conversation` arriving at `t` is accepted (and then counted). */
  accept(conversation: string, t: number): boolean {
    let mine = this.perConversation.get(conversation);
    if (!mine) this.perConversation.set(conversation, (mine = []));
    if (TeamsLimits.breaks(mine, TEAMS_LIMITS.perConversation, t) || TeamsLimits.breaks(this.global, TEAMS_LIMITS.global, t)) {
      this.throttled++;
      return false;
    }
    mine.push(t);
    this.global.push(t);
    return true;
  }
}

/**
 * The least time Teams' limits allow for `cards` messages shared evenly over `people` chats, from
 * the first send to the last: the tenant's 30 a second (a sliding window) or a chat's own limits,
 * whichever binds.
 */
export function minimumDeliverySeconds(cards: number, people: number): number {
  const global = TEAMS_LIMITS.global[0];
  const overall = Math.floor((cards - 1) / global.count) * (global.windowMs / 1000);
  const each = Math.ceil(cards / people);
  const perChat = Math.max(...TEAMS_LIMITS.perConversation.map((w) => Math.floor((each - 1) / w.count) * (w.windowMs / 1000)));
  return Math.max(overall, perChat);
}

async function benchDelivery(): Promise<string[]> {
  const limits = new TeamsLimits();
  const connector = await startConnector({
    answers: (_i, request) => {
      const chat = decodeURIComponent(/^\/v3\/conversations\/([^/]+)/.exec(request.path)![1]);
      return limits.accept(chat, Date.now()) ? undefined : { status: 429, headers: { 'retry-after': '1' } };
    },
  });
  try {
    // The server, in a schema of the benchmark's own, dropped afterwards.
    return await inServerSchema('bench_delivery', async (db) => {
      await migrate(db);
      const people = Array.from({ length: PEOPLE }, (_, i) => guid(0x53, i));
      const conversations = createConversationStore(db);
      for (const staffId of people) {
        const chat = `a:personal-${staffId}`;
        await conversations.save({
          conversationId: chat,
          staffId,
          conversationType: 'personal',
          reference: { channelId: 'msteams', serviceUrl: connector.url, conversation: { id: chat, conversationType: 'personal' }, bot: { id: '28:bot' }, user: { id: `29:${staffId}`, aadObjectId: staffId } },
        });
      }
      await db.transaction(async (tx) => {
        for (let i = 0; i < CARDS; i++) {
          const label = `bench card ${i}`;
          await enqueueCard(tx, { to: { staffId: people[i % PEOPLE] }, card: { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: label }], fallbackText: label } });
        }
      });
      // As the bot runs it (bot/deliveryLoop.ts): the dispatcher's defaults, botbuilder's CloudAdapter in local mode.
      const dispatcher = createDispatcher({ db, handlers: teamsHandlers({ adapter: createAdapter(botConfigFromEnv({})), appId: '', db }), claimer: 'bench' });
      const start = Date.now();
      dispatcher.start();
      const deadline = start + DELIVERY_BUDGET_S * 1000;
      for (;;) {
        await new Promise((r) => setTimeout(r, 50));
        if (connector.delivered.length >= CARDS || Date.now() > deadline) break;
        const counts = await countByStatus(db);
        if (counts.pending === 0 && counts.waiting === 0) break;
      }
      await dispatcher.stop();
      const delivered = connector.delivered;
      const counts = await countByStatus(db);
      const minimum = minimumDeliverySeconds(CARDS, PEOPLE);
      const what = `delivery of ${n(CARDS)} cards to ${n(PEOPLE)} people within Teams' limits (loopback connector, 429 beyond them)`;
      const answers = `${n(limits.throttled)} answered 429, ${n(counts.failed)} failed`;
      if (delivered.length < CARDS) {
        // Stopped at the budget: the rate so far says how long the whole would take.
        const seconds = (Date.now() - start) / 1000;
        const projected = (seconds * CARDS) / Math.max(1, delivered.length);
        return [
          `${what}: not done within ${DELIVERY_BUDGET_S} s, ${n(delivered.length)} delivered (${(delivered.length / seconds).toFixed(1)}/s against the ${TEAMS_LIMITS.global[0].count}/s allowed); ` +
            `all ${n(CARDS)} would take about ${projected.toFixed(0)} s against a minimum of ${minimum.toFixed(1)} s (+${((projected / minimum - 1) * 100).toFixed(0)}%, aim within 10%); ${answers}`,
        ];
      }
      const total = (delivered[delivered.length - 1].at - start) / 1000;
      const over = (total / minimum - 1) * 100;
      return [`${what}: ${total.toFixed(1)} s against a minimum of ${minimum.toFixed(1)} s (${over >= 0 ? '+' : ''}${over.toFixed(1)}%, aim within 10%); ${n(delivered.length)} delivered, ${answers}`];
    });
  } catch (e) {
    return [`delivery within Teams' limits: not measured (${(e as Error).message.slice(0, 120)})`];
  } finally {
    await connector.close();
  }
}

export async function benchReminders(): Promise<string[]> {
  const only = process.env.BENCH_REMINDERS;
  return [...(only === 'delivery' ? [] : await benchSweeps()), ...(only === 'sweep' ? [] : await benchDelivery())];
}

if (require.main === module) {
  benchReminders().then((lines) => lines.forEach((l) => console.log(l)));
}
