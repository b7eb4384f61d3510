import { addDays, dayOfWeek, isLocalDate, LocalDate } from './localDate';

/**
 * Staff absence in a person's own words, as they type it to the bot: "away from 21 Dec until 4 Jan",
 * "I'm off 21/12 to 04/01", "on leave until 4 January", "away tomorrow", "I'm back". Pure: the
 * caller passes today; nothing here knows the clock, the directory or Teams.
 */

/** Why an absence cannot be set: it ends before it starts, or it has already ended. */
export type AbsenceFault = 'ends-before-start' | 'ended';

export type AbsenceWords =
  /** Away from `from` to `until`, both inclusive. */
  | { kind: 'away'; from: LocalDate; until: LocalDate }
  /** Read, but not a leave that can be set: the dates as read, for the person to see what was understood. */
  | { kind: 'refused'; from: LocalDate; until: LocalDate; fault: AbsenceFault }
  | { kind: 'back' }
  /** About absence, but the dates could not be read: `reason` says what was not understood. */
  | { kind: 'unclear'; reason: string };

/**
 * The one rule for a leave to be set (bot and command line alike): it starts no later than it
 * ends, and its last day is today or later. A start in the past is allowed (leave already begun).
 * @example absenceFault('2026-12-21', '2027-01-04', '2026-11-23') // null
 */
export function absenceFault(from: LocalDate, until: LocalDate, today: LocalDate): AbsenceFault | null {
  if (until < from) return 'ends-before-start';
  if (until < today) return 'ended';
  return null;
}

/**
 * The words that open a message about absence, optionally after "I'm", "I am", "I'll be" or
 * "I will be": away, off, absent, on leave, on holiday, back. The bot's `away` command is this pattern.
 */
export const ABSENCE_PATTERN = /^\s*(?:i\s*['\u2019]?\s*m\s+|i\s+am\s+|i\s*['\u2019]?\s*ll\s+be\s+|i\s+will\s+be\s+)?(away|off|absent|on\s+(?:annual\s+|study\s+|sick\s+)?leave|on\s+holiday|back)\b/i;

export const ABSENCE_EXAMPLES = '"away from 21 Dec until 4 Jan", "off 21/12 to 04/01", "on leave until 4 January", "away tomorrow"';

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

/** A month by its name or an abbreviation of three letters or more ("dec", "sept", "january"). */
function monthOf(word: string): number | null {
  if (word.length < 3) return null;
  const i = MONTHS.findIndex((m) => m.startsWith(word));
  return i < 0 ? null : i + 1;
}

/** A weekday by its name or an abbreviation ("fri", "tues", "thurs"). */
function weekdayOf(word: string): number | null {
  if (word.length < 3) return null;
  const i = WEEKDAYS.findIndex((d) => d.startsWith(word));
  return i < 0 ? null : i;
}

/** A day as written, before its year is known. */
type WrittenDay =
  | { kind: 'exact'; date: LocalDate }
  | { kind: 'yearless'; day: number; month: number }
  | { kind: 'weekday'; weekday: number }
  /** "21" in "from 21 to 24 Dec": the month (and year) are the end's. */
  | { kind: 'day-only'; day: number };

class Unreadable extends Error {}

const unreadable = (written: string) => new Unreadable(`I could not read "${written}" as a day.`);

function exactDay(year: number, month: number, day: number, written: string): WrittenDay {
  const date = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
  if (!isLocalDate(date)) throw new Unreadable(`"${written}" is not a real date.`);
  return { kind: 'exact', date: date as LocalDate };
}

function yearlessDay(month: number, day: number, written: string): WrittenDay {
  // 29 February is a real day (in a leap year); 31 November never is.
  if (month < 1 || month > 12 || day < 1 || !isLocalDate(`2028-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`)) {
    throw new Unreadable(`"${written}" is not a real date.`);
  }
  return { kind: 'yearless', day, month };
}

const fullYear = (y: string) => (y.length === 2 ? 2000 + Number(y) : Number(y));

/**
 * One day as people write it: today, tomorrow, a weekday, "21 Dec", "21st December 2026",
 * "Dec 21", "21/12", "21/12/26", "2026-12-21". A weekday before a date ("Mon 21 Dec") is ignored.
 */
