import { permits } from '../src/access';
import { StaffMember } from '../src/staff';

const member = (id: string, role: StaffMember['role'], team = 'north', extra: Partial<StaffMember> = {}): StaffMember => ({
  id,
  name: id,
  email: `${id}@council.example`,
  role,
  team,
  capacityPoints: 20,
  active: true,
  ...extra,
});
const northCase = { leadProfessional: 'sam', manager: 'morgan', team: 'north' };

describe('access follows the case and the role', () => {
  test('a worker reads and records work on their own cases only', () => {
    expect(permits(member('sam', 'worker'), 'read', northCase)).toBe(true);
    expect(permits(member('sam', 'worker'), 'log-work', northCase)).toBe(true);
    expect(permits(member('alex', 'worker'), 'read', northCase)).toBe(false);
  });

  test('a worker cannot authorise a CAF, not even their own', () => {
    expect(permits(member('sam', 'worker'), 'decide-caf', northCase)).toBe(false);
  });

  test("a manager acts on their team's cases, and a duty manager of the same team may authorise", () => {
    expect(permits(member('morgan', 'manager'), 'decide-caf', northCase)).toBe(true);
    expect(permits(member('duty', 'manager'), 'decide-caf', northCase)).toBe(true);
    expect(permits(member('other', 'manager', 'south'), 'read', northCase)).toBe(false);
  });

  test('a manager holding a case as lead professional cannot authorise its CAF', () => {
    const own = { ...northCase, leadProfessional: 'morgan' };
    expect(permits(member('morgan', 'manager'), 'log-work', own)).toBe(true);
    expect(permits(member('morgan', 'manager'), 'decide-caf', own)).toBe(false);
  });

  test("Business Support reads the team's cases and decides nothing", () => {
    expect(permits(member('jo', 'business-support'), 'read', northCase)).toBe(true);
    expect(permits(member('jo', 'business-support'), 'log-work', northCase)).toBe(false);
    expect(permits(member('jo', 'business-support'), 'decide-caf', northCase)).toBe(false);
  });

  test('an administrator manages the directory and sees no case', () => {
    expect(permits(member('ada', 'administrator'), 'read', northCase)).toBe(false);
  });

  test('someone who has left sees nothing', () => {
    expect(permits(member('sam', 'worker', 'north', { active: false }), 'read', northCase)).toBe(false);
  });
});
