import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, Sent, textOf } from '../helpers/botHarness';
import { ALEX, DUTY, JO, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { StaffMember } from '../../src/staff';
import { AdaptiveCard } from '../../bot/cards/template';

/** The manager's side of a caseload through the bot: capacity, the allocation date, reallocation, supervision. */

const RAE: StaffMember = { id: '12121212-1212-4121-8121-121212121212', name: 'Rae Small', email: 'rae.small@council.example', role: 'worker', team: 'North', lineManager: MORGAN.id, capacityPoints: 4, active: true };

let t: TestDatabase;
let b: BotUnderTest;
beforeAll(async () => {
  t = await embeddedDatabase();
  b = await botUnderTest(t.db, [...TEAM, RAE]);
  for (const m of [MORGAN, DUTY, SAM, ALEX, JO, RAE]) await b.install(m);
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});
beforeEach(() => {
  b.today.value = '2026-11-23';
});

/** Every input of a card, by id, wherever it sits (show cards included). */
function inputsOf(card: AdaptiveCard): Map<string, Record<string, any>> {
  const found = new Map<string, Record<string, any>>();
  const walk = (x: unknown): void => {
    if (Array.isArray(x)) return x.forEach(walk);
    if (!x || typeof x !== 'object') return;
    const o = x as Record<string, any>;
    if (typeof o.type === 'string' && o.type.startsWith('Input.') && o.id) found.set(o.id, o);
    for (const v of Object.values(o)) walk(v);
  };
  walk(card);
  return found;
}
const events = async (caseId: string) => (await t.db.query<{ type: string; data: any; effective_on: string }>('SELECT type, data, effective_on::text FROM case_events WHERE case_id = $1 ORDER BY sequence', [caseId]));
const sentTo = (sent: Sent[], m: StaffMember) => sent.filter((s) => s.conversationId === personalChatOf(m)).map((s) => textOf(cardOf(s)));

describe('allocation', () => {
  test('past capacity, the form comes back with the new total to confirm; confirmed, the case is allocated and the confirmation recorded', async () => {
    await b.allocate(MORGAN, { leadProfessional: RAE.id, caseloadPoints: '3' });
    const form = b.allocationForm({ leadProfessional: RAE.id, caseloadPoints: '2' });
    const asked = await b.execute(MORGAN, 'allocateCase', form);
    expect(textOf(asked.card)).toContain('Rae Small would carry 5 points, past their capacity of 4 (now 3). Confirm to allocate anyway.');
    const toggle = inputsOf(asked.card).get('confirmedTotal')!;
    expect(toggle).toMatchObject({ type: 'Input.Toggle', valueOn: '5', title: 'Allocate anyway: Rae Small will carry 5 of 4 points' });
    // What was typed is kept.
    expect(inputsOf(asked.card).get('reference')!.value).toBe(form.reference);
    const [none] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE reference = $1', [form.reference]);
    expect(none.n).toBe(0);
    const done = await b.execute(MORGAN, 'allocateCase', { ...form, confirmedTotal: '5' });
    expect(textOf(done.card)).toContain(`Case ${form.reference} allocated to Rae Small`);
    const [row] = await t.db.query<{ id: string }>('SELECT id FROM cases WHERE reference = $1', [form.reference]);
    expect((await events(row.id))[0].data.capacityConfirmed).toEqual({ total: 5, capacity: 4 });
  });

  test('the allocation date defaults to today on the form; a case allocated yesterday is recorded as yesterday; a future date is refused on the form', async () => {
    const [shown] = await b.say(MORGAN, 'allocate');
    expect(inputsOf(cardOf(shown)).get('allocatedOn')).toMatchObject({ type: 'Input.Date', value: '2026-11-23', max: '2026-11-23' });
    const yesterday = await b.allocate(MORGAN, { allocatedOn: '2026-11-20', referredOn: '2026-11-19' });
    expect((await events(yesterday.caseId))[0]).toMatchObject({ effective_on: '2026-11-20', data: { referredOn: '2026-11-19' } });
    const future = await b.execute(MORGAN, 'allocateCase', b.allocationForm({ allocatedOn: '2026-11-24' }));
    expect(textOf(future.card)).toContain('The allocation date cannot be in the future.');
    const before = await b.execute(MORGAN, 'allocateCase', b.allocationForm({ allocatedOn: '2026-11-18', referredOn: '2026-11-19' }));
    expect(textOf(before.card)).toContain('The allocation date cannot be before the referral (2026-11-19).');
    const bad = await b.execute(MORGAN, 'allocateCase', b.allocationForm({ allocatedOn: '20/11/2026' }));
    expect(textOf(bad.card)).toContain('Date allocated: must be a real date, YYYY-MM-DD.');
  });
});

describe('reallocation from the case card', () => {
  test('the manager manages the case (reallocate, supervision, TAF members); the worker only its TAF members', async () => {
    const { caseId, reference } = await b.allocate(MORGAN);
    const [asManager] = await b.say(MORGAN, `case ${reference}`);
    expect(JSON.stringify(cardOf(asManager))).toContain('"verb":"reallocateCase"');
    expect(JSON.stringify(cardOf(asManager))).toContain('"verb":"tafMembers"');
    const [asWorker] = await b.say(SAM, `case ${reference}`);
    expect(JSON.stringify(cardOf(asWorker))).not.toContain('reallocateCase');
    expect(JSON.stringify(cardOf(asWorker))).toContain('"verb":"tafMembers"');
    expect(textOf(cardOf(asWorker))).toContain('Supervision');
    expect(caseId).toBeTruthy();
  });

  test('reallocated: the new worker gets the case card, the previous one a notice with the reference only, and the manager is told', async () => {
    const { caseId, reference } = await b.allocate(MORGAN);
    const moved = await b.execute(MORGAN, 'reallocateCase', { caseId, reallocateTo: ALEX.id, reallocatePoints: '2', reallocateReason: 'Sam is on leave' });
    expect(textOf(moved.card)).toContain(`Case ${reference} reallocated to Alex Kim: Alex Kim has the case card.`);
    expect(sentTo(moved.sent, ALEX).join('\n')).toContain(`Case ${reference} has been reallocated to you by Morgan Reid.`);
    const toSam = sentTo(moved.sent, SAM).join('\n');
    expect(toSam).toContain(`Case ${reference} has been reallocated to Alex Kim by Morgan Reid.`);
    expect(toSam).not.toContain('Fernsby');
    expect((await events(caseId)).at(-1)).toMatchObject({ type: 'reallocated', data: { leadProfessional: ALEX.id, caseloadPoints: 2, reason: 'Sam is on leave' } });
    // Sam no longer opens it; Alex does.
    expect(textOf(cardOf((await b.say(SAM, `case ${reference}`))[0]))).toContain(`There is no case ${reference} that you can open.`);
    expect(textOf(cardOf((await b.say(ALEX, `case ${reference}`))[0]))).toContain('Fernsby');
  });

  test('past capacity the case card asks to confirm, keeping the choice; bad points and a worker cannot reallocate', async () => {
    const { caseId } = await b.allocate(MORGAN);
    const asked = await b.execute(MORGAN, 'reallocateCase', { caseId, reallocateTo: RAE.id, reallocatePoints: '9', reallocateReason: 'Balance' });
    expect(textOf(asked.card)).toMatch(/Rae Small would carry \d+ points, past their capacity of 4/);
    expect(inputsOf(asked.card).get('reallocateTo')!.value).toBe(RAE.id);
    expect(inputsOf(asked.card).get('confirmedTotal')).toBeDefined();
    const total = inputsOf(asked.card).get('confirmedTotal')!.valueOn;
    const done = await b.execute(MORGAN, 'reallocateCase', { caseId, reallocateTo: RAE.id, reallocatePoints: '9', confirmedTotal: total });
    expect(textOf(done.card)).toContain('reallocated to Rae Small');
    const points = await b.execute(MORGAN, 'reallocateCase', { caseId, reallocateTo: ALEX.id, reallocatePoints: '0x10' });
    expect(textOf(points.card)).toContain('Caseload points: must be a whole number from 0 to 100.');
    const worker = await b.execute(RAE, 'reallocateCase', { caseId, reallocateTo: SAM.id, reallocatePoints: '1' });
    expect(textOf(worker.card)).toMatch(/You cannot reallocate case EH-/);
    expect((await events(caseId)).filter((e) => e.type === 'reallocated')).toHaveLength(1);
  });
});

describe('supervision', () => {
  test('from the case card: held, record returned, authorised; the worker sees it on the case card and in "supervision"', async () => {
    b.today.value = '2026-11-02';
    const { caseId, reference } = await b.allocate(MORGAN);
    b.today.value = '2026-11-30';
    const held = await b.execute(MORGAN, 'supervisionHeld', { caseId, supervisionHeldDate: '2026-11-27' });
    expect(textOf(held.card)).toContain(`Supervision recorded on case ${reference}.`);
    expect(textOf(held.card)).toContain('Last Fri 27 Nov: record not yet returned');
    expect(inputsOf(held.card).get('supervisionDate')).toMatchObject({ value: '2026-11-27' });
    const early = await b.execute(MORGAN, 'supervisionAuthorised', { caseId, supervisionDate: '2026-11-27', supervisionRecordDate: '2026-11-30' });
    expect(textOf(early.card)).toContain('Record the supervision record as returned to the worker before authorising it.');
    await b.execute(MORGAN, 'supervisionReturned', { caseId, supervisionDate: '2026-11-27', supervisionRecordDate: '2026-11-30' });
    const done = await b.execute(MORGAN, 'supervisionAuthorised', { caseId, supervisionDate: '2026-11-27', supervisionRecordDate: '2026-11-30' });
    expect(textOf(done.card)).toContain('Supervision record authorised recorded on case');
    expect((await events(caseId)).map((e) => e.type).slice(-3)).toEqual(['supervision-held', 'supervision-record-returned', 'supervision-record-authorised']);
    const [seen] = await b.say(SAM, `case ${reference}`);
    expect(textOf(cardOf(seen))).toContain('Last Fri 27 Nov: record returned Mon 30 Nov, authorised Mon 30 Nov');
    const [mine] = await b.say(SAM, 'supervision');
    expect(textOf(cardOf(mine))).toContain(`Fri 27 Nov with Morgan Reid: ${reference}`);
    expect(JSON.stringify(cardOf(mine))).not.toContain('recordSupervision');
  });

  test('the "supervision" command: a manager records one worker\u2019s cases at once and completes the record from the list', async () => {
    const one = await b.allocate(MORGAN);
    const two = await b.allocate(MORGAN);
    const other = await b.allocate(MORGAN, { leadProfessional: ALEX.id });
    const [card] = await b.say(MORGAN, 'supervision');
    const choices = inputsOf(cardOf(card)).get('caseIds')!.choices.map((c: { value: string }) => c.value);
    expect(choices).toEqual(expect.arrayContaining([one.caseId, two.caseId, other.caseId]));
    const mixed = await b.execute(MORGAN, 'recordSupervision', { stage: 'held', caseIds: `${one.caseId},${other.caseId}`, heldDate: '2026-11-23' });
    expect(textOf(mixed.card)).toContain('A supervision is of one worker: choose cases that one worker holds.');
    const held = await b.execute(MORGAN, 'recordSupervision', { stage: 'held', caseIds: `${one.caseId},${two.caseId}`, heldDate: '2026-11-23' });
    expect(textOf(held.card)).toContain(`Supervision recorded on ${[one.reference, two.reference].sort().join(', ')}.`);
    const row = JSON.stringify(held.card);
    expect(row).toContain('Sam Patel, supervision of Mon 23 Nov');
    const returned = await b.execute(MORGAN, 'recordSupervision', { stage: 'returned', supervisionDate: '2026-11-23', caseIds: `${one.caseId},${two.caseId}`, recordDate: '2026-11-23' });
    expect(textOf(returned.card)).toContain('Supervision record returned recorded on');
    expect(textOf(returned.card)).toContain('record returned, to authorise');
    for (const c of [one, two]) expect((await events(c.caseId)).at(-1)!.type).toBe('supervision-record-returned');
    const noDate = await b.execute(MORGAN, 'recordSupervision', { stage: 'authorised', supervisionDate: '2026-11-23', caseIds: `${one.caseId},${two.caseId}`, recordDate: '' });
    expect(textOf(noDate.card)).toContain('Give the date.');
    const [bs] = await b.say(JO, 'supervision');
    expect(textOf(cardOf(bs))).toContain('Supervision is between workers and their managers.');
    const tampered = await b.execute(SAM, 'recordSupervision', { stage: 'held', caseIds: one.caseId, heldDate: '2026-11-23' });
    expect(textOf(tampered.card)).toMatch(/You cannot record supervision on case EH-/);
  });
});
