import { ResponseType } from '@microsoft/microsoft-graph-client';
import type { AllocationEmail } from '../allocationEmail';
import { createDispatcher, DeliveryHandler, DeliveryLog, DeliveryOutcome, Dispatcher, DispatcherOptions } from '../delivery/dispatcher';
import { ClaimedMessage } from '../delivery/outbox';
import { PacingLimits } from '../delivery/pacing';
import { Database } from '../storage/database';
import { createGraph, Graph, graphFailureOf, retryAfterMs, SendOptions } from './client';
import { GraphConfig, GraphConfigError } from './config';

/**
 * E-mail through Graph: the outbox's e-mail messages sent from the service mailbox
 * (`POST /users/{EARLYHELP_MAILBOX}/sendMail`), one handler per kind, run by a dispatcher of their
 * own (destination `graph`), so that a throttled mailbox never holds Teams cards back.
 *
 * Sent once, whatever crashes (issue 9): every e-mail carries its outbox row as an extended
 * property (`OUTBOX_ID_PROPERTY`) and is saved to the service mailbox's Sent Items. A try that
 * may follow one that went (the row has been tried before: a 503, a 504, an answer lost, a sender
 * that died mid-send) first looks for that e-mail in Sent Items
 * (`GET /users/{mailbox}/mailFolders/sentitems/messages?$filter=singleValueExtendedProperties/Any(...)`,
 * https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get): found, it went,
 * and is recorded delivered without being sent again. The first try does not look: nothing can
 * have gone before it.
 *
 * What Graph's answer to sendMail means here
 * (https://learn.microsoft.com/graph/api/user-sendmail, https://learn.microsoft.com/graph/throttling):
 *
 * | answer | meaning | outcome |
 * | --- | --- | --- |
 * | 202 | accepted for delivery | delivered |
 * | 429 | throttled: not done | retry after Retry-After; every sender to the mailbox holds off |
 * | 503, 504, a connection lost mid-request | it may have gone (a gateway can time out on work that went through) | retry after Retry-After and at least `SENT_ITEMS_SETTLE_MS`; Sent Items is looked in first |
 * | other 4xx | refused (a bad address, no permission, no such mailbox) | failed, with Graph's error code |
 * | other 5xx | it may have gone, and may fail again for this message | failed, in doubt: a person checks and retries |
 * | no token, the connection refused | never sent | retry after backoff |
 *
 * And what the look in Sent Items finds, on a try after the first:
 *
 * | answer | outcome |
 * | --- | --- |
 * | the e-mail | delivered, not sent again (the id of the copy in Sent Items recorded) |
 * | nothing | sent |
 * | 429 | retry after Retry-After, the mailbox held; nothing sent |
 * | 5xx, no answer (after the client's own retries of a read) | retry after backoff; nothing sent |
 * | 403 (no `Mail.Read`), other 4xx | failed, in doubt: without the look a second send could be a second e-mail, so a person checks |
 *
 * The look needs the application permission `Mail.Read`: `Mail.ReadBasic.All` leaves out extended
 * properties, so it cannot filter on the tag. Restrict it to the service mailbox as `Mail.Send` is.
 *
 * What the look cannot promise: Exchange files the copy in Sent Items after it has sent the
 * message, usually within seconds but with no stated bound. A look made before the copy is filed
 * finds nothing and the e-mail goes twice. A retry after a "may have gone" answer therefore waits
 * at least `SENT_ITEMS_SETTLE_MS` (a minute), and a send a dead sender had begun is taken up only
 * after its lease (a minute): that narrows the window, it does not close it. A copy a person moved
 * out of Sent Items or deleted is not found either.
 *
 * The message is sent as queued: what it says was settled when it was queued (src/allocationEmail.ts
 * puts the case reference in the subject and no family name anywhere). The reason recorded is a
 * status and a code, never what the mail or Graph's message said.
 */

/** Exchange Online's sending limit: 30 messages a minute from one mailbox. */
export const MAILBOX_LIMITS: PacingLimits = { perConversation: [], global: [{ count: 30, windowMs: 60_000 }] };

/** The outbox kinds sent as e-mail. */
export const EMAIL_KINDS = ['allocation-email'] as const;

/** The product's own property set for the extended properties it puts on Outlook items (a GUID of ours, never to change). */
export const EARLYHELP_PROPERTY_SET = '{7fb198f5-1328-49c7-88bb-202383a08810}';

/**
 * The extended property naming an e-mail's outbox row, in Graph's syntax for a named property,
 * `{type} {property set GUID} Name {name}` (https://learn.microsoft.com/graph/api/resources/extended-properties-overview).
 */
export const OUTBOX_ID_PROPERTY = `String ${EARLYHELP_PROPERTY_SET} Name EarlyHelpOutboxId`;

/**
 * A retry after an answer that leaves the e-mail maybe sent waits at least this long, so that a copy
 * Exchange did send has time to be filed in Sent Items before it is looked for. An allowance, not a
 * promise: Exchange states no bound.
 */
export const SENT_ITEMS_SETTLE_MS = 60_000;

