import { AccessDeniedError } from '../src/access';
import type { CaseState } from '../src/caseState';
import { caseFor } from '../src/caseWork';
import type { OutboxStatus } from '../src/delivery/outbox';
import { LocalDate, londonDateOf } from '../src/localDate';
import { deadlineOf, Obligation } from '../src/obligations';
import { describePeriod } from '../src/policy';
import { OFFICE_TIME_ZONE } from '../src/reminderTime';
import { StaffMember } from '../src/staff';
import { CaseNotFoundError, CaseRecord } from '../src/storage/caseLog';
import type { TafMeeting } from '../src/storage/meetingStore';
import { TafMeetingView } from '../src/taf/booking';
import { TAF_BOOKING_KIND } from '../src/taf/bookingPass';
import { meetingIcs } from '../src/taf/icsFile';
import { tafObligationToBook } from '../src/taf/meetingNeed';
import { NOT_HELD_REASONS, NotHeldReason } from '../src/taf/meetingOutcome';
import { tafMeetingCard, TafMeetingCardData } from './cards/cards';
import { formatDay } from './cards/labels';
import { AdaptiveCard } from './cards/template';
import { obligationsOf } from './caseViews';
import { meetingFileHolder, meetingFileUrl } from './meetingLinks';
import { BotServices } from './services';

/**
 * The card about a TAF meeting (outbox kind `taf-meeting`, issue 9), drawn for its person when it
 * is delivered and again after each action on it, from the meeting and its case as they then stand:
 * booked, asking after its end whether it was held, moved, cancelled, or not bookable. Read as the
 * person (the case read is audited, and access is the core's: the lead professional or a manager of
 * the team); a view that is no longer true is not drawn, so the outbox cancels it unsent. The
 * preview names the case reference only; the family's name is in the body, in the person's own chat.
 */

/** The views the booking sends, and the two an action ends on. */
export type MeetingCardView = TafMeetingView | 'held' | 'not-held';
export const MEETING_CARD_VIEWS = ['booked', 'outcome', 'moved', 'cancelled', 'failed', 'held', 'not-held'] as const satisfies readonly MeetingCardView[];

/** What a re-shown card carries: why it is shown again, and what the person had entered. */
export interface MeetingCardExtra {
  message?: string;
  notice?: string;
  values?: { attended?: string; notHeldReason?: string; notHeldNote?: string; movedDate?: string; movedTime?: string };
}

/** The booking of a meeting in the outbox (kind `taf-booking`, one per meeting). */
export interface MeetingBooking {
  id: number;
  status: OutboxStatus;
  lastError?: string;
}

/** The outbox row that books a meeting, found by the key the booking pass gives it. */
export async function meetingBooking(services: Pick<BotServices, 'db'>, meetingId: string): Promise<MeetingBooking | null> {
  const [row] = await services.db.query<{ id: number; status: OutboxStatus; last_error: string | null }>('SELECT id, status, last_error FROM outbox WHERE dedupe_key = $1 AND kind = $2', [
    `${TAF_BOOKING_KIND}:${meetingId}`,
    TAF_BOOKING_KIND,
  ]);
  return row ? { id: row.id, status: row.status, ...(row.last_error ? { lastError: row.last_error } : {}) } : null;
}

/** Everything a view is drawn from, read once. */
interface Seen {
  services: BotServices;
  viewer: StaffMember;
  meeting: TafMeeting;
  record: CaseRecord;
  state: CaseState;
  owed: Obligation[];
  now: Date;
  today: LocalDate;
  booking: MeetingBooking | null;
}

const KIND_TITLE = { 'first-taf': 'First TAF meeting', 'taf-review': 'TAF review meeting' } as const;
const kindTitle = (m: TafMeeting) => KIND_TITLE[m.kind];
const kindWords = (m: TafMeeting) => (m.kind === 'first-taf' ? 'first TAF meeting' : 'TAF review meeting');

