import { validatePolicy } from '../../src/policy';
import { bookingWindow, earliestMeetingDay, meetingNeeded } from '../../src/taf/meetingNeed';
import { BusyTime, chooseSlot, FreeBusy, scheduleRange, slotsOn } from '../../src/taf/slots';
import { defaultDocument } from '../helpers/policyDocument';
import { at, calendar, d, policy, snapshot } from '../reminders/fixtures';

const WORKER = 'sam.patel@council.example';
const busy = (from: string, to: string, status: BusyTime['status'] = 'busy'): BusyTime => ({ start: at(from), end: at(to), status });
const fb = (entries: Record<string, BusyTime[]>): FreeBusy => new Map(Object.entries(entries));
/** Busy every working hour of these days (London winter: GMT). */
const allDay = (...days: string[]) => days.map((day) => busy(`${day}T00:00:00Z`, `${day}T23:59:00Z`));

const firstTaf = (allocatedOn: string, asOf: string, steps: Parameters<typeof snapshot>[0]['steps'] = []) => {
  const s = snapshot({ allocatedOn, asOf, steps });
  return s.obligations.find((o) => o.kind === 'first-taf')!;
};

describe('slots: meeting hours and length from the policy', () => {
  test('09:30 to 16:00 London, 90 minutes, every 30 minutes: the last starts at 14:30', () => {
    const slots = slotsOn(d('2026-12-23'), policy);
    expect(slots.map((s) => s.start.toISOString().slice(11, 16))).toEqual(['09:30', '10:00', '10:30', '11:00', '11:30', '12:00', '12:30', '13:00', '13:30', '14:00', '14:30']);
    expect(slots.every((s) => s.end.getTime() - s.start.getTime() === 90 * 60_000)).toBe(true);
  });

  test('in British Summer Time 09:30 London is 08:30Z', () => {
    expect(slotsOn(d('2027-03-30'), policy)[0].start.toISOString()).toBe('2027-03-30T08:30:00.000Z');
  });

  test('a policy whose meeting hours cannot hold one meeting is refused, naming the field', () => {
    const doc = defaultDocument();
    doc.tafMeetings.hours = { start: '15:00', end: '16:00' };
    expect(() => validatePolicy(doc, 'authority.json')).toThrow('authority.json: tafMeetings.hours.end: leaves no room for a meeting of 90 minutes after the start (15:00)');
  });
});

