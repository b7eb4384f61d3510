import { NewCaseEvent } from '../../src/caseEvents';
import { parseLocalDate } from '../../src/localDate';
import { readAudit } from '../../src/storage/audit';
import { CaseLog, createCaseLog, DuplicateReferenceError, retryOnConflict, VersionConflictError } from '../../src/storage/caseLog';
import { ENGINES, TestDatabase } from '../helpers/database';

const d = parseLocalDate;
const allocation = (lead = 'worker-sam'): NewCaseEvent => ({
  type: 'allocated',
  by: 'manager-morgan',
  effectiveOn: d('2026-11-23'),
  data: {
    leadProfessional: lead,
    manager: 'manager-morgan',
    caseloadPoints: 5,
    initialActions: 'Visit within 5 days',
    cafRequired: true,
    source: 'referral',
    family: { name: 'Family Example', children: [{ name: 'Child Example', dateOfBirth: '2019-04-02' }] },
  },
});
const contact = (on: string): NewCaseEvent => ({ type: 'telephone-contact-made', by: 'worker-sam', effectiveOn: d(on), data: { note: 'Spoke to mum about school' } });

describe.each(ENGINES)('the case event log on %s', (_name, open) => {
  let t: TestDatabase;
  let log: CaseLog;
  let n = 0;
  const reference = () => `EH-${process.pid}-${++n}`;

  beforeAll(async () => {
    t = await open();
    log = createCaseLog(t.db);
  });
  afterAll(async () => t?.dispose());

  test('a case opens with its allocation and reads back with dates as YYYY-MM-DD and instants in ISO form', async () => {
    const opened = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    expect(opened.version).toBe(1);
    const [event] = opened.events;
    expect(event).toMatchObject({ type: 'allocated', sequence: 1, by: 'manager-morgan', effectiveOn: '2026-11-23', caseId: opened.caseId });
    expect(event.recordedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(event.data).toMatchObject({ leadProfessional: 'worker-sam', cafRequired: true });
  });

  test('events read back in the order they were appended', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    await log.append(c.caseId, 1, [contact('2026-11-24')], { actor: 'worker-sam' });
    await log.append(c.caseId, 2, [{ type: 'case-recorded', by: 'worker-sam', effectiveOn: d('2026-11-25'), data: {} }, contact('2026-11-26')], { actor: 'worker-sam' });
    const read = await log.read(c.caseId, { actor: 'worker-sam' });
    expect(read.version).toBe(4);
    expect(read.events.map((e) => [e.sequence, e.type])).toEqual([
      [1, 'allocated'],
      [2, 'telephone-contact-made'],
      [3, 'case-recorded'],
      [4, 'telephone-contact-made'],
    ]);
  });

  test('the case list follows allocation, reallocation and closure', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation('worker-alex'), actor: 'manager-morgan' });
    expect((await log.listCases({ leadProfessional: 'worker-alex' }, { actor: 'manager-morgan' })).map((s) => s.caseId)).toContain(c.caseId);
    await log.append(c.caseId, 1, [{ type: 'reallocated', by: 'manager-morgan', effectiveOn: d('2026-11-30'), data: { leadProfessional: 'worker-jo' } }], { actor: 'manager-morgan' });
    await log.append(c.caseId, 2, [{ type: 'closure-requested', by: 'worker-jo', effectiveOn: d('2027-03-01'), data: { reason: 'plan-achieved', summary: 'Needs met' } }], { actor: 'worker-jo' });
    let [summary] = (await log.listCases({ leadProfessional: 'worker-jo' }, { actor: 'manager-morgan' })).filter((s) => s.caseId === c.caseId);
    expect(summary).toMatchObject({ leadProfessional: 'worker-jo', manager: 'manager-morgan', status: 'closure-requested', allocatedOn: '2026-11-23' });
    await log.append(c.caseId, 3, [{ type: 'closure-approved', by: 'manager-morgan', effectiveOn: d('2027-03-02'), data: {} }], { actor: 'manager-morgan' });
    [summary] = (await log.listCases({ status: 'closed' }, { actor: 'manager-morgan' })).filter((s) => s.caseId === c.caseId);
    expect(summary).toMatchObject({ status: 'closed', closedOn: '2027-03-02' });
  });

  test('two writers at the same version: exactly one lands, the other is told the case has changed', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    const results = await Promise.allSettled([log.append(c.caseId, 1, [contact('2026-11-24')], { actor: 'a' }), log.append(c.caseId, 1, [contact('2026-11-25')], { actor: 'b' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toBeInstanceOf(VersionConflictError);
    expect((await log.read(c.caseId, { actor: 'a' })).version).toBe(2);
  });

  test('writers that re-read and retry on conflict never lose or reorder an event', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    const writer = (day: string) =>
      retryOnConflict(async () => {
        const current = await log.read(c.caseId, { actor: 'w' });
        return log.append(c.caseId, current.version, [contact(day)], { actor: 'w' });
      }, 20);
    const days = ['2026-11-24', '2026-11-25', '2026-11-26', '2026-11-27', '2026-11-30', '2026-12-01'];
    await Promise.all(days.map(writer));
    const read = await log.read(c.caseId, { actor: 'w' });
    expect(read.version).toBe(7);
    expect(read.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(read.events.slice(1).map((e) => e.effectiveOn).sort()).toEqual(days);
  });

  test('a batch with one invalid event writes nothing and names the field', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    const bad = { type: 'visit', by: 'worker-sam', effectiveOn: '2026-11-25', data: { childSeen: true } } as unknown as NewCaseEvent;
    await expect(log.append(c.caseId, 1, [contact('2026-11-24'), bad, contact('2026-11-26')], { actor: 'worker-sam' })).rejects.toThrow(/^data\.consentForm:/);
    const impossible = { ...contact('2026-11-24'), effectiveOn: '2026-02-30' } as unknown as NewCaseEvent;
    await expect(log.append(c.caseId, 1, [impossible], { actor: 'worker-sam' })).rejects.toThrow(/^effectiveOn:/);
    expect((await log.read(c.caseId, { actor: 'worker-sam' })).version).toBe(1);
  });

  test('the same request delivered twice records once', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    const key = `activity-${c.caseId}`;
    const first = await log.append(c.caseId, 1, [contact('2026-11-24')], { actor: 'worker-sam', idempotencyKey: key });
    const again = await log.append(c.caseId, 1, [contact('2026-11-24')], { actor: 'worker-sam', idempotencyKey: key });
    expect(again.version).toBe(2);
    expect(again.events).toEqual(first.events);
    const raced = await Promise.all([0, 1].map(() => log.append(c.caseId, 2, [contact('2026-11-25')], { actor: 'worker-sam', idempotencyKey: `${key}-2` })));
    expect(raced.map((r) => r.version)).toEqual([3, 3]);
  });

  test('a case reference is unique', async () => {
    const ref = reference();
    await log.openCase({ reference: ref, allocation: allocation(), actor: 'manager-morgan' });
    await expect(log.openCase({ reference: ref, allocation: allocation(), actor: 'manager-morgan' })).rejects.toBeInstanceOf(DuplicateReferenceError);
  });

  test('an event can be neither edited nor deleted in the database', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    await expect(t.db.query(`UPDATE case_events SET type = 'visit' WHERE case_id = $1`, [c.caseId])).rejects.toThrow(/append-only/);
    await expect(t.db.query(`DELETE FROM case_events WHERE case_id = $1`, [c.caseId])).rejects.toThrow(/append-only/);
  });

  test('something that fails mid-write leaves the case as it was', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    await expect(
      log.append(c.caseId, 1, [contact('2026-11-24')], {
        actor: 'worker-sam',
        alsoInTransaction: async () => {
          throw new Error('the outbox write failed');
        },
      }),
    ).rejects.toThrow('the outbox write failed');
    const read = await log.read(c.caseId, { actor: 'worker-sam' });
    expect(read.version).toBe(1);
    expect(read.events).toHaveLength(1);
  });

  test('every read and change is audited with ids and event types, never what the family said', async () => {
    const c = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    await log.append(c.caseId, 1, [contact('2026-11-24')], { actor: 'worker-sam' });
    await log.read(c.caseId, { actor: 'worker-sam' });
    const audit = await readAudit(t.db, { caseId: c.caseId });
    expect(audit.map((a) => [a.actor, a.action]).reverse()).toEqual([
      ['manager-morgan', 'case.open'],
      ['worker-sam', 'case.append'],
      ['worker-sam', 'case.read'],
    ]);
    const text = JSON.stringify(audit);
    expect(text).not.toMatch(/Family Example|Child Example|school|Visit within/);
    expect(audit.find((a) => a.action === 'case.append')?.detail).toMatchObject({ events: ['telephone-contact-made'] });
  });

  test('several cases read at once come back whole, in reference order, each read audited', async () => {
    const a = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    const b = await log.openCase({ reference: reference(), allocation: allocation(), actor: 'manager-morgan' });
    await log.append(b.caseId, 1, [contact('2026-11-24'), contact('2026-11-25')], { actor: 'worker-sam' });
    const many = await log.readMany([b.caseId, a.caseId, 'no-such-case'], { actor: 'manager-dana' });
    const expected: Array<[string, number, number[]]> = [
      [a.reference, 1, [1]],
      [b.reference, 3, [1, 2, 3]],
    ];
    expected.sort((x, y) => (x[0] < y[0] ? -1 : 1));
    expect(many.map((r) => [r.reference, r.version, r.events.map((e) => e.sequence)])).toEqual(expected);
    expect(many.find((r) => r.caseId === b.caseId)).toEqual(await log.read(b.caseId, { actor: 'manager-dana' }));
    for (const c of [a, b]) expect((await readAudit(t.db, { caseId: c.caseId, actor: 'manager-dana' })).some((x) => x.action === 'case.read')).toBe(true);
    expect(await log.readMany([], { actor: 'x' })).toEqual([]);
  });

  test('every case can be read back in batches for the scheduler', async () => {
    const seen = new Set<string>();
    let events = 0;
    for await (const c of log.allCases(3)) {
      seen.add(c.caseId);
      events += c.events.length;
      expect(c.events.map((e) => e.sequence)).toEqual(c.events.map((_, i) => i + 1));
    }
    const [{ count }] = await t.db.query<{ count: number }>('SELECT count(*)::int AS count FROM cases');
    expect(seen.size).toBe(count);
    expect(events).toBeGreaterThan(count);
  });
});
