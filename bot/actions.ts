import { AccessDeniedError } from '../src/access';
import { allocateCase, AlreadyDecidedError, CafDecision, caseFor, CaseWorkError, decideCaf, recordWork, WorkAction } from '../src/caseWork';
import { caseState } from '../src/caseState';
import { CaseNotFoundError, CaseRecord, VersionConflictError } from '../src/storage/caseLog';
import { cafDecidedCard, CafOutcome, noticeCard } from './cards/cards';
import { AdaptiveCard, attachment } from './cards/template';
import { allocationFormFor, cafAuthorisationCardFor, cafDecider, caseCardFor, dueCard, myCasesCard } from './caseViews';
import { log } from './log';
import { Turn } from './turn';

/**
 * Card actions, one handler a verb. Each returns the card that replaces the one acted on: the
 * next state, or the same card re-shown with a message when the input was wrong (nothing written).
 * Authorisation is decided from the case and the user, never from what the card carries.
 */
export type CardAction = (turn: Turn, data: Record<string, unknown>) => Promise<AdaptiveCard>;

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** The id of the case a card is about; a card without one is out of date or was tampered with. */
function caseIdOf(data: Record<string, unknown>): string {
  const id = data.caseId;
  if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) throw new CaseWorkError('caseId', 'This card is out of date. Type "my cases" to see your cases.');
  return id;
}

function outOfReach(e: unknown): AdaptiveCard | null {
  if (e instanceof AccessDeniedError) return noticeCard({ title: e.message, summary: `Case ${e.reference}` });
  if (e instanceof CaseNotFoundError) return noticeCard({ title: 'That case could not be found.', summary: 'Case not found' });
  if (e instanceof CaseWorkError && e.field === 'caseId') return noticeCard({ title: e.message, summary: 'Out of date card' });
  return null;
}

/** Records work from the case card, re-showing the case card with the message if it is refused. */
function work(action: WorkAction, dateField: string, describe: (r: CaseRecord) => string, after?: (turn: Turn, r: CaseRecord) => Promise<void>): CardAction {
  return async (turn, data) => {
    try {
      const caseId = caseIdOf(data);
      const record = await recordWork(turn.services, turn.actor, caseId, action, { ...data, date: data[dateField] || undefined }, turn.idempotencyKey);
      if (after) await after(turn, record);
      return caseCardFor(turn.services, record, { notice: describe(record) });
    } catch (e) {
      const away = outOfReach(e);
      if (away) return away;
      if (e instanceof CaseWorkError || e instanceof VersionConflictError) {
        const message = e instanceof VersionConflictError ? 'Someone else changed this case at the same moment: nothing was recorded. Please try again.' : e.message;
        const { record } = await caseFor(turn.services, turn.actor, caseIdOf(data), 'read');
        return caseCardFor(turn.services, record, { message });
      }
      throw e;
    }
  };
}

/**
 * After a CAF is submitted: the card goes to the line (or duty) manager's personal chat; submitted
 * from a group chat or channel, it is posted there too, showing everyone the status and refreshing
 * to the buttons for the managers who may decide.
 */
async function sendCafForAuthorisation(turn: Turn, record: CaseRecord): Promise<void> {
  const state = caseState(record.events);
  const submission = state.cafAwaitingDecision;
  const worker = await turn.services.directory.get(state.leadProfessional);
  if (!submission || !worker) return;
  const posted = (delivered: { conversationId: string; activityId: string } | null) =>
    delivered ? turn.services.conversations.recordPostedCard({ ...delivered, caseId: record.caseId, purpose: 'caf-authorisation', subjectId: submission.id }) : undefined;
  const decider = await cafDecider(turn.services, worker);
  if (decider) {
    const card = await cafAuthorisationCardFor(turn.services, record, decider, { inGroup: false });
    if (card) await posted(await turn.notifier.toPerson(decider.id, card));
  } else log.warn({ caseId: record.caseId }, 'no manager to authorise the CAF');
  if (turn.inGroup) {
    const card = await cafAuthorisationCardFor(turn.services, record, null, { inGroup: true });
    if (card) {
      const response = await turn.context.sendActivity({ type: 'message', summary: card.fallbackText, attachments: [attachment(card)] });
      if (response?.id) await posted({ conversationId: turn.context.activity.conversation.id, activityId: response.id });
    }
  }
}