describe('the first TAF: the first free slot from 5 working days before its deadline, never after it', () => {
  // Allocated 25 November 2026: 25 working days later is Monday 4 January 2027, and the five
  // working days before it run across Christmas Day, the Boxing Day substitute and New Year's Day.
  const o = firstTaf('2026-11-25', '2026-11-25');

  test('its deadline and window: the aim skips the bank holidays', () => {
    expect(o.due).toBe('2027-01-04');
    const w = bookingWindow(o, d('2026-11-25'), calendar, policy);
    expect(w).toEqual({ from: '2026-11-26', to: '2027-01-04', aim: '2026-12-23', order: 'first' });
  });

  test('free calendars: 09:30 on Wednesday 23 December', () => {
    const slot = chooseSlot({ window: bookingWindow(o, d('2026-11-25'), calendar, policy), freeBusy: fb({}), worker: WORKER, calendar, policy })!;
    expect(slot.start.toISOString()).toBe('2026-12-23T09:30:00.000Z');
    expect(slot).toMatchObject({ late: false, conflicts: [] });
  });

  test('the worker busy on 23 and 24 December: Tuesday 29th, never Christmas Day or the substitute day', () => {
    const slot = chooseSlot({ window: bookingWindow(o, d('2026-11-25'), calendar, policy), freeBusy: fb({ [WORKER]: allDay('2026-12-23', '2026-12-24') }), worker: WORKER, calendar, policy })!;
    expect(slot.start.toISOString()).toBe('2026-12-29T09:30:00.000Z');
  });

  test('a meeting in the morning moves the slot to when it ends (on the half hour)', () => {
    const slot = chooseSlot({ window: bookingWindow(o, d('2026-11-25'), calendar, policy), freeBusy: fb({ [WORKER]: [busy('2026-12-23T09:00:00Z', '2026-12-23T11:15:00Z')] }), worker: WORKER, calendar, policy })!;
    expect(slot.start.toISOString()).toBe('2026-12-23T11:30:00.000Z');
  });

  test('busy every day from the aim to the deadline: an earlier free day in the window before a clash', () => {
    const days = ['2026-12-23', '2026-12-24', '2026-12-29', '2026-12-30', '2026-12-31', '2027-01-04'];
    const slot = chooseSlot({ window: bookingWindow(o, d('2026-11-25'), calendar, policy), freeBusy: fb({ [WORKER]: allDay(...days) }), worker: WORKER, calendar, policy })!;
    expect(slot.day).toBe('2026-11-26');
    expect(slot.conflicts).toEqual([]);
  });

  test('nothing free in the window at all: the least bad slot inside it (a tentative beats a busy, an attendee beats the worker)', () => {
    const w = { from: d('2026-12-30'), to: d('2026-12-31'), aim: d('2026-12-30'), order: 'first' as const };
    const slot = chooseSlot({
      window: w,
      freeBusy: fb({
        [WORKER]: [...allDay('2026-12-30'), busy('2026-12-31T00:00:00Z', '2026-12-31T13:00:00Z'), busy('2026-12-31T13:00:00Z', '2026-12-31T23:00:00Z', 'tentative')],
        'pat.jones@council.example': allDay('2026-12-31'),
      }),
      worker: WORKER,
      calendar,
      policy,
    })!;
    expect(slot.start.toISOString()).toBe('2026-12-31T13:00:00.000Z');
    expect(slot.conflicts).toEqual([
      { person: WORKER, status: 'tentative' },
      { person: 'pat.jones@council.example', status: 'busy' },
    ]);
    expect(slot.late).toBe(false);
  });

  test('its deadline already past (booking late): the first free slot after it, marked late', () => {
    const late = firstTaf('2026-11-25', '2027-01-05');
    const w = bookingWindow(late, d('2027-01-05'), calendar, policy);
    expect(w.from).toBe('2027-01-06');
    expect(w.to).toBe('2027-01-04');
    const slot = chooseSlot({ window: w, freeBusy: fb({}), worker: WORKER, calendar, policy })!;
    expect(slot).toMatchObject({ day: '2027-01-06', late: true });
    const range = scheduleRange(w, calendar, policy);
    expect(range.start.toISOString()).toBe('2027-01-06T09:30:00.000Z');
    expect(range.end.getTime()).toBeGreaterThan(slot.end.getTime());
  });

  test('never sooner than a working day ahead: booked on Christmas Eve or Boxing Day, the earliest day is the 29th', () => {
    expect(earliestMeetingDay(d('2026-12-23'), calendar, policy)).toBe('2026-12-24');
    expect(earliestMeetingDay(d('2026-12-24'), calendar, policy)).toBe('2026-12-29');
    expect(earliestMeetingDay(d('2026-12-26'), calendar, policy)).toBe('2026-12-29');
  });
});

