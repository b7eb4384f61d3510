import { LocalDate } from '../../src/localDate';
import { reminderInstant } from '../../src/reminderTime';
import { SweepContext, sweepReminders } from '../../src/reminders/sweep';
import { AdaptiveCard } from '../../bot/cards/template';
import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, personalChatOf, settleDelivery, textOf } from '../helpers/botHarness';
import { ALEX, DUTY, JO, MORGAN, SAM } from '../helpers/demoStaff';
import { StaffMember } from '../../src/staff';
import { cardSchemaValidator, parseWarnings } from '../helpers/adaptiveCards';

/** Reminders as people get them: the digest and the escalation cards, and what is done from them. */

let t: TestDatabase;
let b: BotUnderTest;
let sweep: SweepContext;
beforeAll(async () => {
  t = await embeddedDatabase();
  b = await botUnderTest(t.db);
  for (const m of [MORGAN, DUTY, SAM, JO]) await b.install(m);
  const s = b.services;
  sweep = { db: s.db, caseLog: s.caseLog, store: s.reminders, policy: s.policy, calendar: s.calendar, staff: () => s.directory.all() };
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});

const at = (day: string, time: string) => reminderInstant(day as LocalDate, time);
/** One sweep at `instant` with the bot's clock on that day, then delivery; returns the reminder cards each person got. */
async function sweepOn(day: string, time = '08:30'): Promise<Map<string, AdaptiveCard[]>> {
  b.today.value = day;
  const before = b.adapter.sent.length;
  await sweepReminders(sweep, { now: at(day, time) });
  await settleDelivery(b);
  const got = new Map<string, AdaptiveCard[]>();
  for (const s of b.adapter.sent.slice(before)) {
    const card = s.activity.attachments?.[0]?.content as AdaptiveCard | undefined;
    if (card) got.set(s.conversationId, [...(got.get(s.conversationId) ?? []), card]);
  }
  return got;
}
const cardsOf = (got: Map<string, AdaptiveCard[]>, m: StaffMember) => got.get(personalChatOf(m)) ?? [];
const types = async (caseId: string) => (await t.db.query<{ type: string }>('SELECT type FROM case_events WHERE case_id = $1 ORDER BY sequence', [caseId])).map((r) => r.type);
const reminderIdOf = (card: AdaptiveCard) => /"reminderId":"(\d+)"/.exec(JSON.stringify(card))![1];
const indexOf = (card: AdaptiveCard, reference: string) => {
  const text = JSON.stringify(card);
  const at = text.indexOf(`${reference} · `);
  return /"item":"?(\d+)/.exec(text.slice(at))![1];
};

test('the digest reaches the worker at 08:30 with the reference only in its preview; Done with an impossible date is refused, with a real one records the contact', async () => {
  b.today.value = '2026-12-03';
  const { caseId, reference } = await b.allocate(MORGAN);
  const got = await sweepOn('2026-12-04');
  const [digest] = cardsOf(got, SAM);
  expect(digest.fallbackText).toContain(`${reference} telephone contact`);
  expect(digest.fallbackText).not.toContain('Fernsby');
  expect(textOf(digest)).toContain(`${reference} · Fernsby`);
  expect(textOf(digest)).toContain('Telephone contact: due Mon 7 Dec');
  const validate = cardSchemaValidator();
  expect(validate(digest) ? [] : validate.errors).toEqual([]);
  expect(parseWarnings(digest)).toEqual([]);
  const item = indexOf(digest, reference);
  const future = await b.execute(SAM, 'reminderDone', { reminderId: reminderIdOf(digest), item, [`done-${item}`]: '2026-12-09' });
  expect(textOf(future.card)).toContain('The contact date cannot be in the future.');
  expect(await types(caseId)).toEqual(['allocated']);
  const done = await b.execute(SAM, 'reminderDone', { reminderId: reminderIdOf(digest), item, [`done-${item}`]: '2026-12-04' });
  expect(textOf(done.card)).toContain(`Telephone contact recorded on case ${reference}.`);
  expect(textOf(done.card)).not.toContain('Telephone contact: due');
  expect(await types(caseId)).toEqual(['allocated', 'telephone-contact-made']);
  // Someone else's reminder, or a made-up one, is out of date.
  const other = await b.execute(MORGAN, 'reminderDone', { reminderId: reminderIdOf(digest), item, [`done-${item}`]: '2026-12-04' });
  expect(textOf(other.card)).toContain('This reminder is out of date.');
});

