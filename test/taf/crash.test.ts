import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { calendarFor } from '../../src/calendar';
import { LocalDate } from '../../src/localDate';
import { loadPolicy } from '../../src/policy';
import { StaffMember } from '../../src/staff';
import { createCaseLog } from '../../src/storage/caseLog';
import { createMeetingStore } from '../../src/storage/meetingStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { bookingPass } from '../../src/taf/bookingPass';
import { allocationInput } from '../helpers/allocationInput';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { MORGAN, TEAM } from '../helpers/demoStaff';
import { directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/**
 * Booking TAF meetings as real processes (issue 9, "Faults"): the calendar sender killed with
 * SIGKILL again and again while it books, mid-request included, then run to the end. Every meeting
 * is booked, each exactly once in its organiser's calendar (the transactionId makes a create tried
 * again after a kill answer the event already made), and no booking is left in doubt.
 */

const BOOKER = path.join(__dirname, 'booker.ts');
const policy = loadPolicy();
const calendar = calendarFor(policy);
const today = '2026-11-25' as LocalDate;

const WORKERS: StaffMember[] = Array.from({ length: 8 }, (_, i) => ({
  id: `bbbbbbbb-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: `Booker Worker ${i}`,
  email: `booker.worker.${i}@council.example`,
  role: 'worker',
  team: 'North',
  lineManager: MORGAN.id,
  capacityPoints: 100,
  active: true,
}));

const children: ChildProcess[] = [];

function spawnBooker(url: string, server: GraphServer): { child: ChildProcess; ready: Promise<void>; exited: Promise<void> } {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', BOOKER], { env: { ...process.env, ...server.env(), DATABASE_URL: url, NOW: `${today}T10:00:00Z`, LEASE_MS: '400' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (b) => (stderr += b));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (b) => String(b).includes('ready') && resolve());
    child.on('exit', (code, signal) => reject(new Error(`the booker ended before it was ready (${code ?? signal}): ${stderr}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exited };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

describe('the calendar sender killed with SIGKILL while booking', () => {
  let t: TestDatabase;
  let server: GraphServer;
  beforeAll(async () => {
    t = await serverDatabase();
    // Each request takes a little while, so that kills land while requests are in flight.
    server = await startGraphServer({ latencyMs: 40 });
    for (const m of [...TEAM, ...WORKERS]) server.users.set(m.id, directoryUser(m.name, { id: m.id, mail: m.email, userPrincipalName: m.email }));
  });
  afterAll(async () => {
    await server?.close();
    await t?.dispose();
  });

  test('again and again, then to the end: every meeting booked exactly once, none in doubt', async () => {
    const directory = createStaffDirectory(t.db);
    await directory.save([...TEAM, ...WORKERS], 'test');
    const ctx: CaseWorkContext = { caseLog: createCaseLog(t.db), directory, today: () => today };
    for (let i = 0; i < 48; i++) await allocateCase(ctx, MORGAN, allocationInput({ leadProfessional: WORKERS[i % WORKERS.length].id }));
    const meetings = createMeetingStore(t.db);
    const planned = await bookingPass({ db: t.db, caseLog: ctx.caseLog, meetings, policy, calendar, calendarKind: 'outlook' }, { now: new Date(`${today}T10:00:00Z`) });
    expect(planned.planned).toHaveLength(48);

    const inFlight = async () => Number((await t.db.query<{ n: string }>(`SELECT count(*) AS n FROM outbox WHERE kind = 'taf-booking' AND status = 'pending' AND send_started_at IS NOT NULL`))[0].n);
    let killedMidSend = 0;
    for (let round = 0; round < 10; round++) {
      const booker = spawnBooker(t.url!, server);
      await booker.ready;
      // Once it has sent something, kill it a moment later, wherever it is.
      const sent = server.requests.length;
      const start = Date.now();
      while (server.requests.length === sent && Date.now() - start < 5_000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
      booker.child.kill('SIGKILL');
      await booker.exited;
      if ((await inFlight()) > 0) killedMidSend++;
      if ((await meetings.list({ states: ['booking'] })).length === 0) break;
    }
    // Then one left to finish.
    const last = spawnBooker(t.url!, server);
    await last.ready;
    const end = Date.now() + 60_000;
    while ((await meetings.list({ states: ['booking'] })).length > 0) {
      if (Date.now() > end) throw new Error('the bookings did not finish');
      await new Promise((r) => setTimeout(r, 50));
    }
    last.child.kill('SIGKILL');
    await last.exited;

    expect(killedMidSend).toBeGreaterThan(0);
    const booked = await meetings.list({ states: ['booked'] });
    expect(booked).toHaveLength(48);
    for (const w of WORKERS) {
      const events = server.calendar.events(w.email);
      const theirs = booked.filter((m) => m.organiser === w.id);
      expect({ worker: w.email, events: events.length }).toEqual({ worker: w.email, events: theirs.length });
      expect(new Set(theirs.map((m) => m.eventId))).toEqual(new Set(events.map((e) => e.id)));
      expect(new Set(events.map((e) => e.transactionId)).size).toBe(events.length);
    }
    expect(await t.db.query(`SELECT id, status, last_error FROM outbox WHERE kind = 'taf-booking' AND status <> 'delivered'`)).toEqual([]);
  }, 150_000);
});
