import os from 'node:os';
import { Database } from '../storage/database';
import { beginSend, claim, ClaimedMessage, heldUntil, holdDestination, markCancelled, markDelivered, markFailed, markWaiting, retryLater } from './outbox';
import { Pacer, PacingLimits, TEAMS_PACING } from './pacing';

/**
 * The dispatcher: the one sender of the outbox for a destination (Teams now, a mailbox later).
 * It claims a batch of due messages (one per recipient, oldest first), asks the pacer when each may
 * go, hands each to the handler of its kind, and records what the handler says happened.
 *
 * The handler knows the channel (bot/delivery.ts for Teams) and says what happened in the
 * channel's terms turned into one of four outcomes; the dispatcher knows what to do with each:
 *
 * - delivered: recorded, with the channel's id for the message.
 * - retry after (throttled, or a transient error the channel says did not deliver the message):
 *   due again after the wait and a jittered, growing backoff; after `maxAttempts` sends it is
 *   failed instead. A throttle (429) also holds every sender to the destination, on every
 *   instance, until the wait has passed.
 * - unreachable: the recipient's messages wait until they can be reached (releaseWaiting). Never a
 *   failure, never retried on a timer.
 * - failed: a person decides (`earlyhelp outbox --failed`); `inDoubt` when it may have been
 *   delivered, which is never retried by itself: a duplicate card is worse than a late one.
 *
 * Several instances share the outbox through their claims (src/delivery/outbox.ts). Pacing is
 * each instance's own: with two instances the tenant-wide 30 a second can be reached twice over
 * and a person's messages, which the instances may take in turns, are paced by each for its own
 * sends only; Teams' 429 then holds every instance (the hold is kept in the database).
 * `stop()` (a restart) lets the sends in flight record their outcome; only a crash in the moment
 * between a request leaving and its outcome being written leaves a message in doubt, at most
 * `concurrency` of them.
 */

export type DeliveryOutcome =
  | { delivered: true; activityId?: string }
  | { retryAfterMs?: number; reason: string; throttled?: boolean }
  | { unreachable: true; reason: string }
  | { failed: true; reason: string; inDoubt?: boolean }
  /** No longer owed (decided, met or withdrawn meanwhile): never sent, and not a failure. The handler must not have begun a send. */
  | { cancelled: true; reason: string };

/**
 * What a handler is given besides its message. `begin()` commits that the send is starting (and
 * checks the claim still holds): a handler calls it immediately before the one step that cannot
 * be undone (the HTTP request), after every lookup, so that a crash leaves as few messages "in
 * doubt" as possible; if it answers false the handler must not send. A handler that returns
 * without calling it must not have sent anything (e.g. no chat with the person yet).
 */
export interface SendControl {
  begin(): Promise<boolean>;
}

export type DeliveryHandler = (message: ClaimedMessage, control: SendControl) => Promise<DeliveryOutcome>;

/** Log lines carry ids, kinds, statuses and codes only (pino's signature). */
export interface DeliveryLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

const quiet: DeliveryLog = { debug() {}, info() {}, warn() {}, error() {} };

export interface DispatcherOptions {
  db: Database;
  /** One handler per kind of message; the dispatcher claims only these kinds. */
  handlers: Record<string, DeliveryHandler>;
  /** Kinds whose handler may safely send again what a dead sender had begun (see `claim`'s `resumable`). */
  resumableKinds?: readonly string[];
  /** Whose rate limits and 429 hold these messages share. */
  destination?: string;
  /** Names this sender in the outbox (claimed_by). Default: host and process id. */
  claimer?: string;
  /** Messages claimed at a time (each for a different recipient). */
  batchSize?: number;
  /**
   * Messages being sent at once. Also how many a crash can leave in doubt at worst: 4 sends at
   * Teams' usual latency make 10 to 20 a second, within its 30 a second for the tenant.
   */
  concurrency?: number;
  /** How long a claim holds a message; a sender that dies is taken over after this. */
  leaseMs?: number;
  /** Sends tried before a message that keeps being refused for a transient reason is failed. */
  maxAttempts?: number;
  /** Backoff between tries: `baseMs` doubling with each try, at most `maxMs`, jittered. */
  backoff?: { baseMs: number; maxMs: number };
  limits?: PacingLimits;
  /** A message the pacer would hold longer than this is given back, due at its slot. */
  maxPacingWaitMs?: number;
  /** How often the loop looks for due messages when nobody pokes it. */
  pollMs?: number;
  clock?: () => number;
  random?: () => number;
  log?: DeliveryLog;
}

export interface RunSummary {
  claimed: number;
  delivered: number;
  retrying: number;
  waiting: number;
  failed: number;
  /** No longer owed when their turn came: never sent. */
  cancelled: number;
  /** Set aside by this run's claim: a dead sender had started to send them. */
  inDoubt: number;
  /** Given back unsent (pacing, or stopping), or no longer this sender's. */
  skipped: number;
  /** When the destination is held (after a 429), until when. */
  heldUntil?: number;
  /** The earliest instant a message this run put back is due again. */
  nextDueAt?: number;
}

