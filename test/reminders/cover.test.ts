import { dutyManager, lineOrDutyManager, recipientForWorkerItems } from '../../src/cover';
import { isAbsent, parseStaffCsv, StaffError, StaffMember } from '../../src/staff';
import { ALEX, d, DUTY, MORGAN, SAM, SOUTH, STAFF } from './fixtures';

const away = (m: StaffMember, from: string | undefined, until: string): StaffMember => ({ ...m, ...(from ? { absentFrom: from } : {}), absentUntil: until });
const north = (...changed: StaffMember[]) => STAFF.map((m) => changed.find((c) => c.id === m.id) ?? m);

describe('absence has a start as well as an end', () => {
  const sam = away(SAM, '2026-12-21', '2027-01-04');

  test('a worker away from 21 December until 4 January is away on both days and between, and not either side', () => {
    expect(['2026-12-18', '2026-12-21', '2026-12-29', '2027-01-04', '2027-01-05'].map((day) => isAbsent(sam, day))).toEqual([false, true, true, true, false]);
  });

  test('leave with no start runs from any earlier day, as before', () => {
    expect(isAbsent({ absentUntil: '2026-12-04' }, '2020-01-01')).toBe(true);
    expect(isAbsent({}, '2026-12-04')).toBe(false);
  });

  const HEADER = 'id,name,email,role,team,lineManager,capacityPoints,absentFrom,absentUntil';
  const row = (from: string, until: string) => `${MORGAN.id},Morgan Reid,morgan.reid@council.example,manager,North,,0,${from},${until}`;

  test('the staff file takes an absentFrom column', () => {
    const [m] = parseStaffCsv([HEADER, row('2026-12-21', '2027-01-04')].join('\n'), 'staff.csv');
    expect(m).toMatchObject({ absentFrom: '2026-12-21', absentUntil: '2027-01-04' });
    const [none] = parseStaffCsv([HEADER, row('', '')].join('\n'), 'staff.csv');
    expect(none.absentFrom).toBeUndefined();
  });

  test('an absence that starts after it ends, or on no real date, is refused', () => {
    const refused = (csv: string) => {
      try {
        parseStaffCsv(csv, 'staff.csv');
      } catch (e) {
        expect(e).toBeInstanceOf(StaffError);
        return (e as StaffError).message;
      }
      throw new Error('accepted');
    };
    expect(refused([HEADER, row('2027-01-05', '2027-01-04')].join('\n'))).toBe('staff.csv row 2: absentFrom: must not be later than absentUntil');
    expect(refused([HEADER, row('2026-02-30', '2027-01-04')].join('\n'))).toMatch(/row 2: absentFrom: must be a real date/);
  });
});

describe('who acts for whom', () => {
  test('the line manager acts for a worker while at work', () => {
    expect(lineOrDutyManager(SAM, STAFF, d('2026-12-21'))?.id).toBe(MORGAN.id);
  });

  test('while the line manager is away, or has left, the team\u2019s duty manager acts; never a manager of another team', () => {
    expect(lineOrDutyManager(SAM, north(away(MORGAN, '2026-12-21', '2026-12-31')), d('2026-12-21'))?.id).toBe(DUTY.id);
    expect(lineOrDutyManager(SAM, north(away(MORGAN, '2026-12-21', '2026-12-31')), d('2026-12-18'))?.id).toBe(MORGAN.id);
    expect(lineOrDutyManager(SAM, north({ ...MORGAN, active: false }), d('2026-12-21'))?.id).toBe(DUTY.id);
    expect(lineOrDutyManager(SAM, north(away(MORGAN, undefined, '2026-12-31'), away(DUTY, undefined, '2026-12-31')), d('2026-12-21'))).toBeNull();
    expect(SOUTH.team).not.toBe(SAM.team);
  });

  test('the duty manager is chosen the same way every time: the first by name', () => {
    const casey: StaffMember = { ...DUTY, id: '77777777-7777-4777-8777-777777777777', name: 'Casey Ng' };
    const team = [MORGAN, DUTY, casey, SAM];
    expect(dutyManager(SAM, team, d('2026-12-21'))?.name).toBe('Casey Ng');
    expect(dutyManager(SAM, [...team].reverse(), d('2026-12-21'))?.name).toBe('Casey Ng');
  });

  test('a manager never covers for themself', () => {
    const team = [MORGAN, DUTY, SAM];
    expect(lineOrDutyManager({ ...MORGAN, lineManager: MORGAN.id }, team, d('2026-12-21'))?.id).toBe(DUTY.id);
    expect(dutyManager(DUTY, [DUTY], d('2026-12-21'))).toBeNull();
  });

  test('a worker\u2019s items go to the worker, or while they are away to their line-or-duty manager', () => {
    const sam = away(SAM, '2026-12-21', '2027-01-04');
    expect(recipientForWorkerItems(sam, STAFF, d('2026-12-18')).id).toBe(SAM.id);
    expect(recipientForWorkerItems(sam, STAFF, d('2026-12-21')).id).toBe(MORGAN.id);
    expect(recipientForWorkerItems(sam, north(away(MORGAN, undefined, '2026-12-31')), d('2026-12-21')).id).toBe(DUTY.id);
    expect(recipientForWorkerItems(ALEX, STAFF, d('2026-12-21')).id).toBe(ALEX.id);
  });

  test('with nobody to cover, a worker\u2019s items wait for them', () => {
    const sam = away(SAM, undefined, '2027-01-04');
    expect(recipientForWorkerItems(sam, [sam], d('2026-12-21')).id).toBe(SAM.id);
  });
});
