import { AccessDeniedError, permits } from '../src/access';
import { WorkingDayCalendar } from '../src/calendar';
import { CaseEvent } from '../src/caseEvents';
import { CafDecisionType, caseState, CaseState } from '../src/caseState';
import { caseFor } from '../src/caseWork';
import { ageOn, LocalDate } from '../src/localDate';
import { deadlineOf, Obligation, obligations, openObligations, ragOf } from '../src/obligations';
import { CAF_OUTCOMES, DueStatus, formatDay, formatInstant } from './cards/labels';
import { lineOrDutyManager } from '../src/cover';
import { StaffMember } from '../src/staff';
import { CaseNotFoundError, CaseRecord } from '../src/storage/caseLog';
import { AllocationCardData, AllocationValues, allocationCard, cafAuthorisationCard, cafDecidedCard, caseCard } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { BotServices } from './services';

/** Builds each card's data from the case log: the bridge between the core and the templates. */

const STATUS_TEXT = { open: 'Open', 'closure-requested': 'Closure requested', closed: 'Closed' } as const;
const NEXT_ON_CARD = 6;

function cafText(state: CaseState, owed: Obligation[], today: LocalDate): string {
  if (!state.cafRequired) return 'Not required (Manager\u2019s Decision)';
  if (state.cafAwaitingDecision) return `Required: awaiting authorisation since ${formatDay(state.cafAwaitingDecision.effectiveOn, today)}`;
  const last = state.lastCafDecision;
  if (last?.type === 'caf-authorised') return 'Required: authorised';
  if (last?.type === 'caf-returned') return 'Required: returned for changes';
  const caf = owed.filter((o) => o.kind === 'caf-assessment').at(-1);
  return caf ? `Required: due ${formatDay(caf.due, today)}` : 'Required: not started';
}

/** Where an obligation stands, in the words of a list: overdue, due today, due soon (within 2 WD) or on track. */
export function dueStatusOf(o: Obligation, today: LocalDate, calendar: WorkingDayCalendar): DueStatus {
  if (o.status === 'overdue') return 'overdue';
  if (o.status === 'due-today' || deadlineOf(o) === today) return 'due-today';
  return ragOf(o, today, calendar) === 'amber' ? 'due-soon' : 'on-track';
}

export function obligationsOf(services: BotServices, events: readonly CaseEvent[]): Obligation[] {
  return obligations(events, services.policy, services.calendar, services.today());
}

const METHOD_WORDS: Record<string, string> = { phone: 'phone', text: 'text', letter: 'letter', doorstep: 'doorstep' };
const DECISION_WORDS: Record<CafDecisionType, string> = { 'caf-authorised': 'CAF approved', 'caf-returned': 'CAF returned', 'caf-reassessment-directed': 'Re-assessment directed' };

/** What needs the worker's attention beyond the deadlines: a child not seen, forms not back, contact not made. */
function alertsOf(state: CaseState, today: LocalDate): string[] {
  const alerts: string[] = [];
  if (state.lastVisit && !state.lastVisit.childSeen) alerts.push(`The child was not seen at the visit on ${formatDay(state.lastVisit.on, today)}: the next visit should see the child.`);
  const forms = [state.formsOutstanding.consentForm ? 'consent form' : '', state.formsOutstanding.medicalForm ? 'medical information form' : ''].filter(Boolean);
  if (forms.length) alerts.push(`Outstanding: ${forms.join(' and ')} (Business Support marks them received).`);
  const tries = state.attemptsSinceContact;
  if (tries.length) alerts.push(`${tries.length} contact ${tries.length === 1 ? 'attempt' : 'attempts'} not reached (${tries.map((t) => `${METHOD_WORDS[t.method] ?? t.method} ${formatDay(t.on, today)}`).join(', ')}).`);
  return alerts;
}

/** The manager's latest decision on the CAF, with their words, until the CAF goes back to them. */
async function decisionOf(services: BotServices, state: CaseState, today: LocalDate): Promise<{ title: string; comments: string } | undefined> {
  const last = state.lastCafDecision;
  if (!last || state.cafAwaitingDecision || last.type === 'caf-authorised') return undefined;
  const by = await services.directory.get(last.by);
  return { title: `${DECISION_WORDS[last.type]} by ${by?.name ?? 'a manager'} on ${formatDay(last.on, today)}`, comments: last.comments ?? '' };
}

/**
 * The case card: what the worker needs to act (the children, the reason for referral, the
 * Manager's Decision, the step-down plan, the latest CAF decision) and what is due next. It goes
 * to personal chats only; its preview carries the reference only.
 */
/** Where the case's supervision stands, in the worker's words. */
function supervisionTextOf(state: CaseState, today: LocalDate): string {
  const last = state.supervisions.at(-1);
  if (!last) return 'None recorded yet';
  const record = last.authorisedOn
    ? `record returned ${formatDay(last.returnedOn!, today)}, authorised ${formatDay(last.authorisedOn, today)}`
    : last.returnedOn
      ? `record returned ${formatDay(last.returnedOn, today)}, not yet authorised`
      : 'record not yet returned';
  return `Last ${formatDay(last.on, today)}: ${record}`;
}

