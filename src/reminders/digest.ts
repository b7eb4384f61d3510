import type { WorkingDayCalendar } from '../calendar';
import { isLocalDate, LocalDate } from '../localDate';
import { deadlineOf, Obligation, ObligationStatus } from '../obligations';
import type { Policy } from '../policy';

/**
 * What a daily digest lists (issue 8): the obligations overdue, due today, and due by the end of
 * the horizon (the next working day by default), soonest first, judged on each one's deadline.
 */

export type DueStatus = Extract<ObligationStatus, 'upcoming' | 'due-today' | 'overdue'>;

/** Still to be met: neither met nor no longer owed. Stays true as the days pass, until an event meets it. */
export function isOpen(o: Pick<Obligation, 'status'>): boolean {
  return o.status === 'upcoming' || o.status === 'due-today' || o.status === 'overdue';
}

/** An open obligation's status on a day, judged against its deadline. */
export function statusOn(o: Pick<Obligation, 'due' | 'latest'>, day: LocalDate): DueStatus {
  const deadline = deadlineOf(o);
  return day < deadline ? 'upcoming' : day === deadline ? 'due-today' : 'overdue';
}

/** The last day whose items a digest sent on `day` lists. */
export function digestHorizonEnd(day: LocalDate, calendar: WorkingDayCalendar, policy: Policy): LocalDate {
  return calendar.addWorkingDays(day, policy.reminders.digestHorizon.workingDays);
}

/** A snooze hides an item until its day, but never once the item is overdue. */
export function isSnoozedOn(o: Pick<Obligation, 'due' | 'latest'>, day: LocalDate, until: LocalDate | undefined): boolean {
  return until !== undefined && day < until && day <= deadlineOf(o);
}

const soonestFirst = (a: Obligation, b: Obligation) => {
  const x = deadlineOf(a);
  const y = deadlineOf(b);
  if (x !== y) return x < y ? -1 : 1;
  return a.due < b.due ? -1 : a.due > b.due ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
};

/**
 * The items of a case (or of a caseload) for the digest of `today`, soonest first, each with its
 * status as of `today`. `snoozed` maps an obligation id to the day its snooze ends.
 * @example digestItems(obligations, '2026-12-29', calendar, policy) // the telephone contact due 30 Dec, 'upcoming'
 */
export function digestItems(
  obligations: readonly Obligation[],
  today: LocalDate,
  calendar: WorkingDayCalendar,
  policy: Policy,
  snoozed?: ReadonlyMap<string, LocalDate>,
): Obligation[] {
  const horizon = digestHorizonEnd(today, calendar, policy);
  const out: Obligation[] = [];
  for (const o of obligations) if (isInDigest(o, today, horizon, snoozed?.get(o.id))) out.push({ ...o, status: statusOn(o, today) });
  return out.sort(soonestFirst);
}

/** Whether the digest of `today`, listing up to `horizon`, lists the obligation. */
export function isInDigest(o: Obligation, today: LocalDate, horizon: LocalDate, snoozedUntil: LocalDate | undefined): boolean {
  return isOpen(o) && deadlineOf(o) <= horizon && !isSnoozedOn(o, today, snoozedUntil);
}

/**
 * Why an item cannot be snoozed to `until`, in the user's words, or null when it can: a snooze
 * goes to a later working day, never past the deadline.
 * @example snoozeProblem(dueOn30Dec, '2026-12-28', '2026-12-24', calendar) // '2026-12-28 is not a working day (Boxing Day).'
 */
export function snoozeProblem(o: Obligation, until: LocalDate, today: LocalDate, calendar: WorkingDayCalendar): string | null {
  if (!isLocalDate(until)) return 'Choose a date to snooze to.';
  if (!isOpen(o)) return 'This is already done.';
  const deadline = deadlineOf(o);
  if (until <= today) return 'Snooze to a later day than today.';
  if (until > deadline) return `It cannot be snoozed past its deadline, ${deadline}.`;
  const reason = calendar.nonWorkingReason(until);
  if (reason) return `${until} is not a working day (${reason}).`;
  return null;
}
