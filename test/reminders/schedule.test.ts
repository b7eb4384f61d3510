import { digestItems, snoozeProblem } from '../../src/reminders/digest';
import { digestInstant, escalationDay, escalationInstant, firstWorkingDayOfWeek, isTeamDigestDay, isWithinWorkingHours, nextWorkingMoment } from '../../src/reminders/schedule';
import { at, calendar, d, policy, snapshot } from './fixtures';

const within = (iso: string) => isWithinWorkingHours(at(iso), calendar, policy);
const next = (iso: string) => nextWorkingMoment(at(iso), calendar, policy).toISOString();

describe('working hours: 08:30 to 17:30 London on working days', () => {
  test('in winter 08:30 London is 08:30Z; from 08:30 to just before 17:30', () => {
    expect([within('2026-12-23T08:29:59Z'), within('2026-12-23T08:30:00Z'), within('2026-12-23T17:29:59Z'), within('2026-12-23T17:30:00Z')]).toEqual([false, true, true, false]);
  });

  test('in summer (BST from 28 March 2027) 08:30 London is 07:30Z', () => {
    expect([within('2027-03-30T07:29:00Z'), within('2027-03-30T07:30:00Z'), within('2027-03-30T16:29:00Z'), within('2027-03-30T16:30:00Z')]).toEqual([false, true, true, false]);
    // Back to GMT on 31 October 2027: Monday 1 November opens at 08:30Z.
    expect([within('2027-11-01T07:30:00Z'), within('2027-11-01T08:30:00Z')]).toEqual([false, true]);
  });

  test('never on a weekend, a bank holiday or a substitute day', () => {
    for (const day of ['2026-12-25', '2026-12-26', '2026-12-27', '2026-12-28', '2027-01-01', '2027-03-26', '2027-03-29']) {
      expect({ day, within: within(`${day}T12:00:00Z`) }).toEqual({ day, within: false });
    }
  });

  test('what falls outside working hours waits for the next working morning', () => {
    expect(next('2026-12-23T10:00:00Z')).toBe('2026-12-23T10:00:00.000Z');
    expect(next('2026-12-23T06:00:00Z')).toBe('2026-12-23T08:30:00.000Z');
    // Christmas Eve evening: Christmas Day, the weekend and the Boxing Day substitute pass first.
    expect(next('2026-12-24T18:00:00Z')).toBe('2026-12-29T08:30:00.000Z');
    // Maundy Thursday evening, GMT; Tuesday after Easter Monday, BST.
    expect(next('2027-03-25T17:30:00Z')).toBe('2027-03-30T07:30:00.000Z');
    expect(next('2027-10-29T16:30:00Z')).toBe('2027-11-01T08:30:00.000Z');
  });

  test('the digest goes at 08:30 London, whatever the season', () => {
    expect(digestInstant(d('2027-03-25'), policy).toISOString()).toBe('2027-03-25T08:30:00.000Z');
    expect(digestInstant(d('2027-03-30'), policy).toISOString()).toBe('2027-03-30T07:30:00.000Z');
  });

  test('the team digest day is the first working day of the week: Tuesday after a bank holiday Monday', () => {
    expect(firstWorkingDayOfWeek(d('2026-12-31'), calendar)).toBe('2026-12-29');
    expect(firstWorkingDayOfWeek(d('2027-04-02'), calendar)).toBe('2027-03-30');
    expect(firstWorkingDayOfWeek(d('2027-01-10'), calendar)).toBe('2027-01-04');
    expect([isTeamDigestDay(d('2026-12-21'), calendar), isTeamDigestDay(d('2026-12-22'), calendar), isTeamDigestDay(d('2026-12-29'), calendar)]).toEqual([true, false, true]);
  });
});

describe('escalation day: escalateAfter working days after the deadline', () => {
  test('a telephone contact due Christmas Eve escalates on the morning of 29 December, past Christmas and the Boxing Day substitute', () => {
    const o = { kind: 'telephone-contact' as const, due: d('2026-12-24') };
    expect(escalationDay(o, calendar, policy)).toBe('2026-12-29');
    expect(escalationInstant(o, calendar, policy)?.toISOString()).toBe('2026-12-29T08:30:00.000Z');
  });

  test('a TAF review escalates after its latest date, not its target', () => {
    expect(escalationDay({ kind: 'taf-review', due: d('2027-03-11'), latest: d('2027-03-25') }, calendar, policy)).toBe('2027-03-30');
  });

  test('case recording and case length never escalate', () => {
    expect(escalationDay({ kind: 'case-recording', due: d('2026-12-24') }, calendar, policy)).toBeNull();
    expect(escalationInstant({ kind: 'case-duration', due: d('2026-12-24') }, calendar, policy)).toBeNull();
  });
});

describe('the digest\u2019s items', () => {
  // Allocated Tuesday 22 December 2026: telephone contact due Thursday 24th, personal contact Thursday 31st.
  const c = snapshot({ allocatedOn: '2026-12-22' });
  const items = (today: string, snoozed?: Record<string, string>) =>
    digestItems(c.obligations, d(today), calendar, policy, snoozed && new Map(Object.entries(snoozed).map(([k, v]) => [k, d(v)]))).map((o) => `${o.kind}@${o.latest ?? o.due}:${o.status}`);

  test('overdue, due today and due by the end of the next working day, soonest first, with today\u2019s status', () => {
    expect(items('2026-12-22')).toEqual([]);
    expect(items('2026-12-23')).toEqual(['telephone-contact@2026-12-24:upcoming']);
    expect(items('2026-12-24')).toEqual(['telephone-contact@2026-12-24:due-today']);
    // The working day after Christmas Eve is 29 December: the personal contact due on the 31st is not listed yet.
    expect(items('2026-12-29')).toEqual(['telephone-contact@2026-12-24:overdue']);
    expect(items('2026-12-30')).toEqual(['telephone-contact@2026-12-24:overdue', 'personal-contact@2026-12-31:upcoming']);
  });

  test('a snoozed item is left out until its snooze day, and never hidden once overdue', () => {
    const id = 'personal-contact:2026-12-22';
    expect(items('2026-12-30', { [id]: '2026-12-31' })).toEqual(['telephone-contact@2026-12-24:overdue']);
    expect(items('2026-12-31', { [id]: '2026-12-31' })).toEqual(['telephone-contact@2026-12-24:overdue', 'personal-contact@2026-12-31:due-today']);
    expect(items('2027-01-04', { [id]: '2027-01-08' })).toContain('personal-contact@2026-12-31:overdue');
  });

  test('a snooze goes to a later working day, never past the deadline', () => {
    const personal = c.obligations.find((o) => o.kind === 'personal-contact')!;
    const problem = (until: string, today = '2026-12-23') => snoozeProblem(personal, d(until), d(today), calendar);
    expect(problem('2026-12-24')).toBeNull();
    expect(problem('2026-12-31')).toBeNull();
    expect(problem('2026-12-28')).toBe('2026-12-28 is not a working day (Boxing Day (substitute day)).');
    expect(problem('2026-12-26')).toBe('2026-12-26 is not a working day (Saturday).');
    expect(problem('2027-01-04')).toBe('It cannot be snoozed past its deadline, 2026-12-31.');
    expect(problem('2026-12-23')).toBe('Snooze to a later day than today.');
    expect(problem('2027-01-04', '2026-12-31')).toBe('It cannot be snoozed past its deadline, 2026-12-31.');
  });
});
