import type { WorkingDayCalendar } from '../calendar';
import { caseState, TafMember } from '../caseState';
import type { DeliveryHandler, DeliveryOutcome } from '../delivery/dispatcher';
import { enqueue, NewMessage } from '../delivery/outbox';
import { londonDateOf, maxDate } from '../localDate';
import { obligations } from '../obligations';
import { describePeriod, Policy } from '../policy';
import { recordAudit } from '../storage/audit';
import type { CaseLog } from '../storage/caseLog';
import type { Database } from '../storage/database';
import type { MeetingCalendar, MeetingStore, TafMeeting } from '../storage/meetingStore';
import type { StaffDirectory } from '../storage/staffDirectory';
import { earliestMeetingDay, tafObligationToBook } from './meetingNeed';
import { BookingWindow, BusyTime, chooseSlot, FreeBusy, scheduleRange } from './slots';

/**
 * Books one TAF meeting from the outbox (kind `taf-booking`): reads who is free (Graph's
 * getSchedule, or the product's own calendar), chooses the slot (slots.ts), creates the event
 * with its `transactionId`, and records the meeting as booked with a card to the organiser, in one
 * transaction. The create is the one step that cannot be undone, and a repeat of it is a no-op
 * (the calendar answers the event the transactionId already made), so a booking a crash cut short
 * is simply done again (the outbox's `resumable` kinds).
 */

/** The Teams card about a meeting, drawn at delivery from the meeting as it then stands. */
export const TAF_MEETING_VIEW_KIND = 'taf-meeting';
export type TafMeetingView = 'booked' | 'outcome' | 'moved' | 'cancelled' | 'failed';

/** The card that tells the organiser about their meeting, for the outbox (queued in the change's transaction); `key` tells one occasion from another. */
export function meetingCard(meeting: Pick<TafMeeting, 'id' | 'caseId' | 'organiser'>, view: TafMeetingView, key = ''): NewMessage {
  return { kind: TAF_MEETING_VIEW_KIND, recipient: { staffId: meeting.organiser }, caseId: meeting.caseId, payload: { meetingId: meeting.id, view }, dedupeKey: `taf-${view}:${meeting.id}${key ? `:${key}` : ''}` };
}

export interface Person {
  id: string;
  email: string;
}

/** What is put in the calendar: the case reference and the agenda, never a family's name. */
export interface MeetingEvent {
  subject: string;
  bodyHtml: string;
  start: Date;
  end: Date;
  /** Outside attendees (the family and agencies) and internal ones, by e-mail. */
  attendees: Array<{ email: string; name?: string }>;
  transactionId: string;
}

export interface CreatedEvent {
  start: Date;
  end: Date;
  eventId?: string;
  iCalUId?: string;
  changeKey?: string;
  joinUrl?: string;
  webLink?: string;
}

/** A calendar failure, in the outbox's terms. */
export class CalendarError extends Error {
  constructor(readonly outcome: Exclude<DeliveryOutcome, { delivered: true } | { cancelled: true }>) {
    super('reason' in outcome ? outcome.reason : 'calendar error');
    this.name = 'CalendarError';
  }
}

/** Where meetings are booked: Outlook through Graph, or the product's own calendar. */
export interface CalendarPort {
  kind: MeetingCalendar;
  /** Who is busy when, per e-mail (the organiser's own meetings in the product are added by the caller). */
  freeBusy(organiser: Person, people: readonly string[], range: { start: Date; end: Date }): Promise<FreeBusy>;
  /** Creates the event; `begin()` is called just before the request leaves (false: do not send). */
  create(organiser: Person, event: MeetingEvent, meeting: TafMeeting, begin: () => Promise<boolean>): Promise<CreatedEvent>;
  /** Moves the meeting's event to its new time (the same request again is harmless); its new change key, if the calendar has one. */
  move(organiser: Person, meeting: TafMeeting, begin: () => Promise<boolean>): Promise<{ changeKey?: string }>;
  /** Cancels the meeting's event, telling everyone invited (an event already gone is cancelled). */
  cancel(organiser: Person, meeting: TafMeeting, begin: () => Promise<boolean>): Promise<void>;
}

