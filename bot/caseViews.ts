import { CaseEvent } from '../src/caseEvents';
import { caseState, CaseState } from '../src/caseState';
import { Obligation, obligations, openObligations, ragOf } from '../src/obligations';
import { isAbsent, StaffMember } from '../src/staff';
import { CaseRecord } from '../src/storage/caseLog';
import { AllocationValues, allocationCard, cafAuthorisationCard, caseCard } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { BotServices } from './services';

/** Builds each card's data from the case log: the bridge between the core and the templates. */

const STATUS_TEXT = { open: 'Open', 'closure-requested': 'Closure requested', closed: 'Closed' } as const;
const NEXT_ON_CARD = 6;

function cafText(state: CaseState, owed: Obligation[]): string {
  if (!state.cafRequired) return 'Not required';
  if (state.cafAwaitingDecision) return `Awaiting authorisation since ${state.cafAwaitingDecision.effectiveOn}`;
  const last = state.lastCafDecision;
  if (last?.type === 'caf-authorised') return 'Authorised';
  if (last?.type === 'caf-returned') return 'Returned for changes';
  const caf = owed.filter((o) => o.kind === 'caf-assessment').at(-1);
  return caf ? `Due ${caf.due}` : 'Not started';
}

export function obligationsOf(services: BotServices, events: readonly CaseEvent[]): Obligation[] {
  return obligations(events, services.policy, services.calendar, services.today());
}

export async function caseCardFor(services: BotServices, record: CaseRecord, extra: { message?: string; notice?: string } = {}): Promise<AdaptiveCard> {
  const state = caseState(record.events);
  const owed = obligationsOf(services, record.events);
  const today = services.today();
  const lead = await services.directory.get(state.leadProfessional);
  const tafs = record.events.filter((e) => e.type === 'taf-held');
  const family = state.family ? `${state.family.name}${state.family.children.length ? ` (${state.family.children.length} ${state.family.children.length === 1 ? 'child' : 'children'})` : ''}` : 'not recorded';
  return caseCard({
    caseId: record.caseId,
    reference: record.reference,
    version: record.version,
    family,
    leadProfessional: lead?.name ?? 'unknown',
    allocatedOn: state.allocatedOn,
    statusText: STATUS_TEXT[state.status],
    cafText: cafText(state, owed),
    obligations: openObligations(owed)
      .slice(0, NEXT_ON_CARD)
      .map((o) => ({ kind: o.kind, due: o.latest ?? o.due, rag: ragOf(o, today, services.calendar) })),
    today,
    lastTafDate: tafs.at(-1)?.effectiveOn,
    ...extra,
  });
}

export async function allocationFormFor(services: BotServices, manager: StaffMember, values?: AllocationValues, message?: string): Promise<AdaptiveCard> {
  const team = (await services.directory.team(manager.team)).filter((m) => m.role === 'worker');
  const points = await services.caseLog.caseloadPoints(team.map((m) => m.id));
  return allocationCard({
    workers: team.map((m) => ({ id: m.id, name: m.name, points: points.get(m.id) ?? 0, capacity: m.capacityPoints })),
    values,
    message,
  });
}

/**
 * Who decides on a worker's CAF: their line manager, or a duty manager of the team when the line
 * manager is on leave (`absentUntil`), has left (inactive), or there is none (DOMAIN.md: "line or
 * duty manager").
 */
export async function cafDecider(services: BotServices, worker: StaffMember): Promise<StaffMember | null> {
  const today = services.today();
  const line = worker.lineManager ? await services.directory.get(worker.lineManager) : null;
  if (line?.active && !isAbsent(line, today) && line.id !== worker.id) return line;
  const team = await services.directory.team(worker.team);
  return team.find((m) => m.role === 'manager' && m.active && !isAbsent(m, today) && m.id !== worker.id) ?? null;
}

/** Everyone who may decide on the CAF: the decider first, then the team's other managers (60 at most). */
export async function cafDeciders(services: BotServices, worker: StaffMember): Promise<StaffMember[]> {
  const first = await cafDecider(services, worker);
  const team = await services.directory.team(worker.team);
  const others = team.filter((m) => m.role === 'manager' && m.id !== worker.id && m.id !== first?.id);
  return [...(first ? [first] : []), ...others];
}

/** Whether this person may decide the CAF awaiting authorisation on the case (never its submitter). */
export async function mayDecideCaf(services: BotServices, record: CaseRecord, viewer: StaffMember): Promise<boolean> {
  const pending = caseState(record.events).cafAwaitingDecision;
  if (!pending || pending.by === viewer.id) return false;
  const worker = await services.directory.get(caseState(record.events).leadProfessional);
  return worker ? (await cafDeciders(services, worker)).some((d) => d.id === viewer.id) : false;
}

export async function cafAuthorisationCardFor(
  services: BotServices,
  record: CaseRecord,
  viewer: StaffMember | null,
  options: { inGroup: boolean; message?: string; comments?: string },
): Promise<AdaptiveCard | null> {
  const state = caseState(record.events);
  const pending = state.cafAwaitingDecision;
  if (!pending) return null;
  const worker = await services.directory.get(state.leadProfessional);
  const deciders = worker ? await cafDeciders(services, worker) : [];
  const caf = obligationsOf(services, record.events).filter((o) => o.kind === 'caf-assessment').at(-1);
  const canDecide = viewer ? await mayDecideCaf(services, record, viewer) : false;
  return cafAuthorisationCard({
    caseId: record.caseId,
    reference: record.reference,
    submissionId: pending.id,
    worker: worker?.name ?? 'unknown',
    submittedOn: pending.effectiveOn,
    cafDue: caf?.due ?? pending.effectiveOn,
    canDecide,
    decider: deciders[0]?.name ?? 'a manager',
    refreshUserIds: options.inGroup ? deciders.map((d) => d.id) : undefined,
    message: options.message,
    comments: options.comments,
  });
}
