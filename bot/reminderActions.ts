import { AccessDeniedError } from '../src/access';
import { CaseWorkError, recordWork } from '../src/caseWork';
import { messageFor } from '../src/delivery/outbox';
import { noteEscalation } from '../src/escalationNote';
import { isLocalDate, LocalDate } from '../src/localDate';
import type { PlannedNotification } from '../src/reminders/plan';
import { snoozeProblem } from '../src/reminders/digest';
import { plannedFromPayload } from '../src/reminders/reminderPayload';
import { REMINDER_KIND } from '../src/reminders/sweep';
import { CaseNotFoundError, IdempotencyConflictError, VersionConflictError } from '../src/storage/caseLog';
import type { CardAction } from './actions';
import { CardInputError, cardInput, echoed } from './cardInputs';
import { noticeCard } from './cards/cards';
import { formatDay, OBLIGATION_LABELS } from './cards/labels';
import { AdaptiveCard } from './cards/template';
import { obligationsOf } from './caseViews';
import { reminderCardFor } from './reminderViews';
import { doneActionOf } from './reminderWork';
import { Turn } from './turn';

/**
 * What a person does on the spot from a digest or an escalation: Done (records the work through
 * the case card's own rules), Snooze (to a later working day, never past the deadline), Noted (a
 * manager's answer to an escalation, recorded on the case). The card comes back drawn afresh,
 * with the item gone, or with the message when the input was wrong (nothing written).
 */

const OUT_OF_DATE = () => noticeCard({ title: 'This reminder is out of date. Type "due" to see what is due.', summary: 'Out of date reminder' });

type Located = { turn: Turn; message: { id: number; payload: Record<string, unknown> }; plan: PlannedNotification; index: number };

/** The reminder and item a card action names: only the person's own, else the out-of-date answer. */
async function locate(turn: Turn, data: Record<string, unknown>): Promise<{ found: Located } | { answer: AdaptiveCard }> {
  let reminderId: number;
  let index: number;
  try {
    ({ reminderId, item: index } = cardInput('reminderItem', data));
  } catch {
    return { answer: OUT_OF_DATE() };
  }
  const message = await messageFor(turn.services.db, reminderId, turn.actor.id, REMINDER_KIND);
  const plan = message ? plannedFromPayload(message.payload) : undefined;
  if (!message || !plan?.items?.[index]) return { answer: OUT_OF_DATE() };
  return { found: { turn, message, plan, index } };
}

/** The card drawn again after an action, with its notice or message. */
async function again(at: Located, extra: { message?: string; notice?: string }): Promise<AdaptiveCard> {
  return (await reminderCardFor(at.turn.services, at.turn.actor, at.message, extra)) ?? noticeCard({ title: extra.notice ?? extra.message ?? 'Done.', summary: 'Reminder' });
}

function refused(e: unknown): string | null {
  if (e instanceof CaseWorkError || e instanceof CardInputError || e instanceof AccessDeniedError || e instanceof IdempotencyConflictError) return e.message;
  if (e instanceof VersionConflictError) return 'Someone else changed this case at the same moment: nothing was recorded. Please try again.';
  if (e instanceof CaseNotFoundError) return 'That case could not be found.';
  return null;
}

function on(action: (at: Located, data: Record<string, unknown>) => Promise<AdaptiveCard>): CardAction {
  return async (turn, data) => {
    const located = await locate(turn, data);
    if ('answer' in located) return located.answer;
    const at = located.found;
    try {
      return await action(at, data);
    } catch (e) {
      const message = refused(e);
      if (message === null) throw e;
      return again(at, { message });
    }
  };
}

/** The obligation of an item as the case now stands, read as the person (audited). */
async function obligationNow(at: Located) {
  const item = at.plan.items[at.index];
  const [record] = await at.turn.services.caseLog.readMany([item.caseId], { actor: at.turn.actor.id });
  return record ? obligationsOf(at.turn.services, record.events).find((o) => o.id === item.obligationId) : undefined;
}

const dateIn = (data: Record<string, unknown>, field: string): string => (typeof data[field] === 'string' ? (data[field] as string).trim().slice(0, 10) : '');

export const reminderDone: CardAction = on(async (at, data) => {
  const item = at.plan.items[at.index];
  const obligation = await obligationNow(at);
  const done = obligation ? doneActionOf(obligation) : null;
  if (!obligation || !done) return again(at, { message: `${OBLIGATION_LABELS[item.obligation]} on case ${item.case} is recorded from the case card: open the case.` });
  await recordWork(at.turn.services, at.turn.actor, item.caseId, done.action, { date: dateIn(data, `done-${at.index}`) || undefined, ...done.extra }, at.turn.idempotencyKey);
  return again(at, { notice: `${OBLIGATION_LABELS[item.obligation]} recorded on case ${item.case}.` });
});

export const reminderSnooze: CardAction = on(async (at, data) => {
  const item = at.plan.items[at.index];
  const until = dateIn(data, `snooze-${at.index}`);
  if (!isLocalDate(until)) return again(at, { message: 'Snooze: give the day to be reminded again, YYYY-MM-DD.' });
  const obligation = await obligationNow(at);
  if (!obligation) return again(at, { message: `${OBLIGATION_LABELS[item.obligation]} on case ${item.case} is no longer due.` });
  const problem = snoozeProblem(obligation, until as LocalDate, at.turn.services.today(), at.turn.services.calendar);
  if (problem) return again(at, { message: `Snooze: ${problem}` });
  await at.turn.services.reminders.snooze({ caseId: item.caseId, obligationId: item.obligationId, staffId: at.turn.actor.id, until: until as LocalDate });
  return again(at, { notice: `${OBLIGATION_LABELS[item.obligation]} on case ${item.case}: you will be reminded again on ${formatDay(until as LocalDate, at.turn.services.today())}.` });
});

export const escalationNoted: CardAction = on(async (at, data) => {
  const item = at.plan.items[at.index];
  const note = echoed(data, [`note-${at.index}`], 2000)[`note-${at.index}`].trim();
  if (!note) return again(at, { message: 'Noted: say what is being done.' });
  await noteEscalation(at.turn.services, at.turn.actor, item.caseId, item.obligationId, note, at.turn.idempotencyKey);
  return again(at, { notice: `Noted on case ${item.case}.` });
});
