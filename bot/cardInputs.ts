import { z } from 'zod';
import { CONTACT_METHODS } from '../src/caseEvents';
import { isLocalDate, LocalDate } from '../src/localDate';
import { isStorableText, UNSTORABLE_TEXT_MESSAGE } from '../src/text';
import { MEETING_CARD_VIEWS } from './meetingViews';

/**
 * What each card action may carry, typed, trimmed and bounded on the server before anything reads
 * it: a card's `maxLength` is a hint to the client, not a guarantee (a request can carry anything).
 * A mismatch is a `CardInputError` naming the field, and the card is shown again with the message.
 */

export class CardInputError extends Error {
  constructor(readonly field: string, message: string) {
    super(message);
    this.name = 'CardInputError';
  }
}

/** The words a person sees for each field, in messages. */
const LABELS: Record<string, string> = {
  reference: 'Case reference',
  familyName: 'Family name',
  children: 'Children',
  referralReason: 'Reason for referral',
  source: 'Where the referral came from',
  existingPlan: 'CAF Support Plan',
  leadProfessional: 'Worker',
  caseloadPoints: 'Caseload points',
  initialActions: "Manager's Decision",
  cafRequired: 'A CAF is required',
  caseId: 'Case',
  submissionId: 'CAF',
  comments: 'Comments',
  date: 'Date',
  tafDate: 'TAF date',
  childSeen: 'Child seen',
  consentForm: 'Consent form returned',
  medicalForm: 'Medical information form returned',
  homeChecked: 'Home and sleeping arrangements checked',
  command: 'Command',
  outcome: 'Outcome',
  method: 'How it was tried',
  allocatedOn: 'Date allocated',
  referredOn: 'Date of referral',
  confirmedTotal: 'Allocate anyway',
  reallocateTo: 'New lead professional',
  reallocatePoints: 'Caseload points',
  reallocateReason: 'Reason',
  supervisionHeldDate: 'Date of the supervision',
  supervisionDate: 'Supervision',
  supervisionRecordDate: 'Date',
  caseIds: 'Cases discussed',
  reminderId: 'Reminder',
  item: 'Reminder item',
  heldDate: 'Date of the supervision',
  recordDate: 'Date the record was returned or authorised',
  stage: 'Stage',
  answer: 'Answer',
  absentFrom: 'First day away',
  absentUntil: 'Last day away',
  meetingId: 'Meeting',
  view: 'Card',
  meetingHeldDate: 'Date it was held',
  attended: 'Who attended',
  notHeldReason: 'Why it did not take place',
  notHeldNote: 'Note',
  movedDate: 'New date',
  movedTime: 'New start time',
  memberName: 'Name',
  memberAgency: 'Agency',
  memberEmail: 'E-mail',
  memberFamily: 'Family member',
  memberId: 'TAF member',
};

/** Free text: a string, at most `max` characters, storable, trimmed. Absent is empty. */
function text(max: number) {
  return z
    .string({ error: 'must be text' })
    .max(max, `is longer than ${max} characters`)
    .refine(isStorableText, UNSTORABLE_TEXT_MESSAGE)
    .transform((s) => s.trim())
    .optional()
    .transform((s) => s ?? '');
}

/** An id the bot itself put on the card (a case or an event id). */
const id = z.string({ error: 'is missing: this card is out of date' }).regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'is not one this bot issued: this card is out of date');

/** A staff member's id, as the allocation form lists them. */
const staffId = z.string({ error: 'choose one from the list' }).min(1, 'choose one from the list').max(100, 'choose one from the list');

/** A toggle sends "true" or "false"; older clients may send a boolean. */
const toggle = z.union([z.boolean(), z.enum(['true', 'false'])], { error: 'must be on or off' }).transform((v) => v === true || v === 'true');

/** A date input sends YYYY-MM-DD. */
const date = z
  .string({ error: 'must be a date' })
  .max(10, 'must be a date, YYYY-MM-DD')
  .refine(isLocalDate, 'must be a real date, YYYY-MM-DD') as unknown as z.ZodType<LocalDate>;

/** A whole number from 0 to 100, as a number input sends it (a string of digits, or a number): no hex, no exponent. */
const points = z.union([z.number(), z.string().trim().regex(/^\d{1,3}$/, 'must be a whole number from 0 to 100')], { error: 'must be a whole number from 0 to 100' }).transform((v, ctx) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 100) {
    ctx.addIssue({ code: 'custom', message: 'must be a whole number from 0 to 100' });
    return z.NEVER;
  }
  return n;
});

/** A date input left empty sends "": no date. */
const optionalDate = z.union([z.literal(''), date]).optional().transform((v) => (v ? v : undefined));

/** A confirmation toggle carries the total it confirms ("" when not ticked). */
const confirmation = z
  .union([z.literal(''), z.number().int().min(0).max(100000), z.string().trim().regex(/^\d{1,6}$/, 'is not a total this bot offered')], { error: 'is not a total this bot offered' })
  .optional()
  .transform((v) => (v === '' || v === undefined ? undefined : Number(v)));

const MAX_CHILDREN = 20;

export interface ChildLine {
  name: string;
  dateOfBirth?: string;
}

/**
 * One child a line, "name, date of birth" (the date optional). Parsed without a backtracking
 * pattern: the date is the last ten characters if they look like one, and the separators before it
 * are stripped one character at a time.
 */
