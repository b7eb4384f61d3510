import { AccessDeniedError } from '../src/access';
import { answerAbsence } from './absence';
import { randomUUID } from 'node:crypto';
import { allocateCase, AlreadyDecidedError, CafDecision, caseFor, CaseWorkError, decideCaf, Notify, OverCapacityError, recordWork, WorkAction } from '../src/caseWork';
import { enqueue, statusByDedupeKey } from '../src/delivery/outbox';
import { commandViewMessage } from './rendering';
import { cardMessage, caseViewMessage } from './delivery';
import { reallocateCase } from '../src/reallocation';
import { recordSupervision, SupervisionStage } from '../src/supervision';
import { supervisionCardFor } from './supervisionViews';
import { escalationNoted, reminderDone, reminderSnooze } from './reminderActions';
import { tafMeetingHeldAction, tafMeetingMovedAction, tafMeetingNotHeldAction, tafMeetingRetryAction } from './meetingActions';
import { addTafMemberAction, removeTafMemberAction, tafMembersAction } from './tafMemberActions';
import { caseState } from '../src/caseState';
import { CaseNotFoundError, CaseRecord, IdempotencyConflictError, VersionConflictError } from '../src/storage/caseLog';
import { CardInputError, cardInput, echoed, parseChildren } from './cardInputs';
import { CafOutcome, noticeCard, personalChatCard } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { dueCard, myCasesCard, workerCases } from './caseLists';
import { allocationFormFor, cafAuthorisationCardFor, cafDecidedCardFor, cafDecider, caseCardFor, CaseCardExtra } from './caseViews';
import { log } from './log';
import { Turn } from './turn';

/**
 * Card actions, one handler a verb. Each returns the card that replaces the one acted on: the
 * next state, or the same card re-shown with a message when the input was wrong (nothing written).
 * Every input is checked against the verb's schema (cardInputs.ts) before it is read, and
 * authorisation is decided from the case and the user, never from what the card carries.
 */
export type CardAction = (turn: Turn, data: Record<string, unknown>) => Promise<AdaptiveCard>;

const OUT_OF_DATE = () => noticeCard({ title: 'This card is out of date. Type "my cases" to see your cases.', summary: 'Out of date card' });

/** The answers that do not depend on the verb: a case out of reach, a card out of date, a repeated request id. */
function outOfReach(e: unknown): AdaptiveCard | null {
  if (e instanceof AccessDeniedError) return noticeCard({ title: e.message, summary: `Case ${e.reference}` });
  if (e instanceof CaseNotFoundError) return noticeCard({ title: 'That case could not be found.', summary: 'Case not found' });
  if ((e instanceof CardInputError || e instanceof CaseWorkError) && (e.field === 'caseId' || e.field === 'submissionId')) return OUT_OF_DATE();
  if (e instanceof IdempotencyConflictError) return noticeCard({ title: e.message, summary: 'Nothing recorded' });
  return null;
}

const CONFLICT_MESSAGE = 'Someone else changed this case at the same moment: nothing was recorded. Please try again.';

/**
 * A refused action on the case card: the card shown again with the reason (nothing was written),
 * or the answer for a case out of reach; anything else is not a refusal and is thrown on.
 */
async function caseCardRefusing(turn: Turn, caseId: string, e: unknown, extra: Omit<CaseCardExtra, 'message' | 'viewer'> = {}): Promise<AdaptiveCard> {
  const away = outOfReach(e);
  if (away) return away;
  if (!(e instanceof CardInputError || e instanceof CaseWorkError || e instanceof VersionConflictError)) throw e;
  const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
  return caseCardFor(turn.services, record, { ...extra, viewer: turn.actor, message: e instanceof VersionConflictError ? CONFLICT_MESSAGE : e.message });
}

/** The case of a card, or the answer for a card that no longer points at one. */
function caseOf(data: Record<string, unknown>): { caseId: string } | { answer: AdaptiveCard } {
  try {
    return { caseId: cardInput('caseOnly', data).caseId };
  } catch (e) {
    return { answer: outOfReach(e) ?? OUT_OF_DATE() };
  }
}

/** Records work from the case card, re-showing the case card with the message if it is refused. */
function work(action: WorkAction | ((data: Record<string, unknown>) => WorkAction), dateField: string, describe: (r: CaseRecord) => string, notify?: (turn: Turn) => Notify): CardAction {
  return async (turn, data) => {
    const target = caseOf(data);
    if ('answer' in target) return target.answer;
    const { caseId } = target;
    try {
      const input = cardInput('work', { ...data, ...fieldsOf(data, dateField) });
      const record = await recordWork(turn.services, turn.actor, caseId, typeof action === 'function' ? action(data) : action, input, turn.idempotencyKey, notify?.(turn));
      // A repeated request wrote nothing new, so it queued nothing new.
      if (notify && !record.replayed) turn.delivery.poke();
      return caseCardFor(turn.services, record, { notice: describe(record), viewer: turn.actor });
    } catch (e) {
      return caseCardRefusing(turn, caseId, e);
    }
  };
}

