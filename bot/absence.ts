import { ABSENCE_EXAMPLES, absenceFault, AbsenceFault, readAbsence } from '../src/absenceWords';
import { dutyManager, lineOrDutyManager } from '../src/cover';
import { LocalDate, maxDate } from '../src/localDate';
import { isAbsent, StaffMember } from '../src/staff';
import type { CardAction } from './actions';
import { CardInputError, cardInput } from './cardInputs';
import { noticeCard } from './cards/cards';
import { formatDay } from './cards/labels';
import { AdaptiveCard, expandCard } from './cards/template';
import { BotServices } from './services';
import { CommandTurn } from './turn';

/**
 * Absence from the bot: a person says when they are away in their own words ("away from 21 Dec
 * until 4 Jan"), sees on a card the dates as understood and who covers for them meanwhile, and
 * confirms; "back" ends it. The dates are read by src/absenceWords.ts; who covers is src/cover.ts,
 * the rule the reminders follow.
 */

/** What a notification of these cards may show: nothing of the person's leave. */
const SUMMARY = 'Your absence';

const HINT = `Tell me in your own words, for example ${ABSENCE_EXAMPLES}; say "back" when you return.`;

/** A day as a leave is confirmed, always with its year: "Mon 21 Dec 2026". */
const dayOf = (date: LocalDate) => `${formatDay(date, date)} ${date.slice(0, 4)}`;

/** "from Mon 21 Dec 2026 until Mon 4 Jan 2027", or "on Tue 24 Nov 2026" for one day. */
function leaveWords(from: LocalDate | undefined, until: LocalDate): string {
  if (!from) return `until ${dayOf(until)}`;
  return from === until ? `on ${dayOf(from)}` : `from ${dayOf(from)} until ${dayOf(until)}`;
}

const leaveOf = (m: StaffMember) => leaveWords(m.absentFrom as LocalDate | undefined, m.absentUntil as LocalDate);

interface AbsenceCardData {
  title: string;
  message?: string;
  /** Who covers meanwhile. */
  cover?: string;
  /** The leave this one would replace. */
  replaces?: string;
  hint?: string;
  /** The leave to confirm: with both, the card has Confirm and Cancel. */
  leave?: { from: LocalDate; until: LocalDate };
}

function absenceCard(data: AbsenceCardData): AdaptiveCard {
  return expandCard('absence', {
    summary: SUMMARY,
    message: data.message ?? '',
    cover: data.cover ?? '',
    replaces: data.replaces ?? '',
    hint: data.hint ?? '',
    title: data.title,
    from: data.leave?.from ?? '',
    until: data.leave?.until ?? '',
    canConfirm: data.leave !== undefined,
  });
}

/**
 * Who covers for a person while they are away, in words, as on the first day of the leave (or
 * today, for a leave already begun): their reminders go to their line or duty manager; a
 * manager's escalations and CAFs to authorise go to the team's duty manager.
 */
async function coverWords(services: BotServices, person: StaffMember, from: LocalDate): Promise<string> {
  if (person.role !== 'worker' && person.role !== 'manager') return '';
  const day = maxDate(from, services.today());
  const team = await services.directory.team(person.team);
  // The line manager may sit in another team; lineOrDutyManager looks for them among those given.
  const line = person.lineManager && !team.some((m) => m.id === person.lineManager) ? await services.directory.get(person.lineManager) : null;
  const people = [...team, ...(line ? [line] : [])];
  const cover = lineOrDutyManager(person, people, day);
  if (person.role === 'worker') {
    return cover ? `Your reminders go to ${cover.name} meanwhile.` : `No manager of ${person.team} is at work then to take your reminders: they wait for you.`;
  }
  const duty = dutyManager(person, people, day);
  if (!duty) return `No other manager of ${person.team} is at work then: your reminders, escalations and CAFs to authorise wait for you.`;
  if (cover?.id === duty.id) return `Your reminders, escalations and CAFs to authorise go to ${duty.name}, the duty manager, meanwhile.`;
  return `Your reminders go to ${cover?.name ?? duty.name} meanwhile; escalations and CAFs to authorise go to ${duty.name}, the duty manager.`;
}

