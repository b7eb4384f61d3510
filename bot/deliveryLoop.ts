import type { BotAdapter } from 'botbuilder';
import { createDispatcher, Dispatcher, DispatcherOptions } from '../src/delivery/dispatcher';
import { Recipient, releaseWaiting } from '../src/delivery/outbox';
import { ConversationStore } from '../src/storage/conversations';
import { Database } from '../src/storage/database';
import { teamsHandlers, TeamsDeliveryOptions } from './delivery';
import { log } from './log';

/**
 * The Teams delivery loop the bot runs beside its HTTP server: every instance runs one, and they
 * share the outbox through their claims. `poke()` after queueing a message, or when someone opens
 * the bot, sends at once instead of at the next poll.
 */
export function startDeliveryLoop(options: {
  db: Database;
  adapter: BotAdapter;
  appId: string;
  conversations?: ConversationStore;
  render?: TeamsDeliveryOptions['render'];
  dispatcher?: Partial<Omit<DispatcherOptions, 'db' | 'handlers'>>;
}): Dispatcher {
  const dispatcher = createDispatcher({
    db: options.db,
    handlers: teamsHandlers({ adapter: options.adapter, appId: options.appId, db: options.db, conversations: options.conversations, render: options.render }),
    destination: 'teams',
    log,
    ...options.dispatcher,
  });
  dispatcher.start();
  log.info({ claimer: dispatcher.claimer }, 'delivery loop started');
  return dispatcher;
}

/**
 * Someone can be reached again (their installationUpdate or conversationUpdate, once the bot has
 * stored the chat's reference): what waited for them is due now, oldest first, and sent at once.
 * Returns how many messages were waiting.
 */
export async function deliverWaiting(db: Database, delivery: Pick<Dispatcher, 'poke'>, recipient: Recipient): Promise<number> {
  const released = await releaseWaiting(db, recipient);
  if (released > 0) {
    log.info({ released, ...('staffId' in recipient ? { staffId: recipient.staffId } : { conversationId: recipient.conversationId }) }, 'delivery: recipient reachable again');
    delivery.poke();
  }
  return released;
}
