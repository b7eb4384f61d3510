import { NewCaseEvent } from '../src/caseEvents';
import { caseState, CaseNotAllocatedError } from '../src/caseState';
import { hypotheticalCase } from '../src/hypotheticalCase';
import { parseLocalDate } from '../src/localDate';

const d = parseLocalDate;
const allocated: NewCaseEvent = {
  type: 'allocated',
  by: 'morgan',
  effectiveOn: d('2026-11-23'),
  data: { leadProfessional: 'sam', manager: 'morgan', caseloadPoints: 5, initialActions: 'Visit', cafRequired: true, source: 'referral', family: { name: 'Family A', children: [{ name: 'Child A' }] } },
};
const ev = (type: NewCaseEvent['type'], by: string, on: string, data: Record<string, unknown> = {}) => ({ type, by, effectiveOn: d(on), data }) as NewCaseEvent;

describe('where a case stands', () => {
  test('a new case is open, held by its lead professional, with nothing awaiting authorisation', () => {
    const s = caseState(hypotheticalCase([allocated]));
    expect(s).toMatchObject({ status: 'open', leadProfessional: 'sam', manager: 'morgan', caseloadPoints: 5, allocatedOn: '2026-11-23' });
    expect(s.cafAwaitingDecision).toBeUndefined();
  });

  test('a submitted CAF awaits a decision until a manager decides, and the decision says who and which submission', () => {
    const events = hypotheticalCase([allocated, ev('caf-submitted', 'sam', '2026-12-10'), ev('caf-returned', 'morgan', '2026-12-11', { comments: 'Voice of the child' })]);
    const s = caseState(events);
    expect(s.cafAwaitingDecision).toBeUndefined();
    expect(s.lastCafDecision).toMatchObject({ type: 'caf-returned', by: 'morgan', submissionId: events[1].id });
    const resubmitted = caseState(hypotheticalCase([allocated, ev('caf-submitted', 'sam', '2026-12-10'), ev('caf-returned', 'morgan', '2026-12-11', { comments: 'x' }), ev('caf-submitted', 'sam', '2026-12-14')]));
    expect(resubmitted.cafAwaitingDecision?.effectiveOn).toBe('2026-12-14');
  });

  test('reallocation changes the lead professional; closure requested then approved closes the case', () => {
    const s = caseState(
      hypotheticalCase([
        allocated,
        ev('reallocated', 'morgan', '2026-12-01', { leadProfessional: 'alex' }),
        ev('closure-requested', 'alex', '2027-03-01', { reason: 'plan-achieved', summary: 'Needs met' }),
        ev('closure-approved', 'morgan', '2027-03-02'),
      ]),
    );
    expect(s).toMatchObject({ leadProfessional: 'alex', manager: 'morgan', status: 'closed', closedOn: '2027-03-02' });
  });

  test('a log with no allocation is refused', () => {
    expect(() => caseState([])).toThrow(CaseNotAllocatedError);
  });
});
