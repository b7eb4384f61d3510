import { TZDate } from '@date-fns/tz';
import { LocalDate } from './localDate';

/** Reminders are set in the wall-clock time of the workers' offices, whatever the season. */
export const OFFICE_TIME_ZONE = 'Europe/London';

const WALL_CLOCK = /^([01]\d|2[0-3]):([0-5]\d)$/;

export class InvalidWallClockTimeError extends Error {
  constructor(readonly input: string) {
    super(`${JSON.stringify(input)} is not a time of day (expected HH:MM, 24-hour)`);
    this.name = 'InvalidWallClockTimeError';
  }
}

/**
 * The instant a reminder set for `time` (e.g. "08:30") on a local date goes off in London: 08:30 GMT
 * in winter and 08:30 BST in summer, so it stays right across the clock changes. A time the clocks
 * skip (01:30 on the last Sunday of March) goes off an hour later by the clock, at 02:30 BST.
 * @example reminderInstant('2027-03-29', '09:00') // 2027-03-29T08:00:00.000Z (BST)
 */
export function reminderInstant(date: LocalDate, time: string): Date {
  const m = WALL_CLOCK.exec(time);
  if (!m) throw new InvalidWallClockTimeError(time);
  const [year, month, day] = (date as string).split('-').map(Number);
  return new Date(new TZDate(year, month - 1, day, Number(m[1]), Number(m[2]), 0, OFFICE_TIME_ZONE).getTime());
}
