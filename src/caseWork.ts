import { AccessDeniedError, CaseAction, permits } from './access';
import { CLOSURE_REASONS, CONTACT_METHODS, ContactMethod, InvalidEventError, NewCaseEvent, REFERRAL_SOURCES } from './caseEvents';
import { CafDecisionType, caseState, CaseState } from './caseState';
import { ageOn, isLocalDate, LocalDate } from './localDate';
import { allocationEmail, firstStepsOf } from './allocationEmail';
import type { WorkingDayCalendar } from './calendar';
import { hypotheticalCase } from './hypotheticalCase';
import { obligations } from './obligations';
import type { Policy } from './policy';
import { CapacityAfter, capacityAfter, confirmationCovers } from './capacity';
import { StaffMember } from './staff';
import { CaseLog, CaseRecord, DuplicateReferenceError, retryOnConflict } from './storage/caseLog';
import { enqueue, NewMessage } from './delivery/outbox';
import { Database } from './storage/database';
import { StaffDirectory } from './storage/staffDirectory';

/**
 * What staff do to a case, as commands: each checks who is asking and what they sent, then appends
 * events to the case's log, or refuses with a reason and writes nothing. Knows nothing of Teams:
 * the bot and the add-in both call these.
 */

export interface CaseWorkContext {
  caseLog: CaseLog;
  directory: Pick<StaffDirectory, 'get' | 'team'>;
  /** Today in London. */
  today(): LocalDate;
  /** With the policy and calendar, the allocation e-mail says what to do first and by when. */
  policy?: Policy;
  calendar?: WorkingDayCalendar;
  /** A link that opens a case in Teams, for the allocation e-mail. */
  caseLink?(reference: string): string;
}

/** Bad input from a form: the field it concerns and a message for the person who filled it in. */
export class CaseWorkError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'CaseWorkError';
  }
}

/** A decision asked for on something already decided (a second click, or a stale card). */
export class AlreadyDecidedError extends Error {
  constructor(readonly by: string, readonly byName: string, readonly at: string, readonly decision: CafDecisionType) {
    super(`Already decided by ${byName} at ${at}.`);
    this.name = 'AlreadyDecidedError';
  }
}

export interface AllocationInput {
  reference: string;
  familyName: string;
  children: Array<{ name: string; dateOfBirth?: string }>;
  referralReason: string;
  source: string;
  existingPlan?: string;
  leadProfessional: string;
  caseloadPoints: number;
  initialActions: string;
  cafRequired: boolean;
  /** The day the case was allocated (default today): a case allocated yesterday and recorded today. */
  allocatedOn?: string;
  /** The day the referral came in, if known: the allocation cannot be before it. */
  referredOn?: string;
  /** The total the manager confirmed when allocating past the worker's capacity. */
  confirmedTotal?: number;
}

/**
 * The worker would carry more points than their capacity: the manager is asked to confirm, shown
 * the new total. Nothing is written until they do.
 */
export class OverCapacityError extends CaseWorkError {
  constructor(readonly worker: string, readonly check: CapacityAfter) {
    super('confirmedTotal', `${worker} would carry ${check.total} points, past their capacity of ${check.capacity} (now ${check.current}). Confirm to allocate anyway.`);
    this.name = 'OverCapacityError';
  }
}

/** Checks a worker's capacity for a case of `points`; over capacity without the matching confirmation is refused. */
export async function checkCapacity(ctx: CaseWorkContext, worker: StaffMember, points: number, confirmedTotal: number | undefined): Promise<CapacityAfter> {
  const current = (await ctx.caseLog.caseloadPoints([worker.id])).get(worker.id) ?? 0;
  const check = capacityAfter(current, points, worker.capacityPoints);
  if (!confirmationCovers(check, confirmedTotal)) throw new OverCapacityError(worker.name, check);
  return check;
}

/** The allocation date: today unless given; never in the future, never before the referral. */
function allocationDate(input: AllocationInput, today: LocalDate): { allocatedOn: LocalDate; referredOn?: LocalDate } {
  const referredOn = input.referredOn ? requireDate(input.referredOn, 'referredOn', 'The referral date') : undefined;
  if (referredOn && referredOn > today) throw new CaseWorkError('referredOn', 'The referral date cannot be in the future.');
  const allocatedOn = input.allocatedOn ? requireDate(input.allocatedOn, 'allocatedOn', 'The allocation date') : today;
  if (allocatedOn > today) throw new CaseWorkError('allocatedOn', 'The allocation date cannot be in the future.');
  if (referredOn && allocatedOn < referredOn) throw new CaseWorkError('allocatedOn', `The allocation date cannot be before the referral (${referredOn}).`);
  return { allocatedOn, ...(referredOn ? { referredOn } : {}) };
}

