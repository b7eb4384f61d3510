import { randomBytes, randomUUID } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import type { Answer, Csdl, DirectoryUser, GraphCall } from './graphServer';
import { readReference } from './shared';

/**
 * Outlook calendars behind the loopback Graph (graphServer.ts routes to `route()` from `graphCall`,
 * so these also answer inside `$batch`, and `fail()` reaches them). Every route needs the
 * application permission Calendars.ReadWrite (403 `ErrorAccessDenied` otherwise):
 *
 * - `POST /users/{id}/calendar/getSchedule`: free/busy of up to 20 schedules over under 62 days,
 *   the body checked against the `getSchedule` action in Graph's CSDL;
 * - `POST /users/{id}/events` (or `/calendar/events`): the body checked against `event` in the CSDL;
 *   a `transactionId` already used in the mailbox gives back the event it created (201, same id);
 * - `GET|PATCH|DELETE /users/{id}/events/{eventId}` (`$select`; `If-Match` checked against the
 *   etag), `POST /users/{id}/events/{eventId}/cancel` (202; gone from the organizer's calendar);
 * - `GET /users/{id}/calendarView/delta`: a round of pages (`Prefer: odata.maxpagesize`) ending in
 *   a `@odata.deltaLink`, whose token later gives what changed since (`@removed` for what left);
 * - `POST|GET /subscriptions`, `GET|PATCH|DELETE /subscriptions/{id}` on `/users/{id}/events`:
 *   the notification URL validated by Graph's handshake before the answer, change notifications
 *   POSTed to it, in the background, on every change made through the API or the test controls.
 *
 * Times: `dateTimeTimeZone` values are read in their time zone (an IANA name, `UTC`, or the Windows
 * name `GMT Standard Time`) through Intl, so British Summer Time is applied as the calendar has it;
 * events and schedules are answered in the `Prefer: outlook.timezone` zone, UTC without one.
 *
 * A mailbox is the `{id}` of `/users/{id}/...`: with users in the directory, a user's id, mail or
 * userPrincipalName all name that user's mailbox (any other is 404 `ErrorInvalidUser`, as Exchange
 * answers); with an empty directory every mailbox exists, named by its id in lower case.
 */

export interface DateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

/** An event as stored: Graph's `event` with the start and end given when it was made or last moved. */
export interface CalendarEvent {
  id: string;
  iCalUId: string;
  changeKey: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  transactionId: string | null;
  subject: string;
  body: { contentType: MicrosoftGraph.BodyType; content: string };
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  attendees: Array<{ type: MicrosoftGraph.AttendeeType; status: { response: MicrosoftGraph.ResponseType; time: string }; emailAddress: { name: string; address: string } }>;
  organizer: { emailAddress: { name: string; address: string } };
  isCancelled: boolean;
  showAs: MicrosoftGraph.FreeBusyStatus;
  isOnlineMeeting: boolean;
  onlineMeetingProvider: MicrosoftGraph.OnlineMeetingProviderType;
  onlineMeeting: { joinUrl: string } | null;
  webLink: string;
  [property: string]: unknown;
}

export interface Subscription {
  id: string;
  resource: string;
  applicationId: string;
  changeType: string;
  clientState: string | null;
  notificationUrl: string;
  notificationQueryOptions: null;
  lifecycleNotificationUrl: string | null;
  expirationDateTime: string;
  creatorId: string;
  includeResourceData: boolean;
  latestSupportedTlsVersion: string;
  encryptionCertificate: null;
  encryptionCertificateId: null;
  notificationUrlAppId: null;
  notificationContentType: string;
}

export interface NotificationRecord {
  subscriptionId: string;
  changeType: ChangeType;
  eventId: string;
  /** The HTTP status the notification URL answered; `pending` until then; `dropped` by `dropNotifications`; `unreachable` without an answer. */
  status: number | 'pending' | 'dropped' | 'unreachable';
  at: number;
}

export interface ValidationRecord {
  url: string;
  ok: boolean;
  /** The status answered, or why there was none. */
  status: number | 'timeout' | 'unreachable';
  at: number;
}

export type ChangeType = 'created' | 'updated' | 'deleted';

/** What a person does in Outlook, and what a test checks: `server.calendar`. */
export interface CalendarControls {
  /** The mailbox's live events (not deleted nor cancelled), as stored, oldest first. */
  events(mailbox: string): CalendarEvent[];
  /** Puts a block in the calendar (an event, subject 'Busy' unless given, in GMT Standard Time); notifies 'created'. */
  addBusy(mailbox: string, block: { start: Date; end: Date; status?: 'busy' | 'tentative' | 'oof'; subject?: string }): CalendarEvent;
  /** Moves the event (new changeKey and lastModifiedDateTime); notifies 'updated'. */
  userMoves(mailbox: string, eventId: string, to: { start: Date; end: Date }): CalendarEvent;
  /** Deletes the event from the calendar; notifies 'deleted'. */
  userCancels(mailbox: string, eventId: string): void;
  /** The live subscriptions (not deleted, not expired). */
  readonly subscriptions: Subscription[];
  /** Every change notification attempted, in order. */
  notifications: NotificationRecord[];
  /** Every notification URL validation attempted. */
  validations: ValidationRecord[];
  /** The next `count` change notifications are recorded as dropped and not sent. */
  dropNotifications(count: number): void;
  /** Resolves once every change notification under way has been answered (or has failed). */
  settled(): Promise<void>;
  /** Forgets every delta state token: the next delta call with one is answered 410, as after Exchange discards a sync state. */
  expireSyncStates(): void;
  /** How long the notification URL has to answer: Graph's 10 s for validation, 3 s for a notification. */
  timeouts: { validationMs: number; notificationMs: number };
  /** Empties every calendar and drops every subscription and sync state. */
  clear(): void;
}

export interface CalendarService {
  /** The answer to a calendar or subscription request, or null when the path is none of these. */
  route(call: GraphCall, path: string, query: URLSearchParams): Promise<Answer | null>;
  controls: CalendarControls;
  /** Forgets what was recorded (notifications, validations, drops), not the calendars. */
  resetRecords(): void;
}

export interface CalendarServiceOptions {
  csdl: Csdl;
  csdlFault: (csdl: Csdl, type: string, value: unknown, where: string) => string | null;
  csdlProperty: (csdl: Csdl, type: string, property: string) => { type: string } | undefined;
  graphError: (status: number, code: string, message: string, headers?: Record<string, string>) => Answer;
  /** The server's base URL, known once it listens. */
  endpoint: () => string;
  tenantId: string;
  /** The app's client id: a subscription's applicationId. */
  clientId: string;
  /** The directory (server.users), read on every request. */
  users: () => Map<string, DirectoryUser>;
}

