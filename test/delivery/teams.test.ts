import type { CloudAdapter } from 'botbuilder';
import { createAdapter } from '../../bot/adapter';
import { AdaptiveCard } from '../../bot/cards/template';
import { botConfigFromEnv } from '../../bot/config';
import { classifySendError, enqueueCard, retryAfterMsOf, teamsHandlers } from '../../bot/delivery';
import { deliverWaiting } from '../../bot/deliveryLoop';
import { createDispatcher, Dispatcher, DispatcherOptions } from '../../src/delivery/dispatcher';
import { list } from '../../src/delivery/outbox';
import { createConversationStore } from '../../src/storage/conversations';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { LoopbackConnector, ScriptedAnswer, startConnector } from '../helpers/connector';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM } from '../helpers/demoStaff';
import { StaffMember } from '../../src/staff';

/**
 * The pipeline against botbuilder's real CloudAdapter in local mode (no credentials), sending to
 * a loopback Bot Framework connector that answers as scripted: what Teams would say.
 */

let t: TestDatabase;
let adapter: CloudAdapter;
let connector: LoopbackConnector | undefined;
let dispatcher: Dispatcher | undefined;
let cardNo = 0;

beforeAll(async () => {
  t = await serverDatabase();
  await createStaffDirectory(t.db).save([MORGAN, SAM, ALEX], 'test');
  adapter = createAdapter(botConfigFromEnv({}));
});
afterAll(async () => t?.dispose());
afterEach(async () => {
  await dispatcher?.stop();
  dispatcher = undefined;
  await connector?.close();
  connector = undefined;
  await t.db.query('DELETE FROM outbox');
  await t.db.query('DELETE FROM delivery_holds');
  await t.db.query('DELETE FROM conversation_references');
});

const chatOf = (m: StaffMember) => `a:personal-${m.id.slice(0, 8)}`;

/** The person has the bot installed: their personal chat's reference, as the bot stores it, answering on the loopback connector. */
async function installed(m: StaffMember) {
  await createConversationStore(t.db).save({
    conversationId: chatOf(m),
    staffId: m.id,
    conversationType: 'personal',
    reference: { channelId: 'msteams', serviceUrl: connector!.url, conversation: { id: chatOf(m), conversationType: 'personal', tenantId: 'tenant' }, bot: { id: '28:bot', name: 'Early Help' }, user: { id: `29:${m.id}`, aadObjectId: m.id } },
  });
}

async function teams(answers: Array<number | ScriptedAnswer> | ((n: number, r: { path: string }) => number | ScriptedAnswer | undefined), options: Partial<DispatcherOptions> = {}) {
  connector = await startConnector({ answers });
  dispatcher = createDispatcher({ db: t.db, handlers: teamsHandlers({ adapter, appId: '', db: t.db }), claimer: 'test', leaseMs: 10_000, backoff: { baseMs: 100, maxMs: 400 }, pollMs: 50, ...options });
  return dispatcher;
}

const card = (label: string): AdaptiveCard => ({ type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: label }], fallbackText: label });

async function queue(to: StaffMember, extra: { purpose?: string; subjectId?: string; caseId?: string } = {}) {
  const label = `card ${++cardNo}`;
  const id = (await enqueueCard(t.db, { to: { staffId: to.id }, card: card(label), ...extra }))!;
  return { id, label };
}

const statusOf = async (id: number) => (await t.db.query<{ status: string; last_error: string | null; attempts: number; delivered_activity_id: string | null }>('SELECT status, last_error, attempts, delivered_activity_id FROM outbox WHERE id = $1', [id]))[0];

