import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { reallocateCase } from '../../src/reallocation';
import { calendarFor } from '../../src/calendar';
import { Dispatcher } from '../../src/delivery/dispatcher';
import { graphCalendar } from '../../src/graph/calendar';
import { createGraph, Graph } from '../../src/graph/client';
import { graphConfigFromEnv } from '../../src/graph/config';
import { LocalDate } from '../../src/localDate';
import { loadPolicy } from '../../src/policy';
import { StaffMember } from '../../src/staff';
import { createCaseLog } from '../../src/storage/caseLog';
import { createMeetingStore, MeetingStore } from '../../src/storage/meetingStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { bookingPass, BookingPassContext } from '../../src/taf/bookingPass';
import { tafMeetingMoved } from '../../src/taf/meetingOutcome';
import { addTafMember } from '../../src/taf/tafMembers';
import { createCalendarDispatcher } from '../../src/taf/calendarDelivery';
import { allocationInput } from '../helpers/allocationInput';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/**
 * TAF meetings booked in Outlook through Graph, against the loopback Graph server over HTTPS with
 * tokens from its loopback Entra ID: the slot from getSchedule, the event with a Teams meeting and
 * its transactionId, two requests a booking, and a throttling storm in which each case is booked
 * exactly once.
 */

const policy = loadPolicy();
const calendar = calendarFor(policy);

/** Workers of the North team beyond the demo ones, so that a storm spreads over many mailboxes. */
const WORKERS: StaffMember[] = Array.from({ length: 20 }, (_, i) => ({
  id: `aaaaaaaa-0000-4000-8000-${String(i).padStart(12, '0')}`,
  name: `Worker ${i}`,
  email: `worker.${i}@council.example`,
  role: 'worker',
  team: 'North',
  lineManager: MORGAN.id,
  capacityPoints: 100,
  active: true,
}));

