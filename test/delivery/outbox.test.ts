import { beginSend, claim, enqueue, heldUntil, holdDestination, list, markDelivered, markFailed, markWaiting, pendingMessages, releaseWaiting, retry, retryLater } from '../../src/delivery/outbox';
import { Database } from '../../src/storage/database';
import { migrate } from '../../src/storage/migrations';
import { MIGRATIONS } from '../../src/storage/migrations/index';
import { ENGINES, serverDatabase, TestDatabase } from '../helpers/database';

/** Instants after the rows' own `now()` defaults, so that every row enqueued here is due. */
const base = () => Date.now() + 60_000;
const at = (t: number) => new Date(t);
let kindNo = 0;
/** Each test its own kind of message, so that tests sharing a database never claim each other's rows. */
const freshKind = () => `test-${++kindNo}-${Math.random().toString(36).slice(2, 8)}`;

async function statusOf(db: Database, id: number) {
  const [row] = await db.query<{ status: string; attempts: number; claimed_by: string | null; send_started_at: string | null; last_error: string | null }>(
    'SELECT status, attempts, claimed_by, send_started_at, last_error FROM outbox WHERE id = $1',
    [id],
  );
  return row;
}

describe.each(ENGINES)('the outbox on %s', (_name, open) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await open();
  });
  afterAll(async () => t?.dispose());

  test('a message planned twice with one dedupe key is queued once', async () => {
    const kind = freshKind();
    const first = await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: { n: 1 }, dedupeKey: `${kind}:reminder` });
    const second = await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: { n: 2 }, dedupeKey: `${kind}:reminder` });
    expect(first).toEqual(expect.any(Number));
    expect(second).toBeNull();
    expect((await t.db.query('SELECT 1 FROM outbox WHERE kind = $1', [kind])).length).toBe(1);
  });

  test('a message queued with no recipient (an e-mail carrying its own addresses) is listed as pending', async () => {
    await enqueue(t.db, { kind: 'allocation-email', caseId: 'c-old', payload: { to: ['x@example.org'] } });
    expect((await pendingMessages(t.db, 'allocation-email')).some((m) => m.caseId === 'c-old')).toBe(true);
  });

  test('a claim takes due messages oldest first, one per person, only of the kinds asked for and not before they are due', async () => {
    const kind = freshKind();
    const now = base();
    const sam1 = await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} });
    const sam2 = await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} });
    const alex = await enqueue(t.db, { kind, recipient: { staffId: 'alex' }, payload: {} });
    const later = await enqueue(t.db, { kind, recipient: { staffId: 'jo' }, payload: {}, notBefore: at(now + 10_000) });
    const chat = await enqueue(t.db, { kind, recipient: { conversationId: '19:team-chat' }, payload: {} });
    await enqueue(t.db, { kind: `${kind}-other`, recipient: { staffId: 'kim' }, payload: {} });
    const got = await claim(t.db, { claimer: 'a', limit: 10, leaseMs: 30_000, kinds: [kind], now: at(now) });
    expect(got.messages.map((m) => m.id)).toEqual([sam1, alex, chat]);
    expect(got.messages[0]).toMatchObject({ kind, recipient: { staffId: 'sam' }, attempts: 0, claim: expect.stringMatching(/^a#/) });
    expect(got.messages[2].recipient).toEqual({ conversationId: '19:team-chat' });
    // Sam's second waits behind the first; Jo's is not due for 10 s.
    for (const m of got.messages) await markDelivered(t.db, { id: m.id, claim: m.claim, now: at(now) });
    const next = await claim(t.db, { claimer: 'a', limit: 10, leaseMs: 30_000, kinds: [kind], now: at(now + 1) });
    expect(next.messages.map((m) => m.id)).toEqual([sam2]);
    const due = await claim(t.db, { claimer: 'a', limit: 10, leaseMs: 30_000, kinds: [kind], now: at(now + 10_000) });
    expect(due.messages.map((m) => m.id)).toEqual([later]);
  });

  test('two claimers at once never take the same message, and between them take every one', async () => {
    const kind = freshKind();
    const ids: number[] = [];
    for (let i = 0; i < 60; i++) ids.push((await enqueue(t.db, { kind, recipient: { staffId: `person-${i}` }, payload: {} }))!);
    const now = at(base());
    const taken: number[][] = [[], []];
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([
        claim(t.db, { claimer: 'a', limit: 15, leaseMs: 30_000, kinds: [kind], now }),
        claim(t.db, { claimer: 'b', limit: 15, leaseMs: 30_000, kinds: [kind], now }),
      ]);
      taken[0].push(...a.messages.map((m) => m.id));
      taken[1].push(...b.messages.map((m) => m.id));
    }
    const all = [...taken[0], ...taken[1]];
    expect(taken[0].filter((id) => taken[1].includes(id))).toEqual([]);
    expect(new Set(all).size).toBe(all.length);
    expect(all.sort((x, y) => x - y)).toEqual(ids);
  });

  test('a claim whose lease has expired is taken over, and the first claimer can no longer send it or record an outcome', async () => {
    const kind = freshKind();
    const id = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const now = base();
    const [first] = (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now) })).messages;
    expect((await claim(t.db, { claimer: 'b', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now + 999) })).messages).toEqual([]);
    const [second] = (await claim(t.db, { claimer: 'b', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now + 1000) })).messages;
    expect(second.id).toBe(id);
    expect(second.claim).not.toBe(first.claim);
    // The stale claimer comes back: refused at every step.
    expect(await beginSend(t.db, { id, claim: first.claim, leaseMs: 1000, now: at(now + 1001) })).toBe(false);
    expect(await markDelivered(t.db, { id, claim: first.claim, now: at(now + 1001) })).toBe(false);
    expect(await markFailed(t.db, { id, claim: first.claim, reason: 'http 400', now: at(now + 1001) })).toBe(false);
    expect(await retryLater(t.db, { id, claim: first.claim, notBefore: at(now + 60_000), error: 'http 502' })).toBe(false);
    expect(await markWaiting(t.db, { staffId: 'sam' }, { held: { id, claim: first.claim }, kinds: [kind], now: at(now + 1001) })).toBe(0);
    expect(await beginSend(t.db, { id, claim: second.claim, leaseMs: 1000, now: at(now + 1002) })).toBe(true);
    expect(await markDelivered(t.db, { id, claim: second.claim, activityId: 'act-1', now: at(now + 1003) })).toBe(true);
    expect(await statusOf(t.db, id)).toMatchObject({ status: 'delivered', attempts: 1, send_started_at: null });
    // Settled: nobody records anything else.
    expect(await markFailed(t.db, { id, claim: second.claim, reason: 'late', now: at(now + 1004) })).toBe(false);
  });

  test('a message whose sender stopped mid-send is set aside as in doubt, never claimed again by itself, and retried only by a person', async () => {
    const kind = freshKind();
    const id = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const next = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const now = base();
    const [m] = (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now) })).messages;
    expect(await beginSend(t.db, { id, claim: m.claim, leaseMs: 1000, now: at(now + 10) })).toBe(true);
    // ... and the sender dies. Another claims after the lease has passed:
    const after = await claim(t.db, { claimer: 'b', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now + 1010) });
    expect(after.inDoubt).toEqual([id]);
    expect(after.messages.map((x) => x.id)).toEqual([next]); // the person's next message is not held back by it
    expect(await statusOf(t.db, id)).toMatchObject({ status: 'failed', last_error: expect.stringMatching(/^in doubt/) });
    const failed = (await list(t.db, { failed: true })).find((e) => e.id === id);
    expect(failed).toMatchObject({ status: 'failed', inDoubt: true, attempts: 1 });
    expect(await retry(t.db, id, { now: at(now + 2000) })).toEqual({ retried: true, wasInDoubt: true });
    expect(await statusOf(t.db, id)).toMatchObject({ status: 'pending', attempts: 0, send_started_at: null });
    expect(await retry(t.db, id)).toEqual({ retried: false, status: 'pending' });
    expect(await retry(t.db, 987_654_321)).toEqual({ retried: false, status: 'not found' });
  });

  test('a slow sender that does come back after its row was set aside as in doubt records what happened: it knows', async () => {
    const kind = freshKind();
    const id = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const now = base();
    const [m] = (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now) })).messages;
    await beginSend(t.db, { id, claim: m.claim, leaseMs: 1000, now: at(now) });
    expect((await claim(t.db, { claimer: 'b', limit: 5, leaseMs: 1000, kinds: [kind], now: at(now + 5000) })).inDoubt).toEqual([id]);
    expect(await markDelivered(t.db, { id, claim: m.claim, activityId: 'late-1', now: at(now + 5001) })).toBe(true);
    expect(await statusOf(t.db, id)).toMatchObject({ status: 'delivered', send_started_at: null });
  });

  test('a message held back for later holds back the same person\u2019s newer ones, so they still arrive oldest first', async () => {
    const kind = freshKind();
    const first = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const second = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const now = base();
    const [m] = (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now) })).messages;
    await beginSend(t.db, { id: first, claim: m.claim, leaseMs: 30_000, now: at(now) });
    expect(await retryLater(t.db, { id: first, claim: m.claim, notBefore: at(now + 5000), error: 'http 429 Throttled' })).toBe(true);
    expect((await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now + 100) })).messages).toEqual([]);
    const again = await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now + 5000) });
    expect(again.messages.map((x) => [x.id, x.attempts])).toEqual([[first, 1]]);
    expect(second).toBeGreaterThan(first);
  });

  test('someone who cannot be reached: their messages wait, newer ones queue behind them, and all go oldest first once they can', async () => {
    const kind = freshKind();
    const a = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const b = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    const other = (await enqueue(t.db, { kind, recipient: { staffId: 'alex' }, payload: {} }))!;
    const now = base();
    const got = (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now) })).messages;
    const sam = got.find((m) => m.id === a)!;
    await beginSend(t.db, { id: a, claim: sam.claim, leaseMs: 30_000, now: at(now) });
    expect(await markWaiting(t.db, { staffId: 'sam' }, { held: { id: a, claim: sam.claim }, reason: 'http 403', kinds: [kind], now: at(now) })).toBe(2);
    expect((await statusOf(t.db, a)).status).toBe('waiting');
    expect((await statusOf(t.db, b)).status).toBe('waiting');
    expect((await statusOf(t.db, other)).status).toBe('pending'); // Alex's is Alex's
    const c = (await enqueue(t.db, { kind, recipient: { staffId: 'sam' }, payload: {} }))!;
    expect((await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now + 60_000) })).messages.map((m) => m.id)).not.toContain(c);
    const waiting = await list(t.db);
    expect(waiting.filter((e) => [a, b].includes(e.id)).map((e) => e.status)).toEqual(['waiting', 'waiting']);
    expect(await releaseWaiting(t.db, { staffId: 'sam' }, { now: at(now + 61_000) })).toBe(2);
    const order: number[] = [];
    for (let i = 0; i < 4; i++) {
      for (const m of (await claim(t.db, { claimer: 'a', limit: 5, leaseMs: 30_000, kinds: [kind], now: at(now + 62_000 + i) })).messages) {
        if (m.recipient && 'staffId' in m.recipient && m.recipient.staffId === 'sam') order.push(m.id);
        await markDelivered(t.db, { id: m.id, claim: m.claim, now: at(now + 62_000 + i) });
      }
    }
    expect(order).toEqual([a, b, c]);
  });

  test('a hold after a 429 stands until it passes, and a shorter one does not cut it', async () => {
    const destination = freshKind();
    const now = base();
    await holdDestination(t.db, destination, at(now + 5000));
    await holdDestination(t.db, destination, at(now + 1000));
    expect((await heldUntil(t.db, destination, { now: at(now) }))?.getTime()).toBe(now + 5000);
    expect(await heldUntil(t.db, destination, { now: at(now + 5000) })).toBeNull();
  });
});

describe('migrating an outbox that already has messages', () => {
  test('sent e-mails become delivered, failed ones failed, and queued ones pending', async () => {
    const t = await serverDatabase({ migrated: false });
    try {
      await migrate(t.db, MIGRATIONS.filter((m) => m.version <= 2));
      await t.db.query(
        `INSERT INTO outbox (kind, case_id, payload, sent_at, failed_at, last_error) VALUES
          ('allocation-email', 'c1', '{}', now(), NULL, NULL),
          ('allocation-email', 'c2', '{}', NULL, now(), 'mailbox refused'),
          ('allocation-email', 'c3', '{}', NULL, NULL, NULL)`,
      );
      await migrate(t.db);
      const rows = await t.db.query<{ case_id: string; status: string; delivered_at: string | null }>('SELECT case_id, status, delivered_at FROM outbox ORDER BY id');
      expect(rows.map((r) => [r.case_id, r.status, r.delivered_at !== null])).toEqual([
        ['c1', 'delivered', true],
        ['c2', 'failed', false],
        ['c3', 'pending', false],
      ]);
    } finally {
      await t.dispose();
    }
  });
});
