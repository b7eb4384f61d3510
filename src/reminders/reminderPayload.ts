import type { LocalDate } from '../localDate';
import type { ObligationKind } from '../obligations';
import type { DueStatus } from './digest';
import type { LongOpenCase, PlannedItem, PlannedItemKind, PlannedNotification, WorkerSummary } from './types';

/**
 * What a planned reminder carries in the outbox: the whole plan, written compactly. A morning's
 * digests come to thousands of rows and a team digest to hundreds of items, and the server parses
 * every byte of a payload: each item is a row of values rather than an object of named fields,
 * each staff id is written once and named by its place, and a team digest's items are not written
 * twice (its workers' overdue items are its own items, by worker). Case references and ids, staff
 * ids, obligations and dates only: never a family's or child's name.
 *
 * `reminderPayload` and `plannedFromPayload` are each other's inverse (test/reminders/reminderPayload.test.ts);
 * a payload queued before this form (the plan as it was) is read as it stands.
 */

const FORM = 2;

/** caseId, reference, obligation, obligation id, due, status, kind, the worker's place in `staff`, and the latest date if any. */
type ItemRow = [string, string, ObligationKind, string, LocalDate, DueStatus, PlannedItemKind, number, LocalDate?];
/** The worker's place in `staff`, open cases, caseload points, capacity points, overdue. */
type WorkerRow = [number, number, number, number, number];
/** caseId, reference, the worker's place in `staff`, allocated on, maximum reached on. */
type LongOpenRow = [string, string, number, LocalDate, LocalDate];

export interface ReminderPayload {
  form: typeof FORM;
  recipient: string;
  type: PlannedNotification['type'];
  day: LocalDate;
  dedupeKey: string;
  /** Every staff id the items, workers and lists name, each once. */
  staff: string[];
  items: ItemRow[];
  onBehalfOf?: string[];
  unreachable?: string[];
  team?: { name: string; workers: WorkerRow[]; longOpen: LongOpenRow[] };
}

/** The plan as the outbox keeps it. */
export function reminderPayload(n: PlannedNotification): ReminderPayload {
  const staff: string[] = [];
  const places = new Map<string, number>();
  const place = (id: string) => {
    let at = places.get(id);
    if (at === undefined) places.set(id, (at = staff.push(id) - 1));
    return at;
  };
  const items = n.items.map((i): ItemRow => {
    const row: ItemRow = [i.caseId, i.case, i.obligation, i.obligationId, i.due, i.status, i.kind, place(i.worker)];
    if (i.latest !== undefined) row.push(i.latest);
    return row;
  });
  const out: ReminderPayload = { form: FORM, recipient: n.recipient, type: n.type, day: n.day, dedupeKey: n.dedupeKey, staff, items };
  if (n.onBehalfOf) out.onBehalfOf = n.onBehalfOf;
  if (n.unreachable) out.unreachable = n.unreachable;
  if (n.teamSummary) {
    const s = n.teamSummary;
    out.team = {
      name: s.team,
      workers: s.workers.map((w): WorkerRow => [place(w.worker), w.openCases, w.caseloadPoints, w.capacityPoints, w.overdue]),
      longOpen: s.longOpenCases.map((c): LongOpenRow => [c.caseId, c.case, place(c.worker), c.allocatedOn, c.maximumReachedOn]),
    };
  }
  return out;
}

/** The plan a queued reminder carries, whichever form it was queued in. */
export function plannedFromPayload(payload: Record<string, unknown>): PlannedNotification {
  if (payload.form !== FORM) return payload as unknown as PlannedNotification;
  const p = payload as unknown as ReminderPayload;
  const items = p.items.map(([caseId, reference, obligation, obligationId, due, status, kind, worker, latest]): PlannedItem => {
    const item: PlannedItem = { caseId, case: reference, obligation, obligationId, due, status, worker: p.staff[worker], kind };
    if (latest !== undefined && latest !== null) item.latest = latest;
    return item;
  });
  const out: PlannedNotification = { recipient: p.recipient, type: p.type, day: p.day, dedupeKey: p.dedupeKey, items };
  if (p.onBehalfOf) out.onBehalfOf = p.onBehalfOf;
  if (p.unreachable) out.unreachable = p.unreachable;
  if (p.team) {
    // A team digest's items are its workers' overdue items, in its order: each worker's, in that order.
    const byWorker = new Map<string, PlannedItem[]>();
    for (const i of items) {
      const list = byWorker.get(i.worker);
      if (list) list.push(i);
      else byWorker.set(i.worker, [i]);
    }
    const workers = p.team.workers.map(([worker, openCases, caseloadPoints, capacityPoints, overdue]): WorkerSummary => {
      const id = p.staff[worker];
      return { worker: id, openCases, caseloadPoints, capacityPoints, overdue, items: byWorker.get(id) ?? [] };
    });
    const longOpenCases = p.team.longOpen.map(([caseId, reference, worker, allocatedOn, maximumReachedOn]): LongOpenCase => ({ caseId, case: reference, worker: p.staff[worker], allocatedOn, maximumReachedOn }));
    out.teamSummary = { team: p.team.name, workers, longOpenCases };
  }
  return out;
}