const KIND_WORDS = { 'first-taf': 'first TAF meeting', 'taf-review': 'TAF review meeting' } as const;

/**
 * An invitee as the invitation shows them to everyone invited: an agency's professional by name and
 * agency; a family member by e-mail address alone, so that no family name reaches the agencies.
 */
export function attendeeOf(m: TafMember): { email: string; name?: string } {
  return m.family ? { email: m.email } : { email: m.email, name: m.agency ? `${m.name} (${m.agency})` : m.name };
}

/** The subject: the case reference and the kind of meeting, and nothing else. */
export function meetingSubject(m: Pick<TafMeeting, 'reference' | 'kind'>): string {
  return `${m.reference}: ${m.kind === 'first-taf' ? 'First TAF meeting' : 'TAF review meeting'}`;
}

/** The agenda, the same for every family: nothing in it names anyone. */
export function meetingBody(m: Pick<TafMeeting, 'reference' | 'kind'>, policy: Policy): string {
  return [
    `<p>Team Around the Family: the ${KIND_WORDS[m.kind]} for Early Help case ${m.reference}.</p>`,
    '<p>Agenda</p><ol>',
    '<li>Introductions, and the family\u2019s agreement to share information</li>',
    m.kind === 'first-taf' ? '<li>The assessment: strengths and needs</li><li>Agreeing the family plan: outcomes, actions, who and by when</li>' : '<li>Progress against the family plan: what is working, what needs to change</li><li>Updating the plan: actions, who and by when</li>',
    '<li>Any other business</li><li>The date of the next review</li></ol>',
    `<p>The minutes and actions are shared with the family and agencies within ${describePeriod(policy.timescales.tafMinutes.within)}.</p>`,
  ].join('');
}

export interface BookingDeps {
  db: Database;
  caseLog: CaseLog;
  meetings: MeetingStore;
  directory: StaffDirectory;
  port: CalendarPort;
  policy: Policy;
  calendar: WorkingDayCalendar;
  now?: () => Date;
  /** The sender's tries before it gives up (the last failure is told to the organiser). */
  maxAttempts?: number;
}

/** The window as it stands today: a booking that waited (throttled, retried) is never booked sooner than the notice allows. */
export function windowToday(w: BookingWindow, today: ReturnType<typeof londonDateOf>, calendar: WorkingDayCalendar, policy: Policy): BookingWindow {
  const earliest = earliestMeetingDay(today, calendar, policy);
  return { ...w, from: maxDate(w.from, earliest), aim: maxDate(w.aim, earliest) };
}

/** The organiser's busy times with the product's own live meetings added (a booking not yet in Outlook is still taken). */
function withOwnMeetings(freeBusy: FreeBusy, email: string, own: ReadonlyArray<{ start: Date; end: Date }>): FreeBusy {
  const merged = new Map(freeBusy);
  merged.set(email, [...(freeBusy.get(email) ?? []), ...own.map((t): BusyTime => ({ ...t, status: 'busy' }))]);
  return merged;
}

/**
 * Chooses the meeting's slot and holds it: free/busy is read first (several bookings of one
 * organiser may read at once), then the choice and the hold are made under the organiser's lock,
 * against their meetings held or booked in the product, so two bookings never take one slot.
 */
