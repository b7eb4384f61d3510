import { AdaptiveCardInvokeResponse, AdaptiveCardInvokeValue, TeamsActivityHandler, TurnContext } from 'botbuilder';
import { StaffMember } from '../src/staff';
import { actionFor } from './actions';
import { unknownUserCard, welcomeCard } from './cards/cards';
import { AdaptiveCard, attachment, CARD_CONTENT_TYPE } from './cards/template';
import { runCommand } from './commands';
import { log } from './log';
import type { Dispatcher } from '../src/delivery/dispatcher';
import { deliverWaiting } from './deliveryLoop';
import { Notifier } from './notifier';
import { BotServices } from './services';
import { Turn } from './turn';

/** The longest text a command may be; anything longer is not a command. */
const MAX_COMMAND_LENGTH = 500;

/**
 * The Early Help bot: commands in personal chat, card actions by verb (Action.Execute, and the
 * Action.Submit fallback handled identically), a welcome once per install, and the conversation
 * reference of every chat kept in the database for proactive messages.
 */
export class EarlyHelpBot extends TeamsActivityHandler {
  constructor(
    private readonly services: BotServices,
    private readonly notifier: Notifier,
    private readonly delivery: Pick<Dispatcher, 'poke'>,
  ) {
    super();
    this.onMessage(async (context, next) => {
      const actor = await this.identify(context);
      await this.remember(context, actor);
      if (!actor) await this.sendCard(context, unknownUserCard(this.services.administratorContact));
      else if (context.activity.value && typeof context.activity.value === 'object') await this.submitFallback(context, actor);
      else {
        const text = TurnContext.removeRecipientMention(context.activity) ?? context.activity.text ?? '';
        const card = await runCommand(this.turn(context, actor), text.length > MAX_COMMAND_LENGTH ? '' : text);
        await this.sendCard(context, card);
      }
      await next();
    });
    this.onInstallationUpdateAdd(async (context, next) => {
      await this.welcome(context);
      await next();
    });
    this.onInstallationUpdateRemove(async (context, next) => {
      await this.services.conversations.forgetWelcome(context.activity.conversation.id);
      await next();
    });
    this.onConversationUpdate(async (context, next) => {
      await this.remember(context, await this.identify(context));
      await next();
    });
    this.onMembersAdded(async (context, next) => {
      if ((context.activity.membersAdded ?? []).some((m) => m.id === context.activity.recipient.id)) await this.welcome(context);
      await next();
    });
  }

  protected override async onAdaptiveCardInvoke(context: TurnContext, invokeValue: AdaptiveCardInvokeValue): Promise<AdaptiveCardInvokeResponse> {
    const verb = invokeValue?.action?.verb;
    const rawData = invokeValue?.action?.data ?? {};
    if (typeof verb !== 'string' || verb === '') return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'The action has no verb.' } as never };
    if (typeof rawData !== 'object' || Array.isArray(rawData)) return { statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'BadRequest', message: 'The action data must be an object.' } as never };
    const data = rawData as Record<string, unknown>;
    const actor = await this.identify(context);
    await this.remember(context, actor);
    const card = actor ? await actionFor(verb)(this.turn(context, actor), data) : unknownUserCard(this.services.administratorContact);
    return { statusCode: 200, type: CARD_CONTENT_TYPE, value: card as never };
  }

  /** Action.Submit (older clients): the same handler; the card is replaced where the client allows it. */
  private async submitFallback(context: TurnContext, actor: StaffMember): Promise<void> {
    const data = context.activity.value as Record<string, unknown>;
    const card = await actionFor(data.verb)(this.turn(context, actor), data);
    if (context.activity.replyToId) {
      try {
        await context.updateActivity({ type: 'message', id: context.activity.replyToId, summary: card.fallbackText, attachments: [attachment(card)] });
        return;
      } catch {
        // Not every client lets a card be replaced: send it as a new message instead.
      }
    }
    await this.sendCard(context, card);
  }

  private turn(context: TurnContext, actor: StaffMember): Turn {
    const type = context.activity.conversation?.conversationType;
    return {
      context,
      services: this.services,
      notifier: this.notifier,
      delivery: this.delivery,
      actor,
      // Whose action it is belongs in the key: an activity id is only unique within its conversation,
      // and the case log also checks the case and the kind of event before treating it as a repeat.
      idempotencyKey: context.activity.id ? `teams:${actor.id}:${context.activity.conversation?.id}:${context.activity.id}` : undefined,
      inGroup: type !== undefined && type !== 'personal',
    };
  }

  private async identify(context: TurnContext): Promise<StaffMember | null> {
    const id = context.activity.from?.aadObjectId;
    if (typeof id !== 'string' || id === '') return null;
    const member = await this.services.directory.get(id);
    return member?.active ? member : null;
  }

  /** References this process has already stored, so that an unchanged one is not written on every turn. */
  private readonly remembered = new Map<string, string>();

  /**
   * Keeps the reference of a chat the bot may need to reach later: a staff member's personal chat,
   * or a group chat or channel it was added to. Someone not in the directory leaves nothing behind.
   */
  private async remember(context: TurnContext, actor: StaffMember | null): Promise<void> {
    const activity = context.activity;
    if (!activity.conversation?.id) return;
    const type = activity.conversation.conversationType ?? 'personal';
    const installed = activity.type === 'conversationUpdate' || activity.type === 'installationUpdate';
    if (!actor && (type === 'personal' || !installed)) return;
    const reference = TurnContext.getConversationReference(activity);
    const staff = type === 'personal' ? actor : null;
    const { activityId: _activityId, ...stable } = reference;
    const key = JSON.stringify([stable, staff?.id ?? null]);
    if (this.remembered.get(activity.conversation.id) === key) return;
    await this.services.conversations.save({ conversationId: activity.conversation.id, staffId: staff?.id ?? null, conversationType: type, reference: reference as Record<string, unknown> });
    this.remembered.set(activity.conversation.id, key);
    // A person or chat reached for the first time (or again): what waited for them can go.
    await deliverWaiting(this.services.db, this.delivery, staff ? { staffId: staff.id } : { conversationId: activity.conversation.id });
  }

  private async welcome(context: TurnContext): Promise<void> {
    const personal = (context.activity.conversation.conversationType ?? 'personal') === 'personal';
    const actor = await this.identify(context);
    if (personal && !actor) {
      // Nothing is stored for someone not in the directory, so they are told on each install.
      if (context.activity.type === 'installationUpdate') await this.sendCard(context, unknownUserCard(this.services.administratorContact));
      return;
    }
    // Opened again (perhaps after the bot was removed and its reference dropped): store it afresh.
    this.remembered.delete(context.activity.conversation.id);
    await this.remember(context, actor);
    if (!(await this.services.conversations.claimWelcome(context.activity.conversation.id))) return;
    await this.sendCard(context, welcomeCard());
    log.info({ conversationId: context.activity.conversation.id }, 'welcomed');
  }

  private async sendCard(context: TurnContext, card: AdaptiveCard): Promise<void> {
    await context.sendActivity({ type: 'message', summary: card.fallbackText, attachments: [attachment(card)] });
  }
}
