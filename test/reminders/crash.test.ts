import { spawn } from 'node:child_process';
import path from 'node:path';
import { Caseload, loadCaseload, reminderCaseload, sweepContext } from '../../bench/reminders';
import { LocalDate } from '../../src/localDate';
import { reminderInstant } from '../../src/reminderTime';
import { PlannedNotification } from '../../src/reminders/plan';
import { plannedFromPayload } from '../../src/reminders/reminderPayload';
import { SweepContext, sweepReminders } from '../../src/reminders/sweep';
import { SWEEP_LEASE_MS } from '../../src/storage/reminderStore';
import { serverDatabase, TestDatabase } from '../helpers/database';
import type { SweptAnswer } from './sweeper';

/**
 * The scheduler as real processes on one PostgreSQL database (issue 8, "Tests"): a sweeper killed
 * with SIGKILL at random points of its sweeps, again and again, then run to the end; and two
 * sweepers sweeping at the same instant. Whatever happens, every digest and escalation is queued
 * once, each escalation has exactly one `escalated` event on its case, and what is queued is what
 * the dry run taken beforehand planned, and what sweeps that nobody interrupted queue on a copy of
 * the same caseload.
 *
 * "Run to the end" is sweeps at the same instant until one plans nothing: a case owed two
 * escalations the same morning gets the second one at the sweep after (src/reminders/sweep.ts
 * `queue` appends each at the version it read), so one sweep is not always the whole of a morning.
 */

const SWEEPER = path.join(__dirname, 'sweeper.ts');
/** A lease short enough that a sweeper restarted after a kill takes over quickly. */
const CRASH_LEASE_MS = 300;

interface Sweeper {
  ready: Promise<void>;
  /** One sweep: `started` once it begins, `done` with its answer, or null when the process ended first. */
  sweep(now: Date, leaseMs: number, wait?: boolean): { started: Promise<void>; done: Promise<SweptAnswer | null> };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
  kill(): void;
}

const running: Sweeper[] = [];

function spawnSweeper(url: string, holder: string): Sweeper {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', SWEEPER], { env: { ...process.env, DATABASE_URL: url, HOLDER: holder }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let buffered = '';
  let onReady!: () => void;
  let onFail!: (e: Error) => void;
  const ready = new Promise<void>((resolve, reject) => ((onReady = resolve), (onFail = reject)));
  ready.catch(() => undefined); // a spare killed before it was needed is no failure
  let pending: { started: () => void; done: (a: SweptAnswer | null) => void } | null = null;
  child.stdout!.on('data', (b) => {
    buffered += b;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line === 'ready') onReady();
      else if (line === 'sweeping') pending?.started();
      else if (line.startsWith('swept ')) {
        const p = pending;
        pending = null;
        p?.done(JSON.parse(line.slice('swept '.length)) as SweptAnswer);
      }
    }
  });
  child.stderr!.on('data', (b) => (stderr += b));
  child.stdin!.on('error', () => undefined); // killed before it read its line
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) => {
    child.on('exit', (code, signal) => {
      onFail(new Error(`the sweeper ended before it was ready (${code ?? signal}): ${stderr}`));
      pending?.started();
      pending?.done(null);
      pending = null;
      resolve({ code, signal, stderr });
    });
  });
  const sweeper: Sweeper = {
    ready,
    exited,
    sweep(now, leaseMs, wait = false) {
      let started!: () => void;
      let done!: (a: SweptAnswer | null) => void;
      const result = { started: new Promise<void>((r) => (started = r)), done: new Promise<SweptAnswer | null>((r) => (done = r)) };
      pending = { started, done };
      child.stdin!.write(`sweep ${now.toISOString()} ${leaseMs}${wait ? ' wait' : ''}\n`);
      return result;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
  running.push(sweeper);
  return sweeper;
}

afterAll(async () => {
  for (const s of running) s.kill();
  await Promise.all(running.map((s) => s.exited));
});

/**
 * The value with its keys in one order (jsonb keeps them in its own); on a copy, without the ids
 * the copy cannot share (a case's id, and the event id a CAF awaiting a decision is known by).
 */
function canonical(value: unknown, copy: boolean): unknown {
  if (Array.isArray(value)) return value.map((v) => canonical(v, copy));
  if (value === null || typeof value !== 'object') return value;
  const ids = copy ? ['caseId', 'dedupeKey', ...((value as { kind?: string }).kind === 'caf-awaiting' ? ['obligationId'] : [])] : [];
  const entries = Object.entries(value).filter(([key, v]) => v !== undefined && !ids.includes(key));
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, v]) => [key, canonical(v, copy)]));
}
/** What a notification says: type, recipient, day, items (case, obligation, due, status), team figures. */
const seen = (p: PlannedNotification) => JSON.stringify(canonical(p, false));
/** The same, as a copy of the caseload would say it. */
const seenOnACopy = (p: PlannedNotification) => JSON.stringify(canonical(p, true));
const sorted = (xs: Iterable<string>) => [...xs].sort();