/** Outlook event, message and contact subscriptions last at most 10,080 minutes (under 7 days). */
export const MAX_SUBSCRIPTION_MINUTES = 10_080;
/** getSchedule looks up at most 20 schedules at once, over a period of under 62 days. */
export const MAX_SCHEDULES = 20;
export const MAX_SCHEDULE_DAYS = 62;
/** Events per delta page without `Prefer: odata.maxpagesize`. */
export const DEFAULT_DELTA_PAGE = 10;

const ACCESS_DENIED = 'Access is denied. Check credentials and try again.';
const NOT_IN_STORE = 'The specified object was not found in the store.';
const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
const NO_RESPONSE_TIME = '0001-01-01T00:00:00Z';
/** Properties the server sets: not to be given in a create or an update. */
const READ_ONLY = ['id', 'iCalUId', 'changeKey', 'createdDateTime', 'lastModifiedDateTime', 'webLink', 'isCancelled', 'onlineMeeting', 'isOrganizer', 'type', 'seriesMasterId', 'responseStatus'];
/** Given but not taken: the organizer is always the mailbox's owner (an app cannot organize for someone else). */
const IGNORED = ['organizer', '@odata.type', '@odata.etag'];
/** Delta over a calendarView takes none of these (Graph: "not supported with change tracking"). */
const DELTA_UNSUPPORTED = ['$select', '$expand', '$filter', '$orderby', '$search'];

// ---------------------------------------------------------------------------------------------
// Time zones: wall-clock times read and written through Intl, so daylight saving is the zone's own.

/** Windows time zone names (as Outlook and the Prefer header use them) and their IANA zones. */
const WINDOWS_ZONES: Record<string, string> = { 'GMT Standard Time': 'Europe/London', UTC: 'UTC', 'Coordinated Universal Time': 'UTC' };
const zoneFormatters = new Map<string, Intl.DateTimeFormat>();

/** The IANA zone a `timeZone` value names, or null when it is not one (Graph: TimeZoneNotSupportedException). */
export function ianaZone(name: string): string | null {
  if (!name) return null;
  const iana = WINDOWS_ZONES[name] ?? name;
  if (!zoneFormatters.has(iana)) {
    try {
      zoneFormatters.set(iana, new Intl.DateTimeFormat('en-US', { timeZone: iana, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }));
    } catch {
      return null;
    }
  }
  return iana;
}

/** The wall clock in `iana` at instant `ms`, as milliseconds of a UTC date with the same fields. */
function wallClock(ms: number, iana: string): number {
  const parts = Object.fromEntries(zoneFormatters.get(iana)!.formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  return Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)) + (((ms % 1000) + 1000) % 1000);
}

/**
 * The instant a wall-clock time in `iana` stands for. A time the clocks skip (01:30 as BST starts) is
 * read an hour on, as Windows does; a time they pass twice (01:30 as BST ends) as the standard-time one.
 */
function instantOf(wall: number, iana: string): number {
  let t = wall - (wallClock(wall, iana) - wall);
  t = wall - (wallClock(t, iana) - t);
  return t;
}

/** `YYYY-MM-DDTHH:mm:ss.fffffff`, the wall clock in the zone (Graph's seven fractional digits). */
function wallClockString(ms: number, iana: string): string {
  return `${new Date(wallClock(ms, iana)).toISOString().slice(0, 23)}0000`;
}

