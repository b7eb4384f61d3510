import { CaseEvent, EventData, standingEvents } from './caseEvents';
import { LocalDate } from './localDate';

/**
 * Where a case stands, as a fold over its log: who holds it, whether it is open, and where its CAF
 * is in authorisation. Derived, never stored as the truth (the log is the truth).
 */
export type CaseStatus = 'open' | 'closure-requested' | 'closed';

export type CafDecisionType = 'caf-authorised' | 'caf-returned' | 'caf-reassessment-directed';

export interface CafDecision {
  type: CafDecisionType;
  by: string;
  recordedAt: string;
  /** The submission decided on. */
  submissionId: string;
  /** What the manager said: comments on a return or an approval, the reason for a re-assessment. */
  comments?: string;
}

export interface CaseState {
  allocatedOn: LocalDate;
  leadProfessional: string;
  manager: string;
  caseloadPoints: number;
  cafRequired: boolean;
  source: EventData<'allocated'>['source'];
  family?: EventData<'allocated'>['family'];
  referralReason?: string;
  /** The Manager's Decision at allocation: the initial actions for the worker. */
  initialActions: string;
  /** The CAF Support Plan a CIN or SGCP step-down arrives with. */
  existingPlan?: string;
  status: CaseStatus;
  closedOn?: LocalDate;
  /** The CAF submission awaiting a manager's decision, if any. */
  cafAwaitingDecision?: CaseEvent;
  /** The last decision on a CAF submission. */
  lastCafDecision?: CafDecision;
}

export class CaseNotAllocatedError extends Error {
  constructor() {
    super('The case has no allocation.');
  }
}

function decisionComments(e: CaseEvent): string | undefined {
  if (e.type === 'caf-reassessment-directed') return e.data.reason;
  if (e.type === 'caf-returned' || e.type === 'caf-authorised') return e.data.comments;
  return undefined;
}

export function caseState(events: readonly CaseEvent[]): CaseState {
  const log = standingEvents(events);
  const allocation = log.find((e) => e.type === 'allocated');
  if (!allocation || allocation.type !== 'allocated') throw new CaseNotAllocatedError();
  const a = allocation.data;
  const state: CaseState = {
    allocatedOn: allocation.effectiveOn,
    leadProfessional: a.leadProfessional,
    manager: a.manager,
    caseloadPoints: a.caseloadPoints,
    cafRequired: a.cafRequired,
    source: a.source,
    family: a.family,
    referralReason: a.referralReason,
    initialActions: a.initialActions,
    existingPlan: a.existingPlan,
    status: 'open',
  };
  for (const e of log) {
    switch (e.type) {
      case 'reallocated':
        state.leadProfessional = e.data.leadProfessional;
        if (e.data.manager) state.manager = e.data.manager;
        if (e.data.caseloadPoints !== undefined) state.caseloadPoints = e.data.caseloadPoints;
        break;
      case 'caf-submitted':
        state.cafAwaitingDecision = e;
        break;
      case 'caf-authorised':
      case 'caf-returned':
      case 'caf-reassessment-directed':
        if (state.cafAwaitingDecision) {
          state.lastCafDecision = { type: e.type, by: e.by, recordedAt: e.recordedAt, submissionId: state.cafAwaitingDecision.id, comments: decisionComments(e) };
          state.cafAwaitingDecision = undefined;
        } else if (e.type === 'caf-reassessment-directed') {
          // A re-assessment may be directed at any time on new evidence, with nothing awaiting.
          state.lastCafDecision = { type: e.type, by: e.by, recordedAt: e.recordedAt, submissionId: '', comments: decisionComments(e) };
        }
        break;
      case 'closure-requested':
        if (state.status === 'open') state.status = 'closure-requested';
        break;
      case 'closure-returned':
        if (state.status === 'closure-requested') state.status = 'open';
        break;
      case 'closure-approved':
        state.status = 'closed';
        state.closedOn = e.effectiveOn;
        break;
      default:
        break;
    }
  }
  return state;
}
