import { randomBytes, timingSafeEqual } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { GraphError } from '@microsoft/microsoft-graph-client';
import { createCalendarSyncStore, CalendarSyncStore } from '../storage/calendarSyncStore';
import type { Database } from '../storage/database';
import type { MeetingStore, TafMeeting } from '../storage/meetingStore';
import type { StaffDirectory } from '../storage/staffDirectory';
import { applyEventState, EventState, MeetingChange } from '../taf/meetingSync';
import { Repeating, startRepeating } from '../repeating';
import { instantOf } from './calendar';
import type { Graph } from './client';

/**
 * Noticing when a booked meeting is moved or cancelled in Outlook (issue 9):
 *
 * - Change notifications: a subscription on each organiser's events (`/users/{mailbox}/events`,
 *   updated and deleted), created when they have a booked meeting and renewed a day before it
 *   expires (Outlook allows 10,080 minutes at most). Graph checks the notification URL with a
 *   validation handshake (answered by the server, bot/server.ts); every notification carries the
 *   subscription's secret `clientState`, checked before anything is read.
 * - The delta query on each organiser's calendar view (`calendarView/delta`), as the reconciliation
 *   that catches what a notification missed (the server was down, a notification was lost).
 *
 * Both end in `applyEventState` (src/taf/meetingSync.ts): the same event state, applied once.
 */

/** How long a subscription is asked for: three days, well inside Outlook's 10,080 minutes. */
export const SUBSCRIPTION_MINUTES = 3 * 24 * 60;
/** Renewed when it has less than this left. */
export const RENEW_BEFORE_MS = 24 * 60 * 60_000;
/** The calendar view a delta link follows: from a day ago to this far ahead (reviews are booked up to 8 weeks on). */
export const SYNC_AHEAD_DAYS = 120;

export interface CalendarSyncDeps {
  db: Database;
  graph: Graph;
  meetings: MeetingStore;
  directory: StaffDirectory;
  store?: CalendarSyncStore;
  /** Where Graph sends change notifications (https; the server's /api/graph/notifications). */
  notificationUrl?: string;
  /** The scheduler's clock: the calendar window kept in step is from a day before it. */
  now?: () => Date;
  /** The real time, which Graph judges a subscription's expiry by (tests move it on). */
  wallClock?: () => Date;
}

const mailboxPath = (mailbox: string) => `/users/${encodeURIComponent(mailbox)}`;
const statusOf = (e: unknown) => (e instanceof GraphError ? e.statusCode : undefined);

/** What an event from Graph says now. */
export function eventStateOf(e: MicrosoftGraph.Event & { '@removed'?: unknown }): EventState {
  if (e['@removed']) return { removed: true };
  return { start: instantOf(e.start), end: instantOf(e.end), isCancelled: Boolean(e.isCancelled), ...(e.changeKey ? { changeKey: e.changeKey } : {}) };
}

/** Compares two secrets without telling by timing how much of one matched. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function organisersByMailbox(deps: CalendarSyncDeps): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const id of await deps.meetings.outlookOrganisers()) {
    const member = await deps.directory.get(id);
    if (member?.email) out.set(member.email.toLowerCase(), id);
  }
  return out;
}

/**
 * Subscribes to each organiser's calendar that has a booked meeting and no live subscription, and
 * renews those close to expiring (re-subscribing when Graph no longer knows one). Returns what it did.
 */