/** The subset of Graph's `message` resource the product sends (names as in Graph's CSDL, graph.message). */
export interface GraphMessage {
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  toRecipients: Array<{ emailAddress: { address: string; name?: string } }>;
  ccRecipients: Array<{ emailAddress: { address: string; name?: string } }>;
  /** The outbox row the e-mail is, as `OUTBOX_ID_PROPERTY` (graph.singleValueLegacyExtendedProperty). */
  singleValueExtendedProperties?: Array<{ id: string; value: string }>;
}

/** The body of `POST /users/{id}/sendMail` (the action's parameters `Message` and `SaveToSentItems`). */
export interface SendMailBody {
  message: GraphMessage;
  saveToSentItems: boolean;
}

/**
 * The value of `OUTBOX_ID_PROPERTY` for a row: its id and when it was queued. The time is there
 * because ids start again at 1 in a new database, and a service mailbox outlives databases (a test
 * system pointed at it, a rebuild): an id alone could find another database's e-mail and mark
 * this one delivered unsent.
 * @example outboxTag({ id: 42, createdAt: '2026-11-23T09:15:00.123Z' }) // '42@2026-11-23T09:15:00.123Z'
 */
export function outboxTag(message: Pick<ClaimedMessage, 'id' | 'createdAt'>): string {
  const created = new Date(message.createdAt as string | Date);
  return Number.isNaN(created.getTime()) ? String(message.id) : `${message.id}@${created.toISOString()}`;
}

/**
 * The Graph message for a queued e-mail, tagged with its outbox row when `tag` is given, or the
 * field that makes it unsendable.
 * @example sendMailBody({ to: ['sam@council.example'], cc: [], subject: 'Case EH-1 allocated to you', body: '...' }, '42@2026-11-23T09:15:00.123Z')
 */
export function sendMailBody(payload: Record<string, unknown>, tag?: string): SendMailBody | { fault: string } {
  const email = payload as Partial<AllocationEmail>;
  const addresses = (v: unknown) => (Array.isArray(v) && v.every((a) => typeof a === 'string' && a.trim() !== '') ? (v as string[]) : null);
  const to = addresses(email.to);
  const cc = email.cc === undefined ? [] : addresses(email.cc);
  if (!to || to.length === 0) return { fault: 'to' };
  if (!cc) return { fault: 'cc' };
  if (typeof email.subject !== 'string' || !email.subject.trim()) return { fault: 'subject' };
  if (typeof email.body !== 'string') return { fault: 'body' };
  const recipient = (address: string) => ({ emailAddress: { address: address.trim() } });
  return {
    message: {
      subject: email.subject,
      body: { contentType: 'text', content: email.body },
      toRecipients: to.map(recipient),
      ccRecipients: cc.map(recipient),
      ...(tag !== undefined ? { singleValueExtendedProperties: [{ id: OUTBOX_ID_PROPERTY, value: tag }] } : {}),
    },
    // Sent Items is where a retry looks for the e-mail before sending it again, and the record of what went.
    saveToSentItems: true,
  };
}

/** An OData string literal: quotes doubled. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The `$filter` that finds the e-mail tagged `tag`, in the form Graph documents for string-valued
 * extended properties.
 */
export function sentItemsFilter(tag: string): string {
  return `singleValueExtendedProperties/Any(ep: ep/id eq ${literal(OUTBOX_ID_PROPERTY)} and ep/value eq ${literal(tag)})`;
}

/** Why a retry after an answer that leaves the e-mail maybe sent is safe (recorded as the reason). */
const MAYBE_SENT = 'may have been sent; Sent Items is looked in before it is sent again';

/**
 * What Graph's answer to a send means for the message (the table above). `settleMs`: the least
 * wait before a retry that will look in Sent Items.
 */
export function sendOutcome(status: number, code: string, retryAfter: number | undefined, settleMs = SENT_ITEMS_SETTLE_MS): DeliveryOutcome {
  const reason = `http ${status} ${code}`;
  if (status >= 200 && status < 300) return { delivered: true };
  if (status === 429) return { retryAfterMs: retryAfter, reason, throttled: true };
  if (status === 503 || status === 504) return { retryAfterMs: Math.max(retryAfter ?? 0, settleMs), reason: `${reason}: ${MAYBE_SENT}` };
  if (status >= 500) return { failed: true, inDoubt: true, reason: `${reason}: may have been sent` };
  return { failed: true, reason };
}

/** Graph's error code when it is a word; anything else is not written to the outbox. */
const codeWord = (code: unknown, status: number | undefined) => (typeof code === 'string' && /^[A-Za-z0-9_.-]{1,80}$/.test(code) ? code : `Http${status ?? 0}`);

/** Graph's error code from an error answer's body, or `Http{status}` when it has none. */
async function errorCodeOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    return codeWord(body?.error?.code, response.status);
  } catch {
    return `Http${response.status}`;
  }
}

/** What the look in Sent Items found: the copy's id, nothing, or why the look says nothing (the outcome it leads to). */
export type SentItemsAnswer = { found: string } | { notFound: true } | { unknown: DeliveryOutcome };

/**
 * Looks in `mailbox`'s Sent Items for the e-mail tagged `tag` (second table above). A read, so the
 * client's own retries apply to it (429, 5xx, a connection lost).
 */