const LONDON_CLOCK = new Intl.DateTimeFormat('en-GB', { timeZone: OFFICE_TIME_ZONE, hour: '2-digit', minute: '2-digit', hour12: false });
/** An instant's London wall-clock time, "09:30". */
export function londonClock(instant: Date): string {
  const parts = LONDON_CLOCK.formatToParts(instant);
  return `${parts.find((p) => p.type === 'hour')?.value ?? '00'}:${parts.find((p) => p.type === 'minute')?.value ?? '00'}`;
}

/** When a meeting is, in London: "Wed 23 Dec, 09:30–11:00". */
export function meetingTime(m: Pick<TafMeeting, 'startsAt' | 'endsAt'>, today: LocalDate): string {
  if (!m.startsAt || !m.endsAt) return 'not yet booked';
  return `${formatDay(londonDateOf(m.startsAt), today)}, ${londonClock(m.startsAt)}\u2013${londonClock(m.endsAt)}`;
}

const dayOf = (s: Seen) => formatDay(londonDateOf(s.meeting.startsAt!), s.today);
const deadline = (s: Seen) => formatDay(s.meeting.deadline, s.today);
const isLate = (s: Seen) => !!s.meeting.startsAt && londonDateOf(s.meeting.startsAt) > s.meeting.deadline;
/** The rule the meeting's obligation follows, in the users' words ("TAF review every 6 weeks, 8 weeks at most"). */
const ruleOf = (s: Seen) => s.owed.find((o) => o.id === s.meeting.obligationId)?.rule;
const timescale = (s: Seen) => (ruleOf(s) ? ` (${ruleOf(s)})` : '');
const caseOpen = (s: Seen) => s.state.status !== 'closed';
const live = (s: Seen) => s.meeting.state === 'booked' && !!s.meeting.startsAt && !!s.meeting.endsAt && caseOpen(s);
const ended = (s: Seen) => !!s.meeting.endsAt && s.meeting.endsAt.getTime() <= s.now.getTime();

/** A calendar-file link stays good until a week after the meeting (and at least a day). */
const LINK_AFTER_MEETING_MS = 7 * 24 * 3600_000;
const LINK_AT_LEAST_MS = 24 * 3600_000;

/** Where the meeting is opened: its Teams meeting and Outlook event, or in local mode its calendar file. */
function linksOf(s: Seen): Pick<TafMeetingCardData, 'joinUrl' | 'webLink' | 'icsUrl'> {
  const m = s.meeting;
  const expires = new Date(Math.max((m.endsAt?.getTime() ?? 0) + LINK_AFTER_MEETING_MS, s.now.getTime() + LINK_AT_LEAST_MS));
  return {
    joinUrl: m.joinUrl ?? '',
    webLink: m.webLink ?? '',
    icsUrl: m.calendar === 'local' && m.startsAt ? meetingFileUrl(s.services.links, m.id, s.viewer.id, expires) : '',
  };
}

const minutesOf = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3, 5));
const clockOf = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** The Move form, filled with the meeting's own time. */
function moveForm(s: Seen, title: string, extra: MeetingCardExtra): TafMeetingCardData['move'] {
  const { hours, lengthMinutes } = s.services.policy.tafMeetings;
  const m = s.meeting;
  return {
    title,
    hint: `On a working day, starting between ${hours.start} and ${clockOf(minutesOf(hours.end) - lengthMinutes)} (London). It must be held by ${deadline(s)}${timescale(s)}.`,
    date: extra.values?.movedDate || (m.startsAt ? londonDateOf(m.startsAt) : s.today),
    time: extra.values?.movedTime || (m.startsAt ? londonClock(m.startsAt) : hours.start),
    today: s.today,
    timeMin: hours.start,
    timeMax: clockOf(minutesOf(hours.end) - lengthMinutes),
  };
}

const REASONS = (Object.entries(NOT_HELD_REASONS) as Array<[NotHeldReason, string]>).map(([value, title]) => ({ value, title }));

