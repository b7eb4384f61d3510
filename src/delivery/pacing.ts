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
  /**
   * The least time between two sends to one conversation, and between any two sends over all
   * (milliseconds; none when absent): sends spaced out rather than in bursts the windows allow.
   */
  spacingMs?: { perConversation: number; global: number };
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
 * The least spacing between sends such that, even if each arrives at the destination up to
 * `toleranceMs` later than it was booked (by any mix of lags), no `window` of arrivals holds more
 * than its count: `count + 1` sends span at least `count` spacings, so they arrive at least
 * `count * spacing - toleranceMs` apart, which must be a whole window.
 *
 * spacingWithin({ count: 30, windowMs: 1000 }, 35) === 34.5 (a send every 34.5 ms, 29 a second)
 */
export const spacingWithin = (window: RateWindow, toleranceMs: number): number => (window.windowMs + toleranceMs) / window.count;

/**
 * How late (ms) an arrival may be, against its booking, before sends spaced `spacingMs` apart can
 * break `window`: the inverse of spacingWithin.
 */
export const lagTolerated = (window: RateWindow, spacingMs: number): number => window.count * spacingMs - window.windowMs;

/**
 * How late a request may reach Teams against the slot booked for it, at most, for the default
 * pacing to keep Teams' 30 a second: the claim's write and the HTTPS request take a few
 * milliseconds, sometimes tens.
 */
export const ARRIVAL_LAG_TOLERATED_MS = 35;

/**
 * What the dispatcher books by default: Teams' limits, with sends spaced evenly. A slot is booked
 * when a send starts, and the request reaches Teams some milliseconds later, by amounts that vary
 * from send to send. Windows alone let 30 go in the first few milliseconds of a second and 30 more
 * the moment the first has left the window: one of the first that arrives a little late and the
 * next 30 on time make 31 in a second, and a 429 holds every sender for a second or more. So:
 *
 * - Over all conversations, sends go at least (1 s + 35 ms) / 30 = 34.5 ms apart (29 a second):
 *   31 arrivals fit in one second only if a send lags by more than 35 ms (ARRIVAL_LAG_TOLERATED_MS)
 *   beyond the lag of one booked 30 places after it. Teams' own 30 in a second is kept as the window.
 * - To one conversation, sends go at least a seventh of a second apart (its 7 a second, evenly),
 *   and each window is booked one fewer than Teams allows (a twentieth fewer for the longer ones):
 *   a window of arrivals holds more than Teams' count only if a send lags by more than that
 *   seventh of a second (143 ms).
 *
 * Evenly spaced at 29 a second, 2,000 sends take 69 s where Teams' windows would allow 66 s.
 */
export const TEAMS_PACING: PacingLimits = {
  perConversation: TEAMS_LIMITS.perConversation.map((w) => ({ count: Math.max(1, w.count - Math.max(1, Math.floor(w.count / 20))), windowMs: w.windowMs })),
  global: TEAMS_LIMITS.global,
  spacingMs: {
    perConversation: TEAMS_LIMITS.perConversation[0].windowMs / TEAMS_LIMITS.perConversation[0].count,
    global: spacingWithin(TEAMS_LIMITS.global[0], ARRIVAL_LAG_TOLERATED_MS),
  },
};

/**
 * How many of the ascending `times` pass `test`, which holds for every time below one that passes
 * (a binary search).
 */
function countWhile(times: readonly number[], test: (h: number) => boolean): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test(times[mid])) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** How many of the ascending `times` are at or before `x`. */
const countUpTo = (times: readonly number[], x: number) => countWhile(times, (h) => h <= x);

/*
 * Instants may carry fractions of a millisecond (spacings such as 1000/29), so "a send at h has
 * left the window ending at s" is written h + windowMs <= s, and "t is spacing after h" as
 * h + spacing <= t: the very sums that make the candidate instants, so that a candidate is judged
 * free of the send it was made from whatever the rounding.
 */

/** Sends in the window that ends at `s`: the half-open interval (s - windowMs, s]. */
const sendsInWindowEndingAt = (times: readonly number[], windowMs: number, s: number) => countUpTo(times, s) - countWhile(times, (h) => h + windowMs <= s);

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
 * Whether one more send at `t` is at least `spacingMs` from every send (past and already reserved)
 * at `times`, before it and after it. Only the nearest on each side can be closer.
 *
 * keepsSpacing([0, 100], 40, 60) === true; keepsSpacing([0, 100], 40, 30) === false
 */
export function keepsSpacing(times: readonly number[], spacingMs: number, t: number): boolean {
  if (spacingMs <= 0) return true;
  const after = countUpTo(times, t);
  const before = after - 1;
  return (before < 0 || times[before] + spacingMs <= t) && (after >= times.length || t + spacingMs <= times[after]);
}

/**
 * The earliest instant at or after `from` at which one more send keeps every window, and is
 * `spacingMs` (0 by default: none) from every other send, given the sends at `times` (ascending;
 * reservations in the future included). It is `from`, the moment an earlier send leaves a window,
 * or the moment one is `spacingMs` old.
 *
 * earliestSlot([0, 100, 200, 300, 400, 500, 600], [{ count: 7, windowMs: 1000 }], 650) === 1000
 * earliestSlot([0, 100], [], 20, 60) === 160 (from 60 it is far enough after 0 but too close before 100)
 */
export function earliestSlot(times: readonly number[], windows: readonly RateWindow[], from: number, spacingMs = 0): number {
  const fitsAll = (t: number) => keepsSpacing(times, spacingMs, t) && windows.every((w) => fitsWindow(times, w, t));
  if (fitsAll(from)) return from;
  const candidates = new Set<number>();
  for (const h of times) {
    for (const w of windows) if (h + w.windowMs > from) candidates.add(h + w.windowMs);
    if (spacingMs > 0 && h + spacingMs > from) candidates.add(h + spacingMs);
  }
  for (const t of [...candidates].sort((a, b) => a - b)) if (fitsAll(t)) return t;
  // Unreachable: after the last send has left every window and is spacingMs old, any instant fits.
  const longestWait = Math.max(spacingMs, ...windows.map((w) => w.windowMs));
  return Math.max(from, ...times.map((h) => h + longestWait));
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
    const forConversation = earliestSlot(mine, limits.perConversation, t, limits.spacingMs?.perConversation);
    const forAll = earliestSlot(state.global, limits.global, forConversation, limits.spacingMs?.global);
    if (forAll === forConversation) return forAll;
    t = forAll;
  }
}

function insertSorted(times: number[], t: number): void {
  times.splice(countUpTo(times, t), 0, t);
}

/** How long a send counts for: the longest window, or the spacing if that is longer. */
const longest = (windows: readonly RateWindow[], spacingMs = 0) => Math.max(0, spacingMs, ...windows.map((w) => w.windowMs));

/** Forgets sends that can no longer be in any window that contains `now` or later, nor too close to a send then. */
export function prune(state: PacerState, now: number, limits: PacingLimits): void {
  const drop = (times: number[], windows: readonly RateWindow[], spacingMs?: number) => times.splice(0, countUpTo(times, now - longest(windows, spacingMs)));
  drop(state.global, limits.global, limits.spacingMs?.global);
  for (const [key, times] of state.conversations) {
    drop(times, limits.perConversation, limits.spacingMs?.perConversation);
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
