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
function teamOfCase(c: CaseSnapshot, people: People): string | undefined {
  return people.get(c.state.leadProfessional)?.team ?? people.get(c.state.manager)?.team;
}

function addCase(book: TeamBook, c: CaseSnapshot, today: LocalDate, people: People): void {
  const id = c.state.leadProfessional;
  const summary = book.workers.get(id) ?? workerSummary(people.get(id), id);
  book.workers.set(id, summary);
  summary.openCases += 1;
  summary.caseloadPoints += c.state.caseloadPoints;
  for (const o of c.obligations) {
    if (!isOpen(o) || statusOn(o, today) !== 'overdue') continue;
    if (o.kind === 'case-duration') {
      book.longOpenCases.push({ caseId: c.caseId, case: c.reference, worker: id, allocatedOn: c.state.allocatedOn, maximumReachedOn: deadlineOf(o) });
    }
    summary.items.push(plannedItem(c, o, today));
    summary.overdue += 1;
  }
}

function teamBooks(cases: readonly CaseSnapshot[], today: LocalDate, people: People): Map<string, TeamBook> {
  const books = new Map<string, TeamBook>();
  for (const c of cases) {
    if (c.state.status === 'closed') continue;
    const team = teamOfCase(c, people);
    if (team === undefined) continue;
    let book = books.get(team);
    if (!book) books.set(team, (book = { workers: new Map(), longOpenCases: [] }));
    addCase(book, c, today, people);
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

/** One team digest for each manager at work on `today`; `cases` must be all the open cases. */
export function planTeamDigests(cases: readonly CaseSnapshot[], staff: readonly StaffMember[], today: LocalDate, people: People): PlannedNotification[] {
  const books = teamBooks(cases, today, people);
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
