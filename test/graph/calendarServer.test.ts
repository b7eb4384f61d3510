import { GraphError } from '@microsoft/microsoft-graph-client';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import { createGraph, Graph } from '../../src/graph/client';
import { GraphConfig, graphConfigFromEnv } from '../../src/graph/config';
import { MAX_SUBSCRIPTION_MINUTES } from '../helpers/graphCalendar';
import { ALL_ROLES, csdlFault, directoryUser, graphCsdl, GraphServer, startGraphServer } from '../helpers/graphServer';

/**
 * The loopback Graph's Outlook calendar keeps to Graph's contract, over real HTTP through the
 * product's own Graph client: getSchedule, events, calendarView delta, subscriptions with the
 * validation handshake, and change notifications to a local listener.
 */

let server: GraphServer;
let graph: Graph;
const sam = directoryUser('Sam Patel');
const morgan = directoryUser('Morgan Lee');
const SAM = sam.mail!;
const STRANGER = 'nobody@elsewhere.example';

const graphFor = (s: GraphServer) => createGraph(graphConfigFromEnv(s.env()) as GraphConfig, { retry: { baseDelayMs: 20, jitterMs: 10 } });
/** The Graph error a request ends in (it must fail). */
const failure = (request: Promise<unknown>): Promise<GraphError> =>
  request.then(
    () => {
      throw new Error('expected the request to fail');
    },
    (e: GraphError) => e,
  );
const statuses = (pathPart: string) => server.requests.filter((r) => r.path.includes(pathPart)).map((r) => r.status);
const london = (dateTime: string) => ({ dateTime, timeZone: 'Europe/London' });
const minutesAhead = (minutes: number) => new Date(Date.now() + minutes * 60_000).toISOString();

interface GraphEvent {
  id: string;
  changeKey: string;
  '@odata.etag': string;
  subject: string;
  start: { dateTime: string; timeZone: string };
  end: { dateTime: string; timeZone: string };
  [key: string]: unknown;
}
const createEvent = (body: Record<string, unknown>, mailbox = SAM, prefer?: string): Promise<GraphEvent> => {
  const request = graph.client.api(`/users/${mailbox}/events`);
  if (prefer) request.header('Prefer', prefer);
  return request.post(body);
};
const meeting = (subject: string, start: string, end: string, extra: Record<string, unknown> = {}) => ({ subject, start: london(start), end: london(end), ...extra });

// --- a notification endpoint, as the product would run one, on plain http on loopback -----------

interface Listener {
  url: string;
  /** echo: the token as Graph asks; fail: 500; encoded: the token still URL-encoded; slow: the token after 400 ms. */
  mode: 'echo' | 'fail' | 'encoded' | 'slow';
  validations: Array<{ method: string; contentType: string; body: string; token: string }>;
  notifications: Array<{ value: Array<Record<string, unknown>> }>;
  close(): Promise<void>;
}
const listeners: Listener[] = [];

async function listen(mode: Listener['mode'] = 'echo'): Promise<Listener> {
  const listener = { mode, validations: [], notifications: [] } as unknown as Listener;
  const http1 = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const token = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams.get('validationToken');
      if (token === null) {
        listener.notifications.push(JSON.parse(raw));
        // Not chained: another test file in the worker may have wrapped writeHead without returning `this`.
        res.writeHead(202);
        res.end();
        return;
      }
      listener.validations.push({ method: req.method ?? '', contentType: req.headers['content-type'] ?? '', body: raw, token });
      const answer = () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(listener.mode === 'encoded' ? encodeURIComponent(token) : token);
      };
      if (listener.mode === 'fail') {
        res.writeHead(500);
        res.end();
      }
      else if (listener.mode === 'slow') setTimeout(answer, 400);
      else answer();
    });
  });
  await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve));
  listener.url = `http://127.0.0.1:${(http1.address() as AddressInfo).port}/graph/notifications`;
  listener.close = () =>
    new Promise<void>((resolve) => {
      http1.closeAllConnections();
      http1.close(() => resolve());
    });
  listeners.push(listener);
  return listener;
}

const subscribe = (listener: Listener, extra: Record<string, unknown> = {}) =>
  graph.client.api('/subscriptions').post({ changeType: 'created,updated,deleted', notificationUrl: listener.url, resource: `/users/${sam.id}/events`, expirationDateTime: minutesAhead(60), clientState: 'secret-from-the-product', ...extra });

beforeAll(async () => {
  server = await startGraphServer();
  server.users.set(sam.id, sam);
  server.users.set(morgan.id, morgan);
  graph = graphFor(server);
});
afterAll(async () => {
  await server?.close();
  await Promise.all(listeners.map((l) => l.close()));
});
beforeEach(() => {
  server.calendar.clear();
  server.calendar.timeouts.validationMs = 10_000;
  server.reset();
});

// ---------------------------------------------------------------------------------------------

