import { caseState, CaseState } from '../src/caseState';
import { caseFor } from '../src/caseWork';
import { StaffMember } from '../src/staff';
import { CaseRecord } from '../src/storage/caseLog';
import { MAX_TAF_MEMBERS } from '../src/taf/tafMembers';
import { TafMemberField, tafMembersCard, TafMembersCardData } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { BotServices } from './services';

/**
 * The `taf-members` card (issue 9): the people a case's TAF meetings invite, as the case log now
 * has them, with Remove beside each and a form to add someone. For whoever may record work on the
 * case (the lead professional or a manager of the team: the core's `log-work`). The family's name
 * is in the body, in the person's own chat; the preview carries the case reference only.
 */

/** What a card drawn again carries: why, beside which field, and what was entered. */
export interface TafMembersExtra {
  message?: string;
  field?: TafMemberField;
  notice?: string;
  values?: TafMembersCardData['values'];
}

/** The card drawn from a case record already read (after a change, the record it returned). */
export function tafMembersCardOf(record: CaseRecord, extra: TafMembersExtra = {}, state: CaseState = caseState(record.events)): AdaptiveCard {
  const family = state.family?.name;
  const canEdit = state.status !== 'closed';
  const full = state.tafMembers.length >= MAX_TAF_MEMBERS;
  return tafMembersCard({
    caseId: record.caseId,
    reference: record.reference,
    heading: `Case ${record.reference}${family ? ` \u00b7 ${family}` : ''}`,
    members: state.tafMembers.map((m) => ({ id: m.id, name: m.name, agency: m.family ? 'Family' : (m.agency ?? ''), email: m.email })),
    canEdit,
    note: !canEdit ? 'The case is closed: its TAF members can no longer be changed.' : full ? `The list is full (${MAX_TAF_MEMBERS} at most): remove someone to add another.` : '',
    ...extra,
  });
}

/**
 * The card for `viewer`, read as them (the read is audited). Throws AccessDeniedError unless they
 * may record work on the case, CaseNotFoundError when it is gone.
 */
export async function tafMembersCardFor(services: BotServices, viewer: StaffMember, caseId: string, extra: TafMembersExtra = {}): Promise<AdaptiveCard> {
  const { record, state } = await caseFor(services, viewer, caseId, 'log-work');
  return tafMembersCardOf(record, extra, state);
}
