import { startBot } from '../../bot/main';
import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { Dispatcher } from '../../src/delivery/dispatcher';
import { enqueue, heldUntil, list } from '../../src/delivery/outbox';
import { createGraph, Graph } from '../../src/graph/client';
import { GraphConfig, graphConfigFromEnv } from '../../src/graph/config';
import { EARLYHELP_PROPERTY_SET, OUTBOX_ID_PROPERTY, outboxTag, sendMailBody, sentItemsFilter, startMailDelivery } from '../../src/graph/mail';
import { LocalDate } from '../../src/localDate';
import { createCaseLog } from '../../src/storage/caseLog';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { allocationInput } from '../helpers/allocationInput';
import { ENGINES, serverDatabase, TestDatabase } from '../helpers/database';
import { JO, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { ALL_ROLES, csdlFault, csdlProperty, extendedPropertyKey, graphCsdl, GraphServer, GraphServerOptions, RecordedRequest, startGraphServer } from '../helpers/graphServer';

/** The allocation e-mail, from the outbox to the service mailbox through Graph's sendMail, by a real dispatcher. */

const MAILBOX = 'earlyhelp@council.example';

/** The least wait before a retry that looks in Sent Items, shortened for the tests (a minute in service). */
const SETTLE_MS = 150;

const isSendMail = ({ path }: { path: string }) => path.endsWith('/sendMail');
const isSentItemsLook = (r: RecordedRequest) => r.method === 'GET' && /\/mailFolders\/sentitems\/messages\?/.test(r.path);
/** The `$filter` a recorded request carried. */
const filterOf = (r: RecordedRequest) => new URL(r.path, 'https://graph.invalid').searchParams.get('$filter');

async function until(what: () => Promise<boolean> | boolean, ms = 10_000) {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the sendMail body', () => {
  test("uses only names Graph's schema defines: the sendMail action's parameters and the message, recipient, emailAddress and itemBody types", () => {
    const csdl = graphCsdl();
    const body = sendMailBody({ to: [SAM.email], cc: [MORGAN.email, JO.email], subject: 'Case EH-1 allocated to you', body: 'Case EH-1 has been allocated to Sam Patel.' }, '42@2026-11-23T09:15:00.123Z');
    if ('fault' in body) throw new Error(body.fault);
    expect(body.message.singleValueExtendedProperties).toEqual([{ id: OUTBOX_ID_PROPERTY, value: '42@2026-11-23T09:15:00.123Z' }]);
    expect(csdlProperty(csdl, 'graph.message', 'singleValueExtendedProperties')?.type).toBe('Collection(graph.singleValueLegacyExtendedProperty)');
    const parameters = csdl.actions.get('sendMail')!.map((p) => p.name.toLowerCase());
    expect(Object.keys(body).map((k) => parameters.includes(k.toLowerCase()))).toEqual([true, true]);
    for (const key of Object.keys(body.message)) expect([key, csdlProperty(csdl, 'graph.message', key)?.type]).toEqual([key, expect.any(String)]);
    expect(csdlProperty(csdl, 'graph.message', 'toRecipients')?.type).toBe('Collection(graph.recipient)');
    expect(csdlProperty(csdl, 'graph.recipient', 'emailAddress')?.type).toBe('graph.emailAddress');
    expect(csdlProperty(csdl, 'graph.emailAddress', 'address')?.type).toBe('Edm.String');
    expect(csdlProperty(csdl, 'graph.itemBody', 'contentType')?.type).toBe('graph.bodyType');
    expect(csdlFault(csdl, 'graph.message', body.message, 'message')).toBeNull();
    // Graph's syntax for a named property: "{type} {GUID} Name {name}".
    expect(OUTBOX_ID_PROPERTY).toMatch(/^String \{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\} Name EarlyHelpOutboxId$/);
    expect(extendedPropertyKey(OUTBOX_ID_PROPERTY)).not.toBeNull();
    expect(csdlFault(csdl, 'graph.message', { ...body.message, body: { contentType: 'markdown', content: '' } }, 'message')).toMatch(/'markdown' is not a member of graph.bodyType/);
    expect(csdlFault(csdl, 'graph.message', { ...body.message, to: [] }, 'message')).toMatch(/The property 'to' does not exist on type 'microsoft.graph.message'/);
  });

  test('every e-mail is tagged with its outbox row and when it was queued, so that a new database never mistakes an old e-mail for its own', () => {
    expect(outboxTag({ id: 42, createdAt: '2026-11-23T09:15:00.123Z' })).toBe('42@2026-11-23T09:15:00.123Z');
    expect(outboxTag({ id: 42, createdAt: new Date('2026-11-23T09:15:00.123Z') as unknown as string })).toBe('42@2026-11-23T09:15:00.123Z');
    expect(sentItemsFilter("42@x'y")).toBe(`singleValueExtendedProperties/Any(ep: ep/id eq '${OUTBOX_ID_PROPERTY}' and ep/value eq '42@x''y')`);
  });

  test('an e-mail missing its recipients or subject is not sendable, and says which', () => {
    expect(sendMailBody({ cc: [], subject: 's', body: 'b' })).toEqual({ fault: 'to' });
    expect(sendMailBody({ to: ['a@b.example'], subject: ' ', body: 'b' })).toEqual({ fault: 'subject' });
    expect(sendMailBody({ to: ['a@b.example'], cc: 'x', subject: 's', body: 'b' })).toEqual({ fault: 'cc' });
  });
});