describe('getSchedule', () => {
  test('busy time either side of the clocks going forward (Sunday 30 March 2025) is placed by BST, answered in the Prefer time zone or UTC', async () => {
    server.calendar.addBusy(SAM, { start: new Date('2025-03-28T09:00:00Z'), end: new Date('2025-03-28T10:00:00Z'), subject: 'Supervision' }); // Friday 09:00 GMT
    server.calendar.addBusy(sam.id, { start: new Date('2025-03-31T08:00:00Z'), end: new Date('2025-03-31T09:30:00Z'), status: 'oof' }); // Monday 09:00 BST
    await createEvent(meeting('TAF review (maybe)', '2025-03-31T14:00:00', '2025-03-31T15:00:00', { showAs: 'tentative', location: { displayName: 'Family Hub' } }));
    await createEvent(meeting('Lunch', '2025-03-31T12:00:00', '2025-03-31T13:00:00', { showAs: 'free' }));
    const called = await createEvent(meeting('Called off', '2025-03-31T16:00:00', '2025-03-31T17:00:00'));
    await graph.client.api(`/users/${SAM}/events/${called.id}/cancel`).post({ comment: 'Family moved away' });

    const body = { schedules: [SAM, STRANGER], startTime: { dateTime: '2025-03-28T08:00:00', timeZone: 'GMT Standard Time' }, endTime: london('2025-03-31T18:00:00'), availabilityViewInterval: 60 };
    const answer = await graph.client.api(`/users/${morgan.id}/calendar/getSchedule`).header('Prefer', 'outlook.timezone="GMT Standard Time"').post(body);

    // 08:00 GMT Friday to 18:00 BST Monday is 81 hours: Friday 09:00Z is slot 1, Monday 08:00Z slot 72, 13:00Z slot 77.
    const view = Array.from({ length: 81 }, () => '0');
    view[1] = '2';
    view[72] = view[73] = '3';
    view[77] = '1';
    const gmt = (dateTime: string) => ({ dateTime, timeZone: 'GMT Standard Time' });
    expect(answer).toEqual({
      '@odata.context': `${server.endpoint}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)`,
      value: [
        {
          scheduleId: SAM,
          availabilityView: view.join(''),
          scheduleItems: [
            { isPrivate: false, status: 'busy', subject: 'Supervision', start: gmt('2025-03-28T09:00:00.0000000'), end: gmt('2025-03-28T10:00:00.0000000') },
            { isPrivate: false, status: 'oof', subject: 'Busy', start: gmt('2025-03-31T09:00:00.0000000'), end: gmt('2025-03-31T10:30:00.0000000') },
            { isPrivate: false, status: 'tentative', subject: 'TAF review (maybe)', location: 'Family Hub', start: gmt('2025-03-31T14:00:00.0000000'), end: gmt('2025-03-31T15:00:00.0000000') },
          ],
          workingHours: { daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'], startTime: '08:00:00.0000000', endTime: '17:00:00.0000000', timeZone: { name: 'GMT Standard Time' } },
        },
        { scheduleId: STRANGER, error: { message: expect.stringContaining(STRANGER), responseCode: '5009' } },
      ],
    });

    const utc = await graph.client.api(`/users/${morgan.mail}/calendar/getSchedule`).post({ ...body, schedules: [SAM] });
    expect(utc.value[0].scheduleItems.map((i: { start: unknown }) => i.start)).toEqual([
      { dateTime: '2025-03-28T09:00:00.0000000', timeZone: 'UTC' },
      { dateTime: '2025-03-31T08:00:00.0000000', timeZone: 'UTC' },
      { dateTime: '2025-03-31T13:00:00.0000000', timeZone: 'UTC' },
    ]);
    expect(utc.value[0].availabilityView).toBe(view.join(''));
  });

  test('the clocks going back: 09:00 London is 08:00Z on the Friday before and 09:00Z on the Monday after; 30-minute slots by default', async () => {
    server.calendar.addBusy(SAM, { start: new Date('2025-10-24T08:00:00Z'), end: new Date('2025-10-24T09:00:00Z') });
    server.calendar.addBusy(SAM, { start: new Date('2025-10-27T09:00:00Z'), end: new Date('2025-10-27T09:30:00Z') });
    const answer = await graph.client
      .api(`/users/${SAM}/calendar/getSchedule`)
      .header('Prefer', 'outlook.timezone="Europe/London"')
      .post({ Schedules: [SAM], StartTime: london('2025-10-24T09:00:00'), EndTime: london('2025-10-27T10:00:00') });
    const info = answer.value[0];
    // 08:00Z Friday to 10:00Z Monday is 74 hours (the Sunday has 25): 148 half-hours.
    expect(info.availabilityView).toHaveLength(148);
    expect(info.availabilityView.slice(0, 2)).toBe('22');
    expect(info.availabilityView.slice(-2)).toBe('20');
    expect(info.scheduleItems.map((i: { start: { dateTime: string } }) => i.start.dateTime)).toEqual(['2025-10-24T09:00:00.0000000', '2025-10-27T09:00:00.0000000']);
  });

  test("the body is checked against the getSchedule action in Graph's CSDL, and its limits", async () => {
    const window = { startTime: london('2025-06-02T09:00:00'), endTime: london('2025-06-02T17:00:00') };
    const ask = (body: Record<string, unknown>) => failure(graph.client.api(`/users/${SAM}/calendar/getSchedule`).post(body));
    expect(await ask({ schedules: [SAM], ...window, availabilityViewInterval: 4 })).toMatchObject({ statusCode: 400, message: expect.stringContaining('5 to 1440') });
    expect(await ask({ schedules: [SAM], ...window, viewInterval: 30 })).toMatchObject({ statusCode: 400, message: expect.stringContaining("'viewInterval' in the request payload is not a valid parameter") });
    expect(await ask({ schedules: SAM, ...window })).toMatchObject({ statusCode: 400, message: expect.stringContaining('must be an array') });
    expect(await ask({ schedules: Array.from({ length: 21 }, (_, i) => `p${i}@council.example`), ...window })).toMatchObject({ statusCode: 400, message: expect.stringContaining('at most 20') });
    expect(await ask({ schedules: [SAM], startTime: window.startTime, endTime: london('2025-08-03T09:00:00') })).toMatchObject({ statusCode: 400, message: expect.stringContaining('less than 62 days') });
    expect(await ask({ schedules: [SAM], startTime: { dateTime: '2025-06-02T09:00:00', timeZone: 'Mars/Olympus' }, endTime: window.endTime })).toMatchObject({ statusCode: 400, code: 'TimeZoneNotSupportedException' });
    expect(await ask({ schedules: [SAM], startTime: window.startTime })).toMatchObject({ statusCode: 400, message: "The value of the parameter 'EndTime' is empty." });
    // Graph's own example sends the interval as a string.
    const ok = await graph.client.api(`/users/${SAM}/calendar/getSchedule`).post({ schedules: [SAM], ...window, availabilityViewInterval: '15' });
    expect(ok.value[0].availabilityView).toBe('0'.repeat(32));
  });
});

describe('events', () => {
  test('a Teams meeting is created with the properties Graph gives it, answered in the Prefer time zone and read back in UTC by id or address', async () => {
    const created = await createEvent(
      meeting('TAF meeting: EH-1042', '2025-07-01T10:00:00', '2025-07-01T11:00:00', {
        body: { contentType: 'html', content: '<p>Team Around the Family review</p>' },
        attendees: [{ emailAddress: { address: morgan.mail, name: morgan.displayName }, type: 'required' }],
        isOnlineMeeting: true,
        onlineMeetingProvider: 'teamsForBusiness',
        transactionId: 'eh-1042-taf-1',
      }),
      SAM,
      'outlook.timezone="Europe/London"',
    );
    expect(created).toMatchObject({
      '@odata.context': `${server.endpoint}/v1.0/$metadata#users('${encodeURIComponent(SAM)}')/events/$entity`,
      '@odata.etag': `W/"${created.changeKey}"`,
      id: expect.stringMatching(/^AAMkA[A-Za-z0-9_=-]{100,}$/),
      iCalUId: expect.stringMatching(/^040000008200E00074C5B7101A82E00800000000[0-9A-F]+$/),
      changeKey: expect.any(String),
      createdDateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/),
      lastModifiedDateTime: expect.stringMatching(/Z$/),
      transactionId: 'eh-1042-taf-1',
      subject: 'TAF meeting: EH-1042',
      body: { contentType: 'html', content: '<p>Team Around the Family review</p>' },
      bodyPreview: 'Team Around the Family review',
      start: { dateTime: '2025-07-01T10:00:00.0000000', timeZone: 'Europe/London' },
      end: { dateTime: '2025-07-01T11:00:00.0000000', timeZone: 'Europe/London' },
      originalStartTimeZone: 'Europe/London',
      attendees: [{ type: 'required', status: { response: 'none', time: '0001-01-01T00:00:00Z' }, emailAddress: { address: morgan.mail, name: morgan.displayName } }],
      organizer: { emailAddress: { address: SAM, name: sam.displayName } },
      isCancelled: false,
      isOrganizer: true,
      showAs: 'busy',
      type: 'singleInstance',
      isOnlineMeeting: true,
      onlineMeetingProvider: 'teamsForBusiness',
      onlineMeeting: { joinUrl: expect.stringMatching(/^https:\/\/teams\.microsoft\.com\/l\/meetup-join\//) },
      webLink: expect.stringMatching(/^https:\/\/outlook\.office365\.com\/owa\/\?itemid=/),
    });
    expect(csdlFault(graphCsdl(), 'graph.event', created, 'event')).toBeNull();
    const read = await graph.client.api(`/users/${sam.id}/events/${created.id}`).get();
    expect(read).toMatchObject({ id: created.id, start: { dateTime: '2025-07-01T09:00:00.0000000', timeZone: 'UTC' }, end: { dateTime: '2025-07-01T10:00:00.0000000', timeZone: 'UTC' } });
    expect(server.calendar.events(sam.id).map((e) => e.start)).toEqual([{ dateTime: '2025-07-01T10:00:00.0000000', timeZone: 'Europe/London' }]);
  });

  test('wall-clock times the clocks skip or pass twice are read as Windows does: an hour on, and standard time', async () => {
    const skipped = await createEvent({ subject: 'a', start: london('2025-03-30T01:30:00'), end: london('2025-03-30T03:00:00') });
    const twice = await createEvent({ subject: 'b', start: { dateTime: '2025-10-26T01:30:00', timeZone: 'GMT Standard Time' }, end: london('2025-10-26T02:00:00') });
    expect([skipped.start.dateTime, skipped.end.dateTime]).toEqual(['2025-03-30T01:30:00.0000000', '2025-03-30T02:00:00.0000000']);
    expect([twice.start.dateTime, twice.end.dateTime]).toEqual(['2025-10-26T01:30:00.0000000', '2025-10-26T02:00:00.0000000']);
  });

  test('a create sent again with the same transactionId gives back the event it made (201, same id), alone or inside $batch, after a throttled try too', async () => {
    const body = meeting('TAF meeting: EH-7', '2025-07-02T10:00:00', '2025-07-02T11:00:00', { transactionId: 'eh-7-taf-1' });
    server.fail(1, { status: 429, retryAfter: 0 });
    const first = await createEvent(body);
    const again = await createEvent({ ...body, subject: 'TAF meeting: EH-7 (retried)' });
    expect(again.id).toBe(first.id);
    expect(again.subject).toBe('TAF meeting: EH-7');
    expect(statuses('/events')).toEqual([429, 201, 201]);
    const batched = await graph.batch([1, 2].map(() => ({ method: 'POST' as const, url: `/users/${SAM}/events`, body })));
    expect(batched.map((a) => [a.status, (a.body as GraphEvent).id])).toEqual([
      [201, first.id],
      [201, first.id],
    ]);
    expect(server.calendar.events(SAM)).toHaveLength(1);
    // Another transactionId, or another mailbox, is another event.
    await createEvent({ ...body, transactionId: 'eh-7-taf-2' });
    await createEvent(body, morgan.mail!);
    expect(server.calendar.events(SAM)).toHaveLength(2);
    expect(server.calendar.events(morgan.id)).toHaveLength(1);
  });

  test("a body Graph's CSDL does not allow, or without its start and end, is refused with Graph's error body and makes nothing", async () => {
    const base = meeting('TAF meeting', '2025-07-03T10:00:00', '2025-07-03T11:00:00');
    const unknown = await failure(createEvent({ ...base, meetingLink: 'https://example.test' }));
    expect(unknown).toMatchObject({ statusCode: 400, code: 'RequestBodyRead', message: expect.stringContaining("The property 'meetingLink' does not exist on type 'microsoft.graph.event'") });
    expect(JSON.parse(unknown.body as string)).toEqual({ code: 'RequestBodyRead', message: expect.any(String), innerError: { date: expect.any(String), 'request-id': expect.any(String), 'client-request-id': expect.any(String) } });
    expect(await failure(createEvent({ ...base, showAs: 'away' }))).toMatchObject({ statusCode: 400, message: expect.stringContaining("'away' is not a member of graph.freeBusyStatus") });
    expect(await failure(createEvent({ subject: 'x', start: base.start }))).toMatchObject({ statusCode: 400, code: 'ErrorInvalidRequest' });
    expect(await failure(createEvent({ ...base, end: london('2025-07-03T09:00:00') }))).toMatchObject({ statusCode: 400, code: 'ErrorInvalidRequest', message: expect.stringContaining('after its start') });
    expect(await failure(createEvent({ ...base, start: { dateTime: '2025-07-03T10:00:00', timeZone: 'Pacific/Nowhere' } }))).toMatchObject({ statusCode: 400, code: 'TimeZoneNotSupportedException' });
    expect(await failure(createEvent({ ...base, id: 'mine' }))).toMatchObject({ statusCode: 400, message: expect.stringContaining("'id' is read-only") });
    expect(await failure(createEvent({ ...base, attendees: [{ emailAddress: { address: 'not an address' } }] }))).toMatchObject({ statusCode: 400, code: 'ErrorInvalidRecipients' });
    expect(server.calendar.events(SAM)).toEqual([]);
    expect(server.calendar.notifications).toEqual([]);
  });

  test('GET honours $select; PATCH updates with a new changeKey (a stale If-Match is refused); DELETE and cancel take the event away', async () => {
    const created = await createEvent(meeting('TAF meeting', '2025-07-04T10:00:00', '2025-07-04T11:00:00'));
    const selected = await graph.client.api(`/users/${SAM}/events/${created.id}`).select('subject,start').get();
    expect(selected).toEqual({
      '@odata.context': `${server.endpoint}/v1.0/$metadata#users('${encodeURIComponent(SAM)}')/events(subject,start)/$entity`,
      '@odata.etag': created['@odata.etag'],
      id: created.id,
      subject: 'TAF meeting',
      start: { dateTime: '2025-07-04T09:00:00.0000000', timeZone: 'UTC' },
    });
    expect(await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).select('subject,shoeSize').get())).toMatchObject({ statusCode: 400, message: expect.stringContaining("'shoeSize'") });

    await new Promise((r) => setTimeout(r, 5));
    const updated: GraphEvent = await graph.client.api(`/users/${SAM}/events/${created.id}`).header('If-Match', created['@odata.etag']).patch({ subject: 'TAF meeting (moved)', start: london('2025-07-04T14:00:00'), end: london('2025-07-04T15:00:00') });
    expect(updated).toMatchObject({ id: created.id, subject: 'TAF meeting (moved)', start: { dateTime: '2025-07-04T13:00:00.0000000', timeZone: 'UTC' } });
    expect(updated.changeKey).not.toBe(created.changeKey);
    expect(Date.parse(updated.lastModifiedDateTime as string)).toBeGreaterThan(Date.parse(created.lastModifiedDateTime as string));
    expect(updated.createdDateTime).toBe(created.createdDateTime);
    const stale = await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).header('If-Match', created['@odata.etag']).patch({ subject: 'lost update' }));
    expect(stale).toMatchObject({ statusCode: 412, code: 'ErrorIrresolvableConflict' });
    expect(await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).patch({ end: london('2025-07-04T13:00:00') }))).toMatchObject({ statusCode: 400, code: 'ErrorInvalidRequest' });
    expect(await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).patch({ colour: 'red' }))).toMatchObject({ statusCode: 400, code: 'RequestBodyRead' });

    await graph.client.api(`/users/${SAM}/events/${created.id}`).delete();
    const gone = await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).get());
    expect(gone).toMatchObject({ statusCode: 404, code: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' });
    expect(await failure(graph.client.api(`/users/${SAM}/events/${created.id}`).delete())).toMatchObject({ statusCode: 404 });

    const other = await createEvent(meeting('TAF meeting 2', '2025-07-05T10:00:00', '2025-07-05T11:00:00'));
    expect(await failure(graph.client.api(`/users/${SAM}/events/${other.id}/cancel`).post({ reason: 'x' }))).toMatchObject({ statusCode: 400, message: expect.stringContaining("'reason'") });
    await graph.client.api(`/users/${SAM}/events/${other.id}/cancel`).post({ Comment: 'The family has moved out of the area.' });
    expect(statuses('/cancel')).toEqual([400, 202]);
    expect(server.calendar.events(SAM)).toEqual([]);
    expect(await failure(graph.client.api(`/users/${SAM}/events/${other.id}`).get())).toMatchObject({ statusCode: 404, code: 'ErrorItemNotFound' });
  });
});