export const REFERENCE = /^[A-Z0-9][A-Z0-9-]{2,30}$/;

export function requireDate(value: unknown, field: string, label: string): LocalDate {
  if (!isLocalDate(value)) throw new CaseWorkError(field, `${label} must be a real date.`);
  return value;
}

/** A date of something done: not in the future, and not before the case was allocated. */
export function workDate(value: unknown, field: string, label: string, state: CaseState, today: LocalDate): LocalDate {
  const date = requireDate(value, field, label);
  if (date > today) throw new CaseWorkError(field, `${label} cannot be in the future.`);
  if (date < state.allocatedOn) throw new CaseWorkError(field, `${label} cannot be before the case was allocated (${state.allocatedOn}).`);
  return date;
}

/** Turns schema errors raised while appending into form errors naming the field. */
async function appending<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    if (e instanceof InvalidEventError) throw new CaseWorkError(e.field.replace(/^data\./, ''), `${e.field.replace(/^data\./, '')}: ${e.reason}`);
    throw e;
  }
}

/** Children's dates of birth: real, not in the future, and under 18 on the allocation date (Early Help is for children). */
export function checkChildren(children: AllocationInput['children'], allocatedOn: LocalDate): void {
  for (const [i, child] of (children ?? []).entries()) {
    const line = `Children, line ${i + 1}`;
    if (!String(child.name ?? '').trim()) throw new CaseWorkError('children', `${line}: give the child\u2019s name before the date of birth.`);
    if (child.dateOfBirth === undefined) continue;
    if (!isLocalDate(child.dateOfBirth)) throw new CaseWorkError('children', `${line}: the date of birth must be a real date, YYYY-MM-DD.`);
    if (child.dateOfBirth > allocatedOn) throw new CaseWorkError('children', `${line}: the date of birth cannot be in the future.`);
    if (ageOn(child.dateOfBirth, allocatedOn) >= 18) throw new CaseWorkError('children', `${line}: the child is 18 or over on ${allocatedOn}; Early Help is for children.`);
  }
}

/**
 * A retried request (the same idempotency key) is answered as the first one was, even where the
 * rules would now refuse it (the CAF it submitted is already awaiting authorisation). Looked up only
 * when the rules refuse, so a first request costs nothing more; a repeat the rules allow is caught by
 * the case log's unique key.
 */
export async function orReplay(ctx: CaseWorkContext, idempotencyKey: string | undefined, expected: Parameters<CaseLog['replayOf']>[1], attempt: () => Promise<CaseRecord>): Promise<CaseRecord> {
  try {
    return await attempt();
  } catch (e) {
    if (!idempotencyKey || !(e instanceof CaseWorkError || e instanceof AlreadyDecidedError)) throw e;
    const replayed = await ctx.caseLog.replayOf(idempotencyKey, expected);
    if (replayed) return replayed;
    throw e;
  }
}

/** A manager allocates a new case to a worker in their team (seed 000: Case Allocation). */
export function allocateCase(ctx: CaseWorkContext, actor: StaffMember, input: AllocationInput, idempotencyKey?: string, notify?: (worker: StaffMember, caseId: string) => NewMessage[]): Promise<CaseRecord> {
  const reference = String(input.reference ?? '').trim().toUpperCase();
  return orReplay(ctx, idempotencyKey, { reference, type: 'allocated', by: actor.id }, () => allocateCaseOnce(ctx, actor, input, idempotencyKey, notify));
}

