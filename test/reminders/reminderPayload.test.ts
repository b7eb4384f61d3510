import fs from 'node:fs';
import { DEFAULT_POLICY_FILE, validatePolicy } from '../../src/policy';
import { plannedFromPayload, reminderPayload } from '../../src/reminders/reminderPayload';
import { ALEX, JO, MORGAN, SAM, snapshot, STAFF, sweep } from './fixtures';

/** What a reminder carries in the outbox: the plan, compactly, and the plan again when read. */

const document = () => JSON.parse(fs.readFileSync(DEFAULT_POLICY_FILE, 'utf8'));
const policyWithMaximum = validatePolicy({ ...document(), timescales: { ...document().timescales, caseDuration: { maximum: { years: 1 } } } });
const samAway = STAFF.map((m) => (m.id === SAM.id ? { ...m, absentFrom: '2026-12-28', absentUntil: '2027-01-04' } : m));

/** A morning with every kind of notification and item: digests (one on behalf of an absent worker, one naming who cannot be reached), escalations, a team digest with a case open past the maximum, CAFs awaiting, open escalations, TAF reviews with a latest date. */
function morning() {
  const cases = [
    snapshot({ caseId: 'a', reference: 'EH-1', allocatedOn: '2026-12-17', caseloadPoints: 3 }),
    snapshot({ caseId: 'b', reference: 'EH-2', allocatedOn: '2025-12-01', caseloadPoints: 5, steps: [['telephone-contact-made', '2025-12-02']] }, policyWithMaximum),
    snapshot({ caseId: 'c', reference: 'EH-3', allocatedOn: '2026-11-02', worker: ALEX.id, steps: [['telephone-contact-made', '2026-11-03'], ['caf-submitted', '2026-12-21']], escalated: ['personal-contact:2026-11-02'] }),
    snapshot({ caseId: 'd', reference: 'EH-4', allocatedOn: '2026-09-01', worker: JO.id, steps: [['telephone-contact-made', '2026-09-02'], ['taf-held', '2026-10-27']], asOf: '2026-12-29' }),
  ];
  return sweep('2026-12-29T08:30:00Z', cases, { includeTeamDigests: true, policy: policyWithMaximum, staff: samAway, reachable: new Set([MORGAN.id, ALEX.id]) });
}

describe('a reminder as the outbox keeps it', () => {
  const planned = morning();

  test('the morning has every kind of notification and item, so that each is read back', () => {
    expect(new Set(planned.map((n) => n.type))).toEqual(new Set(['digest', 'escalation', 'team-digest']));
    const items = planned.flatMap((n) => n.items);
    expect(new Set(items.map((i) => i.kind))).toEqual(new Set(['item', 'caf-awaiting', 'open-escalation']));
    expect(items.some((i) => i.latest !== undefined)).toBe(true);
    expect(planned.some((n) => n.onBehalfOf?.length)).toBe(true);
    expect(planned.some((n) => n.unreachable?.length)).toBe(true);
    expect(planned.some((n) => n.teamSummary?.longOpenCases.length && n.teamSummary.workers.some((w) => w.items.length))).toBe(true);
  });

  test('is read back as the plan it was, field for field, through JSON as the database keeps it', () => {
    for (const n of planned) expect(plannedFromPayload(JSON.parse(JSON.stringify(reminderPayload(n))))).toEqual(n);
  });

  test('is smaller than the plan written out: each staff id once, no field names, a team digest\'s items once', () => {
    const size = (x: unknown) => JSON.stringify(x).length;
    const team = planned.find((n) => n.type === 'team-digest')!;
    expect(size(reminderPayload(team))).toBeLessThan(size(team) / 2);
    const all = planned.reduce((sum, n) => sum + size(reminderPayload(n)), 0);
    expect(all).toBeLessThan(planned.reduce((sum, n) => sum + size(n), 0) * 0.7);
  });

  test('carries case references and ids, never a family\'s name', () => {
    for (const n of planned) expect(JSON.stringify(reminderPayload(n))).not.toMatch(/family|child/i);
  });

  test('a reminder queued before this form (the plan as it was) is read as it stands', () => {
    for (const n of planned) expect(plannedFromPayload(JSON.parse(JSON.stringify(n)))).toEqual(n);
  });
});
