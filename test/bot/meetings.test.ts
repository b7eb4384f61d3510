import { botConfigFromEnv } from '../../bot/config';
import { AdaptiveCard } from '../../bot/cards/template';
import { meetingFileUrl } from '../../bot/meetingLinks';
import { meetingFile, meetingTime } from '../../bot/meetingViews';
import { RunningServer, startServer } from '../../bot/server';
import { enqueue } from '../../src/delivery/outbox';
import { LocalDate } from '../../src/localDate';
import { readAudit } from '../../src/storage/audit';
import { TafMeeting } from '../../src/storage/meetingStore';
import { graphCalendar } from '../../src/graph/calendar';
import { createGraph } from '../../src/graph/client';
import { graphConfigFromEnv } from '../../src/graph/config';
import { CalendarPort, meetingCard } from '../../src/taf/booking';
import { applyEventState } from '../../src/taf/meetingSync';
import { bookingPass, BookingPassContext } from '../../src/taf/bookingPass';
import { bookQueued } from '../helpers/calendarSender';
import { cardSchemaValidator, parseWarnings, walkCard } from '../helpers/adaptiveCards';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, recordProactiveSends, Sent, textOf } from '../helpers/botHarness';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/**
 * TAF meetings as the worker sees them in Teams (issue 9): the card when one is booked (in local
 * mode, with its calendar file behind a signed link), the card after its end that asks whether it
 * was held, and what Held, Not held and Moved record; a booking that kept failing, retried from its
 * card. The real bot and the real outbox, on both databases.
 */
jest.setTimeout(180_000);

const FAMILY = /Fernsby|Tallulah/;
const validate = cardSchemaValidator();

/** Every action a card offers, by title. */
function actionsOf(card: AdaptiveCard): Map<string, Record<string, unknown>> {
  const found = new Map<string, Record<string, unknown>>();
  walkCard(card.actions ?? [], (n) => {
    if (typeof n.type === 'string' && n.type.startsWith('Action.') && typeof n.title === 'string') found.set(n.title, n);
  });
  return found;
}

