import { LocalDate } from '../../src/localDate';
import { Obligation } from '../../src/obligations';
import { CafOutcome, DueStatus, GOOD_ASSESSMENT_CHECKLIST, OBLIGATION_LABELS, STATUS_WORDS } from './labels';
import { AdaptiveCard, expandCard } from './template';

/** Each card is a template in cards/ plus a typed function that builds its data. */

export function welcomeCard(): AdaptiveCard {
  return expandCard('welcome', {});
}

/** `suggestion`: the command nearest to what was heard, if one is near ("Did you mean "due"?"). */
export function helpCard(heard = '', suggestion = ''): AdaptiveCard {
  return expandCard('help', { heard: heard.slice(0, 60), suggestion: suggestion.slice(0, 60) });
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
  allocatedOn?: string;
  referredOn?: string;
}

export interface AllocationCardData {
  workers: Array<{ id: string; name: string; points: number; capacity: number }>;
  values?: AllocationValues;
  message?: string;
  /** Today in London: the allocation date's default and latest. */
  today: LocalDate;
  /** Past the chosen worker's capacity: the new total for the manager to confirm. */
  confirm?: { worker: string; total: number; capacity: number };
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
    allocatedOn: v.allocatedOn || data.today,
    referredOn: v.referredOn ?? '',
  };
  const confirm = data.confirm ? { worker: data.confirm.worker, total: String(data.confirm.total), capacity: String(data.confirm.capacity) } : { worker: '', total: '', capacity: '' };
  const card = expandCard('allocation', { workers: data.workers, values, message: data.message ?? '', today: data.today, confirm });
  // An empty number input must have no value at all, not an empty string.
  if (values.caseloadPoints === '') for (const item of card.body as Array<Record<string, unknown>>) if (item.id === 'caseloadPoints') delete item.value;
  return card;
}

export interface CaseCardData {
  caseId: string;
  reference: string;
  version: number;
  family: string;
  /** Each child as the worker reads them: "Tallulah Fernsby, 7". */
  children: string[];
  referralReason: string;
  /** The Manager's Decision: the initial actions. */
  initialActions: string;
  /** The CAF Support Plan a step-down arrived with. */
  existingPlan: string;
  leadProfessional: string;
  allocatedOn: string;
  statusText: string;
  cafText: string;
  /** The manager's latest CAF decision, shown with its comments until the CAF is resubmitted. */
  decision?: { title: string; comments: string };
  /** What needs the worker's attention beyond the deadlines (a child not seen, forms outstanding). */
  alerts: string[];
  obligations: Array<{ kind: Obligation['kind']; due: string; status: DueStatus }>;
  today: LocalDate;
  lastTafDate?: LocalDate;
  canLogWork: boolean;
  canRecordForms: boolean;
  /** Where the case's supervision stands, e.g. "Last Fri 27 Nov: record returned Mon 30 Nov, not yet authorised". */
  supervisionText: string;
  /** A manager of the team: reallocate and supervision on the Manage panel (where whoever may log work finds TAF members). */
  canManage: boolean;
  /** For reallocation: the team's workers with their points, and the points the case carries now. */
  workers?: Array<{ id: string; name: string; points: number; capacity: number }>;
  caseloadPoints?: number;
  /** Supervisions whose record is still to return or authorise: the day (value) and how it reads. */
  supervisionsOutstanding?: Array<{ on: LocalDate; title: string }>;
  /** A reallocation re-shown: what was chosen, and past capacity the total to confirm. */
  reallocation?: { to: string; reason: string };
  confirm?: { worker: string; total: number; capacity: number };
  message?: string;
  notice?: string;
}

