import { AccessDeniedError } from '../src/access';
import { CaseNotFoundError } from '../src/storage/caseLog';
import { AdaptiveCard } from './cards/template';
import { helpCard, noticeCard, personalChatCard } from './cards/cards';
import { dueCard, myCasesCard } from './caseLists';
import { allocationFormFor, cafAuthorisationCardFor, caseCardFor, mayDecideCaf } from './caseViews';
import { caseFor } from '../src/caseWork';
import { Turn } from './turn';

/** The commands in personal chat, each with the words that trigger it (also the manifest's command menu). */
export interface BotCommand {
  name: string;
  pattern: RegExp;
  /** Shows a case or a caseload: answered only in the person's own chat, never in a group chat or channel. */
  personal?: true;
  run(turn: Turn, match: RegExpMatchArray): Promise<AdaptiveCard>;
}

export const COMMANDS: BotCommand[] = [
  { name: 'my cases', pattern: /^\s*(?:show\s+)?(?:my\s+)?cases\b/i, personal: true, run: (turn) => myCasesCard(turn.services, turn.actor) },
  {
    name: 'case',
    pattern: /^\s*(?:open\s+)?case\s+([A-Za-z0-9][A-Za-z0-9-]{1,30})\b/i,
    personal: true,
    run: async (turn, match) => {
      const reference = match[1].toUpperCase();
      const caseId = await turn.services.caseLog.idOf(reference);
      if (!caseId) return noticeCard({ title: `There is no case ${reference} that you can open.`, summary: `Case ${reference}` });
      try {
        const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
        // A manager who may decide a CAF awaiting authorisation is shown that first.
        if (await mayDecideCaf(turn.services, record, turn.actor)) {
          const caf = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: turn.inGroup });
          if (caf) return caf;
        }
        return caseCardFor(turn.services, record);
      } catch (e) {
        // The same answer whether the case is missing or not theirs: a reference says nothing more.
        if (e instanceof AccessDeniedError || e instanceof CaseNotFoundError) return noticeCard({ title: `There is no case ${reference} that you can open.`, summary: `Case ${reference}` });
        throw e;
      }
    },
  },
  { name: 'due', pattern: /^\s*(?:what(?:'s| is)\s+)?due\b/i, personal: true, run: (turn) => dueCard(turn.services, turn.actor) },
  {
    name: 'allocate',
    pattern: /^\s*allocate\b/i,
    personal: true,
    run: async (turn) =>
      turn.actor.role === 'manager' ? allocationFormFor(turn.services, turn.actor) : noticeCard({ title: 'Only managers allocate cases.', summary: 'Allocation' }),
  },
  { name: 'help', pattern: /^\s*(?:help|\?|hello|hi)\b/i, run: async () => helpCard() },
];

/** The card for what someone typed; anything not understood gets the help card. */
export async function runCommand(turn: Turn, text: string): Promise<AdaptiveCard> {
  for (const command of COMMANDS) {
    const match = text.match(command.pattern);
    if (!match) continue;
    if (command.personal && turn.inGroup) {
      const asked = command.name === 'case' ? `case ${match[1].toUpperCase()}` : command.name;
      return personalChatCard({ title: command.name === 'case' ? `Case ${match[1].toUpperCase()}: details are for your personal chat.` : 'That is for your personal chat.', summary: 'Open in your personal chat', command: asked });
    }
    return command.run(turn, match);
  }
  return helpCard(text.trim());
}
