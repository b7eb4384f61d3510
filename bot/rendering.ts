import type { ClaimedMessage } from '../src/delivery/outbox';
import { REMINDER_KIND } from '../src/reminders/sweep';
import { AdaptiveCard } from './cards/template';
import { renderCaseView } from './caseViews';
import { renderReminder } from './reminderViews';
import { BotServices } from './services';

/**
 * Draws a queued message that carries no card of its own (a case view, a reminder) for its
 * recipient at delivery, from the case as it then stands; null when it is no longer owed.
 */
export function renderMessage(services: BotServices, message: ClaimedMessage): Promise<{ card: AdaptiveCard; subjectId?: string } | null> {
  return message.kind === REMINDER_KIND ? renderReminder(services, message) : renderCaseView(services, message);
}
