import type { BotAdapter, ConversationReference, TurnContext } from 'botbuilder';
import type { NewMessage } from '../src/delivery/outbox';
import { DeliveryHandler, DeliveryOutcome, SendControl } from '../src/delivery/dispatcher';
import { ClaimedMessage, enqueue, Recipient } from '../src/delivery/outbox';
import { ConversationStore, createConversationStore, StoredConversation } from '../src/storage/conversations';
import { Database } from '../src/storage/database';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { noticeCard } from './cards/cards';
import { AdaptiveCard, attachment } from './cards/template';
import { log as botLog } from './log';

/**
 * Teams' side of the delivery pipeline: the handler that sends a `card` message from the outbox
 * to its person or chat, and says what happened in the pipeline's terms (src/delivery/dispatcher.ts).
 *
 * What Teams answers, and what it means here
 * (https://learn.microsoft.com/microsoftteams/platform/bots/build-conversational-capability#status-codes-from-bot-conversational-apis):
 *
 * | answer | meaning | outcome |
 * | --- | --- | --- |
 * | 2xx | delivered | delivered, with the activity id |
 * | 429 | throttled | retry after Retry-After; every sender holds off |
 * | 412, 502, 504 | transient, not delivered | retry after backoff |
 * | 403, 404, ConversationNotFound | the bot was removed, blocked, or the chat is gone | the person is unreachable: the reference is dropped, their manager is told, the message waits |
 * | other 5xx, a connection lost mid-request | it may have been delivered | failed, in doubt: a person checks and retries |
 * | other 4xx | refused (the card is malformed, the bot's credentials are wrong) | failed |
 * | the connection refused, the name not found | never sent | retry after backoff |
 */

/** What a `card` message carries. */
export interface CardPayload {
  card: AdaptiveCard;
  /** With `subjectId` (and the message's case), the card is remembered so that a decision can update every copy. */
  purpose?: string;
  subjectId?: string;
}

/**
 * What a `case-view` message carries: which view of its case to show the recipient, drawn when it is
 * delivered (the case as it then stands, read as the recipient, so the outbox keeps no family
 * details and a card that waited days is not stale).
 */
export interface CaseViewPayload {
  view: 'case' | 'caf-authorisation';
  notice?: string;
  /** For a CAF card: the submission it asks about (so that a decision updates every copy). */
  subjectId?: string;
}

/** A `case-view` message for the outbox, for a hook that queues it in the change's transaction. */
export function caseViewMessage(to: Recipient, caseId: string, payload: CaseViewPayload, dedupeKey?: string): NewMessage {
  return { kind: 'case-view', recipient: to, caseId, payload: payload as unknown as Record<string, unknown>, dedupeKey };
}

/** A `card` message for the outbox, for a hook that queues it in the change's transaction: nothing of a family on it. */
export function cardMessage(to: Recipient, card: AdaptiveCard, caseId?: string, dedupeKey?: string): NewMessage {
  const payload: CardPayload = { card };
  return { kind: 'card', recipient: to, caseId, payload: payload as unknown as Record<string, unknown>, dedupeKey };
}

/** Queues a card for a person or a chat, in the caller's transaction (the change that causes it). */
export async function enqueueCard(
  tx: Database,
  message: { to: Recipient; card: AdaptiveCard; caseId?: string; purpose?: string; subjectId?: string; dedupeKey?: string; notBefore?: Date },
): Promise<number | null> {
  const payload: CardPayload = { card: message.card, ...(message.purpose ? { purpose: message.purpose } : {}), ...(message.subjectId ? { subjectId: message.subjectId } : {}) };
  return enqueue(tx, { kind: 'card', recipient: message.to, caseId: message.caseId, payload: payload as unknown as Record<string, unknown>, dedupeKey: message.dedupeKey, notBefore: message.notBefore });
}

/** The notice a line manager gets when one of their team can no longer be reached in Teams: the person's name, nothing of any case. */
export function unreachableNoticeCard(person: { name: string }): AdaptiveCard {
  return noticeCard({
    title: `${person.name} cannot be reached in Teams`,
    text: `The Early Help app was removed from ${person.name}'s Teams chat, or Teams no longer lets it post there. Their cards and reminders are kept, and reach them as soon as they open the Early Help app in Teams again. Please ask them to.`,
    summary: 'A member of your team cannot be reached in Teams',
  });
}