export interface Dispatcher {
  /** Runs the loop until `stop`. */
  start(): void;
  /** Ends the loop once the sends in flight have their outcome; messages not yet begun are given back. */
  stop(): Promise<void>;
  /** Looks for due messages now (after enqueueing, or when someone opens the bot). */
  poke(): void;
  /** One claim and its sends, for tests and the command line. */
  runOnce(): Promise<RunSummary>;
  readonly claimer: string;
}

/** A conversation's key for pacing: a person's personal chat, or the chat itself. */
const pacingKey = (m: ClaimedMessage) => (m.recipient ? ('staffId' in m.recipient ? `staff:${m.recipient.staffId}` : `conversation:${m.recipient.conversationId}`) : `message:${m.id}`);

/**
 * The wait before try number `attempt` (1-based) is repeated: the channel's Retry-After if it
 * gave one, then up to `baseMs * 2^(attempt-1)` (at most `maxMs`) more, drawn at random so that
 * senders held together do not come back together.
 */
export function backoffMs(attempt: number, retryAfterMs: number | undefined, backoff: { baseMs: number; maxMs: number }, random: () => number): number {
  const ceiling = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(0, retryAfterMs ?? 0) + Math.round(random() * ceiling);
}

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const db = options.db;
  const destination = options.destination ?? 'teams';
  const claimer = options.claimer ?? `${os.hostname()}:${process.pid}`;
  const kinds = Object.keys(options.handlers);
  const batchSize = options.batchSize ?? 8;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const leaseMs = options.leaseMs ?? 60_000;
  const maxAttempts = options.maxAttempts ?? 8;
  const backoff = options.backoff ?? { baseMs: 1_000, maxMs: 5 * 60_000 };
  const maxPacingWaitMs = options.maxPacingWaitMs ?? Math.min(10_000, leaseMs / 3);
  const pollMs = options.pollMs ?? 1_000;
  const clock = options.clock ?? Date.now;
  const random = options.random ?? Math.random;
  const log = options.log ?? quiet;
  const pacer = new Pacer(options.limits ?? TEAMS_PACING);
  const date = (ms: number) => new Date(ms);
  /**
   * Leases, due times and holds are judged by the database's clock, which every instance shares;
   * this process's clock paces sends and times backoffs. A test that gives a clock judges both by it.
   */
  const dbNow = () => (options.clock ? new Date(clock()) : undefined);

  let stopping = false;
  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let poked = false;
  const sleepers = new Set<() => void>();

  /** Sleeps until `until`, or less if the dispatcher is stopping (then resolves false). */
  const sleepUntil = (until: number) =>
    new Promise<boolean>((resolve) => {
      const ms = until - clock();
      if (stopping) return resolve(false);
      if (ms <= 0) return resolve(true);
      const done = () => {
        clearTimeout(timer);
        sleepers.delete(done);
        resolve(!stopping);
      };
      const timer = setTimeout(done, ms);
      sleepers.add(done);
    });

  type Result = 'delivered' | 'retrying' | 'waiting' | 'failed' | 'skipped' | 'cancelled';

  async function giveBack(m: ClaimedMessage, notBefore: number): Promise<Result> {
    await retryLater(db, { id: m.id, claim: m.claim, notBefore: date(notBefore), now: dbNow() });
    return 'skipped';
  }

  async function send(m: ClaimedMessage, summary: RunSummary): Promise<Result> {
    const handler = options.handlers[m.kind];
    const key = pacingKey(m);
    let began: boolean | undefined;
    /** Set when the pacing sent the message back unsent (its slot too far off, or the sender stopping). */
    let pacedBack: number | undefined;
    const control: SendControl = {
      begin: async () => {
        if (began !== undefined) return began;
        // The slot is reserved here, after the handler's lookups and just before the request, so
        // that what reaches Teams keeps the pace booked (a slot booked earlier drifts by the lookups).
        for (;;) {
          const slot = pacer.reserve(key, clock(), maxPacingWaitMs);
          if (typeof slot !== 'number') pacedBack = slot.notBefore;
          else if (!(await sleepUntil(slot))) pacedBack = clock();
          // A 429 seen meanwhile (by this sender) holds this message too.
          else if (pacer.heldUntil > clock()) continue;
          break;
        }
        if (pacedBack !== undefined) return (began = false);
        began = await beginSend(db, { id: m.id, claim: m.claim, leaseMs, now: dbNow() });
        return began;
      },
    };
    let outcome: DeliveryOutcome;
    try {
      outcome = await handler(m, control);
    } catch (e) {
      // The handler did not say whether the message went: if it had begun to send, it may have.
      const name = (e as Error)?.name ?? typeof e;
      outcome = began ? { failed: true, inDoubt: true, reason: `handler error: ${name}` } : { reason: `handler error: ${name}` };
    }
    if (pacedBack !== undefined) return giveBack(m, pacedBack);
    if (began === false) {
      log.warn({ outboxId: m.id, kind: m.kind }, 'outbox: claim taken over before sending; not sent');
      return 'skipped';
    }
    const held = { id: m.id, claim: m.claim, now: dbNow() };
    const attempt = m.attempts + (began ? 1 : 0);
    let recorded: boolean;
    let result: Result;
    if ('delivered' in outcome) {
      recorded = await markDelivered(db, { ...held, activityId: outcome.activityId });
      result = 'delivered';
    } else if ('unreachable' in outcome) {
      recorded = m.recipient ? (await markWaiting(db, m.recipient, { held, reason: outcome.reason, kinds, now: held.now })) > 0 : await markFailed(db, { ...held, reason: outcome.reason });
      result = m.recipient ? 'waiting' : 'failed';
    } else if ('cancelled' in outcome && !began) {
      recorded = await markCancelled(db, { ...held, reason: outcome.reason });
      result = 'cancelled';
    } else if ('cancelled' in outcome) {
      recorded = await markFailed(db, { ...held, reason: `cancelled after the send began: ${outcome.reason}`, inDoubt: true });
      result = 'failed';
    } else if ('failed' in outcome) {
      recorded = await markFailed(db, { ...held, reason: outcome.reason, inDoubt: outcome.inDoubt });
      result = 'failed';
    } else if (attempt >= maxAttempts) {
      recorded = await markFailed(db, { ...held, reason: `gave up after ${attempt} tries: ${outcome.reason}` });
      result = 'failed';
    } else {
      const wait = backoffMs(attempt, outcome.retryAfterMs, backoff, random);
      if (outcome.throttled) {
        const until = clock() + Math.max(outcome.retryAfterMs ?? 0, backoff.baseMs);
        pacer.hold(until);
        await holdDestination(db, destination, date(until));
        summary.heldUntil = Math.max(summary.heldUntil ?? 0, until);
      }
      const notBefore = clock() + wait;
      recorded = await retryLater(db, { ...held, notBefore: date(notBefore), error: outcome.reason });
      summary.nextDueAt = Math.min(summary.nextDueAt ?? Infinity, notBefore);
      result = 'retrying';
    }
    const reason = 'reason' in outcome ? outcome.reason : undefined;
    if (!recorded) log.warn({ outboxId: m.id, kind: m.kind, outcome: result, reason }, 'outbox: outcome not recorded: the claim was taken over');
    else log[result === 'delivered' ? 'debug' : result === 'failed' ? 'warn' : 'info']({ outboxId: m.id, kind: m.kind, attempt, outcome: result, reason }, `outbox: ${result}`);
    return result;
  }

  async function runOnce(): Promise<RunSummary> {
    const summary: RunSummary = { claimed: 0, delivered: 0, retrying: 0, waiting: 0, failed: 0, cancelled: 0, inDoubt: 0, skipped: 0 };
    const hold = await heldUntil(db, destination, { now: dbNow() });
    if (hold) {
      pacer.hold(hold.getTime());
      summary.heldUntil = hold.getTime();
      return summary;
    }
    const claimed = await claim(db, { claimer, limit: batchSize, leaseMs, kinds, resumable: options.resumableKinds, now: dbNow() });
    summary.claimed = claimed.messages.length;
    summary.inDoubt = claimed.inDoubt.length;
    for (const id of claimed.inDoubt) log.warn({ outboxId: id, status: 'failed' }, 'outbox: in doubt (its sender stopped mid-send); not re-sent, left for a person to check');
    for (const id of claimed.resumed) log.info({ outboxId: id }, 'outbox: resumed (its sender stopped mid-send; a repeat is a no-op for its kind)');
    const queue = [...claimed.messages];
    let firstError: unknown;
    const worker = async () => {
      for (let m = queue.shift(); m; m = queue.shift()) {
        try {
          summary[await send(m, summary)]++;
        } catch (e) {
          // Most likely the database went away: the claim is a lease, so the message is taken up again.
          firstError ??= e;
          summary.skipped++;
        }
      }
    };
    // Every send finishes (or fails) before the run ends, so that `stop` waits for them all.
    await Promise.all(Array.from({ length: Math.min(concurrency, queue.length) }, worker));
    if (firstError !== undefined) throw firstError;
    return summary;
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      let next = clock() + pollMs;
      try {
        const summary = await runOnce();
        failures = 0;
        if (summary.claimed > 0 && summary.skipped < summary.claimed) continue;
        if (summary.heldUntil) next = Math.min(next, summary.heldUntil);
        if (summary.nextDueAt) next = Math.min(next, summary.nextDueAt);
      } catch (e) {
        // The database is away, most likely: claims are leases, so nothing is lost; try again later.
        failures++;
        log.error({ err: (e as Error)?.name, code: (e as { code?: string })?.code, failures }, 'outbox: dispatcher run failed');
        next = clock() + Math.min(30_000, pollMs * 2 ** Math.min(failures, 5));
      }
      if (poked) {
        poked = false;
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, next - clock()));
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
      poked = false;
    }
  }

  return {
    claimer,
    runOnce,
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
    },
    poke() {
      poked = true;
      wake?.();
    },
    async stop() {
      stopping = true;
      wake?.();
      for (const sleeper of [...sleepers]) sleeper();
      await loop;
      loop = null;
    },
  };
}