describe('calendarView delta', () => {
  test('a first round comes in pages ending in a deltaLink; the deltaLink then gives what changed since, with @removed for what left the window', async () => {
    const ids: string[] = [];
    for (let day = 7; day <= 11; day++) ids.push((await createEvent(meeting(`TAF ${day}`, `2025-07-${String(day).padStart(2, '0')}T10:00:00`, `2025-07-${String(day).padStart(2, '0')}T11:00:00`))).id);
    await createEvent(meeting('Outside', '2025-08-20T10:00:00', '2025-08-20T11:00:00'));
    const pageOf = (link: string) => graph.client.api(link).header('Prefer', 'odata.maxpagesize=2').get();

    const first = await graph.client.api(`/users/${SAM}/calendarView/delta?startDateTime=2025-07-07T00:00:00&endDateTime=2025-07-31T00:00:00`).header('Prefer', 'odata.maxpagesize=2').get();
    const pages = [first];
    while (pages[pages.length - 1]['@odata.nextLink']) pages.push(await pageOf(pages[pages.length - 1]['@odata.nextLink']));
    expect(pages.map((p) => p.value.length)).toEqual([2, 2, 1]);
    expect(pages.slice(0, 2).every((p) => !p['@odata.deltaLink'] && /\$skiptoken=/.test(p['@odata.nextLink']))).toBe(true);
    const deltaLink: string = pages[2]['@odata.deltaLink'];
    expect(deltaLink).toMatch(new RegExp(`^${server.endpoint.replace(/\./g, '\\.')}/v1\\.0/users/.+/calendarView/delta\\?\\$deltatoken=[\\w-]+$`));
    expect(pages.flatMap((p) => p.value.map((e: GraphEvent) => e.id))).toEqual(ids);
    expect(pages[0].value[0]).toMatchObject({ '@odata.type': '#microsoft.graph.event', id: ids[0], subject: 'TAF 7', isCancelled: false, changeKey: expect.any(String), transactionId: null, type: 'singleInstance', start: { dateTime: '2025-07-07T09:00:00.0000000', timeZone: 'UTC' } });

    // Changes through the API and in Outlook.
    const added = await createEvent(meeting('TAF new', '2025-07-15T10:00:00', '2025-07-15T11:00:00'));
    await graph.client.api(`/users/${SAM}/events/${ids[0]}`).patch({ subject: 'TAF 7 (agenda)' });
    await graph.client.api(`/users/${SAM}/events/${ids[1]}`).delete();
    server.calendar.userMoves(SAM, ids[2], { start: new Date('2025-09-01T09:00:00Z'), end: new Date('2025-09-01T10:00:00Z') });
    server.calendar.userCancels(SAM, ids[3]);
    server.calendar.userMoves(SAM, ids[4], { start: new Date('2025-07-21T13:00:00Z'), end: new Date('2025-07-21T14:00:00Z') });

    const changes = await graph.client.api(deltaLink).get();
    const removed = (id: string) => ({ '@odata.type': '#microsoft.graph.event', id, '@removed': { reason: 'deleted' } });
    expect(changes.value.map((e: GraphEvent) => (e['@removed'] ? e : { id: e.id, subject: e.subject, start: e.start.dateTime }))).toEqual([
      { id: added.id, subject: 'TAF new', start: '2025-07-15T09:00:00.0000000' },
      { id: ids[0], subject: 'TAF 7 (agenda)', start: '2025-07-07T09:00:00.0000000' },
      removed(ids[1]),
      removed(ids[2]),
      removed(ids[3]),
      { id: ids[4], subject: 'TAF 11', start: '2025-07-21T13:00:00.0000000' },
    ]);
    const next: string = changes['@odata.deltaLink'];
    expect(next).not.toBe(deltaLink);
    // A deltaLink can be followed again (a lost answer); the newer one has nothing new.
    expect((await graph.client.api(deltaLink).get()).value).toHaveLength(6);
    expect(await graph.client.api(next).get()).toMatchObject({ value: [], '@odata.deltaLink': expect.any(String) });

    server.calendar.expireSyncStates();
    expect(await failure(graph.client.api(next).get())).toMatchObject({ statusCode: 410, code: 'SyncStateNotFound', message: expect.stringContaining('The sync state generation is not found') });
    expect(await failure(graph.client.api(`/users/${SAM}/calendarView/delta?$deltatoken=made-up`).get())).toMatchObject({ statusCode: 410 });
    expect(await failure(graph.client.api(`/users/${SAM}/calendarView/delta?startDateTime=2025-07-07T00:00:00`).get())).toMatchObject({ statusCode: 400, code: 'ErrorInvalidParameter' });
    expect(await failure(graph.client.api(`/users/${SAM}/calendarView/delta?startDateTime=2025-07-07T00:00:00Z&endDateTime=2025-07-31T00:00:00Z&$select=subject`).get())).toMatchObject({ statusCode: 400, code: 'ErrorInvalidUrlQuery' });
  });
});

