import { allocateCase, CaseWorkContext, recordWork } from '../../src/caseWork';
import { calendarFor } from '../../src/calendar';
import { LocalDate } from '../../src/localDate';
import fs from 'node:fs';
import { DEFAULT_POLICY_FILE, loadPolicy, validatePolicy } from '../../src/policy';
import { reminderInstant } from '../../src/reminderTime';
import { PlannedNotification } from '../../src/reminders/plan';
import { plannedFromPayload } from '../../src/reminders/reminderPayload';
import { sweepReminders, SweepContext } from '../../src/reminders/sweep';
import { createCaseLog } from '../../src/storage/caseLog';
import { createConversationStore } from '../../src/storage/conversations';
import { createReminderStore } from '../../src/storage/reminderStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { allocationInput } from '../helpers/allocationInput';

/** The sweep against real databases: what it queues, once, and the escalation it writes to the case. */

const policy = loadPolicy();
const calendar = calendarFor(policy);
const at = (day: string, time: string) => reminderInstant(day as LocalDate, time);

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let ctx: CaseWorkContext;
  let sweep: SweepContext;
  let today = '2026-11-23' as LocalDate;
  beforeAll(async () => {
    t = await open();
    const directory = createStaffDirectory(t.db);
    await directory.save(TEAM, 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
    sweep = { db: t.db, caseLog: ctx.caseLog, store: createReminderStore(t.db), policy, calendar, staff: () => directory.all() };
    const conversations = createConversationStore(t.db);
    for (const m of [MORGAN, SAM]) await conversations.save({ conversationId: `personal:${m.id}`, staffId: m.id, conversationType: 'personal', reference: {} });
  });
  afterAll(async () => t?.dispose());

  const input = allocationInput;
  const outbox = async () =>
    (await t.db.query<{ kind: string; dedupe_key: string; recipient_staff_id: string; payload: Record<string, unknown>; status: string }>(`SELECT kind, dedupe_key, recipient_staff_id, payload, status FROM outbox WHERE kind = 'reminder' ORDER BY id`)).map((r) => ({ ...r, payload: plannedFromPayload(r.payload) }));
  const itemsOf = (p: PlannedNotification) => p.items.map((i) => `${i.case} ${i.obligation} ${i.status}`);

  test('the digest at 08:30, the escalation the next working morning; a second sweep at the same instant plans nothing; a dry run changes nothing', async () => {
    today = '2026-12-03' as LocalDate; // Thursday
    const record = await allocateCase(ctx, MORGAN, input());
    const ref = record.reference;
    // Before working hours: nothing.
    expect((await sweepReminders(sweep, { now: at('2026-12-04', '07:00') })).planned).toEqual([]);
    // Friday 08:30: telephone contact due Monday 7th: by the end of the next working day? No: Friday's horizon is Monday.
    const friday = await sweepReminders(sweep, { now: at('2026-12-04', '08:30') });
    expect(friday.planned.map((p) => [p.type, p.recipient, itemsOf(p)])).toEqual([['digest', SAM.id, [`${ref} telephone-contact upcoming`]]]);
    expect((await sweepReminders(sweep, { now: at('2026-12-04', '08:30') })).planned).toEqual([]);
    expect((await sweepReminders(sweep, { now: at('2026-12-04', '11:00') })).planned).toEqual([]);
    // A dry run on Tuesday shows the escalation and writes nothing.
    const before = (await outbox()).length;
    const dry = await sweepReminders(sweep, { now: at('2026-12-08', '08:30'), dryRun: true });
    expect(dry.planned.find((p) => p.type === 'escalation')).toMatchObject({ recipient: MORGAN.id, items: [{ case: ref, obligation: 'telephone-contact', status: 'overdue' }] });
    expect((await outbox()).length).toBe(before);
    expect((await ctx.caseLog.read(record.caseId, { actor: 'test' })).events.map((e) => e.type)).toEqual(['allocated']);
    // Tuesday 08:30 for real: the escalation to Morgan, written on the case; Sam's digest shows it overdue.
    const tuesday = await sweepReminders(sweep, { now: at('2026-12-08', '08:30') });
    const escalation = tuesday.planned.find((p) => p.type === 'escalation')!;
    expect(escalation).toMatchObject({ recipient: MORGAN.id, dedupeKey: `escalation:${record.caseId}:telephone-contact:2026-12-03` });
    const events = (await ctx.caseLog.read(record.caseId, { actor: 'test' })).events;
    expect(events.at(-1)).toMatchObject({ type: 'escalated', by: 'system', effectiveOn: '2026-12-08', data: { obligation: 'telephone-contact:2026-12-03', to: MORGAN.id } });
    expect(tuesday.planned.find((p) => p.type === 'digest' && p.recipient === SAM.id)).toBeDefined();
    // Again, and again later: the escalation is never planned twice.
    for (const now of [at('2026-12-08', '08:30'), at('2026-12-08', '08:31'), at('2026-12-09', '08:30')]) {
      expect((await sweepReminders(sweep, { now })).planned.filter((p) => p.type === 'escalation' && p.items[0].caseId === record.caseId)).toEqual([]);
    }
    expect((await ctx.caseLog.read(record.caseId, { actor: 'test' })).events.filter((e) => e.type === 'escalated' && e.data.obligation === 'telephone-contact:2026-12-03')).toHaveLength(1);
    const rows = (await outbox()).filter((r) => r.dedupe_key.startsWith('escalation:') && r.dedupe_key.includes(record.caseId));
    expect(rows.map((r) => r.dedupe_key)).toContain(`escalation:${record.caseId}:telephone-contact:2026-12-03`);
    expect(JSON.stringify(await outbox())).not.toMatch(/Fernsby|Tallulah|School attendance|Call mum/);
  });

  test('met before the sweep: not planned; between sweeps the due cases only are read', async () => {
    today = '2026-12-10' as LocalDate;
    const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: ALEX.id }));
    await recordWork(ctx, ALEX, record.caseId, 'telephone-contact', { date: '2026-12-10' });
    const friday = await sweepReminders(sweep, { now: at('2026-12-11', '08:30') });
    const alex = friday.planned.find((p) => p.recipient === ALEX.id);
    expect(alex ? itemsOf(alex).filter((i) => i.includes('telephone-contact')) : []).toEqual([]);
    // A case escalated at 08:30 changed with its `escalated` event: it is worked out once more, then rests.
    expect(await sweepReminders(sweep, { now: at('2026-12-11', '10:00') })).toMatchObject({ planned: [] });
    expect(await sweepReminders(sweep, { now: at('2026-12-11', '10:01') })).toMatchObject({ planned: [], casesRead: 0 });
  });

  test('two escalations owed on one case in one sweep are both written, and the case then rests until its next time', async () => {
    today = '2027-01-07' as LocalDate; // Thursday
    const record = await allocateCase(ctx, MORGAN, input());
    // No sweep until Friday 15th: telephone contact (due Mon 11th) and personal contact (due Thu 14th) both missed.
    const friday = await sweepReminders(sweep, { now: at('2027-01-15', '08:30') });
    const escalations = friday.planned.filter((p) => p.type === 'escalation' && p.items[0].caseId === record.caseId);
    expect(escalations.map((p) => p.items[0].obligation).sort()).toEqual(['personal-contact', 'telephone-contact']);
    const events = (await ctx.caseLog.read(record.caseId, { actor: 'test' })).events;
    expect(events.filter((e) => e.type === 'escalated')).toHaveLength(2);
    expect(await sweepReminders(sweep, { now: at('2027-01-15', '08:31') })).toMatchObject({ planned: [], casesRead: 0 });
  });

  test('an escalation entered in error and owed again is not queued twice, and holds up no other escalation of the morning', async () => {
    today = '2027-02-04' as LocalDate; // Thursday: telephone contacts due Monday 8th, escalated Tuesday 9th
    const first = await allocateCase(ctx, MORGAN, input());
    const key = `escalation:${first.caseId}:telephone-contact:2027-02-04`;
    const tuesday = await sweepReminders(sweep, { now: at('2027-02-09', '08:30') });
    expect(tuesday.planned.map((p) => p.dedupeKey)).toContain(key);
    // The escalation withdrawn: the obligation is owed an escalation again, under the same key.
    const [escalated] = (await ctx.caseLog.read(first.caseId, { actor: 'test' })).events.filter((e) => e.type === 'escalated');
    const version = (await ctx.caseLog.read(first.caseId, { actor: 'test' })).version;
    await ctx.caseLog.append(first.caseId, version, [{ type: 'entered-in-error', by: MORGAN.id, effectiveOn: '2027-02-09' as LocalDate, data: { eventId: escalated.id, reason: 'Escalated to the wrong manager' } }], { actor: 'test' });
    // Another case escalated the same morning, in the same transaction as the repeat would be.
    today = '2027-02-05' as LocalDate;
    const second = await allocateCase(ctx, MORGAN, input());
    expect((await sweepReminders(sweep, { now: at('2027-02-10', '08:30'), dryRun: true })).planned.map((p) => p.dedupeKey)).toContain(key);
    const wednesday = await sweepReminders(sweep, { now: at('2027-02-10', '08:30') });
    expect(wednesday.planned.filter((p) => p.type === 'escalation').map((p) => p.dedupeKey)).toEqual([`escalation:${second.caseId}:telephone-contact:2027-02-05`]);
    expect((await outbox()).filter((r) => r.dedupe_key === key)).toHaveLength(1);
    expect((await ctx.caseLog.read(second.caseId, { actor: 'test' })).events.filter((e) => e.type === 'escalated')).toHaveLength(1);
  });

  test('a case listed in the digests day after day is read each morning but its times are not written again; the day\'s digests are planned once, and a dry run after them shows none', async () => {
    today = '2027-03-01' as LocalDate; // Monday
    const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: ALEX.id }));
    await recordWork(ctx, ALEX, record.caseId, 'telephone-contact', { date: '2027-03-01' });
    const times = async () => (await t.db.query<{ digest_on: string | null; updated_at: string }>('SELECT digest_on::text, updated_at::text FROM case_reminders WHERE case_id = $1', [record.caseId]))[0];
    const recording = async (day: string) => {
      const planned = (await sweepReminders(sweep, { now: at(day, '08:30') })).planned.find((p) => p.type === 'digest' && p.recipient === ALEX.id);
      return planned ? itemsOf(planned).filter((i) => i.startsWith(`${record.reference} case-recording`)) : [];
    };
    // Tuesday: the case recording (due Wednesday, 2 working days after the contact) is listed, and its first digest day kept.
    expect(await recording('2027-03-02')).toEqual([`${record.reference} case-recording upcoming`]);
    const kept = await times();
    expect(kept.digest_on).toBe('2027-03-02');
    // Later that day the digests are not planned again, nor shown by a dry run: they went this morning.
    expect((await sweepReminders(sweep, { now: at('2027-03-02', '11:00') })).planned).toEqual([]);
    expect((await sweepReminders(sweep, { now: at('2027-03-02', '11:00'), dryRun: true })).planned).toEqual([]);
    // Wednesday and Thursday: listed again (due, then overdue: the recording is not escalated), its times untouched.
    expect(await recording('2027-03-03')).toEqual([`${record.reference} case-recording due-today`]);
    expect(await times()).toEqual(kept);
    expect(await recording('2027-03-04')).toEqual([`${record.reference} case-recording overdue`]);
    expect(await times()).toEqual(kept);
    // The record brought up to date: the case changed, is worked out again at the next sweep, and is no longer listed for it.
    today = '2027-03-04' as LocalDate;
    await recordWork(ctx, ALEX, record.caseId, 'case-recorded', { date: '2027-03-04' });
    await sweepReminders(sweep, { now: at('2027-03-04', '11:00') });
    expect((await times()).updated_at).not.toBe(kept.updated_at);
    expect(await recording('2027-03-05')).toEqual([]);
  });

  test('times kept under other reminder settings are worked out again: escalated after three working days instead of one, the telephone contact is not escalated the day after its deadline', async () => {
    today = '2027-04-12' as LocalDate; // Monday
    const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: ALEX.id }));
    const escalatedOn = async () => (await ctx.caseLog.read(record.caseId, { actor: 'test' })).events.filter((e) => e.type === 'escalated').map((e) => `${e.data.obligation} ${e.effectiveOn}`);
    // Worked out under the shipped settings: the telephone contact (due Wednesday 14th) would be escalated on Thursday 15th.
    await sweepReminders(sweep, { now: at('2027-04-12', '11:00') });
    const open = (await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE status <> 'closed'`))[0].n;
    const later = validatePolicy({ ...JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8')), reminders: { escalateAfter: { 'telephone-contact': 3 } } });
    const underLater = { ...sweep, policy: later };
    // The first sweep under the new settings works every case out again, whatever its kept times said.
    expect((await sweepReminders(underLater, { now: at('2027-04-12', '11:05') })).casesRead).toBe(open);
    expect((await sweepReminders(underLater, { now: at('2027-04-12', '11:06') })).casesRead).toBeLessThan(open);
    await sweepReminders(underLater, { now: at('2027-04-15', '08:30') });
    expect(await escalatedOn()).toEqual([]);
    await sweepReminders(underLater, { now: at('2027-04-19', '08:30') });
    expect(await escalatedOn()).toEqual(['telephone-contact:2027-04-12 2027-04-19']);
  });

  test('a change committed while a sweep writes the case\'s times stands: the case is worked out again at the next sweep', async () => {
    today = '2027-05-03' as LocalDate; // Monday
    const record = await allocateCase(ctx, MORGAN, input({ leadProfessional: ALEX.id }));
    await sweepReminders(sweep, { now: at('2027-05-04', '11:00') });
    const times = async () => (await t.db.query<{ next_at: string; version: number }>(`SELECT next_at::text, version FROM case_reminders WHERE case_id = $1`, [record.caseId]))[0];
    expect((await times()).next_at).not.toBe('-infinity');
    const store = createReminderStore(t.db);
    // The times a sweep worked out at version 1: written only while the case is still at it.
    const stale = { caseId: record.caseId, version: 1, at: new Date('2027-06-01T07:30:00Z'), digestOn: '2027-06-01' as LocalDate };
    if (t.db.kind === 'postgres') {
      // The telephone contact recorded in a transaction that commits while the sweep's statement waits on it.
      let commit!: () => void;
      const held = new Promise<void>((resolve) => (commit = resolve));
      let appended!: () => void;
      const written = new Promise<void>((resolve) => (appended = resolve));
      const change = t.db.transaction(async (tx) => {
        await createCaseLog(tx).append(record.caseId, 1, [{ type: 'telephone-contact-made', by: ALEX.id, effectiveOn: '2027-05-04' as LocalDate, data: {} }], { actor: ALEX.id });
        appended();
        await held;
      });
      await written;
      const setting = store.setNext([stale]);
      await new Promise((r) => setTimeout(r, 200));
      commit();
      await Promise.all([change, setting]);
    } else {
      await ctx.caseLog.append(record.caseId, 1, [{ type: 'telephone-contact-made', by: ALEX.id, effectiveOn: '2027-05-04' as LocalDate, data: {} }], { actor: ALEX.id });
      await store.setNext([stale]);
    }
    expect(await times()).toEqual({ next_at: '-infinity', version: 2 });
    const next = await sweepReminders(sweep, { now: at('2027-05-04', '11:01') });
    expect(next.casesRead).toBeGreaterThanOrEqual(1);
    expect((await times()).next_at).not.toBe('-infinity');
  });

  test('a sweep that finds the lease held by a live sweeper does nothing', async () => {
    const store = createReminderStore(t.db);
    expect(await store.takeLease('other')).not.toBeNull();
    try {
      expect(await sweepReminders(sweep, { now: at('2026-12-14', '08:30'), holder: 'me' })).toMatchObject({ skipped: 'another sweep is running', planned: [] });
    } finally {
      await store.releaseLease('other', null);
    }
  });
});
