import type { WorkingDayCalendar } from '../../src/calendar';
import type { Policy } from '../../src/policy';
import type { Database } from '../../src/storage/database';
import type { CalendarPort } from '../../src/taf/booking';
import { createCalendarDispatcher } from '../../src/taf/calendarDelivery';
import { localCalendar } from '../../src/taf/localCalendar';

/**
 * Books what the booking pass queued, as the server's calendar sender does, run by run until a
 * run claims nothing (20 runs at most); returns how many bookings were claimed.
 */
export async function bookQueued(options: { db: Database; policy: Policy; calendar: WorkingDayCalendar; now: () => Date; port?: CalendarPort }): Promise<number> {
  const sender = createCalendarDispatcher({ db: options.db, port: options.port ?? localCalendar(), policy: options.policy, calendar: options.calendar, now: options.now });
  let total = 0;
  for (let i = 0; i < 20; i++) {
    const run = await sender.runOnce();
    total += run.claimed;
    if (run.claimed === 0) break;
  }
  return total;
}
