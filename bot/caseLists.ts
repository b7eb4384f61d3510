import { caseState } from '../src/caseState';
import { addDays, dayOfWeek, LocalDate } from '../src/localDate';
import { Obligation, openObligations, ragOf } from '../src/obligations';
import { StaffMember } from '../src/staff';
import { CaseRecord } from '../src/storage/caseLog';
import { OBLIGATION_LABELS } from './cards/labels';
import { caseListCard, CaseListRow } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { mayDecideCaf, obligationsOf } from './caseViews';
import { BotServices } from './services';

/** The lists a person acts from: their caseload (`my cases`) and what is due (`due`). */

/** The cases a person holds (a worker) or oversees (a manager: the team's); Business Support sees the team's. */
export async function casesInView(services: BotServices, viewer: StaffMember): Promise<CaseRecord[]> {
  let summaries;
  if (viewer.role === 'worker') summaries = await services.caseLog.listCases({ leadProfessional: viewer.id }, { actor: viewer.id });
  else if (viewer.role === 'manager' || viewer.role === 'business-support') {
    const team = await services.directory.team(viewer.team);
    summaries = await services.caseLog.listCases({ leadProfessionals: team.map((m) => m.id) }, { actor: viewer.id });
  } else return [];
  const open = summaries.filter((s) => s.status !== 'closed');
  return services.caseLog.readMany(open.map((s) => s.caseId), { actor: viewer.id });
}

function nextLine(o: Obligation | undefined): string {
  return o ? `${OBLIGATION_LABELS[o.kind]} by ${o.latest ?? o.due}` : 'Nothing outstanding';
}

/** A manager's part in a case: the CAF awaiting their authorisation, if any (amber: it is theirs to do). */
async function awaitingYou(services: BotServices, record: CaseRecord, viewer: StaffMember): Promise<CaseListRow | null> {
  if (viewer.role !== 'manager' || !(await mayDecideCaf(services, record, viewer))) return null;
  const since = caseState(record.events).cafAwaitingDecision!.effectiveOn;
  return { caseId: record.caseId, reference: record.reference, next: `CAF awaiting your authorisation since ${since}`, rag: 'amber' };
}

export async function myCasesCard(services: BotServices, viewer: StaffMember): Promise<AdaptiveCard> {
  const today = services.today();
  const yours: CaseListRow[] = [];
  const rows: CaseListRow[] = [];
  for (const record of await casesInView(services, viewer)) {
    const decision = await awaitingYou(services, record, viewer);
    if (decision) {
      yours.push(decision);
      continue;
    }
    const next = openObligations(obligationsOf(services, record.events));
    const worst = next.find((o) => o.status === 'overdue') ?? next[0];
    rows.push({ caseId: record.caseId, reference: record.reference, next: nextLine(worst), rag: worst ? ragOf(worst, today, services.calendar) : 'green' });
  }
  rows.unshift(...yours);
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
  const due: Array<{ row: CaseListRow; deadline: LocalDate }> = [];
  for (const record of await casesInView(services, viewer)) {
    const decision = await awaitingYou(services, record, viewer);
    if (decision) due.push({ deadline: today, row: decision });
    for (const o of openObligations(obligationsOf(services, record.events))) {
      const deadline = o.latest ?? o.due;
      if (o.status === 'overdue' || deadline <= horizon) due.push({ deadline, row: { caseId: record.caseId, reference: record.reference, next: nextLine(o), rag: ragOf(o, today, services.calendar) } });
    }
  }
  const rows = due.sort((a, b) => (a.deadline < b.deadline ? -1 : a.deadline > b.deadline ? 1 : 0)).map((d) => d.row);
  return caseListCard({ title: `Due by ${horizon}`, empty: 'Nothing due this week.', cases: rows });
}

