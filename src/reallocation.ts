import { appendNotifying, caseFor, CaseWorkContext, CaseWorkError, checkCapacity, Notify, orReplay } from './caseWork';
import { StaffMember } from './staff';
import { CaseRecord, retryOnConflict } from './storage/caseLog';

/**
 * A manager moves a case to another worker of the team (seed 000: the manager allocates, and
 * reallocates when a worker leaves, is away or is over capacity), with the points it now carries.
 * Capacity is checked as at allocation: past it, the manager confirms the new total.
 */
export interface ReallocationInput {
  leadProfessional: string;
  caseloadPoints: number;
  reason?: string;
  /** The total the manager confirmed when reallocating past the new worker's capacity. */
  confirmedTotal?: number;
}

export function reallocateCase(ctx: CaseWorkContext, actor: StaffMember, caseId: string, input: ReallocationInput, idempotencyKey?: string, notify?: Notify): Promise<CaseRecord> {
  return orReplay(ctx, idempotencyKey, { caseId, type: 'reallocated', by: actor.id }, () => retryOnConflict(() => reallocateOnce(ctx, actor, caseId, input, idempotencyKey, notify)));
}

async function reallocateOnce(ctx: CaseWorkContext, actor: StaffMember, caseId: string, input: ReallocationInput, idempotencyKey: string | undefined, notify: Notify | undefined): Promise<CaseRecord> {
  const { record, state } = await caseFor(ctx, actor, caseId, 'reallocate');
  if (state.status === 'closed') throw new CaseWorkError('case', `Case ${record.reference} is closed.`);
  const points = input.caseloadPoints;
  if (typeof points !== 'number' || !Number.isInteger(points) || points < 0 || points > 100) throw new CaseWorkError('caseloadPoints', 'Caseload points must be a whole number from 0 to 100.');
  const worker = await ctx.directory.get(String(input.leadProfessional ?? ''));
  if (!worker || !worker.active || worker.team !== actor.team || (worker.role !== 'worker' && worker.role !== 'manager')) {
    throw new CaseWorkError('leadProfessional', 'Choose a worker from your team.');
  }
  if (worker.id === state.leadProfessional) throw new CaseWorkError('leadProfessional', `${worker.name} already holds case ${record.reference}: choose another worker.`);
  const capacity = await checkCapacity(ctx, worker, points, input.confirmedTotal);
  const reason = String(input.reason ?? '').trim();
  return appendNotifying(
    ctx,
    actor,
    record,
    state,
    {
      type: 'reallocated',
      by: actor.id,
      effectiveOn: ctx.today(),
      data: {
        leadProfessional: worker.id,
        caseloadPoints: points,
        ...(reason ? { reason } : {}),
        ...(capacity.over ? { capacityConfirmed: { total: capacity.total, capacity: capacity.capacity } } : {}),
      },
    },
    idempotencyKey,
    notify,
  );
}
