import type { WorkingDayCalendar } from '../calendar';
import { addDays, LocalDate, toDayNumber } from '../localDate';
import type { Policy } from '../policy';
import { reminderInstant } from '../reminderTime';

/**
 * Where a TAF meeting goes: the candidate slots of a booking window (working days, the policy's
 * meeting hours, its length) and the choice among them given who is busy when. Pure: free/busy
 * comes in (from Graph's getSchedule, or the product's own calendar in local mode), a slot comes out.
 */

/** The days a meeting may be booked on, and the day it should be nearest. */
export interface BookingWindow {
  /** The first day it may be booked on. */
  from: LocalDate;
  /** The last day it may be booked on: the deadline (a review's latest date). */
  to: LocalDate;
  /** The day to aim for: the first free slot on or after it (`first`), or the slot nearest it (`nearest`). */
  aim: LocalDate;
  order: 'first' | 'nearest';
}

export type BusyStatus = 'busy' | 'tentative' | 'oof';

/** One person's time that is taken. */
export interface BusyTime {
  start: Date;
  end: Date;
  status: BusyStatus;
}

/** Who is busy when: the worker first, then the internal attendees, by e-mail. */
export type FreeBusy = ReadonlyMap<string, readonly BusyTime[]>;

export interface Slot {
  day: LocalDate;
  start: Date;
  end: Date;
}

export interface ChosenSlot extends Slot {
  /** Whoever is not free then (empty for a free slot), with how. */
  conflicts: Array<{ person: string; status: BusyStatus }>;
  /** After the window's last day: nothing at all could be booked in time. */
  late: boolean;
}

/** The meeting's start and end on a day at a London wall-clock time "HH:MM". */
function at(day: LocalDate, minutes: number): Date {
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return reminderInstant(day, `${hh}:${mm}`);
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

// A day's slots are the same every time they are asked for; working them out through the time zone
// rules is the dearest part of choosing a slot, so they are kept (a few thousand days at most).
const daySlots = new Map<string, readonly Slot[]>();

/** The slots of one day: from the start of meeting hours, every step, each ending by their end. */
export function slotsOn(day: LocalDate, policy: Policy): readonly Slot[] {
  const { hours, lengthMinutes, slotStepMinutes } = policy.tafMeetings;
  const key = `${day}|${hours.start}|${hours.end}|${lengthMinutes}|${slotStepMinutes}`;
  const kept = daySlots.get(key);
  if (kept) return kept;
  const out: Slot[] = [];
  for (let m = minutesOf(hours.start); m + lengthMinutes <= minutesOf(hours.end); m += slotStepMinutes) {
    out.push({ day, start: at(day, m), end: at(day, m + lengthMinutes) });
  }
  if (daySlots.size > 5_000) daySlots.clear();
  daySlots.set(key, out);
  return out;
}

/** The working days of a window, in the order they are tried: from `aim` onwards, or nearest `aim` first (earlier on a tie). */
export function daysToTry(window: BookingWindow, calendar: WorkingDayCalendar): LocalDate[] {
  const days: LocalDate[] = [];
  for (let d = window.from; d <= window.to; d = addDays(d, 1)) if (calendar.isWorkingDay(d)) days.push(d);
  if (window.order === 'first') {
    // On or after the aim first; the days before it only if nothing after is free.
    return [...days.filter((d) => d >= window.aim), ...days.filter((d) => d < window.aim)];
  }
  const distance = (d: LocalDate) => Math.abs(toDayNumber(d) - toDayNumber(window.aim));
  return days.sort((a, b) => distance(a) - distance(b) || (a < b ? -1 : 1));
}

/** Who is not free during a slot. */
export function conflictsOf(slot: Slot, freeBusy: FreeBusy): ChosenSlot['conflicts'] {
  const out: ChosenSlot['conflicts'] = [];
  for (const [person, times] of freeBusy) {
    let worst: BusyStatus | undefined;
    for (const t of times) {
      if (t.start.getTime() < slot.end.getTime() && slot.start.getTime() < t.end.getTime()) {
        if (!worst || weight(t.status) > weight(worst)) worst = t.status;
      }
    }
    if (worst) out.push({ person, status: worst });
  }
  return out;
}

function weight(status: BusyStatus): number {
  return status === 'tentative' ? 1 : status === 'busy' ? 2 : 3;
}

/**
 * How bad a slot with these conflicts is: the worker (who chairs) being away or busy is worst, then
 * each other person busy, then each tentative. 0 is a free slot.
 */
export function badness(conflicts: ChosenSlot['conflicts'], worker: string): number {
  let score = 0;
  for (const c of conflicts) score += weight(c.status) * (c.person === worker ? 100 : 10);
  return score;
}

/**
 * The slot to book: the first free one in the window's order. When none is free, the least bad
 * one in the window (fewest and lightest conflicts, then the window's order). When the window has
 * no working day at all (its deadline has passed), the first free slot after it, marked late,
 * searched up to `lateSearchDays` working days on.
 */
export function chooseSlot(input: { window: BookingWindow; freeBusy: FreeBusy; worker: string; calendar: WorkingDayCalendar; policy: Policy; lateSearchDays?: number }): ChosenSlot | null {
  const { window, freeBusy, worker, calendar, policy } = input;
  let best: ChosenSlot | undefined;
  let bestScore = Infinity;
  /** The first free slot of these days, or null having kept the least bad one seen. */
  const firstFree = (days: Iterable<LocalDate>, late: boolean): ChosenSlot | null => {
    for (const day of days) {
      for (const slot of slotsOn(day, policy)) {
        const conflicts = conflictsOf(slot, freeBusy);
        const score = badness(conflicts, worker);
        if (score === 0) return { ...slot, conflicts, late };
        if (score < bestScore) [best, bestScore] = [{ ...slot, conflicts, late }, score];
      }
    }
    return null;
  };
  const inTime = firstFree(daysToTry(window, calendar), false);
  if (inTime) return inTime;
  if (best) return best;
  // Nothing in time: the first free slot after the deadline (or the least bad one searched).
  return firstFree(workingDaysFrom(window.to < window.from ? window.from : addDays(window.to, 1), input.lateSearchDays ?? 20, calendar), true) ?? best ?? null;
}

/** `count` working days from `day` on (it included, if it is one). */
function* workingDaysFrom(day: LocalDate, count: number, calendar: WorkingDayCalendar): Generator<LocalDate> {
  for (let n = 0; n < count; day = addDays(day, 1)) {
    if (!calendar.isWorkingDay(day)) continue;
    n++;
    yield day;
  }
}

/** The instants getSchedule is asked about for a window: from the start of its first day's meeting hours to the end of its last day's (and a late search after it). */
export function scheduleRange(window: BookingWindow, calendar: WorkingDayCalendar, policy: Policy, lateSearchDays = 20): { start: Date; end: Date } {
  const { hours } = policy.tafMeetings;
  const last = window.to < window.from ? calendar.addWorkingDays(window.from, lateSearchDays) : window.to;
  return { start: at(window.from, minutesOf(hours.start)), end: at(last, minutesOf(hours.end)) };
}
