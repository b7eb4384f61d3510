import { ABSENCE_PATTERN } from '../src/absenceWords';
import { AccessDeniedError } from '../src/access';
import { absenceCommand } from './absence';
import { CaseNotFoundError } from '../src/storage/caseLog';
import { AdaptiveCard } from './cards/template';
import { helpCard, noticeCard, personalChatCard } from './cards/cards';
import { approvalsCard, dueCard, myCasesCard, teamCardFor } from './caseLists';
import { allocationFormFor, cafAuthorisationCardFor, caseCardFor, mayDecideCaf } from './caseViews';
import { caseFor } from '../src/caseWork';
import { supervisionCardFor } from './supervisionViews';
import { CommandTurn } from './turn';

/** The commands in personal chat, each with the words that trigger it (also the manifest's command menu). */
export interface BotCommand {
  name: string;
  pattern: RegExp;
  /** Shows a case or a caseload: answered only in the person's own chat, never in a group chat or channel. */
  personal?: true;
  run(turn: CommandTurn, match: RegExpMatchArray): Promise<AdaptiveCard>;
}

/** What follows "case": a bare number is an EH reference ("case 1003" is EH-1003); anything else as typed, in capitals. */
export function referenceOf(typed: string): string {
  return /^\d+$/.test(typed) ? `EH-${typed}` : typed.toUpperCase();
}

export const COMMANDS: BotCommand[] = [
  { name: 'my cases', pattern: /^\s*(?:show\s+)?(?:my\s+)?(?:cases|caseload)\b/i, personal: true, run: (turn) => myCasesCard(turn.services, turn.actor) },
  {
    name: 'case',
    pattern: /^\s*(?:open\s+)?case\s+([A-Za-z0-9][A-Za-z0-9-]{0,30})\b/i,
    personal: true,
    run: async (turn, match) => {
      const reference = referenceOf(match[1]);
      const notYours = () => noticeCard({ title: `There is no case ${reference} that you can open.`, summary: `Case ${reference}` });
      // A bare number is tried as an EH reference first, then as typed.
      const caseId = (await turn.services.caseLog.idOf(reference)) ?? (/^\d+$/.test(match[1]) ? await turn.services.caseLog.idOf(match[1]) : null);
      if (!caseId) return notYours();
      try {
        const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
        // A manager who may decide a CAF awaiting authorisation is shown that first.
        if (await mayDecideCaf(turn.services, record, turn.actor)) {
          const caf = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: turn.inGroup });
          if (caf) return caf;
        }
        return caseCardFor(turn.services, record, { viewer: turn.actor });
      } catch (e) {
        // The same answer whether the case is missing or not theirs: a reference says nothing more.
        if (e instanceof AccessDeniedError || e instanceof CaseNotFoundError) return notYours();
        throw e;
      }
    },
  },
  { name: 'due', pattern: /^\s*(?:what(?:'s|\u2019s|\s+is)\s+)?(?:over)?due\b/i, personal: true, run: (turn) => dueCard(turn.services, turn.actor) },
  {
    name: 'approvals',
    pattern: /^\s*(?:my\s+)?(?:approvals?|awaiting\s+(?:my\s+)?approval|to\s+approve)\b/i,
    personal: true,
    run: (turn) => approvalsCard(turn.services, turn.actor),
  },
  { name: 'team', pattern: /^\s*(?:my\s+)?team\b/i, personal: true, run: (turn) => teamCardFor(turn.services, turn.actor) },
  {
    name: 'allocate',
    pattern: /^\s*allocate\b/i,
    personal: true,
    run: async (turn) =>
      turn.actor.role === 'manager' ? allocationFormFor(turn.services, turn.actor) : noticeCard({ title: 'Only managers allocate cases.', summary: 'Allocation' }),
  },
  {
    name: 'supervision',
    pattern: /^\s*(?:my\s+)?supervisions?\b/i,
    personal: true,
    run: async (turn) =>
      turn.actor.role === 'manager' || turn.actor.role === 'worker'
        ? supervisionCardFor(turn.services, turn.actor)
        : noticeCard({ title: 'Supervision is between workers and their managers.', summary: 'Supervision' }),
  },
  { name: 'away', pattern: ABSENCE_PATTERN, personal: true, run: (turn, match) => absenceCommand(turn, match.input ?? '') },
  { name: 'help', pattern: /^\s*(?:help|\?|hello|hi)\b/i, run: async () => helpCard() },
];

/** The words people type for each command, for "Did you mean ...?" when nothing matched. */
const COMMAND_WORDS: ReadonlyArray<[words: string, command: string]> = [
  ['my cases', 'my cases'],
  ['cases', 'my cases'],
  ['caseload', 'my cases'],
  ['my caseload', 'my cases'],
  ['case', 'case'],
  ['due', 'due'],
  ['overdue', 'due'],
  ['due today', 'due'],
  ['approvals', 'approvals'],
  ['awaiting approval', 'approvals'],
  ['to approve', 'approvals'],
  ['team', 'team'],
  ['my team', 'team'],
  ['allocate', 'allocate'],
  ['supervision', 'supervision'],
  ['supervisions', 'supervision'],
  ['away', 'away'],
  ['on leave', 'away'],
  ['back', 'back'],
  ['help', 'help'],
];

/** Edit distance with adjacent transpositions ("deu" is one edit from "due"). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/**
 * The command nearest to what was typed, if one is near enough to be a slip: one edit for a word
 * of four letters or fewer, two for longer ones. "deu" → "due", "tema" → "team", "csae 1003" → "case 1003".
 */
export function nearestCommand(text: string): string | null {
  const words = text.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return null;
  let best: { distance: number; command: string } | null = null;
  for (const [phrase, command] of COMMAND_WORDS) {
    const size = phrase.split(' ').length;
    // "case" needs a reference after it.
    if (command === 'case' && words.length <= size) continue;
    const distance = editDistance(words.slice(0, size).join(' '), phrase);
    if (distance <= (phrase.length <= 4 ? 1 : 2) && (!best || distance < best.distance)) best = { distance, command };
  }
  if (!best) return null;
  return best.command === 'case' ? `case ${referenceOf(words[1].toUpperCase())}` : best.command;
}

/** The card for what someone typed; anything not understood gets the help card. */
export async function runCommand(turn: CommandTurn, text: string): Promise<AdaptiveCard> {
  for (const command of COMMANDS) {
    const match = text.match(command.pattern);
    if (!match) continue;
    if (command.personal && turn.inGroup) {
      const reference = command.name === 'case' ? referenceOf(match[1]) : '';
      const asked = command.name === 'case' ? `case ${reference}` : command.name;
      return personalChatCard({ title: command.name === 'case' ? `Case ${reference}: details are for your personal chat.` : 'That is for your personal chat.', summary: 'Open in your personal chat', command: asked });
    }
    return command.run(turn, match);
  }
  return helpCard(text.trim(), nearestCommand(text) ?? '');
}
