import { TZDate } from '@date-fns/tz';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import type { DeliveryOutcome } from '../delivery/dispatcher';
import { OFFICE_TIME_ZONE } from '../reminderTime';
import { CalendarError, CalendarPort, CreatedEvent, MeetingEvent, Person } from '../taf/booking';
import type { BusyStatus, BusyTime, FreeBusy } from '../taf/slots';
import { Graph, graphFailureOf, SendOptions } from './client';

/**
 * Outlook calendars through Graph (issue 9), app-only with Calendars.ReadWrite:
 *
 * - free/busy: `POST /users/{organiser}/calendar/getSchedule` (findMeetingTimes is delegated-only),
 *   asked and answered in UTC (`Prefer: outlook.timezone="UTC"`);
 * - the meeting: `POST /users/{organiser}/events` with a Teams online meeting and a
 *   `transactionId`, so that a create tried again (a timeout, a 504, a crash) answers the event
 *   already made instead of making a second. Start and end are written in London time
 *   (`GMT Standard Time`), as a person booking it in Outlook would.
 *
 * 429, 503 and 504 are tried again by the client (src/graph/client.ts); what still fails comes back
 * to the outbox: throttled or unavailable, tried later; refused (4xx), failed for a person to see.
 */

/** Windows' name for London time, which every Exchange Online mailbox understands. */
export const OUTLOOK_LONDON = 'GMT Standard Time';

const LONDON_NAMES = new Set(['gmt standard time', 'europe/london']);
const UTC_NAMES = new Set(['utc', 'etc/utc', 'coordinated universal time', 'gmt', 'etc/gmt']);

/** Graph's `dateTimeTimeZone` for an instant, in London wall-clock time. */
export function londonDateTime(instant: Date): MicrosoftGraph.DateTimeTimeZone {
  const t = new TZDate(instant.getTime(), OFFICE_TIME_ZONE);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return { dateTime: `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}.0000000`, timeZone: OUTLOOK_LONDON };
}

/** Graph's `dateTimeTimeZone` for an instant, in UTC. */
export function utcDateTime(instant: Date): MicrosoftGraph.DateTimeTimeZone {
  return { dateTime: `${instant.toISOString().slice(0, 23)}0000`, timeZone: 'UTC' };
}

/** The instant a Graph `dateTimeTimeZone` means (UTC or London; others are refused). */
export function instantOf(value: MicrosoftGraph.DateTimeTimeZone | null | undefined): Date {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?$/.exec(value?.dateTime ?? '');
  const zone = (value?.timeZone ?? 'UTC').toLowerCase();
  if (!m) throw new Error(`not a Graph date-time: ${JSON.stringify(value?.dateTime)}`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map((n) => Number(n ?? 0));
  const ms = Number((m[7] ?? '0').padEnd(3, '0').slice(0, 3));
  if (UTC_NAMES.has(zone)) return new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms));
  if (LONDON_NAMES.has(zone)) return new Date(new TZDate(year, month - 1, day, hour, minute, second, ms, OFFICE_TIME_ZONE).getTime());
  throw new Error(`a time zone this product does not read: ${value?.timeZone}`);
}

const BUSY: ReadonlySet<string> = new Set<BusyStatus>(['busy', 'tentative', 'oof']);

/** Reads getSchedule's answer as who is busy when. */
export function freeBusyOf(answer: { value?: MicrosoftGraph.ScheduleInformation[] }): FreeBusy {
  const out = new Map<string, BusyTime[]>();
  for (const s of answer.value ?? []) {
    const times: BusyTime[] = [];
    for (const item of s.scheduleItems ?? []) {
      if (!item.status || !BUSY.has(item.status)) continue;
      times.push({ start: instantOf(item.start), end: instantOf(item.end), status: item.status as BusyStatus });
    }
    out.set((s.scheduleId ?? '').toLowerCase(), times);
  }
  return out;
}

/** The event body Graph is sent. */
export function eventBody(e: MeetingEvent): MicrosoftGraph.Event {
  return {
    subject: e.subject,
    body: { contentType: 'html', content: e.bodyHtml },
    start: londonDateTime(e.start),
    end: londonDateTime(e.end),
    attendees: e.attendees.map((a) => ({ emailAddress: { address: a.email, ...(a.name ? { name: a.name } : {}) }, type: 'required' })),
    isOnlineMeeting: true,
    onlineMeetingProvider: 'teamsForBusiness',
    showAs: 'busy',
    isReminderOn: true,
    reminderMinutesBeforeStart: 15,
    allowNewTimeProposals: true,
    transactionId: e.transactionId,
  };
}

