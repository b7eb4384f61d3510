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

/** Red / amber / green as a word and a colour: never colour alone. */
export const RAG_WORDS: Record<Rag, { text: string; color: 'Attention' | 'Warning' | 'Good' }> = {
  red: { text: 'Overdue', color: 'Attention' },
  amber: { text: 'Due soon', color: 'Warning' },
  green: { text: 'On track', color: 'Good' },
};

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
