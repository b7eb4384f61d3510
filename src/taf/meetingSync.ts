import { enqueue } from '../delivery/outbox';
import { londonDateOf } from '../localDate';
import { recordAudit } from '../storage/audit';
import type { Database } from '../storage/database';
import type { MeetingStore, TafMeeting } from '../storage/meetingStore';
import { meetingCard } from './booking';

/**
 * Keeping booked meetings in step with their calendar (issue 9): what the calendar now says of an
 * event (moved, cancelled, deleted) is applied to its meeting. Whether by a change notification or
 * by the delta reconciliation, the same event state gives the same result, once: a move already
 * applied changes nothing, a meeting already cancelled stays so.
 *
 * - Moved: the meeting takes the new time; the organiser is told only when the new date is after
 *   the meeting's deadline (for a review, its 8-week maximum), since they moved it themselves.
 * - Cancelled or deleted: the meeting ends as cancelled and the booking pass books another if one
 *   is still needed; the organiser is told.
 */

/** What the calendar says of an event now. */
export type EventState = { removed: true } | { removed?: false; start: Date; end: Date; isCancelled: boolean; changeKey?: string };

export type MeetingChange = { kind: 'none' } | { kind: 'moved'; start: Date; end: Date; late: boolean; changeKey?: string } | { kind: 'cancelled' };

/** What an event's state means for its meeting (pure). */
export function meetingChange(meeting: Pick<TafMeeting, 'state' | 'startsAt' | 'endsAt' | 'deadline'>, event: EventState): MeetingChange {
  if (meeting.state !== 'booked') return { kind: 'none' };
  if (event.removed || event.isCancelled) return { kind: 'cancelled' };
  if (event.start.getTime() === meeting.startsAt?.getTime() && event.end.getTime() === meeting.endsAt?.getTime()) return { kind: 'none' };
  return { kind: 'moved', start: event.start, end: event.end, late: londonDateOf(event.start) > meeting.deadline, changeKey: event.changeKey };
}

/** Applies an event's state to its meeting, with the card and the audit in the same transaction. Returns what changed. */
export async function applyEventState(db: Database, meetings: MeetingStore, meeting: TafMeeting, event: EventState, source: 'notification' | 'delta'): Promise<MeetingChange> {
  const change = meetingChange(meeting, event);
  if (change.kind === 'none') return change;
  return db.transaction(async (tx) => {
    if (change.kind === 'cancelled') {
      if (!(await meetings.settle(tx, meeting.id, 'cancelled', 'cancelled in the calendar'))) return { kind: 'none' } as const;
      await meetings.recheck(tx, meeting.caseId);
      await enqueue(tx, meetingCard(meeting, 'cancelled'));
    } else {
      if (!(await meetings.moved(tx, meeting.id, { startsAt: change.start, endsAt: change.end, changeKey: change.changeKey }))) return { kind: 'none' } as const;
      if (change.late) await enqueue(tx, meetingCard(meeting, 'moved', change.start.toISOString()));
    }
    await recordAudit(tx, { actor: 'calendar', action: `taf.${change.kind}`, caseId: meeting.caseId, detail: { meeting: meeting.id, source, ...(change.kind === 'moved' ? { late: change.late } : {}) } });
    return change;
  });
}
