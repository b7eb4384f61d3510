import { calendarFor, createCalendar } from '../src/calendar';
import { NewCaseEvent } from '../src/caseEvents';
import { hypotheticalCase } from '../src/hypotheticalCase';
import { parseLocalDate } from '../src/localDate';
import { Obligation, ObligationKind, obligations, openObligations, ragOf } from '../src/obligations';
import { loadPolicy, POLICIES_DIR } from '../src/policy';
import path from 'node:path';

const policy = loadPolicy();
const regional = loadPolicy(path.join(POLICIES_DIR, 'regional-three-monthly.json'));
const calendar = createCalendar();
const d = (s: string) => parseLocalDate(s);

type Step = [type: NewCaseEvent['type'], on: string, data?: Record<string, unknown>];
function caseOf(allocatedOn: string, steps: Step[] = [], allocation: Record<string, unknown> = {}) {
  return hypotheticalCase([
    {
      type: 'allocated',
      by: 'manager-1',
      effectiveOn: d(allocatedOn),
      data: { leadProfessional: 'worker-1', manager: 'manager-1', caseloadPoints: 5, initialActions: 'Visit', cafRequired: true, source: 'referral', ...allocation },
    },
    ...steps.map(([type, on, data]) => ({ type, by: 'worker-1', effectiveOn: d(on), data: data ?? {} }) as NewCaseEvent),
  ]);
}
function of(kind: ObligationKind, list: Obligation[]): Obligation[] {
  return list.filter((o) => o.kind === kind);
}
function one(kind: ObligationKind, list: Obligation[]): Obligation {
  const found = of(kind, list);
  expect(found).toHaveLength(1);
  return found[0];
}

describe('first contact (seed 000: telephone within 2 WD, personal within 5 WD of allocation)', () => {
  test('telephone contact is due 2 working days after allocation, skipping Christmas and the Boxing Day substitute', () => {
    const o = one('telephone-contact', obligations(caseOf('2026-12-24'), policy, calendar, d('2026-12-24')));
    expect(o).toMatchObject({ due: '2026-12-30', status: 'upcoming', from: '2026-12-24' });
    expect(o.rule).toBe('Telephone contact within 2 working days of allocation');
  });

  test('telephone contact is due today on day 2 and overdue on day 3', () => {
    expect(one('telephone-contact', obligations(caseOf('2026-12-24'), policy, calendar, d('2026-12-30'))).status).toBe('due-today');
    expect(one('telephone-contact', obligations(caseOf('2026-12-24'), policy, calendar, d('2026-12-31'))).status).toBe('overdue');
  });

  test('a telephone contact on day 2 is met on time, on day 3 met late, and names the event that met it', () => {
    const onTime = caseOf('2026-12-24', [['telephone-contact-made', '2026-12-30']]);
    expect(one('telephone-contact', obligations(onTime, policy, calendar, d('2027-01-10')))).toMatchObject({ status: 'met-on-time', metOn: '2026-12-30', metBy: onTime[1].id });
    const late = caseOf('2026-12-24', [['telephone-contact-made', '2026-12-31']]);
    expect(one('telephone-contact', obligations(late, policy, calendar, d('2027-01-10'))).status).toBe('met-late');
  });

  test('a home visit before the phone call also counts as first contact', () => {
    const c = caseOf('2026-11-23', [['visit', '2026-11-24', { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true }]]);
    expect(one('telephone-contact', obligations(c, policy, calendar, d('2026-12-01'))).status).toBe('met-on-time');
  });

  test('personal contact is due 5 working days after allocation; a phone call does not meet it, a visit does', () => {
    const phoned = caseOf('2026-11-23', [['telephone-contact-made', '2026-11-23']]);
    const o = one('personal-contact', obligations(phoned, policy, calendar, d('2026-12-01')));
    expect(o).toMatchObject({ due: '2026-11-30', status: 'overdue' });
    expect(o.rule).toBe('Personal contact within 5 working days of allocation');
    const visited = caseOf('2026-11-23', [['visit', '2026-11-30', { childSeen: false, consentForm: true, medicalForm: false, homeChecked: true }]]);
    expect(one('personal-contact', obligations(visited, policy, calendar, d('2026-12-01'))).status).toBe('met-on-time');
  });
});

