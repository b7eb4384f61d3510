import type { NewCaseEvent } from '../caseEvents';
import { KeyedSemaphore } from '../concurrency';
import { enqueue, enqueueMany } from '../delivery/outbox';
import { createCaseLog, IdempotencyConflictError, VersionConflictError } from '../storage/caseLog';
import { reminderMessage } from './reminderPayload';
import { cachedSnapshotOf } from './snapshotCache';
import type { SweepContext, SweptCase } from './sweep';
import type { PlannedNotification } from './types';

/**
 * How a sweep writes its escalations: each with its `escalated` event on the case in the same
 * transaction as its card (the escalation process of seed 000/002 starts with the card that tells
 * the manager, or neither), many cases a transaction, queued as the sweep reads its cases.
 */

/** Escalations a transaction carries: a few statements and one commit for many, not several each. */
const ESCALATIONS_PER_TRANSACTION = 500;
/** Transactions of escalations at once on a server: each over other cases, so they never wait for each other. */
const ESCALATION_TRANSACTIONS_AT_ONCE = 2;

/**
 * Queues a sweep's escalations as its cases are read, each with its `escalated` event in the same
 * transaction, a few hundred a transaction, two transactions at once on a server. A case's snapshot
 * takes in the escalations written, so that its next time is set, and it is kept, as it now is.
 * `done` answers the dedupe keys newly queued, once all are written (or the first failure).
 */
export function escalationQueue(ctx: SweepContext, holder: string) {
  const planned: PlannedNotification[] = [];
  const queued = new Set<string>();
  const writing: Array<Promise<void>> = [];
  const turns = new KeyedSemaphore(ctx.db.kind === 'postgres' ? ESCALATION_TRANSACTIONS_AT_ONCE : 1);
  const inTurn = async (write: () => Promise<void>) => {
    const release = await turns.acquire('escalations');
    try {
      await write();
    } finally {
      release();
    }
  };
  const write = async (batch: PlannedNotification[], byId: ReadonlyMap<string, SweptCase>) => {
    // A long sweep keeps its lease: another instance may take it over only from a sweeper that died.
    await ctx.store.takeLease(holder);
    for (const { n, outcome } of await escalationBatch(ctx, batch, byId)) {
      if (outcome.queued) queued.add(n.dedupeKey);
      if (outcome.version === undefined) continue;
      const swept = byId.get(n.items[0].caseId)!;
      const s = swept.snapshot;
      s.version = outcome.version;
      s.escalated = new Set([...s.escalated, n.items[0].obligationId]);
      // The `escalated` event is dated today: what is kept holds from today.
      if (swept.validity.from === null || swept.validity.from < n.day) swept.validity = { ...swept.validity, from: n.day };
      swept.escalated = true;
      swept.toKeep = cachedSnapshotOf(s, ctx.policy) ?? undefined;
    }
  };
  return {
    planned,
    /** Queues these escalations of these cases (a chunk read). */
    add(escalations: readonly PlannedNotification[], cases: readonly SweptCase[]): void {
      if (escalations.length === 0) return;
      planned.push(...escalations);
      const byId = new Map(cases.map((c) => [c.snapshot.caseId, c]));
      // Whole cases a transaction, in the order of their ids: two sweepers at once lock cases in one order.
      const byCase = new Map<string, PlannedNotification[]>();
      for (const n of escalations) {
        const caseId = n.items[0].caseId;
        const list = byCase.get(caseId);
        if (list) list.push(n);
        else byCase.set(caseId, [n]);
      }
      let batch: PlannedNotification[] = [];
      const flush = () => {
        const full = batch;
        const written = inTurn(() => write(full, byId));
        // Handled here so that a failure waits for `done` rather than ending the process.
        written.catch(() => undefined);
        writing.push(written);
        batch = [];
      };
      for (const caseId of [...byCase.keys()].sort()) {
        batch.push(...byCase.get(caseId)!);
        if (batch.length >= ESCALATIONS_PER_TRANSACTION) flush();
      }
      if (batch.length) flush();
    },
    async done(): Promise<Set<string>> {
      await Promise.all(writing);
      return queued;
    },
    /** Once every write begun has ended, however. */
    async settled(): Promise<void> {
      await Promise.allSettled(writing);
    },
  };
}

