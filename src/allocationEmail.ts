import { LocalDate } from './localDate';
import type { Obligation, ObligationKind } from './obligations';
import { StaffMember } from './staff';

/**
 * The allocation e-mail of seed 000 ("Allocation email sent to worker with line manager and EH
 * Business Support copied"). It names the case by its reference only: no child's name and no
 * family circumstances leave the case record by e-mail.
 */
export interface AllocationEmail {
  to: string[];
  cc: string[];
  subject: string;
  body: string;
}

/** What the worker does first, and by when (the first obligations of the case). */
export interface FirstStep {
  what: string;
  by: LocalDate;
}

const FIRST_STEP_WORDS: Partial<Record<ObligationKind, string>> = {
  'telephone-contact': 'Telephone contact with the family',
  'personal-contact': 'A personal contact (a visit or a meeting) with the family',
  'caf-assessment': 'The CAF assessment completed',
  'first-taf': 'The first TAF meeting held',
};

/** The first steps of a case just allocated, soonest first, from its obligations. */
export function firstStepsOf(obligations: readonly Pick<Obligation, 'kind' | 'due' | 'provisional'>[]): FirstStep[] {
  return obligations
    .filter((o) => FIRST_STEP_WORDS[o.kind] && !o.provisional)
    .map((o) => ({ what: FIRST_STEP_WORDS[o.kind]!, by: o.due }))
    .sort((a, b) => (a.by < b.by ? -1 : a.by > b.by ? 1 : 0));
}

const DAY = new Intl.DateTimeFormat('en-GB', { weekday: 'short', day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' });
const dayWords = (d: LocalDate) => DAY.format(new Date(`${d}T12:00:00Z`)).replace(',', '');

export function allocationEmail(input: {
  reference: string;
  worker: StaffMember;
  allocatedBy: StaffMember;
  lineManager?: StaffMember | null;
  businessSupport: readonly StaffMember[];
  caseloadPoints: number;
  /** What to do first, by when. */
  firstSteps?: readonly FirstStep[];
  /** A link that opens the case in Teams. */
  caseLink?: string;
}): AllocationEmail {
  const cc = new Set<string>();
  if (input.lineManager) cc.add(input.lineManager.email);
  cc.add(input.allocatedBy.email);
  for (const b of input.businessSupport) cc.add(b.email);
  cc.delete(input.worker.email);
  return {
    to: [input.worker.email],
    cc: [...cc],
    subject: `Case ${input.reference} allocated to you`,
    body: [
      `Case ${input.reference} has been allocated to ${input.worker.name} by ${input.allocatedBy.name} (${input.caseloadPoints} caseload points).`,
      ...(input.firstSteps?.length ? [`What to do first:\n${input.firstSteps.map((s) => `- ${s.what} by ${dayWords(s.by)}`).join('\n')}`] : []),
      `The Manager\u2019s Decision and the case details are in the Early Help app in Teams${input.caseLink ? `: ${input.caseLink}` : '.'}`,
      'Business Support: please update the caseload tracking sheet.',
    ].join('\n\n'),
  };
}
