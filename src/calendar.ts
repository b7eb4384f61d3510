import Holidays from 'date-holidays';
import { civilOf, dayNumberOf, dayOfWeek, fromDayNumber, LocalDate, parseLocalDate, toDayNumber } from './localDate';

/**
 * The working-day calendar of England and Wales: Monday to Friday, less the bank holidays
 * (substitute days and one-off holidays included, from `date-holidays`), less the closure days
 * an authority adds (e.g. the Christmas closure). "WD" in DOMAIN.md means exactly this.
 *
 * Counting convention (DOMAIN.md, issue 2): the day of the event is day 0, so "within 2 working
 * days" of a Thursday 24 December 2026 allocation is Wednesday 30 December 2026.
 */
export interface WorkingDayCalendar {
  /** @example isWorkingDay('2026-12-28') // false: Boxing Day (substitute day) */
  isWorkingDay(date: LocalDate): boolean;
  /**
   * The date `n` working days after `date` (before it when `n` is negative); `date` itself is day 0.
   * @example addWorkingDays('2026-12-24', 2) // '2026-12-30'
   */
  addWorkingDays(date: LocalDate, n: number): LocalDate;
  /**
   * Working days after `from` up to and including `to` (negative when `to` is earlier), so that
   * `workingDaysBetween(d, addWorkingDays(d, n)) === n` for every working-day count `n`.
   * @example workingDaysBetween('2026-12-24', '2026-12-30') // 2
   */
  workingDaysBetween(from: LocalDate, to: LocalDate): number;
  /** The working day on or before `date`: where a deadline counted in calendar time is brought forward to. */
  workingDayOnOrBefore(date: LocalDate): LocalDate;
  /** Why a date is not a working day (`Saturday`, `Christmas Day`, an authority closure), or null. */
  nonWorkingReason(date: LocalDate): string | null;
  /** Bank holidays and closure days that fall on weekdays between two dates inclusive. */
  holidaysBetween(from: LocalDate, to: LocalDate): Array<{ date: LocalDate; name: string }>;
}

export interface ClosureDay {
  date: string;
  name?: string;
}

export interface CalendarOptions {
  /** Days the authority closes on top of bank holidays (e.g. 29–31 December). */
  closureDays?: ReadonlyArray<string | ClosureDay>;
}

const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/** Bank holidays of England and Wales on weekdays, by year. The library also lists the weekend date of a holiday that has a substitute; only weekday `public` entries close offices. */
function bankHolidaysOf(holidays: Holidays, year: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const h of holidays.getHolidays(year)) {
    if (h.type !== 'public') continue;
    const date = h.date.slice(0, 10) as LocalDate;
    const dow = dayOfWeek(date);
    if (dow === 0 || dow === 6) continue;
    out.set(toDayNumber(date), h.name);
  }
  return out;
}

export function createCalendar(options: CalendarOptions = {}): WorkingDayCalendar {
  const holidays = new Holidays('GB', 'ENG');
  const closures = new Map<number, string>();
  for (const c of options.closureDays ?? []) {
    const entry = typeof c === 'string' ? { date: c } : c;
    closures.set(toDayNumber(parseLocalDate(entry.date, 'closureDays')), entry.name ?? 'Authority closure day');
  }
  const holidayNames = new Map<number, string>();
  const yearsLoaded = new Set<number>();

  // Tables over [first, last]: cumulative[i] = working days strictly before day first+i;
  // workingDays[k] = day number of the k-th working day from `first`.
  let first = 0;
  let last = -1;
  let cumulative = new Int32Array(0);
  let workingDays = new Int32Array(0);

  function loadYear(year: number): void {
    if (yearsLoaded.has(year)) return;
    yearsLoaded.add(year);
    for (const [day, name] of bankHolidaysOf(holidays, year)) holidayNames.set(day, name);
  }

  function isWorkingDayNumber(day: number): boolean {
    const dow = (((day + 4) % 7) + 7) % 7;
    return dow !== 0 && dow !== 6 && !holidayNames.has(day) && !closures.has(day);
  }

  function cover(fromDay: number, toDay: number): void {
    if (fromDay >= first && toDay <= last) return;
    // Grow by whole years, with a margin, so that a run of nearby look-ups builds the table once.
    const fromYear = civilOf(Math.min(fromDay, last >= first ? first : fromDay)).year - 1;
    const toYear = civilOf(Math.max(toDay, last >= first ? last : toDay)).year + 2;
    for (let y = fromYear; y <= toYear; y++) loadYear(y);
    first = dayNumberOf(fromYear, 1, 1);
    last = dayNumberOf(toYear, 12, 31);
    const length = last - first + 1;
    cumulative = new Int32Array(length + 1);
    const days: number[] = [];
    for (let i = 0; i < length; i++) {
      cumulative[i] = days.length;
      if (isWorkingDayNumber(first + i)) days.push(first + i);
    }
    cumulative[length] = days.length;
    workingDays = Int32Array.from(days);
  }

  // n working days at most add about 1.5 n calendar days around bank holidays; cover generously.
  const reach = (n: number) => Math.ceil(Math.abs(n) * 1.6) + 30;

  const calendar: WorkingDayCalendar = {
    isWorkingDay(date) {
      const day = toDayNumber(date);
      cover(day, day);
      return isWorkingDayNumber(day);
    },
    addWorkingDays(date, n) {
      if (!Number.isInteger(n)) throw new RangeError(`working days must be a whole number, not ${n}`);
      if (n === 0) return date;
      const day = toDayNumber(date);
      cover(day - (n < 0 ? reach(n) : 0), day + (n > 0 ? reach(n) : 0));
      const index = n > 0 ? cumulative[day + 1 - first] + n - 1 : cumulative[day - first] + n;
      return fromDayNumber(workingDays[index]);
    },
    workingDaysBetween(from, to) {
      const a = toDayNumber(from);
      const b = toDayNumber(to);
      cover(Math.min(a, b), Math.max(a, b) + 1);
      return cumulative[b + 1 - first] - cumulative[a + 1 - first];
    },
    workingDayOnOrBefore(date) {
      const day = toDayNumber(date);
      cover(day - 30, day);
      return isWorkingDayNumber(day) ? date : fromDayNumber(workingDays[cumulative[day - first] - 1]);
    },
    nonWorkingReason(date) {
      const day = toDayNumber(date);
      cover(day, day);
      const dow = dayOfWeek(date);
      if (dow === 0 || dow === 6) return WEEKDAY_NAMES[dow];
      return holidayNames.get(day) ?? closures.get(day) ?? null;
    },
    holidaysBetween(from, to) {
      const a = toDayNumber(from);
      const b = toDayNumber(to);
      cover(a, b);
      const out: Array<{ date: LocalDate; name: string }> = [];
      for (let d = a; d <= b; d++) {
        const dow = (((d + 4) % 7) + 7) % 7;
        if (dow === 0 || dow === 6) continue;
        const name = holidayNames.get(d) ?? closures.get(d);
        if (name) out.push({ date: fromDayNumber(d), name });
      }
      return out;
    },
  };
  return calendar;
}

/** The calendar a policy counts in: bank holidays plus the authority's own closure days. */
export function calendarFor(policy: { calendar: { closureDays: ReadonlyArray<ClosureDay> } }): WorkingDayCalendar {
  return createCalendar({ closureDays: policy.calendar.closureDays });
}
