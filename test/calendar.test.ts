import { createCalendar } from '../src/calendar';
import { addDays, dayOfWeek, LocalDate, parseLocalDate } from '../src/localDate';
import { readReference } from './helpers/shared';

const d = (s: string) => parseLocalDate(s);
const calendar = createCalendar();

interface GovUkEvent { title: string; date: string }
function govUkEnglandAndWales(): Map<number, Set<string>> {
  const data = JSON.parse(readReference('bank-holidays/gov-uk-bank-holidays.json'));
  const division = Object.entries(data.divisions).find(([name]) => name.includes('england-and-wales'));
  if (!division) throw new Error('no England and Wales division in the GOV.UK file');
  const byYear = new Map<number, Set<string>>();
  for (const [year, events] of Object.entries(division[1] as Record<string, GovUkEvent[] | string>)) {
    if (!/^\d{4}$/.test(year) || typeof events === 'string') continue; // 'slug', 'title'
    byYear.set(Number(year), new Set(events.map((e) => e.date.split('/').reverse().join('-'))));
  }
  return byYear;
}

describe('working days in England and Wales', () => {
  test('allocation day is day 0: "within 2 working days" of Thursday 24 December 2026 is Wednesday 30 December 2026', () => {
    expect(calendar.addWorkingDays(d('2026-12-24'), 2)).toBe('2026-12-30');
    expect(calendar.workingDaysBetween(d('2026-12-24'), d('2026-12-30'))).toBe(2);
  });

  test('Christmas Day and the Boxing Day substitute on Monday 28 December 2026 are not working days', () => {
    expect(calendar.isWorkingDay(d('2026-12-25'))).toBe(false);
    expect(calendar.isWorkingDay(d('2026-12-28'))).toBe(false);
    expect(calendar.nonWorkingReason(d('2026-12-28'))).toBe('Boxing Day (substitute day)');
    expect(calendar.isWorkingDay(d('2026-12-29'))).toBe(true);
  });

  test('weekends are not working days and say which day they are', () => {
    expect(calendar.isWorkingDay(d('2026-11-28'))).toBe(false);
    expect(calendar.nonWorkingReason(d('2026-11-29'))).toBe('Sunday');
    expect(calendar.nonWorkingReason(d('2026-11-30'))).toBeNull();
  });

  test('one-off holidays count: the Platinum Jubilee (3 June 2022) and the State Funeral (19 September 2022)', () => {
    expect(calendar.isWorkingDay(d('2022-06-03'))).toBe(false);
    expect(calendar.isWorkingDay(d('2022-09-19'))).toBe(false);
    expect(calendar.isWorkingDay(d('2023-05-08'))).toBe(false); // Coronation of King Charles III
  });

  test('the calendar agrees with GOV.UK on every day of every year in the reference file', () => {
    const govUk = govUkEnglandAndWales();
    expect(govUk.size).toBeGreaterThanOrEqual(10);
    for (const [year, holidays] of govUk) {
      const mismatches: string[] = [];
      for (let day = d(`${year}-01-01`); day <= `${year}-12-31`; day = addDays(day, 1)) {
        const weekend = dayOfWeek(day) === 0 || dayOfWeek(day) === 6;
        const expected = !weekend && !holidays.has(day);
        if (calendar.isWorkingDay(day) !== expected) mismatches.push(day);
      }
      for (const holiday of holidays) expect(dayOfWeek(holiday as LocalDate)).not.toBe(0);
      expect({ year, mismatches }).toEqual({ year, mismatches: [] });
    }
  });

  test('adding working days backwards undoes adding them forwards', () => {
    for (const start of ['2026-12-24', '2027-04-01', '2028-02-28', '2025-12-31']) {
      for (const n of [1, 2, 5, 15, 20, 25, 250]) {
        const later = calendar.addWorkingDays(d(start), n);
        expect(calendar.workingDaysBetween(d(start), later)).toBe(n);
        expect(calendar.workingDaysBetween(later, d(start))).toBe(-n);
        if (calendar.isWorkingDay(d(start))) expect(calendar.addWorkingDays(later, -n)).toBe(start);
      }
    }
  });

  test('an allocation on a Saturday counts its first working day from Monday', () => {
    expect(calendar.addWorkingDays(d('2026-11-28'), 1)).toBe('2026-11-30');
    expect(calendar.addWorkingDays(d('2026-11-28'), 0)).toBe('2026-11-28');
  });

  test('dates far from today work too, in either direction (the table grows as needed)', () => {
    expect(calendar.addWorkingDays(d('2040-01-02'), 1)).toBe('2040-01-03');
    expect(calendar.isWorkingDay(d('2001-12-25'))).toBe(false);
    expect(calendar.addWorkingDays(d('2026-01-02'), 2600)).toBe(calendar.addWorkingDays(calendar.addWorkingDays(d('2026-01-02'), 1300), 1300));
  });

  test('a deadline counted in calendar days that lands on a weekend or bank holiday is brought forward', () => {
    expect(calendar.workingDayOnOrBefore(d('2026-12-28'))).toBe('2026-12-24');
    expect(calendar.workingDayOnOrBefore(d('2026-12-24'))).toBe('2026-12-24');
  });

  test('closure days an authority adds are not working days: a Christmas closure moves the 2-day contact into January', () => {
    const closing = createCalendar({ closureDays: [{ date: '2026-12-29', name: 'Christmas closure' }, '2026-12-30', '2026-12-31'] });
    expect(closing.addWorkingDays(d('2026-12-24'), 2)).toBe('2027-01-05');
    expect(closing.nonWorkingReason(d('2026-12-29'))).toBe('Christmas closure');
    expect(closing.holidaysBetween(d('2026-12-24'), d('2027-01-04')).map((h) => h.date)).toEqual(['2026-12-25', '2026-12-28', '2026-12-29', '2026-12-30', '2026-12-31', '2027-01-01']);
  });

  test('a closure day that is not a real date is refused with the field named', () => {
    expect(() => createCalendar({ closureDays: ['2026-02-30'] })).toThrow(/closureDays: "2026-02-30" is not a real date/);
  });

  test('working days must be whole', () => {
    expect(() => calendar.addWorkingDays(d('2026-12-24'), 1.5)).toThrow(RangeError);
  });
});
