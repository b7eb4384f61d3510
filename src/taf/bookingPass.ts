import { randomUUID } from 'node:crypto';
import type { WorkingDayCalendar } from '../calendar';
import { caseState, CaseState } from '../caseState';
import { enqueue } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import { Obligation, obligations } from '../obligations';
import type { Policy } from '../policy';
import { recordAudit } from '../storage/audit';
import type { CaseLog, CaseRecord } from '../storage/caseLog';
import type { Database } from '../storage/database';
import type { LiveMeeting, MeetingCalendar, MeetingStore } from '../storage/meetingStore';
import { meetingCard } from './booking';
import { MeetingNeed, meetingNeeded, tafObligationToBook } from './meetingNeed';

/**
 * One booking pass (issue 9; what the scheduler runs, and `earlyhelp taf book`): looks at the open
 * cases that changed since the pass last saw them, works out which need a TAF meeting booked
 * (pure, meetingNeed.ts), and for each adds the meeting and its booking to the outbox in one
 * transaction. The calendar sender (Outlook through Graph, or the product's own calendar) books it.
 * A meeting is unique per obligation while live, so a pass run twice, or by two instances, books once.
 */

/** The outbox kind of a booking: `{ meetingId, organiser }`. */
export const TAF_BOOKING_KIND = 'taf-booking';
/** The outbox kind that cancels a meeting's Outlook event: `{ meetingId }`. */
export const TAF_CANCEL_KIND = 'taf-cancel';

export interface BookingPassContext {
  db: Database;
  caseLog: CaseLog;
  meetings: MeetingStore;
  policy: Policy;
  calendar: WorkingDayCalendar;
  /** Where meetings are booked: Outlook (Graph configured) or the product's own calendar. */
  calendarKind: MeetingCalendar;
}

export interface BookingPassOptions {
  now: Date;
  /** Say what would be booked; change nothing. */
  dryRun?: boolean;
  /** Cases read at a time. */
  batchSize?: number;
}

export interface PlannedBooking extends MeetingNeed {
  meetingId: string;
  caseId: string;
  reference: string;
  organiser: string;
}

export interface BookingPassResult {
  planned: PlannedBooking[];
  /** Live meetings done with: their TAF recorded as held, or no longer needed. */
  settled: SettledMeeting[];
  /** Organisers asked whether a meeting that ended was held. */
  asked: number;
  casesRead: number;
}

/** A live meeting the case no longer needs: held (its obligation met by a TAF held) or cancelled (the case closed or reallocated, or moved on). */
export interface SettledMeeting {
  meetingId: string;
  caseId: string;
  reference: string;
  state: 'held' | 'cancelled';
  reason?: string;
}

/** Why a live meeting is no longer the one to hold, or null while it is. */
function settlementOf(obligationId: string, meeting: LiveMeeting, state: CaseState, owed: readonly Obligation[], open: Obligation | undefined): Pick<SettledMeeting, 'state' | 'reason'> | null {
  if (state.status === 'closed') return { state: 'cancelled', reason: 'no longer needed' };
  if (owed.find((o) => o.id === obligationId)?.metOn !== undefined) return { state: 'held' };
  if (obligationId !== open?.id) return { state: 'cancelled', reason: 'no longer needed' };
  // Reallocated: the new lead professional holds the meeting, in their own calendar.
  if (meeting.organiser !== state.leadProfessional) return { state: 'cancelled', reason: 'reallocated' };
  return null;
}

/** What each case read needs booked today, and which of its live meetings are done with. */
export function bookingChanges(records: readonly CaseRecord[], live: ReadonlyMap<string, ReadonlyMap<string, LiveMeeting>>, today: LocalDate, policy: Policy, calendar: WorkingDayCalendar): { planned: PlannedBooking[]; settled: SettledMeeting[] } {
  const planned: PlannedBooking[] = [];
  const settled: SettledMeeting[] = [];
  for (const r of records) {
    const state = caseState(r.events);
    const owed = obligations(r.events, policy, calendar, today);
    const open = tafObligationToBook(owed);
    const booked = new Set<string>();
    for (const [obligationId, meeting] of live.get(r.caseId) ?? new Map<string, LiveMeeting>()) {
      const settlement = settlementOf(obligationId, meeting, state, owed, open);
      if (settlement) settled.push({ meetingId: meeting.id, caseId: r.caseId, reference: r.reference, ...settlement });
      else booked.add(obligationId);
    }
    const need = meetingNeeded({ state, obligations: owed, booked, today, calendar, policy });
    if (need) planned.push({ ...need, meetingId: randomUUID(), caseId: r.caseId, reference: r.reference, organiser: state.leadProfessional });
  }
  return { planned, settled };
}

