import { addDays, addMonths, dayOfWeek, fromDayNumber, londonDateOf, parseLocalDate, toDayNumber } from '../src/localDate';

describe('local dates', () => {
  test('impossible dates are refused, naming the field', () => {
    for (const bad of ['2026-02-30', '2026-13-01', '2026-00-10', '26-01-01', '2026-1-1', '', 'today', '2027-02-29']) {
      expect(() => parseLocalDate(bad, 'allocated')).toThrow(/allocated:/);
    }
    expect(parseLocalDate('2028-02-29')).toBe('2028-02-29');
  });

  test('day numbers round-trip across centuries and leap years', () => {
    for (const s of ['1970-01-01', '2000-02-29', '2026-12-24', '2100-03-01', '1899-12-31']) {
      expect(fromDayNumber(toDayNumber(parseLocalDate(s)))).toBe(s);
    }
    expect(toDayNumber(parseLocalDate('1970-01-02'))).toBe(1);
  });

  test('24 December 2026 is a Thursday', () => {
    expect(dayOfWeek(parseLocalDate('2026-12-24'))).toBe(4);
  });

  test('months clamp to the end of a shorter month, as date-fns addMonths does', () => {
    expect(addMonths(parseLocalDate('2026-08-31'), 6)).toBe('2027-02-28');
    expect(addMonths(parseLocalDate('2027-11-30'), 3)).toBe('2028-02-29');
    expect(addDays(parseLocalDate('2026-12-31'), 1)).toBe('2027-01-01');
  });

  test("today in London is a day ahead of UTC after 23:00 UTC in summer, and the same in winter", () => {
    expect(londonDateOf(new Date('2026-07-01T23:30:00Z'))).toBe('2026-07-02');
    expect(londonDateOf(new Date('2026-12-01T23:30:00Z'))).toBe('2026-12-01');
  });
});
