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
 * What Graph answers, and what it means here
 * (https://learn.microsoft.com/graph/api/user-sendmail, https://learn.microsoft.com/graph/throttling):
 *
 * | answer | meaning | outcome |
 * | --- | --- | --- |
 * | 202 | accepted for delivery | delivered |
 * | 429 | throttled | retry after Retry-After; every sender to the mailbox holds off |
 * | 503, 504 | unavailable, gateway timeout | retry after Retry-After (or backoff) |
 * | other 4xx | refused (a bad address, no permission, no such mailbox) | failed, with Graph's error code |
 * | other 5xx, a connection lost mid-request | it may have been sent | failed, in doubt: a person checks and retries |
 * | no token, the connection refused | never sent | retry after backoff |
 *
 * The message is sent as queued: what it says was settled when it was queued (src/allocationEmail.ts
 * puts the case reference in the subject and no family name anywhere). The reason recorded is a
 * status and a code, never what the mail or Graph's message said.
 */

/** Exchange Online's sending limit: 30 messages a minute from one mailbox. */
export const MAILBOX_LIMITS: PacingLimits = { perConversation: [], global: [{ count: 30, windowMs: 60_000 }] };

/** The outbox kinds sent as e-mail. */
export const EMAIL_KINDS = ['allocation-email'] as const;

/** The subset of Graph's `message` resource the product sends (names as in Graph's CSDL, graph.message). */
export interface GraphMessage {
  subject: string;
  body: { contentType: 'text' | 'html'; content: string };
  toRecipients: Array<{ emailAddress: { address: string; name?: string } }>;
  ccRecipients: Array<{ emailAddress: { address: string; name?: string } }>;
}

/** The body of `POST /users/{id}/sendMail` (the action's parameters `Message` and `SaveToSentItems`). */
export interface SendMailBody {
  message: GraphMessage;
  saveToSentItems: boolean;
}

/**
 * The Graph message for a queued e-mail, or the field that makes it unsendable.
 * @example sendMailBody({ to: ['sam@council.example'], cc: [], subject: 'Case EH-1 allocated to you', body: '...' })
 */
export function sendMailBody(payload: Record<string, unknown>): SendMailBody | { fault: string } {
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
    message: { subject: email.subject, body: { contentType: 'text', content: email.body }, toRecipients: to.map(recipient), ccRecipients: cc.map(recipient) },
    // The service mailbox's Sent Items is the record of what went, for a person checking one in doubt.
    saveToSentItems: true,
  };
}

/** What Graph's answer to a send means for the message (the table above). */
export function sendOutcome(status: number, code: string, retryAfter: number | undefined): DeliveryOutcome {
  const reason = `http ${status} ${code}`;
  if (status >= 200 && status < 300) return { delivered: true };
  if (status === 429) return { retryAfterMs: retryAfter, reason, throttled: true };
  if (status === 503 || status === 504) return { retryAfterMs: retryAfter, reason };
  if (status >= 500) return { failed: true, inDoubt: true, reason: `${reason}: may have been sent` };
  return { failed: true, reason };
}

/** Graph's error code from an error answer's body, or `Http{status}` when it has none. */
async function errorCodeOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: { code?: unknown } };
    const code = body?.error?.code;
    // A code is a word; anything else is not written to the outbox.
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,80}$/.test(code) ? code : `Http${response.status}`;
  } catch {
    return `Http${response.status}`;
  }
}

/** The handler that sends one queued e-mail from `mailbox`. */
export function sendMailHandler(graph: Graph, mailbox: string): DeliveryHandler {
  return async (message: ClaimedMessage, control) => {
    const body = sendMailBody(message.payload);
    if ('fault' in body) return { failed: true, reason: `not sendable: ${body.fault} is missing or malformed` };
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
      return { failed: true, inDoubt: true, reason: `${failure.code}: may have been sent` };
    }
    if (response.ok) {
      await response.arrayBuffer().catch(() => undefined);
      return { delivered: true, activityId: response.headers.get('request-id') ?? undefined };
    }
    return sendOutcome(response.status, await errorCodeOf(response), retryAfterMs(response.headers.get('retry-after')));
  };
}

/** The Graph delivery handlers, by outbox kind. Needs the service mailbox (EARLYHELP_MAILBOX). */
export function graphHandlers(graph: Graph, config: Pick<GraphConfig, 'mailbox'>): Record<string, DeliveryHandler> {
  if (!config.mailbox) throw new GraphConfigError('EARLYHELP_MAILBOX', 'is required to send e-mail');
  const send = sendMailHandler(graph, config.mailbox);
  return Object.fromEntries(EMAIL_KINDS.map((kind) => [kind, send]));
}

/**
 * The e-mail sender the server runs beside the Teams one: its own dispatcher (destination
 * `graph`, paced to the mailbox's limit), started. `stop()` it on close.
 */
export function startMailDelivery(options: { db: Database; config: GraphConfig; graph?: Graph; log?: DeliveryLog; dispatcher?: Partial<Omit<DispatcherOptions, 'db' | 'handlers'>> }): Dispatcher {
  const graph = options.graph ?? createGraph(options.config);
  const dispatcher = createDispatcher({
    db: options.db,
    handlers: graphHandlers(graph, options.config),
    destination: 'graph',
    limits: MAILBOX_LIMITS,
    log: options.log,
    ...options.dispatcher,
  });
  dispatcher.start();
  options.log?.info({ claimer: dispatcher.claimer, identity: options.config.identity }, 'e-mail delivery started');
  return dispatcher;
}
