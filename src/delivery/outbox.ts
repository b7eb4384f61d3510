import { randomBytes } from 'node:crypto';
import { Database } from '../storage/database';
import { inChunks } from '../concurrency';

/**
 * The outbox: every proactive message (a card, later a reminder, an escalation, an e-mail) is a row
 * written in the same transaction as the change that causes it, and delivered from here, each once.
 * This module is SQL only: it knows nothing of Teams or Outlook.
 *
 * A row's life:
 *
 *     pending --claim--> (leased) --beginSend--> (sending) --markDelivered--> delivered
 *        ^                  |                        |--retryLater---------> pending (later)
 *        |                  | lease expires          |--markWaiting--------> waiting --releaseWaiting--> pending
 *        |                  v                        |--markFailed---------> failed  --retry--> pending
 *        +------------- claimable again              | lease expires, no outcome
 *                                                    v
 *                                          failed, in doubt (never re-sent by itself)
 *
 * - A recipient's messages go oldest first, one at a time: only the oldest open (pending or waiting)
 *   row of a recipient can be claimed, so two senders never hold two rows of one person, and a row
 *   held back (waiting, or due later) holds back the newer ones behind it.
 * - A claim is a lease: a sender that dies before sending leaves the row to be taken up again once
 *   the lease expires. Every later mark names the claim and is refused once the row has been taken
 *   over by another, so a stale sender never overwrites the new one's outcome.
 * - `send_started_at` is committed before the message is handed to the channel and cleared with
 *   the outcome. A row found still sending after its lease expired is **in doubt**: the sender may
 *   have died after the channel took it but before the outcome was written. Teams' API is not
 *   idempotent, so re-sending could put a second card in a social worker's chat; the row is marked
 *   failed, in doubt, for a person to check and retry (`earlyhelp outbox --failed`). If the sender
 *   was only slow and does come back with an outcome, its outcome still wins: it knows.
 */

/** A person (their personal chat, or mailbox), or a group chat or channel. */
export type Recipient = { staffId: string } | { conversationId: string };

export type OutboxStatus = 'pending' | 'waiting' | 'delivered' | 'failed' | 'cancelled';

export interface NewMessage {
  kind: string;
  /** Whom the message is for; e-mails that carry their own addresses may have none. */
  recipient?: Recipient;
  caseId?: string;
  /** What the handler of `kind` needs; never logged, never printed. */
  payload: Record<string, unknown>;
  /** A second enqueue with the same key adds nothing (e.g. a reminder planned twice). */
  dedupeKey?: string;
  /** Not to be sent before this instant. */
  notBefore?: Date;
}

export interface ClaimedMessage {
  id: number;
  kind: string;
  recipient: Recipient | null;
  caseId?: string;
  payload: Record<string, unknown>;
  /** Sends tried so far, this one not counted. */
  attempts: number;
  createdAt: string;
  /** The claim that holds the row: every mark names it. */
  claim: string;
}

export interface OutboxEntry {
  id: number;
  kind: string;
  recipient: Recipient | null;
  recipientName?: string;
  recipientEmail?: string;
  caseId?: string;
  caseReference?: string;
  status: OutboxStatus;
  /** Failed while being sent, with no outcome: it may or may not have reached the person. */
  inDoubt: boolean;
  attempts: number;
  createdAt: string;
  notBefore: string;
  deliveredAt?: string;
  lastError?: string;
}

/** `now` is given by callers that keep their own clock (the dispatcher, tests); otherwise the database's. */
type When = { now?: Date };

const at = (now?: Date) => (now ? now.toISOString() : null);
const NOW = (n: number) => `COALESCE($${n}::timestamptz, now())`;

/** The condition that lets the holder of claim `$claim` record an outcome: still its row, and not yet settled (or settled only as "in doubt"). */
const HELD = (claim: number) => `claimed_by = $${claim} AND (status = 'pending' OR (status = 'failed' AND send_started_at IS NOT NULL))`;

