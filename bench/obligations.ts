import { addBusinessDays, addDays as addDaysFns, format, isWeekend } from 'date-fns';
import { calendarFor, createCalendar } from '../src/calendar';
import { CaseEvent } from '../src/caseEvents';
import { addDays, fromDayNumber, LocalDate, toDayNumber } from '../src/localDate';
import { obligations } from '../src/obligations';
import { loadPolicy } from '../src/policy';

/** A plausible case of 20 events: allocation, contacts, visits, recording, CAF, TAFs, minutes, supervision. */
export function syntheticCase(n: number, allocatedOn: LocalDate): CaseEvent[] {
  const caseId = `case-${n}`;
  const events: CaseEvent[] = [];
  const add = (type: CaseEvent['type'], offset: number, data: Record<string, unknown> = {}) =>
    events.push({
      id: `${caseId}#${events.length + 1}`,
      caseId,
      sequence: events.length + 1,
      type,
      by: 'worker',
      recordedAt: '2026-01-01T00:00:00.000Z',
      effectiveOn: addDays(allocatedOn, offset),
      data,
    } as CaseEvent);
  const jitter = n % 4;
  add('allocated', 0, { leadProfessional: `worker-${n % 40}`, manager: 'manager', caseloadPoints: 5, initialActions: '', cafRequired: n % 10 !== 0, source: 'referral' });
  add('telephone-contact-made', 1 + jitter);
  add('case-recorded', 2 + jitter);
  add('visit', 4 + jitter, { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true });
  add('case-recorded', 6 + jitter);
  add('information-received', 9, { from: 'school' });
  add('supervision-held', 20);
  add('caf-submitted', 24 + jitter);
  add('supervision-record-returned', 30, { supervisionDate: addDays(allocatedOn, 20) });
  add('caf-authorised', 28 + jitter);
  add('taf-held', 33 + jitter);
  add('case-recorded', 35 + jitter);
  add('supervision-record-authorised', 44, { supervisionDate: addDays(allocatedOn, 20) });
  add('minutes-shared', 50 + jitter, { tafDate: addDays(allocatedOn, 33 + jitter) });
  add('supervision-held', 52);
  add('telephone-contact-made', 60);
  add('taf-held', 75 + jitter * 4);
  add('case-recorded', 77 + jitter * 4);
  add('needs-escalated', 80, { reason: 'new concern' });
  add('minutes-shared', 90 + jitter * 4, { tafDate: addDays(allocatedOn, 75 + jitter * 4) });
  return events;
}

function time<T>(fn: () => T): { ms: number; result: T } {
  const start = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, result };
}

export function benchObligations(caseCount = 100_000): string[] {
  const policy = loadPolicy();
  const calendar = calendarFor(policy);
  const start = toDayNumber('2025-01-06' as LocalDate);
  const cases = Array.from({ length: caseCount }, (_, n) => syntheticCase(n, fromDayNumber(start + (n % 600))));
  const today = '2026-11-23' as LocalDate;
  // Warm the calendar's tables and the JIT on a slice first, as a long-running service would be.
  for (let i = 0; i < 2000; i++) obligations(cases[i], policy, calendar, today);
  const runs = [1, 2, 3].map(() => time(() => cases.reduce((sum, events) => sum + obligations(events, policy, calendar, today).length, 0)));
  const best = runs.reduce((a, b) => (a.ms < b.ms ? a : b));
  const lines = [
    `obligations: ${caseCount.toLocaleString('en-GB')} cases x 20 events -> ${best.result.toLocaleString('en-GB')} obligations in ${best.ms.toFixed(0)} ms ` +
      `(best of 3; ${runs.map((r) => r.ms.toFixed(0)).join(' / ')} ms; ${((best.ms * 1000) / caseCount).toFixed(2)} us a case)`,
  ];

  // One add-working-days against date-fns addBusinessDays plus a bank holiday check, same dates, same run.
  const fresh = createCalendar();
  const holidays = new Set(fresh.holidaysBetween('2024-01-01' as LocalDate, '2030-12-31' as LocalDate).map((h) => h.date as string));
  const dates = Array.from({ length: 200_000 }, (_, i) => fromDayNumber(start + (i % 900)));
  const counts = [2, 5, 20, 25];
  const ours = time(() => {
    let last = '';
    for (let i = 0; i < dates.length; i++) last = fresh.addWorkingDays(dates[i], counts[i & 3]);
    return last;
  });
  const sampled = 20_000; // date-fns is slow enough that a tenth of the dates gives a steady figure
  const withDateFns = time(() => {
    let last = '';
    for (let i = 0; i < sampled; i++) {
      // addBusinessDays skips weekends only; step on past each bank holiday met on the way.
      let day = new Date(`${dates[i]}T12:00:00Z`);
      for (let left = counts[i & 3]; left > 0; ) {
        day = addBusinessDays(day, 1);
        if (!holidays.has(format(day, 'yyyy-MM-dd'))) left--;
      }
      last = format(day, 'yyyy-MM-dd');
    }
    return last;
  });
  let agree = 0;
  for (let i = 0; i < 2000; i++) {
    let day = new Date(`${dates[i]}T12:00:00Z`);
    for (let left = counts[i & 3]; left > 0; ) {
      day = addDaysFns(day, 1);
      if (!isWeekend(day) && !holidays.has(format(day, 'yyyy-MM-dd'))) left--;
    }
    if (format(day, 'yyyy-MM-dd') === fresh.addWorkingDays(dates[i], counts[i & 3])) agree++;
  }
  const oursNs = (ours.ms * 1e6) / dates.length;
  const theirsNs = (withDateFns.ms * 1e6) / sampled;
  lines.push(
    `add-working-days: ${oursNs.toFixed(0)} ns an operation (${dates.length.toLocaleString('en-GB')} ops in ${ours.ms.toFixed(0)} ms); ` +
      `date-fns addBusinessDays + holiday check: ${theirsNs.toFixed(0)} ns (${sampled.toLocaleString('en-GB')} ops in ${withDateFns.ms.toFixed(0)} ms); ` +
      `ours ${(theirsNs / oursNs).toFixed(0)}x faster; answers agree on ${agree}/2000 sampled`,
  );
  return lines;
}

if (require.main === module) for (const line of benchObligations()) console.log(line);
