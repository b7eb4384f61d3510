import { WorkingDayCalendar } from '../src/calendar';
import { caseState } from '../src/caseState';
import { addDays, dayOfWeek, LocalDate } from '../src/localDate';
import { deadlineOf, Obligation, openObligations } from '../src/obligations';
import { permitsCaseloadOf } from '../src/access';
import { StaffMember } from '../src/staff';
import { cardInput } from './cardInputs';
import { CaseRecord } from '../src/storage/caseLog';
import { DueStatus, formatDay, OBLIGATION_LABELS } from './cards/labels';
import { caseListCard, CaseListRow, noticeCard, teamCard, TeamRow } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { dueStatusOf, mayDecideCaf, obligationsOf } from './caseViews';
import { BotServices } from './services';
import { Turn } from './turn';

/**
 * The lists a person acts from: their caseload (`my cases`), what is due (`due`), the CAFs awaiting
 * a manager's authorisation (`approvals`), a manager's team (`team`) and one worker's caseload from it.
 * Each list reads its cases with one audited statement (`caseLog.readCaseloads`): one user action,
 * one read per case in the audit log, and nothing more.
 */

/** Whose caseloads a person's lists show: a worker their own; a manager and Business Support their team's. */
async function caseloadHolders(services: BotServices, viewer: StaffMember): Promise<string[]> {
  if (viewer.role === 'worker') return [viewer.id];
  if (viewer.role === 'manager' || viewer.role === 'business-support') return (await services.directory.team(viewer.team)).map((m) => m.id);
  return [];
}

/** The open cases a person holds (a worker) or oversees (a manager, Business Support: the team's). */
export async function casesInView(services: BotServices, viewer: StaffMember): Promise<CaseRecord[]> {
  return services.caseLog.readCaseloads(await caseloadHolders(services, viewer), { actor: viewer.id });
}

/** Decisions awaiting the viewer first, then overdue, then due today, then the soonest. */
const STATUS_ORDER: Record<DueStatus, number> = { 'awaiting-you': 0, overdue: 1, 'due-today': 2, 'due-soon': 3, 'on-track': 4 };

interface ListItem {
  row: CaseListRow;
  /** The deadline the row is about; none for a case with nothing outstanding (it sorts last). */
  deadline?: LocalDate;
}

function byUrgency(a: ListItem, b: ListItem): number {
  return (
    STATUS_ORDER[a.row.status] - STATUS_ORDER[b.row.status] ||
    (a.deadline ?? '9999').localeCompare(b.deadline ?? '9999') ||
    a.row.reference.localeCompare(b.row.reference)
  );
}

function familyOf(record: CaseRecord): string {
  return caseState(record.events).family?.name ?? '';
}

function obligationItem(record: CaseRecord, o: Obligation, today: LocalDate, calendar: WorkingDayCalendar): ListItem {
  const deadline = deadlineOf(o);
  return {
    deadline,
    row: { caseId: record.caseId, reference: record.reference, family: familyOf(record), next: `${OBLIGATION_LABELS[o.kind]} by ${formatDay(deadline, today)}`, status: dueStatusOf(o, today, calendar) },
  };
}

/** A manager's part in a case: the CAF awaiting their authorisation, if any. */
async function awaitingYou(services: BotServices, record: CaseRecord, viewer: StaffMember): Promise<ListItem | null> {
  if (viewer.role !== 'manager' || !(await mayDecideCaf(services, record, viewer))) return null;
  const since = caseState(record.events).cafAwaitingDecision!.effectiveOn;
  return {
    deadline: since,
    row: { caseId: record.caseId, reference: record.reference, family: familyOf(record), next: `CAF awaiting your authorisation since ${formatDay(since, services.today())}`, status: 'awaiting-you' },
  };
}

/** One row a case: the decision awaiting the viewer, else its most pressing obligation, else "Nothing outstanding". */
async function caseRows(services: BotServices, viewer: StaffMember, records: readonly CaseRecord[]): Promise<CaseListRow[]> {
  const today = services.today();
  const items: ListItem[] = [];
  for (const record of records) {
    const decision = await awaitingYou(services, record, viewer);
    if (decision) {
      items.push(decision);
      continue;
    }
    const pressing = openObligations(obligationsOf(services, record.events))
      .map((o) => obligationItem(record, o, today, services.calendar))
      .sort(byUrgency)[0];
    items.push(pressing ?? { row: { caseId: record.caseId, reference: record.reference, family: familyOf(record), next: 'Nothing outstanding', status: 'on-track' } });
  }
  return items.sort(byUrgency).map((i) => i.row);
}

export async function myCasesCard(services: BotServices, viewer: StaffMember): Promise<AdaptiveCard> {
  const rows = await caseRows(services, viewer, await casesInView(services, viewer));
  const title = viewer.role === 'worker' ? 'Your cases' : `${viewer.team} team cases`;
  return caseListCard({ title, empty: viewer.role === 'administrator' ? 'Administrators see the directory, not cases.' : 'No open cases.', cases: rows });
}