async function until(what: () => Promise<boolean> | boolean, ms = 8000) {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const sentTo = (m: StaffMember) => connector!.received.filter((r) => r.path.includes(encodeURIComponent(chatOf(m))));
const summaries = (rs: Array<{ body: Record<string, unknown> }>) => rs.map((r) => r.body.summary);

describe('delivering a card to Teams', () => {
  test('delivered at once when the person has a chat with the bot, with the card and its preview, once', async () => {
    const d = await teams([]);
    await installed(SAM);
    const m = await queue(SAM);
    const run = await d.runOnce();
    expect(run).toMatchObject({ claimed: 1, delivered: 1 });
    expect(summaries(sentTo(SAM))).toEqual([m.label]);
    expect(sentTo(SAM)[0].body).toMatchObject({ type: 'message', attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive' }] });
    expect(await statusOf(m.id)).toMatchObject({ status: 'delivered', delivered_activity_id: expect.stringMatching(/^sent-/) });
    expect((await d.runOnce()).claimed).toBe(0);
  });

  test('429 with Retry-After, then 200: delivered once, after the wait, and nobody else is sent anything meanwhile', async () => {
    const d = await teams((n) => (n === 0 ? { status: 429, headers: { 'Retry-After': '1' } } : undefined));
    await installed(SAM);
    await installed(ALEX);
    const sam = await queue(SAM);
    const first = await d.runOnce();
    expect(first).toMatchObject({ claimed: 1, retrying: 1, heldUntil: expect.any(Number) });
    const alex = await queue(ALEX);
    // Held: every sender waits out the window, whoever the message is for.
    expect(await d.runOnce()).toMatchObject({ claimed: 0, heldUntil: expect.any(Number) });
    d.start();
    await until(async () => (await statusOf(sam.id)).status === 'delivered' && (await statusOf(alex.id)).status === 'delivered');
    const [throttled, ...rest] = connector!.received;
    expect(throttled.status).toBe(429);
    expect(summaries(connector!.delivered).sort()).toEqual([sam.label, alex.label].sort());
    for (const r of rest) expect(r.at - throttled.at).toBeGreaterThanOrEqual(1000);
    expect(connector!.received.length).toBe(3); // botbuilder's own retry of the 429 is off: the pipeline decided
    expect((await statusOf(sam.id)).attempts).toBe(2);
  });

  test('403 (the bot was removed): the person is unreachable, their chat forgotten, their line manager told, and the cards reach them once they open the bot again', async () => {
    const d = await teams((_n, r) => (r.path.includes(encodeURIComponent(chatOf(SAM))) && sentTo(SAM).length === 0 ? 403 : undefined));
    await installed(SAM);
    await installed(MORGAN);
    const first = await queue(SAM, { caseId: 'case-1' });
    const second = await queue(SAM);
    expect(await d.runOnce()).toMatchObject({ claimed: 1, waiting: 1 });
    expect((await statusOf(first.id)).status).toBe('waiting');
    expect((await statusOf(second.id)).status).toBe('waiting');
    expect(await createConversationStore(t.db).get(chatOf(SAM))).toBeNull();
    // The manager's notice, queued by the same pipeline, goes next.
    expect(await d.runOnce()).toMatchObject({ delivered: 1 });
    const [notice] = sentTo(MORGAN);
    expect(notice.body.summary).toBe('A member of your team cannot be reached in Teams');
    const shown = JSON.stringify((notice.body.attachments as Array<{ content: unknown }>)[0].content);
    expect(shown).toContain('Sam Patel cannot be reached in Teams');
    expect(shown).not.toContain('card ');
    // Not a failure: nothing in --failed, both waiting in the list.
    expect((await list(t.db, { failed: true })).length).toBe(0);
    expect((await list(t.db)).map((e) => [e.id, e.status])).toEqual([
      [first.id, 'waiting'],
      [second.id, 'waiting'],
    ]);
    expect(await d.runOnce()).toMatchObject({ claimed: 0 });
    // Sam opens the bot again: the bot stores the chat and releases what waits.
    await installed(SAM);
    d.start();
    expect(await deliverWaiting(t.db, d, { staffId: SAM.id })).toBe(2);
    await until(async () => (await statusOf(second.id)).status === 'delivered');
    expect(summaries(sentTo(SAM).filter((r) => r.status === 200))).toEqual([first.label, second.label]);
    expect(sentTo(SAM).filter((r) => r.status === 403).length).toBe(1);
    expect(sentTo(MORGAN).length).toBe(1);
  });

  test('ConversationNotFound (404) is the same: unreachable, not failed', async () => {
    const d = await teams([{ status: 404, body: { error: { code: 'ConversationNotFound', message: 'Conversation not found.' } } }]);
    await installed(SAM);
    const m = await queue(SAM);
    const run = await d.runOnce();
    expect({ run, row: await statusOf(m.id), received: connector!.received.map((r) => r.status) }).toMatchObject({ run: { waiting: 1 }, row: { status: 'waiting', last_error: 'http 404 ConversationNotFound' } });
  });

  test('someone who never opened the bot: the card waits for them, nothing is sent and nobody is told', async () => {
    const d = await teams([]);
    const m = await queue(ALEX);
    expect(await d.runOnce()).toMatchObject({ claimed: 1, waiting: 1 });
    expect(await statusOf(m.id)).toMatchObject({ status: 'waiting', attempts: 0 }); // nothing was tried
    expect(connector!.received).toEqual([]);
    expect((await list(t.db)).length).toBe(1);
  });

  test('500: not retried blindly (it may have been delivered), by botbuilder or by the pipeline; failed, in doubt, for a person to check', async () => {
    const d = await teams([500]);
    await installed(SAM);
    const m = await queue(SAM);
    expect(await d.runOnce()).toMatchObject({ failed: 1 });
    expect(await d.runOnce()).toMatchObject({ claimed: 0 });
    expect(connector!.received.length).toBe(1);
    const [failed] = await list(t.db, { failed: true });
    expect(failed).toMatchObject({ id: m.id, inDoubt: true, lastError: 'http 500 Http500: may have been delivered' });
  });

  test('502 then 200: retried after a backoff, delivered once; a 502 that goes on is given up after the tries allowed', async () => {
    const d = await teams((n) => (n === 0 ? 502 : n >= 2 ? 502 : undefined), { maxAttempts: 3 });
    await installed(SAM);
    await installed(ALEX);
    const sam = await queue(SAM);
    d.start();
    await until(async () => (await statusOf(sam.id)).status === 'delivered');
    expect(summaries(connector!.delivered)).toEqual([sam.label]);
    const alex = await queue(ALEX);
    d.poke();
    await until(async () => (await statusOf(alex.id)).status === 'failed');
    expect(await statusOf(alex.id)).toMatchObject({ attempts: 3, last_error: 'gave up after 3 tries: http 502 Http502' });
    expect(sentTo(ALEX).length).toBe(3);
  });

  test('stopping the server (a restart, not a crash) lets the send in flight record its outcome, and gives back what was not begun', async () => {
    connector = await startConnector({ delayMs: 300 });
    const d = (dispatcher = createDispatcher({ db: t.db, handlers: teamsHandlers({ adapter, appId: '', db: t.db }), claimer: 'test', pollMs: 50, concurrency: 1 }));
    await installed(SAM);
    await installed(ALEX);
    const sam = await queue(SAM);
    const alex = await queue(ALEX);
    d.start();
    // Sam's card is on its way (the connector takes 300 ms to answer) when the server is told to stop.
    await until(async () => (await t.db.query('SELECT 1 FROM outbox WHERE id = $1 AND send_started_at IS NOT NULL', [sam.id])).length === 1);
    await d.stop();
    expect(await statusOf(sam.id)).toMatchObject({ status: 'delivered' });
    const [rest] = await t.db.query<{ status: string; send_started_at: string | null; lease_until: string | null }>('SELECT status, send_started_at, lease_until FROM outbox WHERE id = $1', [alex.id]);
    expect(rest).toEqual({ status: 'pending', send_started_at: null, lease_until: null }); // free for the next instance at once
    expect(connector!.received.length).toBe(1);
  });

  test('a claim taken over before the request leaves: nothing reaches Teams', async () => {
    await teams([]);
    await installed(SAM);
    const m = await queue(SAM);
    const handler = teamsHandlers({ adapter, appId: '', db: t.db }).card;
    let asked = 0;
    const outcome = await handler({ id: m.id, kind: 'card', recipient: { staffId: SAM.id }, payload: (await t.db.query<{ payload: Record<string, unknown> }>('SELECT payload FROM outbox WHERE id = $1', [m.id]))[0].payload, attempts: 0, createdAt: '', claim: 'stale' }, { begin: async () => (asked++, false) });
    expect(outcome).toEqual({ reason: 'claim lost' });
    expect(asked).toBe(1);
    expect(connector!.received).toEqual([]);
  });

  test('a card with a purpose is remembered where it was posted, so that a decision can update every copy', async () => {
    const d = await teams([]);
    await installed(MORGAN);
    await t.db.query("INSERT INTO cases (id, reference, version) VALUES ('case-caf', 'EH-9001', 1) ON CONFLICT DO NOTHING");
    await queue(MORGAN, { caseId: 'case-caf', purpose: 'caf-authorisation', subjectId: 'event-7' });
    await d.runOnce();
    expect(await createConversationStore(t.db).postedCards('caf-authorisation', 'event-7')).toEqual([{ activityId: expect.stringMatching(/^sent-/), conversationId: chatOf(MORGAN) }]);
  });
});

describe("what Teams' answers mean", () => {
  const error = (statusCode: number | undefined, code?: string, headers: Record<string, string> = {}) =>
    Object.assign(new Error('x'), { name: 'RestError', statusCode, code, response: { headers: { get: (n: string) => headers[n.toLowerCase()] } } });

  test.each([
    [403, undefined, 'unreachable'],
    [404, 'ConversationNotFound', 'unreachable'],
    [400, 'BadArgument', 'failed'],
    [401, undefined, 'failed'],
    [412, undefined, 'retry'],
    [429, undefined, 'retry'],
    [502, undefined, 'retry'],
    [504, undefined, 'retry'],
    [500, undefined, 'in doubt'],
    [503, undefined, 'in doubt'],
  ] as const)('%s %s: %s', (status, code, meaning) => {
    const outcome = classifySendError(error(status, code));
    const said = 'unreachable' in outcome ? 'unreachable' : 'failed' in outcome ? (outcome.inDoubt ? 'in doubt' : 'failed') : 'delivered' in outcome ? 'delivered' : 'retry';
    expect(said).toBe(meaning);
  });

  test('a connection refused never carried the message (retry); one reset mid-request may have (in doubt)', () => {
    expect(classifySendError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toEqual({ reason: 'network ECONNREFUSED' });
    expect(classifySendError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toMatchObject({ failed: true, inDoubt: true });
  });

  test('Retry-After in seconds or as a date, or in milliseconds', () => {
    const now = Date.parse('2026-11-23T10:00:00Z');
    expect(retryAfterMsOf(error(429, undefined, { 'retry-after': '3' }), now)).toBe(3000);
    expect(retryAfterMsOf(error(429, undefined, { 'retry-after': 'Mon, 23 Nov 2026 10:00:05 GMT' }), now)).toBe(5000);
    expect(retryAfterMsOf(error(429, undefined, { 'retry-after-ms': '250' }), now)).toBe(250);
    expect(retryAfterMsOf(error(429), now)).toBeUndefined();
    expect(classifySendError(error(429, undefined, { 'retry-after': '2' }), now)).toEqual({ retryAfterMs: 2000, reason: 'http 429', throttled: true });
  });
});
