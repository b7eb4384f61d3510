import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isLocalDate } from './localDate';
import type { ObligationKind } from './obligations';

/**
 * The practice policy: every timescale of the Early Help process as a named setting, so that an
 * authority changes its timescales in a file, not in code. The default is the practice guidance
 * of seeds 000 / 002 (`policies/default.json`); DOMAIN.md lists where other authorities differ.
 */

/** A length of time as the guidance states it: working days, or calendar days / weeks / months / years. */
const period = z.union([
  z.strictObject({ workingDays: z.number().int().min(0).max(500) }),
  z.strictObject({ days: z.number().int().min(1).max(3660) }),
  z.strictObject({ weeks: z.number().int().min(1).max(520) }),
  z.strictObject({ months: z.number().int().min(1).max(120) }),
  z.strictObject({ years: z.number().int().min(1).max(50) }),
]);
export type Period = z.infer<typeof period>;

/** Where a rule comes from, e.g. "seed 000: Telephone contact ... within max of 2 working days". */
const source = z.string().min(1).optional();

const within = z.strictObject({ within: period, source });

const tafInterval = z.strictObject({ target: period, latest: period });

/**
 * Working days after an obligation's deadline on whose morning it is escalated, by kind; null for
 * a kind that is never escalated. Typed by kind so that a new obligation kind must be given a value
 * here (issue 8: every kind escalates the next working day but recording and case length, which
 * stay in the digests and the team digest).
 */
export const DEFAULT_ESCALATE_AFTER: Readonly<Record<ObligationKind, number | null>> = {
  'telephone-contact': 1,
  'personal-contact': 1,
  'caf-assessment': 1,
  'first-taf': 1,
  'taf-review': 1,
  'taf-minutes': 1,
  'case-recording': null,
  supervision: 1,
  'supervision-record': 1,
  'supervision-authorised': 1,
  'caf-review': 1,
  'case-duration': null,
};

/** A London wall-clock time, "08:30". */
const wallClock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be a time of day, HH:MM (24-hour)');

const escalateAfterShape = Object.fromEntries(
  Object.entries(DEFAULT_ESCALATE_AFTER).map(([kind, n]) => [kind, z.number().int().min(1).max(60).nullable().default(n)]),
) as { [K in ObligationKind]: z.ZodDefault<z.ZodNullable<z.ZodNumber>> };

/** The reminder settings written out in full, as policies/default.json has them. */
export function defaultReminders() {
  return {
    workingHours: { start: '08:30', end: '17:30' },
    digestAt: '08:30',
    digestHorizon: { workingDays: 1 },
    escalateAfter: { ...DEFAULT_ESCALATE_AFTER },
    teamDigest: { enabled: true },
  };
}

/** When reminders and escalations go out (issue 8). A policy without this section takes the defaults. */
const reminders = z
  .strictObject({
    /** Nothing is sent outside these hours or on a non-working day; it waits for the next working morning. */
    workingHours: z.strictObject({ start: wallClock, end: wallClock, source }).default(() => defaultReminders().workingHours),
    /** The daily digest's time, inside working hours. */
    digestAt: wallClock.default('08:30'),
    /** A digest lists what is overdue, due today, and due by the end of this many working days after today. */
    digestHorizon: z.strictObject({ workingDays: z.number().int().min(0).max(20), source }).default(() => defaultReminders().digestHorizon),
    escalateAfter: z.strictObject(escalateAfterShape).default(() => ({ ...DEFAULT_ESCALATE_AFTER })),
    /** The weekly team digest to each manager, at digestAt on the first working day of the week. */
    teamDigest: z.strictObject({ enabled: z.boolean(), source }).default(() => defaultReminders().teamDigest),
    source,
  })
  .default(defaultReminders);

/** The TAF meeting settings written out in full, as policies/default.json has them. */
export function defaultTafMeetings() {
  return {
    hours: { start: '09:30', end: '16:00' },
    lengthMinutes: 90,
    firstTafBookFrom: { workingDaysBeforeDeadline: 5 },
    slotStepMinutes: 30,
    noticeWorkingDays: 1,
  };
}

/** How TAF meetings are booked in Outlook (issue 9). A policy without this section takes the defaults. */
const tafMeetings = z
  .strictObject({
    /** A meeting starts and ends inside these hours, London time, on a working day. */
    hours: z.strictObject({ start: wallClock, end: wallClock, source }).default(() => defaultTafMeetings().hours),
    /** How long a TAF meeting is booked for. */
    lengthMinutes: z.number().int().min(15).max(480).default(90),
    /** The first TAF is booked in the first free slot on or after this many working days before its deadline. */
    firstTafBookFrom: z.strictObject({ workingDaysBeforeDeadline: z.number().int().min(0).max(60), source }).default(() => defaultTafMeetings().firstTafBookFrom),
    /** Candidate start times are this many minutes apart. */
    slotStepMinutes: z.number().int().min(5).max(240).default(30),
    /** A meeting is booked at least this many working days ahead, so that the family and agencies can come. */
    noticeWorkingDays: z.number().int().min(0).max(20).default(1),
    source,
  })
  .default(defaultTafMeetings);

const policySchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  calendar: z
    .strictObject({
      /** Closure days the authority adds on top of bank holidays (e.g. the Christmas closure). */
      closureDays: z
        .array(
          z.strictObject({
            date: z.string().refine(isLocalDate, { message: 'must be a real date, YYYY-MM-DD' }),
            name: z.string().min(1).optional(),
          }),
        )
        .default([]),
    })
    .default({ closureDays: [] }),
  timescales: z.strictObject({
    telephoneContact: within,
    personalContact: within,
    cafAssessment: within,
    firstTaf: z.strictObject({
      within: period,
      /** `allocation` (seed 000) or `caf-completed` (seed 004: within 20 WD of the CAF being completed). */
      from: z.enum(['allocation', 'caf-completed']),
      source,
    }),
    tafReview: z.strictObject({
      target: period,
      latest: period,
      /** A shorter interval once needs escalate ("or more frequently if needs escalate"). */
      whenNeedsEscalated: tafInterval,
      source,
    }),
    tafMinutes: within,
    caseRecording: within,
    supervision: z.strictObject({ every: period, source }),
    supervisionRecord: within,
    supervisionAuthorised: within,
    cafReview: within,
    caseDuration: z.strictObject({ maximum: period.nullable(), source }),
  }),
  closure: z.strictObject({
    /** Seed 004: a sign-off TAF meeting must agree closure and its reasons. */
    signOffTafRequired: z.boolean(),
    /** Share of closed cases audited before closure is confirmed: 1 = every case (seed 001), 0.1 = 1 in 10 (seed 004). */
    auditSample: z.number().min(0).max(1),
    source,
  }),
  retention: z.strictObject({
    /** A closed case stays accessible for this long ... */
    accessibleFor: period,
    /** ... then is archived for this long, then destroyed. */
    thenArchivedFor: period,
    source,
  }),
  reminders,
  tafMeetings,
});

export type Policy = z.infer<typeof policySchema>;
type PolicyInput = z.input<typeof policySchema>;

export class PolicyError extends Error {
  constructor(readonly file: string, readonly field: string, readonly reason: string) {
    super(`${file}: ${field ? `${field}: ` : ''}${reason}`);
    this.name = 'PolicyError';
  }
}

/** The policies shipped with the product. */
export const POLICIES_DIR = path.resolve(__dirname, '../policies');
export const DEFAULT_POLICY_FILE = path.join(POLICIES_DIR, 'default.json');

function periodOrder(p: Period): number {
  // Rough length in days, only to check that a target comes before its latest date.
  if ('workingDays' in p) return p.workingDays * 1.4;
  if ('days' in p) return p.days;
  if ('weeks' in p) return p.weeks * 7;
  if ('months' in p) return p.months * 30.4;
  return p.years * 365.25;
}

/** Checks a parsed policy document; throws a PolicyError naming the field. `file` is only for the message. */
export function validatePolicy(document: unknown, file = '<policy>'): Policy {
  const result = policySchema.safeParse(document);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue.path.join('.');
    let reason = issue.message;
    if (issue.code === 'invalid_union') reason = 'must be one period: {"workingDays": n}, {"days": n}, {"weeks": n}, {"months": n} or {"years": n}';
    if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) reason = 'is required';
    if (issue.code === 'unrecognized_keys') reason = `unknown setting ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    throw new PolicyError(file, field, reason);
  }
  const policy = result.data;
  for (const [field, interval] of [
    ['timescales.tafReview', policy.timescales.tafReview],
    ['timescales.tafReview.whenNeedsEscalated', policy.timescales.tafReview.whenNeedsEscalated],
  ] as const) {
    if (periodOrder(interval.target) > periodOrder(interval.latest)) {
      throw new PolicyError(file, `${field}.target`, 'the target must not be later than the latest date');
    }
  }
  checkReminders(policy, file);
  checkTafMeetings(policy, file);
  return policy;
}

function checkReminders(policy: Policy, file: string): void {
  const { workingHours, digestAt } = policy.reminders;
  // HH:MM strings compare as times of day.
  if (workingHours.start >= workingHours.end) throw new PolicyError(file, 'reminders.workingHours.end', 'must be later than the start');
  if (digestAt < workingHours.start || digestAt >= workingHours.end) throw new PolicyError(file, 'reminders.digestAt', `must be inside working hours (${workingHours.start}\u2013${workingHours.end})`);
}

function checkTafMeetings(policy: Policy, file: string): void {
  const { hours, lengthMinutes } = policy.tafMeetings;
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  if (minutes(hours.end) - minutes(hours.start) < lengthMinutes) throw new PolicyError(file, 'tafMeetings.hours.end', `leaves no room for a meeting of ${lengthMinutes} minutes after the start (${hours.start})`);
}

/** Reads and validates a policy file; a missing file, bad JSON or a bad setting is a PolicyError. */
export function loadPolicy(file: string = DEFAULT_POLICY_FILE): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new PolicyError(file, '', `cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(file, '', `is not valid JSON (${(e as Error).message})`);
  }
  return validatePolicy(document, file);
}

export type { PolicyInput };

/** Human words for a period, for rules shown to users: "2 working days", "6 weeks". */
export function describePeriod(p: Period): string {
  const [unit, n] = Object.entries(p)[0] as [string, number];
  const words: Record<string, [string, string]> = {
    workingDays: ['working day', 'working days'],
    days: ['day', 'days'],
    weeks: ['week', 'weeks'],
    months: ['month', 'months'],
    years: ['year', 'years'],
  };
  const [one, many] = words[unit];
  return `${n} ${n === 1 ? one : many}`;
}
