import type { LocalDate } from '../localDate';
import { deadlineOf } from '../obligations';
import type { StaffMember } from '../staff';
import { isPresent } from '../cover';
import { isOpen, statusOn } from './digest';
import { byDigestOrder, plannedItem } from './items';
import type { People } from './people';
import type { CaseSnapshot, LongOpenCase, PlannedNotification, TeamSummary, WorkerSummary } from './types';

/**
 * The weekly team digest (issue 8): to each manager at work, their team's overdue items by
 * worker, caseload points against capacity, and the cases open longer than the policy's maximum.
 */

interface TeamBook {
  workers: Map<string, WorkerSummary>;
  longOpenCases: LongOpenCase[];
}

function workerSummary(worker: StaffMember | undefined, id: string): WorkerSummary {
  return { worker: id, openCases: 0, caseloadPoints: 0, capacityPoints: worker?.capacityPoints ?? 0, overdue: 0, items: [] };
}

/** The team a case counts in: its lead professional's, or its manager's when the lead professional is not in the directory. */
function teamOfCase(c: Pick<Caseload, 'leadProfessional' | 'manager'>, people: People): string | undefined {
  return people.get(c.leadProfessional)?.team ?? people.get(c.manager)?.team;
}

/**
 * Open cases and their caseload points, by lead professional and manager: what the team digest's
 * caseload lines count. A sweep has them from the case summary (`CaseLog.openCaseloads`) and
 * reads only the cases with something overdue; given every open case, they are counted from them.
 */
export interface Caseload {
  leadProfessional: string;
  manager: string;
  openCases: number;
  caseloadPoints: number;
}

/** The caseloads of these cases, the closed left out. */
export function caseloadsOf(cases: readonly CaseSnapshot[]): Caseload[] {
  const out = new Map<string, Caseload>();
  for (const c of cases) {
    if (c.state.status === 'closed') continue;
    const { leadProfessional, manager, caseloadPoints } = c.state;
    const key = `${leadProfessional} ${manager}`;
    const line = out.get(key) ?? { leadProfessional, manager, openCases: 0, caseloadPoints: 0 };
    line.openCases += 1;
    line.caseloadPoints += caseloadPoints;
    out.set(key, line);
  }
  return [...out.values()];
}

function summaryOf(book: TeamBook, id: string, people: People): WorkerSummary {
  const summary = book.workers.get(id) ?? workerSummary(people.get(id), id);
  book.workers.set(id, summary);
  return summary;
}

function addCaseload(book: TeamBook, line: Caseload, people: People): void {
  const summary = summaryOf(book, line.leadProfessional, people);
  summary.openCases += line.openCases;
  summary.caseloadPoints += line.caseloadPoints;
}

function addOverdue(book: TeamBook, c: CaseSnapshot, today: LocalDate, people: People): void {
  const id = c.state.leadProfessional;
  const summary = summaryOf(book, id, people);
  for (const o of c.obligations) {
    if (!isOpen(o) || statusOn(o, today) !== 'overdue') continue;
    if (o.kind === 'case-duration') {
      book.longOpenCases.push({ caseId: c.caseId, case: c.reference, worker: id, allocatedOn: c.state.allocatedOn, maximumReachedOn: deadlineOf(o) });
    }
    summary.items.push(plannedItem(c, o, today));
    summary.overdue += 1;
  }
}

function teamBooks(cases: readonly CaseSnapshot[], caseloads: readonly Caseload[], today: LocalDate, people: People): Map<string, TeamBook> {
  const books = new Map<string, TeamBook>();
  const bookOf = (team: string) => {
    let book = books.get(team);
    if (!book) books.set(team, (book = { workers: new Map(), longOpenCases: [] }));
    return book;
  };
  for (const line of caseloads) {
    const team = teamOfCase(line, people);
    if (team !== undefined) addCaseload(bookOf(team), line, people);
  }
  for (const c of cases) {
    if (c.state.status === 'closed') continue;
    const team = teamOfCase(c.state, people);
    if (team !== undefined) addOverdue(bookOf(team), c, today, people);
  }
  return books;
}

function summaryFor(manager: StaffMember, book: TeamBook | undefined, people: People): TeamSummary {
  const workers = new Map(book?.workers);
  // Workers with no open case still show, with their spare capacity.
  for (const m of people.team(manager.team)) {
    if (m.role === 'worker' && m.active && !workers.has(m.id)) workers.set(m.id, workerSummary(m, m.id));
  }
  workers.delete(manager.id);
  const name = (id: string) => people.get(id)?.name ?? id;
  const list = [...workers.values()].map((w) => ({ ...w, items: [...w.items].sort(byDigestOrder) }));
  list.sort((a, b) => (name(a.worker) < name(b.worker) ? -1 : name(a.worker) > name(b.worker) ? 1 : a.worker < b.worker ? -1 : 1));
  const longOpenCases = [...(book?.longOpenCases ?? [])].sort((a, b) => (a.maximumReachedOn < b.maximumReachedOn ? -1 : a.maximumReachedOn > b.maximumReachedOn ? 1 : a.case < b.case ? -1 : 1));
  return { team: manager.team, workers: list, longOpenCases };
}

/**
 * One team digest for each manager at work on `today`: `cases` must hold every open case with an
 * item overdue (every case the day's digests list will do), and `caseloads` every open case's
 * caseload (by default counted from `cases`, which must then be all the open cases).
 */
export function planTeamDigests(cases: readonly CaseSnapshot[], staff: readonly StaffMember[], today: LocalDate, people: People, caseloads: readonly Caseload[] = caseloadsOf(cases)): PlannedNotification[] {
  const books = teamBooks(cases, caseloads, today, people);
  const managers = staff.filter((m) => m.role === 'manager' && isPresent(m, today)).sort((a, b) => (a.id < b.id ? -1 : 1));
  const out: PlannedNotification[] = [];
  for (const manager of managers) {
    const summary = summaryFor(manager, books.get(manager.team), people);
    if (summary.workers.length === 0 && summary.longOpenCases.length === 0) continue;
    const items = summary.workers.flatMap((w) => w.items).sort(byDigestOrder);
    out.push({ recipient: manager.id, type: 'team-digest', day: today, dedupeKey: `team-digest:${manager.id}:${today}`, items, teamSummary: summary });
  }
  return out;
}