/** Supervisions of the case whose record is still to return or authorise, as the Manage panel offers them. */
function supervisionsOutstandingOf(state: CaseState, today: LocalDate): Array<{ on: LocalDate; title: string }> {
  return state.supervisions
    .filter((s) => !s.authorisedOn)
    .map((s) => ({ on: s.on, title: `${formatDay(s.on, today)}: ${s.returnedOn ? 'record to authorise' : 'record to return'}` }));
}

export interface CaseCardExtra {
  message?: string;
  notice?: string;
  viewer?: StaffMember;
  /** A reallocation re-shown: what the manager chose, and past capacity the total to confirm. */
  reallocation?: { to: string; reason: string };
  confirm?: { worker: string; total: number; capacity: number };
}

export async function caseCardFor(services: BotServices, record: CaseRecord, extra: CaseCardExtra = {}): Promise<AdaptiveCard> {
  const state = caseState(record.events);
  const owed = obligationsOf(services, record.events);
  const today = services.today();
  const lead = await services.directory.get(state.leadProfessional);
  const tafs = record.events.filter((e) => e.type === 'taf-held');
  const facts = { leadProfessional: state.leadProfessional, manager: state.manager, team: lead?.team ?? '' };
  const viewer = extra.viewer;
  // A manager of the team reallocates and records supervision; never on a case they hold themselves.
  const canManage = state.status !== 'closed' && !!viewer && permits(viewer, 'reallocate', facts) && permits(viewer, 'supervise', facts);
  return caseCard({
    caseId: record.caseId,
    reference: record.reference,
    version: record.version,
    family: state.family?.name ?? 'not recorded',
    children: (state.family?.children ?? []).map((c) => (c.dateOfBirth ? `${c.name}, ${ageOn(c.dateOfBirth, today)}` : c.name)),
    referralReason: state.referralReason ?? '',
    initialActions: state.initialActions || 'None recorded.',
    existingPlan: state.existingPlan ?? '',
    leadProfessional: lead?.name ?? 'unknown',
    allocatedOn: formatDay(state.allocatedOn, today),
    statusText: STATUS_TEXT[state.status],
    cafText: cafText(state, owed, today),
    decision: await decisionOf(services, state, today),
    alerts: alertsOf(state, today),
    obligations: openObligations(owed)
      .slice(0, NEXT_ON_CARD)
      .map((o) => ({ kind: o.kind, due: formatDay(deadlineOf(o), today), status: dueStatusOf(o, today, services.calendar) })),
    today,
    lastTafDate: tafs.at(-1)?.effectiveOn,
    // Without a viewer (a card sent to the lead professional) the card is the worker's own.
    canLogWork: state.status !== 'closed' && (viewer ? permits(viewer, 'log-work', facts) : true),
    canRecordForms: state.status !== 'closed' && (state.formsOutstanding.consentForm || state.formsOutstanding.medicalForm) && (viewer ? permits(viewer, 'record-forms', facts) : true),
    supervisionText: supervisionTextOf(state, today),
    ...(canManage && viewer
      ? {
          canManage,
          workers: (await workersWithPoints(services, viewer)).filter((w) => w.id !== state.leadProfessional),
          caseloadPoints: state.caseloadPoints,
          supervisionsOutstanding: supervisionsOutstandingOf(state, today),
          reallocation: extra.reallocation,
          confirm: extra.confirm,
        }
      : { canManage: false }),
    message: extra.message,
    notice: extra.notice,
  });
}

/** The team's workers with the points they carry, for a choice of worker (allocation, reallocation). */
export async function workersWithPoints(services: BotServices, manager: StaffMember): Promise<Array<{ id: string; name: string; points: number; capacity: number }>> {
  const team = (await services.directory.team(manager.team)).filter((m) => m.role === 'worker');
  const points = await services.caseLog.caseloadPoints(team.map((m) => m.id));
  return team.map((m) => ({ id: m.id, name: m.name, points: points.get(m.id) ?? 0, capacity: m.capacityPoints }));
}

/** The allocation form; with `confirm`, re-shown asking the manager to confirm a worker past capacity. */
export async function allocationFormFor(services: BotServices, manager: StaffMember, values?: AllocationValues, message?: string, confirm?: AllocationCardData['confirm']): Promise<AdaptiveCard> {
  return allocationCard({ workers: await workersWithPoints(services, manager), values, message, today: services.today(), confirm });
}

/**
 * Who decides on a worker's CAF: the one rule of who covers for whom (src/cover.ts: the line
 * manager while at work, otherwise the team's duty manager; DOMAIN.md: "line or duty manager"),
 * with its submitter left out, so a CAF never goes back to the manager who submitted it.
 */
