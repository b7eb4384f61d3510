import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, textOf } from '../helpers/botHarness';
import { cardSchemaValidator, parseWarnings, walkCard } from '../helpers/adaptiveCards';
import { DUTY, JO, MORGAN, SAM } from '../helpers/demoStaff';
import { AdaptiveCard } from '../../bot/cards/template';
import { StaffMember } from '../../src/staff';

/**
 * Absence from the bot: a worker or manager says when they are away in their own words, sees the
 * dates as understood and who covers for them on a card, and confirms; "back" ends it. The real
 * bot on PGlite, through botbuilder's TestAdapter (test/helpers/botHarness.ts).
 */

let t: TestDatabase;
let b: BotUnderTest;

beforeAll(async () => {
  t = await embeddedDatabase();
  b = await botUnderTest(t.db);
  for (const m of [MORGAN, DUTY, SAM]) await b.install(m);
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});
beforeEach(async () => {
  b.today.value = '2026-11-23'; // a Monday
  // Everyone at work: the directory as the team file has it.
  await b.services.directory.save([MORGAN, DUTY, SAM, JO], 'test');
});

/** The card the bot answers a message with. */
async function answer(member: StaffMember, text: string): Promise<AdaptiveCard> {
  const [reply] = await b.say(member, text);
  return cardOf(reply);
}

/** The buttons of a card: title, verb and what each carries. */
function buttons(card: AdaptiveCard): Array<{ title: string; verb: string; data: Record<string, unknown> }> {
  return ((card.actions ?? []) as Array<{ title: string; verb: string; data: Record<string, unknown> }>).map(({ title, verb, data }) => ({ title, verb, data }));
}

const leaveOf = async (m: StaffMember) => {
  const saved = await b.services.directory.get(m.id);
  return { absentFrom: saved?.absentFrom, absentUntil: saved?.absentUntil };
};
const NOT_AWAY = { absentFrom: undefined, absentUntil: undefined };

