import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { loadCaseload, reminderCaseload } from '../../bench/reminders';
import { calendarFor } from '../../src/calendar';
import { NewCaseEvent, validateNewEvent, ValidNewEvent } from '../../src/caseEvents';
import { addDays, LocalDate } from '../../src/localDate';
import { loadPolicy, Policy, POLICIES_DIR, validatePolicy } from '../../src/policy';
import { reminderInstant } from '../../src/reminderTime';
import { isOpen } from '../../src/reminders/digest';
import { reminderTimesOf } from '../../src/reminders/nextReminder';
import { CaseSnapshot, planSweep } from '../../src/reminders/plan';
import { cachedSnapshotOf, holdsOn, snapshotFromText, snapshotRulesOf, snapshotText, validityOf } from '../../src/reminders/snapshotCache';
import { snapshotOf, sweepReminders, SweepContext } from '../../src/reminders/sweep';
import { StaffMember } from '../../src/staff';
import { CaseRecord, createCaseLog } from '../../src/storage/caseLog';
import { createReminderStore } from '../../src/storage/reminderStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { hypotheticalCase } from '../../src/hypotheticalCase';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, SOUTH, TEAM } from '../helpers/demoStaff';

/**
 * What a sweep keeps of each case (src/reminders/snapshotCache.ts) plans exactly what folding all
 * the case's events plans: on later days than it was kept on, across bank holidays and the change
 * to summer time, under two policies; and it is never used once the case has changed, the rules
 * have, or the day sees other events than the day it was kept on.
 */

const DEFAULT = loadPolicy();
const REGIONAL = loadPolicy(path.join(POLICIES_DIR, 'regional-three-monthly.json'));
const VISIT = { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true };
const FAMILY = { name: 'Fernsby', children: [{ name: 'Tallulah', dateOfBirth: '2019-04-02' }] };
const PRIVATE = /Fernsby|Tallulah|School attendance|Call mum|Dad moved out/;

type Step = [type: NewCaseEvent['type'], on: string, data?: Record<string, unknown>, by?: string];

/** A case's events as an import (or the log) holds them: its allocation to Sam, then the steps. */
function caseEvents(allocatedOn: string, steps: Step[], extra: Record<string, unknown> = {}): ValidNewEvent[] {
  const allocation = { leadProfessional: SAM.id, manager: MORGAN.id, caseloadPoints: 2, initialActions: 'Call mum', cafRequired: true, source: 'referral', family: FAMILY, referralReason: 'School attendance', ...extra };
  return [
    validateNewEvent({ type: 'allocated', by: MORGAN.id, effectiveOn: allocatedOn, data: allocation }),
    ...steps.map(([type, on, data, by]) => validateNewEvent({ type, by: by ?? SAM.id, effectiveOn: on, data: data ?? {} })),
  ];
}

/**
 * Cases made for the rules a calendar or a day can change, as of `day` (some of their events
 * after it, as a log may hold them): their references say what each is for.
 */
