import { createEvent } from 'ics';
import type { Policy } from '../policy';
import type { TafMeeting } from '../storage/meetingStore';
import { meetingBody, meetingSubject } from './booking';

/**
 * A booked meeting as an iCalendar file (RFC 5545), for local mode: the worker adds it to their
 * own calendar. The same subject and agenda as Outlook gets: the case reference, never a name.
 * The UID stays the meeting's, and the sequence grows with each change, so a calendar that
 * imported it before updates it instead of adding a second.
 */
export function meetingIcs(m: TafMeeting, policy: Policy): string {
  if (!m.startsAt || !m.endsAt) throw new Error(`meeting ${m.id} has no time yet`);
  const cancelled = m.state === 'cancelled' || m.state === 'not-held';
  const { error, value } = createEvent({
    uid: m.iCalUId ?? `${m.id}@earlyhelp.local`,
    productId: 'earlyhelp/taf',
    method: 'PUBLISH',
    title: meetingSubject(m),
    description: meetingBody(m, policy).replace(/<\/(p|li|ol)>/g, '\n').replace(/<[^>]+>/g, '').replace(/\n+/g, '\n').trim(),
    start: m.startsAt.getTime(),
    startInputType: 'utc',
    startOutputType: 'utc',
    end: m.endsAt.getTime(),
    endInputType: 'utc',
    endOutputType: 'utc',
    status: cancelled ? 'CANCELLED' : 'CONFIRMED',
    busyStatus: 'BUSY',
    sequence: Math.max(0, Math.floor((m.updatedAt.getTime() - m.createdAt.getTime()) / 1000)),
    ...(m.joinUrl ? { url: m.joinUrl } : {}),
  });
  if (error || !value) throw error ?? new Error('the calendar file could not be written');
  return value;
}
