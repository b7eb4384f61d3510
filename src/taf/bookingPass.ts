import { randomUUID } from 'node:crypto';
import type { WorkingDayCalendar } from '../calendar';
import { caseState } from '../caseState';
import { enqueue } from '../delivery/outbox';
import { LocalDate, londonDateOf } from '../localDate';
import { obligations } from '../obligations';
import type { Policy } from '../policy';
import { recordAudit } from '../storage/audit';
import type { CaseLog, CaseRecord } from '../storage/caseLog';
import type { Database } from '../storage/database';
import type { MeetingCalendar, MeetingStore } from '../storage/meetingStore';
import { MeetingNeed, meetingNeeded } from './meetingNeed';

/**
 * One booking pass (issue 9; what the scheduler runs, and `earlyhelp taf book`): looks at the open
 * cases that changed since the pass last saw them, works out which need a TAF meeting booked
 * (pure, meetingNeed.ts), and for each adds the meeting and its booking to the outbox in one
 * transaction. The calendar sender (Outlook through Graph, or the product's own calendar) books it.
 * A meeting is unique per obligation while live, so a pass run twice, or by two instances, books once.
 */

/** The outbox kind of a booking: `{ meetingId }`, for the organiser. */
export const TAF_BOOKING_KIND = 'taf-booking';

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
  casesRead: number;
}

/** What each case read needs booked today. */
export function plannedBookings(records: readonly CaseRecord[], live: ReadonlyMap<string, ReadonlySet<string>>, today: LocalDate, policy: Policy, calendar: WorkingDayCalendar): PlannedBooking[] {
  const out: PlannedBooking[] = [];
  for (const r of records) {
    const state = caseState(r.events);
    const need = meetingNeeded({ state, obligations: obligations(r.events, policy, calendar, today), booked: live.get(r.caseId) ?? new Set(), today, calendar, policy });
    if (need) out.push({ ...need, meetingId: randomUUID(), caseId: r.caseId, reference: r.reference, organiser: state.leadProfessional });
  }
  return out;
}

export async function bookingPass(ctx: BookingPassContext, options: BookingPassOptions): Promise<BookingPassResult> {
  const today = londonDateOf(options.now);
  const batchSize = options.batchSize ?? 500;
  const result: BookingPassResult = { planned: [], casesRead: 0 };
  const seen = new Set<string>();
  for (;;) {
    // A dry run marks nothing, so it reads everything to look at in one go.
    const ids = (await ctx.meetings.casesToCheck(options.dryRun ? 1_000_000 : batchSize)).filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    const records = await ctx.caseLog.readForScheduler(ids);
    result.casesRead += records.length;
    const planned = plannedBookings(records, await ctx.meetings.liveObligations(ids), today, ctx.policy, ctx.calendar);
    if (options.dryRun) {
      result.planned.push(...planned);
      break;
    }
    result.planned.push(...(await queueBookings(ctx, planned, records, today)));
  }
  return result;
}

/** Adds each meeting and its booking in one transaction with the cases' checks; returns those newly added. */
async function queueBookings(ctx: BookingPassContext, planned: readonly PlannedBooking[], records: readonly CaseRecord[], today: LocalDate): Promise<PlannedBooking[]> {
  return ctx.db.transaction(async (tx) => {
    const added: PlannedBooking[] = [];
    for (const p of planned) {
      const fresh = await ctx.meetings.add(tx, { id: p.meetingId, caseId: p.caseId, obligationId: p.obligationId, kind: p.kind, organiser: p.organiser, calendar: ctx.calendarKind, deadline: p.deadline, window: p.window, transactionId: randomUUID() });
      if (!fresh) continue;
      await enqueue(tx, { kind: TAF_BOOKING_KIND, recipient: { staffId: p.organiser }, caseId: p.caseId, payload: { meetingId: p.meetingId }, dedupeKey: `${TAF_BOOKING_KIND}:${p.meetingId}` });
      await recordAudit(tx, { actor: 'scheduler', action: 'taf.book', caseId: p.caseId, detail: { meeting: p.meetingId, obligation: p.obligationId, calendar: ctx.calendarKind } });
      added.push(p);
    }
    await ctx.meetings.markChecked(tx, records.map((r) => ({ caseId: r.caseId, version: r.version })), today);
    return added;
  });
}
