import { BookingPassContext, bookingPass, BookingPassResult } from '../taf/bookingPass';
import { Repeating, startRepeating } from '../repeating';
import { sweepReminders, SweepContext, SweepResult } from './sweep';

/**
 * The scheduler inside the server: a sweep at start (a server down at 08:30 sends the day's
 * digests when it is back, the same working day) and then one a minute. A sweep between digest
 * times reads only the cases whose time has come, so it costs almost nothing. With `booking`, each
 * tick also runs the TAF booking pass (issue 9), which reads only the cases changed since.
 */
export interface SchedulerOptions {
  sweep: SweepContext;
  /** Between sweeps; one a minute by default. */
  intervalMs?: number;
  /** The scheduler's clock (tests set it). */
  now?: () => Date;
  /** Told after a sweep queued something (the delivery loop is poked). */
  onPlanned?: (result: SweepResult) => void;
  /** The TAF booking pass, run after each sweep. */
  booking?: BookingPassContext;
  /** Told after a booking pass queued something (the calendar sender and the delivery loop are poked). */
  onBooked?: (result: BookingPassResult) => void;
  log?: { warn(fields: object, message: string): void; info(fields: object, message: string): void };
  /** Names this instance's hold on the sweep lease. */
  holder?: string;
}

/** One sweep now (also what the timer runs), and stop. */
export type Scheduler = Repeating<SweepResult | null>;

export function startScheduler(options: SchedulerOptions): Scheduler {
  const now = options.now ?? (() => new Date());
  const holder = options.holder ?? `server:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  async function sweepOnce(): Promise<SweepResult | null> {
    const result = await sweep();
    if (options.booking) await book();
    return result;
  }

  async function sweep(): Promise<SweepResult | null> {
    try {
      const result = await sweepReminders(options.sweep, { now: now(), holder });
      if (result.planned.length) {
        options.log?.info({ planned: result.planned.length, casesRead: result.casesRead }, 'reminders: planned');
        options.onPlanned?.(result);
      }
      return result;
    } catch (e) {
      // A sweep that failed changed nothing it did not finish: the next one plans it again.
      options.log?.warn({ err: (e as Error)?.name, message: (e as Error)?.message }, 'reminders: sweep failed');
      return null;
    }
  }

  async function book(): Promise<void> {
    try {
      const result = await bookingPass(options.booking!, { now: now() });
      if (result.planned.length || result.settled.length || result.asked) {
        options.log?.info({ planned: result.planned.length, settled: result.settled.length, asked: result.asked, casesRead: result.casesRead }, 'taf meetings: booking pass');
        options.onBooked?.(result);
      }
    } catch (e) {
      // Each case's bookings are written with its check, or not at all: the next pass looks again.
      options.log?.warn({ err: (e as Error)?.name, message: (e as Error)?.message }, 'taf meetings: booking pass failed');
    }
  }

  return startRepeating(sweepOnce, options.intervalMs ?? 60_000);
}