describe("the loopback Graph server's Sent Items", () => {
  let server: GraphServer;
  let graph: Graph;
  const sentItemsPath = (query: string) => `/users/${encodeURIComponent(MAILBOX)}/mailFolders/sentitems/messages?${query}`;
  const byFilter = (filter: string, extra = '&$select=id') => sentItemsPath(`$filter=${encodeURIComponent(filter)}${extra}`);
  const ids = async (path: string) => ((await graph.client.api(path).get()) as { value: Array<{ id: string }> }).value.map((m) => m.id);
  const refusal = (path: string) => graph.client.api(path).get().then(
    () => null,
    (e: { statusCode?: number; code?: string }) => [e.statusCode, e.code],
  );
  const send = (tag: string | undefined, saveToSentItems = true) => {
    const body = sendMailBody({ to: [SAM.email], subject: 'Case EH-9 allocated to you', body: 'b' }, tag);
    if ('fault' in body) throw new Error(body.fault);
    return graph.client.api(`/users/${encodeURIComponent(MAILBOX)}/sendMail`).post({ ...body, saveToSentItems });
  };

  beforeAll(async () => {
    server = await startGraphServer();
    graph = createGraph(graphConfigFromEnv(server.env({ EARLYHELP_MAILBOX: MAILBOX })) as GraphConfig, { retry: { maxAttempts: 1 } });
  });
  afterAll(() => server?.close());
  afterEach(() => server.reset());

  test("files what was sent, unless SaveToSentItems is false, and finds it by Graph's extended-property filter: the name with case, the value without", async () => {
    await send('7@2026-11-23T09:15:00.000Z');
    await send('8@2026-11-23T09:15:00.000Z', false);
    await send(undefined);
    expect(server.sentMail).toHaveLength(3);
    expect(server.sentItems).toHaveLength(2);
    const [seven] = server.sentItems;
    expect(await ids(byFilter(sentItemsFilter('7@2026-11-23T09:15:00.000Z')))).toEqual([seven.id]);
    expect(await ids(byFilter(sentItemsFilter('7@2026-11-23t09:15:00.000z')))).toEqual([seven.id]);
    expect(await ids(byFilter(sentItemsFilter('8@2026-11-23T09:15:00.000Z')))).toEqual([]);
    expect(await ids(byFilter(sentItemsFilter('7@2026-11-23T09:15:00.000Z').replace('EarlyHelpOutboxId', 'earlyhelpoutboxid')))).toEqual([]);
    // The type, the GUID and the lambda's keywords without case, as Graph reads them.
    const shouted = `singleValueExtendedProperties/any(x: x/id eq 'string ${EARLYHELP_PROPERTY_SET.toUpperCase()} Name EarlyHelpOutboxId' and x/value eq '7@2026-11-23T09:15:00.000Z')`;
    expect(await ids(byFilter(shouted))).toEqual([seven.id]);
    // Newest first, extended properties not returned unless asked for.
    const all = (await graph.client.api(sentItemsPath('$select=id,subject')).get()) as { value: Array<Record<string, unknown>> };
    expect(all.value.map((m) => Object.keys(m).sort())).toEqual([['@odata.etag', 'id', 'subject'], ['@odata.etag', 'id', 'subject']]);
    expect(all.value[1].id).toBe(seven.id);
  });

  test('refuses, with Graph\u2019s error body, a filter it does not understand, a property message does not have, and an invalid extended property id', async () => {
    expect(await refusal(byFilter("subject eq 'Case EH-9 allocated to you'"))).toEqual([400, 'ErrorInvalidUrlQueryFilter']);
    expect(await refusal(byFilter(sentItemsFilter('7').replace(OUTBOX_ID_PROPERTY, 'String EarlyHelpOutboxId')))).toEqual([400, 'ErrorInvalidUrlQueryFilter']);
    expect(await refusal(sentItemsPath('$select=id,outboxId'))).toEqual([400, 'RequestBroker--ParseUri']);
    const body = sendMailBody({ to: [SAM.email], subject: 's', body: 'b' }, '7');
    if ('fault' in body) throw new Error(body.fault);
    body.message.singleValueExtendedProperties = [{ id: 'String Name EarlyHelpOutboxId', value: '7' }];
    expect(await graph.client.api(`/users/${encodeURIComponent(MAILBOX)}/sendMail`).post(body).then(() => null, (e: { statusCode: number; code: string }) => [e.statusCode, e.code])).toEqual([400, 'ErrorInvalidProperty']);
    expect(server.sentMail).toEqual([]);
  });

  test('needs Mail.Read to filter on an extended property: Mail.ReadBasic.All lists Sent Items but not by the tag, and without either nothing is listed', async () => {
    const without = ALL_ROLES.filter((r) => r !== 'Mail.Read');
    for (const [roles, listed, filtered] of [
      [[...without, 'Mail.ReadBasic.All'], null, [403, 'ErrorAccessDenied']],
      [without, [403, 'ErrorAccessDenied'], [403, 'ErrorAccessDenied']],
    ] as const) {
      const narrow = await startGraphServer({ roles: [...roles] });
      try {
        const client = createGraph(graphConfigFromEnv(narrow.env({ EARLYHELP_MAILBOX: MAILBOX })) as GraphConfig, { retry: { maxAttempts: 1 } }).client;
        const answer = (path: string) => client.api(path).get().then(() => null, (e: { statusCode?: number; code?: string }) => [e.statusCode, e.code]);
        expect(await answer(sentItemsPath('$select=id'))).toEqual(listed);
        expect(await answer(byFilter(sentItemsFilter('7')))).toEqual(filtered);
      } finally {
        await narrow.close();
      }
    }
  });
});