export const IN_DOUBT_REASON = 'in doubt: the sender stopped after starting to send and before recording the outcome; check the chat, then retry if it did not arrive';

export const RESUMED_REASON = 'resumed: the sender stopped mid-send; sent again (a repeat is a no-op for this kind)';

/**
 * Puts a message in the outbox, in the caller's transaction. Returns its id, or null when a
 * message with the same dedupe key is already there.
 */
export async function enqueue(tx: Database, message: NewMessage): Promise<number | null> {
  const r = message.recipient;
  const rows = await tx.query<{ id: number }>(
    `INSERT INTO outbox (kind, case_id, payload, recipient_staff_id, conversation_id, dedupe_key, not_before)
     VALUES ($1, $2, $3, $4, $5, $6, ${NOW(7)})
     ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
    [
      message.kind,
      message.caseId ?? null,
      JSON.stringify(message.payload),
      r && 'staffId' in r ? r.staffId : null,
      r && 'conversationId' in r ? r.conversationId : null,
      message.dedupeKey ?? null,
      at(message.notBefore),
    ],
  );
  return rows[0]?.id ?? null;
}

/**
 * Queues many messages at once (a scheduler's digests), a few thousand a statement, `atOnce`
 * statements at a time (only where `db` is not a transaction); a message whose dedupe key is
 * already queued is skipped. Returns the dedupe keys newly queued.
 */
export async function enqueueMany(db: Database, messages: readonly NewMessage[], options: { atOnce?: number } = {}): Promise<Set<string>> {
  const queued = new Set<string>();
  const recipient = (m: NewMessage, key: 'staffId' | 'conversationId') => (m.recipient && key in m.recipient ? (m.recipient as Record<string, string>)[key] : null);
  const insert = async (chunk: NewMessage[]): Promise<never[]> => {
    // The payloads go as one text of lines, each parsed once by the server, not inside one JSON
    // document of the whole chunk parsed and then taken apart (JSON has no line breaks of its own).
    const inserted = await db.query<{ dedupe_key: string | null }>(
      `INSERT INTO outbox (kind, case_id, payload, recipient_staff_id, conversation_id, dedupe_key, not_before)
       SELECT u.kind, u.case_id, p.payload::jsonb, u.recipient_staff_id, u.conversation_id, u.dedupe_key, COALESCE(u.not_before, now())
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) WITH ORDINALITY AS u(kind, case_id, recipient_staff_id, conversation_id, dedupe_key, not_before, line)
         JOIN string_to_table($7::text, E'\\n') WITH ORDINALITY AS p(payload, line) ON p.line = u.line
        ORDER BY u.line
       ON CONFLICT (dedupe_key) DO NOTHING RETURNING dedupe_key`,
      [
        chunk.map((m) => m.kind),
        chunk.map((m) => m.caseId ?? null),
        chunk.map((m) => recipient(m, 'staffId')),
        chunk.map((m) => recipient(m, 'conversationId')),
        chunk.map((m) => m.dedupeKey ?? null),
        chunk.map((m) => (m.notBefore ? m.notBefore.toISOString() : null)),
        chunk.map((m) => JSON.stringify(m.payload)).join('\n'),
      ],
    );
    for (const r of inserted) if (r.dedupe_key) queued.add(r.dedupe_key);
    return [];
  };
  // Several chunks at once only outside a transaction (a transaction is one connection), on the caller's word.
  await inChunks(messages, insert, 2000, options.atOnce ?? 1);
  return queued;
}

interface Row {
  id: number;
  kind: string;
  recipient_staff_id: string | null;
  conversation_id: string | null;
  case_id: string | null;
  payload: Record<string, unknown>;
  attempts: number;
  created_at: string;
}

const recipientOf = (r: { recipient_staff_id: string | null; conversation_id: string | null }): Recipient | null =>
  r.recipient_staff_id ? { staffId: r.recipient_staff_id } : r.conversation_id ? { conversationId: r.conversation_id } : null;

export interface ClaimOptions extends When {
  /** Names the sender (host and process); each claim adds its own token to it. */
  claimer: string;
  limit: number;
  leaseMs: number;
  /** Only these kinds (the ones the sender has a handler for). */
  kinds: readonly string[];
  /**
   * Kinds whose send may safely be made again (the channel makes a repeat a no-op, as Graph's
   * `transactionId` does for a calendar event): a row of these a dead sender had started is taken
   * up again, not set aside in doubt.
   */
  resumable?: readonly string[];
}

export interface Claimed {
  messages: ClaimedMessage[];
  /** Rows found in doubt (their sender stopped mid-send) and set aside as failed by this claim. */
  inDoubt: number[];
  /** Rows of resumable kinds a dead sender had started: claimable again, to be sent again. */
  resumed: number[];
}

/**
 * Leases up to `limit` messages that are due, oldest first, at most one per recipient (the oldest
 * open one). `FOR UPDATE SKIP LOCKED` lets several senders claim at once without waiting for or
 * taking each other's rows; an expired lease is taken over. Rows a dead sender had started to send
 * are set aside as in doubt first.
 */
export async function claim(db: Database, options: ClaimOptions): Promise<Claimed> {
  const token = `${options.claimer}#${randomBytes(4).toString('hex')}`;
  return db.transaction(async (tx) => {
    const resumable = options.kinds.filter((k) => options.resumable?.includes(k));
    const resumed = resumable.length
      ? await tx.query<{ id: number }>(
          `UPDATE outbox SET send_started_at = NULL, lease_until = NULL, last_error = $3
            WHERE status = 'pending' AND send_started_at IS NOT NULL AND lease_until <= ${NOW(1)} AND kind = ANY($2::text[])
            RETURNING id`,
          [at(options.now), resumable, RESUMED_REASON],
        )
      : [];
    const inDoubt = await tx.query<{ id: number }>(
      `UPDATE outbox SET status = 'failed', failed_at = ${NOW(1)}, lease_until = NULL, last_error = $3
        WHERE status = 'pending' AND send_started_at IS NOT NULL AND lease_until <= ${NOW(1)} AND kind = ANY($2::text[])
        RETURNING id`,
      [at(options.now), options.kinds, IN_DOUBT_REASON],
    );
    const rows = await tx.query<Row>(
      `WITH due AS (
         SELECT o.id FROM outbox o
          WHERE o.status = 'pending' AND o.kind = ANY($2::text[])
            AND o.not_before <= ${NOW(1)}
            AND (o.lease_until IS NULL OR o.lease_until <= ${NOW(1)})
            AND NOT EXISTS (
              SELECT 1 FROM outbox older
               WHERE older.id < o.id AND older.status IN ('pending', 'waiting') AND older.kind = ANY($2::text[])
                 AND (older.recipient_staff_id = o.recipient_staff_id OR older.conversation_id = o.conversation_id))
          ORDER BY o.id
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE outbox SET claimed_by = $4, lease_until = ${NOW(1)} + $5::double precision * interval '1 millisecond'
         FROM due WHERE outbox.id = due.id
       RETURNING outbox.id, outbox.kind, outbox.recipient_staff_id, outbox.conversation_id, outbox.case_id, outbox.payload, outbox.attempts, outbox.created_at`,
      [at(options.now), options.kinds, options.limit, token, options.leaseMs],
    );
    return {
      inDoubt: inDoubt.map((r) => r.id).sort((a, b) => a - b),
      resumed: resumed.map((r) => r.id).sort((a, b) => a - b),
      messages: rows
        .map((r) => ({ id: r.id, kind: r.kind, recipient: recipientOf(r), ...(r.case_id ? { caseId: r.case_id } : {}), payload: r.payload, attempts: r.attempts, createdAt: r.created_at, claim: token }))
        .sort((a, b) => a.id - b.id),
    };
  });
}

