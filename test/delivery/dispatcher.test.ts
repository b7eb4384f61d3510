import { createDispatcher, DeliveryHandler, Dispatcher } from '../../src/delivery/dispatcher';
import { enqueue, list } from '../../src/delivery/outbox';
import { serverDatabase, TestDatabase } from '../helpers/database';

/** The dispatcher with handlers that stand in for a channel: what it does with each outcome, and its pacing. */

let t: TestDatabase;
let running: Dispatcher | undefined;
beforeAll(async () => {
  t = await serverDatabase();
});
afterAll(async () => t?.dispose());
afterEach(async () => {
  await running?.stop();
  running = undefined;
  await t.db.query('DELETE FROM outbox');
});

const statusOf = async (id: number) => (await t.db.query<{ status: string; attempts: number; last_error: string | null; send_started_at: string | null }>('SELECT status, attempts, last_error, send_started_at FROM outbox WHERE id = $1', [id]))[0];

async function until(what: () => Promise<boolean> | boolean, ms = 8000) {
  const end = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('only the kinds it has a handler for are claimed: an e-mail waits for its own sender', async () => {
  const email = (await enqueue(t.db, { kind: 'allocation-email', caseId: 'c1', payload: {} }))!;
  const card = (await enqueue(t.db, { kind: 'card', recipient: { staffId: 'sam' }, payload: {} }))!;
  const d = createDispatcher({ db: t.db, handlers: { card: async (_m, c) => ((await c.begin()) ? { delivered: true } : { reason: 'lost' }) } });
  expect(await d.runOnce()).toMatchObject({ claimed: 1, delivered: 1 });
  expect((await statusOf(card)).status).toBe('delivered');
  expect((await statusOf(email)).status).toBe('pending');
});

test('a handler that throws before it began to send is retried; one that throws after is failed in doubt, never re-sent', async () => {
  const before = (await enqueue(t.db, { kind: 'card', recipient: { staffId: 'sam' }, payload: { when: 'before' } }))!;
  const after = (await enqueue(t.db, { kind: 'card', recipient: { staffId: 'alex' }, payload: { when: 'after' } }))!;
  const handler: DeliveryHandler = async (m, c) => {
    if (m.payload.when === 'after') await c.begin();
    throw new TypeError('boom');
  };
  const d = createDispatcher({ db: t.db, handlers: { card: handler }, backoff: { baseMs: 60_000, maxMs: 60_000 } });
  expect(await d.runOnce()).toMatchObject({ claimed: 2, retrying: 1, failed: 1 });
  expect(await statusOf(before)).toMatchObject({ status: 'pending', attempts: 0, last_error: 'handler error: TypeError' });
  expect(await statusOf(after)).toMatchObject({ status: 'failed', attempts: 1, last_error: 'handler error: TypeError', send_started_at: expect.any(String) });
  expect((await list(t.db, { failed: true })).map((e) => [e.id, e.inDoubt])).toEqual([[after, true]]);
});

test("a burst to one person goes at Teams' pace, spaced: six a seventh of a second apart, the seventh at 1 s, the eighth at 2 s, in the order queued", async () => {
  const sent: Array<{ n: number; at: number }> = [];
  for (let n = 0; n < 9; n++) await enqueue(t.db, { kind: 'card', recipient: { staffId: 'sam' }, payload: { n } });
  running = createDispatcher({
    db: t.db,
    handlers: {
      card: async (m, c) => {
        await c.begin();
        sent.push({ n: m.payload.n as number, at: Date.now() });
        return { delivered: true };
      },
    },
    pollMs: 20,
  });
  running.start();
  await until(() => sent.length === 9);
  expect(sent.map((s) => s.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  // Booked a seventh of a second (143 ms) apart; seen here after the write that begins each send, which varies by a few ms.
  for (let i = 1; i < sent.length; i++) expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(120);
  expect(sent[6].at - sent[0].at).toBeGreaterThanOrEqual(990); // booked 6 in 1 s, one under Teams' 7
  expect(sent[7].at - sent[0].at).toBeGreaterThanOrEqual(1990); // booked 7 in 2 s, one under Teams' 8
});

test('poke sends at once, without waiting for the next poll', async () => {
  let delivered = 0;
  running = createDispatcher({ db: t.db, handlers: { card: async (_m, c) => (await c.begin(), delivered++, { delivered: true }) }, pollMs: 60_000 });
  running.start();
  await new Promise((r) => setTimeout(r, 100)); // the loop is now asleep for a minute
  await enqueue(t.db, { kind: 'card', recipient: { staffId: 'sam' }, payload: {} });
  const poked = Date.now();
  running.poke();
  await until(() => delivered === 1, 2000);
  expect(Date.now() - poked).toBeLessThan(2000);
});
