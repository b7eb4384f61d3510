import { isAbsent, parseStaffCsv, StaffError } from '../src/staff';

const HEADER = 'id,name,email,role,team,lineManager,capacityPoints';
const MANAGER = '11111111-1111-4111-8111-111111111111,Morgan Reid,morgan.reid@council.example,manager,North,,0';
const WORKER = '22222222-2222-4222-8222-222222222222,Sam Patel,Sam.Patel@council.example,worker,North,morgan.reid@council.example,20';

function refusal(csv: string): StaffError {
  try {
    parseStaffCsv(csv, 'staff.csv');
  } catch (e) {
    expect(e).toBeInstanceOf(StaffError);
    return e as StaffError;
  }
  throw new Error('accepted');
}

describe('staff CSV import', () => {
  test('reads members, lower-cases e-mails and resolves a line manager given by e-mail', () => {
    const [manager, worker] = parseStaffCsv([HEADER, MANAGER, WORKER].join('\n'), 'staff.csv');
    expect(manager).toMatchObject({ role: 'manager', capacityPoints: 0, active: true });
    expect(worker).toMatchObject({ email: 'sam.patel@council.example', lineManager: manager.id, capacityPoints: 20 });
  });

  test('a bad row is named by its line and column, and nothing is imported', () => {
    expect(refusal([HEADER, MANAGER, WORKER.replace(',worker,', ',social worker,')].join('\n')).message).toMatch(/^staff\.csv row 3: role: must be one of worker, manager, business-support, administrator/);
    expect(refusal([HEADER, MANAGER.replace('11111111-1111-4111-8111-111111111111', 'morgan')].join('\n')).message).toMatch(/row 2: id: must be an Entra ID object id/);
    expect(refusal([HEADER, MANAGER, WORKER.replace(',20', ',lots')].join('\n')).field).toBe('capacityPoints');
  });

  test('an optional absentUntil column marks leave, and must be a real date', () => {
    const [manager] = parseStaffCsv([`${HEADER},absentUntil`, `${MANAGER},2026-12-04`].join('\n'), 'staff.csv');
    expect(manager.absentUntil).toBe('2026-12-04');
    expect(isAbsent(manager, '2026-12-04')).toBe(true);
    expect(isAbsent(manager, '2026-12-05')).toBe(false);
    expect(refusal([`${HEADER},absentUntil`, `${MANAGER},next week`].join('\n')).message).toMatch(/row 2: absentUntil: must be a real date/);
  });

  test('an unknown line manager, a duplicate and an unknown column are refused', () => {
    expect(refusal([HEADER, WORKER].join('\n')).message).toMatch(/lineManager: morgan\.reid@council\.example is not in the directory or the file/);
    expect(refusal([HEADER, MANAGER, MANAGER].join('\n')).message).toMatch(/row 3: id: .* appears twice/);
    expect(refusal(`${HEADER},favouriteColour\n${MANAGER},blue`).message).toMatch(/header: unknown column "favouriteColour"/);
  });
});
