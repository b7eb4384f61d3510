import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { appendNotifying, caseFor, CaseWorkContext, CaseWorkError, orReplay } from '../caseWork';
import type { StaffMember } from '../staff';
import { CaseRecord, retryOnConflict } from '../storage/caseLog';

/**
 * The people invited to a case's TAF meetings (issue 9): family members and agencies'
 * professionals, each with an e-mail address. Kept on the case log (`taf-member-added`,
 * `taf-member-removed`); the next meeting booked invites whoever is a member then. The lead
 * professional (or a manager of the team) manages them; each change is refused with the field to fix.
 */

export const MAX_TAF_MEMBERS = 30;

const EMAIL = z.string().trim().toLowerCase().email();

/** Adds someone to the case's TAF members; the same e-mail again replaces them. */
export function addTafMember(ctx: CaseWorkContext, actor: StaffMember, caseId: string, input: { name?: unknown; agency?: unknown; email?: unknown; family?: unknown }, idempotencyKey?: string): Promise<CaseRecord> {
  return orReplay(ctx, idempotencyKey, { caseId, type: 'taf-member-added', by: actor.id }, () =>
    retryOnConflict(async () => {
      const { record, state } = await caseFor(ctx, actor, caseId, 'log-work');
      if (state.status === 'closed') throw new CaseWorkError('case', `Case ${record.reference} is closed.`);
      const name = String(input.name ?? '').trim();
      if (!name) throw new CaseWorkError('name', 'Give the name of the person invited.');
      if (name.length > 200) throw new CaseWorkError('name', 'The name is too long (200 characters at most).');
      const email = EMAIL.safeParse(input.email);
      if (!email.success) throw new CaseWorkError('email', 'Give their e-mail address, e.g. name@school.example.');
      const family = input.family === true || input.family === 'true';
      const agency = String(input.agency ?? '').trim();
      if (!family && !agency) throw new CaseWorkError('agency', 'Say which agency they are from (school, health visiting, housing ...), or tick "family member".');
      if (agency.length > 200) throw new CaseWorkError('agency', 'The agency is too long (200 characters at most).');
      const replacing = state.tafMembers.find((m) => m.email === email.data);
      if (!replacing && state.tafMembers.length >= MAX_TAF_MEMBERS) throw new CaseWorkError('email', `A TAF has ${MAX_TAF_MEMBERS} members at most: remove someone first.`);
      const member = replacing?.id ?? randomUUID();
      return appendNotifying(ctx, actor, record, state, { type: 'taf-member-added', by: actor.id, effectiveOn: ctx.today(), data: { member, name, ...(agency && !family ? { agency } : {}), email: email.data, family } }, idempotencyKey, undefined);
    }),
  );
}

/** Removes someone from the case's TAF members (meetings already booked keep their invitation). */
export function removeTafMember(ctx: CaseWorkContext, actor: StaffMember, caseId: string, memberId: string, idempotencyKey?: string): Promise<CaseRecord> {
  return orReplay(ctx, idempotencyKey, { caseId, type: 'taf-member-removed', by: actor.id }, () =>
    retryOnConflict(async () => {
      const { record, state } = await caseFor(ctx, actor, caseId, 'log-work');
      if (!state.tafMembers.some((m) => m.id === memberId)) throw new CaseWorkError('member', 'That person is not a TAF member of this case.');
      return appendNotifying(ctx, actor, record, state, { type: 'taf-member-removed', by: actor.id, effectiveOn: ctx.today(), data: { member: memberId } }, idempotencyKey, undefined);
    }),
  );
}