describe.each(ENGINES)('e-mail from the outbox through Graph (%s)', (_engine, open) => {
  let t: TestDatabase;
  let server: GraphServer;
  let graph: Graph;
  let config: GraphConfig;
  let running: Dispatcher | undefined;
  let ctx: CaseWorkContext;

  const start = (options: { concurrency?: number } = {}, on: { config: GraphConfig; graph: Graph } = { config, graph }) => {
    running = startMailDelivery({ db: t.db, config: on.config, graph: on.graph, mail: { sentItemsSettleMs: SETTLE_MS }, dispatcher: { pollMs: 20, backoff: { baseMs: 20, maxMs: 50 }, ...options } });
    return running;
  };
  /** `fn` with a Graph server of the test's own (other permissions, a slower Sent Items) and a client for it; the sender stopped and the server closed after. */
  const withOwnServer = async (options: GraphServerOptions, fn: (own: { server: GraphServer; config: GraphConfig; graph: Graph }) => Promise<void>) => {
    const server = await startGraphServer({ latencyMs: 5, ...options });
    const ownConfig = graphConfigFromEnv(server.env({ EARLYHELP_MAILBOX: MAILBOX })) as GraphConfig;
    try {
      await fn({ server, config: ownConfig, graph: createGraph(ownConfig, { retry: { baseDelayMs: 20, jitterMs: 20 } }) });
    } finally {
      await running?.stop();
      running = undefined;
      await server.close();
    }
  };
  /** The row as a sender that died mid-send leaves it: begun, never recorded, its lease run out. */
  const diedMidSend = (id: number) =>
    t.db.query(
      `UPDATE outbox SET status = 'pending', delivered_at = NULL, sent_at = NULL, delivered_activity_id = NULL, attempts = 1,
              claimed_by = 'dead-sender#0', send_started_at = now() - interval '2 minutes', lease_until = now() - interval '1 minute'
        WHERE id = $1`,
      [id],
    );
  const row = async (id: number) =>
    (
      await t.db.query<{ status: string; attempts: number; last_error: string | null; send_started_at: string | null; delivered_activity_id: string | null; created_at: string }>(
        'SELECT status, attempts, last_error, send_started_at, delivered_activity_id, created_at FROM outbox WHERE id = $1',
        [id],
      )
    )[0];
  const email = async (payload: Record<string, unknown> = { to: [SAM.email], cc: [MORGAN.email], subject: 'Case EH-9 allocated to you', body: 'Case EH-9 has been allocated to Sam Patel.' }) =>
    (await enqueue(t.db, { kind: 'allocation-email', caseId: 'c', payload }))!;
  const sendMails = (on: GraphServer = server) => on.requests.filter(isSendMail);
  const looks = (on: GraphServer = server) => on.requests.filter(isSentItemsLook);

  beforeAll(async () => {
    t = await open();
    server = await startGraphServer({ latencyMs: 5 });
    config = graphConfigFromEnv(server.env({ EARLYHELP_MAILBOX: MAILBOX })) as GraphConfig;
    graph = createGraph(config, { retry: { baseDelayMs: 20, jitterMs: 20 } });
    const directory = createStaffDirectory(t.db);
    await directory.save(TEAM, 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => '2026-11-23' as LocalDate };
  });
  afterAll(async () => {
    await running?.stop();
    await server?.close();
    await t?.dispose();
  });
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    await t.db.query('DELETE FROM outbox');
    await t.db.query('DELETE FROM delivery_holds');
    server.reset();
  });

  test('the allocation e-mail goes from the service mailbox exactly once: delivered, one sendMail, the reference in the subject, no family name anywhere', async () => {
    const record = await allocateCase(ctx, MORGAN, allocationInput({ familyName: 'Fernsby', children: [{ name: 'Tallulah', dateOfBirth: '2019-04-02' }] }));
    const [{ id }] = await t.db.query<{ id: number }>("SELECT id FROM outbox WHERE kind = 'allocation-email' AND case_id = $1", [record.caseId]);
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 200)); // more polls: nothing more is sent
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 1, last_error: null });
    expect(server.sentMail).toHaveLength(1);
    const [sent] = server.sentMail;
    expect(sent).toMatchObject({ mailbox: MAILBOX, saveToSentItems: true });
    expect(sent.message).toEqual({
      subject: `Case ${record.reference} allocated to you`,
      body: { contentType: 'text', content: expect.stringContaining('The Manager\u2019s Decision and the case details are in the Early Help app in Teams.') },
      toRecipients: [{ emailAddress: { address: SAM.email } }],
      ccRecipients: expect.arrayContaining([{ emailAddress: { address: MORGAN.email } }, { emailAddress: { address: JO.email } }]),
      singleValueExtendedProperties: [{ id: OUTBOX_ID_PROPERTY, value: outboxTag({ id, createdAt: (await row(id)).created_at }) }],
    });
    expect(server.sentItems.map((m) => m.message)).toEqual([sent.message]);
    expect(JSON.stringify(sent.message)).not.toMatch(/Fernsby|Tallulah|School attendance|Call mum/);
  });

  test('the first try sends without looking in Sent Items: one request, the sendMail', async () => {
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 150));
    expect(server.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toEqual([`POST /v1.0/users/${encodeURIComponent(MAILBOX)}/sendMail 202`]);
    expect(looks()).toEqual([]);
  });

  test('a 429 storm then success: each try after Retry-After, the mailbox held meanwhile (Teams is not), delivered once', async () => {
    server.fail(2, { status: 429, retryAfter: 1, match: isSendMail });
    const id = await email();
    start();
    await until(async () => (await row(id)).status !== 'pending', 8000);
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 3 });
    expect(sendMails().map((r) => r.status)).toEqual([429, 429, 202]);
    const [a, b, c] = sendMails().map((r) => r.at);
    expect(b - a).toBeGreaterThanOrEqual(1000);
    expect(c - b).toBeGreaterThanOrEqual(1000);
    expect(server.sentMail).toHaveLength(1);
    expect(await heldUntil(t.db, 'teams')).toBeNull();
  });

  test('503 and 504 are tried again, each retry after looking in Sent Items and at least the settling wait, and the e-mail delivered once', async () => {
    server.fail(1, { status: 503, retryAfter: 0, match: isSendMail });
    server.fail(1, { status: 504, match: isSendMail });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    expect(await row(id)).toMatchObject({ attempts: 3 });
    expect(sendMails().map((r) => r.status)).toEqual([503, 504, 202]);
    expect(looks().map((r) => r.status)).toEqual([200, 200]);
    const [first, second] = sendMails();
    expect(looks()[0].at - first.at).toBeGreaterThanOrEqual(SETTLE_MS);
    expect(looks()[1].at - second.at).toBeGreaterThanOrEqual(SETTLE_MS);
    expect(server.sentMail).toHaveLength(1);
  });

  test('a sendMail answered 504 after the e-mail went (a gateway timing out on work that went through) is found in Sent Items: delivered, sent once', async () => {
    server.fail(1, { status: 504, afterWork: true, match: isSendMail });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 200)); // more polls: nothing more is sent
    expect(server.sentMail).toHaveLength(1);
    expect(sendMails().map((r) => r.status)).toEqual([504]);
    expect(looks().map((r) => r.status)).toEqual([200]);
    const tag = outboxTag({ id, createdAt: (await row(id)).created_at });
    expect(filterOf(looks()[0])).toBe(sentItemsFilter(tag));
    expect(new URL(looks()[0].path, 'https://graph.invalid').searchParams.get('$select')).toBe('id');
    // Recorded delivered by the look, without a second send: one begun try, the copy in Sent Items named.
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 1, last_error: null, delivered_activity_id: server.sentItems[0].id });
  });

  test('a sendMail answered 504 before the work is tried again: not in Sent Items, so sent, once', async () => {
    server.fail(1, { status: 504 });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 200));
    expect(sendMails().map((r) => r.status)).toEqual([504, 202]);
    expect(looks().map((r) => r.status)).toEqual([200]);
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts: 2, last_error: null });
    expect(server.sentMail).toHaveLength(1);
  });

  test.each([
    ['after the e-mail went: found in Sent Items, not sent again', true, [0], 1],
    ['before the work: not in Sent Items, sent again', false, [0, 202], 2],
  ])('a connection lost on sendMail %s; sent once', async (_name, afterWork, statuses, attempts) => {
    server.fail(1, { status: 0, dropConnection: true, afterWork, match: isSendMail });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 200));
    expect(sendMails().map((r) => r.status)).toEqual(statuses);
    expect(looks()).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'delivered', attempts });
    expect(server.sentMail).toHaveLength(1);
  });

  test.each([
    ['no permission to read mail', ALL_ROLES.filter((r) => r !== 'Mail.Read')],
    ['only Mail.ReadBasic.All, which leaves out extended properties', [...ALL_ROLES.filter((r) => r !== 'Mail.Read'), 'Mail.ReadBasic.All']],
  ])('with %s, a retry cannot look in Sent Items: failed in doubt for a person, never a second e-mail', async (_name, roles) => {
    await withOwnServer({ roles }, async (own) => {
      own.server.fail(1, { status: 504, afterWork: true, match: isSendMail });
      const id = await email();
      start({}, own);
      await until(async () => (await row(id)).status === 'failed');
      await new Promise((r) => setTimeout(r, 200));
      expect(await row(id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'Sent Items not looked in: http 403 ErrorAccessDenied; an earlier try may have been sent', send_started_at: expect.anything() });
      expect((await list(t.db, { failed: true })).find((e) => e.id === id)).toMatchObject({ inDoubt: true });
      expect(own.server.sentMail).toHaveLength(1);
      expect(looks(own.server).map((r) => r.status)).toEqual([403]);
    });
  });

  test.each([
    ['after its e-mail went: found in Sent Items, recorded delivered, not sent again', true, []],
    ['before its e-mail left: not in Sent Items, sent', false, [202]],
  ])('a send whose sender died mid-send is taken up once its lease has run out, %s', async (_name, went, statuses) => {
    const id = await email();
    if (went) {
      start();
      await until(async () => (await row(id)).status === 'delivered');
      await running!.stop();
      server.requests.length = 0;
    }
    await diedMidSend(id);
    start();
    await until(async () => (await row(id)).status === 'delivered');
    await new Promise((r) => setTimeout(r, 200));
    expect(sendMails().map((r) => r.status)).toEqual(statuses);
    expect(looks().map((r) => r.status)).toEqual([200]);
    expect(server.sentMail).toHaveLength(1);
    expect(await row(id)).toMatchObject({ status: 'delivered', last_error: null });
  });

  test('Exchange files the copy in Sent Items a moment after sending: the settling wait before a retry covers a short delay', async () => {
    await withOwnServer({ sentItemsDelayMs: SETTLE_MS / 2 }, async (own) => {
      own.server.fail(1, { status: 504, afterWork: true, match: isSendMail });
      const id = await email();
      start({}, own);
      await until(async () => (await row(id)).status === 'delivered');
      await new Promise((r) => setTimeout(r, 200));
      expect(own.server.sentMail).toHaveLength(1);
      expect(await row(id)).toMatchObject({ attempts: 1 });
    });
  });

  test('the limit of the look, pinned: a copy filed later than the retry is not found, and the e-mail goes twice', async () => {
    await withOwnServer({ sentItemsDelayMs: 5_000 }, async (own) => {
      own.server.fail(1, { status: 504, afterWork: true, match: isSendMail });
      const id = await email();
      start({}, own);
      await until(async () => (await row(id)).status === 'delivered');
      expect(looks(own.server).map((r) => r.status)).toEqual([200]);
      expect(own.server.sentMail).toHaveLength(2);
    });
  });

  test("a 400 is failed with Graph's error code as the reason, never its message, and is not tried again", async () => {
    const id = await email({ to: ['Sam Patel'], cc: [], subject: 'Case EH-9 allocated to you', body: 'b' });
    start();
    await until(async () => (await row(id)).status === 'failed');
    expect(await row(id)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'http 400 ErrorInvalidRecipients', send_started_at: null });
    await new Promise((r) => setTimeout(r, 150));
    expect(sendMails()).toHaveLength(1);
  });

  test('a 500 may have sent it: failed, in doubt, never sent again by itself', async () => {
    server.fail(1, { status: 500 });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'failed');
    expect(await row(id)).toMatchObject({ last_error: 'http 500 generalException: may have been sent', send_started_at: expect.any(String) });
    await new Promise((r) => setTimeout(r, 150));
    expect(sendMails()).toHaveLength(1);
  });

  test('a queued e-mail with no recipients is failed without a request', async () => {
    const id = await email({ subject: 'Case EH-9 allocated to you', body: 'b' });
    start();
    await until(async () => (await row(id)).status === 'failed');
    expect(await row(id)).toMatchObject({ attempts: 0, last_error: 'not sendable: to is missing or malformed' });
    expect(server.requests).toEqual([]);
  });

  test('eight e-mails sent at once reach the mailbox at most four at a time', async () => {
    const slow = await startGraphServer({ latencyMs: 120 });
    try {
      const slowConfig = graphConfigFromEnv(slow.env({ EARLYHELP_MAILBOX: MAILBOX })) as GraphConfig;
      const ids: number[] = [];
      for (let n = 0; n < 8; n++) ids.push(await email());
      running = startMailDelivery({ db: t.db, config: slowConfig, dispatcher: { pollMs: 20, concurrency: 8, batchSize: 8 } });
      await until(async () => (await Promise.all(ids.map(row))).every((r) => r.status === 'delivered'));
      expect(slow.sentMail).toHaveLength(8);
      expect(slow.peakConcurrency.get(MAILBOX)).toBe(4);
    } finally {
      await running?.stop();
      await slow.close();
    }
  });
});

