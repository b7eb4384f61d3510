import { ValidNewEvent } from '../caseEvents';

/** The columns of the `cases` read model that an event changes: a pure function, so it is testable with literals. */
export interface CaseSummaryChange {
  lead_professional?: string;
  manager?: string;
  caseload_points?: number;
  status?: 'open' | 'closure-requested' | 'closed';
  allocated_on?: string;
  closed_on?: string | null;
}

export function summaryChangeOf(event: ValidNewEvent): CaseSummaryChange {
  switch (event.type) {
    case 'allocated':
      return { lead_professional: event.data.leadProfessional, manager: event.data.manager, caseload_points: event.data.caseloadPoints, status: 'open', allocated_on: event.effectiveOn };
    case 'reallocated':
      return {
        lead_professional: event.data.leadProfessional,
        ...(event.data.manager ? { manager: event.data.manager } : {}),
        ...(event.data.caseloadPoints !== undefined ? { caseload_points: event.data.caseloadPoints } : {}),
      };
    case 'closure-requested':
      return { status: 'closure-requested' };
    case 'closure-returned':
      return { status: 'open' };
    case 'closure-approved':
      return { status: 'closed', closed_on: event.effectiveOn };
    default:
      return {};
  }
}

/** Folds several events' changes into one. */
export function summaryChangesOf(events: ReadonlyArray<ValidNewEvent>): CaseSummaryChange {
  return events.reduce<CaseSummaryChange>((acc, e) => ({ ...acc, ...summaryChangeOf(e) }), {});
}