export function caseCard(data: CaseCardData): AdaptiveCard {
  return expandCard('case', {
    ...data,
    message: data.message ?? '',
    notice: data.notice ?? '',
    decision: data.decision ?? { title: '', comments: '' },
    workers: data.workers ?? [],
    caseloadPoints: data.caseloadPoints ?? 0,
    supervisionsOutstanding: data.supervisionsOutstanding ?? [],
    reallocation: data.reallocation ?? { to: '', reason: '' },
    confirm: data.confirm ? { worker: data.confirm.worker, total: String(data.confirm.total), capacity: String(data.confirm.capacity) } : { worker: '', total: '', capacity: '' },
    children: data.children.map((line) => ({ line })),
    alerts: data.alerts.map((text) => ({ text })),
    lastTafDate: data.lastTafDate ?? data.today,
    obligations: data.obligations.map((o) => ({ label: OBLIGATION_LABELS[o.kind], due: o.due, ragText: STATUS_WORDS[o.status].text, ragColor: STATUS_WORDS[o.status].color })),
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

export type { CafOutcome } from './labels';

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

/** One row of a list of cases: the reference and the family beside it (on the card only, never in its preview). */
export interface CaseListRow {
  caseId: string;
  reference: string;
  family?: string;
  /** What is next, in the users' words and dates: "Telephone contact by Wed 25 Nov". */
  next: string;
  status: DueStatus;
}

/** The most rows a list shows: the most pressing come first, and a card must stay well under Teams' 28 KB. */
export const MAX_LIST_ROWS = 20;

/** A name as long as a card row can carry: the whole of any real name, and a bound on the card's size. */
const MAX_NAME_ON_ROW = 60;
const onRow = (name: string) => (name.length > MAX_NAME_ON_ROW ? `${name.slice(0, MAX_NAME_ON_ROW - 1)}…` : name);

/** A list of cases; `title` is also the notification preview, so it never names a family. */
export function caseListCard(data: { title: string; empty: string; cases: CaseListRow[] }): AdaptiveCard {
  const shown = data.cases.slice(0, MAX_LIST_ROWS);
  const more = data.cases.length - shown.length;
  return expandCard('case-list', {
    title: data.title,
    empty: data.empty,
    cases: shown.map((c) => ({ caseId: c.caseId, reference: c.reference, family: onRow(c.family ?? ''), next: c.next, statusText: STATUS_WORDS[c.status].text, statusColor: STATUS_WORDS[c.status].color })),
    more,
    moreText: `${more} more not shown: the most pressing come first.`,
  });
}

/** One worker on a manager's team card. */
export interface TeamRow {
  workerId: string;
  name: string;
  openCases: number;
  points: number;
  capacity: number;
  overdue: number;
  cafsAwaiting: number;
  closuresAwaiting: number;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** The most workers a team card shows (a card must stay under Teams' 28 KB); a team is rarely half as large. */
export const MAX_TEAM_ROWS = 25;

/** A manager's team: each worker's caseload against capacity, what is overdue, and what awaits a decision. */
export function teamCard(data: { title: string; empty: string; workers: TeamRow[] }): AdaptiveCard {
  const more = Math.max(0, data.workers.length - MAX_TEAM_ROWS);
  return expandCard('team', {
    title: data.title,
    empty: data.empty,
    more,
    moreText: `${more} more not shown.`,
    workers: data.workers.slice(0, MAX_TEAM_ROWS).map((w) => {
      const awaiting = [w.cafsAwaiting ? plural(w.cafsAwaiting, 'CAF', 'CAFs') : '', w.closuresAwaiting ? plural(w.closuresAwaiting, 'closure', 'closures') : ''].filter(Boolean);
      const word = w.overdue ? STATUS_WORDS.overdue : STATUS_WORDS['on-track'];
      return {
        workerId: w.workerId,
        name: onRow(w.name),
        caseloadText: `${plural(w.openCases, 'open case', 'open cases')} · ${w.points} / ${w.capacity} points${w.points > w.capacity ? ' (over capacity)' : ''}`,
        overdueText: w.overdue ? `${word.cue} ${w.overdue} overdue` : `${word.cue} Nothing overdue`,
        overdueColor: word.color,
        awaitingText: awaiting.length ? `${awaiting.join(', ')} awaiting decision` : 'No decisions awaiting',
      };
    }),
  });
}

/** The card about one TAF meeting: what the person sees, and what they may do from it. */
export interface TafMeetingCardData {
  /** The notification preview: the case reference, never a family's name. */
  summary: string;
  title: string;
  /** "Case EH-2041 · Fernsby": the card itself goes to the person's own chat only. */
  heading: string;
  meetingId: string;
  caseId: string;
  /** The view the card was drawn as, so that a refused action shows it again. */
  view: string;
  lines?: string[];
  /** What breaks a timescale, or needs the person's attention. */
  warnings?: string[];
  message?: string;
  notice?: string;
  joinUrl?: string;
  webLink?: string;
  icsUrl?: string;
  /** The Held and Not held forms. */
  record?: { heldDate: string; today: string; reasons: Array<{ value: string; title: string }>; values?: { attended?: string; notHeldReason?: string; notHeldNote?: string } };
  /** The Move form: its title ("Moved" after the meeting, "Move" before), and the hours a meeting may start in. */
  move?: { title: string; hint: string; date: string; time: string; today: string; timeMin: string; timeMax: string };
  canRetry?: boolean;
}

export function tafMeetingCard(data: TafMeetingCardData): AdaptiveCard {
  const record = data.record;
  const move = data.move;
  return expandCard('taf-meeting', {
    summary: data.summary,
    title: data.title,
    heading: data.heading,
    meetingId: data.meetingId,
    caseId: data.caseId,
    view: data.view,
    lines: (data.lines ?? []).map((text) => ({ text })),
    warnings: (data.warnings ?? []).map((text) => ({ text })),
    message: data.message ?? '',
    notice: data.notice ?? '',
    joinUrl: data.joinUrl ?? '',
    webLink: data.webLink ?? '',
    icsUrl: data.icsUrl ?? '',
    canRecord: !!record,
    heldDate: record?.heldDate ?? '',
    today: record?.today ?? move?.today ?? '',
    reasons: record?.reasons ?? [],
    attended: record?.values?.attended ?? '',
    notHeldReason: record?.values?.notHeldReason ?? '',
    notHeldNote: record?.values?.notHeldNote ?? '',
    canMove: !!move,
    moveTitle: move?.title ?? '',
    moveHint: move?.hint ?? '',
    movedDate: move?.date ?? '',
    movedTime: move?.time ?? '',
    timeMin: move?.timeMin ?? '',
    timeMax: move?.timeMax ?? '',
    canRetry: data.canRetry ?? false,
  });
}

/** One TAF member as the list shows them: "Greenfield Primary" or "Family" beside the e-mail. */
export interface TafMemberRow {
  id: string;
  name: string;
  /** The agency, or "Family" for a family member. */
  agency: string;
  email: string;
}

/** The Add form's fields, by input id. */
export type TafMemberField = 'memberName' | 'memberAgency' | 'memberEmail';

/** The card of a case's TAF members (issue 9): who the next meetings booked will invite. */
export interface TafMembersCardData {
  caseId: string;
  reference: string;
  /** "Case EH-2041 · Fernsby": the card goes to the person's own chat only, never its preview. */
  heading: string;
  members: TafMemberRow[];
  /** The Add form and the Remove buttons: while the case is open. */
  canEdit: boolean;
  /** Why the card is shown again: beside the field it is about, or at the top. */
  message?: string;
  field?: TafMemberField;
  notice?: string;
  /** What was entered on a refused Add, shown again. */
  values?: { name?: string; agency?: string; email?: string; family?: boolean };
  /** A line under the list (the list is full, the case is closed). */
  note?: string;
}

export function tafMembersCard(data: TafMembersCardData): AdaptiveCard {
  const beside = (field: TafMemberField) => (data.field === field ? (data.message ?? '') : '');
  return expandCard('taf-members', {
    // The notification preview: the case reference only, never a family's name.
    summary: `TAF members: case ${data.reference}`,
    caseId: data.caseId,
    reference: data.reference,
    heading: data.heading,
    members: data.members,
    canEdit: data.canEdit,
    message: data.field ? '' : (data.message ?? ''),
    errors: { memberName: beside('memberName'), memberAgency: beside('memberAgency'), memberEmail: beside('memberEmail') },
    notice: data.notice ?? '',
    note: data.note ?? '',
    values: { name: data.values?.name ?? '', agency: data.values?.agency ?? '', email: data.values?.email ?? '', family: String(data.values?.family ?? false) },
  });
}