/** Sweeps at one instant until a sweep plans nothing (a few at most): everything the morning owes. */
async function toTheEnd(ctx: SweepContext, now: Date, holder: string): Promise<PlannedNotification[]> {
  const planned: PlannedNotification[] = [];
  for (let i = 0; i < 6; i++) {
    const result = await sweepReminders(ctx, { now, holder });
    if (result.skipped) throw new Error(`${holder}: ${result.skipped}`);
    if (result.planned.length === 0) return planned;
    planned.push(...result.planned);
  }
  throw new Error(`${holder}: still planning after 6 sweeps at ${now.toISOString()}`);
}

/** A caseload on the server twice over: the one the processes sweep, and a copy swept by sweeps nobody interrupts. */
function caseloadRig(caseload: () => Caseload) {
  const rig = { main: undefined as unknown as TestDatabase, copy: undefined as unknown as TestDatabase, ctx: undefined as unknown as SweepContext, copyCtx: undefined as unknown as SweepContext };
  beforeAll(async () => {
    const load = caseload();
    [rig.main, rig.copy] = await Promise.all([serverDatabase(), serverDatabase()]);
    await Promise.all([loadCaseload(rig.main.db, load), loadCaseload(rig.copy.db, load)]);
    rig.ctx = sweepContext(rig.main.db);
    rig.copyCtx = sweepContext(rig.copy.db);
  }, 60_000);
  afterAll(async () => {
    await rig.main?.dispose();
    await rig.copy?.dispose();
  });
  return rig;
}

/** The reminders in the outbox, and the sweeps' `escalated` events (not the imported ones), for the checks. */
async function queued(t: TestDatabase) {
  const rows = (await t.db.query<{ id: number; dedupe_key: string; case_id: string | null; payload: Record<string, unknown> }>(`SELECT id, dedupe_key, case_id, payload FROM outbox WHERE kind = 'reminder' ORDER BY id`)).map((r) => ({ ...r, payload: plannedFromPayload(r.payload) }));
  const escalated = await t.db.query<{ case_id: string; obligation: string; n: number; swept: number }>(
    `SELECT case_id, data->>'obligation' AS obligation, count(*)::int AS n, count(*) FILTER (WHERE imported_by IS NULL)::int AS swept
       FROM case_events WHERE type = 'escalated' GROUP BY 1, 2`,
  );
  return { rows, escalated };
}

/** Every escalation queued has its one `escalated` event, written with it; no obligation is escalated twice. */
function expectEscalationsOnce({ rows, escalated }: Awaited<ReturnType<typeof queued>>) {
  expect(escalated.filter((e) => e.n !== 1)).toEqual([]);
  const cards = rows.filter((r) => r.payload.type === 'escalation').map((r) => `${r.case_id} ${r.payload.items[0].obligationId}`);
  expect(sorted(cards)).toEqual(sorted(escalated.filter((e) => e.swept === 1).map((e) => `${e.case_id} ${e.obligation}`)));
}

/**
 * Where in its sweep a sweeper is killed: at a random time after it starts (mostly while it reads
 * and plans, holding the lease), just after a random number of its rows reach the outbox, or at a
 * random time after its first row does (among its escalations, digests, next times, the lease's release).
 */
const KILL_POINTS = ['at a random time', 'after a random number of rows', 'at a random time after its first row'] as const;
type KillPoint = (typeof KILL_POINTS)[number];

/** Kills `p` at the point `how`; true if its sweep finished first. */
function killAt(p: Sweeper, done: Promise<SweptAnswer | null>, how: KillPoint, at: { rowsBefore: number; rowsLeft: number; readMs: number; writeMs: number; count: () => Promise<number> }): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    let over = false;
    const fire = () => {
      if (over) return;
      over = true;
      p.kill();
      resolve(false);
    };
    void done.then((answer) => {
      if (answer && !over) {
        over = true;
        resolve(true);
      }
    });
    const rowsWritten = async () => (await at.count()) - at.rowsBefore;
    const untilRows = async (n: number) => {
      while (!over && (await rowsWritten()) < n) await new Promise((r) => setTimeout(r, 2));
    };
    if (how === 'at a random time') setTimeout(fire, Math.random() * (at.readMs + at.writeMs));
    // Some of the rows left may wait for the next sweep (a case's second escalation of the morning).
    else if (how === 'after a random number of rows') void untilRows(1 + Math.floor(Math.random() * Math.max(1, 0.8 * at.rowsLeft))).then(() => setTimeout(fire, Math.random() * 5));
    else void untilRows(1).then(() => setTimeout(fire, Math.random() * at.writeMs));
  });
}