describe('TAF reviews: nearest the 6-week target, never past the 8-week latest date', () => {
  // First TAF held Monday 11 January 2027: target Monday 22 February, latest Monday 8 March.
  const held = snapshot({ allocatedOn: '2026-12-01', asOf: '2027-01-11', steps: [['taf-held', '2027-01-11']] });
  const review = held.obligations.find((o) => o.kind === 'taf-review')!;

  test('the window runs to the latest date and aims at the target', () => {
    expect([review.due, review.latest]).toEqual(['2027-02-22', '2027-03-08']);
    expect(bookingWindow(review, d('2027-01-11'), calendar, policy)).toEqual({ from: '2027-01-12', to: '2027-03-08', aim: '2027-02-22', order: 'nearest' });
  });

  test('the target day taken: the day after it (nearer than the Friday before)', () => {
    const slot = chooseSlot({ window: bookingWindow(review, d('2027-01-11'), calendar, policy), freeBusy: fb({ [WORKER]: allDay('2027-02-22') }), worker: WORKER, calendar, policy })!;
    expect(slot.day).toBe('2027-02-23');
  });

  test('needs escalated since the last TAF: the review must be within 4 weeks', () => {
    const escalated = snapshot({ allocatedOn: '2026-12-01', asOf: '2027-01-20', steps: [['taf-held', '2027-01-11'], ['needs-escalated', '2027-01-20']] });
    const o = escalated.obligations.find((x) => x.kind === 'taf-review')!;
    const w = bookingWindow(o, d('2027-01-20'), calendar, policy);
    expect(w.to).toBe('2027-02-08');
    const slot = chooseSlot({ window: w, freeBusy: fb({}), worker: WORKER, calendar, policy })!;
    expect(slot.day <= '2027-02-08').toBe(true);
  });

  test('over Easter and the clocks going forward: Good Friday and Easter Monday are skipped, 09:30 is BST', () => {
    const easter = snapshot({ allocatedOn: '2026-12-01', asOf: '2027-02-12', steps: [['taf-held', '2027-01-11'], ['taf-held', '2027-02-12']] });
    const o = easter.obligations.filter((x) => x.kind === 'taf-review').at(-1)!;
    // Six weeks from 12 February is Good Friday: the target is brought forward to Thursday 25 March.
    expect(o.due).toBe('2027-03-25');
    const w = bookingWindow(o, d('2027-02-12'), calendar, policy);
    // The 22nd to the 25th taken: the 30th (5 days off) is nearer than the 19th (6 days off); Friday
    // 26th and Monday 29th are bank holidays; on the 30th 09:30 London is 08:30Z.
    const slot = chooseSlot({ window: w, freeBusy: fb({ [WORKER]: allDay('2027-03-22', '2027-03-23', '2027-03-24', '2027-03-25') }), worker: WORKER, calendar, policy })!;
    expect(slot.start.toISOString()).toBe('2027-03-30T08:30:00.000Z');
  });
});

describe('which meeting a case needs', () => {
  test('a new case needs its first TAF; one already booked needs nothing', () => {
    const s = snapshot({ allocatedOn: '2026-11-25', asOf: '2026-11-25' });
    const need = meetingNeeded({ state: s.state, obligations: s.obligations, booked: new Set(), today: d('2026-11-25'), calendar, policy })!;
    expect(need).toMatchObject({ kind: 'first-taf', deadline: '2027-01-04' });
    expect(meetingNeeded({ state: s.state, obligations: s.obligations, booked: new Set([need.obligationId]), today: d('2026-11-25'), calendar, policy })).toBeNull();
  });

  test('a first TAF counted from a CAF not yet completed waits until the CAF is (its deadline is not known)', () => {
    const doc = defaultDocument();
    doc.timescales.firstTaf.from = 'caf-completed';
    const fromCaf = validatePolicy(doc);
    const before = snapshot({ allocatedOn: '2026-11-25', asOf: '2026-11-25' }, fromCaf);
    expect(meetingNeeded({ state: before.state, obligations: before.obligations, booked: new Set(), today: d('2026-11-25'), calendar, policy: fromCaf })).toBeNull();
    const after = snapshot({ allocatedOn: '2026-11-25', asOf: '2026-12-10', steps: [['caf-submitted', '2026-12-10']] }, fromCaf);
    expect(meetingNeeded({ state: after.state, obligations: after.obligations, booked: new Set(), today: d('2026-12-10'), calendar, policy: fromCaf })).toMatchObject({ kind: 'first-taf' });
  });

  test('after a TAF is held, the next review; a closed case, nothing', () => {
    const s = snapshot({ allocatedOn: '2026-12-01', asOf: '2027-01-11', steps: [['taf-held', '2027-01-11']] });
    expect(meetingNeeded({ state: s.state, obligations: s.obligations, booked: new Set(), today: d('2027-01-11'), calendar, policy })).toMatchObject({ kind: 'taf-review', deadline: '2027-03-08' });
    expect(meetingNeeded({ state: { status: 'closed' }, obligations: s.obligations, booked: new Set(), today: d('2027-01-11'), calendar, policy })).toBeNull();
  });
});