describe('subscriptions', () => {
  test('a subscription is made once the notification URL answers the validation request with the decoded token as text/plain', async () => {
    const listener = await listen('echo');
    const subscription = await subscribe(listener, { lifecycleNotificationUrl: listener.url });
    expect(subscription).toEqual({
      '@odata.context': `${server.endpoint}/v1.0/$metadata#subscriptions/$entity`,
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      resource: `/users/${sam.id}/events`,
      applicationId: server.clientId,
      changeType: 'created,updated,deleted',
      clientState: 'secret-from-the-product',
      notificationUrl: listener.url,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: listener.url,
      expirationDateTime: expect.stringMatching(/Z$/),
      creatorId: expect.any(String),
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
      notificationContentType: 'application/json',
    });
    // Both URLs were validated: POST, text/plain, an empty body, a token with spaces and colons to decode.
    expect(listener.validations).toEqual([0, 1].map(() => ({ method: 'POST', contentType: 'text/plain; charset=utf-8', body: '', token: expect.stringMatching(/^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/) })));
    expect(statuses('/subscriptions')).toEqual([201]);
    const listed = await graph.client.api('/subscriptions').get();
    expect(listed.value.map((s: { id: string }) => s.id)).toEqual([subscription.id]);
    expect(await graph.client.api(`/subscriptions/${subscription.id}`).get()).toMatchObject({ id: subscription.id, resource: `/users/${sam.id}/events` });
  });

  test('a notification URL that answers 500, echoes the token still encoded, is too slow, or is plain http off loopback makes no subscription', async () => {
    const failed = 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
    expect(await failure(subscribe(await listen('fail')))).toMatchObject({ statusCode: 400, code: 'InvalidRequest', message: failed });
    expect(await failure(subscribe(await listen('encoded')))).toMatchObject({ statusCode: 400, code: 'InvalidRequest', message: failed });
    server.calendar.timeouts.validationMs = 200;
    expect(await failure(subscribe(await listen('slow')))).toMatchObject({ statusCode: 400, code: 'InvalidRequest', message: 'Subscription validation request timed out.' });
    const offLoopback = await failure(graph.client.api('/subscriptions').post({ changeType: 'created', notificationUrl: 'http://product.example/notify', resource: `users/${sam.id}/events`, expirationDateTime: minutesAhead(60) }));
    expect(offLoopback).toMatchObject({ statusCode: 400, message: expect.stringContaining('HTTPS') });
    expect(server.calendar.validations.map((v) => [v.ok, v.status])).toEqual([
      [false, 500],
      [false, 200],
      [false, 'timeout'],
    ]);
    expect(server.calendar.subscriptions).toEqual([]);
  });

  test('expiry is in the future and at most 10080 minutes ahead, at creation and renewal; an expired subscription cannot be renewed', async () => {
    const listener = await listen();
    const tooLong = await failure(subscribe(listener, { expirationDateTime: minutesAhead(MAX_SUBSCRIPTION_MINUTES + 2) }));
    expect(tooLong).toMatchObject({ statusCode: 400, code: 'ExtensionError', message: 'Subscription expiration can only be 10080 minutes in the future.' });
    expect(await failure(subscribe(listener, { expirationDateTime: minutesAhead(-1) }))).toMatchObject({ statusCode: 400, code: 'ExtensionError' });
    expect(await failure(subscribe(listener, { clientState: 'x'.repeat(129) }))).toMatchObject({ statusCode: 400, message: expect.stringContaining('128') });
    expect(await failure(subscribe(listener, { changeType: 'created,moved' }))).toMatchObject({ statusCode: 400 });
    expect(await failure(subscribe(listener, { resource: `/users/${STRANGER}/events` }))).toMatchObject({ statusCode: 404 });
    expect(listener.validations).toEqual([]);

    const subscription = await subscribe(listener, { expirationDateTime: minutesAhead(MAX_SUBSCRIPTION_MINUTES - 1) });
    const renewedTo = minutesAhead(MAX_SUBSCRIPTION_MINUTES - 1);
    const renewed = await graph.client.api(`/subscriptions/${subscription.id}`).patch({ expirationDateTime: renewedTo });
    expect(Date.parse(renewed.expirationDateTime)).toBe(Date.parse(renewedTo));
    expect(await failure(graph.client.api(`/subscriptions/${subscription.id}`).patch({ expirationDateTime: minutesAhead(MAX_SUBSCRIPTION_MINUTES + 2) }))).toMatchObject({ statusCode: 400, code: 'ExtensionError' });
    expect(await failure(graph.client.api('/subscriptions/00000000-0000-0000-0000-000000000000').patch({ expirationDateTime: minutesAhead(60) }))).toMatchObject({ statusCode: 404 });

    const shortLived = await subscribe(listener, { expirationDateTime: new Date(Date.now() + 600).toISOString() });
    await new Promise((r) => setTimeout(r, 700));
    expect(await failure(graph.client.api(`/subscriptions/${shortLived.id}`).patch({ expirationDateTime: minutesAhead(60) }))).toMatchObject({ statusCode: 404 });
    expect(server.calendar.subscriptions.map((s) => s.id)).toEqual([subscription.id]);
    await graph.client.api(`/subscriptions/${subscription.id}`).delete();
    expect(await failure(graph.client.api(`/subscriptions/${subscription.id}`).delete())).toMatchObject({ statusCode: 404 });
    expect(server.calendar.subscriptions).toEqual([]);
  });

  test('changes through the API and in Outlook are notified with the clientState; a dropped notification is caught by delta', async () => {
    const listener = await listen();
    const all = await subscribe(listener);
    const deletesOnly = await subscribe(listener, { changeType: 'deleted', clientState: 'deletes' });
    const round = await graph.client.api(`/users/${SAM}/calendarView/delta?startDateTime=2025-07-01T00:00:00Z&endDateTime=2025-08-01T00:00:00Z`).get();

    const created = await createEvent(meeting('TAF meeting', '2025-07-14T10:00:00', '2025-07-14T11:00:00'), sam.mail!);
    const moved = server.calendar.userMoves(sam.id, created.id, { start: new Date('2025-07-14T13:00:00Z'), end: new Date('2025-07-14T14:00:00Z') });
    server.calendar.dropNotifications(1);
    await graph.client.api(`/users/${SAM}/events/${created.id}`).patch({ subject: 'TAF meeting (agenda)' });
    server.calendar.userCancels(SAM, created.id);
    await server.calendar.settled();

    expect(server.calendar.notifications.map((n) => [n.subscriptionId, n.changeType, n.eventId, n.status])).toEqual([
      [all.id, 'created', created.id, 202],
      [all.id, 'updated', created.id, 202],
      [all.id, 'updated', created.id, 'dropped'],
      [all.id, 'deleted', created.id, 202],
      [deletesOnly.id, 'deleted', created.id, 202],
    ]);
    // Graph does not promise the order notifications arrive in: they are matched, not lined up.
    const received = listener.notifications.map((n) => n.value[0]);
    const resource = `Users/${sam.id}/Events/${created.id}`;
    expect(received.find((n) => n.changeType === 'created')).toEqual({
      subscriptionId: all.id,
      subscriptionExpirationDateTime: all.expirationDateTime,
      changeType: 'created',
      resource,
      resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': resource, '@odata.etag': created['@odata.etag'], id: created.id },
      clientState: 'secret-from-the-product',
      tenantId: server.tenantId,
    });
    expect(received.map((n) => `${n.changeType} ${n.clientState}`).sort()).toEqual(['created secret-from-the-product', 'deleted deletes', 'deleted secret-from-the-product', 'updated secret-from-the-product']);
    expect((received.find((n) => n.changeType === 'updated')!.resourceData as { '@odata.etag': string })['@odata.etag']).toBe(`W/"${moved.changeKey}"`);
    // The subject change was never notified; delta still has the event's last state: removed.
    const changes = await graph.client.api(round['@odata.deltaLink']).get();
    expect(changes.value).toEqual([{ '@odata.type': '#microsoft.graph.event', id: created.id, '@removed': { reason: 'deleted' } }]);

    // No notifications once the subscriptions are gone.
    await graph.client.api(`/subscriptions/${all.id}`).delete();
    await graph.client.api(`/subscriptions/${deletesOnly.id}`).delete();
    server.calendar.addBusy(SAM, { start: new Date('2025-07-15T09:00:00Z'), end: new Date('2025-07-15T10:00:00Z') });
    await server.calendar.settled();
    expect(server.calendar.notifications).toHaveLength(5);
  });
});

