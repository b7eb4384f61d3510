import fs from 'node:fs';
import { londonDateOf } from '../../src/localDate';
import { OBLIGATION_KINDS } from '../../src/obligations';
import { DEFAULT_POLICY_FILE, Policy, validatePolicy } from '../../src/policy';
import { reminderTimesOf } from '../../src/reminders/nextReminder';
import { CaseSnapshot } from '../../src/reminders/plan';
import { digestInstant, isWithinWorkingHours } from '../../src/reminders/schedule';
import { at, calendar, instants, policy, snapshot, STAFF, sweep } from './fixtures';

const VISIT = { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true };
const samAway = STAFF.map((m) => (m.id === STAFF[2].id ? { ...m, absentFrom: '2026-12-24', absentUntil: '2027-01-04' } : m));

/** A policy with other settings, so that the rule is not right only for the defaults. */
const other: Policy = validatePolicy({
  ...JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8')),
  reminders: { workingHours: { start: '09:00', end: '16:00' }, digestAt: '10:15', digestHorizon: { workingDays: 0 }, escalateAfter: { 'telephone-contact': 3, 'taf-minutes': null } },
});

/** A policy that escalates nothing, so that the digests alone decide when a case matters. */
const quiet: Policy = validatePolicy({
  ...JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8')),
  reminders: { escalateAfter: Object.fromEntries(OBLIGATION_KINDS.map((k) => [k, null])) },
});

interface Scenario {
  name: string;
  c: CaseSnapshot;
  from: string;
  to: string;
  policy?: Policy;
  staff?: typeof STAFF;
}

const SCENARIOS: Scenario[] = [
  { name: 'a case allocated before Christmas', c: snapshot({ allocatedOn: '2026-12-22' }), from: '2026-12-18', to: '2027-01-12' },
  { name: 'the same under another policy', c: snapshot({ allocatedOn: '2026-12-22' }, other), from: '2026-12-18', to: '2027-01-12', policy: other },
  { name: 'a snoozed item', c: snapshot({ allocatedOn: '2026-12-22', snoozed: { 'personal-contact:2026-12-22': '2026-12-31' } }), from: '2026-12-18', to: '2027-01-12' },
  { name: 'a snooze past the deadline (never hides an overdue item)', c: snapshot({ allocatedOn: '2026-12-22', snoozed: { 'telephone-contact:2026-12-22': '2027-01-06' } }), from: '2026-12-18', to: '2027-01-12' },
  {
    name: 'a snooze past the deadline, nothing escalated',
    c: snapshot({ allocatedOn: '2026-12-22', snoozed: { 'telephone-contact:2026-12-22': '2027-01-06', 'personal-contact:2026-12-22': '2026-12-31' } }, quiet),
    from: '2026-12-18',
    to: '2027-01-12',
    policy: quiet,
  },
  {
    name: 'a CAF awaiting authorisation and an open escalation',
    c: snapshot({ allocatedOn: '2026-11-30', steps: [['telephone-contact-made', '2026-12-01'], ['caf-submitted', '2026-12-21']], escalated: ['personal-contact:2026-11-30'] }),
    from: '2026-12-18',
    to: '2027-01-12',
  },
  {
    name: 'supervision and its record over Christmas, the worker away',
    c: snapshot({ allocatedOn: '2026-11-02', steps: [['visit', '2026-11-03', VISIT], ['case-recorded', '2026-11-03'], ['supervision-held', '2026-12-10']] }),
    from: '2026-12-14',
    to: '2027-01-20',
    staff: samAway,
  },
  {
    name: 'a TAF review due by its latest date at Easter',
    c: snapshot({ allocatedOn: '2026-12-01', steps: [['visit', '2026-12-02', VISIT], ['case-recorded', '2026-12-02'], ['caf-submitted', '2026-12-18'], ['caf-authorised', '2026-12-21'], ['taf-held', '2027-01-28'], ['minutes-shared', '2027-02-03', { tafDate: '2027-01-28' }], ['supervision-held', '2027-03-04']] }),
    from: '2027-03-08',
    to: '2027-04-09',
  },
  { name: 'a case allocated at Easter, across the change to BST', c: snapshot({ allocatedOn: '2027-03-23' }), from: '2027-03-19', to: '2027-04-12' },
  { name: 'the same under another policy', c: snapshot({ allocatedOn: '2027-03-23' }, other), from: '2027-03-19', to: '2027-04-12', policy: other },
  { name: 'a case allocated as BST ends', c: snapshot({ allocatedOn: '2027-10-27' }), from: '2027-10-25', to: '2027-11-12' },
];


