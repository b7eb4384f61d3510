import { AccessDeniedError } from '../src/access';
import { caseFor, CaseWorkError } from '../src/caseWork';
import { retry } from '../src/delivery/outbox';
import { recordAudit } from '../src/storage/audit';
import { CaseNotFoundError, IdempotencyConflictError, VersionConflictError } from '../src/storage/caseLog';
import type { TafMeeting } from '../src/storage/meetingStore';
import { tafMeetingHeld, tafMeetingMoved, tafMeetingNotHeld } from '../src/taf/meetingOutcome';
import type { CardAction } from './actions';
import { CardInputError, cardInput, echoed } from './cardInputs';
import { noticeCard } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { meetingBooking, MeetingCardExtra, meetingCardNow, MeetingCardView, meetingTime } from './meetingViews';
import { Turn } from './turn';

/**
 * What the organiser (or a manager of the team) does from a TAF meeting's card: Held, Not held,
 * Moved (the rules are the core's, src/taf/meetingOutcome.ts), and Try again for a booking that
 * kept failing. The card comes back drawn afresh as the meeting now stands, or the same card with
 * the message and what was entered when the input was wrong (nothing written).
 */

const OUT_OF_DATE = () => noticeCard({ title: 'This meeting card is out of date. Type "my cases" to see your cases.', summary: 'Out of date card' });
const CONFLICT_MESSAGE = 'Someone else changed this case at the same moment: nothing was recorded. Please try again.';

type At = { turn: Turn; meeting: TafMeeting; view: MeetingCardView };

/** The meeting a card action names, or the out-of-date answer (access is decided when the case is read). */
async function locate(turn: Turn, data: Record<string, unknown>): Promise<At | null> {
  let input: { meetingId: string; view: MeetingCardView };
  try {
    input = cardInput('meetingCard', data);
  } catch {
    return null;
  }
  const meeting = await turn.services.meetings.get(input.meetingId);
  return meeting ? { turn, meeting, view: input.view } : null;
}

/** The card drawn again: as `view` if that is still true, else as the meeting now stands. */
async function again(at: At, extra: MeetingCardExtra, view = at.view): Promise<AdaptiveCard> {
  const meeting = (await at.turn.services.meetings.get(at.meeting.id)) ?? at.meeting;
  const card = await meetingCardNow(at.turn.services, at.turn.actor, meeting, view, extra);
  return card ?? noticeCard({ title: extra.message ?? extra.notice ?? 'Done.', summary: `Case ${meeting.reference}`, caseId: meeting.caseId, reference: meeting.reference });
}

/** A case out of reach: the polite answer that shows nothing of it. */
function outOfReach(e: unknown): AdaptiveCard | null {
  if (e instanceof AccessDeniedError) return noticeCard({ title: e.message, summary: `Case ${e.reference}` });
  if (e instanceof CaseNotFoundError) return noticeCard({ title: 'That case could not be found.', summary: 'Case not found' });
  return null;
}

/** Why an action was refused, for the person; null for anything that is not a refusal. */
function refusal(e: unknown): string | null {
  if (e instanceof CaseWorkError || e instanceof CardInputError || e instanceof IdempotencyConflictError) return e.message;
  if (e instanceof VersionConflictError) return CONFLICT_MESSAGE;
  return null;
}

/** What the person entered, shown again on a refused form: text only, bounded. */
const entered = (data: Record<string, unknown>): MeetingCardExtra['values'] => echoed(data, ['attended', 'notHeldReason', 'notHeldNote', 'movedDate', 'movedTime'], 2000);

function on(action: (at: At, data: Record<string, unknown>) => Promise<AdaptiveCard>): CardAction {
  return async (turn, data) => {
    const at = await locate(turn, data);
    if (!at) return OUT_OF_DATE();
    try {
      try {
        return await action(at, data);
      } catch (e) {
        const message = refusal(e);
        if (message === null) throw e;
        return await again(at, { message, values: entered(data) });
      }
    } catch (e) {
      const away = outOfReach(e);
      if (away) return away;
      throw e;
    }
  };
}

