import { AccessDeniedError } from '../src/access';
import { AllocationInput, allocateCase, AlreadyDecidedError, CaseWorkContext, CaseWorkError, decideCaf, recordWork } from '../src/caseWork';
import { calendarFor } from '../src/calendar';
import { caseState } from '../src/caseState';
import { LocalDate } from '../src/localDate';
import { obligations } from '../src/obligations';
import { loadPolicy } from '../src/policy';
import { createCaseLog } from '../src/storage/caseLog';
import { pendingMessages } from '../src/delivery/outbox';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { embeddedDatabase, TestDatabase } from './helpers/database';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH, TEAM } from './helpers/demoStaff';
import { allocationInput } from './helpers/allocationInput';

let t: TestDatabase;
let ctx: CaseWorkContext;
let today = '2026-11-23' as LocalDate;
const policy = loadPolicy();
const calendar = calendarFor(policy);

beforeAll(async () => {
  t = await embeddedDatabase();
  const directory = createStaffDirectory(t.db);
  await directory.save(TEAM, 'test');
  ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
});
afterAll(async () => t?.dispose());
beforeEach(() => {
  today = '2026-11-23' as LocalDate;
});

const input = allocationInput;

async function countCases() {
  const [{ count }] = await t.db.query<{ count: number }>('SELECT count(*)::int AS count FROM cases');
  return count;
}

describe('allocation', () => {
  test('a manager allocates a case to a worker in their team, and the allocation e-mail is queued with the line manager and Business Support copied', async () => {
    const record = await allocateCase(ctx, MORGAN, input());
    expect(record.events[0]).toMatchObject({ type: 'allocated', by: MORGAN.id, effectiveOn: '2026-11-23', data: { leadProfessional: SAM.id, manager: MORGAN.id, caseloadPoints: 0, family: { name: 'Fernsby' } } });
    const [email] = (await pendingMessages(t.db, 'allocation-email')).filter((m) => m.caseId === record.caseId);
    expect(email.payload).toMatchObject({ to: [SAM.email], cc: expect.arrayContaining([MORGAN.email, JO.email]), subject: `Case ${record.reference} allocated to you` });
    expect(JSON.stringify(email.payload)).not.toMatch(/Fernsby|Tallulah|School attendance|Call mum/);
  });

  test('with the policy known, the e-mail says what to do first and by when, and links to the case in Teams; still nothing of the family', async () => {
    const policy = loadPolicy();
    const withPolicy: CaseWorkContext = { ...ctx, policy, calendar: calendarFor(policy), caseLink: (ref) => `https://teams.microsoft.com/l/chat/0/0?users=28:app&message=case%20${ref}` };
    const record = await allocateCase(withPolicy, MORGAN, input());
    const [email] = (await pendingMessages(t.db, 'allocation-email')).filter((m) => m.caseId === record.caseId);
    const body = String(email.payload.body);
    // Allocated Monday 23 November 2026: contact in 2 working days, a visit in 5, the CAF in 20, the first TAF in 25 (past Christmas and the Boxing Day substitute).
    expect(body).toContain(
      ['What to do first:', '- Telephone contact with the family by Wed 25 Nov 2026', '- A personal contact (a visit or a meeting) with the family by Mon 30 Nov 2026', '- The CAF assessment completed by Mon 21 Dec 2026', '- The first TAF meeting held by Wed 30 Dec 2026'].join('\n'),
    );
    expect(body).toContain(`https://teams.microsoft.com/l/chat/0/0?users=28:app&message=case%20${record.reference}`);
    expect(JSON.stringify(email.payload)).not.toMatch(/Fernsby|Tallulah|School attendance|Call mum/);
  });

  test.each([
    ['a reference that is not one', { reference: 'x' }, 'reference'],
    ['a worker from another team', { leadProfessional: 'nobody' }, 'leadProfessional'],
    ['points that are not a number', { caseloadPoints: 'lots' }, 'caseloadPoints'],
    ['a step-down without its plan', { source: 'cin-step-down' }, 'existingPlan'],
    ['no family name', { familyName: ' ' }, 'familyName'],
    ['an impossible date of birth', { children: [{ name: 'A', dateOfBirth: '2019-02-30' }] }, 'children'],
    ['a child born after the allocation date', { children: [{ name: 'A', dateOfBirth: '2026-11-24' }] }, 'children'],
    ['a child of 18 on the allocation date', { children: [{ name: 'A', dateOfBirth: '2008-11-23' }] }, 'children'],
    ['a date of birth with no name', { children: [{ name: ' ', dateOfBirth: '2019-04-02' }] }, 'children'],
    ['caseload points given as text', { caseloadPoints: '5' as unknown as number }, 'caseloadPoints'],
  ])('%s is refused naming the field, and nothing is written', async (_name, extra, field) => {
    const before = await countCases();
    await expect(allocateCase(ctx, MORGAN, input(extra as Partial<AllocationInput>))).rejects.toMatchObject({ name: 'CaseWorkError', field });
    expect(await countCases()).toBe(before);
  });

  test('a child who turns 18 the day after allocation is still a child', async () => {
    const record = await allocateCase(ctx, MORGAN, input({ children: [{ name: 'A', dateOfBirth: '2008-11-24' }] }));
    expect(record.events[0].type).toBe('allocated');
  });

  test('a duplicate reference is refused', async () => {
    const first = await allocateCase(ctx, MORGAN, input());
    await expect(allocateCase(ctx, MORGAN, input({ reference: first.reference }))).rejects.toThrow(`Case ${first.reference} already exists.`);
  });

  test('a worker cannot allocate, nor a manager to another team', async () => {
    await expect(allocateCase(ctx, SAM, input())).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(allocateCase(ctx, SOUTH, input())).rejects.toMatchObject({ field: 'leadProfessional' });
  });
});