/**
 * The fields of one form of the case card, under the names the core reads: each form has its own
 * date input (an id must be unique in a card), and the forms-received toggles are named apart from
 * the visit's.
 */
function fieldsOf(data: Record<string, unknown>, dateField: string): Record<string, unknown> {
  const fields: Record<string, unknown> = { date: data[dateField] === '' ? undefined : data[dateField] };
  if (dateField === 'formsDate') Object.assign(fields, { consentForm: data.formsConsent, medicalForm: data.formsMedical });
  return fields;
}

/** A CAF submitted goes to the line (or duty) manager's personal chat, queued in the same transaction. */
function cafToDecider(turn: Turn): Notify {
  return async ({ record, state }) => {
    const worker = await turn.services.directory.get(state.leadProfessional);
    const decider = worker ? await cafDecider(turn.services, worker, turn.actor.id) : null;
    if (!decider) {
      log.warn({ caseId: record.caseId }, 'no manager to authorise the CAF');
      return [];
    }
    // The submission's id is not known until it is written: the card is drawn for whatever CAF then awaits.
    return [caseViewMessage({ staffId: decider.id }, record.caseId, { view: 'caf-authorisation' }, `caf-card:${turn.idempotencyKey ?? randomUUID()}`)];
  };
}

/** Whether a message queued under this key reached its person within a moment (the sender is told the truth). */
async function delivered(turn: Turn, dedupeKey: string): Promise<boolean> {
  turn.delivery.poke();
  for (let i = 0; i < 15; i++) {
    const status = await statusByDedupeKey(turn.services.db, dedupeKey);
    if (status === 'delivered') return true;
    if (status !== 'pending') return false;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function decide(decision: CafDecision, outcome: CafOutcome): CardAction {
  return async (turn, data) => {
    let caseId: string;
    try {
      caseId = cardInput('cafCard', data).caseId;
    } catch (e) {
      return outOfReach(e) ?? OUT_OF_DATE();
    }
    try {
      const { submissionId, comments } = cardInput('decision', data);
      // The worker sees the decision on their case card: a return or a re-assessment with the manager's words.
      const notice = outcome === 'approved' ? `CAF approved by ${turn.actor.name}.${comments ? ` Comments: ${comments}` : ''}` : `The CAF has come back to you: see ${turn.actor.name}'s words below.`;
      const toWorker: Notify = async ({ record: before, state: was }) => [caseViewMessage({ staffId: was.leadProfessional }, before.caseId, { view: 'case', notice }, `decision-card:${turn.idempotencyKey ?? randomUUID()}`)];
      const record = await decideCaf(turn.services, turn.actor, caseId, submissionId, decision, comments, turn.idempotencyKey, toWorker);
      if (!record.replayed) {
        turn.delivery.poke();
        // Every copy of the authorisation card now shows the decision, for everyone (no comments: others may see it).
        const everywhere = (await cafDecidedCardFor(turn.services, record))!;
        for (const copy of await turn.services.conversations.postedCards('caf-authorisation', submissionId)) {
          if (copy.activityId !== turn.context.activity.replyToId) await turn.notifier.update(copy.conversationId, copy.activityId, everywhere);
        }
      }
      // Comments may speak of the family: they go to the worker's own chat, not onto a card others may see.
      return (await cafDecidedCardFor(turn.services, record, { comments: turn.inGroup ? '' : comments }))!;
    } catch (e) {
      if (e instanceof AlreadyDecidedError) {
        const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
        return (await cafDecidedCardFor(turn.services, record, { message: (by, at) => `Already decided by ${by} at ${at}.` }))!;
      }
      const away = outOfReach(e);
      if (away) return away;
      if (e instanceof CardInputError || e instanceof CaseWorkError) {
        const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
        const card = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: turn.inGroup, message: e.message, comments: echoed(data, ['comments'], 4000).comments });
        return card ?? noticeCard({ title: e.message, summary: `Case ${record.reference}` });
      }
      throw e;
    }
  };
}

const ALLOCATION_FIELDS = ['reference', 'familyName', 'children', 'referralReason', 'source', 'existingPlan', 'leadProfessional', 'caseloadPoints', 'initialActions', 'cafRequired', 'allocatedOn', 'referredOn'] as const;