/**
 * Held and Not held answer the question asked after the meeting's end: a card of an earlier time
 * must not settle a meeting since moved to a later one (the core only checks that it is booked).
 */
function notYetEnded(at: At): string | null {
  const m = at.meeting;
  const { services } = at.turn;
  if (m.state !== 'booked' || !m.endsAt || m.endsAt.getTime() <= services.now().getTime()) return null;
  return `This meeting is now booked for ${meetingTime(m, services.today())}: you will be asked after it whether it was held.`;
}

const kindWords = (m: TafMeeting) => (m.kind === 'first-taf' ? 'first TAF meeting' : 'TAF review meeting');

/** Held: `taf-held` on the case with who attended; the pass books the next review. */
export const tafMeetingHeldAction: CardAction = on(async (at, data) => {
  // A second click (or another copy of the card) must not record a second TAF.
  if (at.meeting.state === 'held') return again(at, { message: 'This meeting is already recorded as held.' }, 'held');
  const early = notYetEnded(at);
  if (early) return again(at, { message: early });
  const input = cardInput('meetingHeld', data);
  const { services, actor } = at.turn;
  const record = await tafMeetingHeld(services, actor, at.meeting.id, { date: input.meetingHeldDate, attended: input.attended }, at.turn.idempotencyKey);
  return again(at, { notice: `Recorded on case ${record.reference}.` }, 'held');
});

/** Not held: why; the pass books a new date inside the timescale. */
export const tafMeetingNotHeldAction: CardAction = on(async (at, data) => {
  const early = notYetEnded(at);
  if (early) return again(at, { message: early, values: entered(data) });
  const input = cardInput('meetingNotHeld', data);
  await tafMeetingNotHeld(at.turn.services, at.turn.actor, at.meeting.id, { reason: input.notHeldReason, note: input.notHeldNote });
  return again(at, { notice: 'Recorded as not held.' }, 'not-held');
});

/** Moved: to a new working day and time; Outlook follows through the outbox. The card says when the new date breaks the timescale. */
export const tafMeetingMovedAction: CardAction = on(async (at, data) => {
  const input = cardInput('meetingMoved', data);
  const { services, actor } = at.turn;
  const moved = await tafMeetingMoved(services, actor, at.meeting.id, { date: input.movedDate, time: input.movedTime }, services.now());
  const follows = moved.meeting.calendar === 'outlook' ? ' Outlook is updated, and everyone invited is told.' : ' Add it to your calendar again: the file has the new time.';
  return again(at, { notice: `Moved to ${meetingTime(moved.meeting, services.today())}.${follows}` }, 'moved');
});

/** Try again: the booking that kept failing is due again, from the start (the outbox's own retry). */
export const tafMeetingRetryAction: CardAction = on(async (at) => {
  const { services, actor } = at.turn;
  const { meeting } = at;
  // Only someone who may act on the case may book its meeting again: the core decides.
  await caseFor(services, actor, meeting.caseId, 'log-work');
  const booking = meeting.state === 'booking' ? await meetingBooking(services, meeting.id) : null;
  if (!booking) return again(at, { message: 'This meeting is no longer waiting to be booked.' });
  const result = await retry(services.db, booking.id);
  if (result.retried) await recordAudit(services.db, { actor: actor.id, action: 'taf.booking-retried', caseId: meeting.caseId, detail: { meeting: meeting.id, outbox: booking.id } });
  const title = result.retried ? `Trying again to book the ${kindWords(meeting)} for ${meeting.reference}.` : `The ${kindWords(meeting)} for ${meeting.reference} is already being booked again.`;
  return noticeCard({ title, text: 'You will get a card when it is booked.', summary: `Case ${meeting.reference}`, caseId: meeting.caseId, reference: meeting.reference });
});
