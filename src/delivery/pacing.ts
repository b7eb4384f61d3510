/**
 * Pacing: when the next message may go, so that a destination's rate limits are kept rather than
 * found out by a 429. Pure arithmetic on instants (milliseconds); no clock, no I/O.
 *
 * Teams' documented limits for a bot's proactive messages
 * (https://learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit): per conversation
 * 7 in 1 s, 8 in 2 s, 60 in 30 s and 1,800 in an hour; about 30 a second per app per tenant over
 * all conversations.
 */

/** At most `count` sends in any `windowMs` (a sliding window: any interval of that length). */
export interface RateWindow {
  count: number;
  windowMs: number;
}

export interface PacingLimits {
  perConversation: readonly RateWindow[];
  global: readonly RateWindow[];
}

export const TEAMS_LIMITS: PacingLimits = {
  perConversation: [
    { count: 7, windowMs: 1_000 },
    { count: 8, windowMs: 2_000 },
    { count: 60, windowMs: 30_000 },
    { count: 1_800, windowMs: 3_600_000 },
  ],
  global: [{ count: 30, windowMs: 1_000 }],
};

/**
 * What the dispatcher books by default: Teams' limits less a margin. A slot is booked when a send
 * starts, and the request reaches Teams some milliseconds later (the claim's write, the HTTPS
 * request), by varying amounts: booked at exactly 30 a second, 31 can land inside one second and
 * draw a 429, which holds every sender. A twentieth off the global rate, and one off each
 * per-conversation count, keeps arrivals inside the limits.
 */
export const TEAMS_PACING: PacingLimits = {
  perConversation: TEAMS_LIMITS.perConversation.map((w) => ({ count: Math.max(1, w.count - Math.max(1, Math.floor(w.count / 20))), windowMs: w.windowMs })),
  global: TEAMS_LIMITS.global.map((w) => ({ count: Math.max(1, Math.floor(w.count * 0.95)), windowMs: w.windowMs })),
};

/** How many of the ascending `times` are at or before `x`. */
function countUpTo(times: readonly number[], x: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Sends in the window that ends at `s`: the half-open interval (s - windowMs, s]. */
const sendsInWindowEndingAt = (times: readonly number[], windowMs: number, s: number) => countUpTo(times, s) - countUpTo(times, s - windowMs);

/**
 * Whether one more send at `t` keeps `window`, given the sends (past and already reserved) at
 * `times`: every window that would contain `t` must hold fewer than `count` already.
 *
 * fitsWindow([0, 100, 200, 300, 400, 500, 600], { count: 7, windowMs: 1000 }, 999) === false
 * fitsWindow([0, 100, 200, 300, 400, 500, 600], { count: 7, windowMs: 1000 }, 1000) === true
 */
export function fitsWindow(times: readonly number[], window: RateWindow, t: number): boolean {
  // The windows containing t end in [t, t + windowMs); their count only rises where a send enters.
  if (sendsInWindowEndingAt(times, window.windowMs, t) >= window.count) return false;
  for (let i = countUpTo(times, t); i < times.length && times[i] < t + window.windowMs; i++) {
    if (sendsInWindowEndingAt(times, window.windowMs, times[i]) >= window.count) return false;
  }
  return true;
}

/**
 * The earliest instant at or after `from` at which one more send keeps every window, given the
 * sends at `times` (ascending; reservations in the future included). It is `from` or the moment an
 * earlier send leaves a window.
 *
 * earliestSlot([0, 100, 200, 300, 400, 500, 600], [{ count: 7, windowMs: 1000 }], 650) === 1000
 */
export function earliestSlot(times: readonly number[], windows: readonly RateWindow[], from: number): number {
  const fitsAll = (t: number) => windows.every((w) => fitsWindow(times, w, t));
  if (fitsAll(from)) return from;
  const candidates = new Set<number>();
  for (const w of windows) for (const h of times) if (h + w.windowMs > from) candidates.add(h + w.windowMs);
  for (const t of [...candidates].sort((a, b) => a - b)) if (fitsAll(t)) return t;
  // Unreachable: after the last send has left every window, any instant fits.
  return Math.max(from, ...times.map((h) => h + Math.max(...windows.map((w) => w.windowMs))));
}

/** What a pacer remembers: the sends made or reserved, per conversation and over all, and a hold. */
export interface PacerState {
  conversations: Map<string, number[]>;
  global: number[];
  /** After a 429: nothing is sent before this instant. */
  holdUntil: number;
}

export const newPacerState = (): PacerState => ({ conversations: new Map(), global: [], holdUntil: 0 });

/** The earliest instant at or after `now` at which a message to `conversation` may go. */
export function nextSendAt(state: PacerState, conversation: string, now: number, limits: PacingLimits): number {
  const mine = state.conversations.get(conversation) ?? [];
  let t = Math.max(now, state.holdUntil);
  // Each limit only ever pushes later, so alternating between them settles on the earliest instant both allow.
  for (;;) {
    const forConversation = earliestSlot(mine, limits.perConversation, t);
    const forAll = earliestSlot(state.global, limits.global, forConversation);
    if (forAll === forConversation) return forAll;
    t = forAll;
  }
}

function insertSorted(times: number[], t: number): void {
  times.splice(countUpTo(times, t), 0, t);
}

const longest = (windows: readonly RateWindow[]) => Math.max(0, ...windows.map((w) => w.windowMs));

/** Forgets sends that can no longer be in any window that contains `now` or later. */
export function prune(state: PacerState, now: number, limits: PacingLimits): void {
  const drop = (times: number[], windows: readonly RateWindow[]) => times.splice(0, countUpTo(times, now - longest(windows)));
  drop(state.global, limits.global);
  for (const [key, times] of state.conversations) {
    drop(times, limits.perConversation);
    if (times.length === 0) state.conversations.delete(key);
  }
}

/**
 * Pacing for one sender: `reserve` answers when a message may go and books that instant, so that
 * messages sent concurrently share the limits rather than each seeing them free.
 */
export class Pacer {
  private readonly state = newPacerState();
  private lastPrune = 0;

  constructor(readonly limits: PacingLimits = TEAMS_PACING) {}

  /** When a message to `conversation` may go, without booking it. */
  peek(conversation: string, now: number): number {
    return nextSendAt(this.state, conversation, now, this.limits);
  }

  /**
   * Books the earliest instant a message to `conversation` may go and returns it; or, if that is
   * more than `maxWaitMs` away, books nothing and returns it as `{ notBefore }`.
   */
  reserve(conversation: string, now: number, maxWaitMs = Infinity): number | { notBefore: number } {
    if (now - this.lastPrune > 60_000) {
      prune(this.state, now, this.limits);
      this.lastPrune = now;
    }
    const t = nextSendAt(this.state, conversation, now, this.limits);
    if (t - now > maxWaitMs) return { notBefore: t };
    let mine = this.state.conversations.get(conversation);
    if (!mine) this.state.conversations.set(conversation, (mine = []));
    insertSorted(mine, t);
    insertSorted(this.state.global, t);
    return t;
  }

  /** Nothing goes before `until` (after a 429, for every conversation). */
  hold(until: number): void {
    this.state.holdUntil = Math.max(this.state.holdUntil, until);
  }

  get heldUntil(): number {
    return this.state.holdUntil;
  }
}
