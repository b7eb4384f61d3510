import { z } from 'zod';
import { isLocalDate, LocalDate } from './localDate';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from './text';

/**
 * The case event log. A case is an append-only list of these; state and obligations are folds
 * over it. Nothing is edited or deleted: a correction is an `entered-in-error` event that names
 * the event it withdraws, followed by the right one.
 */

const localDate = z.string().refine(isLocalDate, { message: 'must be a real date, YYYY-MM-DD' }) as unknown as z.ZodType<LocalDate>;
const staffId = z.string().min(1).max(200);
const text = (max: number) => z.string().trim().max(max).refine(isStorableText, { message: UNSTORABLE_TEXT_MESSAGE });

/** A manager's confirmation that a worker takes a case past their capacity, with the numbers they saw. */
const capacityConfirmed = z.object({ total: z.number().int().min(0).max(100000), capacity: z.number().int().min(0).max(100000) });

/** Where a case came from. CIN / SGCP step-downs arrive with a plan already (DOMAIN.md). */
export const REFERRAL_SOURCES = ['referral', 'cin-step-down', 'sgcp-step-down', 'self-referral', 'other'] as const;
export type ReferralSource = (typeof REFERRAL_SOURCES)[number];

/** How a contact was tried when the family was not reached. */
export const CONTACT_METHODS = ['phone', 'text', 'letter', 'doorstep'] as const;
export type ContactMethod = (typeof CONTACT_METHODS)[number];

export const CLOSURE_REASONS = [
  'plan-achieved',
  'no-longer-relevant',
  'moved-out-of-area',
  'reached-adulthood',
  'consent-withdrawn',
  'escalated-to-childrens-social-care',
  'escalated-to-youth-offending-service',
  'escalated-to-tier-4-mental-health',
  'other',
] as const;
export type ClosureReason = (typeof CLOSURE_REASONS)[number];

/** The data each kind of event carries, by event type. */
export const eventDataSchemas = {
  allocated: z.object({
    /** The family and the children: stored for the worker, never shown in a preview, log line or subject. */
    family: z
      .object({
        name: text(200).min(1),
        children: z.array(z.object({ name: text(200).min(1), dateOfBirth: localDate.optional() })).max(20).default([]),
      })
      .optional(),
    referralReason: text(4000).optional(),
    leadProfessional: staffId,
    manager: staffId,
    caseloadPoints: z.number().int().min(0).max(100),
    initialActions: text(4000).default(''),
    cafRequired: z.boolean(),
    source: z.enum(REFERRAL_SOURCES),
    /** CIN / SGCP step-downs carry the CAF Support Plan they arrive with. */
    existingPlan: text(8000).optional(),
    /** The day the referral came in, where the manager gave it: the allocation cannot be before it. */
    referredOn: localDate.optional(),
    /** The manager confirmed allocating past the worker's capacity: the worker's points after it, and their capacity. */
    capacityConfirmed: capacityConfirmed.optional(),
  }),
  reallocated: z.object({
    leadProfessional: staffId,
    manager: staffId.optional(),
    caseloadPoints: z.number().int().min(0).max(100).optional(),
    reason: text(2000).optional(),
    capacityConfirmed: capacityConfirmed.optional(),
  }),
  'telephone-contact-made': z.object({ note: text(4000).optional() }),
  /**
   * A contact tried and not reached: the evidence of effort the escalation process asks for (seed
   * 000/002). It does not meet the telephone or personal contact.
   */
  'contact-attempted': z.object({ method: z.enum(CONTACT_METHODS), note: text(4000).optional() }),
  'personal-contact-made': z.object({ note: text(4000).optional(), jointWith: text(200).optional() }),
  visit: z.object({
    childSeen: z.boolean(),
    consentForm: z.boolean(),
    medicalForm: z.boolean(),
    homeChecked: z.boolean(),
    jointWith: text(200).optional(),
    note: text(4000).optional(),
  }),
  'information-received': z.object({ from: text(200).optional() }),
  /** Business Support has the consent or medical information form a visit left outstanding. */
  'forms-received': z.object({ consentForm: z.boolean(), medicalForm: z.boolean() }).refine((d) => d.consentForm || d.medicalForm, { message: 'name the form received', path: ['consentForm'] }),
  /** The case record in the system of record brought up to date to `effectiveOn`. */
  'case-recorded': z.object({ childSeen: z.boolean().optional() }),
  'caf-submitted': z.object({ to: staffId.optional() }),
  'caf-authorised': z.object({ comments: text(4000).optional() }),
  'caf-returned': z.object({ comments: text(4000).min(1) }),
  'caf-reassessment-directed': z.object({ reason: text(4000).min(1) }),
  'caf-reviewed': z.object({ note: text(4000).optional() }),
  /** `meeting`: the booked meeting it was (issue 9); `attended`: who came, in the worker's words (e.g. "Mum, school, health visitor"). */
  'taf-held': z.object({ review: z.boolean().optional(), signOff: z.boolean().optional(), meeting: z.string().max(100).optional(), attended: text(1000).optional() }),
  /**
   * Someone invited to the case's TAF meetings (issue 9): a family member or an agency's
   * professional, by e-mail. `member` names them for their removal. A family member's name is
   * never put on an invitation others see.
   */
  'taf-member-added': z.object({ member: z.string().min(1).max(100), name: text(200).min(1), agency: text(200).optional(), email: z.string().trim().toLowerCase().email().max(254), family: z.boolean() }),
  'taf-member-removed': z.object({ member: z.string().min(1).max(100) }),
  /** Minutes and actions of the TAF held on `tafDate` shared with the family and agencies. */
  'minutes-shared': z.object({ tafDate: localDate }),
  'needs-escalated': z.object({ reason: text(4000).optional() }),
  'needs-deescalated': z.object({ reason: text(4000).optional() }),
  /** A case discussed at the worker's supervision on `effectiveOn` (one event a case discussed). */
  'supervision-held': z.object({ supervisor: staffId.optional() }),
  'supervision-record-returned': z.object({ supervisionDate: localDate }),
  'supervision-record-authorised': z.object({ supervisionDate: localDate }),
  /** The escalation process started for a missed obligation (e.g. no contact within 2 WD). */
  escalated: z.object({ obligation: z.string().min(1).max(100), to: staffId.optional(), note: text(4000).optional() }),
  /** A manager's answer to an escalation: what is being done about the missed obligation. */
  'escalation-noted': z.object({ obligation: z.string().min(1).max(100), note: text(2000).min(1) }),
  'closure-requested': z.object({ reason: z.enum(CLOSURE_REASONS), summary: text(8000).min(1) }),
  'closure-approved': z.object({ comments: text(4000).optional() }),
  'closure-returned': z.object({ comments: text(4000).min(1) }),
  'closure-audited': z.object({ outcome: z.enum(['confirmed', 'remedial-actions']), comments: text(4000).optional() }),
  'evaluation-received': z.object({
    respondent: z.enum(['adult', 'child']),
    /** Distance travelled: each need scored 1 (least concern) to 5 (most) at the start and now. */
    scores: z.array(z.object({ need: text(200).min(1), start: z.number().int().min(1).max(5), end: z.number().int().min(1).max(5) })).default([]),
    comments: text(4000).optional(),
  }),
  'entered-in-error': z.object({ eventId: z.string().min(1), reason: text(2000).min(1) }),
} as const;

