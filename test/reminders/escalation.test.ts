import { addDays, addMonths, LocalDate } from '../../src/localDate';
import { deadlineOf, ObligationKind, OBLIGATION_KINDS } from '../../src/obligations';
import { calendar, CaseSpec, d, DUTY, instants, MORGAN, policy, SAM, snapshot, STAFF, sweep } from './fixtures';

const wd = (date: LocalDate, n: number) => calendar.addWorkingDays(date, n);

/** A case one of whose obligations of `kind` has its deadline on `deadline` (DOMAIN.md timescales, default policy). */
const CASE_DUE_ON: Record<Exclude<ObligationKind, 'case-recording' | 'case-duration'>, (deadline: LocalDate) => CaseSpec> = {
  'telephone-contact': (D) => ({ allocatedOn: wd(D, -2) }),
  'personal-contact': (D) => ({ allocatedOn: wd(D, -5) }),
  'caf-assessment': (D) => ({ allocatedOn: wd(D, -20) }),
  'first-taf': (D) => ({ allocatedOn: wd(D, -25) }),
  // TAF reviews every 6 weeks, 8 at most: escalated after the latest date.
  'taf-review': (D) => ({ allocatedOn: addDays(D, -120), steps: [['taf-held', addDays(D, -56)]] }),
  'taf-minutes': (D) => ({ allocatedOn: wd(D, -40), steps: [['taf-held', wd(D, -15)]] }),
  supervision: (D) => ({ allocatedOn: addMonths(D, -1) }),
  'supervision-record': (D) => ({ allocatedOn: wd(D, -30), steps: [['supervision-held', wd(D, -10)]] }),
  'supervision-authorised': (D) => ({ allocatedOn: wd(D, -30), steps: [['supervision-held', wd(D, -20)]] }),
  'caf-review': (D) => ({ allocatedOn: addMonths(D, -7), steps: [['caf-submitted', addMonths(D, -6)], ['caf-authorised', addMonths(D, -6)]] }),
};

const ESCALATING = OBLIGATION_KINDS.filter((k) => k !== 'case-recording' && k !== 'case-duration') as Array<keyof typeof CASE_DUE_ON>;

/** Deadlines just before a run of non-working days, and the first sweep that may escalate them. */
const SEASONS = [
  { season: 'Christmas 2026 (GMT)', deadline: '2026-12-24', escalatedAt: '2026-12-29T08:30:00.000Z' },
  { season: 'Easter 2027, across the change to BST', deadline: '2027-03-25', escalatedAt: '2027-03-30T07:30:00.000Z' },
  { season: 'the end of BST 2027', deadline: '2027-10-29', escalatedAt: '2027-11-01T08:30:00.000Z' },
];

describe('escalation: once, to the line manager, the morning of the first working day after the deadline', () => {
  test('every kind the policy escalates has a case here', () => {
    expect(ESCALATING.sort()).toEqual(Object.keys(CASE_DUE_ON).sort());
  });

  for (const { season, deadline, escalatedAt } of SEASONS) {
    for (const kind of ESCALATING) {
      test(`${kind} due on ${deadline} escalates at ${escalatedAt} (${season}), not before`, () => {
        const c = snapshot({ ...CASE_DUE_ON[kind](d(deadline)), asOf: deadline });
        const due = c.obligations.filter((o) => o.kind === kind && deadlineOf(o) === deadline);
        expect(due).toHaveLength(1);
        const key = `escalation:${c.caseId}:${due[0].id}`;
        // Every half hour from the deadline day to the day after the escalation.
        const first = instants(`${deadline}T00:00:00Z`, addDays(d(escalatedAt.slice(0, 10)), 2)).find((t) => sweep(t, [c]).some((n) => n.dedupeKey === key));
        expect(first?.toISOString()).toBe(escalatedAt);
        const planned = sweep(escalatedAt, [c]).filter((n) => n.dedupeKey === key);
        expect(planned).toEqual([
          { recipient: MORGAN.id, type: 'escalation', day: escalatedAt.slice(0, 10), dedupeKey: key, items: [expect.objectContaining({ obligation: kind, obligationId: due[0].id, status: 'overdue', worker: SAM.id, kind: 'item' })] },
        ]);
      });
    }
  }

  test('an obligation escalated already is not escalated again', () => {
    const c = snapshot({ allocatedOn: '2026-12-22', escalated: ['telephone-contact:2026-12-22'] });
    expect(sweep('2026-12-29T10:00:00Z', [c]).filter((n) => n.type === 'escalation')).toEqual([]);
  });

  test('a contact made late, before the sweep, is not escalated', () => {
    const c = snapshot({ allocatedOn: '2026-12-22', steps: [['telephone-contact-made', '2026-12-29']] });
    expect(sweep('2026-12-29T10:00:00Z', [c]).filter((n) => n.type === 'escalation')).toEqual([]);
  });

  test('while the line manager is away the duty manager is escalated to', () => {
    const staff = STAFF.map((m) => (m.id === MORGAN.id ? { ...m, absentFrom: '2026-12-29', absentUntil: '2027-01-08' } : m));
    const c = snapshot({ allocatedOn: '2026-12-22' });
    const escalations = sweep('2026-12-29T08:30:00Z', [c], { staff }).filter((n) => n.type === 'escalation');
    expect(escalations.map((n) => [n.recipient, n.items[0].obligation])).toEqual([[DUTY.id, 'telephone-contact']]);
    // The day before her leave, Morgan would have had it.
    expect(sweep('2026-12-24T09:00:00Z', [snapshot({ allocatedOn: '2026-12-21' })], { staff }).filter((n) => n.type === 'escalation').map((n) => n.recipient)).toEqual([MORGAN.id]);
  });

  test('with the escalation of a kind switched off in the policy, it stays in the digest only', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    const planned = sweep('2026-12-29T08:30:00Z', [c], { policy: escalating('telephone-contact', null) });
    expect(planned.map((n) => n.type)).toEqual(['digest']);
  });

  test('two working days after the deadline when the policy says so', () => {
    const c = snapshot({ allocatedOn: '2026-12-22' });
    const twoDays = escalating('telephone-contact', 2);
    expect(sweep('2026-12-29T08:30:00Z', [c], { policy: twoDays }).filter((n) => n.type === 'escalation')).toEqual([]);
    expect(sweep('2026-12-30T08:30:00Z', [c], { policy: twoDays }).filter((n) => n.type === 'escalation')).toHaveLength(1);
  });
});

/** The default policy with one kind's escalation changed. */
function escalating(kind: ObligationKind, after: number | null) {
  return { ...policy, reminders: { ...policy.reminders, escalateAfter: { ...policy.reminders.escalateAfter, [kind]: after } } };
}
