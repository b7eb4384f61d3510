import fs from 'node:fs';
import { DEFAULT_POLICY_FILE, validatePolicy } from '../../src/policy';
import { isOpen, statusOn } from '../../src/reminders/digest';
import { caseloadsOf } from '../../src/reminders/teamDigest';
import { ALEX, d, DUTY, instants, lines, MORGAN, ofType, SAM, snapshot, SOUTH, STAFF, sweep, to } from './fixtures';

// Allocated Tuesday 22 December 2026: telephone contact due Thursday 24th, personal contact Thursday 31st.
const christmas = () => snapshot({ allocatedOn: '2026-12-22' });
const samAway = STAFF.map((m) => (m.id === SAM.id ? { ...m, absentFrom: '2026-12-24', absentUntil: '2027-01-04' } : m));
const morganAway = STAFF.map((m) => (m.id === MORGAN.id ? { ...m, absentFrom: '2026-12-24', absentUntil: '2027-01-08' } : m));

describe('the worker\u2019s daily digest', () => {
  test('at 08:30 on each working day: overdue, due today and due by the end of the next working day', () => {
    const c = christmas();
    expect(lines(to(sweep('2026-12-23T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:upcoming']);
    expect(lines(to(sweep('2026-12-24T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:due-today']);
    expect(lines(to(sweep('2026-12-29T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:overdue']);
    expect(lines(to(sweep('2026-12-30T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:overdue', 'personal-contact@2026-12-31:upcoming']);
  });

  test('one a recipient a day, keyed by recipient and day', () => {
    const planned = sweep('2026-12-23T08:30:00Z', [christmas()]);
    expect(planned).toEqual([{ recipient: SAM.id, type: 'digest', day: '2026-12-23', dedupeKey: `digest:${SAM.id}:2026-12-23`, items: [expect.objectContaining({ caseId: 'case-1', case: 'EH-case-1', obligationId: 'telephone-contact:2026-12-22', worker: SAM.id })] }]);
  });

  test('none when there is nothing to list', () => {
    expect(sweep('2026-12-22T09:00:00Z', [christmas()])).toEqual([]);
  });

  test('nothing before 08:30, from 17:30, at a weekend or on a bank holiday', () => {
    const c = christmas();
    expect(sweep('2026-12-23T08:29:00Z', [c])).toEqual([]);
    expect(sweep('2026-12-23T17:30:00Z', [c])).toEqual([]);
    for (const t of instants('2026-12-24T17:30:00Z', '2026-12-29T08:30:00Z', 15)) expect({ t, planned: sweep(t, [c]) }).toEqual({ t, planned: [] });
    for (const t of instants('2027-03-25T17:30:00Z', '2027-03-30T07:30:00Z', 15)) expect({ t, planned: sweep(t, [snapshot({ allocatedOn: '2027-03-01' })]) }).toEqual({ t, planned: [] });
  });

  test('in summer time the digest goes at 07:30Z, which is 08:30 in London', () => {
    const c = snapshot({ allocatedOn: '2027-03-23' });
    expect(sweep('2027-03-30T07:29:00Z', [c])).toEqual([]);
    expect(lines(to(sweep('2027-03-30T07:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2027-03-25:overdue']);
  });

  test('a sweep later the same working day (the server was down at 08:30) plans the same digest, under the same key', () => {
    const c = christmas();
    const morning = sweep('2026-12-23T08:30:00Z', [c]);
    expect(sweep('2026-12-23T14:00:00Z', [c])).toEqual(morning);
    expect(sweep('2026-12-23T17:29:00Z', [c]).map((n) => n.dedupeKey)).toEqual([`digest:${SAM.id}:2026-12-23`]);
  });

  test('items of all the worker\u2019s cases in one digest, soonest first', () => {
    const a = snapshot({ caseId: 'a', reference: 'EH-2041', allocatedOn: '2026-12-22' });
    const b = snapshot({ caseId: 'b', reference: 'EH-2042', allocatedOn: '2026-12-21' });
    const digest = to(sweep('2026-12-23T08:30:00Z', [a, b]), SAM);
    expect(digest?.items.map((i) => `${i.case} ${i.obligation}@${i.due}:${i.status}`)).toEqual(['EH-2042 telephone-contact@2026-12-23:due-today', 'EH-2041 telephone-contact@2026-12-24:upcoming']);
  });

  test('a snoozed item waits for its snooze day', () => {
    const c = snapshot({ allocatedOn: '2026-12-22', snoozed: { 'personal-contact:2026-12-22': '2026-12-31' } });
    expect(lines(to(sweep('2026-12-30T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:overdue']);
    expect(lines(to(sweep('2026-12-31T08:30:00Z', [c]), SAM))).toEqual(['telephone-contact@2026-12-24:overdue', 'personal-contact@2026-12-31:due-today']);
  });

  test('a closed case gets nothing', () => {
    const c = snapshot({ allocatedOn: '2026-12-22', steps: [['closure-approved', '2026-12-23']] });
    expect(sweep('2026-12-29T08:30:00Z', [c], { includeTeamDigests: true })).toEqual(ofType(sweep('2026-12-29T08:30:00Z', [], { includeTeamDigests: true }), 'team-digest'));
  });

  test('a worker who cannot be reached in Teams still has their digest planned (it waits), and their manager is told', () => {
    const planned = sweep('2026-12-23T08:30:00Z', [christmas()], { reachable: new Set([MORGAN.id]) });
    expect(lines(to(planned, SAM))).toEqual(['telephone-contact@2026-12-24:upcoming']);
    expect(to(planned, MORGAN)).toMatchObject({ items: [], unreachable: [SAM.id], dedupeKey: `digest:${MORGAN.id}:2026-12-23` });
  });
});

describe('absence', () => {
  test('while a worker is away their items go to their line manager\u2019s digest, on their behalf', () => {
    const c = christmas();
    const before = sweep('2026-12-23T08:30:00Z', [c], { staff: samAway });
    expect(before.map((n) => n.recipient)).toEqual([SAM.id]);
    const during = sweep('2026-12-29T08:30:00Z', [c], { staff: samAway });
    expect(to(during, SAM)).toBeUndefined();
    expect(to(during, MORGAN)).toMatchObject({ onBehalfOf: [SAM.id] });
    // Escalated to her in the same sweep: listed once, as an escalation still open.
    expect(lines(to(during, MORGAN))).toEqual(['telephone-contact@2026-12-24:overdue:open-escalation']);
    expect(to(during, MORGAN, 'escalation')?.items.map((i) => i.obligation)).toEqual(['telephone-contact']);
    expect(lines(to(sweep('2026-12-30T08:30:00Z', [c], { staff: samAway }), MORGAN))).toEqual(['telephone-contact@2026-12-24:overdue:open-escalation', 'personal-contact@2026-12-31:upcoming']);
  });

  test('while the line manager is away too, the duty manager has the worker\u2019s items', () => {
    const staff = STAFF.map((m) => samAway.find((s) => s.id === m.id && m.id === SAM.id) ?? morganAway.find((s) => s.id === m.id && m.id === MORGAN.id) ?? m);
    const planned = sweep('2026-12-29T08:30:00Z', [christmas()], { staff });
    expect(planned.map((n) => `${n.type}:${n.recipient}`)).toEqual([`escalation:${DUTY.id}`, `digest:${DUTY.id}`]);
    expect(to(planned, DUTY)?.onBehalfOf).toEqual([SAM.id]);
  });
});

describe('the manager\u2019s digest', () => {
  // Sam's case: contact made, CAF submitted and awaiting authorisation; the personal contact escalated and still unmet.
  const samCase = () =>
    snapshot({
      caseId: 'sam-case',
      reference: 'EH-3001',
      allocatedOn: '2026-12-01',
      steps: [['telephone-contact-made', '2026-12-02'], ['caf-submitted', '2026-12-22']],
      escalated: ['personal-contact:2026-12-01'],
    });
  // Morgan leads a case of her own.
  const morganCase = () => snapshot({ caseId: 'morgan-case', reference: 'EH-3002', allocatedOn: '2026-12-22', worker: MORGAN.id, manager: MORGAN.id });

  test('leads with CAFs awaiting her authorisation and escalations still open, then her own items', () => {
    const digest = to(sweep('2026-12-23T08:30:00Z', [samCase(), morganCase()]), MORGAN);
    expect(digest?.items.map((i) => `${i.case} ${i.kind} ${i.obligation}`)).toEqual(['EH-3001 caf-awaiting caf-assessment', 'EH-3001 open-escalation personal-contact', 'EH-3002 item telephone-contact']);
    expect(digest?.items[0]).toMatchObject({ obligationId: 'sam-case#3', due: '2026-12-22', worker: SAM.id });
  });

  test('an escalation already sent is not sent again; it stays in the digest while unmet', () => {
    const planned = sweep('2026-12-23T08:30:00Z', [samCase()]);
    expect(ofType(planned, 'escalation').map((n) => n.items[0].obligation)).not.toContain('personal-contact');
  });

  test('while she is away the duty manager has the CAF awaiting and the open escalations', () => {
    const planned = sweep('2026-12-29T08:30:00Z', [samCase()], { staff: morganAway });
    expect(lines(to(planned, DUTY)).slice(0, 2)).toEqual(['caf-assessment@2026-12-22:due-today:caf-awaiting', 'personal-contact@2026-12-08:overdue:open-escalation']);
    expect(to(planned, MORGAN)).toBeUndefined();
  });

  test('an obligation escalated to the manager who covers for the absent worker appears once, as the open escalation', () => {
    const planned = sweep('2026-12-29T08:30:00Z', [samCase()], { staff: samAway });
    expect(lines(to(planned, MORGAN)).filter((l) => l.startsWith('personal-contact'))).toEqual(['personal-contact@2026-12-08:overdue:open-escalation']);
  });
});

describe('supervision is reminded to both the worker and the supervising manager', () => {
  /** The supervision items of a digest, whether plain or escalations still open (the cases' other timescales aside). */
  const itemsOf = (n: ReturnType<typeof to>) => lines(n).filter((l) => l.startsWith('supervision')).map((l) => l.replace(':open-escalation', ''));
  // Allocated 24 November 2026: the first monthly supervision is due 24 December.
  const c = (manager = MORGAN.id) => snapshot({ allocatedOn: '2026-11-24', manager, steps: [['visit', '2026-11-25', { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true }], ['case-recorded', '2026-11-25']] });

  test('the worker and the case\u2019s manager both have it; the manager none of the worker\u2019s other items', () => {
    const planned = sweep('2026-12-23T08:30:00Z', [c()]);
    expect(lines(to(planned, SAM))).toContain('supervision@2026-12-24:upcoming');
    expect(to(planned, MORGAN)?.items.filter((i) => i.kind === 'item').map((i) => i.obligation)).toEqual(['supervision']);
  });

  test('the case\u2019s manager when another than the line manager; the line-or-duty manager while the case\u2019s manager is away', () => {
    expect(itemsOf(to(sweep('2026-12-23T08:30:00Z', [c(DUTY.id)]), DUTY))).toEqual(['supervision@2026-12-24:upcoming']);
    const dutyAway = STAFF.map((m) => (m.id === DUTY.id ? { ...m, absentUntil: '2026-12-31' } : m));
    const planned = sweep('2026-12-23T08:30:00Z', [c(DUTY.id)], { staff: dutyAway });
    expect(to(planned, DUTY)).toBeUndefined();
    expect(itemsOf(to(planned, MORGAN))).toEqual(['supervision@2026-12-24:upcoming']);
  });

  test('the record returned in 10 working days and authorised in 20 are reminded to both', () => {
    const held = snapshot({ allocatedOn: '2026-11-02', steps: [['telephone-contact-made', '2026-11-03'], ['supervision-held', '2026-12-10']] });
    // 10 working days from 10 December: 24 December; 20: 12 January 2027 (Christmas, Boxing Day and New Year's Day skipped).
    // The next monthly supervision: 10 January, a Sunday, brought forward to Friday 8 January.
    expect(itemsOf(to(sweep('2026-12-23T08:30:00Z', [held]), MORGAN))).toEqual(['supervision-record@2026-12-24:upcoming']);
    expect(itemsOf(to(sweep('2027-01-08T08:30:00Z', [held]), MORGAN))).toEqual(['supervision-record@2026-12-24:overdue', 'supervision@2027-01-08:due-today']);
    const monday = sweep('2027-01-11T08:30:00Z', [held]);
    expect(itemsOf(to(monday, MORGAN))).toEqual(['supervision-record@2026-12-24:overdue', 'supervision@2027-01-08:overdue', 'supervision-authorised@2027-01-12:upcoming']);
    expect(lines(to(monday, SAM))).toEqual(expect.arrayContaining(itemsOf(to(monday, MORGAN))));
  });
});

describe('the weekly team digest', () => {
  const document = () => JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
  // Seed 003: a case open more than a year.
  const policyWithMaximum = validatePolicy({ ...document(), timescales: { ...document().timescales, caseDuration: { maximum: { years: 1 } } } });
  const cases = () => [
    snapshot({ caseId: 'a', reference: 'EH-1', allocatedOn: '2026-12-22', caseloadPoints: 3 }),
    snapshot({ caseId: 'b', reference: 'EH-2', allocatedOn: '2025-12-01', caseloadPoints: 5, steps: [['telephone-contact-made', '2025-12-02']] }, policyWithMaximum),
    snapshot({ caseId: 'c', reference: 'EH-3', allocatedOn: '2026-12-22', caseloadPoints: 2, worker: ALEX.id, steps: [['telephone-contact-made', '2026-12-23']] }),
  ];

  test('goes to each manager at work on the first working day of the week: Tuesday 29 December, after the Boxing Day substitute', () => {
    const planned = ofType(sweep('2026-12-29T08:30:00Z', cases(), { includeTeamDigests: true, policy: policyWithMaximum }), 'team-digest');
    expect(planned.map((n) => [n.recipient, n.dedupeKey])).toEqual([
      [MORGAN.id, `team-digest:${MORGAN.id}:2026-12-29`],
      [DUTY.id, `team-digest:${DUTY.id}:2026-12-29`],
    ].sort((a, b) => (a[0] < b[0] ? -1 : 1)));
    expect(planned.map((n) => n.recipient)).not.toContain(SOUTH.id);
  });

  test('overdue items by worker, caseload points against capacity, and cases open longer than the maximum', () => {
    const digest = to(sweep('2026-12-29T08:30:00Z', cases(), { includeTeamDigests: true, policy: policyWithMaximum }), MORGAN, 'team-digest');
    const summary = digest?.teamSummary;
    expect(summary?.team).toBe('North');
    expect(summary?.workers.map((w) => [w.worker, w.openCases, w.caseloadPoints, w.capacityPoints, w.overdue])).toEqual([
      [ALEX.id, 1, 2, 20, 0],
      [SAM.id, 2, 8, 20, summary?.workers[1].items.length],
    ]);
    const sam = summary!.workers[1];
    expect(sam.items.every((i) => i.status === 'overdue' && i.worker === SAM.id)).toBe(true);
    expect(sam.items.map((i) => `${i.case} ${i.obligation}`)).toContain('EH-1 telephone-contact');
    expect(sam.items.map((i) => `${i.case} ${i.obligation}`)).toContain('EH-2 case-duration');
    expect(summary?.longOpenCases).toEqual([{ caseId: 'b', case: 'EH-2', worker: SAM.id, allocatedOn: '2025-12-01', maximumReachedOn: '2026-12-01' }]);
    expect(digest?.items).toHaveLength(sam.items.length);
  });

  test('the same from the cases with something overdue and every open case\'s caseload counted apart, as a sweep plans it', () => {
    const all = [...cases(), snapshot({ caseId: 'd', reference: 'EH-4', allocatedOn: '2026-12-24', caseloadPoints: 4, worker: ALEX.id })];
    const overdue = all.filter((c) => c.obligations.some((o) => isOpen(o) && statusOn(o, d('2026-12-29')) === 'overdue'));
    expect(overdue.map((c) => c.reference)).not.toContain('EH-4');
    const apart = ofType(sweep('2026-12-29T08:30:00Z', overdue, { includeTeamDigests: true, policy: policyWithMaximum, caseloads: caseloadsOf(all) }), 'team-digest');
    expect(apart).toEqual(ofType(sweep('2026-12-29T08:30:00Z', all, { includeTeamDigests: true, policy: policyWithMaximum }), 'team-digest'));
    expect(to(apart, MORGAN, 'team-digest')?.teamSummary?.workers.find((w) => w.worker === ALEX.id)).toMatchObject({ openCases: 2, caseloadPoints: 6 });
  });

  test('not on other days, nor when the sweep does not ask for it, nor when the policy turns it off', () => {
    expect(ofType(sweep('2026-12-30T08:30:00Z', cases(), { includeTeamDigests: true }), 'team-digest')).toEqual([]);
    expect(ofType(sweep('2026-12-29T08:30:00Z', cases()), 'team-digest')).toEqual([]);
    const off = validatePolicy({ ...document(), reminders: { teamDigest: { enabled: false } } });
    expect(ofType(sweep('2026-12-29T08:30:00Z', cases(), { includeTeamDigests: true, policy: off }), 'team-digest')).toEqual([]);
  });

  test('after Easter Monday it goes on Tuesday 30 March 2027, at 08:30 BST', () => {
    const easter = [snapshot({ allocatedOn: '2027-03-23' })];
    expect(ofType(sweep('2027-03-30T07:29:00Z', easter, { includeTeamDigests: true }), 'team-digest')).toEqual([]);
    expect(ofType(sweep('2027-03-30T07:30:00Z', easter, { includeTeamDigests: true }), 'team-digest').map((n) => n.day)).toEqual(['2027-03-30', '2027-03-30']);
  });

  test('not to a manager who is away', () => {
    expect(ofType(sweep('2026-12-29T08:30:00Z', cases(), { includeTeamDigests: true, staff: morganAway }), 'team-digest').map((n) => n.recipient)).toEqual([DUTY.id]);
  });
});
