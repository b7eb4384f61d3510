import { allocateCase, CaseWorkError } from '../../src/caseWork';
import { calendarFor } from '../../src/calendar';
import { LocalDate } from '../../src/localDate';
import { loadPolicy } from '../../src/policy';
import { createCaseLog } from '../../src/storage/caseLog';
import { createMeetingStore, TafMeeting } from '../../src/storage/meetingStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { bookingPass } from '../../src/taf/bookingPass';
import { MeetingContext, tafMeetingHeld, tafMeetingMoved, tafMeetingNotHeld } from '../../src/taf/meetingOutcome';
import { allocationInput } from '../helpers/allocationInput';
import { bookQueued } from '../helpers/calendarSender';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, TEAM } from '../helpers/demoStaff';

/** What the organiser says of a meeting after it, by the core's rules: each refusal names the field and writes nothing. */

const policy = loadPolicy();
const calendar = calendarFor(policy);

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let ctx: MeetingContext & { calendar: typeof calendar };
  let clock = new Date('2026-11-25T10:00:00Z');
  const refusal = async (p: Promise<unknown>) => p.then(() => null, (e) => (e instanceof CaseWorkError ? `${e.field}: ${e.message}` : Promise.reject(e)));

  beforeAll(async () => {
    t = await open();
    const directory = createStaffDirectory(t.db);
    await directory.save(TEAM, 'test');
    ctx = { db: t.db, caseLog: createCaseLog(t.db), directory, meetings: createMeetingStore(t.db), policy, calendar, today: () => clock.toISOString().slice(0, 10) as LocalDate, now: () => clock };
  });
  afterAll(async () => t?.dispose());

  async function booked(): Promise<TafMeeting> {
    clock = new Date('2026-11-25T10:00:00Z');
    const record = await allocateCase(ctx, MORGAN, allocationInput());
    await bookingPass({ db: t.db, caseLog: ctx.caseLog, meetings: ctx.meetings, policy, calendar, calendarKind: 'local' }, { now: clock });
    await bookQueued({ db: t.db, policy, calendar, now: () => clock });
    return (await ctx.meetings.list({ caseId: record.caseId }))[0];
  }

  test('held: not before it ends; then taf-held with the meeting and who came; a second time refused', async () => {
    const m = await booked();
    expect(await refusal(tafMeetingHeld(ctx, SAM, m.id, { attended: 'Mum, school' }))).toBe('meeting: This meeting has not happened yet: you will be asked after it whether it was held.');
    clock = new Date(m.endsAt!.getTime() + 60_000);
    expect(await refusal(tafMeetingHeld(ctx, ALEX, m.id, {})).catch((e) => e.name)).toBe('AccessDeniedError');
    const written = await tafMeetingHeld(ctx, SAM, m.id, { attended: ' Mum, school, health visitor ' }, 'key-1');
    expect(written.events.at(-1)).toMatchObject({ type: 'taf-held', effectiveOn: m.startsAt!.toISOString().slice(0, 10), data: { meeting: m.id, attended: 'Mum, school, health visitor' } });
    expect((await ctx.meetings.get(m.id))?.state).toBe('held');
    // The same request again answers as before; another is refused.
    expect((await tafMeetingHeld(ctx, SAM, m.id, { attended: 'Mum, school, health visitor' }, 'key-1')).version).toBe(written.version);
    expect(await refusal(tafMeetingHeld(ctx, SAM, m.id, {}, 'key-2'))).toBe('meeting: This meeting is already recorded as held.');
    expect((await ctx.caseLog.read(m.caseId, { actor: 'test' })).events.filter((e) => e.type === 'taf-held')).toHaveLength(1);
  });

  test('not held: a reason is required; then settled and looked at again by the pass, which books a new date', async () => {
    const m = await booked();
    clock = new Date(m.endsAt!.getTime() + 60_000);
    expect(await refusal(tafMeetingNotHeld(ctx, SAM, m.id, {}))).toBe('reason: Say why the meeting did not take place.');
    expect((await ctx.meetings.get(m.id))?.state).toBe('booked');
    expect((await tafMeetingNotHeld(ctx, SAM, m.id, { reason: 'family-did-not-attend' })).state).toBe('not-held');
    const again = await bookingPass({ db: t.db, caseLog: ctx.caseLog, meetings: ctx.meetings, policy, calendar, calendarKind: 'local' }, { now: clock });
    expect(again.planned.map((p) => [p.caseId, p.kind])).toEqual([[m.caseId, 'first-taf']]);
  });

  test('moved: a working day inside meeting hours, not in the past; after the deadline it says so', async () => {
    const m = await booked();
    clock = new Date('2026-12-01T10:00:00Z');
    expect(await refusal(tafMeetingMoved(ctx, SAM, m.id, { date: '2026-12-26', time: '10:00' }, clock))).toBe('date: 2026-12-26 is not a working day.');
    expect(await refusal(tafMeetingMoved(ctx, SAM, m.id, { date: '2026-12-30', time: '15:00' }, clock))).toBe('time: TAF meetings are held between 09:30 and 16:00.');
    expect(await refusal(tafMeetingMoved(ctx, SAM, m.id, { date: '2026-11-30', time: '10:00' }, clock))).toBe('date: The new time has already passed.');
    expect(await refusal(tafMeetingMoved(ctx, SAM, m.id, { date: '2026-12-30', time: '10.30' }, clock))).toBe('time: The new time: give it as HH:MM, e.g. 10:30.');
    expect((await ctx.meetings.get(m.id))?.startsAt).toEqual(m.startsAt);
    const late = await tafMeetingMoved(ctx, SAM, m.id, { date: '2027-01-05', time: '10:00' }, clock);
    expect(late.late).toBe(true);
    expect(late.meeting.startsAt?.toISOString()).toBe('2027-01-05T10:00:00.000Z');
    // Local mode: no Outlook event to move.
    expect(await t.db.query(`SELECT id FROM outbox WHERE kind = 'taf-move' AND case_id = $1`, [m.caseId])).toEqual([]);
  });
});
