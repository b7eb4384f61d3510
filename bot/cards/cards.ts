import { LocalDate } from '../../src/localDate';
import { Obligation, Rag } from '../../src/obligations';
import { GOOD_ASSESSMENT_CHECKLIST, OBLIGATION_LABELS, RAG_WORDS } from './labels';
import { AdaptiveCard, expandCard } from './template';

/** Each card is a template in cards/ plus a typed function that builds its data. */

export function welcomeCard(): AdaptiveCard {
  return expandCard('welcome', {});
}

export function helpCard(heard = ''): AdaptiveCard {
  return expandCard('help', { heard: heard.slice(0, 60) });
}

export function unknownUserCard(administrator: string): AdaptiveCard {
  return expandCard('unknown-user', { administrator });
}

/** A short notice; `summary` is what a notification may show, so it carries the case reference only. */
export function noticeCard(data: { title: string; text?: string; summary: string; caseId?: string; reference?: string }): AdaptiveCard {
  return expandCard('notice', { text: '', caseId: '', reference: '', ...data });
}

/**
 * The answer in a group chat or channel to anything that would show a case: the case stays out of
 * the shared conversation, and a button brings it to the person's own chat. `command` is what is run there.
 */
export function personalChatCard(data: { title: string; summary: string; command: string }): AdaptiveCard {
  return expandCard('personal-chat', data);
}

export interface AllocationValues {
  reference?: string;
  familyName?: string;
  children?: string;
  referralReason?: string;
  source?: string;
  existingPlan?: string;
  leadProfessional?: string;
  caseloadPoints?: string | number;
  initialActions?: string;
  cafRequired?: string | boolean;
}

export interface AllocationCardData {
  workers: Array<{ id: string; name: string; points: number; capacity: number }>;
  values?: AllocationValues;
  message?: string;
}

export function allocationCard(data: AllocationCardData): AdaptiveCard {
  const v = data.values ?? {};
  const values = {
    reference: v.reference ?? '',
    familyName: v.familyName ?? '',
    children: v.children ?? '',
    referralReason: v.referralReason ?? '',
    source: v.source ?? 'referral',
    existingPlan: v.existingPlan ?? '',
    leadProfessional: v.leadProfessional ?? '',
    caseloadPoints: v.caseloadPoints === undefined || v.caseloadPoints === '' || !Number.isFinite(Number(v.caseloadPoints)) ? '' : Number(v.caseloadPoints),
    initialActions: v.initialActions ?? '',
    cafRequired: String(v.cafRequired ?? 'true'),
  };
  const card = expandCard('allocation', { workers: data.workers, values, message: data.message ?? '' });
  // An empty number input must have no value at all, not an empty string.
  if (values.caseloadPoints === '') for (const item of card.body as Array<Record<string, unknown>>) if (item.id === 'caseloadPoints') delete item.value;
  return card;
}

export interface CaseCardObligation {
  kind: Obligation['kind'];
  due: LocalDate;
  rag: Rag;
}

export interface CaseCardData {
  caseId: string;
  reference: string;
  version: number;
  family: string;
  leadProfessional: string;
  allocatedOn: LocalDate;
  statusText: string;
  cafText: string;
  obligations: CaseCardObligation[];
  today: LocalDate;
  lastTafDate?: LocalDate;
  message?: string;
  notice?: string;
}

export function caseCard(data: CaseCardData): AdaptiveCard {
  return expandCard('case', {
    ...data,
    message: data.message ?? '',
    notice: data.notice ?? '',
    lastTafDate: data.lastTafDate ?? data.today,
    obligations: data.obligations.map((o) => ({ label: OBLIGATION_LABELS[o.kind], due: o.due, ragText: RAG_WORDS[o.rag].text, ragColor: RAG_WORDS[o.rag].color })),
  });
}

export interface CafAuthorisationCardData {
  caseId: string;
  reference: string;
  submissionId: string;
  worker: string;
  submittedOn: LocalDate;
  cafDue: LocalDate;
  /** Whether the viewer may decide: the buttons show only for them. */
  canDecide: boolean;
  decider: string;
  /** Set when the card is posted where several people see it: they refresh to their own view (60 at most). */
  refreshUserIds?: string[];
  message?: string;
  comments?: string;
}

export const MAX_REFRESH_USER_IDS = 60;

export function cafAuthorisationCard(data: CafAuthorisationCardData): AdaptiveCard {
  const card = expandCard('caf-authorisation', {
    ...data,
    message: data.message ?? '',
    comments: data.comments ?? '',
    refreshUserIds: (data.refreshUserIds ?? []).slice(0, MAX_REFRESH_USER_IDS),
    checklist: GOOD_ASSESSMENT_CHECKLIST,
  });
  // In a personal chat the card is the manager's alone and needs no refresh.
  if (!data.refreshUserIds?.length) delete card.refresh;
  return card;
}

export type CafOutcome = 'approved' | 'returned' | 're-assessment directed';

export interface CafDecidedCardData {
  reference: string;
  outcome: CafOutcome;
  decidedBy: string;
  decidedAt: string;
  worker: string;
  comments?: string;
  message?: string;
}

export function cafDecidedCard(data: CafDecidedCardData): AdaptiveCard {
  return expandCard('caf-decided', {
    ...data,
    comments: data.comments || 'none',
    message: data.message ?? '',
    outcomeColor: data.outcome === 'approved' ? 'Good' : 'Warning',
  });
}

export interface CaseListRow {
  caseId: string;
  reference: string;
  next: string;
  rag: Rag;
}

export function caseListCard(data: { title: string; empty: string; cases: CaseListRow[] }): AdaptiveCard {
  return expandCard('case-list', {
    ...data,
    cases: data.cases.map((c) => ({ ...c, ragText: RAG_WORDS[c.rag].text, ragColor: RAG_WORDS[c.rag].color })),
  });
}