describe('a worker tells the bot they are away, in their own words', () => {
  test('"away from 21 Dec until 4 Jan" shows the dates with their years and who gets the reminders, with Confirm and Cancel; nothing is saved yet', async () => {
    const card = await answer(SAM, 'away from 21 Dec until 4 Jan');
    expect(textOf(card)).toBe('Away from Mon 21 Dec 2026 until Mon 4 Jan 2027\nYour reminders go to Morgan Reid meanwhile.\nConfirm\nCancel');
    expect(buttons(card)).toEqual([
      { title: 'Confirm', verb: 'answerAbsence', data: { verb: 'answerAbsence', answer: 'confirm', absentFrom: '2026-12-21', absentUntil: '2027-01-04' } },
      { title: 'Cancel', verb: 'answerAbsence', data: { verb: 'answerAbsence', answer: 'cancel' } },
    ]);
    // The notification preview says nothing of the leave.
    expect(card.fallbackText).toBe('Your absence');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test.each([
    ["I'm off 21/12 to 04/01", 'Away from Mon 21 Dec 2026 until Mon 4 Jan 2027'],
    ['on leave until 4 January', 'Away from Mon 23 Nov 2026 until Mon 4 Jan 2027'],
    ['away tomorrow', 'Away on Tue 24 Nov 2026'],
    ['I\u2019ll be away from Friday, back on Monday 30 November', 'Away from Fri 27 Nov 2026 until Sun 29 Nov 2026'],
  ])('"%s" is read as %s', async (text, title) => {
    const card = await answer(SAM, text);
    expect(textOf(card).split('\n')[0]).toBe(title);
    expect(buttons(card).map((x) => x.title)).toEqual(['Confirm', 'Cancel']);
  });

  test('Confirm saves the leave as the worker\u2019s own change, audited under their id, and says who covers', async () => {
    const [confirm] = buttons(await answer(SAM, 'away from 21 Dec until 4 Jan'));
    const { card } = await b.execute(SAM, confirm.verb, confirm.data);
    expect(textOf(card)).toBe('Saved: away from Mon 21 Dec 2026 until Mon 4 Jan 2027.\nYour reminders go to Morgan Reid meanwhile. Say "back" if you return sooner.');
    expect(await leaveOf(SAM)).toEqual({ absentFrom: '2026-12-21', absentUntil: '2027-01-04' });
    const [audit] = await t.db.query<{ actor: string; action: string }>(`SELECT actor, action FROM audit_log ORDER BY id DESC LIMIT 1`);
    expect(audit).toEqual({ actor: SAM.id, action: 'staff.change' });
  });

  test('a new leave says which one it replaces', async () => {
    await b.services.directory.save([{ ...SAM, absentFrom: '2026-12-21', absentUntil: '2027-01-04' }], 'test');
    const card = await answer(SAM, 'away from 22 Dec until 5 Jan');
    expect(textOf(card)).toContain('This replaces your leave from Mon 21 Dec 2026 until Mon 4 Jan 2027.');
  });

  test('Cancel saves nothing', async () => {
    const [, cancel] = buttons(await answer(SAM, 'away tomorrow'));
    const { card } = await b.execute(SAM, cancel.verb, cancel.data);
    expect(textOf(card)).toBe('Nothing changed.');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test('while the line manager is away on the first day, the card names the duty manager', async () => {
    await b.services.directory.save([{ ...MORGAN, absentFrom: '2026-12-18', absentUntil: '2026-12-31' }], 'test');
    expect(textOf(await answer(SAM, 'away from 21 Dec until 4 Jan'))).toContain('Your reminders go to Dana Duty meanwhile.');
    expect(textOf(await answer(SAM, 'away tomorrow'))).toContain('Your reminders go to Morgan Reid meanwhile.');
  });
});

describe('a manager tells the bot they are away', () => {
  test('the card says the duty manager takes their reminders, escalations and CAFs to authorise', async () => {
    const card = await answer(MORGAN, 'away from 21 Dec until 4 Jan');
    expect(textOf(card)).toBe('Away from Mon 21 Dec 2026 until Mon 4 Jan 2027\nYour reminders, escalations and CAFs to authorise go to Dana Duty, the duty manager, meanwhile.\nConfirm\nCancel');
  });

  test('with no other manager at work then, it says they wait', async () => {
    await b.services.directory.save([{ ...DUTY, absentFrom: '2026-12-01', absentUntil: '2027-01-10' }], 'test');
    const card = await answer(MORGAN, 'away from 21 Dec until 4 Jan');
    expect(textOf(card)).toContain('No other manager of North is at work then: your reminders, escalations and CAFs to authorise wait for you.');
  });

  test('once a manager confirms a leave from today, a CAF their worker submits goes to the duty manager', async () => {
    const c = await b.allocate(MORGAN);
    const [confirm] = buttons(await answer(MORGAN, 'on leave until 4 Jan'));
    expect(textOf((await b.execute(MORGAN, confirm.verb, confirm.data)).card)).toMatch(/^Saved: away from Mon 23 Nov 2026 until Mon 4 Jan 2027\./);
    await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' });
    const submitted = await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: '2026-11-23' });
    expect(submitted.sent.some((s) => s.conversationId === personalChatOf(DUTY))).toBe(true);
    expect(submitted.sent.some((s) => s.conversationId === personalChatOf(MORGAN))).toBe(false);
  });
});

describe('back', () => {
  test('"I\u2019m back" ends a leave now under way; the reminders come to the person again', async () => {
    await b.services.directory.save([{ ...SAM, absentFrom: '2026-11-20', absentUntil: '2026-11-27' }], 'test');
    expect(textOf(await answer(SAM, 'I\u2019m back'))).toBe('Welcome back. Your reminders come to you again.');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
    const [audit] = await t.db.query<{ actor: string }>(`SELECT actor FROM audit_log ORDER BY id DESC LIMIT 1`);
    expect(audit.actor).toBe(SAM.id);
  });

  test('"back" cancels a leave still to come, and says so', async () => {
    await b.services.directory.save([{ ...SAM, absentFrom: '2026-12-21', absentUntil: '2027-01-04' }], 'test');
    expect(textOf(await answer(SAM, 'back'))).toBe('Your leave from Mon 21 Dec 2026 until Mon 4 Jan 2027 is cancelled.\nYour reminders keep coming to you.');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test('"back" from someone not away changes nothing', async () => {
    expect(textOf(await answer(SAM, 'back'))).toBe('You are not marked away: your reminders come to you.');
  });
});

describe('what cannot be set is refused with a clear card, and nothing is saved', () => {
  test.each([
    ['away from 4 Jan until 21 Dec', 'I read that as from Mon 4 Jan 2027 until Mon 21 Dec 2026: it ends before it starts. Give the first day away, then the last.'],
    ['away from 16/11/2026 until 20/11/2026', 'I read that as from Mon 16 Nov 2026 until Fri 20 Nov 2026: that is over. The last day away must be today or later.'],
    ['away from 31 Nov until 4 Dec', '"31 nov" is not a real date.'],
    ['away from 21 Dec', 'Say until when too, for example "away from 21 Dec until 4 Jan".'],
    ['away', 'Tell me when, for example'],
    ['off for a fortnight', 'I could not read "a fortnight" as a day.'],
  ])('"%s"', async (text, message) => {
    const card = await answer(SAM, text);
    expect(textOf(card)).toContain('When are you away?');
    expect(textOf(card)).toContain(message);
    expect(textOf(card)).toContain('say "back" when you return');
    expect(buttons(card)).toEqual([]);
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test('the server checks Confirm again: a card answered after its leave has ended saves nothing', async () => {
    const [confirm] = buttons(await answer(SAM, 'away tomorrow'));
    b.today.value = '2026-11-25';
    const { card } = await b.execute(SAM, confirm.verb, confirm.data);
    expect(textOf(card)).toContain('Nothing was saved.\nI read that as on Tue 24 Nov 2026: that is over.');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test.each([
    ['an end before the start', { answer: 'confirm', absentFrom: '2027-01-04', absentUntil: '2026-12-21' }, /Nothing was saved\.\nI read that as from Mon 4 Jan 2027 until Mon 21 Dec 2026: it ends before it starts\./],
    ['an impossible date', { answer: 'confirm', absentFrom: '2026-12-21', absentUntil: '2026-12-40' }, /^This card is out of date\.\nNothing was saved\./],
    ['no dates', { answer: 'confirm' }, /^This card is out of date\./],
    ['an answer no card offers', { answer: 'maybe', absentFrom: '2026-12-21', absentUntil: '2027-01-04' }, /^This card is out of date\./],
  ])('a crafted Confirm with %s saves nothing', async (_what, data, expected) => {
    const { status, card } = await b.execute(SAM, 'answerAbsence', data);
    expect(status).toBe(200);
    expect(textOf(card)).toMatch(expected);
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });
});

describe('absence is for the person\u2019s own chat', () => {
  const group = { id: '19:team-north@thread.v2', conversationType: 'groupChat' };

  test('said in a group chat, it points to the personal chat; a Confirm there saves nothing', async () => {
    const [reply] = await b.send({ type: 'message', text: 'away tomorrow', from: { id: `29:${SAM.id}`, name: SAM.name, aadObjectId: SAM.id }, conversation: group as never });
    expect(textOf(cardOf(reply))).toContain('That is for your personal chat.');
    const { card } = await b.execute(SAM, 'answerAbsence', { answer: 'confirm', absentFrom: '2026-11-24', absentUntil: '2026-11-24' }, group);
    expect(textOf(card)).toBe('Tell me about your absence in your personal chat with Early Help.');
    expect(await leaveOf(SAM)).toEqual(NOT_AWAY);
  });

  test('a slip of the keyboard is offered the command', async () => {
    expect(textOf(await answer(SAM, 'awya'))).toMatch(/I did not understand "awya"\.\nDid you mean "away"\?/);
  });
});

describe('the absence cards', () => {
  test('each validates against the Adaptive Card schema and parses without warnings', async () => {
    const validate = cardSchemaValidator();
    const cards = [await answer(MORGAN, 'away from 21 Dec until 4 Jan'), await answer(SAM, 'away from 4 Jan until 21 Dec'), (await b.execute(SAM, 'answerAbsence', { answer: 'maybe' })).card];
    for (const card of cards) {
      expect({ valid: validate(card), errors: validate.errors ?? null }).toEqual({ valid: true, errors: null });
      expect(parseWarnings(card)).toEqual([]);
      // No template expression was left unexpanded.
      walkCard(card, (n) => Object.values(n).forEach((v) => typeof v === 'string' && expect(v).not.toContain('${')));
    }
  });
});
