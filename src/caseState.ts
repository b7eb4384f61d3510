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
  /** The day of the decision. */
  on: LocalDate;
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
  /** The last visit: whether the child was seen (a visit that did not see the child prompts another). */
  lastVisit?: { on: LocalDate; childSeen: boolean };
  /** Forms a visit asked for and nobody has recorded as returned yet (a visit, or Business Support). */
  formsOutstanding: { consentForm: boolean; medicalForm: boolean };
  /** Whether the family's consent form is in: no CAF without the family's agreement (seeds 001 / 004). */
  consentReceived: boolean;
  /** Contacts tried and not reached since the last contact made. */
  attemptsSinceContact: Array<{ on: LocalDate; method: string }>;
  /** Supervisions at which the case was discussed, oldest first, with where each record stands. */
  supervisions: Supervision[];
  /** Who is invited to the case's TAF meetings, in the order added. */
  tafMembers: TafMember[];
}

export interface TafMember {
  id: string;
  name: string;
  agency?: string;
  email: string;
  /** A family member (their name is never on an invitation others see), not an agency's professional. */
  family: boolean;
}

export interface Supervision {
  on: LocalDate;
  /** The supervising manager who recorded it. */
  by: string;
  /** The record returned to the worker (seed 000: within 10 WD). */
  returnedOn?: LocalDate;
  /** The record authorised (seed 000: within 20 WD). */
  authorisedOn?: LocalDate;
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
    formsOutstanding: { consentForm: false, medicalForm: false },
    consentReceived: false,
    attemptsSinceContact: [],
    supervisions: [],
    tafMembers: [],
  };
  let visited = false;
  let medicalReceived = false;
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
      case 'visit':
        visited = true;
        state.lastVisit = { on: e.effectiveOn, childSeen: e.data.childSeen };
        state.consentReceived ||= e.data.consentForm;
        medicalReceived ||= e.data.medicalForm;
        state.attemptsSinceContact = [];
        break;
      case 'forms-received':
        state.consentReceived ||= e.data.consentForm;
        medicalReceived ||= e.data.medicalForm;
        break;
      case 'contact-attempted':
        state.attemptsSinceContact.push({ on: e.effectiveOn, method: e.data.method });
        break;
      case 'telephone-contact-made':
      case 'personal-contact-made':
        state.attemptsSinceContact = [];
        break;
      case 'caf-authorised':
      case 'caf-returned':
      case 'caf-reassessment-directed':
        if (state.cafAwaitingDecision) {
          state.lastCafDecision = { type: e.type, by: e.by, recordedAt: e.recordedAt, on: e.effectiveOn, submissionId: state.cafAwaitingDecision.id, comments: decisionComments(e) };
          state.cafAwaitingDecision = undefined;
        } else if (e.type === 'caf-reassessment-directed') {
          // A re-assessment may be directed at any time on new evidence, with nothing awaiting.
          state.lastCafDecision = { type: e.type, by: e.by, recordedAt: e.recordedAt, on: e.effectiveOn, submissionId: '', comments: decisionComments(e) };
        }
        break;
      case 'taf-member-added':
        state.tafMembers = [...state.tafMembers.filter((m) => m.id !== e.data.member && m.email !== e.data.email), { id: e.data.member, name: e.data.name, ...(e.data.agency ? { agency: e.data.agency } : {}), email: e.data.email, family: e.data.family }];
        break;
      case 'taf-member-removed':
        state.tafMembers = state.tafMembers.filter((m) => m.id !== e.data.member);
        break;
      case 'supervision-held':
        state.supervisions.push({ on: e.effectiveOn, by: e.data.supervisor ?? e.by });
        break;
      case 'supervision-record-returned':
      case 'supervision-record-authorised': {
        const held = state.supervisions.find((s) => s.on === e.data.supervisionDate);
        if (held && e.type === 'supervision-record-returned') held.returnedOn ??= e.effectiveOn;
        if (held && e.type === 'supervision-record-authorised') held.authorisedOn ??= e.effectiveOn;
        break;
      }
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
  // A visit asks for the forms; they are outstanding until one is recorded as returned.
  state.formsOutstanding = { consentForm: visited && !state.consentReceived, medicalForm: visited && !medicalReceived };
  return state;
}
