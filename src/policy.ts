import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { isLocalDate } from './localDate';

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
  return policy;
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