export async function keepSubscriptions(deps: CalendarSyncDeps): Promise<{ created: number; renewed: number; failed: number }> {
  const store = deps.store ?? createCalendarSyncStore(deps.db);
  const now = deps.wallClock?.() ?? new Date();
  const result = { created: 0, renewed: 0, failed: 0 };
  if (!deps.notificationUrl) return result;
  const existing = new Map((await store.subscriptions()).map((s) => [s.mailbox, s]));
  const expiry = () => new Date(now.getTime() + SUBSCRIPTION_MINUTES * 60_000);
  for (const mailbox of (await organisersByMailbox(deps)).keys()) {
    const held = existing.get(mailbox);
    try {
      if (held && held.expiresAt.getTime() - now.getTime() > RENEW_BEFORE_MS) continue;
      if (held && held.expiresAt.getTime() > now.getTime()) {
        try {
          const renewed = (await deps.graph.client.api(`/subscriptions/${encodeURIComponent(held.id)}`).patch({ expirationDateTime: expiry().toISOString() })) as MicrosoftGraph.Subscription;
          await store.saveSubscription({ ...held, expiresAt: new Date(renewed.expirationDateTime ?? expiry()) });
          result.renewed++;
          continue;
        } catch (e) {
          if (statusOf(e) !== 404) throw e;
        }
      }
      const clientState = randomBytes(32).toString('base64url');
      const created = (await deps.graph.client.api('/subscriptions').post({
        changeType: 'updated,deleted',
        notificationUrl: deps.notificationUrl,
        resource: `${mailboxPath(mailbox)}/events`,
        expirationDateTime: expiry().toISOString(),
        clientState,
      })) as MicrosoftGraph.Subscription;
      await store.saveSubscription({ id: created.id!, mailbox, clientState, expiresAt: new Date(created.expirationDateTime ?? expiry()) });
      result.created++;
    } catch {
      // Tried again at the next pass; the delta reconciliation covers the calendar meanwhile.
      result.failed++;
    }
  }
  return result;
}

/** One change notification as Graph sends it. */
export interface ChangeNotification {
  subscriptionId?: string;
  clientState?: string;
  changeType?: string;
  resource?: string;
  resourceData?: { id?: string };
}

/**
 * Handles a batch of change notifications: each whose subscription is known and whose clientState
 * matches has its event read again and applied to its meeting; the rest are ignored (and counted).
 */
export async function handleNotifications(deps: CalendarSyncDeps, body: { value?: ChangeNotification[] }): Promise<{ applied: MeetingChange[]; rejected: number }> {
  const store = deps.store ?? createCalendarSyncStore(deps.db);
  const applied: MeetingChange[] = [];
  let rejected = 0;
  for (const n of Array.isArray(body?.value) ? body.value : []) {
    const subscription = n.subscriptionId ? await store.subscription(n.subscriptionId) : null;
    if (!subscription || typeof n.clientState !== 'string' || !sameSecret(n.clientState, subscription.clientState)) {
      rejected++;
      continue;
    }
    const eventId = n.resourceData?.id;
    const meeting = eventId ? await deps.meetings.byEvent(eventId) : null;
    if (!meeting || meeting.state !== 'booked') continue;
    applied.push(await applyEventState(deps.db, deps.meetings, meeting, await readEvent(deps.graph, subscription.mailbox, meeting), 'notification'));
  }
  return { applied, rejected };
}

/** The event as it now is, or removed when Graph no longer has it. */
async function readEvent(graph: Graph, mailbox: string, meeting: TafMeeting): Promise<EventState> {
  try {
    const e = (await graph.client.api(`${mailboxPath(mailbox)}/events/${encodeURIComponent(meeting.eventId!)}`).header('Prefer', 'outlook.timezone="UTC"').select(['start', 'end', 'isCancelled', 'changeKey']).get()) as MicrosoftGraph.Event;
    return eventStateOf(e);
  } catch (e) {
    if (statusOf(e) === 404) return { removed: true };
    throw e;
  }
}

/**
 * The reconciliation for one organiser's calendar: follows its delta link (or starts one over the
 * window from a day ago), and applies every change to a booked meeting's event. A first sync also
 * settles booked meetings whose event is no longer there at all. A sync state Graph discarded (410)
 * starts over.
 */