describe('recording work', () => {
  test('the worker logs a telephone contact; a date in the future or before allocation is refused', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    today = '2026-11-25' as LocalDate;
    await expect(recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: '2026-11-26' })).rejects.toThrow('The contact date cannot be in the future.');
    await expect(recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: '2026-11-20' })).rejects.toThrow('The contact date cannot be before the case was allocated (2026-11-23).');
    await expect(recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: 'soon' })).rejects.toMatchObject({ field: 'date' });
    const done = await recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: '2026-11-24' });
    expect(done.events.map((e) => [e.type, e.effectiveOn])).toEqual([
      ['allocated', '2026-11-23'],
      ['telephone-contact-made', '2026-11-24'],
    ]);
  });

  test('another worker cannot touch the case', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    await expect(recordWork(ctx, ALEX, c.caseId, 'telephone-contact', { date: today })).rejects.toBeInstanceOf(AccessDeniedError);
  });

  test('the CAF cannot be submitted before consent is recorded at a visit', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    await expect(recordWork(ctx, SAM, c.caseId, 'caf-submitted', { date: today })).rejects.toThrow(/consent form/);
    await recordWork(ctx, SAM, c.caseId, 'visit', { date: today, childSeen: true, consentForm: 'true', medicalForm: false, homeChecked: true });
    const submitted = await recordWork(ctx, SAM, c.caseId, 'caf-submitted', { date: today });
    expect(submitted.events.at(-1)).toMatchObject({ type: 'caf-submitted', data: { to: MORGAN.id } });
    await expect(recordWork(ctx, SAM, c.caseId, 'caf-submitted', { date: today })).rejects.toThrow(/already awaiting authorisation/);
  });

  test('minutes must be for a TAF held on the case', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    today = '2026-12-10' as LocalDate;
    await expect(recordWork(ctx, SAM, c.caseId, 'minutes-shared', { tafDate: '2026-12-01' })).rejects.toMatchObject({ field: 'tafDate' });
    await recordWork(ctx, SAM, c.caseId, 'taf-held', { date: '2026-12-01' });
    const done = await recordWork(ctx, SAM, c.caseId, 'minutes-shared', { tafDate: '2026-12-01', date: '2026-12-10' });
    expect(done.events.at(-1)).toMatchObject({ type: 'minutes-shared', effectiveOn: '2026-12-10', data: { tafDate: '2026-12-01' } });
  });

  test('every piece of work needs its date: none is taken as today', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    await expect(recordWork(ctx, SAM, c.caseId, 'telephone-contact', {})).rejects.toMatchObject({ field: 'date', message: 'The contact date: give the date.' });
    expect((await ctx.caseLog.read(c.caseId, { actor: 'test' })).events).toHaveLength(1);
  });

  test('a contact attempted and not reached is recorded with how, and does not meet the telephone contact', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    await expect(recordWork(ctx, SAM, c.caseId, 'contact-attempted', { date: today, method: 'pigeon' })).rejects.toMatchObject({ field: 'method' });
    const tried = await recordWork(ctx, SAM, c.caseId, 'contact-attempted', { date: today, method: 'doorstep' });
    expect(tried.events.at(-1)).toMatchObject({ type: 'contact-attempted', data: { method: 'doorstep' } });
    const telephone = obligations(tried.events, policy, calendar, today).find((o) => o.kind === 'telephone-contact')!;
    expect(telephone.metOn).toBeUndefined();
    expect(caseState(tried.events).attemptsSinceContact).toEqual([{ on: today, method: 'doorstep' }]);
  });

  test('forms a visit left outstanding stay so until Business Support records them received; then the CAF may go', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    const visited = await recordWork(ctx, SAM, c.caseId, 'visit', { date: today, childSeen: false, consentForm: false, medicalForm: false, homeChecked: true });
    expect(caseState(visited.events)).toMatchObject({ formsOutstanding: { consentForm: true, medicalForm: true }, lastVisit: { on: today, childSeen: false } });
    await expect(recordWork(ctx, JO, c.caseId, 'forms-received', { date: today })).rejects.toMatchObject({ field: 'consentForm' });
    await expect(recordWork(ctx, JO, c.caseId, 'telephone-contact', { date: today })).rejects.toBeInstanceOf(AccessDeniedError);
    const received = await recordWork(ctx, JO, c.caseId, 'forms-received', { date: today, consentForm: 'true' });
    expect(caseState(received.events).formsOutstanding).toEqual({ consentForm: false, medicalForm: true });
    const submitted = await recordWork(ctx, SAM, c.caseId, 'caf-submitted', { date: today });
    expect(submitted.events.at(-1)!.type).toBe('caf-submitted');
  });

  test('a retried request records once', async () => {
    const c = await allocateCase(ctx, MORGAN, input());
    await recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: today }, 'activity-1');
    const again = await recordWork(ctx, SAM, c.caseId, 'telephone-contact', { date: today }, 'activity-1');
    expect(again.events.filter((e) => e.type === 'telephone-contact-made')).toHaveLength(1);
  });
});