function specialCases(day: LocalDate): Array<{ reference: string; events: ValidNewEvent[] }> {
  const d = (n: number) => addDays(day, n);
  return [
    { reference: 'NEW-YESTERDAY', events: caseEvents(d(-1), []) },
    { reference: 'NO-CAF', events: caseEvents(d(-4), [['telephone-contact-made', d(-3)]], { cafRequired: false }) },
    { reference: 'NEEDS-ESCALATED', events: caseEvents(d(-70), [['visit', d(-68), VISIT], ['caf-submitted', d(-50)], ['caf-authorised', d(-48), {}, MORGAN.id], ['taf-held', d(-30)], ['needs-escalated', d(-20), { reason: 'Dad moved out' }]]) },
    // A needs-escalated dated after `day`: the TAF review it shortens holds only from that day.
    { reference: 'NEEDS-ESCALATED-LATER', events: caseEvents(d(-70), [['visit', d(-68), VISIT], ['taf-held', d(-12)], ['needs-escalated', d(9)]]) },
    { reference: 'DEESCALATED', events: caseEvents(d(-80), [['taf-held', d(-60)], ['needs-escalated', d(-55)], ['taf-held', d(-30)], ['needs-deescalated', d(-25)]]) },
    { reference: 'CAF-AWAITING', events: caseEvents(d(-25), [['telephone-contact-made', d(-24)], ['caf-submitted', d(-2), { to: MORGAN.id }]]) },
    { reference: 'REASSESSMENT', events: caseEvents(d(-60), [['caf-submitted', d(-40)], ['caf-authorised', d(-39), {}, MORGAN.id], ['caf-reassessment-directed', d(-10), { reason: 'New evidence' }, MORGAN.id]]) },
    { reference: 'CLOSURE-REQUESTED', events: caseEvents(d(-40), [['telephone-contact-made', d(-39)], ['closure-requested', d(-1), { reason: 'plan-achieved', summary: 'Done' }]]) },
    { reference: 'CLOSED', events: caseEvents(d(-40), [['closure-requested', d(-5), { reason: 'plan-achieved', summary: 'Done' }], ['closure-approved', d(-3), {}, MORGAN.id]]) },
    { reference: 'REALLOCATED', events: caseEvents(d(-20), [['reallocated', d(-5), { leadProfessional: ALEX.id, manager: SOUTH.id, caseloadPoints: 4 }, MORGAN.id]]) },
    { reference: 'ESCALATED', events: caseEvents(d(-12), [['escalated', d(-8), { obligation: `telephone-contact:${d(-12)}`, to: MORGAN.id }, 'system']]) },
    { reference: 'SUPERVISED', events: caseEvents(d(-50), [['visit', d(-49), VISIT], ['supervision-held', d(-15), { supervisor: MORGAN.id }, MORGAN.id], ['supervision-record-returned', d(-9), { supervisionDate: d(-15) }, MORGAN.id]]) },
    { reference: 'FUTURE-VISIT', events: caseEvents(d(-3), [['visit', d(2), VISIT]]) },
  ];
}

/** A generated service's caseload on `day` and the special cases, as the log holds them. */
function caseload(day: LocalDate, p: Policy): { staff: StaffMember[]; records: CaseRecord[] } {
  const load = reminderCaseload({ cases: 240, workers: 12, day, missRate: 0.12, seed: 5, prefix: 'GEN' }, p);
  const cases = [...load.cases, ...specialCases(day)];
  const records = cases.map((c, i) => ({ caseId: `case-${String(i).padStart(4, '0')}`, reference: c.reference, version: c.events.length, events: hypotheticalCase(c.events, `case-${String(i).padStart(4, '0')}`) }));
  return { staff: [...TEAM, ...load.staff], records };
}

/** Snoozes on one case in seven: its first open obligation put off to two working days later. */
function snoozesOf(records: CaseRecord[], day: LocalDate, p: Policy): Map<string, Map<string, LocalDate>> {
  const calendar = calendarFor(p);
  const out = new Map<string, Map<string, LocalDate>>();
  records.forEach((r, i) => {
    const open = snapshotOf(r, p, calendar, day).obligations.find(isOpen);
    if (i % 7 === 3 && open) out.set(r.caseId, new Map([[open.id, calendar.addWorkingDays(day, 2)]]));
  });
  return out;
}

const sortedItems = (s: CaseSnapshot) => [...s.obligations].filter(isOpen).sort((a, b) => (a.id < b.id ? -1 : 1));