describe('a sweeper killed with SIGKILL at random points during its sweeps', () => {
  const rig = caseloadRig(() => reminderCaseload({ cases: 500, workers: 25, day: '2026-11-25' as LocalDate, missRate: 0.12, seed: 8 }));
  // Mornings swept until there have been KILLS kills, four at most a morning (a sweep that finishes
  // before its kill ends its morning): a Wednesday, a Thursday, the Monday after (the weekly team
  // digests: every open case read), and more if need be.
  const DAYS = ['2026-11-25', '2026-11-26', '2026-11-30', '2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-07'] as LocalDate[];
  const KILLS = 12;

  test(`${KILLS} times over several mornings, then run to the end: each digest and escalation queued once, as the dry run planned and as uninterrupted sweeps queue on a copy`, async () => {
    let n = 0;
    const spawnOne = () => spawnSweeper(rig.main.url!, `crash-${n++}`);
    const spares = [spawnOne(), spawnOne()];
    const next = async () => {
      const s = spares.shift()!;
      spares.push(spawnOne());
      await s.ready;
      return s;
    };
    const count = async () => (await rig.main.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'reminder'`))[0].n;
    const expected: PlannedNotification[] = [];
    const copied: PlannedNotification[] = [];
    const kills: Array<{ day: string; how: KillPoint; rowsWritten: number }> = [];
    let finishedBeforeTheKill = 0;
    const timings: Array<{ readMs: number; writeMs: number }> = [];
    const testStarted = Date.now();

    for (const day of DAYS) {
      if (kills.length >= KILLS) break;
      const now = reminderInstant(day, '08:30');
      // The dry run (reading and planning) and the copy's sweep without interruption time the
      // kills; a sweeper just started is slower, not yet warmed up.
      let started = Date.now();
      const dryRun = (await sweepReminders(rig.ctx, { now, dryRun: true })).planned;
      const readMs = Date.now() - started;
      expected.push(...dryRun);
      started = Date.now();
      copied.push(...(await sweepReminders(rig.copyCtx, { now, holder: 'copy' })).planned);
      const sweepMs = Date.now() - started;
      const writeMs = Math.max(20, sweepMs - readMs);
      copied.push(...(await toTheEnd(rig.copyCtx, now, 'copy')));
      timings.push({ readMs, writeMs });
      const owedToday = await count();

      for (let attempt = 0; attempt < 4 && kills.length < KILLS; attempt++) {
        const p = await next();
        const rowsBefore = await count();
        const { started, done } = p.sweep(now, CRASH_LEASE_MS, true);
        await started;
        const how = KILL_POINTS[kills.length % KILL_POINTS.length];
        const finished = await killAt(p, done, how, { rowsBefore, rowsLeft: dryRun.length - (rowsBefore - owedToday), readMs, writeMs, count });
        if (finished) {
          // It finished before its kill: the morning is done.
          finishedBeforeTheKill++;
          p.kill();
          break;
        }
        expect((await p.exited).signal).toBe('SIGKILL');
        kills.push({ day, how, rowsWritten: (await count()) - rowsBefore });
      }

      // Restarted, and left to run to the end.
      const last = await next();
      for (let i = 0; ; i++) {
        const answer = await last.sweep(now, CRASH_LEASE_MS, true).done;
        expect(answer?.skipped).toBeUndefined();
        if (answer!.planned.length === 0) break;
        expect(i).toBeLessThan(5);
      }
      last.kill();

      const state = await queued(rig.main);
      const keys = state.rows.map((r) => r.dedupe_key);
      expect(new Set(keys).size).toBe(keys.length);
      expect(sorted(keys)).toEqual(sorted(expected.map((p) => p.dedupeKey)));
      expect(sorted(state.rows.map((r) => seen(r.payload)))).toEqual(sorted(expected.map(seen)));
      expect(sorted(copied.map(seenOnACopy))).toEqual(sorted(expected.map(seenOnACopy)));
      expectEscalationsOnce(state);
    }
    for (const s of spares) s.kill();

    expect(kills.length).toBeGreaterThanOrEqual(10);
    const escalations = expected.filter((p) => p.type === 'escalation').length;
    console.log(
      JSON.stringify({
        kills: kills.length,
        finishedBeforeTheKill,
        killedBeforeWriting: kills.filter((k) => k.rowsWritten === 0).length,
        killedAfterWriting: kills.filter((k) => k.rowsWritten > 0).length,
        byKillPoint: Object.fromEntries(KILL_POINTS.map((how) => [how, kills.filter((k) => k.how === how).length])),
        rowsWrittenByKilledSweeps: kills.map((k) => k.rowsWritten),
        planned: expected.length,
        escalations,
        teamDigests: expected.filter((p) => p.type === 'team-digest').length,
        timings,
        seconds: (Date.now() - testStarted) / 1000,
      }),
    );
  }, 120_000);
});

describe('two sweepers on one PostgreSQL at the same instant', () => {
  const rig = caseloadRig(() => reminderCaseload({ cases: 400, workers: 20, day: '2026-11-25' as LocalDate, missRate: 0.12, seed: 9 }));
  // `lease`: the lease keeps them apart, as it should; `expired`: a lease that ran out (a sweep
  // slower than its lease), so both sweep at once and only the dedupe keys and versions keep them apart.
  const ROUNDS: Array<[LocalDate, string, 'lease' | 'expired']> = [
    ['2026-11-25' as LocalDate, '08:30', 'expired'],
    ['2026-11-25' as LocalDate, '08:30', 'lease'],
    ['2026-11-25' as LocalDate, '11:00', 'expired'],
    ['2026-11-26' as LocalDate, '08:30', 'lease'],
    ['2026-11-27' as LocalDate, '08:30', 'expired'],
    ['2026-11-30' as LocalDate, '08:30', 'expired'],
    ['2026-12-01' as LocalDate, '08:30', 'lease'],
  ];

  test('again and again, with the lease and with it run out: no digest or escalation queued twice, and together they queue what one sweeper would', async () => {
    const [a, b] = [spawnSweeper(rig.main.url!, 'instance-a'), spawnSweeper(rig.main.url!, 'instance-b')];
    await Promise.all([a.ready, b.ready]);
    const expected: PlannedNotification[] = [];
    const figures = { rounds: ROUNDS.length, bothSwept: 0, oneSkipped: 0, plannedByA: 0, plannedByB: 0, leftForTheNextSweep: 0 };

    for (const [day, time, mode] of ROUNDS) {
      const now = reminderInstant(day, time);
      expected.push(...(await sweepReminders(rig.ctx, { now, dryRun: true })).planned);
      const oneSweep = (await sweepReminders(rig.copyCtx, { now, holder: 'copy' })).planned;
      const thenAnother = (await sweepReminders(rig.copyCtx, { now, holder: 'copy' })).planned;
      await toTheEnd(rig.copyCtx, now, 'copy');
      const [lastId] = (await rig.main.db.query<{ id: number }>(`SELECT coalesce(max(id), 0)::int AS id FROM outbox`)).map((r) => r.id);

      const leaseMs = mode === 'lease' ? SWEEP_LEASE_MS : 0;
      const [fromA, fromB] = (await Promise.all([a.sweep(now, leaseMs).done, b.sweep(now, leaseMs).done])) as SweptAnswer[];
      if (fromA.skipped || fromB.skipped) figures.oneSkipped++;
      else figures.bothSwept++;
      figures.plannedByA += fromA.planned.length;
      figures.plannedByB += fromB.planned.length;
      expect(fromA.skipped && fromB.skipped).toBeFalsy();
      // Neither queued what the other did, and what they say they queued is what is new in the outbox.
      expect(fromA.planned.filter((k) => fromB.planned.includes(k))).toEqual([]);
      const together = [...fromA.planned, ...fromB.planned];
      const added = (await rig.main.db.query<{ dedupe_key: string; payload: Record<string, unknown> }>(`SELECT dedupe_key, payload FROM outbox WHERE id > $1 AND kind = 'reminder'`, [lastId])).map((r) => ({ ...r, payload: plannedFromPayload(r.payload) }));
      expect(sorted(added.map((r) => r.dedupe_key))).toEqual(sorted(together));
      // Kept apart by the lease, they queue exactly what one sweep queues on the copy (or, if the
      // second came only once the first had finished, what two sweeps one after the other queue).
      if (mode === 'lease') {
        const asOne = fromA.skipped || fromB.skipped ? oneSweep : [...oneSweep, ...thenAnother];
        expect(sorted(added.map((r) => seenOnACopy(r.payload)))).toEqual(sorted(asOne.map(seenOnACopy)));
      }

      figures.leftForTheNextSweep += (await toTheEnd(rig.ctx, now, 'after')).length;
      const state = await queued(rig.main);
      expect(sorted(state.rows.map((r) => r.dedupe_key))).toEqual(sorted(expected.map((p) => p.dedupeKey)));
      expect(sorted(state.rows.map((r) => seen(r.payload)))).toEqual(sorted(expected.map(seen)));
      expectEscalationsOnce(state);
    }
    a.kill();
    b.kill();
    expect(figures.bothSwept).toBeGreaterThan(0);
    console.log(JSON.stringify({ ...figures, planned: expected.length, escalations: expected.filter((p) => p.type === 'escalation').length }));
  }, 60_000);
});
