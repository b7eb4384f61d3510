import type { LocalDate } from '../localDate';
import { Obligation } from '../obligations';
import { statusOn } from './digest';
import type { CaseSnapshot, PlannedItem, PlannedItemKind } from './types';

/** An obligation of a case as a notification lists it, with its status on the day. */
export function plannedItem(c: CaseSnapshot, o: Obligation, day: LocalDate, kind: PlannedItemKind = 'item'): PlannedItem {
  const item: PlannedItem = {
    caseId: c.caseId,
    case: c.reference,
    obligation: o.kind,
    obligationId: o.id,
    due: o.due,
    status: statusOn(o, day),
    worker: c.state.leadProfessional,
    kind,
  };
  if (o.latest !== undefined) item.latest = o.latest;
  return item;
}

/** The CAF awaiting a manager's decision on a case, if any, as a manager's digest leads with it. */
export function cafAwaitingItem(c: CaseSnapshot): PlannedItem | null {
  const submission = c.state.cafAwaitingDecision;
  if (!submission) return null;
  return {
    caseId: c.caseId,
    case: c.reference,
    obligation: 'caf-assessment',
    obligationId: submission.id,
    due: submission.effectiveOn,
    status: 'due-today',
    worker: c.state.leadProfessional,
    kind: 'caf-awaiting',
  };
}

const KIND_ORDER: Record<PlannedItemKind, number> = { 'caf-awaiting': 0, 'open-escalation': 1, item: 2 };

/** A manager's digest leads with CAFs awaiting and open escalations; then soonest first. */
export function byDigestOrder(a: PlannedItem, b: PlannedItem): number {
  if (a.kind !== b.kind) return KIND_ORDER[a.kind] - KIND_ORDER[b.kind];
  const x = a.latest ?? a.due;
  const y = b.latest ?? b.due;
  if (x !== y) return x < y ? -1 : 1;
  if (a.case !== b.case) return a.case < b.case ? -1 : 1;
  return a.obligationId < b.obligationId ? -1 : a.obligationId > b.obligationId ? 1 : 0;
}