/** The local-mode line: the meeting is in the product's own calendar, and how to get it into one's own. */
const localLine = (s: Seen) => (s.meeting.calendar === 'local' ? ['Kept in the Early Help calendar (this service is not connected to Outlook): Add to my calendar puts it in yours.'] : []);

/** What a new booking will do, if the case still needs one. */
function nextBooking(s: Seen): string {
  const open = tafObligationToBook(s.owed);
  if (!caseOpen(s) || !open) return 'No new date is needed.';
  const by = deadlineOf(open);
  return by < s.today
    ? `Its deadline, ${formatDay(by, s.today)}, has passed: a new date will be booked at the first free time, and you will get a card when it is.`
    : `A new date will be booked in your calendar by ${formatDay(by, s.today)}, and you will get a card when it is.`;
}

interface ViewRule {
  /** Whether the view is still true of the meeting. */
  holds(s: Seen): boolean;
  draw(s: Seen, extra: MeetingCardExtra): Omit<TafMeetingCardData, 'heading' | 'meetingId' | 'caseId' | 'view' | 'message' | 'notice'>;
}

/** The views, as the feature list reads. */
const VIEWS: Record<MeetingCardView, ViewRule> = {
  booked: {
    holds: (s) => live(s) && !ended(s),
    draw: (s, extra) => {
      const when = meetingTime(s.meeting, s.today);
      return {
        summary: `${kindTitle(s.meeting)} for ${s.meeting.reference} booked: ${when}`,
        title: `${kindTitle(s.meeting)} booked: ${when}`,
        warnings: [
          ...(isLate(s) ? [`This is after the deadline, ${deadline(s)}: nothing was free in time${timescale(s)}. Move it earlier if a time can be found.`] : []),
          ...(s.meeting.conflicts > 0 ? [`${s.meeting.conflicts === 1 ? 'Someone' : `${s.meeting.conflicts} people`} invited ${s.meeting.conflicts === 1 ? 'is' : 'are'} not free then.`] : []),
        ],
        lines: [...(isLate(s) ? [] : [`It must be held by ${deadline(s)}: this time meets the deadline.`]), ...localLine(s)],
        ...linksOf(s),
        move: moveForm(s, 'Move', extra),
      };
    },
  },
  moved: {
    holds: (s) => live(s) && !ended(s),
    draw: (s, extra) => {
      const when = meetingTime(s.meeting, s.today);
      return {
        summary: `${kindTitle(s.meeting)} for ${s.meeting.reference} moved: ${when}`,
        title: `${kindTitle(s.meeting)} moved: ${when}`,
        warnings: isLate(s) ? [`${dayOf(s)} is after ${deadline(s)}, the latest date for this meeting: it breaks the timescale${timescale(s)}. Move it back inside the timescale if you can.`] : [],
        lines: [...(isLate(s) ? [] : [`It is still inside the timescale: it must be held by ${deadline(s)}.`]), ...localLine(s)],
        ...linksOf(s),
        move: moveForm(s, 'Move', extra),
      };
    },
  },
  outcome: {
    holds: (s) => live(s) && ended(s),
    draw: (s, extra) => ({
      summary: `Was the ${kindWords(s.meeting)} for ${s.meeting.reference} held?`,
      title: `Was the ${kindWords(s.meeting)} for ${s.meeting.reference} on ${dayOf(s)} held?`,
      lines: [
        `It was booked for ${meetingTime(s.meeting, s.today)}.`,
        `Held records it on the case and starts the ${describePeriod(s.services.policy.timescales.tafMinutes.within)} for sharing the minutes. Not held books a new date inside the timescale. Moved: give its new day and time.`,
      ],
      record: { heldDate: londonDateOf(s.meeting.startsAt!), today: s.today, reasons: REASONS, values: extra.values },
      move: moveForm(s, 'Moved', extra),
    }),
  },
  held: {
    holds: (s) => s.meeting.state === 'held',
    draw: (s) => {
      const event = s.record.events.filter((e) => e.type === 'taf-held' && (e.data as { meeting?: string }).meeting === s.meeting.id).at(-1);
      const heldOn = event?.effectiveOn ?? s.owed.find((o) => o.id === s.meeting.obligationId)?.metOn;
      const attended = (event?.data as { attended?: string } | undefined)?.attended;
      const minutes = heldOn ? s.owed.find((o) => o.kind === 'taf-minutes' && o.from === heldOn) : undefined;
      return {
        summary: `${kindTitle(s.meeting)} for ${s.meeting.reference} recorded as held`,
        title: `${kindTitle(s.meeting)} for ${s.meeting.reference}: held${heldOn ? ` on ${formatDay(heldOn, s.today)}` : ''}`,
        lines: [
          ...(attended ? [`Attended: ${attended}`] : []),
          ...(minutes ? [`The minutes and actions are to be shared with the family and agencies by ${formatDay(deadlineOf(minutes), s.today)}.`] : []),
          ...(caseOpen(s) ? ['The next TAF review will be booked in your calendar, and you will get a card when it is.'] : []),
        ],
      };
    },
  },
  'not-held': {
    holds: (s) => s.meeting.state === 'not-held',
    draw: (s) => ({
      summary: `${kindTitle(s.meeting)} for ${s.meeting.reference} recorded as not held`,
      title: `${kindTitle(s.meeting)} for ${s.meeting.reference}: not held`,
      lines: [`Why: ${NOT_HELD_REASONS[s.meeting.outcomeReason as NotHeldReason] ?? s.meeting.outcomeReason ?? 'not recorded'}.`, nextBooking(s)],
    }),
  },
  cancelled: {
    holds: (s) => s.meeting.state === 'cancelled',
    draw: (s) => ({
      summary: `${kindTitle(s.meeting)} for ${s.meeting.reference} cancelled`,
      title: `${kindTitle(s.meeting)} for ${s.meeting.reference} cancelled${s.meeting.startsAt ? `: it was booked for ${meetingTime(s.meeting, s.today)}` : ''}`,
      lines: [s.meeting.outcomeReason === 'no longer needed' ? 'It is no longer needed: the TAF was recorded on the case, or the case moved on.' : `It was cancelled in ${s.meeting.calendar === 'outlook' ? 'Outlook' : 'the calendar'}.`, nextBooking(s)],
    }),
  },
  failed: {
    holds: (s) => s.meeting.state === 'booking' && s.booking?.status === 'failed' && caseOpen(s),
    draw: (s) => {
      const where = s.meeting.calendar === 'outlook' ? 'in Outlook' : 'in the calendar';
      return {
        summary: `The ${kindWords(s.meeting)} for ${s.meeting.reference} could not be booked ${where}`,
        title: `The ${kindWords(s.meeting)} for ${s.meeting.reference} could not be booked ${where}`,
        lines: [
          ...(s.booking?.lastError ? [`What went wrong: ${s.booking.lastError}.`] : []),
          `It must be held by ${deadline(s)}${timescale(s)}. Try again; if it still cannot be booked, book it yourself and record it on the case when it is held.`,
        ],
        canRetry: true,
      };
    },
  },
};

