import { KeyedSemaphore } from '../../src/concurrency';
import { createGraph, Graph, GraphClientOptions, mailboxOf, retryAfterMs } from '../../src/graph/client';
import { GraphConfig, graphConfigFromEnv } from '../../src/graph/config';
import { directoryUser, DirectoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/** The Graph client against the loopback Graph: throttling and transient answers, the per-mailbox limit, $batch. */

let server: GraphServer;
const people: DirectoryUser[] = Array.from({ length: 45 }, (_, i) => directoryUser(`Person ${String.fromCharCode(97 + (i % 26))}${i}`));
const [sam, morgan] = people;

const graphFor = (options: GraphClientOptions = {}): Graph =>
  createGraph(graphConfigFromEnv(server.env()) as GraphConfig, { ...options, retry: { baseDelayMs: 50, jitterMs: 20, ...options.retry } });
const managerOf = (graph: Graph, id: string) => graph.client.api(`/users/${id}/manager`).select('id').get();
const graphRequests = () => server.requests.filter((r) => !r.path.startsWith('/v1.0/$batch'));

beforeAll(async () => {
  server = await startGraphServer({ latencyMs: 5 });
  for (const p of people) server.users.set(p.id, p);
  for (const p of people) server.managers.set(p.id, p === morgan ? sam.id : morgan.id);
});
afterAll(() => server?.close());
beforeEach(() => server.reset());

describe('throttling and transient answers', () => {
  test('a 429 storm then success: each try waits out Retry-After (plus jitter), and the caller gets one answer', async () => {
    const graph = graphFor();
    server.fail(2, { status: 429, retryAfter: 1 });
    const started = Date.now();
    expect(await managerOf(graph, sam.id)).toMatchObject({ id: morgan.id });
    expect(graphRequests().map((r) => r.status)).toEqual([429, 429, 200]);
    const [first, second, third] = graphRequests().map((r) => r.at);
    expect(second - first).toBeGreaterThanOrEqual(1000);
    expect(third - second).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  test('503 and 504 are tried again, after a growing backoff when no Retry-After is given', async () => {
    const graph = graphFor();
    server.fail(1, { status: 503 });
    server.fail(1, { status: 504 });
    expect(await managerOf(graph, sam.id)).toMatchObject({ id: morgan.id });
    expect(graphRequests().map((r) => r.status)).toEqual([503, 504, 200]);
    const [a, b, c] = graphRequests().map((r) => r.at);
    expect(b - a).toBeGreaterThanOrEqual(50);
    expect(c - b).toBeGreaterThanOrEqual(100);
  });

  test('tries are bounded: after the fourth the last answer is given back, with its Retry-After', async () => {
    const graph = graphFor();
    server.fail(10, { status: 503, retryAfter: 0 });
    await expect(managerOf(graph, sam.id)).rejects.toMatchObject({ statusCode: 503, code: 'serviceNotAvailable' });
    expect(graphRequests()).toHaveLength(4);
  });

  test('a Retry-After longer than the client waits goes straight back to the caller (the outbox reschedules it)', async () => {
    const graph = graphFor();
    server.fail(1, { status: 429, retryAfter: 120 });
    const error = await managerOf(graph, sam.id).catch((e) => e);
    expect(error).toMatchObject({ statusCode: 429, code: 'TooManyRequests' });
    expect(retryAfterMs(error.headers.get('retry-after'))).toBe(120_000);
    expect(graphRequests()).toHaveLength(1);
  });

  test('a 500 is tried again for a read, never for a write that may have been done', async () => {
    const graph = graphFor();
    server.fail(1, { status: 500 });
    expect(await managerOf(graph, sam.id)).toMatchObject({ id: morgan.id });
    server.reset();
    server.fail(1, { status: 500 });
    const mail = { message: { subject: 'x', body: { contentType: 'text', content: 'x' }, toRecipients: [{ emailAddress: { address: 'sam@council.example' } }] } };
    await expect(graph.client.api(`/users/${sam.id}/sendMail`).post(mail)).rejects.toMatchObject({ statusCode: 500 });
    expect(graphRequests().map((r) => r.status)).toEqual([500]);
    expect(server.sentMail).toEqual([]);
  });

  test('Retry-After is read as seconds or as an HTTP date', () => {
    expect(retryAfterMs('7')).toBe(7000);
    expect(retryAfterMs(new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(30_000);
    expect(retryAfterMs('soon')).toBeUndefined();
    expect(retryAfterMs(null)).toBeUndefined();
  });
});

describe('at most 4 requests at once per mailbox', () => {
  test('twelve requests to one mailbox run four at a time, while another mailbox is not held up', async () => {
    const slow = await startGraphServer({ latencyMs: 150 });
    try {
      for (const p of people) slow.users.set(p.id, p);
      slow.managers.set(sam.id, morgan.id);
      slow.managers.set(morgan.id, sam.id);
      const graph = createGraph(graphConfigFromEnv(slow.env()) as GraphConfig);
      await managerOf(graph, sam.id); // the token, first
      slow.reset();
      const started = Date.now();
      await Promise.all([...Array.from({ length: 12 }, () => managerOf(graph, sam.id)), ...Array.from({ length: 4 }, () => managerOf(graph, morgan.id))]);
      const took = Date.now() - started;
      expect(slow.peakConcurrency.get(sam.id)).toBe(4);
      expect(slow.peakConcurrency.get(morgan.id)).toBe(4);
      expect(took).toBeGreaterThanOrEqual(3 * 150);
      expect(took).toBeLessThan(4 * 150 + 400);
    } finally {
      await slow.close();
    }
  });

  test('the mailbox is read from the request path, by id or address', () => {
    expect(mailboxOf(`https://graph.microsoft.com/v1.0/users/EarlyHelp%40council.example/sendMail`)).toBe('earlyhelp@council.example');
    expect(mailboxOf(`https://127.0.0.1:4000/v1.0/users/${sam.id}/calendar/getSchedule`)).toBe(sam.id);
    expect(mailboxOf('https://graph.microsoft.com/v1.0/groups/g/members')).toBeUndefined();
  });

  test('the semaphore hands a slot to the next in line, first come first served', async () => {
    const semaphore = new KeyedSemaphore(2);
    const order: string[] = [];
    const a = await semaphore.acquire('m');
    const b = await semaphore.acquire('m');
    const c = semaphore.acquire('m').then((release) => (order.push('c'), release));
    const d = semaphore.acquire('m').then((release) => (order.push('d'), release));
    await semaphore.acquire('other').then((release) => release());
    expect(order).toEqual([]);
    a();
    a(); // a second release of the same slot changes nothing
    (await c)();
    b();
    (await d)();
    expect(order).toEqual(['c', 'd']);
  });
});

describe('the loopback Graph keeps to its contract', () => {
  test("a malformed request is answered with Graph's error body, and a request without a valid token with 401", async () => {
    const graph = graphFor();
    const bad = await graph.client
      .api(`/users/${sam.id}/sendMail`)
      .post({ message: { subject: 'x', toRecipients: [{ emailAddress: { address: 'sam@council.example' } }], importance: 'urgent' } })
      .catch((e) => e);
    expect(bad).toMatchObject({ statusCode: 400, code: 'BadRequest', message: expect.stringContaining("'urgent' is not a member of graph.importance") });
    expect(JSON.parse(bad.body)).toEqual({ code: 'BadRequest', message: expect.any(String), innerError: { date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/), 'request-id': expect.any(String), 'client-request-id': expect.any(String) } });
    const unknown = await graph.client.api(`/users/${sam.id}/sendMail`).post({ message: { subject: 'x', to: ['sam@council.example'] } }).catch((e) => e);
    expect(unknown).toMatchObject({ statusCode: 400, message: expect.stringContaining("The property 'to' does not exist on type 'microsoft.graph.message'") });
    const unauthenticated = await fetch(`${server.endpoint}/v1.0/users/${sam.id}/manager`, { headers: { authorization: 'Bearer forged' } });
    expect(unauthenticated.status).toBe(401);
    expect(await unauthenticated.json()).toMatchObject({ error: { code: 'InvalidAuthenticationToken' } });
    expect(server.sentMail).toEqual([]);
  });
});

describe('$batch', () => {
  test('45 requests go in batches of 20, 20 and 5, and are answered in order', async () => {
    const graph = graphFor();
    const answers = await graph.batch(people.map((p) => ({ method: 'GET', url: `/users/${p.id}/manager?$select=id` })));
    expect(server.batchSizes).toEqual([20, 20, 5]);
    expect(answers.map((a) => a.status)).toEqual(people.map(() => 200));
    expect(answers.map((a) => (a.body as { id: string }).id)).toEqual(people.map((p) => (p.id === morgan.id ? sam.id : morgan.id)));
  });

  test('a request throttled inside a batch is sent again after its Retry-After, alone with the others throttled', async () => {
    const graph = graphFor();
    server.fail(3, { status: 429, retryAfter: 1, match: (r) => r.inBatch });
    const started = Date.now();
    const answers = await graph.batch(people.slice(0, 5).map((p) => ({ method: 'GET', url: `/users/${p.id}/manager` })));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(server.batchSizes).toEqual([5, 3]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  test('a batch throttled as a whole is tried again by the client; a request still refused after every try is answered with its refusal', async () => {
    const graph = graphFor();
    server.fail(1, { status: 429, retryAfter: 0, match: (r) => r.path === '/v1.0/$batch' });
    server.fail(10, { status: 503, retryAfter: 0, match: (r) => r.inBatch && r.path.includes(people[1].id) });
    const answers = await graph.batch(people.slice(0, 3).map((p) => ({ method: 'GET', url: `/users/${p.id}/manager` })));
    expect(answers.map((a) => a.status)).toEqual([200, 503, 200]);
    expect(answers[1]).toMatchObject({ headers: { 'retry-after': '0' }, body: { error: { code: 'serviceNotAvailable', innerError: { 'request-id': expect.any(String) } } } });
    expect(server.batchSizes).toEqual([3, 1, 1, 1]);
  });

  test('a malformed request in a batch gets Graph\u2019s error body, the others their answers', async () => {
    const graph = graphFor();
    const answers = await graph.batch([
      { method: 'GET', url: `/users/${sam.id}/manager?$select=id,shoeSize` },
      { method: 'GET', url: `/users/${morgan.id}/manager` },
    ]);
    expect(answers[0]).toMatchObject({ status: 400, body: { error: { code: 'Request_BadRequest', message: expect.stringContaining("'shoeSize'") } } });
    expect(answers[1].status).toBe(200);
  });
});
