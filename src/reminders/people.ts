import type { CaseState } from '../caseState';
import { isPresent, lineOrDutyManager, recipientForWorkerItems } from '../cover';
import type { LocalDate } from '../localDate';
import type { StaffMember } from '../staff';

/** Who holds a case: all the cover rules read of it. */
type CaseHolders = Pick<CaseState, 'leadProfessional' | 'manager'>;

/**
 * Who receives what on a day, for one sweep: the rules of src/cover.ts applied to a case, with
 * each person's cover worked out once (a sweep meets the same worker on many cases).
 */
export interface People {
  get(id: string): StaffMember | undefined;
  /** Everyone in a team. */
  team(name: string): readonly StaffMember[];
  /** The person's line manager, or the team's duty manager while the line manager is away. */
  lineOrDutyOf(id: string): StaffMember | null;
  /** Who gets the lead professional's items: them, or while they are away whoever covers. */
  itemsRecipient(state: CaseHolders): { recipient: string; onBehalfOf?: string };
  /** Who is escalated to and decides the CAF: the lead professional's line-or-duty manager, else the case's manager. */
  managerFor(state: CaseHolders): string;
  /** Who supervises the lead professional on the case: the case's manager while at work, else the line-or-duty manager. */
  supervisorFor(state: CaseHolders): string | null;
}

export function peopleOn(staff: readonly StaffMember[], day: LocalDate): People {
  const byId = new Map(staff.map((m) => [m.id, m]));
  const byTeam = new Map<string, StaffMember[]>();
  for (const m of staff) {
    const team = byTeam.get(m.team);
    if (team) team.push(m);
    else byTeam.set(m.team, [m]);
  }
  /** The person's team, and their line manager when they sit in another team. */
  const circleOf = (person: StaffMember): readonly StaffMember[] => {
    const team = byTeam.get(person.team) ?? [];
    const line = person.lineManager ? byId.get(person.lineManager) : undefined;
    return line && line.team !== person.team ? [...team, line] : team;
  };
  const cover = new Map<string, StaffMember | null>();
  const lineOrDutyOf = (id: string): StaffMember | null => {
    if (cover.has(id)) return cover.get(id) ?? null;
    const person = byId.get(id);
    const found = person ? lineOrDutyManager(person, circleOf(person), day) : null;
    cover.set(id, found);
    return found;
  };
  return {
    get: (id) => byId.get(id),
    team: (name) => byTeam.get(name) ?? [],
    lineOrDutyOf,
    itemsRecipient(state) {
      const worker = byId.get(state.leadProfessional);
      // A lead professional missing from the directory cannot be reached: the case's manager can act.
      if (!worker) return state.manager === state.leadProfessional ? { recipient: state.manager } : { recipient: state.manager, onBehalfOf: state.leadProfessional };
      const recipient = isPresent(worker, day) ? worker : recipientForWorkerItems(worker, circleOf(worker), day);
      return recipient.id === worker.id ? { recipient: worker.id } : { recipient: recipient.id, onBehalfOf: worker.id };
    },
    managerFor(state) {
      return lineOrDutyOf(state.leadProfessional)?.id ?? state.manager;
    },
    supervisorFor(state) {
      const caseManager = byId.get(state.manager);
      if (caseManager && caseManager.id !== state.leadProfessional && isPresent(caseManager, day)) return caseManager.id;
      return lineOrDutyOf(state.leadProfessional)?.id ?? null;
    },
  };
}