/** What a failed Graph request means for a booking: a create is safe to repeat, so only a refusal is a failure. */
export function bookingOutcome(e: unknown): Exclude<DeliveryOutcome, { delivered: true } | { cancelled: true }> {
  const f = graphFailureOf(e);
  if (f.sent === 'no') return { reason: f.code };
  if (f.status === undefined || f.status === 429 || f.status >= 500) return { reason: f.status ? `http ${f.status} ${f.code}` : f.code, retryAfterMs: f.retryAfterMs };
  return { failed: true, reason: `http ${f.status} ${f.code}` };
}

const mailboxPath = (p: Person) => `/users/${encodeURIComponent(p.email)}`;

export function graphCalendar(graph: Graph): CalendarPort {
  return {
    kind: 'outlook',
    async freeBusy(organiser, people, range) {
      try {
        const answer = (await graph.client
          .api(`${mailboxPath(organiser)}/calendar/getSchedule`)
          .header('Prefer', 'outlook.timezone="UTC"')
          .post({ schedules: people, startTime: utcDateTime(range.start), endTime: utcDateTime(range.end), availabilityViewInterval: 30 })) as { value?: MicrosoftGraph.ScheduleInformation[] };
        return freeBusyOf(answer);
      } catch (e) {
        throw new CalendarError(bookingOutcome(e));
      }
    },
    async create(organiser, event, _meeting, begin) {
      let created: MicrosoftGraph.Event;
      try {
        created = (await graph.client
          .api(`${mailboxPath(organiser)}/events`)
          .header('Prefer', 'outlook.timezone="UTC"')
          .middlewareOptions([new SendOptions({ beforeSend: begin })])
          .post(eventBody(event))) as MicrosoftGraph.Event;
      } catch (e) {
        throw new CalendarError(bookingOutcome(e));
      }
      return createdEventOf(created);
    },
    async move(organiser, meeting, begin) {
      if (!meeting.eventId || !meeting.startsAt || !meeting.endsAt) throw new CalendarError({ failed: true, reason: 'the meeting has no event to move' });
      try {
        const moved = (await graph.client
          .api(`${mailboxPath(organiser)}/events/${encodeURIComponent(meeting.eventId)}`)
          .header('Prefer', 'outlook.timezone="UTC"')
          .middlewareOptions([new SendOptions({ beforeSend: begin })])
          .patch({ start: londonDateTime(meeting.startsAt), end: londonDateTime(meeting.endsAt) })) as MicrosoftGraph.Event;
        return moved?.changeKey ? { changeKey: moved.changeKey } : {};
      } catch (e) {
        throw new CalendarError(bookingOutcome(e));
      }
    },
    async cancel(organiser, meeting, begin) {
      try {
        await graph.client
          .api(`${mailboxPath(organiser)}/events/${encodeURIComponent(meeting.eventId!)}/cancel`)
          .middlewareOptions([new SendOptions({ beforeSend: begin })])
          .post({ Comment: `The TAF meeting for Early Help case ${meeting.reference} is no longer needed at this time.` });
      } catch (e) {
        // Already gone (deleted or cancelled in Outlook): nothing left to cancel.
        if (graphFailureOf(e).status === 404) return;
        throw new CalendarError(bookingOutcome(e));
      }
    },
  };
}

/** The meeting as the calendar made it. */
export function createdEventOf(e: MicrosoftGraph.Event): CreatedEvent {
  return {
    start: instantOf(e.start),
    end: instantOf(e.end),
    ...(e.id ? { eventId: e.id } : {}),
    ...(e.iCalUId ? { iCalUId: e.iCalUId } : {}),
    ...(e.changeKey ? { changeKey: e.changeKey } : {}),
    ...(e.onlineMeeting?.joinUrl ? { joinUrl: e.onlineMeeting.joinUrl } : {}),
    ...(e.webLink ? { webLink: e.webLink } : {}),
  };
}
