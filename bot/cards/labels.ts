import { dayOfWeek, LocalDate } from '../../src/localDate';
import type { CafDecisionType } from '../../src/caseState';
import type { ObligationKind } from '../../src/obligations';

/** Obligation kinds in the words on a worker's card. */
export const OBLIGATION_LABELS: Record<ObligationKind, string> = {
  'telephone-contact': 'Telephone contact',
  'personal-contact': 'Personal contact (visit)',
  'caf-assessment': 'CAF completed',
  'first-taf': 'First TAF meeting',
  'taf-review': 'TAF review meeting',
  'taf-minutes': 'TAF minutes shared',
  'case-recording': 'Case recording',
  supervision: 'Supervision',
  'supervision-record': 'Supervision record returned',
  'supervision-authorised': 'Supervision record authorised',
  'caf-review': 'CAF review',
  'case-duration': 'Maximum case length',
};

/**
 * Where a deadline stands, in the words on a list or a case card. The colour cue is the emoji; the
 * word itself is bold in the default text colour, because Teams' own `good` (#92c353) and `warning`
 * (#f8d22a) text colours on its light theme's white fall short of WCAG AA contrast (4.5:1), and
 * the default colour is the one every theme (light, dark, high contrast) keeps readable.
 */
export type DueStatus = 'overdue' | 'due-today' | 'due-soon' | 'on-track' | 'awaiting-you';

export interface StatusWord {
  /** The word with its colour cue, as shown. */
  text: string;
  /** The colour cue alone, for a count ("🔴 3 overdue"). */
  cue: string;
  color: 'Default';
}

export const STATUS_WORDS: Record<DueStatus, StatusWord> = {
  overdue: { text: '🔴 Overdue', cue: '🔴', color: 'Default' },
  'due-today': { text: '🟠 Due today', cue: '🟠', color: 'Default' },
  'due-soon': { text: '🟡 Due soon', cue: '🟡', color: 'Default' },
  'on-track': { text: '🟢 On track', cue: '🟢', color: 'Default' },
  /** A decision that is the viewer's to make (a CAF awaiting their authorisation): no timescale of its own. */
  'awaiting-you': { text: '🟣 Awaiting you', cue: '🟣', color: 'Default' },
};

/** A CAF decision in the words of the decided card ("CAF approved: case EH-1003"). */
export const CAF_OUTCOMES = { 'caf-authorised': 'approved', 'caf-returned': 'returned', 'caf-reassessment-directed': 're-assessment directed' } as const satisfies Record<CafDecisionType, string>;
export type CafOutcome = (typeof CAF_OUTCOMES)[CafDecisionType];

/** The good-assessment checklist of seed 000 / 002, at hand when a manager authorises a CAF. */
export const GOOD_ASSESSMENT_CHECKLIST = [
  'is completed within timescales',
  'is a continuing process, not a single event',
  'sets and agrees conditions on confidentiality',
  'is based on an understanding of family history',
  'recognises and builds on strengths of the family',
  'is led by evidence: clear, jargon-free',
  'includes the voice of the child',
  'engages co-parents, especially fathers',
  'fully considers cultural issues and barriers',
  'involves key agencies involved with the family',
];

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A date as people write it on a card: "Tue 24 Nov", with the year when it is not this year's
 * ("Mon 1 Feb 2027").
 */
export function formatDay(date: LocalDate, today: LocalDate): string {
  const [year, month, day] = date.split('-').map(Number);
  const words = `${DAYS[dayOfWeek(date)]} ${day} ${MONTHS[month - 1]}`;
  return year === Number(today.slice(0, 4)) ? words : `${words} ${year}`;
}

/** London wall-clock time of an instant, as people read it: "2026-12-18 14:05". */
const LONDON_TIME = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });

export function formatInstant(iso: string): string {
  const parts = LONDON_TIME.formatToParts(new Date(iso));
  const p = (type: string) => parts.find((x) => x.type === type)?.value ?? '';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}`;
}
