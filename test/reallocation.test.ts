import { allocateCase, CaseWorkContext, OverCapacityError } from '../src/caseWork';
import { caseState } from '../src/caseState';
import { LocalDate } from '../src/localDate';
import { obligations } from '../src/obligations';
import { calendarFor } from '../src/calendar';
import { loadPolicy } from '../src/policy';
import { reallocateCase } from '../src/reallocation';
import { StaffMember } from '../src/staff';
import { createCaseLog } from '../src/storage/caseLog';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { recordSupervision } from '../src/supervision';
import { ENGINES, TestDatabase } from './helpers/database';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH, TEAM } from './helpers/demoStaff';
import { allocationInput } from './helpers/allocationInput';

/** Capacity, the allocation date, reallocation and supervision: the manager's side of a caseload. */

const SMALL: StaffMember = { id: '12121212-1212-4121-8121-121212121212', name: 'Rae Small', email: 'rae.small@council.example', role: 'worker', team: 'North', lineManager: MORGAN.id, capacityPoints: 10, active: true };
const policy = loadPolicy();
const calendar = calendarFor(policy);

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let ctx: CaseWorkContext;
  let today = '2026-11-23' as LocalDate;
  beforeAll(async () => {
    t = await open();
    const directory = createStaffDirectory(t.db);
    await directory.save([...TEAM, SMALL], 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
  });
  afterAll(async () => t?.dispose());
  beforeEach(() => {
    today = '2026-11-23' as LocalDate;
  });

  const input = allocationInput;
  const cases = async () => (await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases'))[0].n;

  describe('capacity', () => {
    test('past capacity the manager is asked to confirm with the new total; nothing is written until they do, and the confirmation is recorded', async () => {
      await allocateCase(ctx, MORGAN, input({ leadProfessional: SMALL.id, caseloadPoints: 8 }));
      const before = await cases();
      const refusal = await allocateCase(ctx, MORGAN, input({ leadProfessional: SMALL.id, caseloadPoints: 4 })).catch((e) => e);
      expect(refusal).toBeInstanceOf(OverCapacityError);
      expect(refusal).toMatchObject({ field: 'confirmedTotal', check: { current: 8, total: 12, capacity: 10, over: true } });
      expect(refusal.message).toBe('Rae Small would carry 12 points, past their capacity of 10 (now 8). Confirm to allocate anyway.');
      expect(await cases()).toBe(before);
      // A confirmation of another total (the numbers moved since the manager saw them) asks again.
      await expect(allocateCase(ctx, MORGAN, input({ leadProfessional: SMALL.id, caseloadPoints: 4, confirmedTotal: 11 }))).rejects.toBeInstanceOf(OverCapacityError);
      const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: SMALL.id, caseloadPoints: 4, confirmedTotal: 12 }));
      expect(record.events[0].data).toMatchObject({ caseloadPoints: 4, capacityConfirmed: { total: 12, capacity: 10 } });
    });

    test('up to capacity needs no confirmation and records none', async () => {
      const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: SAM.id, caseloadPoints: 20 }));
      expect(record.events[0].data).not.toHaveProperty('capacityConfirmed');
    });

    test.each([[-1], [101], [2.5]])('points of %p are refused, never changed', async (points) => {
      await expect(allocateCase(ctx, MORGAN, input({ caseloadPoints: points }))).rejects.toMatchObject({ field: 'caseloadPoints', message: 'Caseload points must be a whole number from 0 to 100.' });
    });
  });

  describe('the allocation date', () => {
    test('a case allocated yesterday and recorded today counts its deadlines from yesterday', async () => {
      const record = await allocateCase(ctx, MORGAN, input({ allocatedOn: '2026-11-20', referredOn: '2026-11-18' }));
      expect(record.events[0]).toMatchObject({ effectiveOn: '2026-11-20', data: { referredOn: '2026-11-18' } });
      const telephone = obligations(record.events, policy, calendar, today).find((o) => o.kind === 'telephone-contact')!;
      expect(telephone.due).toBe('2026-11-24');
    });

    test('without a date, today', async () => {
      expect((await allocateCase(ctx, MORGAN, input())).events[0].effectiveOn).toBe('2026-11-23');
    });

    test.each([
      ['in the future', { allocatedOn: '2026-11-24' }, 'allocatedOn', 'The allocation date cannot be in the future.'],
      ['before the referral', { allocatedOn: '2026-11-10', referredOn: '2026-11-12' }, 'allocatedOn', 'The allocation date cannot be before the referral (2026-11-12).'],
      ['not a date', { allocatedOn: '2026-02-30' }, 'allocatedOn', 'The allocation date must be a real date.'],
      ['a referral in the future', { referredOn: '2026-11-30' }, 'referredOn', 'The referral date cannot be in the future.'],
      ['a child 18 on the allocation date', { allocatedOn: '2026-11-20', children: [{ name: 'A', dateOfBirth: '2008-11-20' }] }, 'children', 'Children, line 1: the child is 18 or over on 2026-11-20; Early Help is for children.'],
    ])('%s is refused naming the field', async (_name, extra, field, message) => {
      const before = await cases();
      await expect(allocateCase(ctx, MORGAN, input(extra))).rejects.toMatchObject({ field, message });
      expect(await cases()).toBe(before);
    });
  });

  describe('reallocation', () => {
    test('a manager moves a case to another worker of the team with its points; the new worker may work it, the old one no longer', async () => {
      const record = await allocateCase(ctx, MORGAN, input());
      const moved = await reallocateCase(ctx, MORGAN, record.caseId, { leadProfessional: ALEX.id, caseloadPoints: 5, reason: 'Sam is on long-term leave' });
      expect(moved.events.at(-1)).toMatchObject({ type: 'reallocated', by: MORGAN.id, effectiveOn: '2026-11-23', data: { leadProfessional: ALEX.id, caseloadPoints: 5, reason: 'Sam is on long-term leave' } });
      expect(caseState(moved.events)).toMatchObject({ leadProfessional: ALEX.id, caseloadPoints: 5, manager: MORGAN.id });
      const [row] = await t.db.query<{ lead_professional: string; caseload_points: number }>('SELECT lead_professional, caseload_points FROM cases WHERE id = $1', [record.caseId]);
      expect(row).toEqual({ lead_professional: ALEX.id, caseload_points: 5 });
      await expect(ctx.caseLog.read(record.caseId, { actor: SAM.id }).then(() => reallocateCase(ctx, SAM, record.caseId, { leadProfessional: SAM.id, caseloadPoints: 1 }))).rejects.toMatchObject({ name: 'AccessDeniedError' });
    });

    test.each([
      ['the same worker', () => ({ leadProfessional: SAM.id, caseloadPoints: 1 }), 'leadProfessional'],
      ['a manager of another team', () => ({ leadProfessional: SOUTH.id, caseloadPoints: 1 }), 'leadProfessional'],
      ['Business Support', () => ({ leadProfessional: JO.id, caseloadPoints: 1 }), 'leadProfessional'],
      ['points out of range', () => ({ leadProfessional: ALEX.id, caseloadPoints: 200 }), 'caseloadPoints'],
    ])('to %s is refused naming the field', async (_name, given, field) => {
      const record = await allocateCase(ctx, MORGAN, input());
      await expect(reallocateCase(ctx, MORGAN, record.caseId, given())).rejects.toMatchObject({ name: 'CaseWorkError', field });
      expect((await ctx.caseLog.read(record.caseId, { actor: 'test' })).version).toBe(1);
    });

    test('past the new worker\u2019s capacity asks for confirmation, as allocation does', async () => {
      const record = await allocateCase(ctx, MORGAN, input());
      const current = (await ctx.caseLog.caseloadPoints([SMALL.id])).get(SMALL.id) ?? 0;
      const total = current + 30;
      await expect(reallocateCase(ctx, MORGAN, record.caseId, { leadProfessional: SMALL.id, caseloadPoints: 30 })).rejects.toBeInstanceOf(OverCapacityError);
      const moved = await reallocateCase(ctx, MORGAN, record.caseId, { leadProfessional: SMALL.id, caseloadPoints: 30, confirmedTotal: total });
      expect(moved.events.at(-1)!.data).toMatchObject({ capacityConfirmed: { total, capacity: 10 } });
    });

    test('a worker, or a manager of another team, cannot reallocate', async () => {
      const record = await allocateCase(ctx, MORGAN, input());
      await expect(reallocateCase(ctx, SAM, record.caseId, { leadProfessional: ALEX.id, caseloadPoints: 1 })).rejects.toMatchObject({ name: 'AccessDeniedError' });
      await expect(reallocateCase(ctx, SOUTH, record.caseId, { leadProfessional: ALEX.id, caseloadPoints: 1 })).rejects.toMatchObject({ name: 'AccessDeniedError' });
    });
  });

  describe('supervision', () => {
    test('held, record returned, record authorised: on every case discussed, meeting its three obligations', async () => {
      today = '2026-11-02' as LocalDate;
      const a = await allocateCase(ctx, MORGAN, input());
      const b = await allocateCase(ctx, MORGAN, input());
      today = '2026-11-30' as LocalDate;
      await recordSupervision(ctx, MORGAN, { stage: 'held', caseIds: [a.caseId, b.caseId], date: '2026-11-27' }, 'sup-1');
      await recordSupervision(ctx, MORGAN, { stage: 'returned', caseIds: [a.caseId, b.caseId], supervisionDate: '2026-11-27', date: '2026-11-30' });
      const [doneA] = await recordSupervision(ctx, MORGAN, { stage: 'authorised', caseIds: [a.caseId, b.caseId], supervisionDate: '2026-11-27', date: '2026-11-30' });
      expect(caseState(doneA.events).supervisions).toEqual([{ on: '2026-11-27', by: MORGAN.id, returnedOn: '2026-11-30', authorisedOn: '2026-11-30' }]);
      const owed = obligations(doneA.events, policy, calendar, today);
      for (const kind of ['supervision', 'supervision-record', 'supervision-authorised'] as const) {
        expect(owed.find((o) => o.kind === kind && o.metOn)).toMatchObject({ status: 'met-on-time' });
      }
      // A retry of the first request writes nothing more.
      const again = await recordSupervision(ctx, MORGAN, { stage: 'held', caseIds: [a.caseId, b.caseId], date: '2026-11-27' }, 'sup-1');
      expect(again.map((r) => r.events.filter((e) => e.type === 'supervision-held').length)).toEqual([1, 1]);
    });

    test.each([
      ['no cases', (_a: string) => ({ stage: 'held' as const, caseIds: [], date: '2026-11-23' }), 'caseIds'],
      ['a date in the future', (a: string) => ({ stage: 'held' as const, caseIds: [a], date: '2026-11-24' }), 'date'],
      ['a record of a supervision never held', (a: string) => ({ stage: 'returned' as const, caseIds: [a], supervisionDate: '2026-11-20', date: '2026-11-23' }), 'supervisionDate'],
    ])('%s is refused naming the field', async (_name, given, field) => {
      const a = await allocateCase(ctx, MORGAN, input());
      await expect(recordSupervision(ctx, MORGAN, given(a.caseId))).rejects.toMatchObject({ name: 'CaseWorkError', field });
    });

    test('a record is authorised only once returned; cases of two workers are two supervisions; workers and other teams cannot record it', async () => {
      today = '2026-11-23' as LocalDate;
      const a = await allocateCase(ctx, MORGAN, input({ allocatedOn: '2026-11-16' }));
      const b = await allocateCase(ctx, MORGAN, input({ leadProfessional: ALEX.id }));
      await recordSupervision(ctx, MORGAN, { stage: 'held', caseIds: [a.caseId], date: '2026-11-20' });
      await expect(recordSupervision(ctx, MORGAN, { stage: 'authorised', caseIds: [a.caseId], supervisionDate: '2026-11-20', date: '2026-11-23' })).rejects.toMatchObject({ field: 'supervisionDate' });
      await expect(recordSupervision(ctx, MORGAN, { stage: 'held', caseIds: [a.caseId, b.caseId], date: '2026-11-23' })).rejects.toMatchObject({ field: 'caseIds' });
      await expect(recordSupervision(ctx, SAM, { stage: 'held', caseIds: [a.caseId], date: '2026-11-23' })).rejects.toMatchObject({ name: 'AccessDeniedError' });
      await expect(recordSupervision(ctx, SOUTH, { stage: 'held', caseIds: [a.caseId], date: '2026-11-23' })).rejects.toMatchObject({ name: 'AccessDeniedError' });
      // The duty manager of the team may supervise.
      await recordSupervision(ctx, DUTY, { stage: 'held', caseIds: [b.caseId], date: '2026-11-23' });
    });
  });
});
