import { LocalDate } from '../localDate';
import type { TafMeetingKind } from '../taf/meetingNeed';
import type { BookingWindow } from '../taf/slots';
import { Database } from './database';

/**
 * The TAF meetings the product books (issue 9), where each stands, and which case versions the
 * booking pass has looked at. SQL only. A meeting is a case id, an obligation, a time and a
 * calendar event: never a family's name.
 *
 *     booking --(event created)--> booked --(Held card)------> held
 *        |                           |----(Not held card)---> not-held   (the pass books another)
 *        |                           |----(cancelled in Outlook)--> cancelled (the pass books another)
 *        +--(no longer needed)--> cancelled
 */

export type MeetingState = 'booking' | 'booked' | 'held' | 'not-held' | 'cancelled';
export type MeetingCalendar = 'outlook' | 'local';

export interface TafMeeting {
  id: string;
  caseId: string;
  reference: string;
  obligationId: string;
  kind: TafMeetingKind;
  organiser: string;
  calendar: MeetingCalendar;
  state: MeetingState;
  deadline: LocalDate;
  window: BookingWindow;
  startsAt?: Date;
  endsAt?: Date;
  late: boolean;
  conflicts: number;
  transactionId: string;
  eventId?: string;
  iCalUId?: string;
  changeKey?: string;
  joinUrl?: string;
  webLink?: string;
  outcomeReason?: string;
  createdAt: Date;
  updatedAt: Date;
}

interface Row {
  id: string;
  case_id: string;
  reference: string;
  obligation_id: string;
  kind: TafMeetingKind;
  organiser: string;
  calendar: MeetingCalendar;
  state: MeetingState;
  deadline: string;
  window_from: string;
  window_to: string;
  aim: string;
  starts_at: string | Date | null;
  ends_at: string | Date | null;
  late: boolean;
  conflicts: number;
  transaction_id: string;
  event_id: string | null;
  ical_uid: string | null;
  change_key: string | null;
  join_url: string | null;
  web_link: string | null;
  outcome_reason: string | null;
  created_at: string | Date;
  updated_at: string | Date;
}

const COLUMNS = `m.id, m.case_id, c.reference, m.obligation_id, m.kind, m.organiser, m.calendar, m.state, m.deadline::text AS deadline,
  m.window_from::text AS window_from, m.window_to::text AS window_to, m.aim::text AS aim, m.starts_at, m.ends_at, m.late, m.conflicts,
  m.transaction_id, m.event_id, m.ical_uid, m.change_key, m.join_url, m.web_link, m.outcome_reason, m.created_at, m.updated_at`;

const FROM = 'taf_meetings m JOIN cases c ON c.id = m.case_id';