describe.each([
  ['the default policy', DEFAULT],
  ['a policy counting the first TAF from the CAF', REGIONAL],
])('a snapshot kept on one day, used on the days after, under %s', (_name, p) => {
  const calendar = calendarFor(p);
  describe.each([
    ['Monday 21 December 2026, through Christmas and New Year', '2026-12-21', 24],
    ['Monday 22 March 2027, through Easter and the change to summer time', '2027-03-22', 18],
  ])('kept on %s', (_when, keptOn, days) => {
    const day0 = keptOn as LocalDate;
    const { staff, records } = caseload(day0, p);
    const snoozes = snoozesOf(records, day0, p);
    const reachable = new Set(staff.filter((_m, i) => i % 9 !== 4).map((m) => m.id));
    // As the store keeps it: JSON, and the sweep days it holds for.
    const kept = records.map((r) => {
      const snapshot = cachedSnapshotOf(snapshotOf(r, p, calendar, day0), p);
      return { validity: validityOf(r.events, day0), snapshot: snapshot && JSON.parse(JSON.stringify(snapshot)) };
    });
    const sweepDays = Array.from({ length: days + 4 }, (_, i) => addDays(day0, i - 3));

    test('every case can be kept', () => {
      expect(kept.filter((k) => k.snapshot === null)).toEqual([]);
    });

    test(`on each day from three before to ${days} after, at 08:30 and at 11:00: the same plan, and the same next time for every case, as from all the events`, () => {
      const differ: string[] = [];
      for (const day of sweepDays) {
        const folded = records.map((r) => snapshotOf(r, p, calendar, day, snoozes.get(r.caseId)));
        let used = 0;
        const fromKept = records.map((r, i) => {
          if (!holdsOn(kept[i].validity, day)) return folded[i];
          used++;
          return snapshotFromText(r, snapshotText(kept[i].snapshot!), day, p, snoozes.get(r.caseId));
        });
        // All but a case with an event after the day it was kept on, or before the day asked about.
        expect(used).toBeGreaterThan(records.length * 0.9);
        fromKept.forEach((s, i) => {
          if (!isDeepStrictEqual(sortedItems(s), sortedItems(folded[i]))) differ.push(`${day} ${records[i].reference}: open obligations`);
        });
        for (const time of ['08:30', '11:00']) {
          const now = reminderInstant(day, time);
          const input = { now, policy: p, calendar, staff, reachable, includeTeamDigests: true };
          const plan = planSweep({ ...input, cases: fromKept });
          if (!isDeepStrictEqual(plan, planSweep({ ...input, cases: folded }))) differ.push(`${day} ${time}: plan`);
          if (day === day0 && time === '08:30') expect(plan.length).toBeGreaterThan(20);
          fromKept.forEach((s, i) => {
            if (JSON.stringify(reminderTimesOf(s, now, calendar, p)) !== JSON.stringify(reminderTimesOf(folded[i], now, calendar, p))) differ.push(`${day} ${time} ${records[i].reference}: next times`);
          });
        }
      }
      expect(differ).toEqual([]);
    });

    test('a case with an event after the day it was kept on is kept only until then: past it, the kept snapshot would be wrong', () => {
      const i = records.findIndex((r) => r.reference === 'NEEDS-ESCALATED-LATER');
      expect(kept[i].validity).toEqual({ from: addDays(day0, -12), until: addDays(day0, 9) });
      const later = addDays(day0, 10);
      expect(holdsOn(kept[i].validity, later)).toBe(false);
      const wrong = snapshotFromText(records[i], snapshotText(kept[i].snapshot!), later, p);
      expect(sortedItems(wrong)).not.toEqual(sortedItems(snapshotOf(records[i], p, calendar, later)));
    });
  });
});

describe('what is kept of a case', () => {
  const calendar = calendarFor(DEFAULT);
  const day = '2026-12-21' as LocalDate;
  const { records } = caseload(day, DEFAULT);

  test('staff ids, dates, kinds and ids: never a family, a child, a reason or a note', () => {
    for (const r of records) {
      const kept = cachedSnapshotOf(snapshotOf(r, DEFAULT, calendar, day), DEFAULT)!;
      expect(JSON.stringify(kept)).not.toMatch(PRIVATE);
      expect(Object.keys(kept).sort()).toEqual(expect.arrayContaining(['allocatedOn', 'caseloadPoints', 'leadProfessional', 'manager', 'obligations', 'status']));
      for (const key of Object.keys(kept)) expect(['allocatedOn', 'cafAwaiting', 'caseloadPoints', 'leadProfessional', 'manager', 'obligations', 'status']).toContain(key);
      for (const o of kept.obligations) for (const key of Object.keys(o)) expect(['kind', 'from', 'due', 'latest', 'provisional', 'rule', 'escalated']).toContain(key);
    }
  });

  test('the rules it was worked out under: another timescale or calendar is another key; the reminder settings are not in it', () => {
    const key = snapshotRulesOf(DEFAULT, calendar);
    expect(snapshotRulesOf(loadPolicy(), calendarFor(loadPolicy()))).toBe(key);
    const document = JSON.parse(JSON.stringify(DEFAULT));
    const slower = validatePolicy({ ...document, timescales: { ...document.timescales, telephoneContact: { ...document.timescales.telephoneContact, within: { workingDays: 3 } } } });
    expect(snapshotRulesOf(slower, calendarFor(slower))).not.toBe(key);
    const closed = validatePolicy({ ...document, calendar: { closureDays: [{ date: '2026-12-29' }] } });
    expect(snapshotRulesOf(closed, calendarFor(closed))).not.toBe(key);
    expect(snapshotRulesOf(DEFAULT, calendarFor(closed))).not.toBe(key);
    const later = validatePolicy({ ...document, reminders: { ...document.reminders, digestAt: '09:00' } });
    expect(snapshotRulesOf(later, calendarFor(later))).toBe(key);
  });
});

