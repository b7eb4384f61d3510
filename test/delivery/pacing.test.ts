import { backoffMs } from '../../src/delivery/dispatcher';
import { ARRIVAL_LAG_TOLERATED_MS, earliestSlot, fitsWindow, keepsSpacing, lagTolerated, nextSendAt, newPacerState, Pacer, PacingLimits, prune, RateWindow, spacingWithin, TEAMS_LIMITS, TEAMS_PACING } from '../../src/delivery/pacing';
import { seeded } from '../helpers/seeded';

const sevenInASecond = [0, 100, 200, 300, 400, 500, 600];

describe("pacing within Teams' limits", () => {
  test('an eighth message in one second waits until the first has left the window', () => {
    expect(fitsWindow(sevenInASecond, { count: 7, windowMs: 1000 }, 999)).toBe(false);
    expect(fitsWindow(sevenInASecond, { count: 7, windowMs: 1000 }, 1000)).toBe(true);
    expect(earliestSlot(sevenInASecond, [{ count: 7, windowMs: 1000 }], 650)).toBe(1000);
  });

  test('the 8-in-2-seconds limit holds the ninth message even when the 7-a-second limit would let it go', () => {
    const times = [0, 100, 200, 300, 400, 500, 600, 1000];
    // 7 a second alone: 1000 - 0 has left, so 1100 would do; but 8 in 2 s keeps it until 2000.
    expect(earliestSlot(times, [{ count: 7, windowMs: 1000 }], 1050)).toBe(1100);
    expect(earliestSlot(times, TEAMS_LIMITS.perConversation, 1050)).toBe(2000);
  });

  test('60 in 30 seconds: the sixty-first waits for the first to be 30 seconds old', () => {
    const times = Array.from({ length: 60 }, (_, i) => i * 300); // one every 300 ms, the last at 17.7 s
    expect(earliestSlot(times, [{ count: 60, windowMs: 30_000 }], 18_000)).toBe(30_000);
  });

  test('1,800 in an hour', () => {
    const times = Array.from({ length: 1800 }, (_, i) => i * 2000);
    expect(earliestSlot(times, [{ count: 1800, windowMs: 3_600_000 }], 3_600_000 - 1)).toBe(3_600_000);
  });

  test('a burst to one person goes at the pace the limits allow: 7 at once, then one more by 2 s, ...', () => {
    const pacer = new Pacer(TEAMS_LIMITS);
    const slots = Array.from({ length: 10 }, () => pacer.reserve('sam', 0));
    expect(slots).toEqual([0, 0, 0, 0, 0, 0, 0, 1000, 2000, 2000]);
    expect(nextSendAt(newPacerState(), 'sam', 0, TEAMS_LIMITS)).toBe(0);
  });

  test('about 30 a second over all conversations: the thirty-first waits a second whoever it is for', () => {
    const pacer = new Pacer(TEAMS_LIMITS);
    const slots = Array.from({ length: 31 }, (_, i) => pacer.reserve(`person-${i}`, 5000));
    expect(slots.slice(0, 30).every((t) => t === 5000)).toBe(true);
    expect(slots[30]).toBe(6000);
  });

  test('a message to someone else does not wait behind a person whose own limit is reached', () => {
    const pacer = new Pacer(TEAMS_LIMITS);
    for (let i = 0; i < 7; i++) pacer.reserve('sam', 0);
    expect(pacer.reserve('sam', 0)).toBe(1000);
    expect(pacer.reserve('alex', 0)).toBe(0);
  });

  test('after a 429 nothing goes before the hold has passed, for anyone', () => {
    const pacer = new Pacer(TEAMS_LIMITS);
    pacer.hold(7000);
    expect(pacer.reserve('sam', 1000)).toBe(7000);
    expect(pacer.reserve('alex', 1000)).toBe(7000);
    pacer.hold(3000); // an earlier hold does not shorten a later one
    expect(pacer.heldUntil).toBe(7000);
  });

  test('a wait longer than the sender will hold a message is not booked: the message is given back with its slot', () => {
    const pacer = new Pacer({ perConversation: [{ count: 1, windowMs: 60_000 }], global: [] });
    expect(pacer.reserve('sam', 0, 10_000)).toBe(0);
    expect(pacer.reserve('sam', 1, 10_000)).toEqual({ notBefore: 60_000 });
    expect(pacer.peek('sam', 1)).toBe(60_000); // nothing was booked by the refusal
  });

  test('a slot booked for later is respected by messages asked for in between', () => {
    const limits: PacingLimits = { perConversation: [{ count: 1, windowMs: 1000 }], global: [{ count: 2, windowMs: 1000 }] };
    const pacer = new Pacer(limits);
    expect(pacer.reserve('sam', 0)).toBe(0);
    expect(pacer.reserve('sam', 0)).toBe(1000); // booked in the future
    expect(pacer.reserve('alex', 0)).toBe(0); // two in [0, 1000) over all is allowed
    // A third over all inside any second that holds two already must wait: [0, 0] then 1000.
    expect(pacer.reserve('jo', 0)).toBe(1000);
    expect(pacer.reserve('kim', 0)).toBe(2000);
  });

  test('old sends are forgotten once they can no longer count', () => {
    const state = newPacerState();
    state.conversations.set('sam', [0, 10, 3_000_000]);
    state.global.push(0, 10, 3_000_000);
    prune(state, 3_700_000, TEAMS_LIMITS);
    expect(state.conversations.get('sam')).toEqual([3_000_000]);
    expect(state.global).toEqual([]);
  });
});

