import type { BotAdapter, ConversationReference } from 'botbuilder';
import { ConversationStore, StoredConversation } from '../src/storage/conversations';
import { attachment, AdaptiveCard } from './cards/template';
import { log } from './log';

export interface Delivered {
  conversationId: string;
  activityId: string;
}

/**
 * Sends cards to people and chats outside the turn that caused them (a case to its new worker, a
 * CAF to its manager), through the conversation references stored in the database. The preview a
 * notification shows is the card's fallback text: the case reference, never a name.
 */
export class Notifier {
  constructor(
    private readonly adapter: BotAdapter,
    private readonly appId: string,
    private readonly conversations: ConversationStore,
  ) {}

  async toPerson(staffId: string, card: AdaptiveCard): Promise<Delivered | null> {
    const conversation = await this.conversations.personalChatOf(staffId);
    if (!conversation) {
      log.warn({ staffId }, 'no personal chat with this person yet: card not delivered');
      return null;
    }
    return this.toConversation(conversation, card);
  }

  async toConversation(conversation: StoredConversation, card: AdaptiveCard): Promise<Delivered | null> {
    let delivered: Delivered | null = null;
    try {
      await this.adapter.continueConversationAsync(this.appId, conversation.reference as Partial<ConversationReference>, async (context) => {
        const response = await context.sendActivity({ type: 'message', summary: card.fallbackText, attachments: [attachment(card)] });
        if (response?.id) delivered = { conversationId: conversation.conversationId, activityId: response.id };
      });
    } catch (e) {
      log.error({ conversationId: conversation.conversationId, err: (e as Error).name, message: (e as Error).message.slice(0, 200) }, 'proactive send failed');
    }
    return delivered;
  }

  /** Replaces a card the bot posted earlier (e.g. every copy of a CAF card once it is decided). */
  async update(conversationId: string, activityId: string, card: AdaptiveCard): Promise<void> {
    const conversation = await this.conversations.get(conversationId);
    if (!conversation) return;
    try {
      await this.adapter.continueConversationAsync(this.appId, conversation.reference as Partial<ConversationReference>, async (context) => {
        await context.updateActivity({ type: 'message', id: activityId, summary: card.fallbackText, attachments: [attachment(card)] });
      });
    } catch (e) {
      log.error({ conversationId, activityId, err: (e as Error).name }, 'card update failed');
    }
  }
}