const TRANSIENT_STATUSES = new Set([412, 502, 504]);
/** Node's codes for a connection that never carried the request: safe to send again. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Retry-After (seconds or an HTTP date), or Azure's millisecond variants, from a failed request's response. */
export function retryAfterMsOf(e: unknown, now = Date.now()): number | undefined {
  const headers = (e as { response?: { headers?: { get?(name: string): string | undefined | null } } })?.response?.headers;
  const get = (name: string) => (typeof headers?.get === 'function' ? (headers.get(name) ?? undefined) : undefined);
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const ms = Number(get(name));
    if (get(name) !== undefined && Number.isFinite(ms) && ms >= 0) return ms;
  }
  const value = get('retry-after');
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/**
 * What an error from sending to Teams means for the message. botbuilder's connector throws
 * a RestError carrying `statusCode`, the Bot Framework error `code` from the body (e.g.
 * ConversationNotFound), and the response with its headers; a network failure carries Node's `code`.
 */
export function classifySendError(e: unknown, now = Date.now()): DeliveryOutcome {
  const { statusCode, code } = (e ?? {}) as { statusCode?: unknown; code?: unknown };
  const status = typeof statusCode === 'number' ? statusCode : undefined;
  const codeText = typeof code === 'string' ? code : undefined;
  const reason = status ? `http ${status}${codeText && codeText !== String(status) ? ` ${codeText}` : ''}` : `network ${codeText ?? (e as Error)?.name ?? 'error'}`;
  if (codeText === 'ConversationNotFound' || status === 403 || status === 404) return { unreachable: true, reason };
  if (status === 429) return { retryAfterMs: retryAfterMsOf(e, now), reason, throttled: true };
  if (status !== undefined && TRANSIENT_STATUSES.has(status)) return { retryAfterMs: retryAfterMsOf(e, now), reason };
  if (status !== undefined && status >= 500) return { failed: true, inDoubt: true, reason: `${reason}: may have been delivered` };
  if (status !== undefined) return { failed: true, reason };
  if (codeText && NOT_SENT_CODES.has(codeText)) return { reason };
  // Reset, timed out, hung up: the request may have reached Teams.
  return { failed: true, inDoubt: true, reason: `${reason}: may have been delivered` };
}

type Pipeline = {
  removePolicy(o: { name: string }): unknown;
  addPolicy(policy: { name: string; sendRequest(request: unknown, next: (request: unknown) => Promise<unknown>): Promise<unknown> }, options?: { phase?: string }): void;
};

/**
 * Readies the connector client of a proactive turn for one delivery:
 *
 * - botbuilder's connector client retries 5xx and 429 itself (@azure/core-rest-pipeline's default
 *   retry policy, up to three times): a 500 may have been delivered, and a 429 must hold every
 *   sender, so each request is made once here and the pipeline decides.
 * - `begin` (the commit that the send is starting) runs as the last step before the HTTP request
 *   leaves, after the activity is serialised and the request signed (a token fetched), so that a
 *   crash leaves a message in doubt only if it fell between the request leaving and its outcome
 *   being recorded.
 *
 * Returns false if this botbuilder's client cannot be readied so (then `begin` is the caller's).
 */
function readyClient(context: TurnContext, begin: () => Promise<void>): boolean {
  const key = (context.adapter as unknown as { ConnectorClientKey?: symbol }).ConnectorClientKey;
  const client = key ? (context.turnState.get(key) as { client?: { pipeline?: Pipeline } } | undefined) : undefined;
  const pipeline = client?.client?.pipeline;
  if (!pipeline || typeof pipeline.removePolicy !== 'function' || typeof pipeline.addPolicy !== 'function') {
    botLog.warn('delivery: the connector client has no pipeline to ready; a 5xx may be retried by botbuilder');
    return false;
  }
  pipeline.removePolicy({ name: 'defaultRetryPolicy' });
  pipeline.addPolicy(
    {
      name: 'earlyHelpBeginSend',
      async sendRequest(request, next) {
        await begin();
        return next(request);
      },
    },
    { phase: 'Sign' },
  );
  return true;
}

/** The claim was taken over before the request left: nothing was sent. */
class ClaimLostError extends Error {
  override name = 'ClaimLostError';
}

export interface TeamsDeliveryOptions {
  adapter: BotAdapter;
  appId: string;
  db: Database;
  conversations?: ConversationStore;
  log?: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
  /** Draws a `case-view` or `reminder` message's card for its recipient; null when it is no longer owed (e.g. the CAF was decided, the reminder met). */
  render?: (message: ClaimedMessage) => Promise<{ card: AdaptiveCard; subjectId?: string } | null>;
}

