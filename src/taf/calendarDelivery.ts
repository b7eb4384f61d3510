import type { WorkingDayCalendar } from '../calendar';
import { createDispatcher, DeliveryLog, Dispatcher, DispatcherOptions } from '../delivery/dispatcher';
import type { PacingLimits } from '../delivery/pacing';
import type { Policy } from '../policy';
import { createCaseLog } from '../storage/caseLog';
import type { Database } from '../storage/database';
import { createMeetingStore } from '../storage/meetingStore';
import { createStaffDirectory } from '../storage/staffDirectory';
import { bookingHandler, CalendarPort } from './booking';
import { TAF_BOOKING_KIND } from './bookingPass';

/**
 * The calendar sender: its own dispatcher (destination `calendar`) books the meetings the booking
 * pass queued, in Outlook or the product's own calendar. One booking per organiser at a time (the
 * outbox takes a recipient's rows in turn), so two bookings never take the same free slot; many
 * organisers at once. Graph's limits are kept by the client (4 requests at once per mailbox,
 * Retry-After honoured); a booking cut short by a crash is made again, a no-op for the calendar.
 */

/** No pacing of its own: Graph's per-mailbox limit is kept by the client, and a 429 waits out its Retry-After. */
export const CALENDAR_LIMITS: PacingLimits = { perConversation: [], global: [] };

export function calendarHandlers(options: { db: Database; port: CalendarPort; policy: Policy; calendar: WorkingDayCalendar; now?: () => Date }) {
  const { db } = options;
  return {
    [TAF_BOOKING_KIND]: bookingHandler({ db, caseLog: createCaseLog(db), meetings: createMeetingStore(db), directory: createStaffDirectory(db), port: options.port, policy: options.policy, calendar: options.calendar, now: options.now }),
  };
}

export function createCalendarDispatcher(options: { db: Database; port: CalendarPort; policy: Policy; calendar: WorkingDayCalendar; now?: () => Date; log?: DeliveryLog; dispatcher?: Partial<Omit<DispatcherOptions, 'db' | 'handlers'>> }): Dispatcher {
  return createDispatcher({
    db: options.db,
    handlers: calendarHandlers(options),
    resumableKinds: [TAF_BOOKING_KIND],
    destination: 'calendar',
    limits: CALENDAR_LIMITS,
    concurrency: 32,
    batchSize: 100,
    log: options.log,
    ...options.dispatcher,
  });
}