describe('the server', () => {
  test('runs an e-mail sender of its own when Graph and the service mailbox are configured, and stops it on close', async () => {
    const t = await serverDatabase();
    const server = await startGraphServer();
    try {
      const bot = await startBot({ ...server.env({ EARLYHELP_MAILBOX: MAILBOX }), DATABASE_URL: t.url, MicrosoftAppId: '', EARLYHELP_DEMO: 'off', EARLYHELP_SCHEDULER: 'off' }, { port: 0 });
      try {
        const id = (await enqueue(t.db, { kind: 'allocation-email', caseId: 'c', payload: { to: [SAM.email], cc: [], subject: 'Case EH-9 allocated to you', body: 'b' } }))!;
        await until(async () => (await t.db.query<{ status: string }>('SELECT status FROM outbox WHERE id = $1', [id]))[0].status === 'delivered');
        expect(server.sentMail.map((m) => m.mailbox)).toEqual([MAILBOX]);
      } finally {
        await bot.close();
      }
      // Closed: nothing more is claimed.
      const later = (await enqueue(t.db, { kind: 'allocation-email', caseId: 'c', payload: { to: [SAM.email], cc: [], subject: 'Case EH-10 allocated to you', body: 'b' } }))!;
      await new Promise((r) => setTimeout(r, 1500));
      expect((await t.db.query<{ status: string }>('SELECT status FROM outbox WHERE id = $1', [later]))[0].status).toBe('pending');
      expect(server.sentMail).toHaveLength(1);
    } finally {
      await server.close();
      await t.dispose();
    }
  });
});
