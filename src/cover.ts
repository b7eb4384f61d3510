import { LocalDate } from './localDate';
import { isAbsent, StaffMember } from './staff';

/**
 * Who acts for whom (DOMAIN.md: "sent to a line or duty manager"): a worker's line manager while
 * they are at work, otherwise a duty manager of the team. Pure: the caller passes the people.
 */

/** At work on the day: in post and not on leave. */
export function isPresent(member: StaffMember, day: LocalDate): boolean {
  return member.active && !isAbsent(member, day);
}

/** Ordinal, not locale, order: the same duty manager on every machine. */
const byNameThenId = (a: StaffMember, b: StaffMember) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The duty manager of a person's team on a day: a present manager of the team other than the
 * person, the first by name; null when there is none.
 */
export function dutyManager(person: StaffMember, team: readonly StaffMember[], day: LocalDate): StaffMember | null {
  let chosen: StaffMember | null = null;
  for (const m of team) {
    if (m.role !== 'manager' || m.team !== person.team || m.id === person.id || !isPresent(m, day)) continue;
    if (!chosen || byNameThenId(m, chosen) < 0) chosen = m;
  }
  return chosen;
}

/**
 * The person's line manager if present (and not the person), otherwise the team's duty manager.
 * `team` holds the person's team; the line manager is looked up among all it holds, so a caller
 * may add a line manager who sits in another team. A duty manager is only taken from the person's team.
 * @example lineOrDutyManager(sam, northTeam, '2026-12-21') // Morgan, or the duty manager while Morgan is away
 */
export function lineOrDutyManager(person: StaffMember, team: readonly StaffMember[], day: LocalDate): StaffMember | null {
  const line = person.lineManager ? team.find((m) => m.id === person.lineManager) : undefined;
  if (line && line.id !== person.id && isPresent(line, day)) return line;
  return dutyManager(person, team, day);
}

/**
 * Who gets a worker's reminders on a day: the worker, or while they are away (or have left) their
 * line-or-duty manager. With nobody to cover, the worker: their reminders wait for them.
 */
export function recipientForWorkerItems(worker: StaffMember, team: readonly StaffMember[], day: LocalDate): StaffMember {
  if (isPresent(worker, day)) return worker;
  return lineOrDutyManager(worker, team, day) ?? worker;
}
