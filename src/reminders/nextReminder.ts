import { createHash } from 'node:crypto';
import type { WorkingDayCalendar } from '../calendar';
import { LocalDate, londonDateOf } from '../localDate';
import { deadlineOf, Obligation } from '../obligations';
import type { Policy } from '../policy';
import { isOpen } from './digest';
import { escalationDay, nextWorkingMomentAfter, workingDayStart } from './schedule';
import type { CaseSnapshot } from './types';

/**
 * When a case next matters to a sweep, kept per case so that a sweep between digest times reads
 * only the cases whose time has come. Errs early, never late: a case read once too often costs a
 * little; a reminder missed is what the product exists to prevent.
 */

const workingDayOnOrAfter = (day: LocalDate, calendar: WorkingDayCalendar) => (calendar.isWorkingDay(day) ? day : calendar.addWorkingDays(day, 1));

/**
 * The first working day on or after `from` (a working day) whose digest lists the obligation: its
 * deadline within the digest horizon, and no snooze hiding it.
 */
export function firstDigestDayOf(o: Obligation, from: LocalDate, calendar: WorkingDayCalendar, policy: Policy, snoozedUntil?: LocalDate): LocalDate {
  const horizon = policy.reminders.digestHorizon.workingDays;
  const deadline = deadlineOf(o);
  const earliest = horizon === 0 ? deadline : calendar.addWorkingDays(deadline, -horizon);
  let day = workingDayOnOrAfter(earliest > from ? earliest : from, calendar);
  while (calendar.addWorkingDays(day, horizon) < deadline) day = calendar.addWorkingDays(day, 1);
  if (snoozedUntil !== undefined && day < snoozedUntil && day <= deadline) {
    // Back on its snooze day, or the day after its deadline (a snooze never hides an overdue item).
    const back = workingDayOnOrAfter(snoozedUntil, calendar);
    const overdue = calendar.addWorkingDays(deadline, 1);
    day = back < overdue ? back : overdue;
  }
  return day;
}

/**
 * When a case next matters to a sweep, as the scheduler keeps it per case:
 * - `at`: the next instant strictly after `after` at which it owes something besides its place in
 *   the daily digests: its next escalation (at once, when one is owed already and not yet planned);
 * - `digestOn`: the first working day, from `after`'s own, whose digest lists something of it (a
 *   CAF awaiting, an open escalation, or an item). A case listed on a day is listed on every
 *   working day after, until it changes (an item listed stays listed until it is met, and a change
 *   to the case sets it to be worked out again), so this day does not move from one morning's
 *   sweep to the next: the morning sweep reads the cases listed by that day without each case's
 *   time having to be written again every day.
 * Both null when nothing will fall due (closed, all met). `after` is the last instant swept: what
 * was owed by then was planned then.
 */
export interface ReminderTimes {
  at: Date | null;
  digestOn: LocalDate | null;
}

export function reminderTimesOf(c: CaseSnapshot, after: Date, calendar: WorkingDayCalendar, policy: Policy): ReminderTimes {
  if (c.state.status === 'closed') return { at: null, digestOn: null };
  const open = c.obligations.filter(isOpen);
  return { at: nextEscalationAt(c, open, after, calendar, policy), digestOn: firstListedOn(c, open, workingDayOnOrAfter(londonDateOf(after), calendar), calendar, policy) };
}

/**
 * What a case's times were worked out under: the reminder settings (digest time, working hours,
 * horizon, which kinds escalate and when) and the rules its obligations were folded under. Times
 * kept under another key say nothing: every case is worked out again.
 */
export function reminderTimesKeyOf(policy: Policy, rules: string): string {
  return createHash('sha256').update(JSON.stringify({ reminders: policy.reminders, rules })).digest('base64url').slice(0, 22);
}

/** The instant of the case's next escalation not yet planned: the very next sweep's when one is owed already. */
function nextEscalationAt(c: CaseSnapshot, open: readonly Obligation[], after: Date, calendar: WorkingDayCalendar, policy: Policy): Date | null {
  // Every escalation falls at the start of working hours, so the earliest day gives the earliest instant.
  let escalation: LocalDate | null = null;
  for (const o of open) {
    if (c.escalated.has(o.id)) continue;
    const day = escalationDay(o, calendar, policy);
    if (day !== null && (escalation === null || day < escalation)) escalation = day;
  }
  if (escalation === null) return null;
  const at = workingDayStart(escalation, policy);
  // One owed already and not yet planned: the very next sweep owes it.
  return at.getTime() > after.getTime() ? at : nextWorkingMomentAfter(after, calendar, policy);
}

/** The first working day on or after `from` (a working day) whose digest lists something of the case: a CAF awaiting, an open escalation, or an item. */
function firstListedOn(c: CaseSnapshot, open: readonly Obligation[], from: LocalDate, calendar: WorkingDayCalendar, policy: Policy): LocalDate | null {
  if (c.state.cafAwaitingDecision || open.some((o) => c.escalated.has(o.id))) return from;
  let day: LocalDate | null = null;
  for (const o of open) {
    const d = firstDigestDayOf(o, from, calendar, policy, c.snoozed.get(o.id));
    if (day === null || d < day) day = d;
  }
  return day;
}