export async function lookInSentItems(graph: Graph, mailbox: string, tag: string): Promise<SentItemsAnswer> {
  // The Graph client puts query values into the URL as given: the filter is encoded here.
  const path = `/users/${encodeURIComponent(mailbox)}/mailFolders/sentitems/messages?$filter=${encodeURIComponent(sentItemsFilter(tag))}&$select=id&$top=1`;
  try {
    const page = (await graph.client.api(path).get()) as { value?: Array<{ id?: unknown }> };
    const id = page?.value?.[0]?.id;
    return typeof id === 'string' && id ? { found: id } : { notFound: true };
  } catch (e) {
    const failure = graphFailureOf(e);
    const reason = `Sent Items not looked in: ${failure.status ? `http ${failure.status} ` : ''}${codeWord(failure.code, failure.status)}`;
    if (failure.status === 429) return { unknown: { retryAfterMs: failure.retryAfterMs, reason, throttled: true } };
    if (failure.status === undefined || failure.status >= 500) return { unknown: { retryAfterMs: failure.retryAfterMs, reason } };
    return { unknown: { failed: true, inDoubt: true, reason: `${reason}; an earlier try may have been sent` } };
  }
}

export interface MailHandlerOptions {
  /** The least wait before a retry that will look in Sent Items (default `SENT_ITEMS_SETTLE_MS`). */
  sentItemsSettleMs?: number;
}

/** The handler that sends one queued e-mail from `mailbox`, once. */
export function sendMailHandler(graph: Graph, mailbox: string, options: MailHandlerOptions = {}): DeliveryHandler {
  const settleMs = options.sentItemsSettleMs ?? SENT_ITEMS_SETTLE_MS;
  return async (message: ClaimedMessage, control) => {
    const tag = outboxTag(message);
    const body = sendMailBody(message.payload, tag);
    if ('fault' in body) return { failed: true, reason: `not sendable: ${body.fault} is missing or malformed` };
    // Tried before: that try may have gone (its answer a 503 or 504, lost, or never recorded).
    if (message.attempts > 0) {
      const sent = await lookInSentItems(graph, mailbox, tag);
      if ('found' in sent) return { delivered: true, activityId: sent.found };
      if ('unknown' in sent) return sent.unknown;
    }
    let response: Response;
    try {
      response = (await graph.client
        .api(`/users/${encodeURIComponent(mailbox)}/sendMail`)
        // The outbox decides about tries (and a 429 holds every sender); begin() is the last step before the request leaves.
        .middlewareOptions([new SendOptions({ retry: false, beforeSend: () => control.begin() })])
        .responseType(ResponseType.RAW)
        .post(body)) as Response;
    } catch (e) {
      const failure = graphFailureOf(e);
      if (failure.sent === 'no') return { reason: failure.code };
      if (failure.status !== undefined) return sendOutcome(failure.status, codeWord(failure.code, failure.status), failure.retryAfterMs, settleMs);
      return { retryAfterMs: settleMs, reason: `${codeWord(failure.code, undefined)}: ${MAYBE_SENT}` };
    }
    if (response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      return { delivered: true, activityId: response.headers.get('request-id') ?? undefined };
    }
    return sendOutcome(response.status, await errorCodeOf(response), retryAfterMs(response.headers.get('retry-after')), settleMs);
  };
}

/** The Graph delivery handlers, by outbox kind. Needs the service mailbox (EARLYHELP_MAILBOX). */
export function graphHandlers(graph: Graph, config: Pick<GraphConfig, 'mailbox'>, options: MailHandlerOptions = {}): Record<string, DeliveryHandler> {
  if (!config.mailbox) throw new GraphConfigError('EARLYHELP_MAILBOX', 'is required to send e-mail');
  const send = sendMailHandler(graph, config.mailbox, options);
  return Object.fromEntries(EMAIL_KINDS.map((kind) => [kind, send]));
}

/**
 * The e-mail sender the server runs beside the Teams one: its own dispatcher (destination
 * `graph`, paced to the mailbox's limit), started. `stop()` it on close.
 *
 * E-mail kinds are resumable: a send a dead sender had begun is taken up again after its lease, and
 * the handler looks in Sent Items before sending it, instead of leaving the row in doubt.
 */
export function startMailDelivery(options: {
  db: Database;
  config: GraphConfig;
  graph?: Graph;
  log?: DeliveryLog;
  mail?: MailHandlerOptions;
  dispatcher?: Partial<Omit<DispatcherOptions, 'db' | 'handlers'>>;
}): Dispatcher {
  const graph = options.graph ?? createGraph(options.config);
  const dispatcher = createDispatcher({
    db: options.db,
    handlers: graphHandlers(graph, options.config, options.mail),
    destination: 'graph',
    limits: MAILBOX_LIMITS,
    resumableKinds: EMAIL_KINDS,
    log: options.log,
    ...options.dispatcher,
  });
  dispatcher.start();
  options.log?.info({ claimer: dispatcher.claimer, identity: options.config.identity }, 'e-mail delivery started');
  return dispatcher;
}
