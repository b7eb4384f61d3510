import { appendNotifying, caseFor, CaseWorkContext, CaseWorkError, orReplay, requireDate, workDate } from './caseWork';
import { NewCaseEvent } from './caseEvents';
import { CaseState, caseState } from './caseState';
import { LocalDate } from './localDate';
import { StaffMember } from './staff';
import { CaseRecord, retryOnConflict } from './storage/caseLog';

/**
 * Case supervision (seed 000: monthly; the record returned to the worker within 10 working days and
 * authorised within 20). A manager supervises one worker and discusses some of their cases: each
 * case discussed gets the supervision on its log, and later the record returned and authorised,
 * which meet its three supervision obligations.
 */
export type SupervisionStage = 'held' | 'returned' | 'authorised';

export interface SupervisionInput {
  stage: SupervisionStage;
  /** The cases discussed (one worker's). */
  caseIds: string[];
  /** The day it happened: the supervision held, the record returned, or the record authorised. */
  date: string;
  /** For a record returned or authorised: the supervision it is the record of. */
  supervisionDate?: string;
}

const MAX_CASES = 50;

const STAGE_EVENTS = { held: 'supervision-held', returned: 'supervision-record-returned', authorised: 'supervision-record-authorised' } as const;

/** Records a supervision stage on every case discussed; all are checked before any is written. Returns the cases as written. */
export async function recordSupervision(ctx: CaseWorkContext, actor: StaffMember, input: SupervisionInput, idempotencyKey?: string): Promise<CaseRecord[]> {
  const caseIds = [...new Set(input.caseIds ?? [])];
  if (caseIds.length === 0) throw new CaseWorkError('caseIds', 'Choose the case or cases discussed.');
  if (caseIds.length > MAX_CASES) throw new CaseWorkError('caseIds', `At most ${MAX_CASES} cases at one supervision.`);
  const today = ctx.today();
  const cases = await Promise.all(caseIds.map((id) => caseFor(ctx, actor, id, 'supervise')));
  const workers = new Set(cases.map((c) => c.state.leadProfessional));
  if (workers.size > 1) throw new CaseWorkError('caseIds', 'A supervision is of one worker: choose cases that one worker holds.');
  const keyOf = (caseId: string) => (idempotencyKey ? `${idempotencyKey}:${caseId}` : undefined);
  // Every case checked before any is written; a case this very request already wrote is answered as it was.
  const plans = await Promise.all(
    cases.map(async ({ record, state }) => {
      try {
        return { record, event: supervisionEvent(actor, record, state, input, today) };
      } catch (e) {
        const done = e instanceof CaseWorkError ? await ctx.caseLog.replayOf(keyOf(record.caseId), { caseId: record.caseId, type: STAGE_EVENTS[input.stage], by: actor.id }) : null;
        if (done) return { record: done, event: null };
        throw e;
      }
    }),
  );
  // One case at a time, each under its own key: a retry after a failure part way writes the rest, never one twice.
  const written: CaseRecord[] = [];
  for (const { record, event } of plans) {
    const key = keyOf(record.caseId);
    if (!event) {
      written.push(record);
      continue;
    }
    written.push(
      await orReplay(ctx, key, { caseId: record.caseId, type: event.type, by: actor.id }, () =>
        retryOnConflict(async () => {
          const now = await caseFor(ctx, actor, record.caseId, 'supervise');
          const again = now.record.version === record.version ? event : supervisionEvent(actor, now.record, now.state, input, today);
          return appendNotifying(ctx, actor, now.record, now.state, again, key, undefined);
        }),
      ),
    );
  }
  return written;
}

/** The event a stage writes on one case, or the reason it cannot. */
function supervisionEvent(actor: StaffMember, record: CaseRecord, state: CaseState, input: SupervisionInput, today: LocalDate): NewCaseEvent {
  if (state.status === 'closed') throw new CaseWorkError('caseIds', `Case ${record.reference} is closed.`);
  if (input.stage === 'held') {
    const on = workDate(input.date, 'date', 'The supervision date', state, today);
    if (state.supervisions.some((s) => s.on === on)) throw new CaseWorkError('date', `A supervision on ${on} is already recorded on case ${record.reference}.`);
    return { type: 'supervision-held', by: actor.id, effectiveOn: on, data: { supervisor: actor.id } };
  }
  const supervisionDate = requireDate(input.supervisionDate, 'supervisionDate', 'The supervision');
  const held = state.supervisions.find((s) => s.on === supervisionDate);
  if (!held) throw new CaseWorkError('supervisionDate', `No supervision on ${supervisionDate} is recorded on case ${record.reference}.`);
  const on = workDate(input.date, 'date', input.stage === 'returned' ? 'The date the record was returned' : 'The date the record was authorised', state, today);
  if (on < supervisionDate) throw new CaseWorkError('date', 'The record cannot be dated before the supervision.');
  if (input.stage === 'returned') {
    if (held.returnedOn) throw new CaseWorkError('supervisionDate', `The record of the supervision on ${supervisionDate} was already returned on case ${record.reference}.`);
    return { type: 'supervision-record-returned', by: actor.id, effectiveOn: on, data: { supervisionDate } };
  }
  if (!held.returnedOn) throw new CaseWorkError('supervisionDate', 'Record the supervision record as returned to the worker before authorising it.');
  if (held.authorisedOn) throw new CaseWorkError('supervisionDate', `The record of the supervision on ${supervisionDate} was already authorised on case ${record.reference}.`);
  if (on < held.returnedOn) throw new CaseWorkError('date', 'The record cannot be authorised before it was returned.');
  return { type: 'supervision-record-authorised', by: actor.id, effectiveOn: on, data: { supervisionDate } };
}

/** A supervision's record still to return or authorise, as a manager's list shows it: one worker, one day, its cases. */
export interface SupervisionOutstanding {
  worker: string;
  on: LocalDate;
  stage: 'returned' | 'authorised';
  caseIds: string[];
  references: string[];
}

/** Across some cases, the supervision records still to return or authorise, grouped by worker and day, oldest first. */
export function supervisionsOutstanding(records: readonly CaseRecord[]): SupervisionOutstanding[] {
  const groups = new Map<string, SupervisionOutstanding>();
  for (const record of records) {
    const state = caseState(record.events);
    if (state.status === 'closed') continue;
    for (const s of state.supervisions) {
      if (s.authorisedOn) continue;
      const stage = s.returnedOn ? 'authorised' : 'returned';
      const key = `${state.leadProfessional}|${s.on}|${stage}`;
      const group = groups.get(key) ?? { worker: state.leadProfessional, on: s.on, stage, caseIds: [], references: [] };
      group.caseIds.push(record.caseId);
      group.references.push(record.reference);
      groups.set(key, group);
    }
  }
  return [...groups.values()].sort((a, b) => (a.on < b.on ? -1 : a.on > b.on ? 1 : a.worker.localeCompare(b.worker)));
}