export interface Held extends When {
  id: number;
  claim: string;
}

/**
 * Commits, before the message is handed to the channel, that its send has begun (and renews the
 * lease for the send). False when the claim no longer holds the row: then it must not be sent.
 */
export async function beginSend(db: Database, held: Held & { leaseMs: number }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET send_started_at = ${NOW(3)}, attempts = attempts + 1, lease_until = ${NOW(3)} + $4::double precision * interval '1 millisecond'
      WHERE id = $1 AND claimed_by = $2 AND status = 'pending' AND send_started_at IS NULL RETURNING 1`,
    [held.id, held.claim, at(held.now), held.leaseMs],
  );
  return rows.length === 1;
}

/** Delivered. False when the claim was taken over (the outcome is not the caller's to record). */
export async function markDelivered(db: Database, held: Held & { activityId?: string }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET status = 'delivered', delivered_at = ${NOW(3)}, sent_at = ${NOW(3)}, delivered_activity_id = $4, failed_at = NULL,
            lease_until = NULL, send_started_at = NULL, last_error = NULL
      WHERE id = $1 AND ${HELD(2)} RETURNING 1`,
    [held.id, held.claim, at(held.now), held.activityId ?? null],
  );
  return rows.length === 1;
}

/**
 * Not sent this time (throttled, a transient error, or held back by pacing): due again at
 * `notBefore`, for any sender. `error` is a code or status, never what the message said.
 */
