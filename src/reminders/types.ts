import type { WorkingDayCalendar } from '../calendar';
import type { CaseEvent } from '../caseEvents';
import type { CaseState } from '../caseState';
import type { LocalDate } from '../localDate';
import type { Obligation, ObligationKind } from '../obligations';
import type { Policy } from '../policy';
import type { StaffMember } from '../staff';
import type { DueStatus } from './digest';
import type { Caseload } from './teamDigest';

/**
 * What the planner reads of where a case stands (`caseState`): all a sweep keeps of it between
 * sweeps (src/reminders/snapshotCache.ts), staff ids and dates, never a family's details.
 */
export type PlannerCaseState = Pick<CaseState, 'status' | 'leadProfessional' | 'manager' | 'caseloadPoints' | 'allocatedOn'> & {
  /** The CAF submission awaiting a manager's decision: the manager's digest names it by id and day. */
  cafAwaitingDecision?: Pick<CaseEvent, 'id' | 'effectiveOn'>;
};

/** A case as the sweep reads it: its state, obligations, and what reminders already did to it. */
export interface CaseSnapshot {
  caseId: string;
  reference: string;
  state: PlannerCaseState;
  obligations: Obligation[];
  /** Obligation ids already escalated (from `escalated` events in the log). */
  escalated: ReadonlySet<string>;
  /** Obligation id to the day its snooze ends. */
  snoozed: ReadonlyMap<string, LocalDate>;
}

export interface SweepInput {
  now: Date;
  policy: Policy;
  calendar: WorkingDayCalendar;
  staff: readonly StaffMember[];
  /** Staff ids that have a conversation with the bot (can be reached in Teams). */
  reachable: ReadonlySet<string>;
  cases: readonly CaseSnapshot[];
  /** Whether this sweep plans the daily digests (from the digest time on): false once a sweep before planned the day's. Default true. */
  includeDigests?: boolean;
  /**
   * Whether this sweep should include the weekly team digests. They are planned only on a team
   * digest day (`isTeamDigestDay`), from the digest time on; `cases` must then hold every case
   * with an item overdue (every case the day's digests list), and `caseloads` every open case's
   * caseload, or else `cases` must be all the open cases.
   */
  includeTeamDigests?: boolean;
  caseloads?: readonly Caseload[];
}

export type NotificationType = 'digest' | 'escalation' | 'team-digest';

/**
 * What an item is: an obligation of the worker's (`item`), a CAF awaiting the manager's
 * authorisation (`caf-awaiting`), or an escalated obligation still unmet (`open-escalation`).
 */
export type PlannedItemKind = 'item' | 'caf-awaiting' | 'open-escalation';

export interface PlannedItem {
  caseId: string;
  /** The case reference: the only case detail a notification carries (never a family's name). */
  case: string;
  obligation: ObligationKind;
  /**
   * The obligation's id; for a `caf-awaiting` item, the id of the `caf-submitted` event awaiting
   * a decision (what is owed is the decision, not the CAF, which the submission met).
   */
  obligationId: string;
  /** The due date; for a `caf-awaiting` item, the day the CAF was submitted. */
  due: LocalDate;
  latest?: LocalDate;
  /** As of the notification's day; a CAF awaiting a decision is always `due-today` (the policy sets no timescale for it). */
  status: DueStatus;
  /** The lead professional's staff id. */
  worker: string;
  kind: PlannedItemKind;
}

/** One worker's line in a manager's weekly team digest. */
export interface WorkerSummary {
  worker: string;
  /** Open cases the worker leads, and their caseload points against the worker's capacity. */
  openCases: number;
  caseloadPoints: number;
  capacityPoints: number;
  overdue: number;
  /** The overdue items, soonest first. */
  items: PlannedItem[];
}

/** A case open longer than the policy's maximum case length (`timescales.caseDuration`). */
export interface LongOpenCase {
  caseId: string;
  case: string;
  worker: string;
  allocatedOn: LocalDate;
  /** The day the maximum was reached (the `case-duration` deadline). */
  maximumReachedOn: LocalDate;
}

export interface TeamSummary {
  team: string;
  /** By worker name. */
  workers: WorkerSummary[];
  longOpenCases: LongOpenCase[];
}

export interface PlannedNotification {
  /** Staff id. */
  recipient: string;
  type: NotificationType;
  /** The London day it was planned for. */
  day: LocalDate;
  /**
   * What the outbox dedupes on: `escalation:<caseId>:<obligationId>` (once per obligation, ever),
   * `digest:<recipient>:<day>`, `team-digest:<recipient>:<day>`.
   */
  dedupeKey: string;
  /**
   * Digest: CAFs awaiting, open escalations, then obligations soonest first. Escalation: the one
   * obligation. Team digest: the team's overdue items.
   */
  items: PlannedItem[];
  /** Absent workers whose items these are (a digest sent to their line-or-duty manager). */
  onBehalfOf?: string[];
  /** For managers: team members with items today who cannot be reached in Teams (no conversation with the bot). */
  unreachable?: string[];
  teamSummary?: TeamSummary;
}