export async function cafDecider(services: BotServices, worker: StaffMember, submitter?: string): Promise<StaffMember | null> {
  const team = await services.directory.team(worker.team);
  // The line manager may sit in another team; lineOrDutyManager looks for them among those given.
  const line = worker.lineManager && !team.some((m) => m.id === worker.lineManager) ? await services.directory.get(worker.lineManager) : null;
  const candidates = [...team, ...(line ? [line] : [])].filter((m) => m.id !== submitter);
  return lineOrDutyManager(worker, candidates, services.today());
}

/** Everyone who may decide on the CAF: the decider first, then the team's other managers (60 at most); never its submitter. */
export async function cafDeciders(services: BotServices, worker: StaffMember, submitter?: string): Promise<StaffMember[]> {
  const first = await cafDecider(services, worker, submitter);
  const team = await services.directory.team(worker.team);
  const others = team.filter((m) => m.role === 'manager' && m.id !== worker.id && m.id !== submitter && m.id !== first?.id);
  return [...(first ? [first] : []), ...others];
}

/** Whether this person may decide the CAF awaiting authorisation on the case (never its submitter). */
export async function mayDecideCaf(services: BotServices, record: CaseRecord, viewer: StaffMember): Promise<boolean> {
  const pending = caseState(record.events).cafAwaitingDecision;
  if (!pending || pending.by === viewer.id) return false;
  const worker = await services.directory.get(caseState(record.events).leadProfessional);
  return worker ? (await cafDeciders(services, worker, pending.by)).some((d) => d.id === viewer.id) : false;
}

export async function cafAuthorisationCardFor(
  services: BotServices,
  record: CaseRecord,
  viewer: StaffMember | null,
  options: { inGroup: boolean; message?: string; comments?: string },
): Promise<AdaptiveCard | null> {
  const state = caseState(record.events);
  const pending = state.cafAwaitingDecision;
  if (!pending) return null;
  const worker = await services.directory.get(state.leadProfessional);
  const deciders = worker ? await cafDeciders(services, worker, pending.by) : [];
  const caf = obligationsOf(services, record.events).filter((o) => o.kind === 'caf-assessment').at(-1);
  const canDecide = viewer ? await mayDecideCaf(services, record, viewer) : false;
  return cafAuthorisationCard({
    caseId: record.caseId,
    reference: record.reference,
    submissionId: pending.id,
    worker: worker?.name ?? 'unknown',
    submittedOn: pending.effectiveOn,
    cafDue: caf?.due ?? pending.effectiveOn,
    canDecide,
    decider: deciders[0]?.name ?? 'a manager',
    refreshUserIds: options.inGroup ? deciders.map((d) => d.id) : undefined,
    message: options.message,
    comments: options.comments,
  });
}

/**
 * The card a queued `case-view` message shows its recipient, drawn at delivery from the case as it
 * then stands and read as them (audited, through the one access decision); null when it is no
 * longer theirs to see or no longer owed (the CAF was decided meanwhile).
 */
export async function renderCaseView(services: BotServices, message: { caseId?: string | null; recipient?: { staffId: string } | { conversationId: string } | null; payload: Record<string, unknown> }): Promise<{ card: AdaptiveCard; subjectId?: string } | null> {
  const staffId = message.recipient && 'staffId' in message.recipient ? message.recipient.staffId : null;
  const viewer = staffId ? await services.directory.get(staffId) : null;
  if (!viewer?.active || !message.caseId) return null;
  const payload = message.payload as { view?: string; notice?: string; subjectId?: string };
  let record: CaseRecord;
  try {
    record = (await caseFor(services, viewer, message.caseId, 'read')).record;
  } catch (e) {
    if (e instanceof AccessDeniedError || e instanceof CaseNotFoundError) return null;
    throw e;
  }
  if (payload.view === 'caf-authorisation') {
    const awaiting = caseState(record.events).cafAwaitingDecision;
    if (!awaiting || (payload.subjectId && awaiting.id !== payload.subjectId)) return null;
    const card = await cafAuthorisationCardFor(services, record, viewer, { inGroup: false });
    return card ? { card, subjectId: awaiting.id } : null;
  }
  return { card: await caseCardFor(services, record, { notice: typeof payload.notice === 'string' ? payload.notice : undefined, viewer }) };
}

/**
 * The card of the last decision on the case's CAF: who decided, when, and for whom. `comments` only
 * where the viewer alone sees it (never on a copy in a group); `message` says why it is shown again.
 */
export async function cafDecidedCardFor(services: BotServices, record: CaseRecord, options: { comments?: string; message?: (by: string, at: string) => string } = {}): Promise<AdaptiveCard | null> {
  const state = caseState(record.events);
  const last = state.lastCafDecision;
  if (!last) return null;
  const by = (await services.directory.get(last.by))?.name ?? 'a manager';
  const at = formatInstant(last.recordedAt);
  const worker = (await services.directory.get(state.leadProfessional))?.name ?? 'unknown';
  return cafDecidedCard({ reference: record.reference, outcome: CAF_OUTCOMES[last.type], decidedBy: by, decidedAt: at, worker, comments: options.comments, message: options.message?.(by, at) });
}