async function reserveSlot(deps: BookingDeps, meeting: TafMeeting, organiser: Person, today: ReturnType<typeof londonDateOf>, internal: readonly string[]): Promise<{ start: Date; end: Date; conflicts: number } | null> {
  const window = windowToday(meeting.window, today, deps.calendar, deps.policy);
  const range = scheduleRange(window, deps.calendar, deps.policy);
  const freeBusy = await deps.port.freeBusy(organiser, [organiser.email, ...internal], range);
  return deps.db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`taf-organiser:${meeting.organiser}`]);
    const own = await deps.meetings.busyTimes(meeting.organiser, range, meeting.id, tx);
    const slot = chooseSlot({ window, freeBusy: withOwnMeetings(freeBusy, organiser.email, own), worker: organiser.email, calendar: deps.calendar, policy: deps.policy });
    if (!slot || !(await deps.meetings.reserve(tx, meeting.id, { startsAt: slot.start, endsAt: slot.end, conflicts: slot.conflicts.length }))) return null;
    return { start: slot.start, end: slot.end, conflicts: slot.conflicts.length };
  });
}

/** A booking that failed for good, or for the last time it will be tried, is shown to the organiser on a card with a retry button. */
async function failed(deps: BookingDeps, meeting: TafMeeting, attempts: number, outcome: Exclude<DeliveryOutcome, { delivered: true } | { cancelled: true }>): Promise<DeliveryOutcome> {
  const last = 'failed' in outcome || ('reason' in outcome && !('unreachable' in outcome) && attempts + 1 >= (deps.maxAttempts ?? 8));
  if (last) await enqueue(deps.db, meetingCard(meeting, 'failed', String(attempts)));
  return outcome;
}

export function bookingHandler(deps: BookingDeps): DeliveryHandler {
  const now = deps.now ?? (() => new Date());
  return async (message, control) => {
    const meetingId = String(message.payload.meetingId ?? '');
    const meeting = await deps.meetings.get(meetingId);
    if (!meeting) return { failed: true, reason: 'no such meeting' };
    // Already booked (a repeat after the outcome was written): nothing more to do.
    if (meeting.state === 'booked') return { delivered: true, activityId: meeting.eventId };
    if (meeting.state !== 'booking') return { cancelled: true, reason: `meeting ${meeting.state}` };
    const today = londonDateOf(now());
    const [record] = await deps.caseLog.readForScheduler([meeting.caseId]);
    const state = caseState(record.events);
    const open = tafObligationToBook(obligations(record.events, deps.policy, deps.calendar, today));
    if (state.status === 'closed' || open?.id !== meeting.obligationId || state.leadProfessional !== meeting.organiser) {
      await deps.db.transaction(async (tx) => {
        await deps.meetings.settle(tx, meeting.id, 'cancelled', 'no longer needed');
        await deps.meetings.recheck(tx, meeting.caseId);
      });
      return { cancelled: true, reason: 'no longer needed' };
    }
    const staff = await deps.directory.get(meeting.organiser);
    if (!staff?.email) return { failed: true, reason: 'the organiser has no e-mail address in the staff directory' };
    const organiser: Person = { id: staff.id, email: staff.email.toLowerCase() };

    let slot: { start: Date; end: Date; conflicts: number } | null;
    let created: CreatedEvent;
    try {
      // A booking resumed after a crash asks for the time it had reserved (the create is the same request again).
      // The case's TAF members are invited; those who are staff must be free too (getSchedule takes 20 at most).
      const invited = state.tafMembers.filter((m) => m.email !== organiser.email);
      const internal = (await deps.directory.withEmails(invited.map((m) => m.email))).map((m) => m.email.toLowerCase()).slice(0, 19);
      slot = meeting.startsAt && meeting.endsAt ? { start: meeting.startsAt, end: meeting.endsAt, conflicts: meeting.conflicts } : await reserveSlot(deps, meeting, organiser, today, internal);
      if (!slot) return await failed(deps, meeting, message.attempts, { failed: true, reason: 'no slot in meeting hours could be found' });
      const event: MeetingEvent = { subject: meetingSubject(meeting), bodyHtml: meetingBody(meeting, deps.policy), start: slot.start, end: slot.end, attendees: invited.map(attendeeOf), transactionId: meeting.transactionId };
      created = await deps.port.create(organiser, event, meeting, () => control.begin());
    } catch (e) {
      if (e instanceof CalendarError) return failed(deps, meeting, message.attempts, e.outcome);
      throw e;
    }
    const chosen = slot;
    await deps.db.transaction(async (tx) => {
      const booked = await deps.meetings.recordBooked(tx, meeting.id, {
        startsAt: created.start,
        endsAt: created.end,
        // What the calendar answers is the truth (a repeated create answers the first event's time).
        late: londonDateOf(created.start) > meeting.deadline,
        conflicts: created.start.getTime() === chosen.start.getTime() ? chosen.conflicts : 0,
        eventId: created.eventId,
        iCalUId: created.iCalUId,
        changeKey: created.changeKey,
        joinUrl: created.joinUrl,
        webLink: created.webLink,
      });
      if (!booked) return;
      await enqueue(tx, meetingCard(meeting, 'booked'));
      await recordAudit(tx, { actor: 'scheduler', action: 'taf.booked', caseId: meeting.caseId, detail: { meeting: meeting.id, calendar: deps.port.kind, late: londonDateOf(created.start) > meeting.deadline } });
    });
    return { delivered: true, activityId: created.eventId };
  };
}