interface EscalationOutcome {
  queued: boolean;
  /** The case's version once its `escalated` event is written; unset when it was not (the case changed meanwhile: the next sweep sees it again). */
  version?: number;
}

/**
 * Escalations, each with its `escalated` event and its card in one transaction, or neither: many
 * cases a statement (a case's second escalation of the morning in the next, at the version the
 * first left), or, should that fail, each on its own. What came of each, in order.
 */
async function escalationBatch(ctx: SweepContext, batch: PlannedNotification[], byId: ReadonlyMap<string, SweptCase>): Promise<Array<{ n: PlannedNotification; outcome: EscalationOutcome }>> {
  const escalated = (n: PlannedNotification): NewCaseEvent => ({ type: 'escalated', by: 'system', effectiveOn: n.day, data: { obligation: n.items[0].obligationId, to: n.recipient } });
  const outcomes = new Map<PlannedNotification, EscalationOutcome>();
  try {
    await ctx.db.transaction(async (tx) => {
      outcomes.clear();
      const caseLog = createCaseLog(tx);
      const versions = new Map<string, number | null>();
      let pending = batch;
      while (pending.length) {
        const round: PlannedNotification[] = [];
        const later: PlannedNotification[] = [];
        const inRound = new Set<string>();
        for (const n of pending) {
          const caseId = n.items[0].caseId;
          if (versions.get(caseId) === null) outcomes.set(n, { queued: false });
          else if (inRound.has(caseId)) later.push(n);
          else {
            round.push(n);
            inRound.add(caseId);
          }
        }
        const written = await caseLog.appendEach(
          round.map((n) => {
            const caseId = n.items[0].caseId;
            return { caseId, expectedVersion: versions.get(caseId) ?? byId.get(caseId)!.snapshot.version, events: [escalated(n)], idempotencyKey: n.dedupeKey };
          }),
          { actor: 'scheduler' },
        );
        const cards = await enqueueMany(tx, round.filter((n) => written.has(n.items[0].caseId)).map(reminderMessage));
        for (const n of round) {
          const caseId = n.items[0].caseId;
          const version = written.get(caseId);
          // A case that moved on meanwhile is escalated by the next sweep, which sees it again.
          versions.set(caseId, version ?? null);
          outcomes.set(n, version === undefined ? { queued: false } : { queued: cards.has(n.dedupeKey), version });
        }
        pending = later;
      }
    });
  } catch {
    // One that failed (an escalation written before, then entered in error, say) takes the others
    // with it: each again on its own, so that one fault holds up no other escalation.
    outcomes.clear();
    const versions = new Map<string, number>();
    for (const n of batch) {
      const s = byId.get(n.items[0].caseId)!.snapshot;
      const outcome = await queueEscalation(ctx, n, escalated(n), { caseId: s.caseId, reference: s.reference, version: versions.get(s.caseId) ?? s.version });
      if (outcome.version !== undefined) versions.set(s.caseId, outcome.version);
      outcomes.set(n, outcome);
    }
  }
  return batch.map((n) => ({ n, outcome: outcomes.get(n)! }));
}

/** One escalation: the `escalated` event and its card in one transaction, or neither. */
async function queueEscalation(ctx: SweepContext, n: PlannedNotification, event: NewCaseEvent, c: { caseId: string; reference: string; version: number }): Promise<EscalationOutcome> {
  let queued = false;
  try {
    // The escalation process starts on the case (seed 000/002) with the card that tells the manager, or neither.
    const written = await ctx.caseLog.append(c.caseId, c.version, [event], {
      actor: 'scheduler',
      idempotencyKey: n.dedupeKey,
      // The case as the sweep read it, so that the log does not read it back: only the version written is used.
      previous: { caseId: c.caseId, reference: c.reference, version: c.version, events: [] },
      alsoInTransaction: async (tx) => {
        queued = (await enqueue(tx, reminderMessage(n))) !== null;
      },
    });
    return { queued: queued && !written.replayed, version: written.replayed ? undefined : written.version };
  } catch (e) {
    if (e instanceof VersionConflictError || e instanceof IdempotencyConflictError) return { queued: false };
    throw e;
  }
}