/** Reads what the views are drawn from, as the viewer: the read is audited; refused (AccessDeniedError) unless they may act on the case. */
async function see(services: BotServices, viewer: StaffMember, meeting: TafMeeting): Promise<Seen> {
  const { record, state } = await caseFor(services, viewer, meeting.caseId, 'log-work');
  return {
    services,
    viewer,
    meeting,
    record,
    state,
    owed: obligationsOf(services, record.events),
    now: services.now(),
    today: services.today(),
    booking: meeting.state === 'booking' ? await meetingBooking(services, meeting.id) : null,
  };
}

function drawn(s: Seen, view: MeetingCardView, extra: MeetingCardExtra): AdaptiveCard {
  const family = s.state.family?.name;
  return tafMeetingCard({
    ...VIEWS[view].draw(s, extra),
    heading: `Case ${s.meeting.reference}${family ? ` \u00b7 ${family}` : ''}`,
    meetingId: s.meeting.id,
    caseId: s.meeting.caseId,
    view,
    message: extra.message,
    notice: extra.notice,
  });
}

/**
 * The meeting's card as `view`, or null when that view is no longer true of it. Throws
 * AccessDeniedError when the viewer may not act on its case, CaseNotFoundError when it is gone.
 */
export async function meetingCardFor(services: BotServices, viewer: StaffMember, meeting: TafMeeting, view: MeetingCardView, extra: MeetingCardExtra = {}): Promise<AdaptiveCard | null> {
  const s = await see(services, viewer, meeting);
  return VIEWS[view].holds(s) ? drawn(s, view, extra) : null;
}

