import { absenceFault, ABSENCE_PATTERN, readAbsence } from '../src/absenceWords';
import { LocalDate } from '../src/localDate';

const d = (s: string) => s as LocalDate;
const MONDAY = d('2026-11-23');
const away = (from: string, until: string) => ({ kind: 'away', from, until });
const read = (text: string, today: LocalDate = MONDAY) => readAbsence(text, today);

describe('absence in a person\u2019s own words', () => {
  test.each([
    ['away from 21 Dec until 4 Jan', away('2026-12-21', '2027-01-04')],
    ["I'm off 21/12 to 04/01", away('2026-12-21', '2027-01-04')],
    ['I\u2019m away from 21st December to 4th January', away('2026-12-21', '2027-01-04')],
    ['on leave until 4 January', away('2026-11-23', '2027-01-04')],
    ['away tomorrow', away('2026-11-24', '2026-11-24')],
    ['away today', away('2026-11-23', '2026-11-23')],
    ['Away on 1 Dec', away('2026-12-01', '2026-12-01')],
    ['I am on annual leave from Mon 21 Dec till Monday 4 January.', away('2026-12-21', '2027-01-04')],
    ['off sick until friday', away('2026-11-23', '2026-11-27')],
    ['away from tomorrow until Friday', away('2026-11-24', '2026-11-27')],
    ['away between 21 Dec and 23 Dec', away('2026-12-21', '2026-12-23')],
    ['away 21-24 Dec', away('2026-12-21', '2026-12-24')],
    ['away from 21 to 24 Dec', away('2026-12-21', '2026-12-24')],
    ['away 21 Dec \u2013 4 Jan', away('2026-12-21', '2027-01-04')],
    ['away Dec 21 to Jan 4', away('2026-12-21', '2027-01-04')],
    ['away from 21 Sept to 2 Oct', away('2027-09-21', '2027-10-02')],
    ['away from 21/12/2026 until 4/1/2027', away('2026-12-21', '2027-01-04')],
    ['away from 2026-12-21 until 2027-01-04', away('2026-12-21', '2027-01-04')],
    ["I'll be away from 21 Dec, back on 5 Jan", away('2026-12-21', '2027-01-04')],
    ['on holiday until the 4th of January', away('2026-11-23', '2027-01-04')],
  ])('"%s" reads as the leave it says', (text, expected) => {
    expect(read(text)).toEqual(expected);
  });

  test('a day without a year is its next occurrence on or after today: 4 Jan said in December is next January', () => {
    expect(read('away until 4 Jan', d('2026-12-18'))).toEqual(away('2026-12-18', '2027-01-04'));
    expect(read('away on 23 Nov')).toEqual(away('2026-11-23', '2026-11-23'));
    expect(read('away on 22 Nov')).toEqual(away('2027-11-22', '2027-11-22'));
  });

  test('an end without a year follows a start given with its year', () => {
    expect(read('away from 21/12/2027 until 4 Jan')).toEqual(away('2027-12-21', '2028-01-04'));
  });

  test('29 February waits for a leap year; 31 November is refused as not a real date', () => {
    expect(read('away on 29 Feb')).toEqual(away('2028-02-29', '2028-02-29'));
    expect(read('away from 31 Nov until 2 Dec')).toEqual({ kind: 'unclear', reason: expect.stringContaining('"31 nov" is not a real date.') });
    expect(read('away on 30/2/2027')).toEqual({ kind: 'unclear', reason: expect.stringContaining('is not a real date') });
  });

  test('a leave that ends before it starts, or has already ended, is read but refused, with the dates as read', () => {
    expect(read('away from 4 Jan until 21 Dec')).toEqual({ kind: 'refused', fault: 'ends-before-start', from: '2027-01-04', until: '2026-12-21' });
    expect(read('away from 1/11/2026 until 20/11/2026')).toEqual({ kind: 'refused', fault: 'ended', from: '2026-11-01', until: '2026-11-20' });
    // A leave already begun may be set: only its end must be today or later.
    expect(read('away from 20/11/2026 until 25/11/2026')).toEqual(away('2026-11-20', '2026-11-25'));
  });

  test('"back" and "I\u2019m back" end a leave; "back" with dates is not understood', () => {
    for (const text of ['back', "I'm back", 'I\u2019m back!', 'back at work', 'Back now']) expect(read(text)).toEqual({ kind: 'back' });
    expect(read('back on 5 Jan')).toMatchObject({ kind: 'unclear' });
  });

  test('words about absence without dates it can read are not understood, saying what was not', () => {
    expect(read('away')).toEqual({ kind: 'unclear', reason: expect.stringMatching(/^Tell me when, for example "away from 21 Dec until 4 Jan"/) });
    expect(read('away from 21 Dec')).toEqual({ kind: 'unclear', reason: expect.stringMatching(/^Say until when too/) });
    expect(read('away until')).toEqual({ kind: 'unclear', reason: expect.stringMatching(/^Say until when/) });
    expect(read('off for two weeks')).toEqual({ kind: 'unclear', reason: expect.stringMatching(/^I could not read "two weeks" as a day\./) });
    expect(read('away from 21 Decembre until 4 Jan')).toMatchObject({ kind: 'unclear' });
  });

  test('anything else is not about absence', () => {
    for (const text of ['my cases', 'due', 'case 1003', 'offer', 'awayday', 'what is for lunch', 'backlog']) {
      expect(read(text)).toBeNull();
      expect(ABSENCE_PATTERN.test(text)).toBe(false);
    }
  });

  test('the one rule: a leave starts no later than it ends, and ends today or later', () => {
    expect(absenceFault(d('2026-12-21'), d('2027-01-04'), MONDAY)).toBeNull();
    expect(absenceFault(d('2026-11-23'), d('2026-11-23'), MONDAY)).toBeNull();
    expect(absenceFault(d('2026-12-21'), d('2026-12-20'), MONDAY)).toBe('ends-before-start');
    expect(absenceFault(d('2026-11-20'), d('2026-11-22'), MONDAY)).toBe('ended');
  });
});
