import type { WorkingDayCalendar } from '../calendar';
import type { LocalDate } from '../localDate';
import type { Obligation } from '../obligations';
import type { Policy } from '../policy';
import { isOpen } from './digest';
import { plannedItem } from './items';
import type { People } from './people';
import { escalationDay } from './schedule';
import type { CaseSnapshot, PlannedNotification } from './types';

/**
 * Escalation (seed 000/002 for the telephone contact; issue 8 for the rest): an obligation still
 * unmet at the start of its escalation day goes, once, to the lead professional's line manager,
 * or the duty manager while they are away.
 */

/** The obligations of a case owed an escalation on `today` (the sweep runs inside working hours), never one escalated already. */
export function escalationsDue(c: CaseSnapshot, today: LocalDate, calendar: WorkingDayCalendar, policy: Policy): Obligation[] {
  if (c.state.status === 'closed') return [];
  return c.obligations.filter((o) => {
    if (!isOpen(o) || c.escalated.has(o.id)) return false;
    const day = escalationDay(o, calendar, policy);
    return day !== null && day <= today;
  });
}

/** One escalation card per obligation, keyed so that it is planned once whatever the number of sweeps. */
export function planEscalations(c: CaseSnapshot, today: LocalDate, calendar: WorkingDayCalendar, policy: Policy, people: People): PlannedNotification[] {
  const due = escalationsDue(c, today, calendar, policy);
  if (due.length === 0) return [];
  const recipient = people.managerFor(c.state);
  return due.map((o) => ({
    recipient,
    type: 'escalation',
    day: today,
    dedupeKey: `escalation:${c.caseId}:${o.id}`,
    items: [plannedItem(c, o, today)],
  }));
}
