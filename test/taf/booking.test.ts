import { allocateCase, CaseWorkContext } from '../../src/caseWork';
import { calendarFor } from '../../src/calendar';
import { LocalDate } from '../../src/localDate';
import { loadPolicy } from '../../src/policy';
import { readAudit } from '../../src/storage/audit';
import { createCaseLog } from '../../src/storage/caseLog';
import { createMeetingStore, MeetingStore } from '../../src/storage/meetingStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { bookingPass, BookingPassContext } from '../../src/taf/bookingPass';
import { meetingIcs } from '../../src/taf/icsFile';
import { allocationInput } from '../helpers/allocationInput';
import { bookQueued } from '../helpers/calendarSender';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, MORGAN, SAM, TEAM } from '../helpers/demoStaff';

/** Booking TAF meetings in the product's own calendar (local mode), on both databases: planned once, booked once, in the right slot. */

const policy = loadPolicy();
const calendar = calendarFor(policy);

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let ctx: CaseWorkContext;
  let pass: BookingPassContext;
  let meetings: MeetingStore;
  let today = '2026-11-25' as LocalDate;
  const now = () => new Date(`${today}T10:00:00Z`);
  beforeAll(async () => {
    t = await open();
    const directory = createStaffDirectory(t.db);
    await directory.save(TEAM, 'test');
    ctx = { caseLog: createCaseLog(t.db), directory, today: () => today };
    meetings = createMeetingStore(t.db);
    pass = { db: t.db, caseLog: ctx.caseLog, meetings, policy, calendar, calendarKind: 'local' };
  });
  afterAll(async () => t?.dispose());

  const book = () => bookQueued({ db: t.db, policy, calendar, now });

  test('a new case gets its first TAF booked once, in the first free slot from 5 working days before the deadline; the worker is told', async () => {
    today = '2026-11-25' as LocalDate;
    const first = await allocateCase(ctx, MORGAN, allocationInput({ familyName: 'Quarrington' }));
    const second = await allocateCase(ctx, MORGAN, allocationInput({ familyName: 'Quarrington' }));
    const other = await allocateCase(ctx, MORGAN, allocationInput({ leadProfessional: ALEX.id }));

    const dry = await bookingPass(pass, { now: now(), dryRun: true });
    expect(dry.planned.map((p) => [p.reference, p.kind, p.deadline, p.window.aim]).sort()).toEqual([
      [first.reference, 'first-taf', '2027-01-04', '2026-12-23'],
      [second.reference, 'first-taf', '2027-01-04', '2026-12-23'],
      [other.reference, 'first-taf', '2027-01-04', '2026-12-23'],
    ]);
    expect(await meetings.list()).toEqual([]);

    const planned = await bookingPass(pass, { now: now() });
    expect(planned.planned).toHaveLength(3);
    // Run again, or by a second instance: nothing more.
    expect((await bookingPass(pass, { now: now() })).planned).toEqual([]);
    expect((await bookingPass(pass, { now: now(), dryRun: true })).planned).toEqual([]);

    expect(await book()).toBe(3);
    const booked = await meetings.list();
    const when = (ref: string) => booked.filter((m) => m.reference === ref).map((m) => `${m.state} ${m.startsAt?.toISOString()} late:${m.late}`);
    // Sam's two meetings cannot share a slot (whichever was booked first has 09:30); Alex's goes at 09:30 too.
    expect([...when(first.reference), ...when(second.reference)].sort()).toEqual(['booked 2026-12-23T09:30:00.000Z late:false', 'booked 2026-12-23T11:00:00.000Z late:false']);
    expect(when(other.reference)).toEqual(['booked 2026-12-23T09:30:00.000Z late:false']);
    const cards = await t.db.query<{ recipient_staff_id: string; payload: { meetingId: string; view: string } }>(`SELECT recipient_staff_id, payload FROM outbox WHERE kind = 'taf-meeting' ORDER BY id`);
    expect(cards.map((c) => `${c.recipient_staff_id} ${c.payload.view}`).sort()).toEqual([`${ALEX.id} booked`, `${SAM.id} booked`, `${SAM.id} booked`].sort());
    expect(new Set(cards.map((c) => c.payload.meetingId))).toEqual(new Set(booked.map((m) => m.id)));
    expect(JSON.stringify(cards)).not.toContain('Quarrington');
    // Booking again changes nothing.
    expect(await book()).toBe(0);
    const audit = await readAudit(t.db, { caseId: first.caseId });
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['taf.book', 'taf.booked']));
  });

  test('the calendar file carries the reference and the agenda, never the family', async () => {
    const [m] = await meetings.list();
    const ics = meetingIcs(m, policy);
    expect(ics).toContain(`SUMMARY:${m.reference}: First TAF meeting`);
    expect(ics).toContain('DTSTART:20261223T093000Z');
    expect(ics).toContain('DTEND:20261223T110000Z');
    expect(ics).toContain(`UID:${m.id}@earlyhelp.local`);
    expect(ics).not.toMatch(/Quarrington|Fernsby|Tallulah/);
  });

  test('after its end the organiser is asked once whether it was held; a TAF held settles it and books the next review nearest 6 weeks', async () => {
    const [m] = await meetings.list({ states: ['booked'] });
    const outcomeCards = async () => (await t.db.query<{ payload: { meetingId: string; view: string } }>(`SELECT payload FROM outbox WHERE kind = 'taf-meeting' AND payload->>'view' = 'outcome'`)).map((r) => r.payload.meetingId);
    // Before the meetings end: nobody is asked.
    today = '2026-12-23' as LocalDate;
    expect((await bookingPass(pass, { now: new Date('2026-12-23T10:59:00Z') })).asked).toBe(0);
    // 11:00, when the 09:30 meetings end: their organisers are asked, once.
    expect((await bookingPass(pass, { now: new Date('2026-12-23T11:00:00Z') })).asked).toBe(2);
    expect((await bookingPass(pass, { now: new Date('2026-12-23T11:05:00Z') })).asked).toBe(0);
    const at0930 = (await meetings.list({ states: ['booked'] })).filter((x) => x.startsAt?.toISOString() === '2026-12-23T09:30:00.000Z').map((x) => x.id);
    expect((await outcomeCards()).sort()).toEqual(at0930.sort());

    const record = await ctx.caseLog.read(m.caseId, { actor: 'test' });
    await ctx.caseLog.append(m.caseId, record.version, [{ type: 'taf-held', by: SAM.id, effectiveOn: '2026-12-23' as LocalDate, data: { meeting: m.id } }], { actor: SAM.id });
    const next = await bookingPass(pass, { now: now() });
    expect(next.settled).toEqual([{ meetingId: m.id, caseId: m.caseId, reference: m.reference, state: 'held' }]);
    expect(next.planned.map((p) => [p.reference, p.kind, p.window.aim, p.deadline])).toEqual([[m.reference, 'taf-review', '2027-02-03', '2027-02-17']]);
    expect(await book()).toBe(1);
    const ofCase = await meetings.list({ caseId: m.caseId });
    expect(ofCase.map((x) => [x.kind, x.state])).toEqual([
      ['first-taf', 'held'],
      ['taf-review', 'booked'],
    ]);
    expect(ofCase[1].startsAt?.toISOString()).toBe('2027-02-03T09:30:00.000Z');
  });

  test('a case closed with a meeting booked: the meeting is settled as no longer needed', async () => {
    const [m] = (await meetings.list({ states: ['booked'] })).filter((x) => x.kind === 'first-taf');
    const record = await ctx.caseLog.read(m.caseId, { actor: 'test' });
    await ctx.caseLog.append(m.caseId, record.version, [{ type: 'closure-approved', by: MORGAN.id, effectiveOn: today, data: {} }], { actor: MORGAN.id });
    const result = await bookingPass(pass, { now: now() });
    expect(result.settled).toEqual([{ meetingId: m.id, caseId: m.caseId, reference: m.reference, state: 'cancelled', reason: 'no longer needed' }]);
    expect((await meetings.get(m.id))?.state).toBe('cancelled');
  });
});