describe('CAF (seed 000: completed 20 WD from allocation; reviewed at 6 months)', () => {
  test('the CAF is due 20 working days after allocation', () => {
    const o = one('caf-assessment', obligations(caseOf('2026-11-23'), policy, calendar, d('2026-11-23')));
    expect(o).toMatchObject({ due: '2026-12-21', status: 'upcoming', rule: 'CAF completed within 20 working days of allocation' });
  });

  test('a CAF submitted for authorisation counts as completed on its submission date, unless it is returned', () => {
    const submitted = caseOf('2026-11-23', [['caf-submitted', '2026-12-18']]);
    expect(one('caf-assessment', obligations(submitted, policy, calendar, d('2027-01-05'))).status).toBe('met-on-time');
    const returned = caseOf('2026-11-23', [['caf-submitted', '2026-12-18'], ['caf-returned', '2026-12-21', { comments: 'Add the voice of the child' }]]);
    expect(one('caf-assessment', obligations(returned, policy, calendar, d('2027-01-05'))).status).toBe('overdue');
    const resubmitted = caseOf('2026-11-23', [
      ['caf-submitted', '2026-12-18'],
      ['caf-returned', '2026-12-21', { comments: 'Add the voice of the child' }],
      ['caf-submitted', '2027-01-04'],
      ['caf-authorised', '2027-01-05'],
    ]);
    expect(one('caf-assessment', obligations(resubmitted, policy, calendar, d('2027-01-05')))).toMatchObject({ status: 'met-late', metOn: '2027-01-04' });
  });

  test('a re-assessment directed by the manager starts a new 20 working day CAF', () => {
    const c = caseOf('2026-11-23', [['caf-submitted', '2026-12-18'], ['caf-authorised', '2026-12-21'], ['caf-reassessment-directed', '2027-02-01', { reason: 'New evidence of risk' }]]);
    const cafs = of('caf-assessment', obligations(c, policy, calendar, d('2027-02-01')));
    expect(cafs.map((o) => [o.from, o.due, o.status])).toEqual([
      ['2026-11-23', '2026-12-21', 'met-on-time'],
      ['2027-02-01', '2027-03-01', 'upcoming'],
    ]);
  });

  test('no CAF is owed when the Manager\u2019s Decision says none is required', () => {
    const list = obligations(caseOf('2026-11-23', [], { cafRequired: false, source: 'cin-step-down', existingPlan: 'CIN plan' }), policy, calendar, d('2027-02-01'));
    expect(one('caf-assessment', list).status).toBe('not-applicable');
    expect(of('caf-review', list)).toEqual([]);
  });

  test('the authorised CAF is reviewed at 6 months', () => {
    const c = caseOf('2026-11-23', [['caf-submitted', '2026-12-18'], ['caf-authorised', '2026-12-21']]);
    const o = one('caf-review', obligations(c, policy, calendar, d('2027-01-04')));
    expect(o).toMatchObject({ from: '2026-12-21', due: '2027-06-21', status: 'upcoming', rule: 'CAF reviewed at 6 months' });
    const reviewed = caseOf('2026-11-23', [['caf-submitted', '2026-12-18'], ['caf-authorised', '2026-12-21'], ['caf-reviewed', '2027-06-18']]);
    expect(one('caf-review', obligations(reviewed, policy, calendar, d('2027-07-01'))).status).toBe('met-on-time');
  });
});