test('Snooze: past the deadline refused; to a working day before it, the item leaves the card', async () => {
  b.today.value = '2026-12-07';
  const { reference } = await b.allocate(MORGAN);
  const got = await sweepOn('2026-12-08');
  const digest = cardsOf(got, SAM).at(-1)!;
  const item = indexOf(digest, reference);
  const late = await b.execute(SAM, 'reminderSnooze', { reminderId: reminderIdOf(digest), item, [`snooze-${item}`]: '2026-12-18' });
  expect(textOf(late.card)).toMatch(/^Snooze: /m);
  const snoozed = await b.execute(SAM, 'reminderSnooze', { reminderId: reminderIdOf(digest), item, [`snooze-${item}`]: '2026-12-09' });
  expect(textOf(snoozed.card)).toContain('you will be reminded again on Wed 9 Dec');
  expect(JSON.stringify(snoozed.card)).not.toContain(`${reference} · Fernsby`);
});

test('an escalation reaches the line manager the morning after the deadline; Noted is recorded on the case', async () => {
  b.today.value = '2026-12-10';
  const { caseId, reference } = await b.allocate(MORGAN);
  // Friday 11th: due Mon 14th. Tuesday 15th: escalated to Morgan.
  await sweepOn('2026-12-11');
  const got = await sweepOn('2026-12-15');
  const escalation = cardsOf(got, MORGAN).find((c) => (c.fallbackText ?? '').startsWith(`Escalation: ${reference}`))!;
  expect(escalation.fallbackText).toBe(`Escalation: ${reference} telephone contact`);
  expect(textOf(escalation)).toContain(`Escalation: Telephone contact on case ${reference}`);
  expect(JSON.stringify(escalation)).toContain('"title":"Reallocate"');
  const validate = cardSchemaValidator();
  expect(validate(escalation) ? [] : validate.errors).toEqual([]);
  expect(await types(caseId)).toContain('escalated');
  const item = indexOf(escalation, reference);
  const empty = await b.execute(MORGAN, 'escalationNoted', { reminderId: reminderIdOf(escalation), item, [`note-${item}`]: ' ' });
  expect(textOf(empty.card)).toContain('Noted: say what is being done.');
  const noted = await b.execute(MORGAN, 'escalationNoted', { reminderId: reminderIdOf(escalation), item, [`note-${item}`]: 'Calling the school today' });
  expect(textOf(noted.card)).toContain(`Noted on case ${reference}.`);
  expect((await types(caseId)).at(-1)).toBe('escalation-noted');
});

test('a reminder met between planning and sending is cancelled, never sent', async () => {
  b.today.value = '2026-12-16';
  const { caseId, reference } = await b.allocate(MORGAN, { leadProfessional: ALEX.id });
  // Alex has never opened the bot: the digest waits.
  await sweepOn('2026-12-17');
  const [row] = await t.db.query<{ id: number; status: string }>(`SELECT id, status FROM outbox WHERE kind = 'reminder' AND recipient_staff_id = $1 ORDER BY id DESC LIMIT 1`, [ALEX.id]);
  expect(['waiting', 'pending']).toContain(row.status);
  b.today.value = '2026-12-17';
  await b.execute(MORGAN, 'logTelephoneContact', { caseId, contactDate: '2026-12-17', outcome: 'made' });
  const opened = await b.install(ALEX);
  await settleDelivery(b);
  expect(opened.map((s) => JSON.stringify(s.activity)).join('\n')).not.toContain(`${reference} telephone contact`);
  const [after] = await t.db.query<{ status: string }>('SELECT status FROM outbox WHERE id = $1', [row.id]);
  expect(after.status).toBe('cancelled');
});