/** What is overdue, or due from today to the end of the working week. */
export async function dueCard(services: BotServices, viewer: StaffMember): Promise<AdaptiveCard> {
  const today = services.today();
  // This week: up to Friday (next Friday at a weekend), brought back off a bank holiday.
  const friday = addDays(today, (5 - dayOfWeek(today) + 7) % 7);
  const lastWorkingDay = services.calendar.workingDayOnOrBefore(friday);
  const horizon: LocalDate = lastWorkingDay < today ? today : lastWorkingDay;
  const items: ListItem[] = [];
  for (const record of await casesInView(services, viewer)) {
    const decision = await awaitingYou(services, record, viewer);
    if (decision) items.push(decision);
    for (const o of openObligations(obligationsOf(services, record.events))) {
      if (o.status === 'overdue' || deadlineOf(o) <= horizon) items.push(obligationItem(record, o, today, services.calendar));
    }
  }
  return caseListCard({ title: `Due by ${formatDay(horizon, today)}`, empty: 'Nothing due this week.', cases: items.sort(byUrgency).map((i) => i.row) });
}

/** A manager's CAFs awaiting their authorisation (`approvals`): the head of their `my cases`, alone. */
export async function approvalsCard(services: BotServices, viewer: StaffMember): Promise<AdaptiveCard> {
  if (viewer.role !== 'manager') return noticeCard({ title: 'Approvals are for managers. Type "my cases" to see your cases.', summary: 'Approvals' });
  const items: ListItem[] = [];
  for (const record of await casesInView(services, viewer)) {
    const decision = await awaitingYou(services, record, viewer);
    if (decision) items.push(decision);
  }
  return caseListCard({ title: 'CAFs awaiting your authorisation', empty: 'No CAF is awaiting your authorisation.', cases: items.sort(byUrgency).map((i) => i.row) });
}

/**
 * A manager's team (`team`): each worker with their open cases, caseload points against capacity,
 * overdue items, and the CAFs and closures awaiting a decision. Each worker's row opens their list.
 */
export async function teamCardFor(services: BotServices, viewer: StaffMember): Promise<AdaptiveCard> {
  if (viewer.role !== 'manager') return noticeCard({ title: 'The team view is for managers. Type "my cases" to see your cases.', summary: 'Team' });
  const workers = (await services.directory.team(viewer.team)).filter((m) => m.role === 'worker');
  const ids = workers.map((w) => w.id);
  const records = await services.caseLog.readCaseloads(ids, { actor: viewer.id });
  const rows = new Map<string, TeamRow>(
    workers.map((w) => [w.id, { workerId: w.id, name: w.name, openCases: 0, points: 0, capacity: w.capacityPoints, overdue: 0, cafsAwaiting: 0, closuresAwaiting: 0 }]),
  );
  // The cases read are the ones not closed: their points are the caseload, as the read model sums it.
  for (const record of records) {
    const state = caseState(record.events);
    const row = rows.get(state.leadProfessional);
    if (!row) continue;
    row.openCases += 1;
    row.points += state.caseloadPoints;
    row.overdue += obligationsOf(services, record.events).filter((o) => o.status === 'overdue').length;
    if (state.cafAwaitingDecision) row.cafsAwaiting += 1;
    if (state.status === 'closure-requested') row.closuresAwaiting += 1;
  }
  return teamCard({ title: `${viewer.team} team`, empty: 'No workers in your team.', workers: [...rows.values()] });
}

/** One worker's caseload, opened from a manager's team card. */
export async function workerCasesCard(services: BotServices, viewer: StaffMember, workerId: string | null): Promise<AdaptiveCard> {
  const worker = workerId ? await services.directory.get(workerId) : null;
  if (!worker) return noticeCard({ title: 'This card is out of date. Type "team" to see your team.', summary: 'Out of date card' });
  // The same answer whether the worker is in another team or not a worker: nothing of their caseload shows.
  if (!permitsCaseloadOf(viewer, worker)) return noticeCard({ title: "A worker's cases are for the managers of their team.", summary: 'Team' });
  const rows = await caseRows(services, viewer, await services.caseLog.readCaseloads([worker.id], { actor: viewer.id }));
  return caseListCard({ title: `${worker.name}: cases`, empty: `${worker.name} has no open cases.`, cases: rows });
}

/** The card action `workerCases` (data `{ workerId }`), from a row of the team card. */
export async function workerCases(turn: Turn, data: Record<string, unknown>): Promise<AdaptiveCard> {
  let workerId: string | null;
  try {
    workerId = cardInput('workerCases', data).workerId;
  } catch {
    workerId = null;
  }
  return workerCasesCard(turn.services, turn.actor, workerId);
}
