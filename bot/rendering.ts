import type { ClaimedMessage, NewMessage } from '../src/delivery/outbox';
import { REMINDER_KIND } from '../src/reminders/sweep';
import { TAF_MEETING_VIEW_KIND } from '../src/taf/booking';
import { AdaptiveCard } from './cards/template';
import { renderCaseView } from './caseViews';
import { runCommand } from './commands';
import { renderMeetingView } from './meetingViews';
import { renderReminder } from './reminderViews';
import { BotServices } from './services';

/**
 * Draws a queued message that carries no card of its own (a case view, a reminder, a TAF meeting) for its
 * recipient at delivery, from the case as it then stands; null when it is no longer owed.
 */
export function renderMessage(services: BotServices, message: ClaimedMessage): Promise<{ card: AdaptiveCard; subjectId?: string } | null> {
  if (message.kind === REMINDER_KIND) return renderReminder(services, message);
  if (message.kind === COMMAND_VIEW_KIND) return renderCommandView(services, message);
  if (message.kind === TAF_MEETING_VIEW_KIND) return renderMeetingView(services, message);
  return renderCaseView(services, message);
}

/** A command's answer queued for a person's own chat (asked for from a group chat or channel): the command, never its answer, waits in the outbox. */
export const COMMAND_VIEW_KIND = 'command-view';

export function commandViewMessage(staffId: string, command: string, dedupeKey: string): NewMessage {
  return { kind: COMMAND_VIEW_KIND, recipient: { staffId }, payload: { command }, dedupeKey };
}

/** Runs the command as its recipient when it is delivered, as if typed in their personal chat. */
async function renderCommandView(services: BotServices, message: ClaimedMessage): Promise<{ card: AdaptiveCard } | null> {
  const staffId = message.recipient && 'staffId' in message.recipient ? message.recipient.staffId : null;
  const actor = staffId ? await services.directory.get(staffId) : null;
  const command = typeof message.payload.command === 'string' ? message.payload.command : '';
  if (!actor?.active || !command) return null;
  return { card: await runCommand({ services, actor, inGroup: false }, command) };
}
