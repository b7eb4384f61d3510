import { londonDateOf } from '../localDate';
import { addCaseToDigests } from './caseDigest';
import { digestHorizonEnd } from './digest';
import { DigestBook } from './digestBook';
import { planEscalations } from './escalation';
import { peopleOn } from './people';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';
import { planTeamDigests } from './teamDigest';
import type { CaseSnapshot, PlannedNotification, SweepInput } from './types';

export type { CaseSnapshot, LongOpenCase, NotificationType, PlannedItem, PlannedItemKind, PlannedNotification, SweepInput, TeamSummary, WorkerSummary } from './types';
export { reminderTimesOf } from './nextReminder';

const TYPE_ORDER = { escalation: 0, digest: 1, 'team-digest': 2 } as const;

/**
 * What one sweep at `now` owes (issue 8, "What is sent, and when"): nothing outside working hours
 * or on a non-working day; escalations from the start of the working day; from the digest time,
 * each recipient's daily digest (still planned later that day if the server was down at the digest
 * time: the dedupe key makes it once); on the first working day of the week, the team digests.
 * A recipient who cannot be reached is planned for all the same: the message waits in the outbox.
 */
export function planSweep(input: SweepInput): PlannedNotification[] {
  const escalations = planSweepEscalations(input, input.cases);
  return inPlanOrder([...escalations, ...planSweepDigests(input, escalations)]);
}

/**
 * The escalations a sweep owes of these cases (any of the sweep's): each case's own, whatever the
 * other cases, so that a sweep may queue them as it reads, a chunk of cases at a time.
 */
export function planSweepEscalations(input: Omit<SweepInput, 'cases'>, cases: readonly CaseSnapshot[]): PlannedNotification[] {
  const { now, policy, calendar } = input;
  if (!isWithinWorkingHours(now, calendar, policy)) return [];
  const today = londonDateOf(now);
  const people = peopleOn(input.staff, today);
  return cases.flatMap((c) => planEscalations(c, today, calendar, policy, people));
}

/**
 * The digests a sweep owes (from the digest time, unless `includeDigests` is false) and the team
 * digests (when asked for), given the escalations it planned (`planSweepEscalations` of the same
 * cases): an obligation escalated now is listed as the escalations before it are.
 */
export function planSweepDigests(input: SweepInput, escalations: readonly PlannedNotification[]): PlannedNotification[] {
  const { now, policy, calendar } = input;
  if (!isWithinWorkingHours(now, calendar, policy)) return [];
  const today = londonDateOf(now);
  if (now.getTime() < digestInstant(today, policy).getTime()) return [];
  const people = peopleOn(input.staff, today);
  const out: PlannedNotification[] = [];
  if (input.includeDigests !== false) {
    const escalatedNow = new Map<string, Set<string>>();
    for (const n of escalations) {
      const item = n.items[0];
      let ids = escalatedNow.get(item.caseId);
      if (!ids) escalatedNow.set(item.caseId, (ids = new Set()));
      ids.add(item.obligationId);
    }
    const day = { today, horizon: digestHorizonEnd(today, calendar, policy), people };
    const book = new DigestBook();
    const none: ReadonlySet<string> = new Set();
    for (const c of input.cases) if (c.state.status !== 'closed') addCaseToDigests(book, c, escalatedNow.get(c.caseId) ?? none, day);
    out.push(...book.notifications(today, people, input.reachable));
  }
  if (input.includeTeamDigests && policy.reminders.teamDigest.enabled && isTeamDigestDay(today, calendar)) {
    out.push(...planTeamDigests(input.cases, input.staff, today, people, input.caseloads));
  }
  return out;
}

/** Escalations first, then digests, then team digests; each by its dedupe key. */
export function inPlanOrder(plan: PlannedNotification[]): PlannedNotification[] {
  return plan.sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || (a.dedupeKey < b.dedupeKey ? -1 : a.dedupeKey > b.dedupeKey ? 1 : 0));
}