const allocate: CardAction = async (turn, data) => {
  if (turn.actor.role !== 'manager') return noticeCard({ title: 'Only managers allocate cases.', summary: 'Allocation' });
  // What was typed, shown again if anything is refused: only text that is text, so nothing odd is echoed.
  const values = echoed(data, ALLOCATION_FIELDS);
  try {
    const input = cardInput('allocateCase', data);
    const key = `case-card:${turn.idempotencyKey ?? randomUUID()}`;
    const record = await allocateCase(turn.services, turn.actor, { ...input, children: parseChildren(input.children) }, turn.idempotencyKey, (worker, caseId) => [
      caseViewMessage({ staffId: worker.id }, caseId, { view: 'case', notice: `Case ${input.reference.toUpperCase()} has been allocated to you by ${turn.actor.name}.` }, key),
    ]);
    const worker = await turn.services.directory.get(caseState(record.events).leadProfessional);
    const name = worker?.name ?? 'The worker';
    const has = await delivered(turn, key);
    return noticeCard({
      title: `Case ${record.reference} allocated to ${worker?.name ?? 'the worker'}`,
      text: `${has ? `${name} has the case card` : `${name} will get the case card when they next open Early Help in Teams`}; the allocation e-mail is queued for the worker, with the line manager and Business Support copied.`,
      summary: `Case ${record.reference} allocated`,
      caseId: record.caseId,
      reference: record.reference,
    });
  } catch (e) {
    if (e instanceof OverCapacityError) return allocationFormFor(turn.services, turn.actor, values, e.message, { worker: e.worker, total: e.check.total, capacity: e.check.capacity });
    if (e instanceof CardInputError || e instanceof CaseWorkError) return allocationFormFor(turn.services, turn.actor, values, e.message);
    if (e instanceof IdempotencyConflictError) return outOfReach(e)!;
    throw e;
  }
};

/**
 * A manager moves the case to another worker of the team from its card. The new worker gets the
 * case card, the previous one a notice with the reference only, both queued with the change.
 */
const reallocate: CardAction = async (turn, data) => {
  const target = caseOf(data);
  if ('answer' in target) return target.answer;
  const { caseId } = target;
  const chosen = { to: echoed(data, ['reallocateTo'], 100).reallocateTo, reason: echoed(data, ['reallocateReason'], 2000).reallocateReason };
  const key = `reallocated-card:${turn.idempotencyKey ?? randomUUID()}`;
  try {
    const input = cardInput('reallocate', data);
    const toWorkers: Notify = async ({ record, state }) => {
      const next = await turn.services.directory.get(input.reallocateTo);
      const moved = `Case ${record.reference} has been reallocated to ${next?.name ?? 'another worker'} by ${turn.actor.name}.`;
      return [
        caseViewMessage({ staffId: input.reallocateTo }, record.caseId, { view: 'case', notice: `Case ${record.reference} has been reallocated to you by ${turn.actor.name}.` }, key),
        cardMessage({ staffId: state.leadProfessional }, noticeCard({ title: moved, text: 'It is no longer on your caseload.', summary: `Case ${record.reference} reallocated` }), record.caseId, `${key}:previous`),
      ];
    };
    const record = await reallocateCase(turn.services, turn.actor, caseId, { leadProfessional: input.reallocateTo, caseloadPoints: input.reallocatePoints, reason: input.reallocateReason, confirmedTotal: input.confirmedTotal }, turn.idempotencyKey, toWorkers);
    const worker = await turn.services.directory.get(caseState(record.events).leadProfessional);
    const name = worker?.name ?? 'The worker';
    const has = await delivered(turn, key);
    return caseCardFor(turn.services, record, { viewer: turn.actor, notice: `Case ${record.reference} reallocated to ${name}: ${has ? `${name} has the case card` : `${name} will get the case card when they next open Early Help in Teams`}.` });
  } catch (e) {
    const confirm = e instanceof OverCapacityError ? { worker: e.worker, total: e.check.total, capacity: e.check.capacity } : undefined;
    return caseCardRefusing(turn, caseId, e, { reallocation: chosen, confirm });
  }
};

const STAGE_DONE = { held: 'Supervision', returned: 'Supervision record returned', authorised: 'Supervision record authorised' } as const;