async function allocateCaseOnce(ctx: CaseWorkContext, actor: StaffMember, input: AllocationInput, idempotencyKey: string | undefined, notify: ((worker: StaffMember, caseId: string) => NewMessage[]) | undefined): Promise<CaseRecord> {
  if (actor.role !== 'manager' || !actor.active) throw new AccessDeniedError('allocate', String(input.reference || 'new'));
  const reference = String(input.reference ?? '').trim().toUpperCase();
  if (!REFERENCE.test(reference)) throw new CaseWorkError('reference', 'Case reference must be 3 to 31 letters, digits or dashes, e.g. EH-2041.');
  if (!String(input.familyName ?? '').trim()) throw new CaseWorkError('familyName', 'Family name is required.');
  if (!(REFERRAL_SOURCES as readonly string[]).includes(input.source)) throw new CaseWorkError('source', 'Choose where the referral came from.');
  if ((input.source === 'cin-step-down' || input.source === 'sgcp-step-down') && !input.existingPlan?.trim()) {
    throw new CaseWorkError('existingPlan', 'A CIN or SGCP step-down arrives with a plan: add the CAF Support Plan.');
  }
  const points = input.caseloadPoints;
  if (typeof points !== 'number' || !Number.isInteger(points) || points < 0 || points > 100) throw new CaseWorkError('caseloadPoints', 'Caseload points must be a whole number from 0 to 100.');
  if (typeof input.cafRequired !== 'boolean') throw new CaseWorkError('cafRequired', 'Say whether a CAF is required.');
  const worker = await ctx.directory.get(input.leadProfessional);
  if (!worker || !worker.active || worker.team !== actor.team || (worker.role !== 'worker' && worker.role !== 'manager')) {
    throw new CaseWorkError('leadProfessional', 'Choose a worker from your team.');
  }
  const { allocatedOn, referredOn } = allocationDate(input, ctx.today());
  checkChildren(input.children, allocatedOn);
  const capacity = await checkCapacity(ctx, worker, points, input.confirmedTotal);
  const team = await ctx.directory.team(actor.team);
  const lineManager = worker.lineManager ? await ctx.directory.get(worker.lineManager) : null;
  const allocation: NewCaseEvent = {
    type: 'allocated',
    by: actor.id,
    effectiveOn: allocatedOn,
    data: {
      ...(referredOn ? { referredOn } : {}),
      ...(capacity.over ? { capacityConfirmed: { total: capacity.total, capacity: capacity.capacity } } : {}),
      family: { name: input.familyName.trim(), children: (input.children ?? []).map((c) => ({ name: c.name.trim(), ...(c.dateOfBirth ? { dateOfBirth: c.dateOfBirth as LocalDate } : {}) })) },
      referralReason: input.referralReason?.trim() || undefined,
      leadProfessional: worker.id,
      manager: actor.id,
      caseloadPoints: points,
      initialActions: input.initialActions ?? '',
      cafRequired: input.cafRequired,
      source: input.source as (typeof REFERRAL_SOURCES)[number],
      existingPlan: input.existingPlan?.trim() || undefined,
    },
  };
  // What to do first, by when, from the case's own obligations (when the caller knows the policy).
  const firstSteps = ctx.policy && ctx.calendar ? firstStepsOf(obligations(hypotheticalCase([allocation]), ctx.policy, ctx.calendar, allocatedOn)) : undefined;
  const email = allocationEmail({ reference, worker, allocatedBy: actor, lineManager, businessSupport: team.filter((m) => m.role === 'business-support'), caseloadPoints: points, firstSteps, caseLink: ctx.caseLink?.(reference) });
  try {
    return await appending(() =>
      ctx.caseLog.openCase({
        reference,
        actor: actor.id,
        idempotencyKey,
        // The e-mail is queued with the allocation, or neither happens.
        alsoInTransaction: async (tx, record) => {
          await enqueue(tx, { kind: 'allocation-email', caseId: record.caseId, payload: { ...email } });
          for (const m of notify?.(worker, record.caseId) ?? []) await enqueue(tx, m);
        },
        allocation,
      }),
    );
  } catch (e) {
    // Checked after any replay of this very request, which answers as the first time did.
    if (e instanceof DuplicateReferenceError) throw new CaseWorkError('reference', `Case ${reference} already exists.`);
    throw e;
  }
}

/** Reads a case the actor may act on, with its state; refuses otherwise. */
export async function caseFor(ctx: CaseWorkContext, actor: StaffMember, caseId: string, action: CaseAction): Promise<{ record: CaseRecord; state: CaseState }> {
  const record = await ctx.caseLog.read(caseId, { actor: actor.id });
  const state = caseState(record.events);
  const lead = await ctx.directory.get(state.leadProfessional);
  if (!permits(actor, action, { leadProfessional: state.leadProfessional, manager: state.manager, team: lead?.team ?? '' })) {
    throw new AccessDeniedError(action, record.reference);
  }
  return { record, state };
}

export type WorkAction = 'telephone-contact' | 'contact-attempted' | 'visit' | 'forms-received' | 'case-recorded' | 'caf-submitted' | 'taf-held' | 'minutes-shared' | 'closure-requested';