describe('TAF meetings (seed 000: first in 25 WD; reviews every 6 weeks, 8 at most; minutes in 15 WD)', () => {
  test('the first TAF is due 25 working days after allocation, skipping Christmas Day and the Boxing Day substitute', () => {
    const o = one('first-taf', obligations(caseOf('2026-11-23'), policy, calendar, d('2026-11-23')));
    expect(o).toMatchObject({ due: '2026-12-30', rule: 'First TAF meeting within 25 working days of allocation' });
  });

  test('a TAF review carries its 6-week target and its 8-week latest date, and is only overdue after the latest', () => {
    const c = caseOf('2026-11-23', [['taf-held', '2027-01-04']]);
    const review = one('taf-review', obligations(c, policy, calendar, d('2027-02-20')));
    expect(review).toMatchObject({ from: '2027-01-04', due: '2027-02-15', latest: '2027-03-01', status: 'upcoming', rule: 'TAF review every 6 weeks, 8 weeks at most' });
    expect(ragOf(review, d('2027-02-20'), calendar)).toBe('amber');
    expect(one('taf-review', obligations(c, policy, calendar, d('2027-03-01'))).status).toBe('due-today');
    expect(one('taf-review', obligations(c, policy, calendar, d('2027-03-02'))).status).toBe('overdue');
  });

  test('each TAF held starts the clock for the next review, and a review at 7 weeks is on time', () => {
    const c = caseOf('2026-11-23', [['taf-held', '2027-01-04'], ['taf-held', '2027-02-22'], ['taf-held', '2027-04-26']]);
    const reviews = of('taf-review', obligations(c, policy, calendar, d('2027-05-01')));
    expect(reviews.map((r) => [r.from, r.status])).toEqual([
      ['2027-01-04', 'met-on-time'],
      ['2027-02-22', 'met-late'],
      ['2027-04-26', 'upcoming'],
    ]);
  });

  test('when needs escalate, reviews come round sooner (4 weeks in the default policy)', () => {
    const c = caseOf('2026-11-23', [['taf-held', '2027-01-04'], ['needs-escalated', '2027-01-11', { reason: 'new concern' }]]);
    const review = one('taf-review', obligations(c, policy, calendar, d('2027-01-12')));
    expect(review).toMatchObject({ due: '2027-02-01', latest: '2027-02-01' });
    expect(review.rule).toMatch(/needs having escalated/);
  });

  test('minutes are shared within 15 working days of each TAF', () => {
    const c = caseOf('2026-11-23', [['taf-held', '2027-01-04'], ['minutes-shared', '2027-01-22', { tafDate: '2027-01-04' }], ['taf-held', '2027-02-15']]);
    const minutes = of('taf-minutes', obligations(c, policy, calendar, d('2027-03-10')));
    expect(minutes.map((m) => [m.from, m.due, m.status])).toEqual([
      ['2027-01-04', '2027-01-25', 'met-on-time'],
      ['2027-02-15', '2027-03-08', 'overdue'],
    ]);
    expect(minutes[0].rule).toBe('Minutes shared with the family and agencies within 15 working days of the TAF');
  });
});

describe('case recording (seed 000: within 2 WD of contact or information received)', () => {
  test('each day with a contact owes a recording 2 working days later; recording on or after the contact meets it', () => {
    const c = caseOf('2026-11-23', [
      ['telephone-contact-made', '2026-11-24'],
      ['case-recorded', '2026-11-26'],
      ['visit', '2026-11-27', { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true }],
      ['information-received', '2026-11-27', { from: 'school' }],
    ]);
    const recordings = of('case-recording', obligations(c, policy, calendar, d('2026-12-02')));
    expect(recordings.map((r) => [r.from, r.due, r.status])).toEqual([
      ['2026-11-24', '2026-11-26', 'met-on-time'],
      ['2026-11-27', '2026-12-01', 'overdue'],
    ]);
    expect(recordings[0].rule).toBe('Case recorded within 2 working days of contact or information received');
  });
});

describe('supervision (seed 000: monthly; record returned in 10 WD and authorised in 20 WD)', () => {
  test('supervision is due a month after allocation, then a month after each session', () => {
    const c = caseOf('2026-11-23', [['supervision-held', '2026-12-14']]);
    const sessions = of('supervision', obligations(c, policy, calendar, d('2026-12-20')));
    expect(sessions.map((s) => [s.from, s.due, s.status])).toEqual([
      ['2026-11-23', '2026-12-23', 'met-on-time'],
      ['2026-12-14', '2027-01-14', 'upcoming'],
    ]);
    expect(sessions[0].rule).toBe('Case supervision every 1 month');
  });

  test('the supervision record is returned within 10 working days and authorised within 20', () => {
    const c = caseOf('2026-11-23', [
      ['supervision-held', '2026-12-14'],
      ['supervision-record-returned', '2026-12-23', { supervisionDate: '2026-12-14' }],
    ]);
    const list = obligations(c, policy, calendar, d('2027-01-20'));
    expect(one('supervision-record', list)).toMatchObject({ due: '2026-12-30', status: 'met-on-time', rule: 'Supervision record returned within 10 working days' });
    expect(one('supervision-authorised', list)).toMatchObject({ due: '2027-01-14', status: 'overdue', rule: 'Supervision record authorised within 20 working days' });
  });
});

