import type { WorkingDayCalendar } from '../calendar';
import type { CaseState } from '../caseState';
import { LocalDate, maxDate } from '../localDate';
import { deadlineOf, Obligation } from '../obligations';
import type { Policy } from '../policy';
import type { BookingWindow } from './slots';

/**
 * Which TAF meeting a case needs booked, and in which window (issue 9). Pure: the case's
 * obligations as of today in, the meeting to book out.
 *
 * - The first TAF, once its deadline is known (not while it is counted from a CAF not yet
 *   completed): the first free slot on or after the policy's point before the deadline (5 working
 *   days in the default policy), never after the deadline.
 * - The next review, once a TAF has been held: nearest the target (6 weeks), never after the
 *   latest date (8 weeks; 4 once needs have escalated).
 * - Never sooner than the policy's notice (a working day ahead), so the family and agencies can come.
 */

export type TafMeetingKind = 'first-taf' | 'taf-review';

export interface MeetingNeed {
  obligationId: string;
  kind: TafMeetingKind;
  /** The date it must be held by. */
  deadline: LocalDate;
  window: BookingWindow;
}

/** The unmet TAF obligation a meeting should be booked for, if any. */
export function tafObligationToBook(obligations: readonly Obligation[]): Obligation | undefined {
  return obligations.find((o) => (o.kind === 'first-taf' || o.kind === 'taf-review') && o.metOn === undefined && o.status !== 'not-applicable' && !o.provisional);
}

/** The first day a meeting may be booked for, booking today. */
export function earliestMeetingDay(today: LocalDate, calendar: WorkingDayCalendar, policy: Policy): LocalDate {
  const day = calendar.addWorkingDays(today, policy.tafMeetings.noticeWorkingDays);
  return calendar.isWorkingDay(day) ? day : calendar.addWorkingDays(day, 1);
}

/** The booking window for a TAF obligation, booking today. */
export function bookingWindow(o: Obligation, today: LocalDate, calendar: WorkingDayCalendar, policy: Policy): BookingWindow {
  const earliest = earliestMeetingDay(today, calendar, policy);
  const deadline = deadlineOf(o);
  if (o.kind === 'first-taf') {
    const point = calendar.addWorkingDays(deadline, -policy.tafMeetings.firstTafBookFrom.workingDaysBeforeDeadline);
    return { from: earliest, to: deadline, aim: maxDate(point, earliest), order: 'first' };
  }
  return { from: earliest, to: deadline, aim: maxDate(o.due, earliest), order: 'nearest' };
}

/**
 * The meeting a case needs booked today, or null: none when the case is closed, has no TAF
 * obligation open, or already has a meeting booked (or being booked) for it.
 */
export function meetingNeeded(input: {
  state: Pick<CaseState, 'status'>;
  obligations: readonly Obligation[];
  /** Obligation ids that already have a live meeting (being booked, or booked). */
  booked: ReadonlySet<string>;
  today: LocalDate;
  calendar: WorkingDayCalendar;
  policy: Policy;
}): MeetingNeed | null {
  if (input.state.status === 'closed') return null;
  const o = tafObligationToBook(input.obligations);
  if (!o || input.booked.has(o.id)) return null;
  return { obligationId: o.id, kind: o.kind as TafMeetingKind, deadline: deadlineOf(o), window: bookingWindow(o, input.today, input.calendar, input.policy) };
}