/** The handlers the Teams dispatcher runs: `card` for now. */
export function teamsHandlers(options: TeamsDeliveryOptions): Record<string, DeliveryHandler> {
  const conversations = options.conversations ?? createConversationStore(options.db);
  const directory = createStaffDirectory(options.db);
  const log = options.log ?? botLog;

  async function sendCard(conversation: StoredConversation, card: AdaptiveCard, control: SendControl): Promise<DeliveryOutcome> {
    let outcome: DeliveryOutcome | undefined;
    try {
      await options.adapter.continueConversationAsync(options.appId, conversation.reference as Partial<ConversationReference>, async (context) => {
        let lost = false;
        // Everything before `begin` can be repeated; from it until the outcome is recorded the send is in doubt.
        const begin = async () => {
          if (!(await control.begin())) {
            lost = true;
            throw new ClaimLostError('the claim was taken over');
          }
        };
        try {
          if (!readyClient(context, begin)) await begin();
          const response = await context.sendActivity({ type: 'message', summary: card.fallbackText, attachments: [attachment(card)] });
          outcome = { delivered: true, ...(response?.id ? { activityId: response.id } : {}) };
        } catch (e) {
          outcome = lost ? { reason: 'claim lost' } : classifySendError(e);
        }
      });
    } catch (e) {
      // Failed before the send (e.g. no token for the bot): the message never left.
      if (!outcome) return { reason: `not sent: ${(e as Error)?.name ?? 'error'}` };
    }
    // The adapter never ran the send (so `begin` was never called): nothing left.
    return outcome ?? { reason: 'not sent: the adapter did not run the send' };
  }

  /** The bot was removed (or Teams refuses it): drop the chat, and tell the person's line manager, once. */
  async function lost(message: ClaimedMessage, conversation: StoredConversation, reason: string): Promise<void> {
    const staffId = message.recipient && 'staffId' in message.recipient ? message.recipient.staffId : null;
    const person = staffId ? await directory.get(staffId) : null;
    await options.db.transaction(async (tx) => {
      await createConversationStore(tx).forget(conversation.conversationId);
      if (person?.lineManager && person.lineManager !== person.id) {
        await enqueueCard(tx, { to: { staffId: person.lineManager }, card: unreachableNoticeCard(person), dedupeKey: `unreachable:${person.id}:${message.id}` });
      }
    });
    log.warn({ outboxId: message.id, staffId, conversationId: conversation.conversationId, reason, managerTold: Boolean(person?.lineManager) }, 'delivery: recipient unreachable; reference dropped, messages wait');
  }

  const card: DeliveryHandler = async (message, control) => deliver(message, control, message.payload as unknown as CardPayload);

  /** A message drawn at delivery (a case view, a reminder): not sent, but cancelled, when nothing in it is owed any more. */
  const drawn: DeliveryHandler = async (message, control) => {
    if (!options.render) return { failed: true, reason: 'no renderer for case views' };
    const drawn = await options.render(message);
    if (!drawn) return { cancelled: true, reason: 'no longer owed' };
    const payload = message.payload as unknown as CaseViewPayload;
    return deliver(message, control, { card: drawn.card, purpose: payload.view === 'caf-authorisation' ? 'caf-authorisation' : undefined, subjectId: drawn.subjectId ?? payload.subjectId });
  };

  async function deliver(message: ClaimedMessage, control: SendControl, payload: CardPayload): Promise<DeliveryOutcome> {
    if (!payload?.card || typeof payload.card !== 'object') return { failed: true, reason: 'no card in the message' };
    const recipient = message.recipient;
    if (!recipient) return { failed: true, reason: 'no recipient' };
    const conversation = 'staffId' in recipient ? await conversations.personalChatOf(recipient.staffId) : await conversations.get(recipient.conversationId);
    if (!conversation) return { unreachable: true, reason: 'no chat with the bot' };
    const outcome = await sendCard(conversation, payload.card, control);
    if ('unreachable' in outcome) {
      // Not delivered, whatever happens here: the message waits either way.
      await lost(message, conversation, outcome.reason).catch((e: Error) => log.warn({ outboxId: message.id, err: e?.name }, 'delivery: unreachable recipient not recorded'));
    } else if ('delivered' in outcome && outcome.activityId && payload.purpose && payload.subjectId && message.caseId) {
      await conversations
        .recordPostedCard({ activityId: outcome.activityId, conversationId: conversation.conversationId, caseId: message.caseId, purpose: payload.purpose, subjectId: payload.subjectId })
        .catch((e: Error) => log.warn({ outboxId: message.id, err: e?.name }, 'delivery: posted card not recorded'));
    }
    return outcome;
  }

  return { card, 'case-view': drawn, reminder: drawn, 'command-view': drawn, 'taf-meeting': drawn };
}