/** The order a meeting's present view is looked for in: what it asks of the person first. */
const PRESENT_ORDER: readonly MeetingCardView[] = ['outcome', 'booked', 'failed', 'held', 'not-held', 'cancelled'];

/** The meeting's card as `view` if that is still true, else as the meeting now stands (null if no view is: e.g. still being booked). */
export async function meetingCardNow(services: BotServices, viewer: StaffMember, meeting: TafMeeting, view: MeetingCardView, extra: MeetingCardExtra = {}): Promise<AdaptiveCard | null> {
  const s = await see(services, viewer, meeting);
  const shown = [view, ...PRESENT_ORDER].find((v) => VIEWS[v].holds(s));
  return shown ? drawn(s, shown, extra) : null;
}

/** Draws a queued `taf-meeting` message for its person at delivery; null when it is no longer true, or no longer theirs to act on (then never sent). */
export async function renderMeetingView(services: BotServices, message: { recipient?: { staffId: string } | { conversationId: string } | null; payload: Record<string, unknown> }): Promise<{ card: AdaptiveCard } | null> {
  const staffId = message.recipient && 'staffId' in message.recipient ? message.recipient.staffId : null;
  const viewer = staffId ? await services.directory.get(staffId) : null;
  const view = message.payload.view as MeetingCardView;
  const meetingId = typeof message.payload.meetingId === 'string' ? message.payload.meetingId : '';
  if (!viewer?.active || !meetingId || !(MEETING_CARD_VIEWS as readonly string[]).includes(view)) return null;
  const meeting = await services.meetings.get(meetingId);
  if (!meeting) return null;
  try {
    const card = await meetingCardFor(services, viewer, meeting, view);
    return card ? { card } : null;
  } catch (e) {
    if (e instanceof AccessDeniedError || e instanceof CaseNotFoundError) return null;
    throw e;
  }
}

/** The answer to a calendar-file link: the file, or why not. */
export type MeetingFileAnswer = { status: 200; ics: string; filename: string } | { status: 403 | 404; error: string };

const BAD_LINK = 'This calendar link is not valid or has expired: open the meeting\u2019s card in Teams again.';

/**
 * A meeting's calendar file (local mode's "Add to my calendar"), for the person a signed link was
 * drawn for, if they may still read its case (the read is audited). The file carries the case
 * reference and the agenda, never a family's name (src/taf/icsFile.ts).
 */
export async function meetingFile(services: BotServices, meetingId: string, query: URLSearchParams): Promise<MeetingFileAnswer> {
  const holder = meetingFileHolder(services.links, meetingId, query, services.now());
  if (!holder) return { status: 403, error: BAD_LINK };
  const meeting = await services.meetings.get(meetingId);
  if (!meeting?.startsAt) return { status: 404, error: 'There is no such meeting.' };
  const viewer = await services.directory.get(holder);
  if (!viewer?.active) return { status: 403, error: BAD_LINK };
  try {
    await caseFor(services, viewer, meeting.caseId, 'read');
  } catch (e) {
    if (e instanceof AccessDeniedError) return { status: 403, error: `You cannot open case ${meeting.reference}.` };
    if (e instanceof CaseNotFoundError) return { status: 404, error: 'There is no such meeting.' };
    throw e;
  }
  return { status: 200, ics: meetingIcs(meeting, services.policy), filename: `${meeting.reference}-${meeting.kind}.ics` };
}

