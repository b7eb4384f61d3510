import { caseFor, CaseWorkContext, CaseWorkError, recordWork, requireDate } from '../caseWork';
import { enqueue } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import type { Policy } from '../policy';
import { reminderInstant } from '../reminderTime';
import type { StaffMember } from '../staff';
import { recordAudit } from '../storage/audit';
import type { CaseRecord } from '../storage/caseLog';
import type { Database } from '../storage/database';
import type { MeetingStore, TafMeeting } from '../storage/meetingStore';

/**
 * What the organiser says of a meeting after it (the card after its end, issue 9):
 *
 * - Held: `taf-held` on the case (the date, who came, the meeting), which meets the obligation,
 *   starts the 15 working-day minutes clock and lets the booking pass book the next review.
 * - Not held: why; the meeting ends as not held and the pass books a new date inside the timescale.
 * - Moved: to a new date and time; the calendar event follows (Outlook through the outbox).
 *
 * The rules are here; the card only asks. Each is refused with the field to fix, and writes nothing.
 */

export interface MeetingContext extends CaseWorkContext {
  db: Database;
  meetings: MeetingStore;
  policy: Policy;
  /** The clock: whether a meeting has ended yet. */
  now?(): Date;
}

/** Held and Not held answer the question asked after the meeting's end, not before it (an old card of a meeting since moved later). */
function checkEnded(ctx: MeetingContext, meeting: TafMeeting): void {
  const now = ctx.now?.() ?? new Date();
  if (meeting.state === 'booked' && meeting.endsAt && meeting.endsAt.getTime() > now.getTime()) throw new CaseWorkError('meeting', 'This meeting has not happened yet: you will be asked after it whether it was held.');
}

/** The outbox kind that moves a booked Outlook event: `{ meetingId }` (the time is the meeting's). */
export const TAF_MOVE_KIND = 'taf-move';

const OUTCOME_REASONS = ['family-did-not-attend', 'agencies-did-not-attend', 'worker-unavailable', 'family-declined', 'other'] as const;
export type NotHeldReason = (typeof OUTCOME_REASONS)[number];
export const NOT_HELD_REASONS: Readonly<Record<NotHeldReason, string>> = {
  'family-did-not-attend': 'The family did not attend',
  'agencies-did-not-attend': 'Too few agencies attended',
  'worker-unavailable': 'The lead professional was unavailable',
  'family-declined': 'The family asked to rearrange',
  other: 'Another reason',
};

/** The meeting, if the actor may record work on its case; refused otherwise. */
async function meetingFor(ctx: MeetingContext, actor: StaffMember, meetingId: string): Promise<{ meeting: TafMeeting; record: CaseRecord }> {
  const meeting = await ctx.meetings.get(meetingId);
  if (!meeting) throw new CaseWorkError('meeting', 'That meeting is not known.');
  const { record } = await caseFor(ctx, actor, meeting.caseId, 'log-work');
  return { meeting, record };
}

/** The meeting was held: `taf-held` on its case, and the meeting settled. Returns the case as written. */
export async function tafMeetingHeld(ctx: MeetingContext, actor: StaffMember, meetingId: string, input: { date?: unknown; attended?: unknown }, idempotencyKey?: string): Promise<CaseRecord> {
  const { meeting, record } = await meetingFor(ctx, actor, meetingId);
  if (meeting.state === 'held') {
    // The same click again (a retried request) answers as the first did; any other is refused: one TAF, one record.
    if (record.events.some((e) => e.type === 'taf-held' && e.data.meeting === meeting.id) && idempotencyKey && (await ctx.caseLog.replayOf(idempotencyKey, { caseId: meeting.caseId, type: 'taf-held', by: actor.id }))) return record;
    throw new CaseWorkError('meeting', 'This meeting is already recorded as held.');
  }
  if (meeting.state !== 'booked') throw new CaseWorkError('meeting', `This meeting was ${meeting.state === 'not-held' ? 'recorded as not held' : meeting.state}.`);
  checkEnded(ctx, meeting);
  const date = input.date === undefined || input.date === '' ? (meeting.startsAt ? londonDateOf(meeting.startsAt) : undefined) : input.date;
  const attended = typeof input.attended === 'string' ? input.attended.trim() : '';
  const written = await recordWork(ctx, actor, meeting.caseId, 'taf-held', { date, meeting: meeting.id, ...(attended ? { attended } : {}) }, idempotencyKey);
  // The pass settles it too, from the case log, should this step be cut short.
  await ctx.db.transaction(async (tx) => {
    if (await ctx.meetings.settle(tx, meeting.id, 'held')) await recordAudit(tx, { actor: actor.id, action: 'taf.held', caseId: meeting.caseId, detail: { meeting: meeting.id } });
  });
  return written;
}