describe('reminderTimesOf: when a case next matters to a sweep', () => {
  for (const s of SCENARIOS) {
    const options = { policy: s.policy ?? policy, staff: s.staff ?? STAFF };
    const p = options.policy;
    const grid = instants(`${s.from}T00:00:00Z`, `${s.to}T00:00:00Z`);

    test(`the times a case keeps: read when its escalation comes, or by the day's digest sweep once it is listed, it is planned as if read at every sweep: ${s.name}`, () => {
      // The scheduler as it runs: the day's digests planned once, by the first sweep from the digest
      // time; each sweep reads a case when its escalation time has come, or when it plans the
      // day's digests and the case is listed by then. The times are worked out again only when
      // the sweep escalated the case or its escalation time had come; otherwise they stand, and a
      // listed case keeps its first digest day however many mornings it is listed.
      const run = (lazy: boolean) => {
        let c = s.c;
        let times = reminderTimesOf(c, new Date(grid[0].getTime() - 1), calendar, p);
        let digestsOn: string | null = null;
        const first = new Map<string, string>();
        for (const t of grid) {
          const day = londonDateOf(t);
          const digests = digestsOn !== day && t.getTime() >= digestInstant(day, p).getTime() && isWithinWorkingHours(t, calendar, p);
          const escalationDue = times.at !== null && times.at.getTime() <= t.getTime();
          const due = escalationDue || (digests && times.digestOn !== null && times.digestOn <= day);
          if (digests) digestsOn = day;
          if (lazy && !due) continue;
          let escalated = false;
          for (const n of sweep(t, [c], { ...options, includeDigests: digests })) {
            if (!first.has(n.dedupeKey)) first.set(n.dedupeKey, t.toISOString());
            if (n.type === 'escalation') {
              c = { ...c, escalated: new Set([...c.escalated, n.items[0].obligationId]) };
              escalated = true;
            }
          }
          if (escalated || escalationDue) times = reminderTimesOf(c, t, calendar, p);
        }
        return first;
      };
      const eager = run(false);
      expect([...eager.keys()].some((k) => k.startsWith('digest:'))).toBe(true);
      expect(run(true)).toEqual(eager);
    });
  }

  const times = (c: CaseSnapshot, after: string) => {
    const t = reminderTimesOf(c, at(after), calendar, policy);
    return { at: t.at?.toISOString() ?? null, digestOn: t.digestOn };
  };

  test('the telephone contact due on Christmas Eve: listed from the day before, escalated on 29 December, then listed as an open escalation', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    expect(times(c, '2026-12-22T12:00:00Z')).toEqual({ at: '2026-12-29T08:30:00.000Z', digestOn: '2026-12-23' });
    // Listed already: the first day it is listed, from the sweep's own day, whichever morning it is worked out.
    expect(times(c, '2026-12-24T08:30:00Z')).toEqual({ at: '2026-12-29T08:30:00.000Z', digestOn: '2026-12-24' });
    const escalated = { ...c, escalated: new Set(['telephone-contact:2026-12-22']) };
    // Its next escalation is the visit's (due 31 December), on 4 January.
    expect(times(escalated, '2026-12-29T08:30:00Z')).toEqual({ at: '2027-01-04T08:30:00.000Z', digestOn: '2026-12-29' });
  });

  test('an escalation owed and not yet planned matters at once (in working hours) or the next working morning', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    expect(times(c, '2026-12-29T10:00:00Z').at).toBe('2026-12-29T10:00:00.001Z');
    expect(times(c, '2026-12-31T17:30:00Z').at).toBe('2027-01-04T08:30:00.000Z');
  });

  test('a weekend or holiday counts from the next working day', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    expect(times(c, '2026-12-26T12:00:00Z').digestOn).toBe('2026-12-29');
  });

  test('a closed case never matters again', () => {
    const c = snapshot({ allocatedOn: '2026-12-22', steps: [['closure-approved', '2026-12-23']] });
    expect(times(c, '2026-12-22T12:00:00Z')).toEqual({ at: null, digestOn: null });
  });

  test('nor a case with nothing left to meet', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    const allMet = { ...c, obligations: c.obligations.map((o) => ({ ...o, status: 'met-on-time' as const })) };
    expect(times(allMet, '2026-12-22T12:00:00Z')).toEqual({ at: null, digestOn: null });
  });
});
