import { backoffMs } from '../../src/delivery/dispatcher';
import { earliestSlot, fitsWindow, nextSendAt, newPacerState, Pacer, PacingLimits, prune, TEAMS_LIMITS } from '../../src/delivery/pacing';

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
