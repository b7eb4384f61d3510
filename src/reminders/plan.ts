import { londonDateOf } from '../localDate';
import { addCaseToDigests } from './caseDigest';
import { digestHorizonEnd } from './digest';
import { DigestBook } from './digestBook';
import { planEscalations } from './escalation';
import { peopleOn } from './people';
import { digestInstant, isTeamDigestDay, isWithinWorkingHours } from './schedule';
import { planTeamDigests } from './teamDigest';
import type { PlannedNotification, SweepInput } from './types';

export type { CaseSnapshot, LongOpenCase, NotificationType, PlannedItem, PlannedItemKind, PlannedNotification, SweepInput, TeamSummary, WorkerSummary } from './types';
export { nextReminderAt } from './nextReminder';

const TYPE_ORDER = { escalation: 0, digest: 1, 'team-digest': 2 } as const;

/**
 * What one sweep at `now` owes (issue 8, "What is sent, and when"): nothing outside working hours
 * or on a non-working day; escalations from the start of the working day; from the digest time,
 * each recipient's daily digest (still planned later that day if the server was down at the digest
 * time: the dedupe key makes it once); on the first working day of the week, the team digests.
 * A recipient who cannot be reached is planned for all the same: the message waits in the outbox.
 */
export function planSweep(input: SweepInput): PlannedNotification[] {
  const { now, policy, calendar } = input;
  if (!isWithinWorkingHours(now, calendar, policy)) return [];
  const today = londonDateOf(now);
  const people = peopleOn(input.staff, today);
  const digestTime = now.getTime() >= digestInstant(today, policy).getTime();
  const digestsDue = digestTime && input.includeDigests !== false;
  const day = { today, horizon: digestHorizonEnd(today, calendar, policy), people };
  const book = new DigestBook();
  const out: PlannedNotification[] = [];
  const none: ReadonlySet<string> = new Set();
  for (const c of input.cases) {
    if (c.state.status === 'closed') continue;
    const escalations = planEscalations(c, today, calendar, policy, people);
    out.push(...escalations);
    const escalatedNow = escalations.length ? new Set(escalations.map((n) => n.items[0].obligationId)) : none;
    if (digestsDue) addCaseToDigests(book, c, escalatedNow, day);
  }
  if (digestsDue) out.push(...book.notifications(today, people, input.reachable));
  if (digestTime && input.includeTeamDigests && policy.reminders.teamDigest.enabled && isTeamDigestDay(today, calendar)) {
    out.push(...planTeamDigests(input.cases, input.staff, today, people));
  }
  return out.sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || (a.dedupeKey < b.dedupeKey ? -1 : a.dedupeKey > b.dedupeKey ? 1 : 0));
}
