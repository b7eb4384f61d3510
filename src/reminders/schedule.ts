import type { WorkingDayCalendar } from '../calendar';
import { addDays, dayOfWeek, LocalDate, londonDateOf } from '../localDate';
import { deadlineOf, Obligation } from '../obligations';
import type { Policy } from '../policy';
import { reminderInstant } from '../reminderTime';

/**
 * When reminders may go out: working hours on working days, London wall clock (policy
 * `reminders`). Instants are `Date`s; days are London local dates.
 */

// A wall-clock time on a day is the same instant every time it is asked for; working it out
// through the time zone rules is slow enough to show in a sweep of 100,000 cases, so it is kept.
const instants = new Map<string, number>();
function wallClockInstant(day: LocalDate, time: string): Date {
  const key = `${day}T${time}`;
  let ms = instants.get(key);
  if (ms === undefined) {
    if (instants.size > 20_000) instants.clear();
    ms = reminderInstant(day, time).getTime();
    instants.set(key, ms);
  }
  return new Date(ms);
}

/** The start and end of working hours on a day (end exclusive). */
export function workingHoursOn(day: LocalDate, policy: Policy): { start: Date; end: Date } {
  const { start, end } = policy.reminders.workingHours;
  return { start: wallClockInstant(day, start), end: wallClockInstant(day, end) };
}

/** The start of working hours on a day: when escalations go out. */
export function workingDayStart(day: LocalDate, policy: Policy): Date {
  return wallClockInstant(day, policy.reminders.workingHours.start);
}

/**
 * Whether reminders may go out at this instant: a working day, inside working hours.
 * @example isWithinWorkingHours(new Date('2026-12-25T10:00:00Z'), calendar, policy) // false: Christmas Day
 */
export function isWithinWorkingHours(now: Date, calendar: WorkingDayCalendar, policy: Policy): boolean {
  const day = londonDateOf(now);
  if (!calendar.isWorkingDay(day)) return false;
  const { start, end } = workingHoursOn(day, policy);
  return start.getTime() <= now.getTime() && now.getTime() < end.getTime();
}

/**
 * `now` if reminders may go out then, otherwise the start of the next working morning: what falls
 * in the evening, at a weekend or on a bank holiday waits for it.
 * @example nextWorkingMoment(new Date('2026-12-24T18:00:00Z'), calendar, policy) // 2026-12-29T08:30:00.000Z
 */
export function nextWorkingMoment(now: Date, calendar: WorkingDayCalendar, policy: Policy): Date {
  if (isWithinWorkingHours(now, calendar, policy)) return now;
  const day = londonDateOf(now);
  if (calendar.isWorkingDay(day)) {
    const start = workingDayStart(day, policy);
    if (now.getTime() < start.getTime()) return start;
  }
  return workingDayStart(calendar.addWorkingDays(day, 1), policy);
}

/** The first instant strictly after `after` at which reminders may go out. */
export function nextWorkingMomentAfter(after: Date, calendar: WorkingDayCalendar, policy: Policy): Date {
  return nextWorkingMoment(new Date(after.getTime() + 1), calendar, policy);
}

/** @example digestInstant('2027-03-29', policy) // 2027-03-29T07:30:00.000Z: 08:30 BST */
export function digestInstant(day: LocalDate, policy: Policy): Date {
  return wallClockInstant(day, policy.reminders.digestAt);
}

/**
 * The working day on whose morning an obligation still unmet is escalated: `escalateAfter[kind]`
 * working days after its deadline (a TAF review's latest date); null for a kind never escalated.
 * @example escalationDay({ kind: 'telephone-contact', due: '2026-12-30' }, calendar, policy) // '2026-12-31'
 */
export function escalationDay(o: Pick<Obligation, 'kind' | 'due' | 'latest'>, calendar: WorkingDayCalendar, policy: Policy): LocalDate | null {
  const n = policy.reminders.escalateAfter[o.kind];
  return n === null ? null : calendar.addWorkingDays(deadlineOf(o), n);
}

/** The start of working hours on the escalation day; null for a kind never escalated. */
export function escalationInstant(o: Pick<Obligation, 'kind' | 'due' | 'latest'>, calendar: WorkingDayCalendar, policy: Policy): Date | null {
  const day = escalationDay(o, calendar, policy);
  return day === null ? null : workingDayStart(day, policy);
}

/**
 * The first working day of the week (Monday to Sunday) a day falls in; the Tuesday after Easter
 * Monday, say. Null for a week with no working day at all.
 */
export function firstWorkingDayOfWeek(day: LocalDate, calendar: WorkingDayCalendar): LocalDate | null {
  const monday = addDays(day, -((dayOfWeek(day) + 6) % 7));
  const first = calendar.isWorkingDay(monday) ? monday : calendar.addWorkingDays(monday, 1);
  return first <= addDays(monday, 6) ? first : null;
}

/** The weekly team digest goes on the first working day of the week. */
export function isTeamDigestDay(day: LocalDate, calendar: WorkingDayCalendar): boolean {
  return firstWorkingDayOfWeek(day, calendar) === day;
}