describe('closure and corrections', () => {
  test('closing a case ends what was not yet due, but a deadline missed before closure stays missed', () => {
    const c = caseOf('2026-11-23', [['closure-requested', '2026-11-30', { reason: 'moved-out-of-area', summary: 'Family moved' }], ['closure-approved', '2026-12-01']]);
    const list = obligations(c, policy, calendar, d('2027-01-20'));
    expect(one('telephone-contact', list).status).toBe('overdue');
    expect(one('caf-assessment', list).status).toBe('not-applicable');
    expect(one('first-taf', list).status).toBe('not-applicable');
  });

  test('an event entered in error no longer meets anything, though it stays in the log', () => {
    const c = caseOf('2026-11-23', [['telephone-contact-made', '2026-11-24']]);
    const withdrawn = hypotheticalCase([
      ...c.map(({ type, by, effectiveOn, data }) => ({ type, by, effectiveOn, data }) as NewCaseEvent),
      { type: 'entered-in-error', by: 'worker-1', effectiveOn: d('2026-11-25'), data: { eventId: c[1].id, reason: 'wrong case' } },
    ]);
    expect(one('telephone-contact', obligations(withdrawn, policy, calendar, d('2026-11-26'))).status).toBe('overdue');
  });

  test('a case without an allocation owes nothing yet', () => {
    expect(obligations([], policy, calendar, d('2026-11-26'))).toEqual([]);
  });

  test('the open obligations list is soonest first and leaves out what is met', () => {
    const c = caseOf('2026-11-23', [['telephone-contact-made', '2026-11-24']]);
    const open = openObligations(obligations(c, policy, calendar, d('2026-11-24')));
    expect(open.map((o) => o.kind)).toEqual(['case-recording', 'personal-contact', 'caf-assessment', 'supervision', 'first-taf']);
  });
});

describe('another authority changes timescales in its policy file, not in code (seeds 001, 003, 004)', () => {
  test('the CAF is due in 28 calendar days, brought forward off a weekend', () => {
    // 2026-11-23 + 28 days = Monday 21 December 2026
    expect(one('caf-assessment', obligations(caseOf('2026-11-23'), regional, calendar, d('2026-11-23'))).due).toBe('2026-12-21');
    // 2026-11-28 (Saturday) + 28 days = Saturday 26 December: brought forward to Thursday 24 December
    expect(one('caf-assessment', obligations(caseOf('2026-11-28'), regional, calendar, d('2026-11-28'))).due).toBe('2026-12-24');
  });

  test('the first TAF is due 20 working days after the CAF is completed, provisional until then', () => {
    const before = one('first-taf', obligations(caseOf('2026-11-23'), regional, calendar, d('2026-11-23')));
    expect(before).toMatchObject({ from: '2026-12-21', provisional: true });
    const after = one('first-taf', obligations(caseOf('2026-11-23', [['caf-submitted', '2026-12-10']]), regional, calendar, d('2026-12-11')));
    expect(after).toMatchObject({ from: '2026-12-10', due: '2027-01-12', rule: 'First TAF meeting within 20 working days of the CAF being completed' });
    expect(after.provisional).toBeUndefined();
    // The same authority's Christmas closure (29-31 December) pushes it three working days on.
    const closing = calendarFor(regional);
    expect(one('first-taf', obligations(caseOf('2026-11-23', [['caf-submitted', '2026-12-10']]), regional, closing, d('2026-12-11'))).due).toBe('2027-01-15');
  });

  test('plan reviews every 3 months after the first TAF', () => {
    const review = one('taf-review', obligations(caseOf('2026-11-23', [['taf-held', '2027-01-11']]), regional, calendar, d('2027-01-12')));
    expect(review).toMatchObject({ due: '2027-04-09', latest: '2027-04-09' }); // 11 April 2027 is a Sunday
  });

  test('a case open more than a year is flagged', () => {
    expect(of('case-duration', obligations(caseOf('2026-11-23'), policy, calendar, d('2027-12-01')))).toEqual([]);
    const o = one('case-duration', obligations(caseOf('2026-11-23'), regional, calendar, d('2027-12-01')));
    expect(o).toMatchObject({ due: '2027-11-23', status: 'overdue' });
  });
});