export function parseChildren(lines: string): ChildLine[] {
  const children = lines
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .map((line) => {
      const tail = line.slice(-10);
      if (line.length <= 10 || !/^\d{4}-\d{2}-\d{2}$/.test(tail)) return { name: line };
      let end = line.length - 10;
      while (end > 0 && /[,;\s]/.test(line[end - 1])) end--;
      return end === line.length - 10 ? { name: line } : { name: line.slice(0, end).trim(), dateOfBirth: tail };
    });
  if (children.length > MAX_CHILDREN) throw new CardInputError('children', `Children: at most ${MAX_CHILDREN}, one a line.`);
  children.forEach((child, i) => {
    if (child.name.length > 200) throw new CardInputError('children', `Children, line ${i + 1}: the name is longer than 200 characters.`);
  });
  return children;
}

export const CARD_INPUTS = {
  allocateCase: z.object({
    reference: text(31),
    familyName: text(200),
    children: text(2000),
    referralReason: text(4000),
    source: text(40),
    existingPlan: text(8000),
    leadProfessional: staffId,
    caseloadPoints: points,
    initialActions: text(4000),
    cafRequired: toggle,
    allocatedOn: optionalDate,
    referredOn: optionalDate,
    confirmedTotal: confirmation,
  }),
  caseOnly: z.object({ caseId: id }),
  work: z.object({
    caseId: id,
    date: date.optional(),
    tafDate: date.optional(),
    childSeen: toggle.optional(),
    consentForm: toggle.optional(),
    medicalForm: toggle.optional(),
    homeChecked: toggle.optional(),
    outcome: z.enum(['made', 'attempted'], { error: 'choose made or attempted' }).optional(),
    method: z.enum(CONTACT_METHODS, { error: 'choose phone, text, letter or doorstep' }).optional(),
  }),
  decision: z.object({ caseId: id, submissionId: id, comments: text(4000) }),
  cafCard: z.object({ caseId: id, submissionId: id }),
  personalChat: z.object({ command: text(100) }),
  workerCases: z.object({ workerId: staffId }),
  /** A reminder card's item: the outbox message it came from and the item's place in it. */
  reminderItem: z.object({
    reminderId: z.union([z.number().int().positive(), z.string().regex(/^\d{1,15}$/, 'is not one this bot issued')], { error: 'is not one this bot issued' }).transform(Number),
    item: z.union([z.number().int().min(0).max(999), z.string().regex(/^\d{1,3}$/, 'is not one this bot issued')], { error: 'is not one this bot issued' }).transform(Number),
  }),
  reallocate: z.object({ caseId: id, reallocateTo: staffId, reallocatePoints: points, reallocateReason: text(2000), confirmedTotal: confirmation }),
  supervisionHeld: z.object({ caseId: id, supervisionHeldDate: date }),
  supervisionRecord: z.object({ caseId: id, supervisionDate: date, supervisionRecordDate: date }),
  /** From the supervision card: the cases discussed (a multi-select sends "id,id"), or a record's cases. */
  supervisionCases: z.object({
    caseIds: z
      .string({ error: 'choose the case or cases discussed' })
      .max(50 * 37, 'at most 50 cases')
      .transform((s) => s.split(',').map((c) => c.trim()).filter(Boolean))
      .pipe(z.array(id).min(1, 'choose the case or cases discussed').max(50, 'at most 50 cases')),
    stage: z.enum(['held', 'returned', 'authorised'], { error: 'is not one this bot offered' }),
    heldDate: optionalDate,
    recordDate: optionalDate,
    supervisionDate: optionalDate,
  }),
  /** The absence card: Confirm (with the leave it shows, checked again on the server) or Cancel. */
  answerAbsence: z.discriminatedUnion('answer', [z.object({ answer: z.literal('confirm'), absentFrom: date, absentUntil: date }), z.object({ answer: z.literal('cancel') })], { error: 'is not one this bot offered' }),
  /** A TAF meeting's card: the meeting and the view it was drawn as (shown again if an action is refused). */
  meetingCard: z.object({ meetingId: id, view: z.enum(MEETING_CARD_VIEWS, { error: 'is not one this bot issued: this card is out of date' }) }),
  /** Held, Not held and Moved: the core checks the date, the reason and the time, with its own words. */
  meetingHeld: z.object({ meetingHeldDate: optionalDate, attended: text(2000) }),
  meetingNotHeld: z.object({ notHeldReason: text(40), notHeldNote: text(2000) }),
  meetingMoved: z.object({ movedDate: text(10), movedTime: text(5) }),
  /** The TAF members card's Add form: the core checks the name, the e-mail and the agency, with its own words. */
  addTafMember: z.object({ caseId: id, memberName: text(200), memberAgency: text(200), memberEmail: text(254), memberFamily: toggle.optional().transform((v) => v ?? false) }),
  /** A TAF member's Remove: the member id the card was drawn with. */
  removeTafMember: z.object({ caseId: id, memberId: id }),
} as const;

export type CardInput<K extends keyof typeof CARD_INPUTS> = z.output<(typeof CARD_INPUTS)[K]>;

/** The card's data as `kind` expects it, or a CardInputError naming the first field that is wrong. */
export function cardInput<K extends keyof typeof CARD_INPUTS>(kind: K, data: Record<string, unknown>): CardInput<K> {
  const parsed = CARD_INPUTS[kind].safeParse(data);
  if (parsed.success) return parsed.data as CardInput<K>;
  const issue = parsed.error.issues[0];
  const field = String(issue.path[0] ?? 'card');
  throw new CardInputError(field, `${LABELS[field] ?? field}: ${issue.message}.`);
}

/**
 * What the person typed, safe to show again on the re-shown form: text fields only, and only text
 * that is text, short enough, and storable; anything else is left blank.
 */
export function echoed(data: Record<string, unknown>, fields: readonly string[], max = 8000): Record<string, string> {
  const out: Record<string, string> = {};
  for (const field of fields) {
    const v = data[field];
    out[field] = typeof v === 'string' && v.length <= max && isStorableText(v) ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : '';
  }
  return out;
}