/** Graph's DateTimeOffset form: `2026-03-30T08:00:00.1230000Z`. */
const offsetString = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}0000Z`;

/** A `dateTimeTimeZone` as an instant in its zone, or a Graph error for it. */
export function readDateTimeTimeZone(value: unknown, where: string): { ms: number; value: DateTimeTimeZone } | { code: string; message: string } {
  const v = value as { dateTime?: unknown; timeZone?: unknown } | null;
  if (!v || typeof v !== 'object' || typeof v.dateTime !== 'string') return { code: 'ErrorInvalidRequest', message: `${where} must be a dateTimeTimeZone: { dateTime, timeZone }.` };
  const zoneName = typeof v.timeZone === 'string' ? v.timeZone : '';
  const iana = ianaZone(zoneName);
  if (!iana) return { code: 'TimeZoneNotSupportedException', message: `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${zoneName}'.` };
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|[+-]\d{2}:\d{2})?$/.exec(v.dateTime);
  if (!m) return { code: 'ErrorInvalidRequest', message: `${where}.dateTime '${v.dateTime}' is not a date and time (yyyy-MM-ddTHH:mm:ss).` };
  // An offset would contradict the time zone unless both say UTC: the wall clock and its zone are what Graph reads.
  if (m[8] && !(iana === 'UTC' && (m[8] === 'Z' || m[8] === '+00:00'))) return { code: 'ErrorInvalidRequest', message: `${where}.dateTime '${v.dateTime}' carries an offset: give the wall-clock time and its timeZone.` };
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0));
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  const check = new Date(wall);
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59) {
    return { code: 'ErrorInvalidRequest', message: `${where}.dateTime '${v.dateTime}' is not a valid date and time.` };
  }
  const dateTime = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}.${(m[7] ?? '').padEnd(7, '0')}`;
  return { ms: instantOf(wall, iana), value: { dateTime, timeZone: zoneName } };
}

/** The instant as a `dateTimeTimeZone` in the named zone (already known valid). */
function inZone(ms: number, zoneName: string): DateTimeTimeZone {
  return { dateTime: wallClockString(ms, ianaZone(zoneName)!), timeZone: zoneName };
}

/** `Prefer: outlook.timezone="..."` (several preferences may share the header), or undefined. */
function preferredZone(headers: Record<string, string>): string | undefined {
  const m = /outlook\.timezone\s*=\s*(?:"([^"]*)"|([^,;\s]+))/i.exec(headers.prefer ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

/** `Prefer: odata.maxpagesize=N`, or undefined. */
function preferredPageSize(headers: Record<string, string>): number | undefined {
  const m = /odata\.maxpagesize\s*=\s*"?(\d+)/i.exec(headers.prefer ?? '');
  return m ? Math.max(1, Math.min(1000, Number(m[1]))) : undefined;
}

// ---------------------------------------------------------------------------------------------

interface Mailbox {
  /** The mailbox's identity: the directory user's id, or the `{id}` in lower case with an empty directory. */
  key: string;
  address: string;
  name: string;
}

interface Stored {
  mailbox: Mailbox;
  event: CalendarEvent;
  startMs: number;
  endMs: number;
  /** Deleted or cancelled: kept so that delta can say it went. */
  gone: boolean;
  /** The change counter when it last changed. */
  seq: number;
}

interface LiveSubscription {
  subscription: Subscription;
  mailbox: Mailbox;
  changeTypes: Set<string>;
  expiresMs: number;
}

/** A delta round's state: the mailbox and window, and the last change it has seen. */
interface SyncState {
  mailbox: string;
  startMs: number;
  endMs: number;
  seq: number;
}

/** A page of a delta round (the nextLink's token names one). */
interface RoundPage {
  mailbox: string;
  items: unknown[];
  offset: number;
  /** The deltaLink's state once the last page is read. */
  next: SyncState;
}

const token = (bytes = 24) => randomBytes(bytes).toString('base64url');
/** Exchange's REST ids: long, base64 with `-` and `_` for `/` and `+`. */
const newEventId = () => `AAMkA${randomBytes(105).toString('base64').replace(/\//g, '-').replace(/\+/g, '_')}`;
const newChangeKey = () => randomBytes(21).toString('base64');
const etagOf = (changeKey: string) => `W/"${changeKey}"`;

let cancelParameters: Array<{ name: string; type: string }> | undefined;
/** The `cancel` action bound to `event` in the CSDL (graphCsdl keeps one action per name, not this one). */
function eventCancelParameters(): Array<{ name: string; type: string }> {
  if (cancelParameters) return cancelParameters;
  const xml = readReference('graph/v1.0-cleanMetadata.xml');
  const action = /<Action Name="cancel" IsBound="true">\s*<Parameter Name="bindingParameter" Type="graph\.event" \/>([\s\S]*?)<\/Action>/.exec(xml);
  if (!action) throw new Error('the CSDL has no cancel action bound to graph.event');
  cancelParameters = [...action[1].matchAll(/<Parameter Name="([^"]+)" Type="([^"]+)"/g)].map((p) => ({ name: p[1], type: p[2] }));
  return cancelParameters;
}

export function createCalendarService(options: CalendarServiceOptions): CalendarService {
  const { csdl, csdlFault, csdlProperty, graphError, tenantId, clientId } = options;
  /** Service principal id of the app: every subscription's creatorId. */
  const creatorId = randomUUID();
  const calendars = new Map<string, Map<string, Stored>>();
  const subscriptions = new Map<string, LiveSubscription>();
  const syncStates = new Map<string, SyncState>();
  const roundPages = new Map<string, RoundPage>();
  const inFlight = new Set<Promise<void>>();
  let seq = 0;
  let dropLeft = 0;

  // --- mailboxes and events -------------------------------------------------------------------

  /** The mailbox `{id}` names, or null when the directory has users and none of them is it. */
  function mailboxOf(id: string): Mailbox | null {
    const lower = id.toLowerCase();
    const users = options.users();
    if (users.size === 0) return { key: lower, address: lower, name: lower };
    for (const u of users.values()) {
      if (u.id.toLowerCase() === lower || u.mail?.toLowerCase() === lower || u.userPrincipalName.toLowerCase() === lower) {
        return { key: u.id, address: u.mail ?? u.userPrincipalName, name: u.displayName };
      }
    }
    return null;
  }

  const calendarOf = (mailbox: Mailbox) => {
    let calendar = calendars.get(mailbox.key);
    if (!calendar) calendars.set(mailbox.key, (calendar = new Map()));
    return calendar;
  };
  const liveEvent = (mailbox: Mailbox, id: string) => {
    const stored = calendars.get(mailbox.key)?.get(id);
    return stored && !stored.gone ? stored : undefined;
  };
  const copy = <T>(value: T): T => structuredClone(value);

  /** The event as Graph answers it: times in the preferred zone (UTC without one). */
  function rendered(stored: Stored, zone: string | undefined): Record<string, unknown> {
    const zoneName = zone ?? 'UTC';
    return { '@odata.etag': etagOf(stored.event.changeKey), ...copy(stored.event), start: inZone(stored.startMs, zoneName), end: inZone(stored.endMs, zoneName) };
  }

  function changed(stored: Stored, changeType: ChangeType) {
    stored.seq = ++seq;
    notify(stored, changeType);
  }

  function touch(stored: Stored) {
    stored.event.changeKey = newChangeKey();
    stored.event.lastModifiedDateTime = offsetString(Date.now());
  }

  function bodyPreview(content: string) {
    return content.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 255);
  }

  function teamsJoinUrl(mailbox: Mailbox) {
    const thread = `19:meeting_${randomBytes(30).toString('base64url')}@thread.v2`;
    return `https://teams.microsoft.com/l/meetup-join/${encodeURIComponent(thread)}/0?context=${encodeURIComponent(JSON.stringify({ Tid: tenantId, Oid: mailbox.key }))}`;
  }

  /** Sets `onlineMeeting` from isOnlineMeeting and its provider (Teams, the tenant's default). */
  function settleOnlineMeeting(event: CalendarEvent, mailbox: Mailbox) {
    if (!event.isOnlineMeeting) {
      event.onlineMeeting = null;
      event.onlineMeetingProvider = 'unknown';
      return;
    }
    if (event.onlineMeetingProvider === 'unknown') event.onlineMeetingProvider = 'teamsForBusiness';
    if (event.onlineMeetingProvider === 'teamsForBusiness' && !event.onlineMeeting) event.onlineMeeting = { joinUrl: teamsJoinUrl(mailbox) };
  }

  type Attendee = CalendarEvent['attendees'][number];
  /** Attendees as Graph keeps them (no answer yet), or a fault. */
  function attendeesOf(value: unknown): Attendee[] | string {
    if (!Array.isArray(value)) return 'attendees must be an array';
    const out: Attendee[] = [];
    for (const a of value as Array<{ type?: MicrosoftGraph.AttendeeType; emailAddress?: { address?: string; name?: string } }>) {
      const address = a?.emailAddress?.address ?? '';
      if (!EMAIL.test(address)) return `At least one recipient is not valid., '${address}' is not an e-mail address.`;
      out.push({ type: a.type ?? 'required', status: { response: 'none', time: NO_RESPONSE_TIME }, emailAddress: { name: a.emailAddress?.name ?? address, address } });
    }
    return out;
  }

  /** The fault in an event body (create or update): CSDL names and types, read-only properties. */
  function eventBodyFault(body: unknown): Answer | null {
    if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(400, 'UnableToDeserializePostBody', 'Were unable to deserialize the request body: an event object is expected.');
    const fault = csdlFault(csdl, 'graph.event', body, 'body');
    if (fault) return graphError(400, 'RequestBodyRead', fault);
    const readOnly = Object.keys(body).find((k) => READ_ONLY.includes(k));
    if (readOnly) return graphError(400, 'ErrorInvalidPropertySet', `The property '${readOnly}' is read-only and can't be set.`);
    if ((body as Record<string, unknown>).recurrence) return graphError(400, 'ErrorInvalidRequest', 'The loopback Graph serves single-instance events only: recurrence is not supported here.');
    return null;
  }

  function newEvent(mailbox: Mailbox, body: Record<string, unknown>, start: { ms: number; value: DateTimeTimeZone }, end: { ms: number; value: DateTimeTimeZone }, attendees: Attendee[]): Stored {
    const now = offsetString(Date.now());
    const id = newEventId();
    const given = { ...body };
    for (const k of ['start', 'end', 'attendees', 'subject', 'body', ...IGNORED]) delete given[k];
    const content = (body.body as { content?: string } | undefined)?.content ?? '';
    const event: CalendarEvent = {
      id,
      createdDateTime: now,
      lastModifiedDateTime: now,
      changeKey: newChangeKey(),
      categories: [],
      transactionId: null,
      originalStartTimeZone: start.value.timeZone,
      originalEndTimeZone: end.value.timeZone,
      iCalUId: `040000008200E00074C5B7101A82E00800000000${randomBytes(28).toString('hex').toUpperCase()}`,
      reminderMinutesBeforeStart: 15,
      isReminderOn: true,
      hasAttachments: false,
      subject: String(body.subject),
      bodyPreview: bodyPreview(content),
      importance: 'normal',
      sensitivity: 'normal',
      isAllDay: false,
      isCancelled: false,
      isOrganizer: true,
      responseRequested: true,
      seriesMasterId: null,
      showAs: 'busy',
      type: 'singleInstance',
      webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(id)}&exvsurl=1&path=/calendar/item`,
      onlineMeetingUrl: null,
      isOnlineMeeting: false,
      onlineMeetingProvider: 'unknown',
      allowNewTimeProposals: true,
      isDraft: false,
      hideAttendees: false,
      responseStatus: { response: 'organizer', time: NO_RESPONSE_TIME },
      body: { contentType: 'html', content: '', ...(body.body as object | undefined) },
      start: start.value,
      end: end.value,
      location: { displayName: '', locationType: 'default', uniqueIdType: 'unknown', address: {}, coordinates: {} },
      locations: [],
      recurrence: null,
      attendees,
      organizer: { emailAddress: { name: mailbox.name, address: mailbox.address } },
      onlineMeeting: null,
      ...given,
    };
    settleOnlineMeeting(event, mailbox);
    const stored: Stored = { mailbox, event, startMs: start.ms, endMs: end.ms, gone: false, seq: 0 };
    calendarOf(mailbox).set(id, stored);
    changed(stored, 'created');
    return stored;
  }

  function remove(stored: Stored, cancelled: boolean) {
    stored.gone = true;
    if (cancelled) stored.event.isCancelled = true;
    touch(stored);
    changed(stored, 'deleted');
  }

  // --- routes ---------------------------------------------------------------------------------

  const timeZoneHeaders = (zone: string | undefined): Record<string, string> | undefined => (zone ? { 'Preference-Applied': `outlook.timezone="${zone}"` } : undefined);
  /** The preferred zone's fault, if it names none. */
  const zoneFault = (zone: string | undefined) => (zone !== undefined && !ianaZone(zone) ? graphError(400, 'TimeZoneNotSupportedException', `A valid TimeZone value must be specified. The following TimeZone value is not supported: '${zone}'.`) : null);
  const jsonFault = (call: GraphCall) =>
    call.body !== undefined && !(call.headers['content-type'] ?? '').startsWith('application/json') ? graphError(415, 'UnsupportedMediaType', 'The content type is not supported: application/json is expected.') : null;
  const eventContext = (mailbox: string, select?: string) => `${options.endpoint()}/v1.0/$metadata#users('${encodeURIComponent(mailbox)}')/events${select ? `(${select})` : ''}/$entity`;

  function getSchedule(call: GraphCall): Answer {
    const zone = preferredZone(call.headers);
    const badZone = zoneFault(zone) ?? jsonFault(call);
    if (badZone) return badZone;
    const body = call.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(400, 'UnableToDeserializePostBody', 'Were unable to deserialize the request body.');
    const parameters = csdl.actions.get('getSchedule')!.filter((p) => p.name !== 'bindingParameter');
    const values: Record<string, unknown> = {};
    for (const [key, given] of Object.entries(body)) {
      // Action parameters match without regard to case (the CSDL says Schedules, the documentation schedules).
      const parameter = parameters.find((p) => p.name.toLowerCase() === key.toLowerCase());
      if (!parameter) return graphError(400, 'BadRequest', `The parameter '${key}' in the request payload is not a valid parameter for the operation 'getSchedule'.`);
      // Graph's own example sends the interval as a string ("15"): an Int32 in digits is read as a number.
      const value = parameter.type === 'Edm.Int32' && typeof given === 'string' && /^\d+$/.test(given) ? Number(given) : given;
      const fault = csdlFault(csdl, parameter.type, value, key);
      if (fault) return graphError(400, 'BadRequest', fault);
      values[parameter.name] = value;
    }
    for (const required of ['Schedules', 'StartTime', 'EndTime']) {
      if (values[required] === undefined || values[required] === null) return graphError(400, 'ErrorInvalidParameter', `The value of the parameter '${required}' is empty.`);
    }
    const schedules = values.Schedules as string[];
    if (schedules.length === 0) return graphError(400, 'ErrorInvalidParameter', "The value of the parameter 'Schedules' is empty.");
    if (schedules.length > MAX_SCHEDULES) return graphError(400, 'ErrorInvalidParameter', `getSchedule looks up at most ${MAX_SCHEDULES} schedules at once; ${schedules.length} were given.`);
    const interval = (values.AvailabilityViewInterval as number | undefined) ?? 30;
    if (!Number.isInteger(interval) || interval < 5 || interval > 1440) return graphError(400, 'ErrorInvalidParameter', 'AvailabilityViewInterval must be from 5 to 1440 minutes.');
    const start = readDateTimeTimeZone(values.StartTime, 'StartTime');
    if (!('ms' in start)) return graphError(400, start.code, start.message);
    const end = readDateTimeTimeZone(values.EndTime, 'EndTime');
    if (!('ms' in end)) return graphError(400, end.code, end.message);
    if (end.ms <= start.ms) return graphError(400, 'ErrorInvalidParameter', 'The end of the period must be after its start.');
    if (end.ms - start.ms >= MAX_SCHEDULE_DAYS * 86_400_000) return graphError(400, 'ErrorInvalidParameter', `The time period to look up must be less than ${MAX_SCHEDULE_DAYS} days.`);
    const zoneName = zone ?? 'UTC';
    const slots = Math.ceil((end.ms - start.ms) / (interval * 60_000));
    const value = schedules.map((scheduleId) => {
      // Schedules are SMTP addresses; with users in the directory, only theirs resolve.
      const owner = options.users().size > 0 || EMAIL.test(scheduleId) ? mailboxOf(scheduleId) : null;
      if (!owner) return { scheduleId, error: { message: `Unable to resolve e-mail address ${scheduleId} to an Active Directory object.`, responseCode: '5009' } } satisfies MicrosoftGraph.ScheduleInformation;
      const items = [...(calendars.get(owner.key)?.values() ?? [])]
        .filter((s) => !s.gone && !s.event.isCancelled && s.event.showAs !== 'free' && s.startMs < end.ms && s.endMs > start.ms)
        .sort((a, b) => a.startMs - b.startMs || a.endMs - b.endMs);
      // 0 free (and working elsewhere, which Graph shows as 0 for backward compatibility), 1 tentative, 2 busy, 3 away.
      const weight: Record<string, number> = { tentative: 1, busy: 2, oof: 3 };
      let view = '';
      for (let i = 0; i < slots; i++) {
        const from = start.ms + i * interval * 60_000;
        const to = Math.min(end.ms, from + interval * 60_000);
        view += String(Math.max(0, ...items.filter((s) => s.startMs < to && s.endMs > from).map((s) => weight[s.event.showAs] ?? 0)));
      }
      return {
        scheduleId,
        availabilityView: view,
        scheduleItems: items.map((s) => {
          const location = (s.event.location as { displayName?: string } | undefined)?.displayName;
          return { isPrivate: false, status: s.event.showAs as MicrosoftGraph.FreeBusyStatus, ...(s.event.subject ? { subject: s.event.subject } : {}), ...(location ? { location } : {}), start: inZone(s.startMs, zoneName), end: inZone(s.endMs, zoneName) } satisfies MicrosoftGraph.ScheduleItem;
        }),
        workingHours: { daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'], startTime: '08:00:00.0000000', endTime: '17:00:00.0000000', timeZone: { name: 'GMT Standard Time' } },
      } satisfies MicrosoftGraph.ScheduleInformation;
    });
    return { status: 200, headers: timeZoneHeaders(zone), body: { '@odata.context': `${options.endpoint()}/v1.0/$metadata#Collection(microsoft.graph.scheduleInformation)`, value } };
  }

  function createEvent(mailbox: Mailbox, mailboxId: string, call: GraphCall): Answer {
    const zone = preferredZone(call.headers);
    const early = zoneFault(zone) ?? jsonFault(call) ?? eventBodyFault(call.body);
    if (early) return early;
    const body = call.body as Record<string, unknown>;
    if (typeof body.subject !== 'string' || !body.subject.trim()) return graphError(400, 'ErrorInvalidRequest', 'Your request can\u2019t be completed. The event needs a subject.');
    if (!body.start || !body.end) return graphError(400, 'ErrorInvalidRequest', 'Your request can\u2019t be completed. The event needs a start and an end.');
    const start = readDateTimeTimeZone(body.start, 'start');
    if (!('ms' in start)) return graphError(400, start.code, start.message);
    const end = readDateTimeTimeZone(body.end, 'end');
    if (!('ms' in end)) return graphError(400, end.code, end.message);
    if (end.ms <= start.ms) return graphError(400, 'ErrorInvalidRequest', 'Your request can\u2019t be completed. The end of the event must be after its start.');
    const attendees = body.attendees === undefined || body.attendees === null ? [] : attendeesOf(body.attendees);
    if (typeof attendees === 'string') return graphError(400, 'ErrorInvalidRecipients', attendees);
    const transactionId = typeof body.transactionId === 'string' && body.transactionId ? body.transactionId : null;
    // A create sent again (the answer to the first was lost): the event it made, never a second one.
    const existing = transactionId ? [...calendarOf(mailbox).values()].find((s) => !s.gone && s.event.transactionId === transactionId) : undefined;
    const stored = existing ?? newEvent(mailbox, body, start, end, attendees);
    return { status: 201, headers: timeZoneHeaders(zone), body: { '@odata.context': eventContext(mailboxId), ...rendered(stored, zone) } };
  }

  function selectFault(select: string[]): Answer | null {
    const unknown = select.find((name) => !csdlProperty(csdl, 'graph.event', name));
    return unknown ? graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${unknown}' on type 'microsoft.graph.event'.`) : null;
  }

  function getEvent(mailbox: Mailbox, mailboxId: string, id: string, query: URLSearchParams, call: GraphCall): Answer {
    const zone = preferredZone(call.headers);
    const select = (query.get('$select') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const early = zoneFault(zone) ?? selectFault(select);
    if (early) return early;
    const stored = liveEvent(mailbox, id);
    if (!stored) return graphError(404, 'ErrorItemNotFound', NOT_IN_STORE);
    const all = rendered(stored, zone);
    const picked = select.length ? Object.fromEntries(['@odata.etag', 'id', ...select].map((k) => [k, all[k] ?? null])) : all;
    return { status: 200, headers: timeZoneHeaders(zone), body: { '@odata.context': eventContext(mailboxId, select.join(',')), ...picked } };
  }

  /** `If-Match` (an etag, or `*`) against the event's: Exchange's ErrorIrresolvableConflict when stale. */
  function ifMatchFault(stored: Stored, call: GraphCall): Answer | null {
    const ifMatch = call.headers['if-match'];
    if (!ifMatch || ifMatch === '*' || ifMatch === etagOf(stored.event.changeKey)) return null;
    return graphError(412, 'ErrorIrresolvableConflict', 'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.');
  }

  function updateEvent(mailbox: Mailbox, mailboxId: string, id: string, call: GraphCall): Answer {
    const zone = preferredZone(call.headers);
    const early = zoneFault(zone) ?? jsonFault(call) ?? eventBodyFault(call.body);
    if (early) return early;
    const stored = liveEvent(mailbox, id);
    if (!stored) return graphError(404, 'ErrorItemNotFound', NOT_IN_STORE);
    const conflict = ifMatchFault(stored, call);
    if (conflict) return conflict;
    const body = call.body as Record<string, unknown>;
    const start = body.start !== undefined ? readDateTimeTimeZone(body.start, 'start') : { ms: stored.startMs, value: stored.event.start };
    if (!('ms' in start)) return graphError(400, start.code, start.message);
    const end = body.end !== undefined ? readDateTimeTimeZone(body.end, 'end') : { ms: stored.endMs, value: stored.event.end };
    if (!('ms' in end)) return graphError(400, end.code, end.message);
    if (end.ms <= start.ms) return graphError(400, 'ErrorInvalidRequest', 'Your request can\u2019t be completed. The end of the event must be after its start.');
    if (body.subject !== undefined && (typeof body.subject !== 'string' || !body.subject.trim())) return graphError(400, 'ErrorInvalidRequest', 'Your request can\u2019t be completed. The event needs a subject.');
    const attendees = body.attendees !== undefined ? attendeesOf(body.attendees ?? []) : stored.event.attendees;
    if (typeof attendees === 'string') return graphError(400, 'ErrorInvalidRecipients', attendees);
    const event = stored.event;
    for (const [key, value] of Object.entries(body)) {
      if (!['start', 'end', 'attendees', ...IGNORED].includes(key)) event[key] = copy(value);
    }
    if (body.body !== undefined) event.bodyPreview = bodyPreview(event.body?.content ?? '');
    event.start = start.value;
    event.end = end.value;
    event.originalStartTimeZone = start.value.timeZone;
    event.originalEndTimeZone = end.value.timeZone;
    event.attendees = attendees;
    stored.startMs = start.ms;
    stored.endMs = end.ms;
    settleOnlineMeeting(event, mailbox);
    touch(stored);
    changed(stored, 'updated');
    return { status: 200, headers: timeZoneHeaders(zone), body: { '@odata.context': eventContext(mailboxId), ...rendered(stored, zone) } };
  }

  function deleteEvent(mailbox: Mailbox, id: string, call: GraphCall): Answer {
    const stored = liveEvent(mailbox, id);
    if (!stored) return graphError(404, 'ErrorItemNotFound', NOT_IN_STORE);
    const conflict = ifMatchFault(stored, call);
    if (conflict) return conflict;
    remove(stored, false);
    return { status: 204 };
  }

  function cancelEvent(mailbox: Mailbox, id: string, call: GraphCall): Answer {
    const early = jsonFault(call);
    if (early) return early;
    const body = (call.body ?? {}) as Record<string, unknown>;
    if (typeof body !== 'object' || Array.isArray(body) || body === null) return graphError(400, 'UnableToDeserializePostBody', 'Were unable to deserialize the request body.');
    const parameters = eventCancelParameters();
    for (const [key, value] of Object.entries(body)) {
      const parameter = parameters.find((p) => p.name.toLowerCase() === key.toLowerCase());
      if (!parameter) return graphError(400, 'BadRequest', `The parameter '${key}' in the request payload is not a valid parameter for the operation 'cancel'.`);
      const fault = csdlFault(csdl, parameter.type, value, key);
      if (fault) return graphError(400, 'BadRequest', fault);
    }
    const stored = liveEvent(mailbox, id);
    if (!stored) return graphError(404, 'ErrorItemNotFound', NOT_IN_STORE);
    // The organizer's cancel sends the cancellation and takes the meeting out of their calendar.
    remove(stored, true);
    return { status: 202 };
  }

  // --- delta ----------------------------------------------------------------------------------

  /** A delta window bound: an ISO date and time, read as UTC without an offset (as calendarView does). */
  function windowBound(value: string | null): number | null {
    if (!value) return null;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})?$/i.test(value)) return null;
    const iso = /(Z|[+-]\d{2}:\d{2})$/i.test(value) ? value : `${value}Z`;
    const ms = Date.parse(iso.replace(/(\.\d{3})\d+/, '$1'));
    return Number.isFinite(ms) ? ms : null;
  }

  const syncStateGone = () => graphError(410, 'SyncStateNotFound', 'The sync state generation is not found. Start a new round of change tracking (resyncRequired).');

  function delta(mailbox: Mailbox, mailboxId: string, query: URLSearchParams, call: GraphCall): Answer {
    const zone = preferredZone(call.headers);
    const badZone = zoneFault(zone);
    if (badZone) return badZone;
    const params = new Map([...query.entries()].map(([k, v]) => [k.toLowerCase(), v]));
    const unsupported = DELTA_UNSUPPORTED.filter((p) => params.has(p));
    if (unsupported.length) return graphError(400, 'ErrorInvalidUrlQuery', `The following parameters are not supported with change tracking over the 'CalendarView' resource: '${unsupported.join(', ')}'.`);
    const pageSize = preferredPageSize(call.headers);
    const link = (name: '$skiptoken' | '$deltatoken', value: string) => `${options.endpoint()}/v1.0/users/${encodeURIComponent(mailboxId)}/calendarView/delta?${name}=${value}`;
    const size = pageSize ?? DEFAULT_DELTA_PAGE;
    const answer = (items: unknown[], after: string | undefined, next: SyncState): Answer => {
      const headers: Record<string, string> = {};
      if (pageSize) headers['Preference-Applied'] = `odata.maxpagesize=${pageSize}`;
      if (zone) headers['Preference-Applied'] = [headers['Preference-Applied'], `outlook.timezone="${zone}"`].filter(Boolean).join(', ');
      let tail: Record<string, string>;
      if (after !== undefined) {
        tail = { '@odata.nextLink': link('$skiptoken', after) };
      } else {
        const deltaToken = token();
        syncStates.set(deltaToken, next);
        tail = { '@odata.deltaLink': link('$deltatoken', deltaToken) };
      }
      return { status: 200, headers, body: { '@odata.context': `${options.endpoint()}/v1.0/$metadata#Collection(event)`, ...tail, value: items } };
    };
    /** The first page of a round; the rest wait under skip tokens. */
    const page = (items: unknown[], offset: number, next: SyncState): Answer => {
      const slice = items.slice(offset, offset + size);
      if (offset + size >= items.length) return answer(slice, undefined, next);
      const skipToken = token();
      roundPages.set(skipToken, { mailbox: mailbox.key, items, offset: offset + size, next });
      return answer(slice, skipToken, next);
    };
    const skipToken = params.get('$skiptoken');
    if (skipToken) {
      const round = roundPages.get(skipToken);
      if (!round || round.mailbox !== mailbox.key) return syncStateGone();
      return page(round.items, round.offset, round.next);
    }
    const item = (s: Stored) => ({ '@odata.type': '#microsoft.graph.event', ...rendered(s, zone) });
    const removed = (s: Stored) => ({ '@odata.type': '#microsoft.graph.event', id: s.event.id, '@removed': { reason: 'deleted' } });
    const inWindow = (s: Stored, state: { startMs: number; endMs: number }) => !s.gone && !s.event.isCancelled && s.startMs < state.endMs && s.endMs > state.startMs;
    const all = [...(calendars.get(mailbox.key)?.values() ?? [])];
    const deltaToken = params.get('$deltatoken');
    if (deltaToken) {
      const state = syncStates.get(deltaToken);
      if (!state || state.mailbox !== mailbox.key) return syncStateGone();
      // What changed since the token: in the window, the event; otherwise `@removed` (Graph also
      // reports under @removed changes to events outside the window; the client filters them).
      const items = all.filter((s) => s.seq > state.seq).sort((a, b) => a.seq - b.seq).map((s) => (inWindow(s, state) ? item(s) : removed(s)));
      return page(items, 0, { ...state, seq });
    }
    const startMs = windowBound(params.get('startdatetime') ?? null);
    const endMs = windowBound(params.get('enddatetime') ?? null);
    if (startMs === null || endMs === null) return graphError(400, 'ErrorInvalidParameter', 'This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.');
    if (endMs <= startMs) return graphError(400, 'ErrorInvalidParameter', 'The EndDateTime must be after the StartDateTime.');
    const state: SyncState = { mailbox: mailbox.key, startMs, endMs, seq };
    const items = all.filter((s) => inWindow(s, state)).sort((a, b) => a.startMs - b.startMs).map(item);
    return page(items, 0, state);
  }

  // --- subscriptions and change notifications -------------------------------------------------

  const live = (s: LiveSubscription) => s.expiresMs > Date.now();

  /** Graph takes only https notification URLs. Loopback relaxation: plain http to 127.0.0.1, localhost or [::1] is accepted too, since the product's server in tests listens on loopback without TLS. */
  function notificationUrlFault(url: unknown, name: string): string | null {
    if (typeof url !== 'string') return `${name} is required.`;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return `Invalid ${name} '${url}'.`;
    }
    if (parsed.protocol === 'https:') return null;
    if (parsed.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname)) return null;
    return `Invalid ${name} '${url}': the URL must use HTTPS.`;
  }

  /** The expiration asked for: in the future, and no further than Outlook's maximum. */
  function readExpiration(value: unknown, operation: 'Create' | 'Update'): { ms: number } | Answer {
    const ms = typeof value === 'string' ? Date.parse(value) : NaN;
    if (!Number.isFinite(ms)) return graphError(400, 'InvalidRequest', 'expirationDateTime is required and must be a date and time (DateTimeOffset).');
    const now = Date.now();
    if (ms <= now) return graphError(400, 'ExtensionError', `Operation: ${operation}; Exception: [Status Code: BadRequest; Reason: Subscription expiration must be in the future.]`);
    if (ms > now + MAX_SUBSCRIPTION_MINUTES * 60_000) return graphError(400, 'ExtensionError', `Subscription expiration can only be ${MAX_SUBSCRIPTION_MINUTES} minutes in the future.`);
    return { ms };
  }

  /** Graph's handshake: POST `?validationToken=` (URL-encoded), answered 200 text/plain with the token, decoded, within the time allowed. */
  async function validateUrl(url: string): Promise<string | null> {
    const validationToken = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const target = new URL(url);
    target.search = `${target.search ? `${target.search}&` : '?'}validationToken=${encodeURIComponent(validationToken)}`;
    const record: ValidationRecord = { url, ok: false, status: 'unreachable', at: Date.now() };
    controls.validations.push(record);
    try {
      const response = await fetch(target, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: '', signal: AbortSignal.timeout(controls.timeouts.validationMs) });
      record.status = response.status;
      const text = await response.text();
      record.ok = response.status === 200 && (response.headers.get('content-type') ?? '').toLowerCase().startsWith('text/plain') && text === validationToken;
    } catch (e) {
      if ((e as Error)?.name === 'TimeoutError') {
        record.status = 'timeout';
        return 'Subscription validation request timed out.';
      }
    }
    return record.ok ? null : 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.';
  }

  function subscriptionBody(s: LiveSubscription) {
    return { '@odata.context': `${options.endpoint()}/v1.0/$metadata#subscriptions/$entity`, ...copy(s.subscription) };
  }

  async function createSubscription(call: GraphCall): Promise<Answer> {
    const early = jsonFault(call);
    if (early) return early;
    const body = call.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(400, 'InvalidRequest', 'A subscription object is expected.');
    const fault = csdlFault(csdl, 'graph.subscription', body, 'body');
    if (fault) return graphError(400, 'InvalidRequest', fault);
    if (body.includeResourceData === true) return graphError(400, 'InvalidRequest', 'Rich notifications (includeResourceData) are not served by the loopback Graph.');
    const changeTypes = String(body.changeType ?? '').split(',').map((c) => c.trim());
    if (!body.changeType || changeTypes.some((c) => !['created', 'updated', 'deleted'].includes(c)) || new Set(changeTypes).size !== changeTypes.length) {
      return graphError(400, 'InvalidRequest', "changeType must be one or more of 'created', 'updated', 'deleted', separated by commas.");
    }
    const resource = String(body.resource ?? '');
    const target = /^\/?users\/([^/]+)\/events$/i.exec(resource);
    if (!target) return graphError(400, 'InvalidRequest', `The resource '${resource}' is not supported here: subscribe to '/users/{id}/events'.`);
    const mailbox = mailboxOf(decodeURIComponent(target[1]));
    if (!mailbox) return graphError(404, 'ExtensionError', `Operation: Create; Exception: [Status Code: NotFound; Reason: The requested user '${target[1]}' is invalid.]`);
    const expiration = readExpiration(body.expirationDateTime, 'Create');
    if (!('ms' in expiration)) return expiration;
    if (typeof body.clientState === 'string' && body.clientState.length > 128) return graphError(400, 'InvalidRequest', 'clientState can be at most 128 characters.');
    for (const name of ['notificationUrl', 'lifecycleNotificationUrl'] as const) {
      if (name === 'lifecycleNotificationUrl' && (body[name] === undefined || body[name] === null)) continue;
      const bad = notificationUrlFault(body[name], name);
      if (bad) return graphError(400, 'InvalidRequest', bad);
    }
    for (const name of ['notificationUrl', 'lifecycleNotificationUrl'] as const) {
      if (typeof body[name] !== 'string') continue;
      const failed = await validateUrl(body[name] as string);
      if (failed) return graphError(400, 'InvalidRequest', failed);
    }
    const subscription: Subscription = {
      id: randomUUID(),
      resource,
      applicationId: clientId,
      changeType: String(body.changeType),
      clientState: typeof body.clientState === 'string' ? body.clientState : null,
      notificationUrl: String(body.notificationUrl),
      notificationQueryOptions: null,
      lifecycleNotificationUrl: typeof body.lifecycleNotificationUrl === 'string' ? body.lifecycleNotificationUrl : null,
      expirationDateTime: offsetString(expiration.ms),
      creatorId,
      includeResourceData: false,
      latestSupportedTlsVersion: typeof body.latestSupportedTlsVersion === 'string' ? body.latestSupportedTlsVersion : 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
      notificationContentType: 'application/json',
    };
    const entry: LiveSubscription = { subscription, mailbox, changeTypes: new Set(changeTypes), expiresMs: expiration.ms };
    subscriptions.set(subscription.id, entry);
    return { status: 201, body: subscriptionBody(entry) };
  }

  function subscriptionNotFound(id: string) {
    return graphError(404, 'ResourceNotFound', `The object was not found. Subscription '${id}' does not exist or has expired.`);
  }

  function renewSubscription(id: string, call: GraphCall): Answer {
    const early = jsonFault(call);
    if (early) return early;
    const entry = subscriptions.get(id);
    if (!entry || !live(entry)) return subscriptionNotFound(id);
    const body = call.body as Record<string, unknown> | null;
    const other = body && typeof body === 'object' ? Object.keys(body).find((k) => k !== 'expirationDateTime') : undefined;
    if (other) return graphError(400, 'InvalidRequest', `Only expirationDateTime is renewed here; '${other}' cannot be changed (delete the subscription and create another).`);
    const expiration = readExpiration(body?.expirationDateTime, 'Update');
    if (!('ms' in expiration)) return expiration;
    entry.expiresMs = expiration.ms;
    entry.subscription.expirationDateTime = offsetString(expiration.ms);
    return { status: 200, body: subscriptionBody(entry) };
  }

  function notify(stored: Stored, changeType: ChangeType) {
    for (const entry of subscriptions.values()) {
      if (entry.mailbox.key !== stored.mailbox.key || !live(entry) || !entry.changeTypes.has(changeType)) continue;
      const record: NotificationRecord = { subscriptionId: entry.subscription.id, changeType, eventId: stored.event.id, status: 'pending', at: Date.now() };
      controls.notifications.push(record);
      if (dropLeft > 0) {
        dropLeft--;
        record.status = 'dropped';
        continue;
      }
      const resource = `Users/${stored.mailbox.key}/Events/${stored.event.id}`;
      const payload = {
        value: [
          {
            subscriptionId: entry.subscription.id,
            subscriptionExpirationDateTime: entry.subscription.expirationDateTime,
            changeType,
            resource,
            resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': resource, '@odata.etag': etagOf(stored.event.changeKey), id: stored.event.id },
            clientState: entry.subscription.clientState,
            tenantId,
          },
        ],
      };
      const url = entry.subscription.notificationUrl;
      // Sent after the API's answer is on its way, never holding it (Graph delivers in the background).
      const delivery: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(controls.timeouts.notificationMs) }))
        .then(
          async (response) => {
            record.status = response.status;
            await response.arrayBuffer().catch(() => undefined);
          },
          () => {
            record.status = 'unreachable';
          },
        )
        .finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    }
  }

  // --- routing --------------------------------------------------------------------------------

  const denied = () => graphError(403, 'ErrorAccessDenied', ACCESS_DENIED);

  async function route(call: GraphCall, path: string, query: URLSearchParams): Promise<Answer | null> {
    const method = call.method;
    let m: RegExpExecArray | null;
    if ((m = /^\/v1\.0\/users\/([^/]+)\/(.+)$/i.exec(path))) {
      const [, mailboxId, rest] = m;
      const handler = ((): ((mailbox: Mailbox) => Answer | Promise<Answer>) | null => {
        let r: RegExpExecArray | null;
        if (/^calendar\/getSchedule$/i.test(rest) && method === 'POST') return () => getSchedule(call);
        if (/^(calendar\/)?events$/i.test(rest) && method === 'POST') return (mb) => createEvent(mb, mailboxId, call);
        if (/^(calendar\/)?calendarView\/delta$/i.test(rest) && method === 'GET') return (mb) => delta(mb, mailboxId, query, call);
        if ((r = /^(?:calendar\/)?events\/([^/]+)\/cancel$/i.exec(rest)) && method === 'POST') return (mb) => cancelEvent(mb, r![1], call);
        if ((r = /^(?:calendar\/)?events\/([^/]+)$/i.exec(rest))) {
          const id = r[1];
          if (method === 'GET') return (mb) => getEvent(mb, mailboxId, id, query, call);
          if (method === 'PATCH') return (mb) => updateEvent(mb, mailboxId, id, call);
          if (method === 'DELETE') return (mb) => deleteEvent(mb, id, call);
        }
        return null;
      })();
      if (!handler) return null;
      if (!call.roles.includes('Calendars.ReadWrite')) return denied();
      const mailbox = mailboxOf(mailboxId);
      if (!mailbox) return graphError(404, 'ErrorInvalidUser', `The requested user '${mailboxId}' is invalid.`);
      return handler(mailbox);
    }
    if (path === '/v1.0/subscriptions' && (method === 'POST' || method === 'GET')) {
      if (!call.roles.includes('Calendars.ReadWrite')) return denied();
      if (method === 'POST') return createSubscription(call);
      return { status: 200, body: { '@odata.context': `${options.endpoint()}/v1.0/$metadata#subscriptions`, value: controls.subscriptions } };
    }
    if ((m = /^\/v1\.0\/subscriptions\/([^/]+)$/.exec(path)) && ['GET', 'PATCH', 'DELETE'].includes(method)) {
      if (!call.roles.includes('Calendars.ReadWrite')) return denied();
      const entry = subscriptions.get(m[1]);
      if (method === 'PATCH') return renewSubscription(m[1], call);
      if (!entry || !live(entry)) return subscriptionNotFound(m[1]);
      if (method === 'GET') return { status: 200, body: subscriptionBody(entry) };
      subscriptions.delete(m[1]);
      return { status: 204 };
    }
    return null;
  }

  // --- test controls --------------------------------------------------------------------------

  function knownMailbox(id: string): Mailbox {
    const mailbox = mailboxOf(id);
    if (!mailbox) throw new Error(`calendar: no mailbox '${id}' in the directory`);
    return mailbox;
  }
  function knownEvent(mailboxId: string, eventId: string): Stored {
    const stored = liveEvent(knownMailbox(mailboxId), eventId);
    if (!stored) throw new Error(`calendar: no event ${eventId} in ${mailboxId}'s calendar`);
    return stored;
  }

  const controls: CalendarControls = {
    events: (mailbox) =>
      [...(calendars.get(knownMailbox(mailbox).key)?.values() ?? [])]
        .filter((s) => !s.gone)
        .sort((a, b) => a.seq - b.seq)
        .map((s) => copy(s.event)),
    addBusy(mailboxId, block) {
      const mailbox = knownMailbox(mailboxId);
      const zone = 'GMT Standard Time';
      const start = { ms: block.start.getTime(), value: inZone(block.start.getTime(), zone) };
      const end = { ms: block.end.getTime(), value: inZone(block.end.getTime(), zone) };
      if (!(end.ms > start.ms)) throw new Error('calendar.addBusy: the end must be after the start');
      return copy(newEvent(mailbox, { subject: block.subject ?? 'Busy', showAs: block.status ?? 'busy' }, start, end, []).event);
    },
    userMoves(mailboxId, eventId, to) {
      const stored = knownEvent(mailboxId, eventId);
      if (!(to.end.getTime() > to.start.getTime())) throw new Error('calendar.userMoves: the end must be after the start');
      stored.startMs = to.start.getTime();
      stored.endMs = to.end.getTime();
      // Outlook keeps the event's own time zone.
      stored.event.start = inZone(stored.startMs, stored.event.start.timeZone);
      stored.event.end = inZone(stored.endMs, stored.event.end.timeZone);
      touch(stored);
      changed(stored, 'updated');
      return copy(stored.event);
    },
    userCancels(mailboxId, eventId) {
      remove(knownEvent(mailboxId, eventId), false);
    },
    get subscriptions() {
      return [...subscriptions.values()].filter(live).map((s) => copy(s.subscription));
    },
    notifications: [],
    validations: [],
    dropNotifications(count) {
      dropLeft += count;
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    expireSyncStates() {
      syncStates.clear();
      roundPages.clear();
    },
    timeouts: { validationMs: 10_000, notificationMs: 3_000 },
    clear() {
      calendars.clear();
      subscriptions.clear();
      syncStates.clear();
      roundPages.clear();
      dropLeft = 0;
    },
  };

  return {
    route,
    controls,
    resetRecords() {
      controls.notifications.length = 0;
      controls.validations.length = 0;
      dropLeft = 0;
    },
  };
}

/** Checked when compiling: the shapes this server stores and answers with are Graph's own (`@microsoft/microsoft-graph-types`). */
export type GraphShaped<T extends G, G> = T;
export type SubscriptionIsGraphs = GraphShaped<Subscription, MicrosoftGraph.Subscription>;
export type EventIsGraphs = GraphShaped<CalendarEvent, MicrosoftGraph.Event>;