function faultWords(fault: AbsenceFault, from: LocalDate, until: LocalDate): string {
  return fault === 'ends-before-start'
    ? `I read that as ${leaveWords(from, until)}: it ends before it starts. Give the first day away, then the last.`
    : `I read that as ${leaveWords(from, until)}: that is over. The last day away must be today or later.`;
}

/** The leave a person has now or to come, if any, in words for "This replaces ...". */
function replacedWords(person: StaffMember, today: LocalDate): string {
  return person.absentUntil && person.absentUntil >= today ? `This replaces your leave ${leaveOf(person)}.` : '';
}

/** The confirmation card for a leave read from what the person typed, or the card saying why not. */
async function proposal(turn: CommandTurn, from: LocalDate, until: LocalDate): Promise<AdaptiveCard> {
  return absenceCard({
    title: `Away ${leaveWords(from, until)}`,
    cover: await coverWords(turn.services, turn.actor, from),
    replaces: replacedWords(turn.actor, turn.services.today()),
    leave: { from, until },
  });
}

/** "back": the person's leave, now or to come, is cleared (saved and audited as theirs). */
async function back(turn: CommandTurn): Promise<AdaptiveCard> {
  const today = turn.services.today();
  const me = turn.actor;
  if (!me.absentUntil && !me.absentFrom) return noticeCard({ title: 'You are not marked away: your reminders come to you.', summary: SUMMARY });
  const { absentFrom: _from, absentUntil: _until, ...present } = me;
  await turn.services.directory.save([present], me.id);
  if (isAbsent(me, today)) return noticeCard({ title: 'Welcome back. Your reminders come to you again.', summary: SUMMARY });
  if (me.absentUntil && me.absentUntil >= today) return noticeCard({ title: `Your leave ${leaveOf(me)} is cancelled.`, text: 'Your reminders keep coming to you.', summary: SUMMARY });
  return noticeCard({ title: 'You are not marked away: your reminders come to you.', summary: SUMMARY });
}

/** The `away` command: what the person typed, read as a leave to confirm, "back", or not understood. */
export async function absenceCommand(turn: CommandTurn, text: string): Promise<AdaptiveCard> {
  const words = readAbsence(text, turn.services.today()) ?? { kind: 'unclear', reason: `Tell me when, for example ${ABSENCE_EXAMPLES}.` };
  switch (words.kind) {
    case 'back':
      return back(turn);
    case 'away':
      return proposal(turn, words.from, words.until);
    case 'refused':
      return absenceCard({ title: 'When are you away?', message: faultWords(words.fault, words.from, words.until), hint: HINT });
    case 'unclear':
      return absenceCard({ title: 'When are you away?', message: words.reason, hint: HINT });
  }
}

/**
 * Confirm or Cancel on the absence card. The leave is checked again as of today (the card may be
 * answered days later) and saved as the person's own change, audited under their id.
 */
export const answerAbsence: CardAction = async (turn, data) => {
  // The card sets the leave of whoever answers it: only in their own chat.
  if (turn.inGroup) return noticeCard({ title: 'Tell me about your absence in your personal chat with Early Help.', summary: SUMMARY });
  let input;
  try {
    input = cardInput('answerAbsence', data);
  } catch (e) {
    if (e instanceof CardInputError) return absenceCard({ title: 'This card is out of date.', message: 'Nothing was saved.', hint: HINT });
    throw e;
  }
  if (input.answer === 'cancel') {
    const today = turn.services.today();
    const kept = turn.actor.absentUntil && turn.actor.absentUntil >= today ? `Your leave ${leaveOf(turn.actor)} stays as it was.` : '';
    return noticeCard({ title: 'Nothing changed.', text: kept, summary: SUMMARY });
  }
  const { absentFrom: from, absentUntil: until } = input;
  const fault = absenceFault(from, until, turn.services.today());
  if (fault) return absenceCard({ title: 'Nothing was saved.', message: faultWords(fault, from, until), hint: HINT });
  await turn.services.directory.save([{ ...turn.actor, absentFrom: from, absentUntil: until }], turn.actor.id);
  return noticeCard({ title: `Saved: away ${leaveWords(from, until)}.`, text: `${await coverWords(turn.services, turn.actor, from)} Say "back" if you return sooner.`.trim(), summary: SUMMARY });
};