/** Supervision from the case card: held on this case, or its record returned or authorised. */
function superviseCase(stage: SupervisionStage): CardAction {
  return async (turn, data) => {
    const target = caseOf(data);
    if ('answer' in target) return target.answer;
    const { caseId } = target;
    try {
      const input = stage === 'held' ? cardInput('supervisionHeld', data) : cardInput('supervisionRecord', data);
      const date = 'supervisionHeldDate' in input ? input.supervisionHeldDate : input.supervisionRecordDate;
      const supervisionDate = 'supervisionDate' in input ? input.supervisionDate : undefined;
      const [record] = await recordSupervision(turn.services, turn.actor, { stage, caseIds: [caseId], date, supervisionDate }, turn.idempotencyKey);
      return caseCardFor(turn.services, record, { viewer: turn.actor, notice: `${STAGE_DONE[stage]} recorded on case ${record.reference}.` });
    } catch (e) {
      return caseCardRefusing(turn, caseId, e);
    }
  };
}

/** Supervision from the `supervision` card: the cases of one worker discussed, or a record's stage on all its cases. */
const supervisionFromCard: CardAction = async (turn, data) => {
  const chosen = echoed(data, ['caseIds'], 50 * 37).caseIds;
  try {
    const input = cardInput('supervisionCases', data);
    const date = input.stage === 'held' ? input.heldDate : input.recordDate;
    if (!date) throw new CardInputError(input.stage === 'held' ? 'heldDate' : 'recordDate', 'Give the date.');
    const records = await recordSupervision(turn.services, turn.actor, { stage: input.stage, caseIds: input.caseIds, date, supervisionDate: input.supervisionDate }, turn.idempotencyKey);
    return supervisionCardFor(turn.services, turn.actor, { notice: `${STAGE_DONE[input.stage]} recorded on ${records.map((r) => r.reference).join(', ')}.` });
  } catch (e) {
    if (e instanceof AccessDeniedError) return supervisionCardFor(turn.services, turn.actor, { message: e.message, chosen });
    if (e instanceof CaseNotFoundError) return OUT_OF_DATE();
    if (e instanceof CardInputError || e instanceof CaseWorkError || e instanceof VersionConflictError || e instanceof IdempotencyConflictError) {
      return supervisionCardFor(turn.services, turn.actor, { message: e instanceof VersionConflictError ? CONFLICT_MESSAGE : e.message, chosen });
    }
    throw e;
  }
};

const openCase: CardAction = async (turn, data) => {
  try {
    const { record } = await caseFor(turn.services, turn.actor, cardInput('caseOnly', data).caseId, 'read');
    return caseCardFor(turn.services, record, { viewer: turn.actor });
  } catch (e) {
    const away = outOfReach(e);
    if (away) return away;
    throw e;
  }
};

/**
 * A person opening a CAF card posted in a group sees buttons if they may decide, the status if they
 * may read the case, and nothing of the case otherwise: the one access decision, refresh included.
 */
const refreshCafAuthorisation: CardAction = async (turn, data) => {
  let record: CaseRecord;
  let submissionId: string;
  try {
    const input = cardInput('cafCard', data);
    submissionId = input.submissionId;
    record = (await caseFor(turn.services, turn.actor, input.caseId, 'read')).record;
  } catch (e) {
    if (e instanceof AccessDeniedError) return noticeCard({ title: `The CAF of case ${e.reference} is for its team's managers to decide.`, summary: `Case ${e.reference}` });
    return outOfReach(e) ?? OUT_OF_DATE();
  }
  const state = caseState(record.events);
  if (state.cafAwaitingDecision?.id === submissionId) {
    const pending = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: true });
    if (pending) return pending;
  }
  if (state.lastCafDecision?.submissionId === submissionId) return (await cafDecidedCardFor(turn.services, record))!;
  return OUT_OF_DATE();
};

/**
 * From a group chat or channel: the command's card goes to the person's own chat, nothing of it
 * here. It goes through the outbox like every other card (the command waits there, never its
 * answer, which may name a family), and is run as the person when it is delivered.
 */
const openInPersonalChat: CardAction = async (turn, data) => {
  let command: string;
  try {
    command = cardInput('personalChat', data).command;
  } catch {
    return OUT_OF_DATE();
  }
  const key = `command-view:${turn.idempotencyKey ?? randomUUID()}`;
  await enqueue(turn.services.db, commandViewMessage(turn.actor.id, command, key));
  const has = await delivered(turn, key);
  return noticeCard({
    title: has ? 'Sent to your personal chat with Early Help.' : 'Open Early Help in your personal chat (Apps, Early Help): it will be waiting there.',
    summary: 'Sent to your personal chat',
  });
};

