import { LocalDate, londonDateOf } from '../localDate';
import { addCaseToDigests } from './caseDigest';
import { digestHorizonEnd } from './digest';
import { DigestBook } from './digestBook';
import { planEscalations } from './escalation';
import { People, peopleOn } from './people';
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
  const planner = sweepPlanner(input);
  const escalations = planner.escalations(input.cases);
  return inPlanOrder([...escalations, ...planner.digests(input.cases, escalations)]);
}

/**
 * One sweep's planner, the day and who is who worked out once: `escalations` of any of the
 * sweep's cases (each case's own, whatever the other cases, so that a sweep may queue them as it
 * reads, a chunk of cases at a time); `digests` (from the digest time, unless `includeDigests` is
 * false) and the team digests (when asked for) of all of them, given the escalations planned of
 * them: an obligation escalated now is listed as the escalations before it are.
 */
export function sweepPlanner(input: Omit<SweepInput, 'cases'>) {
  const { now, policy, calendar } = input;
  const working = isWithinWorkingHours(now, calendar, policy);
  const today = londonDateOf(now);
  const people = peopleOn(input.staff, today);
  return {
    escalations(cases: readonly CaseSnapshot[]): PlannedNotification[] {
      return working ? cases.flatMap((c) => planEscalations(c, today, calendar, policy, people)) : [];
    },
    digests(cases: readonly CaseSnapshot[], escalations: readonly PlannedNotification[]): PlannedNotification[] {
      if (!working || now.getTime() < digestInstant(today, policy).getTime()) return [];
      const out: PlannedNotification[] = [];
      if (input.includeDigests !== false) out.push(...dailyDigests(cases, escalations, today, people, input));
      if (input.includeTeamDigests && policy.reminders.teamDigest.enabled && isTeamDigestDay(today, calendar)) {
        out.push(...planTeamDigests(cases, input.staff, today, people, input.caseloads));
      }
      return out;
    },
  };
}

function dailyDigests(cases: readonly CaseSnapshot[], escalations: readonly PlannedNotification[], today: LocalDate, people: People, input: Omit<SweepInput, 'cases'>): PlannedNotification[] {
  const escalatedNow = new Map<string, Set<string>>();
  for (const n of escalations) {
    const item = n.items[0];
    let ids = escalatedNow.get(item.caseId);
    if (!ids) escalatedNow.set(item.caseId, (ids = new Set()));
    ids.add(item.obligationId);
  }
  const day = { today, horizon: digestHorizonEnd(today, input.calendar, input.policy), people };
  const book = new DigestBook();
  const none: ReadonlySet<string> = new Set();
  for (const c of cases) if (c.state.status !== 'closed') addCaseToDigests(book, c, escalatedNow.get(c.caseId) ?? none, day);
  return book.notifications(today, people, input.reachable);
}

/** Escalations first, then digests, then team digests; each by its dedupe key. */
export function inPlanOrder(plan: PlannedNotification[]): PlannedNotification[] {
  return plan.sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || (a.dedupeKey < b.dedupeKey ? -1 : a.dedupeKey > b.dedupeKey ? 1 : 0));
}