describe('permissions, mailboxes and faults', () => {
  test('without Calendars.ReadWrite every calendar and subscription request is refused with ErrorAccessDenied', async () => {
    const narrow = await startGraphServer({ roles: ALL_ROLES.filter((r) => r !== 'Calendars.ReadWrite') });
    try {
      const client = graphFor(narrow).client;
      const refusals = await Promise.all([
        failure(client.api(`/users/${SAM}/calendar/getSchedule`).post({ schedules: [SAM], startTime: london('2025-07-01T09:00:00'), endTime: london('2025-07-01T17:00:00') })),
        failure(client.api(`/users/${SAM}/events`).post(meeting('x', '2025-07-01T09:00:00', '2025-07-01T10:00:00'))),
        failure(client.api(`/users/${SAM}/events/AAMkAx`).get()),
        failure(client.api(`/users/${SAM}/calendarView/delta?startDateTime=2025-07-01T00:00:00&endDateTime=2025-07-02T00:00:00`).get()),
        failure(client.api('/subscriptions').post({ changeType: 'created', notificationUrl: 'https://x.example/n', resource: `/users/${SAM}/events`, expirationDateTime: minutesAhead(60) })),
        failure(client.api('/subscriptions').get()),
      ]);
      expect(refusals.map((e) => [e.statusCode, e.code, e.message])).toEqual(refusals.map(() => [403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.']));
    } finally {
      await narrow.close();
    }
  });

  test('a mailbox not in the directory is 404 ErrorInvalidUser; with an empty directory every mailbox exists, named case-insensitively', async () => {
    expect(await failure(createEvent(meeting('x', '2025-07-01T09:00:00', '2025-07-01T10:00:00'), STRANGER))).toMatchObject({ statusCode: 404, code: 'ErrorInvalidUser', message: `The requested user '${STRANGER}' is invalid.` });
    const open = await startGraphServer();
    try {
      const client = graphFor(open).client;
      const created = await client.api('/users/Worker@Agency.example/events').post(meeting('x', '2025-07-01T09:00:00', '2025-07-01T10:00:00'));
      expect(await client.api(`/users/worker@agency.example/events/${created.id}`).get()).toMatchObject({ id: created.id, organizer: { emailAddress: { address: 'worker@agency.example' } } });
      expect(open.calendar.events('WORKER@agency.example')).toHaveLength(1);
    } finally {
      await open.close();
    }
  });

  test('fail() reaches the calendar inside $batch: a throttled getSchedule is sent again after its Retry-After', async () => {
    server.fail(1, { status: 429, retryAfter: 0, match: (r) => r.inBatch && r.path.includes('getSchedule') });
    const answers = await graph.batch([
      { method: 'POST', url: `/users/${SAM}/calendar/getSchedule`, body: { schedules: [SAM], startTime: london('2025-07-01T09:00:00'), endTime: london('2025-07-01T17:00:00') } },
      { method: 'GET', url: `/users/${SAM}/calendarView/delta?startDateTime=2025-07-01T00:00:00&endDateTime=2025-07-02T00:00:00` },
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(server.batchSizes).toEqual([2, 1]);
    expect((answers[0].body as { value: Array<{ availabilityView: string }> }).value[0].availabilityView).toBe('0'.repeat(16));
  });
});
