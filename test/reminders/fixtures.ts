import { createCalendar } from '../../src/calendar';
import { NewCaseEvent } from '../../src/caseEvents';
import { caseState } from '../../src/caseState';
import { hypotheticalCase } from '../../src/hypotheticalCase';
import { LocalDate, parseLocalDate } from '../../src/localDate';
import { obligations } from '../../src/obligations';
import { loadPolicy } from '../../src/policy';
import { CaseSnapshot, PlannedNotification, planSweep, SweepInput } from '../../src/reminders/plan';
import { StaffMember } from '../../src/staff';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH } from '../helpers/demoStaff';

export { ALEX, DUTY, JO, MORGAN, SAM, SOUTH };
export const STAFF: readonly StaffMember[] = [MORGAN, DUTY, SAM, ALEX, JO, SOUTH];
export const EVERYONE = new Set(STAFF.map((m) => m.id));

export const policy = loadPolicy();
export const calendar = createCalendar();
export const d = (s: string): LocalDate => parseLocalDate(s);
export const at = (iso: string): Date => new Date(iso);

export type Step = [type: NewCaseEvent['type'], on: string, data?: Record<string, unknown>];

export interface CaseSpec {
  caseId?: string;
  reference?: string;
  allocatedOn: string;
  steps?: Step[];
  worker?: string;
  manager?: string;
  caseloadPoints?: number;
  /** The day the obligations are worked out on (statuses only; which are open does not change with it). */
  asOf?: string;
  escalated?: string[];
  snoozed?: Record<string, string>;
}

/** A case as the sweep would read it, built from its events as the log would hold them. */
export function snapshot(spec: CaseSpec, p = policy): CaseSnapshot {
  const caseId = spec.caseId ?? 'case-1';
  const worker = spec.worker ?? SAM.id;
  const events = hypotheticalCase(
    [
      {
        type: 'allocated',
        by: MORGAN.id,
        effectiveOn: d(spec.allocatedOn),
        data: { leadProfessional: worker, manager: spec.manager ?? MORGAN.id, caseloadPoints: spec.caseloadPoints ?? 3, initialActions: 'Visit', cafRequired: true, source: 'referral' },
      },
      ...(spec.steps ?? []).map(([type, on, data]) => ({ type, by: worker, effectiveOn: d(on), data: data ?? {} }) as NewCaseEvent),
    ],
    caseId,
  );
  return {
    caseId,
    reference: spec.reference ?? `EH-${caseId}`,
    state: caseState(events),
    obligations: obligations(events, p, calendar, d(spec.asOf ?? spec.allocatedOn)),
    escalated: new Set(spec.escalated ?? []),
    snoozed: new Map(Object.entries(spec.snoozed ?? {}).map(([id, until]) => [id, d(until)])),
  };
}

export function sweep(now: string | Date, cases: CaseSnapshot[], extra: Partial<SweepInput> = {}): PlannedNotification[] {
  return planSweep({ now: typeof now === 'string' ? at(now) : now, policy, calendar, staff: STAFF, reachable: EVERYONE, cases, ...extra });
}

export const ofType = (list: PlannedNotification[], type: PlannedNotification['type']) => list.filter((n) => n.type === type);
export const to = (list: PlannedNotification[], recipient: StaffMember, type: PlannedNotification['type'] = 'digest') => list.find((n) => n.recipient === recipient.id && n.type === type);
/** `kind@deadline:status` of each item, in order: what a reader of the card sees. */
export const lines = (n: PlannedNotification | undefined) => (n ? n.items.map((i) => `${i.obligation}@${i.latest ?? i.due}:${i.status}${i.kind === 'item' ? '' : `:${i.kind}`}`) : []);

/** Instants every `minutes` from `from` (inclusive) to `to` (exclusive). */
export function instants(from: string, to: string, minutes = 30): Date[] {
  const out: Date[] = [];
  for (let t = at(from).getTime(); t < at(to).getTime(); t += minutes * 60_000) out.push(new Date(t));
  return out;
}
