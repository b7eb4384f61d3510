import { StaffMember } from './staff';

/**
 * Who may see and do what on a case. Access follows the case and the role (DOMAIN.md): a worker
 * their own cases, a manager their team's, Business Support what their role needs (reading the
 * team's cases to check forms and keep the tracking sheet), an administrator the directory only.
 * Decided on the server from the case and the user, never from anything a card carries.
 */
export type CaseAction = 'read' | 'log-work' | 'record-forms' | 'decide-caf' | 'approve-closure' | 'allocate' | 'reallocate' | 'supervise';

/** What access is judged on: the case's lead professional, its manager, and the team it sits in. */
export interface CaseAccessFacts {
  leadProfessional: string;
  manager: string;
  team: string;
}

export function permits(actor: StaffMember, action: CaseAction, c: CaseAccessFacts): boolean {
  if (!actor.active) return false;
  const ownCase = c.leadProfessional === actor.id;
  const teamCase = c.team === actor.team || c.manager === actor.id;
  switch (actor.role) {
    case 'worker':
      return ownCase && (action === 'read' || action === 'log-work' || action === 'record-forms');
    case 'manager':
      if (action === 'allocate') return actor.team === c.team;
      // A manager never authorises a CAF on a case they hold as lead professional themselves.
      if (action === 'decide-caf' || action === 'approve-closure') return teamCase && !ownCase;
      // Supervision is of the lead professional by a manager of the team, never of oneself.
      if (action === 'supervise') return teamCase && !ownCase;
      return teamCase || ownCase;
    case 'business-support':
      // Business Support checks the forms in and keeps the tracking sheet (seed 000).
      return teamCase && (action === 'read' || action === 'record-forms');
    case 'administrator':
      return false;
  }
}

/**
 * Whether a person may see another's whole caseload (a manager's team card opening a worker's
 * list): a manager of that person's team. Decided from the staff directory, never from a card.
 */
export function permitsCaseloadOf(viewer: StaffMember, holder: StaffMember): boolean {
  return viewer.active && viewer.role === 'manager' && holder.team === viewer.team;
}

export class AccessDeniedError extends Error {
  constructor(readonly action: CaseAction, readonly reference: string) {
    super(`You cannot ${ACTION_WORDS[action]} case ${reference}.`);
    this.name = 'AccessDeniedError';
  }
}

const ACTION_WORDS: Record<CaseAction, string> = {
  read: 'open',
  'log-work': 'record work on',
  'record-forms': 'record forms received on',
  'decide-caf': 'authorise the CAF of',
  'approve-closure': 'approve the closure of',
  allocate: 'allocate',
  reallocate: 'reallocate',
  supervise: 'record supervision on',
};