function decide(decision: CafDecision, outcome: CafOutcome): CardAction {
  return async (turn, data) => {
    let caseId: string;
    try {
      caseId = caseIdOf(data);
    } catch (e) {
      return outOfReach(e)!;
    }
    const submissionId = str(data.submissionId);
    try {
      const record = await decideCaf(turn.services, turn.actor, caseId, submissionId, decision, str(data.comments), turn.idempotencyKey);
      const state = caseState(record.events);
      const worker = await turn.services.directory.get(state.leadProfessional);
      const last = record.events.at(-1)!;
      const decided = cafDecidedCard({
        reference: record.reference,
        outcome,
        decidedBy: turn.actor.name,
        decidedAt: formatInstant(last.recordedAt),
        worker: worker?.name ?? 'unknown',
        comments: str(data.comments).trim(),
      });
      // Every copy of the authorisation card now shows the decision, for everyone.
      for (const copy of await turn.services.conversations.postedCards('caf-authorisation', submissionId)) {
        if (copy.activityId !== turn.context.activity.replyToId) await turn.notifier.update(copy.conversationId, copy.activityId, decided);
      }
      if (worker) {
        await turn.notifier.toPerson(
          worker.id,
          noticeCard({ title: `CAF ${outcome}: case ${record.reference}`, text: `By ${turn.actor.name}.${str(data.comments).trim() ? ` Comments: ${str(data.comments).trim()}` : ''}`, summary: `CAF ${outcome}: case ${record.reference}`, caseId: record.caseId, reference: record.reference }),
        );
      }
      return decided;
    } catch (e) {
      if (e instanceof AlreadyDecidedError) {
        const { record, state } = await caseFor(turn.services, turn.actor, caseId, 'read');
        const worker = await turn.services.directory.get(state.leadProfessional);
        const words: Record<string, CafOutcome> = { 'caf-authorised': 'approved', 'caf-returned': 'returned', 'caf-reassessment-directed': 're-assessment directed' };
        return cafDecidedCard({
          reference: record.reference,
          outcome: words[e.decision],
          decidedBy: e.byName,
          decidedAt: formatInstant(e.at),
          worker: worker?.name ?? 'unknown',
          message: `Already decided by ${e.byName} at ${formatInstant(e.at)}.`,
        });
      }
      const away = outOfReach(e);
      if (away) return away;
      if (e instanceof CaseWorkError) {
        const { record } = await caseFor(turn.services, turn.actor, caseId, 'read');
        const card = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: turn.inGroup, message: e.message, comments: str(data.comments) });
        return card ?? noticeCard({ title: e.message, summary: `Case ${record.reference}` });
      }
      throw e;
    }
  };
}

/** London wall-clock time of an instant, as people read it: "2026-12-18 14:05". */
const LONDON_TIME = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

