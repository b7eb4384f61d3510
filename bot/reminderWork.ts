import { CaseAction } from '../src/access';
import { WorkAction } from '../src/caseWork';
import { Obligation } from '../src/obligations';

/**
 * What "Done" on a reminder records, by obligation: the same piece of work the case card records,
 * through the same rules. Kinds with more to say than a date (a visit, a CAF sent for authorisation, a supervision, a review)
 * are opened on the case card instead.
 */
export interface DoneAction {
  action: WorkAction;
  /** What the date input asks for. */
  label: string;
  /** The input the core reads besides the date. */
  extra?: Record<string, unknown>;
  permission: CaseAction;
}

export function doneActionOf(o: Pick<Obligation, 'kind' | 'from'>): DoneAction | null {
  switch (o.kind) {
    case 'telephone-contact':
      return { action: 'telephone-contact', label: 'Date of the contact made', permission: 'log-work' };
    case 'case-recording':
      return { action: 'case-recorded', label: 'The case record is up to date as of', permission: 'log-work' };
    case 'taf-minutes':
      return { action: 'minutes-shared', label: 'Date the minutes were shared', extra: { tafDate: o.from }, permission: 'log-work' };
    case 'first-taf':
    case 'taf-review':
      return { action: 'taf-held', label: 'Date of the TAF meeting', permission: 'log-work' };
    default:
      return null;
  }
}
