import { dayOfWeek, LocalDate } from '../../src/localDate';
import type { ObligationKind, Rag } from '../../src/obligations';

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

/** Red / amber / green as a word with its colour cue: never colour alone. */
export const RAG_WORDS: Record<Rag, StatusWord> = {
  red: STATUS_WORDS.overdue,
  amber: STATUS_WORDS['due-soon'],
  green: STATUS_WORDS['on-track'],
};

/** Something due today: amber, but said as it is. */
export const DUE_TODAY: { text: string; color: 'Attention' | 'Warning' | 'Good' | 'Default' } = STATUS_WORDS['due-today'];

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