/** The event each piece of work records. */
const WORK_EVENTS: Record<WorkAction, NewCaseEvent['type']> = {
  'telephone-contact': 'telephone-contact-made',
  'contact-attempted': 'contact-attempted',
  visit: 'visit',
  'forms-received': 'forms-received',
  'case-recorded': 'case-recorded',
  'caf-submitted': 'caf-submitted',
  'taf-held': 'taf-held',
  'minutes-shared': 'minutes-shared',
  'closure-requested': 'closure-requested',
};

/** What a worker records from the case card. `input` is the card's data; only known fields are read. */
export function recordWork(...args: Parameters<typeof recordWorkOnce>): Promise<CaseRecord> {
  const [ctx, actor, caseId, action, , idempotencyKey] = args;
  // Someone else wrote to the case between our read and our append: read again and re-check.
  return orReplay(ctx, idempotencyKey, { caseId, type: WORK_EVENTS[action], by: actor.id }, () => retryOnConflict(() => recordWorkOnce(...args)));
}

async function recordWorkOnce(
  ctx: CaseWorkContext,
  actor: StaffMember,
  caseId: string,
  action: WorkAction,
  input: Record<string, unknown>,
  idempotencyKey?: string,
  notify?: Notify,
): Promise<CaseRecord> {
  const { record, state } = await caseFor(ctx, actor, caseId, action === 'forms-received' ? 'record-forms' : 'log-work');
  if (state.status === 'closed') throw new CaseWorkError('case', `Case ${record.reference} is closed.`);
  const today = ctx.today();
  // Every form asks for its date: work recorded a day late must not silently count as done today.
  const on = (label: string) => {
    if (input.date === undefined || input.date === '') throw new CaseWorkError('date', `${label}: give the date.`);
    return workDate(input.date, 'date', label, state, today);
  };
  const bool = (field: string) => input[field] === true || input[field] === 'true';
  let event: NewCaseEvent;
  switch (action) {
    case 'telephone-contact':
      event = { type: 'telephone-contact-made', by: actor.id, effectiveOn: on('The contact date'), data: {} };
      break;
    case 'contact-attempted': {
      const method = String(input.method ?? '');
      if (!(CONTACT_METHODS as readonly string[]).includes(method)) throw new CaseWorkError('method', 'Say how the contact was tried: phone, text, letter or doorstep.');
      event = { type: 'contact-attempted', by: actor.id, effectiveOn: on('The date of the attempt'), data: { method: method as ContactMethod } };
      break;
    }
    case 'forms-received': {
      const consentForm = bool('consentForm');
      const medicalForm = bool('medicalForm');
      if (!consentForm && !medicalForm) throw new CaseWorkError('consentForm', 'Tick the form or forms received.');
      event = { type: 'forms-received', by: actor.id, effectiveOn: on('The date the forms were received'), data: { consentForm, medicalForm } };
      break;
    }
    case 'visit':
      event = {
        type: 'visit',
        by: actor.id,
        effectiveOn: on('The visit date'),
        data: { childSeen: bool('childSeen'), consentForm: bool('consentForm'), medicalForm: bool('medicalForm'), homeChecked: bool('homeChecked') },
      };
      break;
    case 'case-recorded':
      event = { type: 'case-recorded', by: actor.id, effectiveOn: on('The recording date'), data: {} };
      break;
    case 'caf-submitted': {
      if (state.cafAwaitingDecision) throw new CaseWorkError('caf', `The CAF for ${record.reference} is already awaiting authorisation.`);
      // Seeds 001 / 004: no CAF without the family's agreement.
      if (!state.consentReceived) throw new CaseWorkError('caf', 'Record the consent form (at a visit, or received by Business Support) before submitting the CAF.');
      event = { type: 'caf-submitted', by: actor.id, effectiveOn: on('The CAF date'), data: { to: state.manager } };
      break;
    }
    case 'taf-held': {
      const meeting = typeof input.meeting === 'string' && input.meeting ? { meeting: input.meeting } : {};
      const attended = typeof input.attended === 'string' && input.attended.trim() ? { attended: input.attended.trim() } : {};
      event = { type: 'taf-held', by: actor.id, effectiveOn: on('The TAF date'), data: { ...meeting, ...attended } };
      break;
    }
    case 'minutes-shared': {
      const tafDate = requireDate(input.tafDate, 'tafDate', 'The TAF date');
      if (!record.events.some((e) => e.type === 'taf-held' && e.effectiveOn === tafDate)) throw new CaseWorkError('tafDate', `No TAF was held on ${tafDate} on this case.`);
      const date = on('The date the minutes were shared');
      if (date < tafDate) throw new CaseWorkError('date', 'Minutes cannot be shared before the TAF was held.');
      event = { type: 'minutes-shared', by: actor.id, effectiveOn: date, data: { tafDate } };
      break;
    }
    case 'closure-requested': {
      if (state.status !== 'open') throw new CaseWorkError('case', `Closure of ${record.reference} has already been requested.`);
      const reason = String(input.reason ?? '');
      if (!(CLOSURE_REASONS as readonly string[]).includes(reason)) throw new CaseWorkError('reason', 'Choose a reason for closure.');
      if (!String(input.summary ?? '').trim()) throw new CaseWorkError('summary', 'A closing summary is required.');
      event = { type: 'closure-requested', by: actor.id, effectiveOn: today, data: { reason: reason as (typeof CLOSURE_REASONS)[number], summary: String(input.summary) } };
      break;
    }
  }
  return appendNotifying(ctx, actor, record, state, event, idempotencyKey, notify);
}