export async function reconcileCalendar(deps: CalendarSyncDeps, organiser: string, mailbox: string): Promise<MeetingChange[]> {
  const store = deps.store ?? createCalendarSyncStore(deps.db);
  const now = deps.now?.() ?? new Date();
  const booked = await deps.meetings.bookedIn(organiser);
  const byEvent = new Map(booked.filter((m) => m.eventId).map((m) => [m.eventId!, m]));
  let link = await store.deltaLink(mailbox);
  const windowEnd = await store.windowEnd(mailbox);
  // A booked meeting beyond the window (or no window yet): start a new one.
  if (link && (!windowEnd || booked.some((m) => m.startsAt && m.startsAt > windowEnd))) link = null;
  const window = { start: new Date(now.getTime() - 24 * 60 * 60_000), end: new Date(now.getTime() + SYNC_AHEAD_DAYS * 24 * 60 * 60_000) };
  const first = !link;
  const seen = new Map<string, EventState>();
  let next: string | undefined = link ?? `${mailboxPath(mailbox)}/calendarView/delta?startDateTime=${window.start.toISOString()}&endDateTime=${window.end.toISOString()}`;
  let deltaLink: string | undefined;
  try {
    while (next) {
      const page = (await deps.graph.client.api(next).header('Prefer', 'outlook.timezone="UTC", odata.maxpagesize=50').get()) as { value?: Array<MicrosoftGraph.Event & { '@removed'?: unknown }>; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
      for (const e of page.value ?? []) if (e.id && byEvent.has(e.id)) seen.set(e.id, eventStateOf(e));
      next = page['@odata.nextLink'];
      deltaLink = page['@odata.deltaLink'];
    }
  } catch (e) {
    if (statusOf(e) === 410 && link) {
      await store.saveDeltaLink(mailbox, null);
      return reconcileCalendar(deps, organiser, mailbox);
    }
    throw e;
  }
  const changes: MeetingChange[] = [];
  for (const [eventId, state] of seen) changes.push(await applyEventState(deps.db, deps.meetings, byEvent.get(eventId)!, state, 'delta'));
  if (first) {
    // Not in the calendar at all: deleted before this calendar was first kept in step.
    for (const m of booked) if (m.eventId && !seen.has(m.eventId) && m.startsAt && m.startsAt >= window.start && m.startsAt <= window.end) changes.push(await applyEventState(deps.db, deps.meetings, m, { removed: true }, 'delta'));
  }
  await store.saveDeltaLink(mailbox, deltaLink ?? null, first ? window : undefined);
  return changes.filter((c) => c.kind !== 'none');
}

/** The reconciliation for every calendar with a booked meeting. A calendar that fails is tried at the next run. */
export async function reconcileCalendars(deps: CalendarSyncDeps): Promise<{ changes: MeetingChange[]; failed: number }> {
  const changes: MeetingChange[] = [];
  let failed = 0;
  for (const [mailbox, organiser] of await organisersByMailbox(deps)) {
    try {
      changes.push(...(await reconcileCalendar(deps, organiser, mailbox)));
    } catch {
      failed++;
    }
  }
  return { changes, failed };
}

/**
 * The validation handshake: Graph POSTs to the notification URL with `?validationToken=...` and
 * expects it back, decoded, as text/plain with 200 within 10 seconds. The token, or null for a
 * request that is a notification.
 */
export function validationToken(url: string): string | null {
  return new URL(url, 'http://notification.invalid').searchParams.get('validationToken');
}

/** One round now (subscriptions kept, every calendar reconciled), and stop. */
export type CalendarKeeping = Repeating<void>;

/**
 * Keeps calendars in step from inside the server: subscriptions created and renewed, and every
 * calendar with a booked meeting reconciled by its delta, at start and then every `intervalMs`
 * (five minutes by default: what a lost notification can cost).
 */
export function startCalendarKeeping(deps: CalendarSyncDeps & { intervalMs?: number; log?: { info(fields: object, message: string): void; warn(fields: object, message: string): void } }): CalendarKeeping {
  const round = async () => {
    try {
      const subscriptions = await keepSubscriptions(deps);
      const { changes, failed } = await reconcileCalendars(deps);
      if (subscriptions.created || subscriptions.renewed || subscriptions.failed || changes.length || failed) {
        deps.log?.info({ ...subscriptions, changes: changes.length, calendarsFailed: failed }, 'taf meetings: calendars kept in step');
      }
    } catch (e) {
      deps.log?.warn({ err: (e as Error)?.name }, 'taf meetings: keeping calendars in step failed; tried again at the next round');
    }
  };
  return startRepeating(round, deps.intervalMs ?? 5 * 60_000);
}