export function formatInstant(iso: string): string {
  const parts = LONDON_TIME.formatToParts(new Date(iso));
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}`;
}

function parseChildren(text: string): Array<{ name: string; dateOfBirth?: string }> {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const m = line.match(/^(.*?)[,;\s]+(\d{4}-\d{2}-\d{2})$/);
      return m ? { name: m[1].trim(), dateOfBirth: m[2] } : { name: line };
    });
}

const allocate: CardAction = async (turn, data) => {
  const values = {
    reference: str(data.reference),
    familyName: str(data.familyName),
    children: str(data.children),
    referralReason: str(data.referralReason),
    source: str(data.source),
    existingPlan: str(data.existingPlan),
    leadProfessional: str(data.leadProfessional),
    caseloadPoints: str(data.caseloadPoints),
    initialActions: str(data.initialActions),
    cafRequired: str(data.cafRequired) !== 'false',
  };
  if (turn.actor.role !== 'manager') return noticeCard({ title: 'Only managers allocate cases.', summary: 'Allocation' });
  try {
    const record = await allocateCase(turn.services, turn.actor, { ...values, children: parseChildren(values.children) }, turn.idempotencyKey);
    const worker = await turn.services.directory.get(values.leadProfessional);
    if (worker) {
      await turn.notifier.toPerson(worker.id, await caseCardFor(turn.services, record, { notice: `Case ${record.reference} has been allocated to you by ${turn.actor.name}.` }));
    }
    return noticeCard({
      title: `Case ${record.reference} allocated to ${worker?.name ?? 'the worker'}`,
      text: 'The worker has the case card; the allocation e-mail is queued for the worker, with the line manager and Business Support copied.',
      summary: `Case ${record.reference} allocated`,
      caseId: record.caseId,
      reference: record.reference,
    });
  } catch (e) {
    if (e instanceof CaseWorkError) return allocationFormFor(turn.services, turn.actor, values, e.message);
    throw e;
  }
};

const openCase: CardAction = async (turn, data) => {
  try {
    const { record } = await caseFor(turn.services, turn.actor, caseIdOf(data), 'read');
    return caseCardFor(turn.services, record);
  } catch (e) {
    const away = outOfReach(e);
    if (away) return away;
    throw e;
  }
};

/** A person opening a CAF card posted in a group sees buttons if they may decide, the status otherwise. */
const refreshCafAuthorisation: CardAction = async (turn, data) => {
  try {
    const { record } = await caseFor(turn.services, turn.actor, caseIdOf(data), 'read');
    const pending = await cafAuthorisationCardFor(turn.services, record, turn.actor, { inGroup: true });
    if (pending && caseState(record.events).cafAwaitingDecision?.id === str(data.submissionId)) return pending;
  } catch (e) {
    if (!(e instanceof AccessDeniedError || e instanceof CaseNotFoundError || e instanceof CaseWorkError)) throw e;
  }
  // Decided, or not theirs to see: the status card, with no refresh.
  return decidedOrStatus(turn, data);
};

async function decidedOrStatus(turn: Turn, data: Record<string, unknown>): Promise<AdaptiveCard> {
  try {
    const record = await turn.services.caseLog.read(caseIdOf(data), { actor: turn.actor.id });
    const state = caseState(record.events);
    const last = state.lastCafDecision;
    if (last && last.submissionId === str(data.submissionId)) {
      const by = await turn.services.directory.get(last.by);
      const words: Record<string, CafOutcome> = { 'caf-authorised': 'approved', 'caf-returned': 'returned', 'caf-reassessment-directed': 're-assessment directed' };
      return cafDecidedCard({ reference: record.reference, outcome: words[last.type], decidedBy: by?.name ?? 'a manager', decidedAt: formatInstant(last.recordedAt), worker: (await turn.services.directory.get(state.leadProfessional))?.name ?? 'unknown' });
    }
    return noticeCard({ title: `CAF for case ${record.reference}: awaiting authorisation.`, summary: `Case ${record.reference}` });
  } catch {
    return noticeCard({ title: 'This card is out of date.', summary: 'Out of date card' });
  }
}

export const ACTIONS: Record<string, CardAction> = {
  allocateCase: allocate,
  openCase,
  myCases: (turn) => myCasesCard(turn.services, turn.actor),
  due: (turn) => dueCard(turn.services, turn.actor),
  logTelephoneContact: work('telephone-contact', 'contactDate', (r) => `Telephone contact recorded on case ${r.reference}.`),
  logVisit: work('visit', 'visitDate', (r) => `Visit recorded on case ${r.reference}.`),
  caseRecorded: work('case-recorded', 'workDate', (r) => `Case recording noted on case ${r.reference}.`),
  submitCaf: work('caf-submitted', 'workDate', (r) => `CAF for case ${r.reference} sent for authorisation.`, sendCafForAuthorisation),
  tafHeld: work('taf-held', 'workDate', (r) => `TAF meeting recorded on case ${r.reference}.`),
  minutesShared: work('minutes-shared', 'workDate', (r) => `Minutes recorded as shared on case ${r.reference}.`),
  approveCaf: decide('approve', 'approved'),
  returnCaf: decide('return', 'returned'),
  directReassessment: decide('reassess', 're-assessment directed'),
  refreshCafAuthorisation,
};