/** The meeting did not take place: it is settled as not held, and the pass books a new date. */
export async function tafMeetingNotHeld(ctx: MeetingContext, actor: StaffMember, meetingId: string, input: { reason?: unknown; note?: unknown }): Promise<TafMeeting> {
  const { meeting } = await meetingFor(ctx, actor, meetingId);
  const reason = String(input.reason ?? '');
  if (!(OUTCOME_REASONS as readonly string[]).includes(reason)) throw new CaseWorkError('reason', 'Say why the meeting did not take place.');
  if (meeting.state !== 'booked') throw new CaseWorkError('meeting', `This meeting was already recorded as ${meeting.state}.`);
  checkEnded(ctx, meeting);
  await ctx.db.transaction(async (tx) => {
    if (!(await ctx.meetings.settle(tx, meeting.id, 'not-held', reason))) throw new CaseWorkError('meeting', 'This meeting was already recorded.');
    await ctx.meetings.recheck(tx, meeting.caseId);
    await recordAudit(tx, { actor: actor.id, action: 'taf.not-held', caseId: meeting.caseId, detail: { meeting: meeting.id, reason } });
  });
  return (await ctx.meetings.get(meeting.id))!;
}

/** Checks a new date and time for a meeting: a working day, inside meeting hours, not in the past. */
export function movedTime(input: { date?: unknown; time?: unknown }, ctx: Pick<MeetingContext, 'policy' | 'today'> & { calendar: { isWorkingDay(d: LocalDate): boolean } }, now: Date): { start: Date; end: Date } {
  const date = requireDate(input.date, 'date', 'The new date');
  const time = String(input.time ?? '');
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) throw new CaseWorkError('time', 'The new time: give it as HH:MM, e.g. 10:30.');
  if (!ctx.calendar.isWorkingDay(date)) throw new CaseWorkError('date', `${date} is not a working day.`);
  const { hours, lengthMinutes } = ctx.policy.tafMeetings;
  const start = reminderInstant(date, time);
  const end = new Date(start.getTime() + lengthMinutes * 60_000);
  if (time < hours.start || end.getTime() > reminderInstant(date, hours.end).getTime()) throw new CaseWorkError('time', `TAF meetings are held between ${hours.start} and ${hours.end}.`);
  if (start.getTime() <= now.getTime()) throw new CaseWorkError('date', 'The new time has already passed.');
  return { start, end };
}

/**
 * The meeting moves to a new date and time: the meeting row at once, and the Outlook event through
 * the outbox, in one transaction. `late`: the new date is after the meeting's deadline (the card says so).
 */
export async function tafMeetingMoved(ctx: MeetingContext & { calendar: { isWorkingDay(d: LocalDate): boolean } }, actor: StaffMember, meetingId: string, input: { date?: unknown; time?: unknown }, now = new Date()): Promise<{ meeting: TafMeeting; late: boolean }> {
  const { meeting } = await meetingFor(ctx, actor, meetingId);
  if (meeting.state !== 'booked') throw new CaseWorkError('meeting', `This meeting was already recorded as ${meeting.state}.`);
  const { start, end } = movedTime(input, ctx, now);
  await ctx.db.transaction(async (tx) => {
    if (!(await ctx.meetings.moved(tx, meeting.id, { startsAt: start, endsAt: end }))) throw new CaseWorkError('meeting', 'This meeting was already recorded.');
    if (meeting.calendar === 'outlook') await enqueue(tx, { kind: TAF_MOVE_KIND, recipient: { staffId: meeting.organiser }, caseId: meeting.caseId, payload: { meetingId: meeting.id, start: start.toISOString() }, dedupeKey: `${TAF_MOVE_KIND}:${meeting.id}:${start.toISOString()}` });
    await recordAudit(tx, { actor: actor.id, action: 'taf.moved', caseId: meeting.caseId, detail: { meeting: meeting.id } });
  });
  return { meeting: (await ctx.meetings.get(meeting.id))!, late: londonDateOf(start) > meeting.deadline };
}
