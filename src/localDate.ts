/**
 * A local date in Europe/London, written `YYYY-MM-DD`. A due date is a date, not an instant:
 * it never moves with the clocks, so it is kept as a plain string and counted as a day number.
 */
export type LocalDate = string & { readonly __localDate: unique symbol };

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

export class InvalidDateError extends Error {
  constructor(readonly input: unknown, readonly field?: string) {
    super(`${field ? `${field}: ` : ''}${JSON.stringify(input)} is not a real date (expected YYYY-MM-DD)`);
    this.name = 'InvalidDateError';
  }
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function dayNumberOf(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The civil date of a day number (H. Hinnant's civil_from_days). */
export function civilOf(dayNumber: number): { year: number; month: number; day: number } {
  const z = dayNumber + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function daysInMonth(year: number, month: number): number {
  return dayNumberOf(month === 12 ? year + 1 : year, month === 12 ? 1 : month + 1, 1) - dayNumberOf(year, month, 1);
}

/**
 * Reads a `YYYY-MM-DD` string, refusing impossible dates such as 2026-02-30.
 * @example parseLocalDate('2026-12-24') // '2026-12-24'
 */
export function parseLocalDate(input: unknown, field?: string): LocalDate {
  if (typeof input !== 'string') throw new InvalidDateError(input, field);
  const m = ISO_DATE.exec(input);
  if (!m) throw new InvalidDateError(input, field);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw new InvalidDateError(input, field);
  return input as LocalDate;
}

export function isLocalDate(input: unknown): input is LocalDate {
  try {
    parseLocalDate(input);
    return true;
  } catch {
    return false;
  }
}

// Day numbers of 1 January for the years 1900-2299 (the product's dates all fall inside), for a fast path.
const FAST_FIRST_YEAR = 1900;
const FAST_YEARS = 400;
const yearStarts = Int32Array.from({ length: FAST_YEARS + 1 }, (_, i) => dayNumberOf(FAST_FIRST_YEAR + i, 1, 1));
const MONTH_OFFSETS = [
  [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334],
  [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335],
];

/** Day number of a local date; a fast path for dates already validated (it runs for every obligation). */
export function toDayNumber(date: LocalDate): number {
  const s = date as string;
  const year = (s.charCodeAt(0) - 48) * 1000 + (s.charCodeAt(1) - 48) * 100 + (s.charCodeAt(2) - 48) * 10 + (s.charCodeAt(3) - 48);
  const month = (s.charCodeAt(5) - 48) * 10 + (s.charCodeAt(6) - 48);
  const day = (s.charCodeAt(8) - 48) * 10 + (s.charCodeAt(9) - 48);
  const i = year - FAST_FIRST_YEAR;
  if (i < 0 || i >= FAST_YEARS) return dayNumberOf(year, month, day);
  const leap = yearStarts[i + 1] - yearStarts[i] === 366 ? 1 : 0;
  return yearStarts[i] + MONTH_OFFSETS[leap][month - 1] + day - 1;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Strings made once per day number and shared: building date strings was a hot spot of the obligations fold. */
const FAST_FIRST_DAY = dayNumberOf(FAST_FIRST_YEAR, 1, 1);
const FAST_DAYS = 146097; // 400 years
const dateStrings: string[] = Array.from({ length: FAST_DAYS }, () => '');

export function fromDayNumber(dayNumber: number): LocalDate {
  const i = dayNumber - FAST_FIRST_DAY;
  const inRange = i >= 0 && i < FAST_DAYS;
  if (inRange) {
    const known = dateStrings[i];
    if (known !== '') return known as LocalDate;
  }
  const { year, month, day } = civilOf(dayNumber);
  const date = `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}` as LocalDate;
  if (inRange) dateStrings[i] = date;
  return date;
}

/** 0 = Sunday ... 6 = Saturday, as `Date#getDay`. 1970-01-01 was a Thursday. */
export function dayOfWeek(date: LocalDate): number {
  return (((toDayNumber(date) + 4) % 7) + 7) % 7;
}

/** @example addDays('2026-12-31', 1) // '2027-01-01' */
export function addDays(date: LocalDate, days: number): LocalDate {
  return fromDayNumber(toDayNumber(date) + days);
}

/**
 * Calendar months, clamped to the month's end as date-fns `addMonths` does.
 * @example addMonths('2026-08-31', 6) // '2027-02-28'
 */
export function addMonths(date: LocalDate, months: number): LocalDate {
  const s = date as string;
  const year = (s.charCodeAt(0) - 48) * 1000 + (s.charCodeAt(1) - 48) * 100 + (s.charCodeAt(2) - 48) * 10 + (s.charCodeAt(3) - 48);
  const month = (s.charCodeAt(5) - 48) * 10 + (s.charCodeAt(6) - 48);
  const day = (s.charCodeAt(8) - 48) * 10 + (s.charCodeAt(9) - 48);
  const total = year * 12 + (month - 1) + months;
  const y = Math.floor(total / 12);
  const mo = total - y * 12 + 1;
  return fromDayNumber(dayNumberOf(y, mo, Math.min(day, daysInMonth(y, mo))));
}

export function compareDates(a: LocalDate, b: LocalDate): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function maxDate(a: LocalDate, b: LocalDate): LocalDate {
  return a >= b ? a : b;
}

/** Made once: building an Intl formatter costs far more than using one. */
const LONDON_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The local date in Europe/London at an instant (what "today" is for a worker in England). */
export function londonDateOf(instant: Date): LocalDate {
  return LONDON_DATE.format(instant) as LocalDate;
}

/** Age in whole years on a day: 2019-04-02 is 7 on 2026-11-23, and 7 still on 2027-04-01. */
export function ageOn(dateOfBirth: LocalDate, on: LocalDate): number {
  const [by, bm, bd] = dateOfBirth.split('-').map(Number);
  const [y, m, d] = on.split('-').map(Number);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}