export async function bookingPass(ctx: BookingPassContext, options: BookingPassOptions): Promise<BookingPassResult> {
  const today = londonDateOf(options.now);
  const batchSize = options.batchSize ?? 500;
  const result: BookingPassResult = { planned: [], settled: [], asked: 0, casesRead: 0 };
  const seen = new Set<string>();
  for (;;) {
    // A dry run marks nothing, so it reads everything to look at in one go.
    const ids = (await ctx.meetings.casesToCheck(options.dryRun ? 1_000_000 : batchSize)).filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    const records = await ctx.caseLog.readForScheduler(ids);
    result.casesRead += records.length;
    const changes = bookingChanges(records, await ctx.meetings.liveMeetings(ids), today, ctx.policy, ctx.calendar);
    if (options.dryRun) {
      result.planned.push(...changes.planned);
      result.settled.push(...changes.settled);
      break;
    }
    const done = await queueBookings(ctx, changes, records, today);
    result.planned.push(...done.planned);
    result.settled.push(...done.settled);
  }
  if (!options.dryRun) result.asked = await askOutcomes(ctx, options.now);
  return result;
}

/** Adds each meeting and its booking, and settles the meetings done with, in one transaction with the cases' checks; returns what was newly done. */
async function queueBookings(ctx: BookingPassContext, changes: ReturnType<typeof bookingChanges>, records: readonly CaseRecord[], today: LocalDate): Promise<{ planned: PlannedBooking[]; settled: SettledMeeting[] }> {
  return ctx.db.transaction(async (tx) => {
    const planned: PlannedBooking[] = [];
    const settled: SettledMeeting[] = [];
    for (const m of changes.settled) {
      const before = await ctx.meetings.get(m.meetingId, tx);
      if (!(await ctx.meetings.settle(tx, m.meetingId, m.state, m.reason))) continue;
      // A meeting no longer to be held comes out of the organiser's Outlook calendar too (everyone invited is told).
      if (m.state === 'cancelled' && before?.state === 'booked' && before.calendar === 'outlook' && before.eventId) {
        await enqueue(tx, { kind: TAF_CANCEL_KIND, caseId: m.caseId, payload: { meetingId: m.meetingId }, dedupeKey: `${TAF_CANCEL_KIND}:${m.meetingId}` });
      }
      await recordAudit(tx, { actor: 'scheduler', action: `taf.${m.state}`, caseId: m.caseId, detail: { meeting: m.meetingId, ...(m.reason ? { reason: m.reason } : {}) } });
      settled.push(m);
    }
    for (const p of changes.planned) {
      const fresh = await ctx.meetings.add(tx, { id: p.meetingId, caseId: p.caseId, obligationId: p.obligationId, kind: p.kind, organiser: p.organiser, calendar: ctx.calendarKind, deadline: p.deadline, window: p.window, transactionId: randomUUID() });
      if (!fresh) continue;
      // No recipient: an organiser's bookings may be made side by side (the slot is chosen under their lock, src/taf/booking.ts).
      await enqueue(tx, { kind: TAF_BOOKING_KIND, caseId: p.caseId, payload: { meetingId: p.meetingId, organiser: p.organiser }, dedupeKey: `${TAF_BOOKING_KIND}:${p.meetingId}` });
      await recordAudit(tx, { actor: 'scheduler', action: 'taf.book', caseId: p.caseId, detail: { meeting: p.meetingId, obligation: p.obligationId, calendar: ctx.calendarKind } });
      planned.push(p);
    }
    await ctx.meetings.markChecked(tx, records.map((r) => ({ caseId: r.caseId, version: r.version })), today);
    return { planned, settled };
  });
}

/** After a meeting's end its organiser is asked, once, whether it was held (the Held / Not held / Moved card). */
async function askOutcomes(ctx: BookingPassContext, now: Date): Promise<number> {
  return ctx.db.transaction(async (tx) => {
    const ended = await ctx.meetings.takeEnded(tx, now);
    for (const m of ended) await enqueue(tx, meetingCard(m, 'outcome', String(now.getTime())));
    return ended.length;
  });
}