export type CaseEventType = keyof typeof eventDataSchemas;
export const CASE_EVENT_TYPES = Object.keys(eventDataSchemas) as CaseEventType[];
export type EventData<T extends CaseEventType> = z.output<(typeof eventDataSchemas)[T]>;

/** An event as the log stores it. */
export type CaseEvent = {
  [T in CaseEventType]: {
    id: string;
    caseId: string;
    /** Position in the case's log, from 1; the case's version is its last sequence. */
    sequence: number;
    type: T;
    /** Staff id of whoever recorded it (or `system`). */
    by: string;
    /** When it was written (an instant, ISO 8601 UTC). */
    recordedAt: string;
    /** The day it happened in Europe/London: a contact made yesterday and logged today is effective yesterday. */
    effectiveOn: LocalDate;
    data: EventData<T>;
  };
}[CaseEventType];

/** What a caller hands to the log to append; the log adds id, sequence and recordedAt. */
export type NewCaseEvent = {
  [T in CaseEventType]: { type: T; by: string; effectiveOn: LocalDate; data: z.input<(typeof eventDataSchemas)[T]> };
}[CaseEventType];

/** A new event once validated: its data normalised to what the log stores. */
export type ValidNewEvent = {
  [T in CaseEventType]: { type: T; by: string; effectiveOn: LocalDate; data: EventData<T> };
}[CaseEventType];

export class InvalidEventError extends Error {
  constructor(readonly field: string, readonly reason: string) {
    super(`${field}: ${reason}`);
    this.name = 'InvalidEventError';
  }
}

/** Validates a new event and returns it with its data normalised; throws naming the field. */
const newEventSchema = z.object({ type: z.enum(CASE_EVENT_TYPES as [CaseEventType, ...CaseEventType[]]), by: staffId, effectiveOn: localDate, data: z.unknown() });

export function validateNewEvent(input: unknown): ValidNewEvent {
  const base = newEventSchema.safeParse(input);
  if (!base.success) {
    const issue = base.error.issues[0];
    throw new InvalidEventError(issue.path.join('.') || 'event', issue.message);
  }
  const parsed = eventDataSchemas[base.data.type].safeParse(base.data.data ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidEventError(['data', ...issue.path].join('.'), issue.message);
  }
  return { ...base.data, data: parsed.data } as ValidNewEvent;
}

/** The events still standing: those withdrawn by `entered-in-error` are left out (they stay in the log). */
export function standingEvents(events: readonly CaseEvent[]): CaseEvent[] {
  let withdrawn: Set<string> | undefined;
  for (const e of events) if (e.type === 'entered-in-error') (withdrawn ??= new Set()).add(e.data.eventId);
  if (!withdrawn) return events.slice();
  const gone = withdrawn;
  return events.filter((e) => e.type !== 'entered-in-error' && !gone.has(e.id));
}