/** Verbs whose card shows a case or a caseload: in a group chat or channel they point to the personal chat instead. */
function personalOnly(action: CardAction, command: (turn: Turn, data: Record<string, unknown>) => Promise<string>): CardAction {
  return async (turn, data) => {
    if (!turn.inGroup) return action(turn, data);
    return personalChatCard({ title: 'Case details are for your personal chat.', summary: 'Open in your personal chat', command: await command(turn, data) });
  };
}

/** The command that shows the case a card is about, if the person may open it; their case list otherwise. */
async function caseCommand(turn: Turn, data: Record<string, unknown>): Promise<string> {
  try {
    const { record } = await caseFor(turn.services, turn.actor, cardInput('caseOnly', data).caseId, 'read');
    return `case ${record.reference}`;
  } catch {
    return 'my cases';
  }
}

const casePage = (action: CardAction) => personalOnly(action, caseCommand);
const listPage = (action: CardAction, command: string) => personalOnly(action, async () => command);

/** A contact made meets the clock; one attempted and not reached is evidence of effort only. */
const contactOutcome = (data: Record<string, unknown>): WorkAction => (data.outcome === 'attempted' ? 'contact-attempted' : 'telephone-contact');

/** The verbs, as the feature list reads. A Map of its own entries: a verb like "constructor" is simply unknown. */
export const ACTIONS: ReadonlyMap<string, CardAction> = new Map<string, CardAction>([
  ['allocateCase', listPage(allocate, 'allocate')],
  ['openCase', casePage(openCase)],
  ['myCases', listPage((turn) => myCasesCard(turn.services, turn.actor), 'my cases')],
  ['due', listPage((turn) => dueCard(turn.services, turn.actor), 'due')],
  ['workerCases', listPage(workerCases, 'team')],
  ['logTelephoneContact', casePage(work(contactOutcome, 'contactDate', (r) => (r.events.at(-1)?.type === 'contact-attempted' ? `Contact attempt recorded on case ${r.reference}: it does not count as contact made.` : `Contact recorded on case ${r.reference}.`)))],
  ['logVisit', casePage(work('visit', 'visitDate', (r) => `Visit recorded on case ${r.reference}.`))],
  ['formsReceived', casePage(work('forms-received', 'formsDate', (r) => `Forms received recorded on case ${r.reference}.`))],
  ['caseRecorded', casePage(work('case-recorded', 'recordedDate', (r) => `Case recording noted on case ${r.reference}.`))],
  ['submitCaf', casePage(work('caf-submitted', 'cafDate', (r) => `CAF for case ${r.reference} sent for authorisation.`, cafToDecider))],
  ['tafHeld', casePage(work('taf-held', 'tafHeldDate', (r) => `TAF meeting recorded on case ${r.reference}.`))],
  ['minutesShared', casePage(work('minutes-shared', 'minutesDate', (r) => `Minutes recorded as shared on case ${r.reference}.`))],
  ['reallocateCase', casePage(reallocate)],
  ['supervisionHeld', casePage(superviseCase('held'))],
  ['supervisionReturned', casePage(superviseCase('returned'))],
  ['supervisionAuthorised', casePage(superviseCase('authorised'))],
  ['recordSupervision', listPage(supervisionFromCard, 'supervision')],
  ['reminderDone', reminderDone],
  ['reminderSnooze', reminderSnooze],
  ['escalationNoted', escalationNoted],
  ['tafMeetingHeld', casePage(tafMeetingHeldAction)],
  ['tafMeetingNotHeld', casePage(tafMeetingNotHeldAction)],
  ['tafMeetingMoved', casePage(tafMeetingMovedAction)],
  ['tafMeetingRetry', casePage(tafMeetingRetryAction)],
  ['tafMembers', casePage(tafMembersAction)],
  ['addTafMember', casePage(addTafMemberAction)],
  ['removeTafMember', casePage(removeTafMemberAction)],
  ['approveCaf', decide('approve', 'approved')],
  ['returnCaf', decide('return', 'returned')],
  ['directReassessment', decide('reassess', 're-assessment directed')],
  ['refreshCafAuthorisation', refreshCafAuthorisation],
  ['openInPersonalChat', openInPersonalChat],
  ['answerAbsence', answerAbsence],
]);

/** Anything that is not one of the verbs (however it is spelled): a card from an older version, or made up. */
const unknownVerb: CardAction = async () => noticeCard({ title: 'That card is out of date. Type "my cases" to see your cases.', summary: 'Out of date card' });

/** The handler of a verb; for anything else, the polite out-of-date answer. */
export function actionFor(verb: unknown): CardAction {
  return (typeof verb === 'string' && ACTIONS.get(verb)) || unknownVerb;
}
