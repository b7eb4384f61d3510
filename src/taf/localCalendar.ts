import type { CalendarPort } from './booking';

/**
 * The product's own calendar, for local mode (no Microsoft 365 tenant): a meeting is booked
 * against the organiser's other meetings in the product, is shown on the cards, and is offered as
 * an `.ics` file (src/taf/icsFile.ts) for the worker to add to whatever calendar they use.
 * Booking it is writing the meeting row, so it is made once by construction.
 */
export function localCalendar(): CalendarPort {
  return {
    kind: 'local',
    // Nobody's calendar is known here but the product's own meetings, which the booking adds.
    async freeBusy() {
      return new Map();
    },
    async create(_organiser, event, meeting, begin) {
      if (!(await begin())) throw new Error('the booking was taken over');
      return { start: event.start, end: event.end, eventId: `local:${meeting.id}`, iCalUId: `${meeting.id}@earlyhelp.local` };
    },
    // The meeting's own row is the calendar: it has its new time already.
    async move() {
      return {};
    },
    async cancel() {},
  };
}
