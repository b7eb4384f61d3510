import type { WorkingDayCalendar } from '../calendar';
import { createDispatcher, DeliveryLog, Dispatcher, DispatcherOptions } from '../delivery/dispatcher';
import type { PacingLimits } from '../delivery/pacing';
import type { Policy } from '../policy';
import { createCaseLog } from '../storage/caseLog';
import type { Database } from '../storage/database';
import { createMeetingStore } from '../storage/meetingStore';
import { createStaffDirectory } from '../storage/staffDirectory';
import { bookingHandler, CalendarPort, cancelHandler, moveHandler } from './booking';
import { TAF_MOVE_KIND } from './meetingOutcome';
import { TAF_BOOKING_KIND, TAF_CANCEL_KIND } from './bookingPass';

/**
 * The calendar sender: its own dispatcher (destination `calendar`) books the meetings the booking
 * pass queued, in Outlook or the product's own calendar, many at once: an organiser's bookings may
 * run side by side (each slot is chosen and held under the organiser's lock, so two never take the
 * same one). Graph's limits are kept by the client (4 requests at once per mailbox, Retry-After
 * honoured); a booking cut short by a crash is made again, a no-op for the calendar.
 */

/** No pacing of its own: Graph's per-mailbox limit is kept by the client, and a 429 waits out its Retry-After. */
export const CALENDAR_LIMITS: PacingLimits = { perConversation: [], global: [] };

export function calendarHandlers(options: { db: Database; port: CalendarPort; policy: Policy; calendar: WorkingDayCalendar; now?: () => Date; maxAttempts?: number }) {
  const { db } = options;
  return {
    [TAF_BOOKING_KIND]: bookingHandler({ db, caseLog: createCaseLog(db), meetings: createMeetingStore(db), directory: createStaffDirectory(db), port: options.port, policy: options.policy, calendar: options.calendar, now: options.now, maxAttempts: options.maxAttempts }),
    [TAF_MOVE_KIND]: moveHandler({ db, meetings: createMeetingStore(db), directory: createStaffDirectory(db), port: options.port }),
    [TAF_CANCEL_KIND]: cancelHandler({ meetings: createMeetingStore(db), directory: createStaffDirectory(db), port: options.port }),
  };
}

/** Bookings sent at once: enough for every mailbox to have its 4 requests in flight across a hundred organisers. */
export const CALENDAR_CONCURRENCY = 64;

export function createCalendarDispatcher(options: { db: Database; port: CalendarPort; policy: Policy; calendar: WorkingDayCalendar; now?: () => Date; log?: DeliveryLog; dispatcher?: Partial<Omit<DispatcherOptions, 'db' | 'handlers'>> }): Dispatcher {
  const maxAttempts = options.dispatcher?.maxAttempts ?? 8;
  return createDispatcher({
    db: options.db,
    handlers: calendarHandlers({ ...options, maxAttempts }),
    resumableKinds: [TAF_BOOKING_KIND, TAF_MOVE_KIND, TAF_CANCEL_KIND],
    destination: 'calendar',
    limits: CALENDAR_LIMITS,
    concurrency: CALENDAR_CONCURRENCY,
    batchSize: 200,
    log: options.log,
    ...options.dispatcher,
    maxAttempts,
  });
}
