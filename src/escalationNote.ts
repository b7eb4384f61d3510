import { appendNotifying, caseFor, CaseWorkContext, CaseWorkError, orReplay } from './caseWork';
import { standingEvents } from './caseEvents';
import { StaffMember } from './staff';
import { CaseRecord, retryOnConflict } from './storage/caseLog';

/**
 * A manager answers an escalation (seed 000/002: the escalation process for a missed contact) with
 * what is being done: recorded on the case, against the obligation escalated.
 */
export function noteEscalation(ctx: CaseWorkContext, actor: StaffMember, caseId: string, obligation: string, note: string, idempotencyKey?: string): Promise<CaseRecord> {
  return orReplay(ctx, idempotencyKey, { caseId, type: 'escalation-noted', by: actor.id }, () =>
    retryOnConflict(async () => {
      const { record, state } = await caseFor(ctx, actor, caseId, 'reallocate');
      const text = String(note ?? '').trim();
      if (!text) throw new CaseWorkError('note', 'Say what is being done about it.');
      if (!standingEvents(record.events).some((e) => e.type === 'escalated' && e.data.obligation === obligation)) throw new CaseWorkError('obligation', `Nothing on case ${record.reference} was escalated for that.`);
      return appendNotifying(ctx, actor, record, state, { type: 'escalation-noted', by: actor.id, effectiveOn: ctx.today(), data: { obligation, note: text } }, idempotencyKey, undefined);
    }),
  );
}
