import type { LocalDate } from '../localDate';
import type { ObligationKind } from '../obligations';
import { statusOn } from './digest';
import type { LongOpenCase, PlannedItem, PlannedItemKind, PlannedNotification, WorkerSummary } from './types';

/**
 * What a planned reminder carries in the outbox: the whole plan, written compactly. A morning's
 * digests come to thousands of rows and a team digest to hundreds of items, and the server parses
 * every byte of a payload: each item is a row of values rather than an object of named fields,
 * each case and staff id is written once and named by its place, what can be worked out again
 * (an item's status on the day, its id from its kind and day) is not written, and a team digest's
 * items are not written twice (its workers' overdue items are its own items, by worker). Case
 * references and ids, staff ids, obligations and dates only: never a family's or child's name.
 *
 * `reminderPayload` and `plannedFromPayload` are each other's inverse (test/reminders/reminderPayload.test.ts);
 * a payload queued before this form (the plan as it was) is read as it stands.
 */

/** What a reminder message is in the outbox. */
export const REMINDER_KIND = 'reminder';

const FORM = 2;

/**
 * An item: its case's place in `cases`, the obligation, its id (for an obligation of the kind's own
 * form `kind:from`, the from day alone), the due day, what it is (0 an obligation, 1 a CAF
 * awaiting, 2 an open escalation), the worker's place in `staff`, and the latest day if any. Its
 * status is not written: it is the status on the reminder's day (a CAF awaiting is due today).
 */
type ItemRow = [number, ObligationKind, string, LocalDate, number, number, LocalDate?];
/** The worker's place in `staff`, open cases, caseload points, capacity points, overdue. */
type WorkerRow = [number, number, number, number, number];
/** The case's place in `cases`, the worker's place in `staff`, allocated on, maximum reached on. */
type LongOpenRow = [number, number, LocalDate, LocalDate];

const KINDS: readonly PlannedItemKind[] = ['item', 'caf-awaiting', 'open-escalation'];
const DAY = /^\d{4}-\d{2}-\d{2}$/;

export interface ReminderPayload {
  form: typeof FORM;
  recipient: string;
  type: PlannedNotification['type'];
  day: LocalDate;
  dedupeKey: string;
  /** Every case the items and lists name, each once: its id and reference. */
  cases: Array<[string, string]>;
  /** Every staff id the items, workers and lists name, each once. */
  staff: string[];
  items: ItemRow[];
  onBehalfOf?: string[];
  unreachable?: string[];
  team?: { name: string; workers: WorkerRow[]; longOpen: LongOpenRow[] };
}

/** A list of distinct values, each named by its place. */
function places<T>(key: (v: T) => string) {
  const list: T[] = [];
  const at = new Map<string, number>();
  return {
    list,
    place(v: T): number {
      const k = key(v);
      let i = at.get(k);
      if (i === undefined) at.set(k, (i = list.push(v) - 1));
      return i;
    },
  };
}

/** The plan as the outbox keeps it. */
export function reminderPayload(n: PlannedNotification): ReminderPayload {
  const staff = places<string>((id) => id);
  const cases = places<[string, string]>(([id]) => id);
  const items = n.items.map((i): ItemRow => {
    const from = i.obligationId.slice(i.obligation.length + 1);
    const ownForm = i.kind !== 'caf-awaiting' && i.obligationId.startsWith(`${i.obligation}:`) && DAY.test(from);
    const row: ItemRow = [cases.place([i.caseId, i.case]), i.obligation, ownForm ? from : i.obligationId, i.due, KINDS.indexOf(i.kind), staff.place(i.worker)];
    if (i.latest !== undefined) row.push(i.latest);
    return row;
  });
  const out: ReminderPayload = { form: FORM, recipient: n.recipient, type: n.type, day: n.day, dedupeKey: n.dedupeKey, cases: cases.list, staff: staff.list, items };
  if (n.onBehalfOf) out.onBehalfOf = n.onBehalfOf;
  if (n.unreachable) out.unreachable = n.unreachable;
  if (n.teamSummary) {
    const s = n.teamSummary;
    out.team = {
      name: s.team,
      workers: s.workers.map((w): WorkerRow => [staff.place(w.worker), w.openCases, w.caseloadPoints, w.capacityPoints, w.overdue]),
      longOpen: s.longOpenCases.map((c): LongOpenRow => [cases.place([c.caseId, c.case]), staff.place(c.worker), c.allocatedOn, c.maximumReachedOn]),
    };
  }
  return out;
}

/** The plan a queued reminder carries, whichever form it was queued in. */
export function plannedFromPayload(payload: Record<string, unknown>): PlannedNotification {
  if (payload.form !== FORM) return payload as unknown as PlannedNotification;
  const p = payload as unknown as ReminderPayload;
  const items = p.items.map(([place, obligation, id, due, kindCode, worker, latest]): PlannedItem => {
    const [caseId, reference] = p.cases[place];
    const kind = KINDS[kindCode];
    const item: PlannedItem = { caseId, case: reference, obligation, obligationId: kind !== 'caf-awaiting' && DAY.test(id) ? `${obligation}:${id}` : id, due, status: 'due-today', worker: p.staff[worker], kind };
    if (latest !== undefined && latest !== null) item.latest = latest;
    if (kind !== 'caf-awaiting') item.status = statusOn(item, p.day);
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
    const longOpenCases = p.team.longOpen.map(([place, worker, allocatedOn, maximumReachedOn]): LongOpenCase => ({ caseId: p.cases[place][0], case: p.cases[place][1], worker: p.staff[worker], allocatedOn, maximumReachedOn }));
    out.teamSummary = { team: p.team.name, workers, longOpenCases };
  }
  return out;
}

/** A notification as the outbox holds it: the plan, compactly (src/reminders/reminderPayload.ts), with case references and ids, never a family's name. */
export function reminderMessage(n: PlannedNotification) {
  return { kind: REMINDER_KIND, recipient: { staffId: n.recipient }, ...(n.type === 'escalation' ? { caseId: n.items[0].caseId } : {}), payload: reminderPayload(n) as unknown as Record<string, unknown>, dedupeKey: n.dedupeKey };
}
