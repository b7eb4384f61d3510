import { ActivityHandler } from 'botbuilder';
import { botConfigFromEnv } from '../../bot/config';
import { RunningServer, startServer } from '../../bot/server';
import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { calendarFor } from '../../src/calendar';
import { graphCalendar } from '../../src/graph/calendar';
import { CalendarSyncDeps, ChangeNotification, handleNotifications, keepSubscriptions, reconcileCalendars } from '../../src/graph/calendarSync';
import { createGraph, Graph } from '../../src/graph/client';
import { graphConfigFromEnv } from '../../src/graph/config';
import { LocalDate } from '../../src/localDate';
import { loadPolicy } from '../../src/policy';
import { createCalendarSyncStore } from '../../src/storage/calendarSyncStore';
import { createCaseLog } from '../../src/storage/caseLog';
import { createMeetingStore, MeetingStore, TafMeeting } from '../../src/storage/meetingStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { bookingPass, BookingPassContext } from '../../src/taf/bookingPass';
import { allocationInput } from '../helpers/allocationInput';
import { bookQueued } from '../helpers/calendarSender';
import { ENGINES, TestDatabase } from '../helpers/database';
import { MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/**
 * Meetings kept in step with Outlook: moved or cancelled in the calendar, the product notices by
 * change notification (handshake, clientState) or, when a notification is lost, by the delta
 * reconciliation; a move past the deadline is told to the worker; a cancelled meeting is booked again.
 */

const policy = loadPolicy();
const calendar = calendarFor(policy);
const today = '2026-11-25' as LocalDate;
const now = () => new Date(`${today}T10:00:00Z`);

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let server: GraphServer;
  let graph: Graph;
  let meetings: MeetingStore;
  let ctx: CaseWorkContext;
  let pass: BookingPassContext;
  let deps: CalendarSyncDeps;
  let listener: RunningServer;
  const answered: Array<{ applied: number; rejected: number }> = [];

  beforeAll(async () => {
    t = await open();
    server = await startGraphServer();
    for (const m of TEAM) server.users.set(m.id, directoryUser(m.name, { id: m.id, mail: m.email, userPrincipalName: m.email }));
    graph = createGraph(graphConfigFromEnv(server.env())!, { retry: { baseDelayMs: 20, jitterMs: 20 } });
    const directory = createStaffDirectory(t.db);
    await directory.save(TEAM, 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
    meetings = createMeetingStore(t.db);
    pass = { db: t.db, caseLog: ctx.caseLog, meetings, policy, calendar, calendarKind: 'outlook' };
    // The notification endpoint as the server runs it (bot/server.ts): the handshake, then the notifications.
    listener = await startServer({
      config: { ...botConfigFromEnv({}), port: 0 },
      bot: new ActivityHandler(),
      calendarNotifications: async (body) => {
        const result = await handleNotifications(deps, body as { value?: ChangeNotification[] });
        answered.push({ applied: result.applied.filter((c) => c.kind !== 'none').length, rejected: result.rejected });
      },
    });
    deps = { db: t.db, graph, meetings, directory, notificationUrl: `${listener.url}/api/graph/notifications`, now };
  });
  afterAll(async () => {
    await listener?.close();
    await server?.close();
    await t?.dispose();
  });

  async function bookOne(): Promise<TafMeeting> {
    const record = await allocateCase(ctx, MORGAN, allocationInput());
    await bookingPass(pass, { now: now() });
    await bookQueued({ db: t.db, port: graphCalendar(graph), policy, calendar, now });
    return (await meetings.list({ caseId: record.caseId }))[0];
  }
  const cards = async (view: string) => (await t.db.query<{ payload: { meetingId: string } }>(`SELECT payload FROM outbox WHERE kind = 'taf-meeting' AND payload->>'view' = $1`, [view])).map((r) => r.payload.meetingId);
  async function settled() {
    await server.calendar.settled();
    // The listener answers before it applies: give it the moment it needs.
    for (let i = 0; i < 100 && answered.length < server.calendar.notifications.filter((n) => n.status !== 'dropped').length; i++) await new Promise((r) => setTimeout(r, 20));
  }

  test('subscribed with a secret once a meeting is booked; a move past the deadline notified: the meeting follows and the worker is told', async () => {
    const m = await bookOne();
    expect(m.state).toBe('booked');
    expect(await keepSubscriptions(deps)).toEqual({ created: 1, renewed: 0, failed: 0 });
    expect(await keepSubscriptions(deps)).toEqual({ created: 0, renewed: 0, failed: 0 });
    const [subscription] = server.calendar.subscriptions;
    expect(subscription.resource.toLowerCase()).toBe(`/users/${encodeURIComponent(SAM.email)}/events`.toLowerCase());
    expect(subscription.clientState).toBe((await createCalendarSyncStore(t.db).subscriptions())[0].clientState);
    expect(subscription.clientState!.length).toBeGreaterThanOrEqual(32);

    // Sam moves it in Outlook to Tuesday 5 January, after its deadline (Monday 4th).
    server.calendar.userMoves(SAM.email, m.eventId!, { start: new Date('2027-01-05T10:00:00Z'), end: new Date('2027-01-05T11:30:00Z') });
    await settled();
    const moved = (await meetings.get(m.id))!;
    expect(moved.startsAt?.toISOString()).toBe('2027-01-05T10:00:00.000Z');
    expect(await cards('moved')).toEqual([m.id]);
  });

  test('a notification with the wrong secret, or for an unknown subscription, changes nothing', async () => {
    const [m] = await meetings.list({ states: ['booked'] });
    const [subscription] = await createCalendarSyncStore(t.db).subscriptions();
    const forged = { subscriptionId: subscription.id, clientState: 'not-the-secret', changeType: 'deleted', resourceData: { id: m.eventId } };
    expect(await handleNotifications(deps, { value: [forged, { ...forged, subscriptionId: 'unknown', clientState: subscription.clientState }] })).toEqual({ applied: [], rejected: 2 });
    expect((await meetings.get(m.id))?.state).toBe('booked');
  });

  test('notifications lost: the delta reconciliation catches a move and a cancellation; the cancelled meeting is booked again', async () => {
    const [m] = await meetings.list({ states: ['booked'] });
    // A first reconciliation records where the calendar stands.
    expect((await reconcileCalendars(deps)).changes).toEqual([]);
    server.calendar.dropNotifications(2);
    server.calendar.userMoves(SAM.email, m.eventId!, { start: new Date('2026-12-30T13:00:00Z'), end: new Date('2026-12-30T14:30:00Z') });
    await settled();
    expect((await meetings.get(m.id))?.startsAt?.toISOString()).toBe('2027-01-05T10:00:00.000Z');
    const { changes } = await reconcileCalendars(deps);
    expect(changes).toEqual([{ kind: 'moved', start: new Date('2026-12-30T13:00:00Z'), end: new Date('2026-12-30T14:30:00Z'), late: false, changeKey: expect.any(String) }]);
    // Inside the deadline now: no second card.
    expect(await cards('moved')).toEqual([m.id]);

    server.calendar.userCancels(SAM.email, m.eventId!);
    await settled();
    expect((await reconcileCalendars(deps)).changes).toEqual([{ kind: 'cancelled' }]);
    expect((await meetings.get(m.id))?.state).toBe('cancelled');
    expect(await cards('cancelled')).toEqual([m.id]);
    // Run again: nothing more.
    expect((await reconcileCalendars(deps)).changes).toEqual([]);
    // The case still needs its first TAF: the next pass books it again.
    const again = await bookingPass(pass, { now: now() });
    expect(again.planned.map((p) => [p.caseId, p.kind])).toEqual([[m.caseId, 'first-taf']]);
  });

  test('a sync state Graph discarded (410) starts over; a subscription near its expiry is renewed', async () => {
    await bookQueued({ db: t.db, port: graphCalendar(graph), policy, calendar, now });
    const [m] = await meetings.list({ states: ['booked'] });
    server.calendar.expireSyncStates();
    server.calendar.dropNotifications(1);
    server.calendar.userMoves(SAM.email, m.eventId!, { start: new Date('2026-12-31T13:00:00Z'), end: new Date('2026-12-31T14:30:00Z') });
    await settled();
    expect((await reconcileCalendars(deps)).changes.map((c) => c.kind)).toEqual(['moved']);
    const store = createCalendarSyncStore(t.db);
    const [before] = await store.subscriptions();
    // Two and a half days on, it has less than a day left: renewed.
    const later = { ...deps, wallClock: () => new Date(Date.now() + 2.5 * 24 * 60 * 60_000) };
    expect(await keepSubscriptions(later)).toEqual({ created: 0, renewed: 1, failed: 0 });
    const [after] = await store.subscriptions();
    expect(after.id).toBe(before.id);
    expect(after.expiresAt.getTime()).toBeGreaterThan(before.expiresAt.getTime());
  });
});