async function until(what: () => Promise<boolean>, ms: number) {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let server: GraphServer;
  let graph: Graph;
  let ctx: CaseWorkContext;
  let meetings: MeetingStore;
  let pass: BookingPassContext;
  let sender: Dispatcher | undefined;
  const today = '2026-11-25' as LocalDate;
  const now = () => new Date(`${today}T10:00:00Z`);

  beforeAll(async () => {
    t = await open();
    server = await startGraphServer();
    for (const m of [...TEAM, ...WORKERS]) server.users.set(m.id, directoryUser(m.name, { id: m.id, mail: m.email, userPrincipalName: m.email }));
    graph = createGraph(graphConfigFromEnv(server.env())!, { retry: { baseDelayMs: 50, jitterMs: 50 } });
    const directory = createStaffDirectory(t.db);
    await directory.save([...TEAM, ...WORKERS], 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
    meetings = createMeetingStore(t.db);
    pass = { db: t.db, caseLog: ctx.caseLog, meetings, policy, calendar, calendarKind: 'outlook' };
  });
  afterEach(async () => {
    await sender?.stop();
    sender = undefined;
  });
  afterAll(async () => {
    await server?.close();
    await t?.dispose();
  });

  const startSender = () => {
    sender = createCalendarDispatcher({ db: t.db, port: graphCalendar(graph), policy, calendar, now, dispatcher: { backoff: { baseMs: 50, maxMs: 400 }, pollMs: 50 } });
    sender.start();
  };
  const allBooked = async () => (await meetings.list({ states: ['booking'] })).length === 0;

  test('the first free slot by getSchedule, in the worker\u2019s calendar with a Teams meeting; the reference and agenda only; two requests', async () => {
    // Sam is busy all of Wednesday 23 December, the first day of the window's aim.
    server.calendar.addBusy(SAM.email, { start: new Date('2026-12-23T00:00:00Z'), end: new Date('2026-12-23T23:59:00Z') });
    const record = await allocateCase(ctx, MORGAN, allocationInput({ familyName: 'Quarrington', children: [{ name: 'Peregrine', dateOfBirth: '2018-02-03' }] }));
    await bookingPass(pass, { now: now() });
    server.reset();
    startSender();
    await until(allBooked, 10_000);
    const [m] = await meetings.list({ caseId: record.caseId });
    expect(m).toMatchObject({ state: 'booked', calendar: 'outlook', late: false, conflicts: 0 });
    expect(m.startsAt?.toISOString()).toBe('2026-12-24T09:30:00.000Z');

    const events = server.calendar.events(SAM.email).filter((e) => e.transactionId === m.transactionId);
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toMatchObject({
      id: m.eventId,
      subject: `${record.reference}: First TAF meeting`,
      isOnlineMeeting: true,
      onlineMeetingProvider: 'teamsForBusiness',
      start: { dateTime: '2026-12-24T09:30:00.0000000', timeZone: 'GMT Standard Time' },
      end: { dateTime: '2026-12-24T11:00:00.0000000', timeZone: 'GMT Standard Time' },
    });
    expect(m.joinUrl).toBe(event.onlineMeeting?.joinUrl);
    expect(m.joinUrl).toMatch(/^https:\/\/teams\.microsoft\.com\/l\/meetup-join\//);
    expect(JSON.stringify(event)).not.toMatch(/Quarrington|Peregrine|Fernsby|Tallulah/);
    expect(event.body?.content).toContain(`Early Help case ${record.reference}`);
    // getSchedule and the create: two requests for the booking.
    expect(server.requests.filter((r) => !r.path.startsWith('/v1.0/$batch')).map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([
      `POST /v1.0/users/${encodeURIComponent(SAM.email)}/calendar/getSchedule`,
      `POST /v1.0/users/${encodeURIComponent(SAM.email)}/events`,
    ]);
  });

  test('moved from the card: the meeting and then its Outlook event take the new time (London), with a change key', async () => {
    const [m] = (await meetings.list({ states: ['booked'] })).filter((x) => x.organiser === SAM.id);
    const mctx = { ...ctx, db: t.db, meetings, policy, calendar, now };
    const moved = await tafMeetingMoved(mctx, SAM, m.id, { date: '2027-01-04', time: '13:00' }, now());
    expect(moved.late).toBe(false);
    server.reset();
    startSender();
    await until(async () => server.calendar.events(SAM.email).find((e) => e.id === m.eventId)?.start.dateTime === '2027-01-04T13:00:00.0000000', 10_000);
    const event = server.calendar.events(SAM.email).find((e) => e.id === m.eventId)!;
    expect(event).toMatchObject({ start: { dateTime: '2027-01-04T13:00:00.0000000', timeZone: 'GMT Standard Time' }, end: { dateTime: '2027-01-04T14:30:00.0000000', timeZone: 'GMT Standard Time' } });
    expect(server.requests.map((r) => `${r.method} ${r.path.split('?')[0]}`)).toEqual([`PATCH /v1.0/users/${encodeURIComponent(SAM.email)}/events/${encodeURIComponent(m.eventId!)}`]);
    await until(async () => (await meetings.get(m.id))?.changeKey === event.changeKey, 5_000);
  });

  test('a create that went through but was answered 504 is tried again with its transactionId: one event', async () => {
    const record = await allocateCase(ctx, MORGAN, allocationInput());
    await bookingPass(pass, { now: now() });
    server.reset();
    server.fail(1, { status: 504, afterWork: true, match: (r) => r.method === 'POST' && /\/events$/.test(r.path) });
    startSender();
    await until(allBooked, 10_000);
    const [m] = await meetings.list({ caseId: record.caseId });
    expect(server.requests.filter((r) => r.method === 'POST' && /\/events$/.test(r.path)).map((r) => r.status)).toEqual([504, 201]);
    expect(server.calendar.events(SAM.email).filter((e) => e.transactionId === m.transactionId)).toHaveLength(1);
    // Sam's second meeting is not at the time of the first.
    const sams = await meetings.list({ states: ['booked'] });
    expect(new Set(sams.filter((x) => x.organiser === SAM.id).map((x) => x.startsAt?.toISOString())).size).toBe(sams.filter((x) => x.organiser === SAM.id).length);
  });

  test('the TAF members are invited: an agency by name, the family by address alone; a member who is staff must be free too', async () => {
    const organiser = WORKERS[0];
    const record = await allocateCase(ctx, MORGAN, allocationInput({ leadProfessional: organiser.id, familyName: 'Fernsby' }));
    const as = { ...organiser };
    await addTafMember(ctx, as, record.caseId, { name: 'Pat Head', agency: 'Greenfield Primary', email: 'Head@Greenfield.sch.example' });
    await addTafMember(ctx, as, record.caseId, { name: 'Jade Fernsby', email: 'parent.one@family.example', family: true });
    await addTafMember(ctx, as, record.caseId, { name: 'Alex Kim', agency: 'Early Help', email: ALEX.email });
    // Alex (staff, so free/busy is known) is away all of Wednesday 23 December, the first day of the aim.
    server.calendar.addBusy(ALEX.email, { start: new Date('2026-12-23T00:00:00Z'), end: new Date('2026-12-23T23:59:00Z'), status: 'oof' });
    await bookingPass(pass, { now: now() });
    startSender();
    await until(allBooked, 10_000);
    const [m] = await meetings.list({ caseId: record.caseId });
    expect(m.startsAt?.toISOString()).toBe('2026-12-24T09:30:00.000Z');
    const [event] = server.calendar.events(organiser.email).filter((e) => e.id === m.eventId);
    expect(event.attendees.map((a) => a.emailAddress)).toEqual([
      { address: 'head@greenfield.sch.example', name: 'Pat Head (Greenfield Primary)' },
      expect.objectContaining({ address: 'parent.one@family.example' }),
      { address: ALEX.email, name: 'Alex Kim (Early Help)' },
    ]);
    expect(JSON.stringify(event)).not.toMatch(/Jade|Fernsby/);
  });

  test('a case reallocated with its meeting booked: the meeting is cancelled in the old worker\u2019s Outlook and booked in the new worker\u2019s', async () => {
    const from = WORKERS[1];
    const to = WORKERS[2];
    const record = await allocateCase(ctx, MORGAN, allocationInput({ leadProfessional: from.id }));
    await bookingPass(pass, { now: now() });
    startSender();
    await until(allBooked, 10_000);
    const [before] = await meetings.list({ caseId: record.caseId });
    expect(server.calendar.events(from.email).map((e) => e.id)).toEqual([before.eventId]);
    await sender!.stop();

    const current = await ctx.caseLog.read(record.caseId, { actor: 'test' });
    expect(current.version).toBeGreaterThan(0);
    await reallocateCase(ctx, MORGAN, record.caseId, { leadProfessional: to.id, caseloadPoints: 0, reason: 'Worker leaving' });
    const pass2 = await bookingPass(pass, { now: now() });
    expect(pass2.settled).toEqual([{ meetingId: before.id, caseId: record.caseId, reference: record.reference, state: 'cancelled', reason: 'reallocated' }]);
    expect(pass2.planned.map((p) => [p.caseId, p.organiser])).toEqual([[record.caseId, to.id]]);
    server.reset();
    startSender();
    await until(allBooked, 10_000);
    await until(async () => server.calendar.events(from.email).length === 0, 10_000);
    const after = (await meetings.list({ caseId: record.caseId })).find((m) => m.state === 'booked')!;
    expect(after.organiser).toBe(to.id);
    expect(server.calendar.events(to.email).map((e) => e.id)).toEqual([after.eventId]);
    expect(server.requests.filter((r) => r.path.endsWith('/cancel')).map((r) => `${r.method} ${r.status}`)).toEqual(['POST 202']);
  });

  test('a throttling storm while booking 200 cases over 20 mailboxes: each booked exactly once, none overlapping its organiser\u2019s others', async () => {
    for (let i = 0; i < 200; i++) await allocateCase(ctx, MORGAN, allocationInput({ leadProfessional: WORKERS[i % WORKERS.length].id }));
    const planned = await bookingPass(pass, { now: now() });
    expect(planned.planned).toHaveLength(200);
    server.reset();
    server.fail(120, { status: 429, retryAfter: 1 });
    server.fail(40, { status: 503 });
    server.fail(30, { status: 504, afterWork: true, match: (r) => r.method === 'POST' && /\/events$/.test(r.path) });
    startSender();
    await until(allBooked, 90_000);
    const stormCases = new Set(planned.planned.map((p) => p.caseId));
    const booked = (await meetings.list({ states: ['booked'] })).filter((m) => WORKERS.some((w) => w.id === m.organiser));
    expect(booked.filter((m) => stormCases.has(m.caseId))).toHaveLength(200);
    const statuses = server.requests.map((r) => r.status);
    expect(statuses.filter((s) => s === 429).length).toBe(120);
    expect(statuses.filter((s) => s === 504).length).toBe(30);
    for (const w of WORKERS) {
      const events = server.calendar.events(w.email);
      const theirs = booked.filter((m) => m.organiser === w.id);
      expect({ worker: w.email, events: events.length }).toEqual({ worker: w.email, events: theirs.length });
      expect(new Set(events.map((e) => e.transactionId)).size).toBe(events.length);
      expect(new Set(theirs.map((m) => m.eventId))).toEqual(new Set(events.map((e) => e.id)));
      // No two of a worker's meetings at once.
      const times = theirs.map((m) => [m.startsAt!.getTime(), m.endsAt!.getTime()]).sort((a, b) => a[0] - b[0]);
      for (let i = 1; i < times.length; i++) expect(times[i][0]).toBeGreaterThanOrEqual(times[i - 1][1]);
    }
    const failed = await t.db.query(`SELECT id FROM outbox WHERE kind = 'taf-booking' AND status <> 'delivered'`);
    expect(failed).toEqual([]);
    // At most 4 requests at once to any mailbox.
    expect(Math.max(...server.peakConcurrency.values())).toBeLessThanOrEqual(4);
  }, 120_000);
});