/**
 * Moves a booked meeting's event to the time the meeting now has (outbox kind `taf-move`, queued
 * with the move in src/taf/meetingOutcome.ts). A later move supersedes an earlier one still
 * waiting: only the move to the meeting's current time is sent.
 */
export function moveHandler(deps: Pick<BookingDeps, 'db' | 'meetings' | 'directory' | 'port'>): DeliveryHandler {
  return async (message, control) => {
    const meeting = await deps.meetings.get(String(message.payload.meetingId ?? ''));
    if (!meeting || meeting.state !== 'booked') return { cancelled: true, reason: `meeting ${meeting?.state ?? 'gone'}` };
    if (meeting.startsAt?.toISOString() !== message.payload.start) return { cancelled: true, reason: 'moved again since' };
    const staff = await deps.directory.get(meeting.organiser);
    if (!staff?.email) return { failed: true, reason: 'the organiser has no e-mail address in the staff directory' };
    try {
      const moved = await deps.port.move({ id: staff.id, email: staff.email.toLowerCase() }, meeting, () => control.begin());
      if (moved.changeKey) await deps.db.transaction((tx) => deps.meetings.moved(tx, meeting.id, { startsAt: meeting.startsAt!, endsAt: meeting.endsAt!, changeKey: moved.changeKey }));
    } catch (e) {
      if (e instanceof CalendarError) return e.outcome;
      throw e;
    }
    return { delivered: true, activityId: meeting.eventId };
  };
}

/**
 * Cancels the Outlook event of a meeting the booking pass found no longer to be held (the case
 * closed, or was reallocated: the new lead professional gets a meeting of their own), outbox kind
 * `taf-cancel`. The organiser's calendar loses it and everyone invited is told.
 */
export function cancelHandler(deps: Pick<BookingDeps, 'meetings' | 'directory' | 'port'>): DeliveryHandler {
  return async (message, control) => {
    const meeting = await deps.meetings.get(String(message.payload.meetingId ?? ''));
    if (!meeting || meeting.state !== 'cancelled' || !meeting.eventId) return { cancelled: true, reason: `meeting ${meeting?.state ?? 'gone'}` };
    const staff = await deps.directory.get(meeting.organiser);
    if (!staff?.email) return { failed: true, reason: 'the organiser has no e-mail address in the staff directory' };
    try {
      await deps.port.cancel({ id: staff.id, email: staff.email.toLowerCase() }, meeting, () => control.begin());
    } catch (e) {
      if (e instanceof CalendarError) return e.outcome;
      throw e;
    }
    return { delivered: true, activityId: meeting.eventId };
  };
}
