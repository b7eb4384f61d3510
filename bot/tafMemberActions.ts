import { AccessDeniedError } from '../src/access';
import { caseState } from '../src/caseState';
import { CaseWorkError } from '../src/caseWork';
import { CaseNotFoundError, CaseRecord, IdempotencyConflictError, VersionConflictError } from '../src/storage/caseLog';
import { addTafMember, removeTafMember } from '../src/taf/tafMembers';
import type { CardAction } from './actions';
import { CardInputError, cardInput, echoed } from './cardInputs';
import { noticeCard, TafMemberField } from './cards/cards';
import { AdaptiveCard } from './cards/template';
import { tafMembersCardFor, tafMembersCardOf, TafMembersExtra } from './tafMemberViews';
import { Turn } from './turn';

/**
 * What the TAF members card does (issue 9): open it, Add someone, Remove someone. The rules are the
 * core's (src/taf/tafMembers.ts). The card comes back drawn as the case now stands, or the same
 * card with the message beside the field to fix and what was entered (nothing written).
 */

const OUT_OF_DATE = () => noticeCard({ title: 'This card is out of date. Type "my cases" to see your cases.', summary: 'Out of date card' });
const CONFLICT_MESSAGE = 'Someone else changed this case at the same moment: nothing was recorded. Please try again.';

/** The Add form's input for each field the core or the card's schema names; anything else is said at the top. */
const FIELD_ON_FORM: Record<string, TafMemberField> = {
  name: 'memberName',
  agency: 'memberAgency',
  email: 'memberEmail',
  memberName: 'memberName',
  memberAgency: 'memberAgency',
  memberEmail: 'memberEmail',
};

/** The case a card names, or null for a card this bot did not draw. */
function caseIdOf(data: Record<string, unknown>): string | null {
  try {
    return cardInput('caseOnly', data).caseId;
  } catch {
    return null;
  }
}

/** A case out of reach: the polite answer that shows nothing of it. */
function outOfReach(e: unknown): AdaptiveCard | null {
  if (e instanceof AccessDeniedError) return noticeCard({ title: e.message, summary: `Case ${e.reference}` });
  if (e instanceof CaseNotFoundError) return noticeCard({ title: 'That case could not be found.', summary: 'Case not found' });
  return null;
}

/** Why a change was refused, and beside which field; null for anything that is not a refusal. */
function refusal(e: unknown): Pick<TafMembersExtra, 'message' | 'field'> | null {
  if (e instanceof CaseWorkError || e instanceof CardInputError) return { message: e.message, field: FIELD_ON_FORM[e.field] };
  if (e instanceof IdempotencyConflictError) return { message: e.message };
  if (e instanceof VersionConflictError) return { message: CONFLICT_MESSAGE };
  return null;
}

/** What was entered on the Add form, shown again when it is refused: text only, bounded. */
function entered(data: Record<string, unknown>): TafMembersExtra['values'] {
  const typed = echoed(data, ['memberName', 'memberAgency', 'memberEmail'], 254);
  return { name: typed.memberName, agency: typed.memberAgency, email: typed.memberEmail, family: data.memberFamily === true || data.memberFamily === 'true' };
}

/** Runs a change on the case a card names; a refusal draws the card again with the reason (and, for Add, what was entered). */
function onCase(change: (turn: Turn, caseId: string, data: Record<string, unknown>) => Promise<AdaptiveCard>, keepsEntered: boolean): CardAction {
  return async (turn, data) => {
    const caseId = caseIdOf(data);
    if (!caseId) return OUT_OF_DATE();
    try {
      try {
        return await change(turn, caseId, data);
      } catch (e) {
        const why = refusal(e);
        if (!why) throw e;
        return await tafMembersCardFor(turn.services, turn.actor, caseId, { ...why, ...(keepsEntered ? { values: entered(data) } : {}) });
      }
    } catch (e) {
      const away = outOfReach(e);
      if (away) return away;
      throw e;
    }
  };
}

/** The name a member was added under, from the case log (for the notice once they are removed). */
function nameOf(record: CaseRecord, memberId: string): string | undefined {
  for (const e of [...record.events].reverse()) if (e.type === 'taf-member-added' && e.data.member === memberId) return e.data.name;
  return undefined;
}

/** "TAF members" on the case card: the list as it stands. */
export const tafMembersAction: CardAction = onCase((turn, caseId) => tafMembersCardFor(turn.services, turn.actor, caseId), false);

/** Add: the family or an agency's professional; the same e-mail again updates them. */
export const addTafMemberAction: CardAction = onCase(async (turn, caseId, data) => {
  const input = cardInput('addTafMember', data);
  const record = await addTafMember(turn.services, turn.actor, caseId, { name: input.memberName, agency: input.memberAgency, email: input.memberEmail, family: input.memberFamily }, turn.idempotencyKey);
  const state = caseState(record.events);
  const added = state.tafMembers.find((m) => m.email === input.memberEmail.toLowerCase());
  const notice = added ? `${added.name} (${added.family ? 'family' : added.agency}) will be invited to the TAF meetings booked from now on.` : undefined;
  return tafMembersCardOf(record, { notice }, state);
}, true);

/** Remove: not invited to the meetings booked from now on (a meeting already booked keeps its invitation). */
export const removeTafMemberAction: CardAction = onCase(async (turn, caseId, data) => {
  const { memberId } = cardInput('removeTafMember', data);
  const record = await removeTafMember(turn.services, turn.actor, caseId, memberId, turn.idempotencyKey);
  const name = nameOf(record, memberId) ?? 'They';
  return tafMembersCardOf(record, { notice: `${name} removed: not invited to the meetings booked from now on. A meeting already booked keeps its invitation.` });
}, false);
