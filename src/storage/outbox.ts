import { enqueue as enqueueMessage } from '../delivery/outbox';
import { Database } from './database';

/**
 * Messages to send, written in the same transaction as the change that causes them (so a case is
 * never allocated without its e-mail queued, nor an e-mail queued for a case that was not).
 * A payload never carries a child's name or a family's circumstances.
 *
 * The delivery pipeline itself (recipients, claims, outcomes) is src/delivery/outbox.ts; these two
 * are kept for the callers that only queue a message or look at what is queued.
 */
export interface OutboxMessage {
  kind: 'allocation-email' | string;
  caseId?: string;
  payload: Record<string, unknown>;
}

export interface QueuedMessage extends OutboxMessage {
  id: number;
  createdAt: string;
  attempts: number;
}

export async function enqueue(db: Database, message: OutboxMessage): Promise<void> {
  await enqueueMessage(db, message);
}

/** Messages not yet delivered nor failed: due, held back, or waiting for their recipient. */
export async function pendingMessages(db: Database, kind?: string): Promise<QueuedMessage[]> {
  const rows = await db.query<{ id: number; kind: string; case_id: string | null; payload: Record<string, unknown>; created_at: string; attempts: number }>(
    `SELECT id, kind, case_id, payload, created_at, attempts FROM outbox WHERE status IN ('pending', 'waiting') AND ($1::text IS NULL OR kind = $1) ORDER BY id`,
    [kind ?? null],
  );
  return rows.map((r) => ({ id: r.id, kind: r.kind, caseId: r.case_id ?? undefined, payload: r.payload, createdAt: r.created_at, attempts: r.attempts }));
}
