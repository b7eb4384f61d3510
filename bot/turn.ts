import type { TurnContext } from 'botbuilder';
import { StaffMember } from '../src/staff';
import type { Dispatcher } from '../src/delivery/dispatcher';
import { Notifier } from './notifier';
import { BotServices } from './services';

/** One person's turn: who they are (from the staff directory), and what the bot can reach. */
export interface Turn {
  context: TurnContext;
  services: BotServices;
  notifier: Notifier;
  /** The outbox's sender: poked after a change queues a message, so it goes at once. */
  delivery: Pick<Dispatcher, 'poke'>;
  actor: StaffMember;
  /** A key for anything this turn writes, so that a retried activity records nothing twice. */
  idempotencyKey: string | undefined;
  /** Whether the card was acted on where several people see it (group chat or channel). */
  inGroup: boolean;
}

/** What a command needs of a turn: who asks, and where (a command may also be run at delivery, for a card queued to a personal chat). */
export type CommandTurn = Pick<Turn, 'services' | 'actor' | 'inGroup'>;