describe('CAF authorisation', () => {
  async function submittedCase() {
    const c = await allocateCase(ctx, MORGAN, input());
    await recordWork(ctx, SAM, c.caseId, 'visit', { date: today, consentForm: true });
    const s = await recordWork(ctx, SAM, c.caseId, 'caf-submitted', { date: today });
    return { caseId: c.caseId, submissionId: s.events.at(-1)!.id };
  }

  test('the line manager approves; a second click is told who decided and when', async () => {
    const { caseId, submissionId } = await submittedCase();
    const decided = await decideCaf(ctx, MORGAN, caseId, submissionId, 'approve', '');
    expect(decided.events.at(-1)).toMatchObject({ type: 'caf-authorised', by: MORGAN.id });
    const again = decideCaf(ctx, DUTY, caseId, submissionId, 'return', 'late comment');
    await expect(again).rejects.toBeInstanceOf(AlreadyDecidedError);
    await expect(again).rejects.toThrow(/^Already decided by Morgan Reid at \d{4}-\d{2}-\d{2}T/);
  });

  test('a worker cannot authorise, and returning or directing a re-assessment needs a reason', async () => {
    const { caseId, submissionId } = await submittedCase();
    await expect(decideCaf(ctx, SAM, caseId, submissionId, 'approve', '')).rejects.toBeInstanceOf(AccessDeniedError);
    await expect(decideCaf(ctx, MORGAN, caseId, submissionId, 'return', '  ')).rejects.toMatchObject({ field: 'comments' });
    await expect(decideCaf(ctx, MORGAN, caseId, submissionId, 'reassess', '')).rejects.toBeInstanceOf(CaseWorkError);
    const returned = await decideCaf(ctx, MORGAN, caseId, submissionId, 'return', 'Add the voice of the child');
    expect(returned.events.at(-1)).toMatchObject({ type: 'caf-returned', data: { comments: 'Add the voice of the child' } });
  });

  test('two managers deciding at once: one decision lands, the other is told who decided', async () => {
    const { caseId, submissionId } = await submittedCase();
    const results = await Promise.allSettled([decideCaf(ctx, MORGAN, caseId, submissionId, 'approve', ''), decideCaf(ctx, DUTY, caseId, submissionId, 'return', 'No')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(AlreadyDecidedError);
    const record = await ctx.caseLog.read(caseId, { actor: 'test' });
    expect(record.events.filter((e) => e.type === 'caf-authorised' || e.type === 'caf-returned')).toHaveLength(1);
  });

  test('a manager of another team cannot decide', async () => {
    const { caseId, submissionId } = await submittedCase();
    await expect(decideCaf(ctx, SOUTH, caseId, submissionId, 'approve', '')).rejects.toBeInstanceOf(AccessDeniedError);
  });
});
