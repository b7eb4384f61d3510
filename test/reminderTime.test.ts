import { parseLocalDate } from '../src/localDate';
import { reminderInstant } from '../src/reminderTime';

const d = parseLocalDate;

describe('reminder times are London wall-clock times', () => {
  test('a 09:00 reminder is 09:00 UTC in winter and 08:00 UTC in summer', () => {
    expect(reminderInstant(d('2027-03-26'), '09:00').toISOString()).toBe('2027-03-26T09:00:00.000Z');
    expect(reminderInstant(d('2027-03-29'), '09:00').toISOString()).toBe('2027-03-29T08:00:00.000Z');
    expect(reminderInstant(d('2027-11-01'), '09:00').toISOString()).toBe('2027-11-01T09:00:00.000Z');
  });

  test('the same reminder the day before and after the clocks change stays at 08:30 on the office clock', () => {
    const before = reminderInstant(d('2026-10-24'), '08:30');
    const after = reminderInstant(d('2026-10-26'), '08:30');
    expect(before.toISOString()).toBe('2026-10-24T07:30:00.000Z');
    expect(after.toISOString()).toBe('2026-10-26T08:30:00.000Z');
    const london = (t: Date) => t.toLocaleTimeString('en-GB', { timeZone: 'Europe/London', hour: '2-digit', minute: '2-digit' });
    expect([london(before), london(after)]).toEqual(['08:30', '08:30']);
  });

  test('a time the clocks skip goes off an hour later by the clock', () => {
    expect(reminderInstant(d('2027-03-28'), '01:30').toISOString()).toBe('2027-03-28T01:30:00.000Z');
  });

  test('a time that is not a time of day is refused', () => {
    for (const bad of ['9am', '24:00', '08:60', '8:30', '']) expect(() => reminderInstant(d('2027-03-26'), bad)).toThrow(/is not a time of day/);
  });
});