// ---------------------------------------------------------------------------------------------
// The sweep on a database: what it keeps, when it uses it, and that it plans as a full read does.

describe.each(ENGINES)('the sweep on %s', (_engine, open) => {
  const day0 = '2026-12-21' as LocalDate;
  let t: TestDatabase;
  let ctx: SweepContext;
  /** The same sweep, reading every case from its events (nothing kept is used): what the sweep must plan. */
  let fullRead: SweepContext;
  let folded: string[] = [];
  let byReference: Map<string, string>;

  beforeAll(async () => {
    t = await open();
    const load = reminderCaseload({ cases: 150, workers: 8, day: day0, missRate: 0.12, seed: 11, prefix: 'GEN' });
    await loadCaseload(t.db, { ...load, staff: [...TEAM, ...load.staff], cases: [...load.cases, ...specialCases(day0).filter((c) => c.reference !== 'NEEDS-ESCALATED-LATER' && c.reference !== 'FUTURE-VISIT')] });
    const caseLog = createCaseLog(t.db);
    const store = createReminderStore(t.db);
    const directory = createStaffDirectory(t.db);
    const calendar = calendarFor(DEFAULT);
    ctx = {
      db: t.db,
      caseLog: { ...caseLog, readForScheduler: async (ids) => (folded.push(...ids), caseLog.readForScheduler(ids)) },
      store,
      policy: DEFAULT,
      calendar,
      staff: () => directory.all(),
    };
    fullRead = { ...ctx, caseLog, store: { ...store, casesToSweep: async (q) => (await store.casesToSweep(q)).map(({ kept: _kept, ...c }) => c) } };
    byReference = new Map((await t.db.query<{ id: string; reference: string }>('SELECT id, reference FROM cases')).map((r) => [r.reference, r.id]));
  }, 60_000);
  afterAll(async () => t?.dispose());

  /**
   * One sweep, checked against a full read at the same instant (but for a second sweep on a team
   * digest day: a dry run plans the team digests whenever it is asked); the cases it worked out
   * from their events, by reference.
   */
  async function sweep(day: string, time = '08:30', againOnATeamDigestDay = false) {
    const now = reminderInstant(day as LocalDate, time);
    const expected = await sweepReminders(fullRead, { now, dryRun: true });
    folded = [];
    const result = await sweepReminders(ctx, { now });
    if (!againOnATeamDigestDay) expect(result.planned).toEqual(expected.planned);
    expect(result.casesFolded).toBe(folded.length);
    const references = new Map([...byReference].map(([reference, id]) => [id, reference]));
    return { ...result, folded: folded.map((id) => references.get(id)!).sort() };
  }
  const appendTo = async (reference: string, events: NewCaseEvent[]) => {
    const caseId = byReference.get(reference)!;
    const [{ version }] = await t.db.query<{ version: number }>('SELECT version FROM cases WHERE id = $1', [caseId]);
    await ctx.caseLog.append(caseId, version, events, { actor: 'test' });
  };

  test('day after day across Christmas: each case worked out from its events once, then from what was kept, until it changes', async () => {
    // The server's first sweep after the import, before the working day: every case worked out and kept.
    const first = await sweep(day0, '07:00');
    expect(first).toMatchObject({ planned: [], casesRead: byReference.size, casesFolded: byReference.size });
    const kept = await t.db.query<{ snapshot: string }>('SELECT snapshot FROM reminder_snapshots');
    expect(kept.length).toBe(byReference.size);
    expect(kept.map((k) => k.snapshot).join('\n')).not.toMatch(PRIVATE);

    // 08:30 on a Monday: the team digests, their caseloads from the case summary, their overdue
    // items from the cases the day's digests list (not every open case), all from what was kept;
    // planned as a full read plans them.
    const monday = await sweep(day0);
    expect(monday.planned.filter((p) => p.type === 'escalation').length).toBeGreaterThan(0);
    expect(monday.planned.filter((p) => p.type === 'team-digest').length).toBeGreaterThan(0);
    expect(monday.casesRead).toBeGreaterThan(0);
    expect(monday.casesRead).toBeLessThan(byReference.size - 1);
    expect(monday.folded).toEqual([]);
    // Later the same day, and the days after: nothing changed, so nothing is folded (escalated
    // cases were kept at the version their escalation left).
    expect(await sweep(day0, '11:00', true)).toMatchObject({ planned: [], folded: [] });
    const tuesday = await sweep('2026-12-22');
    expect(tuesday.casesRead).toBeGreaterThan(0);
    expect(tuesday.folded).toEqual([]);

    // A telephone contact recorded, a reallocation, a closure, a needs-escalated: those cases, and only those, are read again.
    await appendTo('NEW-YESTERDAY', [{ type: 'telephone-contact-made', by: SAM.id, effectiveOn: '2026-12-22' as LocalDate, data: {} }]);
    await appendTo('GEN-3', [{ type: 'reallocated', by: MORGAN.id, effectiveOn: '2026-12-22' as LocalDate, data: { leadProfessional: ALEX.id, manager: MORGAN.id } }]);
    await appendTo('CLOSURE-REQUESTED', [{ type: 'closure-approved', by: MORGAN.id, effectiveOn: '2026-12-22' as LocalDate, data: {} }]);
    await appendTo('NEEDS-ESCALATED', [{ type: 'taf-held', by: SAM.id, effectiveOn: '2026-12-22' as LocalDate, data: { review: true } }]);
    // A snooze changes no version: the case is read again, from what was kept, with its snooze.
    const [snoozed] = await t.db.query<{ case_id: string }>(`SELECT case_id FROM case_reminders WHERE next_at > '2026-12-23' AND next_at < 'infinity' ORDER BY case_id LIMIT 1`);
    await ctx.store.snooze({ caseId: snoozed.case_id, obligationId: 'supervision:2026-12-01', staffId: SAM.id, until: '2026-12-30' as LocalDate });
    const wednesday = await sweep('2026-12-23');
    expect(wednesday.folded).toEqual(['CLOSURE-REQUESTED', 'GEN-3', 'NEEDS-ESCALATED', 'NEW-YESTERDAY']);

    // Through the bank holidays, to the team digests of the first working day of each week (every open case read).
    for (const day of ['2026-12-24', '2026-12-29', '2026-12-30', '2026-12-31', '2027-01-04', '2027-01-05']) expect((await sweep(day)).folded).toEqual([]);
  }, 60_000);

  test('a case kept on a day before an event of its own is read from its events again from that event on', async () => {
    // A needs-escalated recorded ahead of its day: kept until then.
    await appendTo('DEESCALATED', [{ type: 'needs-escalated', by: SAM.id, effectiveOn: '2027-01-08' as LocalDate, data: {} }]);
    const everyCase = async () => t.db.query(`UPDATE case_reminders SET next_at = '-infinity'`);
    await everyCase();
    expect((await sweep('2027-01-06')).folded).toEqual(['DEESCALATED']);
    await everyCase();
    expect((await sweep('2027-01-07')).folded).toEqual([]);
    await everyCase();
    expect((await sweep('2027-01-08')).folded).toEqual(['DEESCALATED']);
  }, 60_000);

  test('under other rules nothing kept is used, and a dry run keeps nothing', async () => {
    const document = JSON.parse(JSON.stringify(DEFAULT));
    const slower = validatePolicy({ ...document, timescales: { ...document.timescales, personalContact: { ...document.timescales.personalContact, within: { workingDays: 6 } } } });
    await t.db.query(`UPDATE case_reminders SET next_at = '-infinity'`);
    const before = await t.db.query('SELECT case_id, version, rules, snapshot FROM reminder_snapshots ORDER BY case_id');
    folded = [];
    const dry = await sweepReminders({ ...ctx, policy: slower, calendar: calendarFor(slower) }, { now: reminderInstant('2027-01-12' as LocalDate, '08:30'), dryRun: true });
    expect(dry.casesFolded).toBe(dry.casesRead);
    expect(await t.db.query('SELECT case_id, version, rules, snapshot FROM reminder_snapshots ORDER BY case_id')).toEqual(before);
    const swept = await sweepReminders({ ...ctx, policy: slower, calendar: calendarFor(slower) }, { now: reminderInstant('2027-01-12' as LocalDate, '08:30') });
    expect(swept.casesFolded).toBe(swept.casesRead);
    const [{ rules }] = await t.db.query<{ rules: string }>('SELECT DISTINCT rules FROM reminder_snapshots');
    expect(rules).toBe(snapshotRulesOf(slower, calendarFor(slower)));
  }, 60_000);
});