function expectValidCard(card: AdaptiveCard): void {
  expect(validate(card) ? [] : validate.errors).toEqual([]);
  expect(parseWarnings(card)).toEqual([]);
  expect(JSON.stringify(card)).not.toContain('${');
  // What a notification may show: the case reference, never the family.
  expect(String(card.fallbackText)).not.toMatch(FAMILY);
}

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let b: BotUnderTest;
  let pass: BookingPassContext;
  let proactive: Sent[];
  let server: RunningServer;
  let graphServer: GraphServer;
  let outlook: CalendarPort;

  beforeAll(async () => {
    // Outlook: the loopback Graph server, over HTTPS with its own Entra ID.
    graphServer = await startGraphServer();
    for (const m of TEAM) graphServer.users.set(m.id, directoryUser(m.name, { id: m.id, mail: m.email, userPrincipalName: m.email }));
    outlook = graphCalendar(createGraph(graphConfigFromEnv(graphServer.env())!, { retry: { baseDelayMs: 10, jitterMs: 10 } }));
    t = await open();
    b = await botUnderTest(t.db);
    proactive = recordProactiveSends(b.adapter);
    for (const m of [MORGAN, SAM, ALEX]) await b.install(m);
    const s = b.services;
    pass = { db: s.db, caseLog: s.caseLog, meetings: s.meetings, policy: s.policy, calendar: s.calendar, calendarKind: 'local' };
    server = await startServer({ config: { ...botConfigFromEnv({}), port: 0 }, bot: b.bot, database: t.db, meetingFiles: (id, query) => meetingFile(b.services, id, query) });
  });
  afterAll(async () => {
    await graphServer?.close();
    await server?.close();
    await b?.delivery.stop();
    await t?.dispose();
  });

  /** Books what the pass queued, with the given calendar, as the calendar sender does. */
  const book = (now: Date, port?: CalendarPort) => bookQueued({ db: t.db, port, policy: b.services.policy, calendar: b.services.calendar, now: () => now });

  const lastOutboxId = async () => (await t.db.query<{ id: number }>('SELECT COALESCE(max(id), 0)::int AS id FROM outbox'))[0].id;

  /** Delivers the `taf-meeting` cards queued after outbox row `since`; each one's view, outcome, and card as sent. */
  async function meetingCards(since: number): Promise<Array<{ meetingId: string; view: string; status: string; card?: AdaptiveCard; to?: string }>> {
    for (let i = 0; i < 200; i++) {
      const [row] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'taf-meeting' AND status = 'pending' AND id > $1`, [since]);
      if (row.n === 0) break;
      const run = await b.delivery.runOnce();
      if (run.claimed === 0) await new Promise((r) => setTimeout(r, 20));
    }
    const rows = await t.db.query<{ payload: { meetingId: string; view: string }; status: string; delivered_activity_id: string | null }>(
      `SELECT payload, status, delivered_activity_id FROM outbox WHERE kind = 'taf-meeting' AND id > $1 ORDER BY id`,
      [since],
    );
    return rows.map((r) => {
      const sent = proactive.find((s) => r.delivered_activity_id && s.activity.id === r.delivered_activity_id);
      return { meetingId: r.payload.meetingId, view: r.payload.view, status: r.status, ...(sent ? { card: cardOf(sent), to: sent.conversationId } : {}) };
    });
  }

  const meetingOf = async (caseId: string, state?: TafMeeting['state']): Promise<TafMeeting> => {
    const all = await b.services.meetings.list({ caseId, ...(state ? { states: [state] } : {}) });
    return all.at(-1)!;
  };
  const eventsOf = async (caseId: string) =>
    t.db.query<{ type: string; data: Record<string, unknown>; effective_on: string }>(`SELECT type, data, effective_on::text AS effective_on FROM case_events WHERE case_id = $1 ORDER BY sequence`, [caseId]);
  const press = (who: typeof SAM, verb: string, m: TafMeeting, view: string, fields: Record<string, unknown> = {}) => b.execute(who, verb, { meetingId: m.id, caseId: m.caseId, view, ...fields });

  const cases: Record<'held' | 'notHeld' | 'moved', { caseId: string; reference: string }> = {} as never;
  let bookedCard: AdaptiveCard;

  test('a first TAF booked in local mode reaches the worker: the time in London, the deadline it meets, the family in the card only, and "Add to my calendar"', async () => {
    b.today.value = '2026-11-25';
    const allocated = [await b.allocate(MORGAN), await b.allocate(MORGAN), await b.allocate(MORGAN)];
    const since = await lastOutboxId();
    const now = new Date('2026-11-25T10:00:00Z');
    expect((await bookingPass(pass, { now })).planned.map((p) => p.kind)).toEqual(['first-taf', 'first-taf', 'first-taf']);
    expect(await book(now)).toBe(3);
    // Sam's three bookings run side by side: which case has which slot is not fixed. Named by their times.
    const starts = await Promise.all(allocated.map(async (c) => (await meetingOf(c.caseId)).startsAt!.getTime()));
    [cases.held, cases.notHeld, cases.moved] = allocated.map((c, i) => ({ c, at: starts[i] })).sort((x, y) => x.at - y.at).map((x) => x.c);

    const sent = await meetingCards(since);
    expect(sent.map((s) => [s.view, s.status, s.to])).toEqual(Array(3).fill(['booked', 'delivered', personalChatOf(SAM)]));
    const first = await meetingOf(cases.held.caseId);
    // Sam's three meetings, one after another from 09:30 on Wed 23 Dec (5 working days before the deadline, the Christmas holidays skipped).
    bookedCard = sent.find((s) => s.meetingId === first.id)!.card!;
    expect(bookedCard.fallbackText).toBe(`First TAF meeting for ${cases.held.reference} booked: Wed 23 Dec, 09:30\u201311:00`);
    const text = textOf(bookedCard);
    expect(text).toContain('First TAF meeting booked: Wed 23 Dec, 09:30\u201311:00');
    expect(text).toContain(`Case ${cases.held.reference} \u00b7 Fernsby`);
    expect(text).toContain('It must be held by Mon 4 Jan 2027: this time meets the deadline.');
    expect(text).not.toMatch(/after the deadline|not free/);
    expectValidCard(bookedCard);
    const actions = actionsOf(bookedCard);
    expect([...actions.keys()]).toEqual(['Add to my calendar', 'Move', 'Move the meeting', 'Open case']);
    expect(String(actions.get('Add to my calendar')!.url)).toMatch(new RegExp(`/api/meetings/${first.id}\\.ics\\?u=${SAM.id}&e=\\d+&s=[\\w-]+$`));
    expect(sent.map((s) => textOf(s.card!).split('\n')[0]).sort()).toEqual(['First TAF meeting booked: Wed 23 Dec, 09:30\u201311:00', 'First TAF meeting booked: Wed 23 Dec, 11:00\u201312:30', 'First TAF meeting booked: Wed 23 Dec, 12:30\u201314:00']);
  });

  test('a meeting\u2019s time is given in London, summer time included', () => {
    expect(meetingTime({ startsAt: new Date('2027-06-02T08:30:00Z'), endsAt: new Date('2027-06-02T10:00:00Z') }, '2027-05-01' as LocalDate)).toBe('Wed 2 Jun, 09:30\u201311:00');
  });

  test('"Add to my calendar": the signed link gives the calendar file, with the reference and no family; a bad or expired link, or someone who may not open the case, is refused', async () => {
    const m = await meetingOf(cases.held.caseId);
    const link = new URL(String(actionsOf(bookedCard).get('Add to my calendar')!.url));
    const get = (pathAndQuery: string) => fetch(`${server.url}${pathAndQuery}`);

    const reads = async () => (await readAudit(t.db, { caseId: m.caseId, actor: SAM.id, limit: 100_000 })).filter((a) => a.action === 'case.read').length;
    const readsBefore = await reads();
    const good = await get(`${link.pathname}${link.search}`);
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toMatch(/^text\/calendar/);
    const ics = await good.text();
    expect(ics).toContain(`SUMMARY:${cases.held.reference}: First TAF meeting`);
    expect(ics).toContain('DTSTART:20261223T093000Z');
    expect(ics).not.toMatch(FAMILY);
    // The file was read as Sam, and the read is in the audit log.
    expect(await reads()).toBe(readsBefore + 1);

    const tampered = new URLSearchParams(link.search);
    tampered.set('s', `${tampered.get('s')!.slice(0, -2)}xx`);
    expect((await get(`${link.pathname}?${tampered}`)).status).toBe(403);
    const otherPerson = new URLSearchParams(link.search);
    otherPerson.set('u', ALEX.id);
    expect((await get(`${link.pathname}?${otherPerson}`)).status).toBe(403);
    expect((await get(link.pathname)).status).toBe(403);
    const path = (url: string) => url.slice(url.indexOf('/api/'));
    const expired = meetingFileUrl(b.services.links, m.id, SAM.id, new Date(b.services.now().getTime() - 1000));
    expect((await get(path(expired))).status).toBe(403);
    // A well-signed link for someone who may not open the case (another worker) is refused all the same.
    expect((await get(path(meetingFileUrl(b.services.links, m.id, ALEX.id, new Date('2027-02-01'))))).status).toBe(403);
    const unknown = '00000000-0000-4000-8000-000000000000';
    expect((await get(path(meetingFileUrl(b.services.links, unknown, SAM.id, new Date('2027-02-01'))))).status).toBe(404);
    expect((await get('/api/meetings/not-a-meeting.ics')).status).toBe(404);
  });

  let outcome: Map<string, AdaptiveCard>;

  test('after the meetings end, the worker is asked of each whether it was held: Held, Not held, Moved', async () => {
    b.today.value = '2026-12-24';
    const since = await lastOutboxId();
    expect((await bookingPass(pass, { now: new Date('2026-12-23T14:00:00Z') })).asked).toBe(3);
    const sent = await meetingCards(since);
    expect(sent.map((s) => [s.view, s.status])).toEqual(Array(3).fill(['outcome', 'delivered']));
    outcome = new Map(sent.map((s) => [s.meetingId, s.card!]));
    const m = await meetingOf(cases.held.caseId);
    const card = outcome.get(m.id)!;
    expect(card.fallbackText).toBe(`Was the first TAF meeting for ${cases.held.reference} held?`);
    expect(textOf(card)).toContain(`Was the first TAF meeting for ${cases.held.reference} on Wed 23 Dec held?`);
    expect(textOf(card)).toContain(`Case ${cases.held.reference} \u00b7 Fernsby`);
    expectValidCard(card);
    expect([...actionsOf(card).keys()]).toEqual(['Held', 'Record as held', 'Not held', 'Record as not held', 'Moved', 'Move the meeting', 'Open case']);
    // The Held form offers the meeting's own date.
    const inputs: Record<string, Record<string, unknown>> = {};
    walkCard(card, (n) => {
      if (typeof n.id === 'string') inputs[n.id] = n;
    });
    expect(inputs.meetingHeldDate.value).toBe('2026-12-23');
    expect((inputs.notHeldReason.choices as unknown[]).length).toBe(5);
  });

  test('Held with who attended: taf-held on the case naming the meeting, the meeting held, the card updated in place; the next pass books the TAF review', async () => {
    const m = await meetingOf(cases.held.caseId);
    // Another worker may not record it; nothing is written.
    const stranger = await press(ALEX, 'tafMeetingHeld', m, 'outcome', { meetingHeldDate: '2026-12-23', attended: 'x' });
    expect(textOf(stranger.card)).toBe(`You cannot record work on case ${cases.held.reference}.`);
    const held = await press(SAM, 'tafMeetingHeld', m, 'outcome', { meetingHeldDate: '2026-12-23', attended: 'Mum, the school, the health visitor' });
    expect(held.status).toBe(200);
    const text = textOf(held.card);
    expect(text).toContain(`First TAF meeting for ${cases.held.reference}: held on Wed 23 Dec`);
    expect(text).toContain(`Recorded on case ${cases.held.reference}.`);
    expect(text).toContain('Attended: Mum, the school, the health visitor');
    expect(text).toMatch(/The minutes and actions are to be shared with the family and agencies by \w{3} \d+ \w{3}/);
    expect([...actionsOf(held.card).keys()]).toEqual(['Open case']);
    expectValidCard(held.card);
    const events = await eventsOf(m.caseId);
    expect(events.filter((e) => e.type === 'taf-held')).toEqual([{ type: 'taf-held', effective_on: '2026-12-23', data: { meeting: m.id, attended: 'Mum, the school, the health visitor' } }]);
    expect((await b.services.meetings.get(m.id))?.state).toBe('held');
    // A second click (or another copy of the card) records nothing more.
    const again = await press(SAM, 'tafMeetingHeld', m, 'outcome', { meetingHeldDate: '2026-12-23', attended: 'again' });
    expect(textOf(again.card)).toContain('This meeting is already recorded as held.');
    expect((await eventsOf(m.caseId)).filter((e) => e.type === 'taf-held')).toHaveLength(1);

    const next = await bookingPass(pass, { now: new Date('2026-12-24T10:00:00Z') });
    expect(next.planned.filter((p) => p.caseId === m.caseId).map((p) => [p.kind, p.deadline])).toEqual([['taf-review', '2027-02-17']]);
  });

  test('Not held without a reason: the card again with the message and what was typed, nothing written; with one, the meeting is not held and a new date is booked', async () => {
    const m = await meetingOf(cases.notHeld.caseId);
    const bare = await press(SAM, 'tafMeetingNotHeld', m, 'outcome', { notHeldReason: '', notHeldNote: 'Mum phoned in sick' });
    const text = textOf(bare.card);
    expect(text).toContain('Say why the meeting did not take place.');
    expect(text).toContain(`Was the first TAF meeting for ${cases.notHeld.reference} on Wed 23 Dec held?`);
    expect(text).toContain('Mum phoned in sick');
    expectValidCard(bare.card);
    expect((await b.services.meetings.get(m.id))?.state).toBe('booked');
    expect((await readAudit(t.db, { caseId: m.caseId })).map((a) => a.action)).not.toContain('taf.not-held');

    const notHeld = await press(SAM, 'tafMeetingNotHeld', m, 'outcome', { notHeldReason: 'family-did-not-attend', notHeldNote: 'Mum phoned in sick' });
    expect(textOf(notHeld.card)).toContain(`First TAF meeting for ${cases.notHeld.reference}: not held`);
    expect(textOf(notHeld.card)).toContain('Why: The family did not attend.');
    expect(textOf(notHeld.card)).toContain('A new date will be booked in your calendar by Mon 4 Jan 2027');
    expectValidCard(notHeld.card);
    expect((await b.services.meetings.get(m.id))?.state).toBe('not-held');
    expect((await eventsOf(m.caseId)).map((e) => e.type)).not.toContain('taf-held');

    const since = await lastOutboxId();
    const next = await bookingPass(pass, { now: new Date('2026-12-24T10:00:00Z') });
    expect(next.planned.filter((p) => p.caseId === m.caseId).map((p) => [p.kind, p.deadline])).toEqual([['first-taf', '2027-01-04']]);
    expect(await book(new Date('2026-12-24T10:00:00Z'))).toBeGreaterThanOrEqual(1);
    const fresh = await meetingOf(m.caseId, 'booked');
    expect(fresh.id).not.toBe(m.id);
    const cards = (await meetingCards(since)).filter((s) => s.meetingId === fresh.id);
    expect(cards.map((c) => [c.view, c.status])).toEqual([['booked', 'delivered']]);
    expect(textOf(cards[0].card!)).toMatch(/^First TAF meeting booked: \w{3} \d+ \w{3}( 2027)?, \d\d:\d\d\u2013\d\d:\d\d/);
  });

  test('Moved to a Saturday is refused with the reason; to a working day after the deadline, the card says it breaks the timescale', async () => {
    const m = await meetingOf(cases.moved.caseId);
    const saturday = await press(SAM, 'tafMeetingMoved', m, 'outcome', { movedDate: '2027-01-02', movedTime: '10:00' });
    expect(textOf(saturday.card)).toContain('2027-01-02 is not a working day.');
    expect(textOf(saturday.card)).toContain(`Was the first TAF meeting for ${cases.moved.reference} on Wed 23 Dec held?`);
    expect((await b.services.meetings.get(m.id))?.startsAt?.toISOString()).toBe(m.startsAt?.toISOString());
    const evening = await press(SAM, 'tafMeetingMoved', m, 'outcome', { movedDate: '2027-01-05', movedTime: '15:30' });
    expect(textOf(evening.card)).toContain('TAF meetings are held between 09:30 and 16:00.');

    const late = await press(SAM, 'tafMeetingMoved', m, 'outcome', { movedDate: '2027-01-05', movedTime: '10:00' });
    const text = textOf(late.card);
    expect(text).toContain('First TAF meeting moved: Tue 5 Jan 2027, 10:00\u201311:30');
    expect(text).toContain('Tue 5 Jan 2027 is after Mon 4 Jan 2027, the latest date for this meeting: it breaks the timescale (First TAF meeting within 25 working days of allocation).');
    expect(text).toContain('Moved to Tue 5 Jan 2027, 10:00\u201311:30.');
    expectValidCard(late.card);
    expect([...actionsOf(late.card).keys()]).toContain('Add to my calendar');
    const moved = await b.services.meetings.get(m.id);
    expect([moved?.state, moved?.startsAt?.toISOString()]).toEqual(['booked', '2027-01-05T10:00:00.000Z']);
    expect((await readAudit(t.db, { caseId: m.caseId })).map((a) => a.action)).toContain('taf.moved');
    // Its calendar file follows the new time.
    const link = new URL(String(actionsOf(late.card).get('Add to my calendar')!.url));
    expect(await (await fetch(`${server.url}${link.pathname}${link.search}`)).text()).toContain('DTSTART:20270105T100000Z');
    // The outcome card of the old time is now out of date: it is not shown as a question any more.
    const stale = await press(SAM, 'tafMeetingNotHeld', m, 'outcome', { notHeldReason: 'other' });
    expect(textOf(stale.card)).toContain('This meeting is now booked for Tue 5 Jan 2027, 10:00\u201311:30: you will be asked after it whether it was held.');
    expect(textOf(stale.card)).not.toContain('Was the first TAF meeting');
    expect((await b.services.meetings.get(m.id))?.state).toBe('booked');
  });

  test('a booking refused by Outlook: the worker is told with Try again; it then books, with the Teams meeting and the Outlook event on the card', async () => {
    b.today.value = '2026-12-24';
    const { caseId, reference } = await b.allocate(MORGAN);
    const now = new Date('2026-12-24T10:00:00Z');
    await bookingPass({ ...pass, calendarKind: 'outlook' }, { now });
    // Exchange refuses the mailbox (an application access policy that leaves Sam out).
    graphServer.fail(1, { status: 403, code: 'ErrorAccessDenied', match: (r) => r.method === 'POST' && /\/events$/.test(r.path) });
    let since = await lastOutboxId();
    expect(await book(now, outlook)).toBe(1);
    const m = await meetingOf(caseId);
    expect(m.state).toBe('booking');
    // The booking is failed in the outbox, and the worker gets the card that says so.
    const [failed] = await meetingCards(since);
    expect([failed.view, failed.status]).toEqual(['failed', 'delivered']);
    expect(failed.card!.fallbackText).toBe(`The first TAF meeting for ${reference} could not be booked in Outlook`);
    expect(textOf(failed.card!)).toContain('What went wrong: http 403 ErrorAccessDenied.');
    expect([...actionsOf(failed.card!).keys()]).toEqual(['Try again', 'Open case']);
    expectValidCard(failed.card!);

    expect(textOf((await press(ALEX, 'tafMeetingRetry', m, 'failed')).card)).toBe(`You cannot record work on case ${reference}.`);
    const retried = await press(SAM, 'tafMeetingRetry', m, 'failed');
    expect(textOf(retried.card)).toContain(`Trying again to book the first TAF meeting for ${reference}.`);
    expect((await readAudit(t.db, { caseId })).map((a) => a.action)).toContain('taf.booking-retried');

    since = await lastOutboxId();
    expect(await book(now, outlook)).toBe(1);
    const [booked] = await meetingCards(since);
    expect(booked.view).toBe('booked');
    expect([...actionsOf(booked.card!).keys()]).toEqual(['Join Teams meeting', 'Open in Outlook', 'Move', 'Move the meeting', 'Open case']);
    expectValidCard(booked.card!);
    // Pressed again, or the failed card delivered late: nothing more to retry.
    expect(textOf((await press(SAM, 'tafMeetingRetry', m, 'failed')).card)).toContain('This meeting is no longer waiting to be booked.');
    since = await lastOutboxId();
    await enqueue(t.db, meetingCard(m, 'failed', 'late'));
    expect((await meetingCards(since)).map((s) => s.status)).toEqual(['cancelled']);
  });

  test('moved in Outlook past the deadline: the worker is told it breaks the timescale; cancelled in Outlook: told, and a new date is booked', async () => {
    const m = await meetingOf((await b.services.meetings.list({ states: ['booked'] })).find((x) => x.calendar === 'outlook')!.caseId);
    const lateStart = new Date(`${b.services.calendar.addWorkingDays(m.deadline, 2)}T10:00:00Z`);
    let since = await lastOutboxId();
    // As the calendar's change notification or delta reconciliation finds it (src/taf/meetingSync.ts).
    expect((await applyEventState(t.db, b.services.meetings, m, { start: lateStart, end: new Date(lateStart.getTime() + 90 * 60_000), isCancelled: false }, 'delta')).kind).toBe('moved');
    const [moved] = await meetingCards(since);
    expect(moved.card!.fallbackText).toMatch(/^First TAF meeting for EH-\d+ moved: /);
    expect(textOf(moved.card!)).toMatch(/is after .+, the latest date for this meeting: it breaks the timescale/);
    expectValidCard(moved.card!);

    since = await lastOutboxId();
    expect((await applyEventState(t.db, b.services.meetings, (await b.services.meetings.get(m.id))!, { removed: true }, 'delta')).kind).toBe('cancelled');
    // A booked card that comes after the cancellation (it waited) is never sent; the cancellation is.
    await enqueue(t.db, meetingCard(m, 'booked', 'late'));
    const sent = await meetingCards(since);
    expect(sent.map((s) => [s.view, s.status])).toEqual([
      ['cancelled', 'delivered'],
      ['booked', 'cancelled'],
    ]);
    const text = textOf(sent[0].card!);
    expect(text).toContain('It was cancelled in Outlook.');
    expect(text).toMatch(/A new date will be booked in your calendar by .+, and you will get a card when it is\./);
    expectValidCard(sent[0].card!);
    expect((await bookingPass(pass, { now: new Date('2026-12-24T10:00:00Z') })).planned.map((p) => p.caseId)).toContain(m.caseId);
  });

  test('no meeting card failed to deliver, and none named the family in its preview', async () => {
    const rows = await t.db.query<{ status: string; delivered_activity_id: string | null }>(`SELECT status, delivered_activity_id FROM outbox WHERE kind = 'taf-meeting'`);
    expect(rows.filter((r) => r.status === 'failed' || r.status === 'pending')).toEqual([]);
    const ids = new Set(rows.map((r) => r.delivered_activity_id));
    for (const s of proactive.filter((p) => ids.has(p.activity.id ?? ''))) expect(String(s.activity.summary)).not.toMatch(FAMILY);
  });
});
