import { startBot } from '../../bot/main';
import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { Dispatcher } from '../../src/delivery/dispatcher';
import { enqueue, heldUntil } from '../../src/delivery/outbox';
import { createGraph, Graph } from '../../src/graph/client';
import { GraphConfig, graphConfigFromEnv } from '../../src/graph/config';
import { sendMailBody, startMailDelivery } from '../../src/graph/mail';
import { LocalDate } from '../../src/localDate';
import { createCaseLog } from '../../src/storage/caseLog';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { allocationInput } from '../helpers/allocationInput';
import { ENGINES, serverDatabase, TestDatabase } from '../helpers/database';
import { JO, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { csdlFault, csdlProperty, graphCsdl, GraphServer, startGraphServer } from '../helpers/graphServer';

/** The allocation e-mail, from the outbox to the service mailbox through Graph's sendMail, by a real dispatcher. */

const MAILBOX = 'earlyhelp@council.example';

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
    const body = sendMailBody({ to: [SAM.email], cc: [MORGAN.email, JO.email], subject: 'Case EH-1 allocated to you', body: 'Case EH-1 has been allocated to Sam Patel.' });
    if ('fault' in body) throw new Error(body.fault);
    const parameters = csdl.actions.get('sendMail')!.map((p) => p.name.toLowerCase());
    expect(Object.keys(body).map((k) => parameters.includes(k.toLowerCase()))).toEqual([true, true]);
    for (const key of Object.keys(body.message)) expect([key, csdlProperty(csdl, 'graph.message', key)?.type]).toEqual([key, expect.any(String)]);
    expect(csdlProperty(csdl, 'graph.message', 'toRecipients')?.type).toBe('Collection(graph.recipient)');
    expect(csdlProperty(csdl, 'graph.recipient', 'emailAddress')?.type).toBe('graph.emailAddress');
    expect(csdlProperty(csdl, 'graph.emailAddress', 'address')?.type).toBe('Edm.String');
    expect(csdlProperty(csdl, 'graph.itemBody', 'contentType')?.type).toBe('graph.bodyType');
    expect(csdlFault(csdl, 'graph.message', body.message, 'message')).toBeNull();
    expect(csdlFault(csdl, 'graph.message', { ...body.message, body: { contentType: 'markdown', content: '' } }, 'message')).toMatch(/'markdown' is not a member of graph.bodyType/);
    expect(csdlFault(csdl, 'graph.message', { ...body.message, to: [] }, 'message')).toMatch(/The property 'to' does not exist on type 'microsoft.graph.message'/);
  });

  test('an e-mail missing its recipients or subject is not sendable, and says which', () => {
    expect(sendMailBody({ cc: [], subject: 's', body: 'b' })).toEqual({ fault: 'to' });
    expect(sendMailBody({ to: ['a@b.example'], subject: ' ', body: 'b' })).toEqual({ fault: 'subject' });
    expect(sendMailBody({ to: ['a@b.example'], cc: 'x', subject: 's', body: 'b' })).toEqual({ fault: 'cc' });
  });
});

describe.each(ENGINES)('e-mail from the outbox through Graph (%s)', (_engine, open) => {
  let t: TestDatabase;
  let server: GraphServer;
  let graph: Graph;
  let config: GraphConfig;
  let running: Dispatcher | undefined;
  let ctx: CaseWorkContext;

  const start = (options: { concurrency?: number } = {}) => {
    running = startMailDelivery({ db: t.db, config, graph, dispatcher: { pollMs: 20, backoff: { baseMs: 20, maxMs: 50 }, ...options } });
    return running;
  };
  const row = async (id: number) =>
    (await t.db.query<{ status: string; attempts: number; last_error: string | null; send_started_at: string | null }>('SELECT status, attempts, last_error, send_started_at FROM outbox WHERE id = $1', [id]))[0];
  const email = async (payload: Record<string, unknown> = { to: [SAM.email], cc: [MORGAN.email], subject: 'Case EH-9 allocated to you', body: 'Case EH-9 has been allocated to Sam Patel.' }) =>
    (await enqueue(t.db, { kind: 'allocation-email', caseId: 'c', payload }))!;
  const sendMails = () => server.requests.filter((r) => r.path.endsWith('/sendMail'));

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
    });
    expect(JSON.stringify(sent.message)).not.toMatch(/Fernsby|Tallulah|School attendance|Call mum/);
  });

  test('a 429 storm then success: each try after Retry-After, the mailbox held meanwhile (Teams is not), delivered once', async () => {
    server.fail(2, { status: 429, retryAfter: 1 });
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

  test('503 and 504 are tried again and the e-mail delivered once', async () => {
    server.fail(1, { status: 503, retryAfter: 0 });
    server.fail(1, { status: 504 });
    const id = await email();
    start();
    await until(async () => (await row(id)).status === 'delivered');
    expect(await row(id)).toMatchObject({ attempts: 3 });
    expect(sendMails().map((r) => r.status)).toEqual([503, 504, 202]);
    expect(server.sentMail).toHaveLength(1);
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