/**
 * Who must hear of a change, decided from the case as it stood (directory lookups done before the
 * write): the messages are queued in the outbox in the same transaction as the event, or neither
 * happens. The core decides whom; how a message looks and travels is the caller's.
 */
export type Notify = (before: { record: CaseRecord; state: CaseState }, event: NewCaseEvent) => Promise<NewMessage[]>;

export async function appendNotifying(ctx: CaseWorkContext, actor: StaffMember, record: CaseRecord, state: CaseState, event: NewCaseEvent, idempotencyKey: string | undefined, notify: Notify | undefined): Promise<CaseRecord> {
  const messages = notify ? await notify({ record, state }, event) : [];
  const alsoInTransaction = messages.length
    ? async (tx: Database) => {
        for (const m of messages) await enqueue(tx, m);
      }
    : undefined;
  return appending(() => ctx.caseLog.append(record.caseId, record.version, [event], { actor: actor.id, idempotencyKey, previous: record, alsoInTransaction }));
}

export type CafDecision = 'approve' | 'return' | 'reassess';

const DECISION_EVENTS: Record<CafDecision, NewCaseEvent['type']> = { approve: 'caf-authorised', return: 'caf-returned', reassess: 'caf-reassessment-directed' };

/**
 * A line or duty manager decides on the CAF awaiting authorisation (seed 000: QA and authorisation;
 * a manager may direct a re-assessment). `submissionId` is the submission the card was showing:
 * a stale card or a second click gets "already decided by X at T", never a second decision.
 */
export function decideCaf(...args: Parameters<typeof decideCafOnce>): Promise<CaseRecord> {
  const [ctx, actor, caseId, , decision, , idempotencyKey] = args;
  // Two managers deciding at once: the second re-reads and is told who decided first.
  return orReplay(ctx, idempotencyKey, { caseId, type: DECISION_EVENTS[decision], by: actor.id }, () => retryOnConflict(() => decideCafOnce(...args)));
}

async function decideCafOnce(
  ctx: CaseWorkContext,
  actor: StaffMember,
  caseId: string,
  submissionId: string,
  decision: CafDecision,
  comments: string,
  idempotencyKey?: string,
  notify?: Notify,
): Promise<CaseRecord> {
  const { record, state } = await caseFor(ctx, actor, caseId, 'decide-caf');
  const pending = state.cafAwaitingDecision;
  if (!pending || pending.id !== submissionId) {
    const last = state.lastCafDecision;
    if (last && (last.submissionId === submissionId || !pending)) {
      const who = await ctx.directory.get(last.by);
      throw new AlreadyDecidedError(last.by, who?.name ?? 'another manager', last.recordedAt, last.type);
    }
    throw new CaseWorkError('caf', `There is no CAF awaiting authorisation on ${record.reference}.`);
  }
  if (pending.by === actor.id) throw new AccessDeniedError('decide-caf', record.reference);
  const text = (comments ?? '').trim();
  const today = ctx.today();
  let event: NewCaseEvent;
  if (decision === 'approve') event = { type: 'caf-authorised', by: actor.id, effectiveOn: today, data: { comments: text || undefined } };
  else if (decision === 'return') {
    if (!text) throw new CaseWorkError('comments', 'Say what needs changing when returning a CAF.');
    event = { type: 'caf-returned', by: actor.id, effectiveOn: today, data: { comments: text } };
  } else {
    if (!text) throw new CaseWorkError('comments', 'Give the new evidence of need or risk when directing a re-assessment.');
    event = { type: 'caf-reassessment-directed', by: actor.id, effectiveOn: today, data: { reason: text } };
  }
  return appendNotifying(ctx, actor, record, state, event, idempotencyKey, notify);
}