export async function retryLater(db: Database, held: Held & { notBefore: Date; error?: string }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET status = 'pending', not_before = $3, failed_at = NULL, lease_until = NULL, send_started_at = NULL, last_error = COALESCE($4, last_error)
      WHERE id = $1 AND ${HELD(2)} RETURNING 1`,
    [held.id, held.claim, held.notBefore.toISOString(), held.error ?? null],
  );
  return rows.length === 1;
}

/**
 * No longer owed, so never sent: the CAF it asked about was decided while it waited, or the reminder
 * was met before it went. Not a failure: nobody needs to look at it.
 */
export async function markCancelled(db: Database, held: Held & { reason: string }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET status = 'cancelled', cancelled_at = ${NOW(3)}, lease_until = NULL, last_error = $4, send_started_at = NULL
      WHERE id = $1 AND ${HELD(2)} AND send_started_at IS NULL RETURNING 1`,
    [held.id, held.claim, at(held.now), held.reason],
  );
  return rows.length === 1;
}

/**
 * Not deliverable, and retrying will not help (refused, or tried too often); or, with `inDoubt`,
 * possibly delivered: either way a person decides (`earlyhelp outbox --failed`, `retry`).
 */
export async function markFailed(db: Database, held: Held & { reason: string; inDoubt?: boolean }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE outbox SET status = 'failed', failed_at = ${NOW(3)}, lease_until = NULL, last_error = $4,
            send_started_at = CASE WHEN $5::boolean THEN COALESCE(send_started_at, ${NOW(3)}) ELSE NULL END
      WHERE id = $1 AND ${HELD(2)} RETURNING 1`,
    [held.id, held.claim, at(held.now), held.reason, held.inDoubt ?? false],
  );
  return rows.length === 1;
}

const ofRecipient = (recipient: Recipient, n: number) => ('staffId' in recipient ? `recipient_staff_id = $${n}` : `conversation_id = $${n}`);
const idOf = (recipient: Recipient) => ('staffId' in recipient ? recipient.staffId : recipient.conversationId);

/**
 * The recipient cannot be reached (no chat with the bot, or the bot was removed): their open
 * messages wait, not failed, until `releaseWaiting`. With `held`, the claimed row that found out
 * waits too. Rows another sender holds are left to it. Returns how many rows now wait.
 */
export async function markWaiting(db: Database, recipient: Recipient, options: When & { held?: Held; reason?: string; kinds?: readonly string[] } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    let n = 0;
    if (options.held) {
      const own = await tx.query(
        `UPDATE outbox SET status = 'waiting', failed_at = NULL, lease_until = NULL, send_started_at = NULL, last_error = COALESCE($3, last_error)
          WHERE id = $1 AND ${HELD(2)} RETURNING 1`,
        [options.held.id, options.held.claim, options.reason ?? null],
      );
      n += own.length;
    }
    const others = await tx.query(
      `UPDATE outbox SET status = 'waiting', last_error = COALESCE($3, last_error)
        WHERE ${ofRecipient(recipient, 1)} AND status = 'pending' AND send_started_at IS NULL
          AND (claimed_by IS NULL OR lease_until IS NULL OR lease_until <= ${NOW(2)})
          AND ($4::text[] IS NULL OR kind = ANY($4::text[]))
        RETURNING 1`,
      [idOf(recipient), at(options.now), options.reason ?? null, options.kinds ?? null],
    );
    return n + others.length;
  });
}

/**
 * The recipient can be reached again (they opened the bot, or it was added back to the chat):
 * their waiting messages are due now, and go oldest first. Returns how many.
 */
export async function releaseWaiting(db: Database, recipient: Recipient, options: When = {}): Promise<number> {
  const rows = await db.query(
    `UPDATE outbox SET status = 'pending', not_before = ${NOW(2)}, claimed_by = NULL, lease_until = NULL
      WHERE ${ofRecipient(recipient, 1)} AND status = 'waiting' RETURNING 1`,
    [idOf(recipient), at(options.now)],
  );
  return rows.length;
}

/** After a 429, no sender to `destination` sends before `until` (kept if a later hold is already set). */
export async function holdDestination(db: Database, destination: string, until: Date): Promise<void> {
  await db.query(
    `INSERT INTO delivery_holds (destination, until) VALUES ($1, $2)
     ON CONFLICT (destination) DO UPDATE SET until = GREATEST(delivery_holds.until, EXCLUDED.until)`,
    [destination, until.toISOString()],
  );
}

/** Until when senders to `destination` hold off, or null if they need not. */
export async function heldUntil(db: Database, destination: string, options: When = {}): Promise<Date | null> {
  const [row] = await db.query<{ until: string }>(`SELECT until FROM delivery_holds WHERE destination = $1 AND until > ${NOW(2)}`, [destination, at(options.now)]);
  return row ? new Date(row.until) : null;
}

/** One message of a person's, by id (a card acted on names the message it came from): null unless it is theirs and of this kind. */
export async function messageFor(db: Database, id: number, staffId: string, kind: string): Promise<{ id: number; kind: string; caseId?: string; payload: Record<string, unknown>; status: OutboxStatus } | null> {
  const [row] = await db.query<{ id: number; kind: string; case_id: string | null; payload: Record<string, unknown>; status: OutboxStatus }>(
    'SELECT id, kind, case_id, payload, status FROM outbox WHERE id = $1 AND recipient_staff_id = $2 AND kind = $3',
    [id, staffId, kind],
  );
  return row ? { id: row.id, kind: row.kind, ...(row.case_id ? { caseId: row.case_id } : {}), payload: row.payload, status: row.status } : null;
}

/** What waits (pending or waiting), or with `failed`, what failed: for people, so with names and case references, never a payload. */
export async function list(db: Database, options: { failed?: boolean; limit?: number } = {}): Promise<OutboxEntry[]> {
  const rows = await db.query<{
    id: number;
    kind: string;
    recipient_staff_id: string | null;
    conversation_id: string | null;
    name: string | null;
    email: string | null;
    case_id: string | null;
    reference: string | null;
    status: OutboxStatus;
    send_started_at: string | null;
    attempts: number;
    created_at: string;
    not_before: string;
    delivered_at: string | null;
    last_error: string | null;
  }>(
    `SELECT o.id, o.kind, o.recipient_staff_id, o.conversation_id, s.name, s.email, o.case_id, c.reference, o.status, o.send_started_at,
            o.attempts, o.created_at, o.not_before, o.delivered_at, o.last_error
       FROM outbox o LEFT JOIN staff s ON s.id = o.recipient_staff_id LEFT JOIN cases c ON c.id = o.case_id
      WHERE ${options.failed ? `o.status = 'failed'` : `o.status IN ('pending', 'waiting')`}
      ORDER BY o.id LIMIT $1`,
    [options.limit ?? 1000],
  );
  return rows.map((r) => ({
    id: r.id,
    kind: r.kind,
    recipient: recipientOf(r),
    ...(r.name ? { recipientName: r.name } : {}),
    ...(r.email ? { recipientEmail: r.email } : {}),
    ...(r.case_id ? { caseId: r.case_id } : {}),
    ...(r.reference ? { caseReference: r.reference } : {}),
    status: r.status,
    inDoubt: r.status === 'failed' && r.send_started_at !== null,
    attempts: r.attempts,
    createdAt: r.created_at,
    notBefore: r.not_before,
    ...(r.delivered_at ? { deliveredAt: r.delivered_at } : {}),
    ...(r.last_error ? { lastError: r.last_error } : {}),
  }));
}

export type RetryResult = { retried: true; wasInDoubt: boolean } | { retried: false; status: OutboxStatus | 'not found' };

/**
 * A person sends a failed (or waiting) message again, from the start: due now, tries counted
 * afresh. A delivered or already pending message is left as it is.
 */
export async function retry(db: Database, id: number, options: When = {}): Promise<RetryResult> {
  return db.transaction(async (tx) => {
    const [row] = await tx.query<{ status: OutboxStatus; send_started_at: string | null }>('SELECT status, send_started_at FROM outbox WHERE id = $1 FOR UPDATE', [id]);
    if (!row) return { retried: false, status: 'not found' };
    if (row.status !== 'failed' && row.status !== 'waiting') return { retried: false, status: row.status };
    await tx.query(
      `UPDATE outbox SET status = 'pending', not_before = ${NOW(2)}, attempts = 0, claimed_by = NULL, lease_until = NULL, send_started_at = NULL, failed_at = NULL
        WHERE id = $1`,
      [id, at(options.now)],
    );
    return { retried: true, wasInDoubt: row.status === 'failed' && row.send_started_at !== null };
  });
}

/** How many rows stand in each status (for the log, a health check and tests). */
export async function countByStatus(db: Database): Promise<Record<OutboxStatus, number>> {
  const rows = await db.query<{ status: OutboxStatus; n: number }>('SELECT status, count(*)::int AS n FROM outbox GROUP BY status');
  const counts: Record<OutboxStatus, number> = { pending: 0, waiting: 0, delivered: 0, failed: 0, cancelled: 0 };
  for (const r of rows) counts[r.status] = r.n;
  return counts;
}

/** Where the message queued under this key stands (delivered, waiting ...), or null if there is none. */
export async function statusByDedupeKey(db: Database, dedupeKey: string): Promise<string | null> {
  const [row] = await db.query<{ status: string }>('SELECT status FROM outbox WHERE dedupe_key = $1', [dedupeKey]);
  return row?.status ?? null;
}

/** A message not yet delivered nor failed (due, held back, or waiting for its recipient), as tests and tools read it. */
export interface QueuedMessage {
  id: number;
  kind: string;
  caseId?: string;
  payload: Record<string, unknown>;
  createdAt: string;
  attempts: number;
}

export async function pendingMessages(db: Database, kind?: string): Promise<QueuedMessage[]> {
  const rows = await db.query<{ id: number; kind: string; case_id: string | null; payload: Record<string, unknown>; created_at: string; attempts: number }>(
    `SELECT id, kind, case_id, payload, created_at, attempts FROM outbox WHERE status IN ('pending', 'waiting') AND ($1::text IS NULL OR kind = $1) ORDER BY id`,
    [kind ?? null],
  );
  return rows.map((r) => ({ id: r.id, kind: r.kind, caseId: r.case_id ?? undefined, payload: r.payload, createdAt: r.created_at, attempts: r.attempts }));
}