function readDay(written: string, today: LocalDate): WrittenDay {
  const s = written
    .replace(/,/g, ' ')
    .replace(/\b(\d{1,2})(?:st|nd|rd|th)\b/g, '$1')
    .replace(/\b(?:the|of)\b/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (s === 'today') return { kind: 'exact', date: today };
  if (s === 'tomorrow') return { kind: 'exact', date: addDays(today, 1) };
  let m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(s);
  if (m) return exactDay(Number(m[1]), Number(m[2]), Number(m[3]), written);
  m = /^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?$/.exec(s);
  if (m) return m[3] ? exactDay(fullYear(m[3]), Number(m[2]), Number(m[1]), written) : yearlessDay(Number(m[2]), Number(m[1]), written);
  if (/^\d{1,2}$/.test(s)) return { kind: 'day-only', day: Number(s) };
  const words = s.split(' ');
  // "Mon 21 Dec": the weekday adds nothing to the date.
  if (words.length > 1 && weekdayOf(words[0]) !== null && !/^\d/.test(words[0])) words.shift();
  if (words.length === 1 && weekdayOf(words[0]) !== null) return { kind: 'weekday', weekday: weekdayOf(words[0])! };
  const [a, b, year, ...more] = words;
  if (more.length || (year !== undefined && !/^(?:\d{2}|\d{4})$/.test(year))) throw unreadable(written);
  let day: number | null = null;
  let month: number | null = null;
  if (/^\d{1,2}$/.test(a ?? '') && b) [day, month] = [Number(a), monthOf(b)];
  else if (/^\d{1,2}$/.test(b ?? '') && a) [day, month] = [Number(b), monthOf(a)];
  if (day === null || month === null) throw unreadable(written);
  return year ? exactDay(fullYear(year), month, day, written) : yearlessDay(month, day, written);
}

/** The first day on or after `reference` that is `month`/`day` (29 February waits for a leap year). */
function nextOccurrence(month: number, day: number, reference: LocalDate): LocalDate {
  for (let year = Number(reference.slice(0, 4)); ; year++) {
    const date = `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
    if (isLocalDate(date) && date >= reference) return date;
  }
}

function resolve(written: WrittenDay, reference: LocalDate): LocalDate {
  switch (written.kind) {
    case 'exact':
      return written.date;
    case 'yearless':
      return nextOccurrence(written.month, written.day, reference);
    case 'weekday':
      return addDays(reference, (written.weekday - dayOfWeek(reference) + 7) % 7);
    case 'day-only':
      throw new Unreadable(`I could not tell which month "${written.day}" is in.`);
  }
}

/** "21" in "21 to 24 Dec" takes the end's month, and its year when the end gives one. */
function withEndsMonth(start: WrittenDay, end: WrittenDay, endDate: LocalDate): WrittenDay {
  if (start.kind !== 'day-only') return start;
  if (end.kind === 'yearless') return yearlessDay(end.month, start.day, String(start.day));
  if (end.kind === 'exact' || end.kind === 'weekday') {
    const [year, month] = endDate.split('-').map(Number);
    return exactDay(year, month, start.day, String(start.day));
  }
  return start;
}

const RANGE = /^(.*?)\s*(?:,\s*)?\b(until|till|til|to|through|thru|and|back\s+on|back)\b\s*(.*)$/;
const STARTS = /^(?:from|starting(?:\s+(?:on|from))?|since|as\s+of|between)\s+/;
const WHAT_ELSE = /^(?:sick|work|on\s+(?:annual\s+|study\s+|sick\s+)?leave|on\s+holiday)\b\s*/;

/**
 * What a message about absence asks for, as of `today`; null when the message is not about
 * absence. A day without a year is its next occurrence on or after today (an end without a year,
 * on or after the start when the start was given exactly, as "21/12/2027" or "tomorrow"); "until"
 * without "from" is from today; one day alone is that day; "back on D" ends the day before.
 * @example readAbsence('away from 21 Dec until 4 Jan', '2026-11-23') // { kind: 'away', from: '2026-12-21', until: '2027-01-04' }
 */
export function readAbsence(text: string, today: LocalDate): AbsenceWords | null {
  const normal = text.replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, ' ').trim().toLowerCase();
  const opening = ABSENCE_PATTERN.exec(normal);
  if (!opening) return null;
  let rest = normal
    .slice(opening[0].length)
    .replace(/[.!]+$/, '')
    .trim();
  if (opening[1] === 'back') {
    if (/^(?:now|today|again|at work|in(?: the office)?)?$/.test(rest)) return { kind: 'back' };
    return { kind: 'unclear', reason: 'Say "back" when your leave is over. To set a leave, say when, for example "away from 21 Dec until 4 Jan".' };
  }
  rest = rest
    .replace(WHAT_ELSE, '')
    .replace(/'til\b/g, 'til')
    .replace(/\s*[\u2013\u2014]\s*/g, ' to ')
    .replace(/ - /g, ' to ')
    // "21-24 Dec": a range of days, not the 24th month.
    .replace(/(^|\s)(\d{1,2})-(\d{1,2} [a-z])/g, '$1$2 to $3')
    .trim();
  if (rest === '') return { kind: 'unclear', reason: `Tell me when, for example ${ABSENCE_EXAMPLES}.` };
  try {
    const range = RANGE.exec(rest);
    if (!range) {
      if (STARTS.test(rest)) return { kind: 'unclear', reason: 'Say until when too, for example "away from 21 Dec until 4 Jan".' };
      const day = resolve(readDay(rest.replace(/^(?:on|for)\s+/, ''), today), today);
      return checked(day, day, today);
    }
    const [, startText, connector, endText] = range;
    if (endText === '') return { kind: 'unclear', reason: `Say ${connector} when, for example "away from 21 Dec until 4 Jan".` };
    const startWritten = startText === '' ? null : readDay(startText.replace(STARTS, ''), today);
    const endWritten = readDay(endText.replace(/^(?:on|and)\s+/, ''), today);
    // The end's own reference: the start when it was given exactly, otherwise today.
    const exactStart = startWritten && startWritten.kind === 'exact' ? startWritten.date : null;
    const endReference = exactStart ?? (startWritten?.kind === 'weekday' ? resolve(startWritten, today) : today);
    const endDay = resolve(endWritten, endReference);
    const from = startWritten ? resolve(withEndsMonth(startWritten, endWritten, endDay), today) : today;
    // "back on 5 Jan": the last day away is the 4th.
    const until = connector.startsWith('back') ? addDays(endDay, -1) : endDay;
    return checked(from, until, today);
  } catch (e) {
    if (e instanceof Unreadable) return { kind: 'unclear', reason: `${e.message} Try for example ${ABSENCE_EXAMPLES}.` };
    throw e;
  }
}

function checked(from: LocalDate, until: LocalDate, today: LocalDate): AbsenceWords {
  const fault = absenceFault(from, until, today);
  return fault ? { kind: 'refused', from, until, fault } : { kind: 'away', from, until };
}