/** The most of `arrivals` in any half-open `windowMs` (t - windowMs, t], as Teams counts them. */
function mostInAnyWindow(arrivals: readonly number[], windowMs: number): number {
  const sorted = [...arrivals].sort((a, b) => a - b);
  let most = 0;
  for (let last = 0, first = 0; last < sorted.length; last++) {
    while (sorted[first] + windowMs <= sorted[last]) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

/** Whether arrivals at these instants keep every window (at most `count` in any `windowMs`). */
const keepsAll = (arrivals: readonly number[], windows: readonly RateWindow[]) => windows.every((w) => mostInAnyWindow(arrivals, w.windowMs) <= w.count);

/**
 * Ways a send can reach Teams late against its booking, each at most `lagMs`: at random, and the
 * worst patterns (runs of late sends followed by runs of prompt ones, at several lengths).
 */
function lagPatterns(count: number, lagMs: number): Array<(i: number) => number> {
  const patterns: Array<(i: number) => number> = [() => 0, () => lagMs];
  for (let seed = 1; seed <= 10; seed++) {
    const r = seeded(seed);
    const lags = Array.from({ length: count }, () => r() * lagMs);
    patterns.push((i) => lags[i]);
  }
  for (const run of [1, 2, 5, 15, 29, 30, 31]) for (const offset of [0, 7]) patterns.push((i) => (Math.floor((i + offset) / run) % 2 === 0 ? lagMs : 0));
  return patterns;
}

/** Books `count` messages at `now`, the i-th to `to(i)`, and returns the slots in the order booked. */
const bookAll = (pacer: Pacer, count: number, to: (i: number) => string, now = 0) => Array.from({ length: count }, (_, i) => pacer.reserve(to(i), now) as number);

describe('sends spaced evenly, so that arrivals a little late still keep the limits', () => {
  test('a send keeps the spacing from the sends before and after it, booked ones included', () => {
    expect(keepsSpacing([0, 100], 40, 60)).toBe(true);
    expect(keepsSpacing([0, 100], 40, 40)).toBe(true); // exactly the spacing after 0 is enough
    expect(keepsSpacing([0, 100], 40, 39)).toBe(false);
    expect(keepsSpacing([0, 100], 40, 61)).toBe(false); // too close before the send booked at 100
    expect(keepsSpacing([0, 100], 40, 100)).toBe(false);
    expect(keepsSpacing([], 40, 0)).toBe(true);
  });

  test('the earliest slot after a send is at least the spacing later; a gap between booked sends is used only if wide enough', () => {
    const spacing = 1000 / 29;
    expect(earliestSlot([1000], [], 1000, spacing)).toBe(1000 + spacing);
    expect(earliestSlot([1000], [], 1010, spacing)).toBeGreaterThanOrEqual(1000 + spacing);
    expect(earliestSlot([1000], [], 900, spacing)).toBe(900); // a send booked later is still the spacing away
    expect(earliestSlot([1000], [], 980, spacing)).toBe(1000 + spacing);
    expect(earliestSlot([0, 100], [], 20, 60)).toBe(160); // from 60, far enough after 0, is too close before 100
    expect(earliestSlot([0, 100], [], 20, 50)).toBe(50); // the gap between them just wide enough
    // The windows still hold: spaced 100 ms apart, the eighth in a second waits for the first to leave.
    expect(earliestSlot(sevenInASecond, [{ count: 7, windowMs: 1000 }], 650, 100)).toBe(1000);
  });

  test('booked one after another, each at least the spacing after the one before, with fractions of a millisecond kept exact', () => {
    const spacing = 1000 / 29;
    const state = newPacerState();
    const limits: PacingLimits = { perConversation: [], global: [{ count: 30, windowMs: 1000 }], spacingMs: { perConversation: 0, global: spacing } };
    const slots: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = nextSendAt(state, `person-${i}`, 0, limits);
      slots.push(t);
      state.global.push(t);
    }
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(spacing - 1e-9);
    // Nothing lost to rounding either: each slot is the one before plus the spacing, no later.
    expect(slots[199]).toBeCloseTo(199 * spacing, 6);
  });

  test('the spacing for a tolerated lag, and the lag a spacing tolerates', () => {
    const tenant = { count: 30, windowMs: 1000 };
    expect(spacingWithin(tenant, 35)).toBe(34.5);
    expect(lagTolerated(tenant, 34.5)).toBe(35);
    expect(lagTolerated(tenant, 1000 / 30)).toBeCloseTo(0, 9); // 30 a second, evenly: no lag tolerated at all
    expect(TEAMS_PACING.spacingMs!.global).toBe(spacingWithin(TEAMS_LIMITS.global[0], ARRIVAL_LAG_TOLERATED_MS));
    expect(ARRIVAL_LAG_TOLERATED_MS).toBeGreaterThanOrEqual(30); // tens of milliseconds: a database write and an HTTPS request
  });

  test("over all conversations: no second holds more than Teams' 30 arrivals, however each lags its booking by up to the tolerated lag", () => {
    const pacer = new Pacer(TEAMS_PACING);
    const slots = bookAll(pacer, 400, (i) => `person-${i % 100}`);
    // Any 31 booked in a row span more than a second and the tolerated lag.
    for (let i = 30; i < slots.length; i++) expect(slots[i] - slots[i - 30]).toBeGreaterThanOrEqual(1000 + ARRIVAL_LAG_TOLERATED_MS - 1e-9);
    for (const lag of lagPatterns(slots.length, ARRIVAL_LAG_TOLERATED_MS)) {
      expect(mostInAnyWindow(slots.map((t, i) => t + lag(i)), 1000)).toBeLessThanOrEqual(30);
    }
    // And no slower than needed: 29 a second, not fewer.
    expect(mostInAnyWindow(slots, 1000)).toBe(29);
  });

  test('over all conversations: windows alone (bursts) break the limit with a lag of a few milliseconds, which is why sends are spaced', () => {
    const pacer = new Pacer({ perConversation: TEAMS_PACING.perConversation, global: TEAMS_LIMITS.global });
    const slots = bookAll(pacer, 120, (i) => `person-${i}`);
    expect(mostInAnyWindow(slots, 1000)).toBe(30); // kept, as booked
    // The last of the first burst 5 ms late, the rest on time: 31 in a second.
    expect(mostInAnyWindow(slots.map((t, i) => t + (i === 29 ? 5 : 0)), 1000)).toBe(31);
  });

  test("to one person: sends a seventh of a second apart, and no window of Teams' holds too many however each lags by up to that", () => {
    const pacer = new Pacer(TEAMS_PACING);
    const slots = bookAll(pacer, 130, () => 'sam');
    const spacing = TEAMS_PACING.spacingMs!.perConversation;
    expect(spacing).toBeCloseTo(1000 / 7, 9);
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeGreaterThanOrEqual(spacing - 1e-9);
    expect(keepsAll(slots, TEAMS_PACING.perConversation)).toBe(true);
    for (const lag of lagPatterns(slots.length, spacing)) expect(keepsAll(slots.map((t, i) => t + lag(i)), TEAMS_LIMITS.perConversation)).toBe(true);
  });

  test('mixed: many people, several messages each, booked all at once, keep every limit of Teams with the tolerated lag', () => {
    const pacer = new Pacer(TEAMS_PACING);
    const to = (i: number) => `person-${i % 40}`;
    const slots = bookAll(pacer, 400, to);
    for (const lag of lagPatterns(slots.length, ARRIVAL_LAG_TOLERATED_MS)) {
      const arrivals = slots.map((t, i) => t + lag(i));
      expect(mostInAnyWindow(arrivals, 1000)).toBeLessThanOrEqual(30);
      for (let p = 0; p < 40; p++) expect(keepsAll(arrivals.filter((_, i) => i % 40 === p), TEAMS_LIMITS.perConversation)).toBe(true);
    }
  });

  test('after a 429 the senders come back spaced, not all at once', () => {
    const pacer = new Pacer(TEAMS_PACING);
    pacer.hold(5000);
    const slots = bookAll(pacer, 5, (i) => `person-${i}`, 1000);
    expect(slots[0]).toBe(5000);
    for (let i = 1; i < slots.length; i++) expect(slots[i] - slots[i - 1]).toBeCloseTo(TEAMS_PACING.spacingMs!.global, 9);
  });

  test('a send is remembered while it is within the spacing of the next, even with no window', () => {
    const state = newPacerState();
    state.global.push(0, 950);
    prune(state, 1000, { perConversation: [], global: [], spacingMs: { perConversation: 0, global: 100 } });
    expect(state.global).toEqual([950]);
  });
});

describe('backoff between tries', () => {
  test("after Retry-After, a jittered wait that doubles with each try, up to the ceiling", () => {
    const b = { baseMs: 1000, maxMs: 8000 };
    expect(backoffMs(1, 2000, b, () => 0)).toBe(2000);
    expect(backoffMs(1, 2000, b, () => 1)).toBe(3000);
    expect(backoffMs(3, undefined, b, () => 1)).toBe(4000);
    expect(backoffMs(10, undefined, b, () => 1)).toBe(8000);
    expect(backoffMs(2, undefined, b, () => 0.5)).toBe(1000);
  });
});