function meetingOf(r: Row): TafMeeting {
  const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
  return {
    id: r.id,
    caseId: r.case_id,
    reference: r.reference,
    obligationId: r.obligation_id,
    kind: r.kind,
    organiser: r.organiser,
    calendar: r.calendar,
    state: r.state,
    deadline: r.deadline as LocalDate,
    window: { from: r.window_from as LocalDate, to: r.window_to as LocalDate, aim: r.aim as LocalDate, order: r.kind === 'first-taf' ? 'first' : 'nearest' },
    ...(r.starts_at ? { startsAt: new Date(r.starts_at) } : {}),
    ...(r.ends_at ? { endsAt: new Date(r.ends_at) } : {}),
    late: r.late,
    conflicts: r.conflicts,
    transactionId: r.transaction_id,
    eventId: opt(r.event_id),
    iCalUId: opt(r.ical_uid),
    changeKey: opt(r.change_key),
    joinUrl: opt(r.join_url),
    webLink: opt(r.web_link),
    outcomeReason: opt(r.outcome_reason),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** A meeting still to happen, as the booking pass weighs it. */
export interface LiveMeeting {
  id: string;
  organiser: string;
}

export interface NewMeeting {
  id: string;
  caseId: string;
  obligationId: string;
  kind: TafMeetingKind;
  organiser: string;
  calendar: MeetingCalendar;
  deadline: LocalDate;
  window: BookingWindow;
  transactionId: string;
}

/** What the calendar made of a booking. */
export interface BookedEvent {
  startsAt: Date;
  endsAt: Date;
  late: boolean;
  conflicts: number;
  eventId?: string;
  iCalUId?: string;
  changeKey?: string;
  joinUrl?: string;
  webLink?: string;
}

export type MeetingStore = ReturnType<typeof createMeetingStore>;

export function createMeetingStore(db: Database) {
  const one = async (where: string, params: unknown[], tx: Database = db) => {
    const [row] = await tx.query<Row>(`SELECT ${COLUMNS} FROM ${FROM} WHERE ${where}`, params);
    return row ? meetingOf(row) : null;
  };
  return {
    /** Cases the booking pass has not looked at since they last changed: open ones, and closed ones with a live meeting. */
    async casesToCheck(limit: number): Promise<string[]> {
      const rows = await db.query<{ id: string }>(
        `SELECT c.id FROM cases c LEFT JOIN taf_booking_checks k ON k.case_id = c.id
          WHERE (k.case_id IS NULL OR k.checked_version <> c.version)
            AND (c.status <> 'closed' OR EXISTS (SELECT 1 FROM taf_meetings m WHERE m.case_id = c.id AND m.state IN ('booking', 'booked')))
          ORDER BY c.id LIMIT $1`,
        [limit],
      );
      return rows.map((r) => r.id);
    },
    /** Records that the pass looked at a case as it stood at `version`. */
    async markChecked(tx: Database, checks: ReadonlyArray<{ caseId: string; version: number }>, today: LocalDate): Promise<void> {
      if (checks.length === 0) return;
      await tx.query(
        `INSERT INTO taf_booking_checks (case_id, checked_version, checked_on)
         SELECT r.case_id, r.version, $2::date FROM jsonb_to_recordset($1::jsonb) AS r(case_id text, version int)
         ON CONFLICT (case_id) DO UPDATE SET checked_version = EXCLUDED.checked_version, checked_on = EXCLUDED.checked_on`,
        [JSON.stringify(checks.map((c) => ({ case_id: c.caseId, version: c.version }))), today],
      );
    },
    /** The pass looks at the case again (its meeting was cancelled or not held). */
    async recheck(tx: Database, caseId: string): Promise<void> {
      await tx.query('DELETE FROM taf_booking_checks WHERE case_id = $1', [caseId]);
    },
    /** Per case, its live meetings (being booked, or booked), by obligation id. */
    async liveMeetings(caseIds: readonly string[]): Promise<Map<string, Map<string, LiveMeeting>>> {
      const out = new Map<string, Map<string, LiveMeeting>>();
      if (caseIds.length === 0) return out;
      const rows = await db.query<{ id: string; case_id: string; obligation_id: string; organiser: string }>(
        `SELECT id, case_id, obligation_id, organiser FROM taf_meetings WHERE case_id = ANY($1::text[]) AND state IN ('booking', 'booked')`,
        [caseIds],
      );
      for (const r of rows) {
        let m = out.get(r.case_id);
        if (!m) out.set(r.case_id, (m = new Map()));
        m.set(r.obligation_id, { id: r.id, organiser: r.organiser });
      }
      return out;
    },
    /** Adds a meeting to be booked, in the caller's transaction; false when the obligation already has a live one. */
    async add(tx: Database, m: NewMeeting): Promise<boolean> {
      const rows = await tx.query(
        `INSERT INTO taf_meetings (id, case_id, obligation_id, kind, organiser, calendar, state, deadline, window_from, window_to, aim, transaction_id)
         VALUES ($1, $2, $3, $4, $5, $6, 'booking', $7, $8, $9, $10, $11)
         ON CONFLICT (case_id, obligation_id) WHERE state IN ('booking', 'booked') DO NOTHING RETURNING 1`,
        [m.id, m.caseId, m.obligationId, m.kind, m.organiser, m.calendar, m.deadline, m.window.from, m.window.to, m.window.aim, m.transactionId],
      );
      return rows.length === 1;
    },
    get: (id: string, tx: Database = db) => one('m.id = $1', [id], tx),
    /** The booked Outlook meetings of one organiser (the meetings their calendar's delta is matched against). */
    async bookedIn(organiser: string): Promise<TafMeeting[]> {
      const rows = await db.query<Row>(`SELECT ${COLUMNS} FROM ${FROM} WHERE m.organiser = $1 AND m.state = 'booked' AND m.calendar = 'outlook'`, [organiser]);
      return rows.map(meetingOf);
    },
    /** The organisers with booked Outlook meetings: the calendars kept in step. */
    async outlookOrganisers(): Promise<string[]> {
      return (await db.query<{ organiser: string }>(`SELECT DISTINCT organiser FROM taf_meetings WHERE state = 'booked' AND calendar = 'outlook' ORDER BY organiser`)).map((r) => r.organiser);
    },
    byEvent: (eventId: string) => one('m.event_id = $1', [eventId]),
    /** The meetings of one case (newest first), or every meeting (soonest first). */
    async list(options: { caseId?: string; states?: readonly MeetingState[]; limit?: number } = {}): Promise<TafMeeting[]> {
      const rows = await db.query<Row>(
        `SELECT ${COLUMNS} FROM ${FROM}
          WHERE ($1::text IS NULL OR m.case_id = $1) AND ($2::text[] IS NULL OR m.state = ANY($2::text[]))
          ORDER BY m.starts_at NULLS LAST, m.created_at LIMIT $3`,
        [options.caseId ?? null, options.states ?? null, options.limit ?? 10_000],
      );
      return rows.map(meetingOf);
    },
    /** An organiser's live meetings that overlap a time range: their time in the product's own calendar. */
    async busyTimes(organiser: string, range: { start: Date; end: Date }, except?: string, tx: Database = db): Promise<Array<{ start: Date; end: Date }>> {
      const rows = await tx.query<{ starts_at: string | Date; ends_at: string | Date }>(
        `SELECT starts_at, ends_at FROM taf_meetings
          WHERE organiser = $1 AND state IN ('booking', 'booked') AND starts_at IS NOT NULL
            AND starts_at < $3::timestamptz AND ends_at > $2::timestamptz AND id <> COALESCE($4, '')`,
        [organiser, range.start.toISOString(), range.end.toISOString(), except ?? null],
      );
      return rows.map((r) => ({ start: new Date(r.starts_at), end: new Date(r.ends_at) }));
    },
    /** Holds a time for a meeting being booked, before the calendar is asked to make it (so that a booking resumed after a crash asks for the same time). */
    async reserve(tx: Database, id: string, slot: { startsAt: Date; endsAt: Date; conflicts: number }): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE taf_meetings SET starts_at = $2, ends_at = $3, conflicts = $4, updated_at = now() WHERE id = $1 AND state = 'booking' RETURNING 1`,
        [id, slot.startsAt.toISOString(), slot.endsAt.toISOString(), slot.conflicts],
      );
      return rows.length === 1;
    },
    /** The calendar made the event: the meeting is booked, at the time the calendar says. False when it was not still being booked. */
    async recordBooked(tx: Database, id: string, e: BookedEvent): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE taf_meetings SET state = 'booked', starts_at = $2, ends_at = $3, late = $4, conflicts = $5, event_id = $6, ical_uid = $7,
                change_key = $8, join_url = $9, web_link = $10, updated_at = now()
          WHERE id = $1 AND state = 'booking' RETURNING 1`,
        [id, e.startsAt.toISOString(), e.endsAt.toISOString(), e.late, e.conflicts, e.eventId ?? null, e.iCalUId ?? null, e.changeKey ?? null, e.joinUrl ?? null, e.webLink ?? null],
      );
      return rows.length === 1;
    },
    /** Ends a live meeting: held, not held or cancelled, with why. False when it was not live. */
    async settle(tx: Database, id: string, state: 'held' | 'not-held' | 'cancelled', reason?: string): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE taf_meetings SET state = $2, outcome_reason = $3, updated_at = now() WHERE id = $1 AND state IN ('booking', 'booked') RETURNING 1`,
        [id, state, reason ?? null],
      );
      return rows.length === 1;
    },
    /** The meeting moved: its new time (and change key); the organiser is asked about it again after its new end. */
    async moved(tx: Database, id: string, e: { startsAt: Date; endsAt: Date; changeKey?: string }): Promise<boolean> {
      const rows = await tx.query(
        `UPDATE taf_meetings SET starts_at = $2, ends_at = $3, change_key = COALESCE($4, change_key), outcome_asked_at = NULL, updated_at = now()
          WHERE id = $1 AND state = 'booked' RETURNING 1`,
        [id, e.startsAt.toISOString(), e.endsAt.toISOString(), e.changeKey ?? null],
      );
      return rows.length === 1;
    },
    /** Booked meetings that have ended and whose organiser has not been asked whether they were held; marked asked, in the caller's transaction. */
    async takeEnded(tx: Database, now: Date, limit = 1000): Promise<Array<Pick<TafMeeting, 'id' | 'caseId' | 'organiser'>>> {
      const rows = await tx.query<{ id: string; case_id: string; organiser: string }>(
        `UPDATE taf_meetings SET outcome_asked_at = $1 WHERE id IN (
           SELECT id FROM taf_meetings WHERE state = 'booked' AND outcome_asked_at IS NULL AND ends_at <= $1 ORDER BY ends_at LIMIT $2 FOR UPDATE SKIP LOCKED)
         RETURNING id, case_id, organiser`,
        [now.toISOString(), limit],
      );
      return rows.map((r) => ({ id: r.id, caseId: r.case_id, organiser: r.organiser }));
    },
  };
}
