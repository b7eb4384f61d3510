import { Activity } from 'botbuilder';
import { parseChildren } from '../../bot/cardInputs';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, textOf } from '../helpers/botHarness';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH, TEAM } from '../helpers/demoStaff';
import { StaffMember } from '../../src/staff';

/**
 * What an insider with a crafted request could do, and must not: each test here reproduces one of
 * the faults found when the bot was attacked (issue 6), through the adapter on the PostgreSQL server.
 */
const ADA: StaffMember = { id: '77777777-0000-4000-8000-000000000077', name: 'Ada Lovell', email: 'ada.lovell@council.example', role: 'administrator', team: 'North', capacityPoints: 0, active: true };

let t: TestDatabase;
let b: BotUnderTest;

beforeAll(async () => {
  t = await serverDatabase();
  b = await botUnderTest(t.db, [...TEAM, ADA]);
  for (const m of [MORGAN, DUTY, SAM, ALEX, JO, SOUTH, ADA]) await b.install(m);
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});

const from = (m: StaffMember) => ({ id: `29:${m.id}`, name: m.name, aadObjectId: m.id });

const allocation = (extra: Record<string, unknown> = {}) => b.allocationForm(extra);
const allocated = (extra: Record<string, unknown> = {}) => b.allocate(MORGAN, extra);

async function eventsOf(caseId: string): Promise<string[]> {
  const rows = await t.db.query<{ type: string }>('SELECT type FROM case_events WHERE case_id = $1 ORDER BY sequence', [caseId]);
  return rows.map((r) => r.type);
}

async function caseCount(): Promise<number> {
  const [{ count }] = await t.db.query<{ count: number }>('SELECT count(*)::int AS count FROM cases');
  return count;
}

/** An Action.Execute with a chosen activity id and conversation, as a replayed or crafted request would carry. */
async function executeAs(member: StaffMember, verb: string, data: Record<string, unknown>, ids: { activityId: string; conversationId: string }) {
  const sent = await b.send({
    id: ids.activityId,
    type: 'invoke',
    name: 'adaptiveCard/action',
    from: from(member),
    conversation: { id: ids.conversationId, conversationType: 'personal' } as never,
    value: { action: { type: 'Action.Execute', verb, data: { verb, ...data } }, trigger: 'manual' },
  });
  const response = sent.find((s) => s.activity.type === 'invokeResponse')!.activity.value as { body: { statusCode: number; value: Record<string, unknown> } };
  return { status: response.body.statusCode, card: response.body.value as never, sent: sent.filter((s) => s.activity.type !== 'invokeResponse') };
}

async function cafSubmitted() {
  const c = await allocated();
  await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' });
  await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: '2026-11-23' });
  const [row] = await t.db.query<{ id: string }>(`SELECT id FROM case_events WHERE case_id = $1 AND type = 'caf-submitted'`, [c.caseId]);
  return { ...c, submissionId: row.id };
}

describe('a CAF card refreshed by someone without access to the case shows nothing of it', () => {
  test.each([
    ['an administrator', ADA],
    ["another team's manager", SOUTH],
    ['a worker not on the case', ALEX],
  ])('%s sees neither the decider nor the lead professional, before or after the decision', async (_who, person) => {
    const { caseId, submissionId, reference } = await cafSubmitted();
    const group = { id: 'group-chat-north', conversationType: 'groupChat' };
    const before = await b.execute(person, 'refreshCafAuthorisation', { caseId, submissionId }, group);
    expect(textOf(before.card)).not.toMatch(/Sam Patel|Morgan Reid|Dana Duty|Approve/);
    await b.execute(DUTY, 'approveCaf', { caseId, submissionId });
    const after = await b.execute(person, 'refreshCafAuthorisation', { caseId, submissionId }, group);
    const text = textOf(after.card);
    expect(text).not.toMatch(/Sam Patel|Dana Duty|Morgan Reid|approved/);
    expect(text).toContain(reference);
  });

  test('Business Support of the team, who may read the case, still sees its status', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    await b.execute(MORGAN, 'approveCaf', { caseId, submissionId });
    const seen = await b.execute(JO, 'refreshCafAuthorisation', { caseId, submissionId }, { id: 'group-chat-north', conversationType: 'groupChat' });
    expect(textOf(seen.card)).toMatch(/CAF approved.*Morgan Reid/s);
  });
});

describe('a repeated request id is a replay only when it is the same request', () => {
  test("a second user reusing a conversation id and activity id on their own case gets their own case, and their action is recorded", async () => {
    const sams = await allocated();
    const alexs = await allocated({ leadProfessional: ALEX.id });
    const ids = { activityId: 'reused-activity-1', conversationId: 'shared-conversation' };
    await executeAs(SAM, 'logTelephoneContact', { caseId: sams.caseId, contactDate: '2026-11-23' }, ids);
    const second = await executeAs(ALEX, 'logTelephoneContact', { caseId: alexs.caseId, contactDate: '2026-11-23' }, ids);
    expect(textOf(second.card)).toContain(`Case ${alexs.reference}`);
    expect(textOf(second.card)).not.toContain(sams.reference);
    expect(await eventsOf(alexs.caseId)).toEqual(['allocated', 'telephone-contact-made']);
    expect(await eventsOf(sams.caseId)).toEqual(['allocated', 'telephone-contact-made']);
  });

  test('the same person reusing an activity id on another case is refused as a conflict: nothing recorded, nothing of the first case shown', async () => {
    const first = await allocated();
    const second = await allocated();
    const ids = { activityId: 'reused-activity-2', conversationId: personalChatOf(SAM) };
    await executeAs(SAM, 'logTelephoneContact', { caseId: first.caseId, contactDate: '2026-11-23' }, ids);
    const clash = await executeAs(SAM, 'logTelephoneContact', { caseId: second.caseId, contactDate: '2026-11-23' }, ids);
    expect(textOf(clash.card)).toContain('This request repeats the id of a different one: nothing was recorded.');
    expect(textOf(clash.card)).not.toContain(first.reference);
    expect(await eventsOf(second.caseId)).toEqual(['allocated']);
  });

  test('a decision replayed onto another case decides nothing and tells no worker', async () => {
    const a = await cafSubmitted();
    const c = await cafSubmitted();
    const ids = { activityId: 'reused-decision', conversationId: personalChatOf(MORGAN) };
    await executeAs(MORGAN, 'approveCaf', { caseId: a.caseId, submissionId: a.submissionId }, ids);
    const sentBefore = b.adapter.sent.length;
    const clash = await executeAs(MORGAN, 'approveCaf', { caseId: c.caseId, submissionId: c.submissionId }, ids);
    expect(textOf(clash.card)).toContain('nothing was recorded');
    expect(await eventsOf(c.caseId)).not.toContain('caf-authorised');
    expect(b.adapter.sent.slice(sentBefore).filter((s) => s.conversationId === personalChatOf(SAM))).toEqual([]);
  });

  test('a retried allocation is answered as the first was, and the worker gets one case card', async () => {
    const form = allocation();
    const ids = { activityId: 'retried-allocation', conversationId: personalChatOf(MORGAN) };
    const first = await executeAs(MORGAN, 'allocateCase', form, ids);
    const again = await executeAs(MORGAN, 'allocateCase', form, ids);
    expect(textOf(first.card)).toContain(`Case ${form.reference} allocated to Sam Patel`);
    expect(textOf(again.card)).toContain(`Case ${form.reference} allocated to Sam Patel`);
    expect(again.sent).toEqual([]);
    const [{ count }] = await t.db.query<{ count: number }>('SELECT count(*)::int AS count FROM cases WHERE reference = $1', [form.reference]);
    expect(count).toBe(1);
  });

  test('a retried CAF submission is answered with success, and the manager gets one card', async () => {
    const c = await allocated();
    await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' });
    const ids = { activityId: 'retried-submission', conversationId: personalChatOf(SAM) };
    const first = await executeAs(SAM, 'submitCaf', { caseId: c.caseId, cafDate: '2026-11-23' }, ids);
    const again = await executeAs(SAM, 'submitCaf', { caseId: c.caseId, cafDate: '2026-11-23' }, ids);
    expect(textOf(first.card)).toContain('sent for authorisation');
    expect(textOf(again.card)).toContain('sent for authorisation');
    expect(first.sent.filter((s) => s.conversationId === personalChatOf(MORGAN))).toHaveLength(1);
    expect(again.sent).toEqual([]);
  });
});

describe('verbs are looked up among the bot\u2019s own', () => {
  test.each(['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'])('"%s" gets a polite card and reveals nothing', async (verb) => {
    const invoked = await b.execute(SAM, verb, {});
    expect(invoked.status).toBe(200);
    expect(textOf(invoked.card)).toContain('That card is out of date.');
    expect(JSON.stringify(invoked.card)).not.toContain(SAM.email);
    const submitted = await b.send({ type: 'message', from: from(SAM) as never, conversation: { id: personalChatOf(SAM), conversationType: 'personal' } as never, value: { verb } } as Partial<Activity>);
    expect(submitted).toHaveLength(1);
    expect(JSON.stringify(submitted[0].activity.attachments)).not.toMatch(new RegExp(`${SAM.email}|serviceUrl|administratorContact|smba`));
    expect(textOf(cardOf(submitted[0]))).toContain('That card is out of date.');
  });
});

describe('every card input is typed, trimmed and bounded on the server', () => {
  test.each([
    ['a family name that is an object', { familyName: { a: 1 } }, 'Family name: must be text.'],
    ['a reference that is an array', { reference: ['EH-ARR1'] }, 'Case reference: must be text.'],
    ['points in hexadecimal', { caseloadPoints: '0x10' }, 'Caseload points: must be a whole number from 0 to 100.'],
    ['points with an exponent', { caseloadPoints: '1e2' }, 'Caseload points: must be a whole number from 0 to 100.'],
    ['points missing', { caseloadPoints: undefined }, 'Caseload points: must be a whole number from 0 to 100.'],
    ['points not whole', { caseloadPoints: 2.5 }, 'Caseload points: must be a whole number from 0 to 100.'],
    ['points above 100', { caseloadPoints: '101' }, 'Caseload points: must be a whole number from 0 to 100.'],
    ['"no" for whether a CAF is required', { cafRequired: 'no' }, 'A CAF is required: must be on or off.'],
    ['a child born 9999-12-31', { children: 'Tallulah, 9999-12-31' }, 'Children, line 1: the date of birth cannot be in the future.'],
    ['a child born on an impossible date', { children: 'Rex\nTallulah, 2019-02-30' }, 'Children, line 2: the date of birth must be a real date'],
    ['children given as a number', { children: 7 }, 'Children: must be text.'],
    ['a family name longer than the card allows', { familyName: 'F'.repeat(201) }, 'Family name: is longer than 200 characters.'],
    ['a NUL character in the family name', { familyName: 'Fern\u0000sby' }, 'Family name: contains a character that cannot be stored'],
    ['a lone surrogate in the reason for referral', { referralReason: 'Attendance \uD800' }, 'Reason for referral: contains a character that cannot be stored'],
    ['a worker that is not text', { leadProfessional: { id: SAM.id } }, 'Worker: choose one from the list.'],
  ])('%s re-shows the allocation form naming the field, and writes nothing', async (_name, extra, message) => {
    const before = await caseCount();
    const { status, card } = await b.execute(MORGAN, 'allocateCase', allocation(extra));
    expect(status).toBe(200);
    expect(textOf(card)).toContain('Allocate a case');
    expect(textOf(card)).toContain(message);
    expect(await caseCount()).toBe(before);
    expect(JSON.stringify(card)).not.toContain('[object Object]');
  });

  test('points as the number input sends them (a string of digits, or a number) are taken', async () => {
    for (const caseloadPoints of ['2', 2, ' 3 ']) {
      const { card } = await b.execute(MORGAN, 'allocateCase', allocation({ caseloadPoints }));
      expect(textOf(card)).toMatch(/allocated to Sam Patel/);
    }
  });

  test('text PostgreSQL cannot store is refused on every card, naming the field', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    const returned = await b.execute(MORGAN, 'returnCaf', { caseId, submissionId, comments: 'Add the \u0000 father' });
    expect(textOf(returned.card)).toContain('Comments: contains a character that cannot be stored');
    expect(await eventsOf(caseId)).not.toContain('caf-returned');
  });
});

describe('children are read one a line without a pattern that backtracks', () => {
  test('name and date of birth, separated by commas, semicolons or spaces', () => {
    expect(parseChildren('Tallulah Fernsby, 2019-04-02\r\nRex;2020-01-31\nMo  2021-06-01\nBaby Fernsby\n\n')).toEqual([
      { name: 'Tallulah Fernsby', dateOfBirth: '2019-04-02' },
      { name: 'Rex', dateOfBirth: '2020-01-31' },
      { name: 'Mo', dateOfBirth: '2021-06-01' },
      { name: 'Baby Fernsby' },
    ]);
  });

  test('a line of separators, or a date glued to the name, is a name, read in linear time', () => {
    const commas = ','.repeat(1_000_000);
    expect(() => parseChildren(`a${commas}b`)).toThrow('Children, line 1: the name is longer than 200 characters.');
    expect(parseChildren(`${commas}2019-04-02`)).toEqual([{ name: '', dateOfBirth: '2019-04-02' }]);
    expect(parseChildren(`Rex${','.repeat(150)}2019-04-02`)).toEqual([{ name: 'Rex', dateOfBirth: '2019-04-02' }]);
    expect(parseChildren('Rex2019-04-02')).toEqual([{ name: 'Rex2019-04-02' }]);
  });
});

describe('case details never go to a group chat or channel', () => {
  const channel = { id: '19:north-allocations@thread.tacv2', conversationType: 'channel' };
  const inChannel = (member: StaffMember, text: string) =>
    b.send({ type: 'message', text, from: from(member) as never, conversation: channel as never });

  test.each(['case {ref}', 'my cases', 'due', 'allocate'])('"%s" typed in a channel gets the reference at most, and a button to the personal chat', async (command) => {
    const c = await allocated();
    const [reply] = await inChannel(MORGAN, command.replace('{ref}', c.reference));
    const card = cardOf(reply);
    expect(reply.conversationId).toBe(channel.id);
    expect(textOf(card)).toContain('Show me in my personal chat');
    expect(JSON.stringify(card)).not.toMatch(/Fernsby|Tallulah|Attendance|Sam Patel|Call mum/);
  });

  test('the button sends the case card to the person\u2019s personal chat, and nothing of it to the channel', async () => {
    const c = await allocated();
    const [reply] = await inChannel(SAM, `case ${c.reference.toLowerCase()}`);
    const data = (cardOf(reply).actions as Array<{ data: Record<string, unknown> }>)[0].data;
    const opened = await b.execute(SAM, 'openInPersonalChat', data, channel);
    expect(textOf(opened.card)).toBe('Sent to your personal chat with Early Help.');
    expect(opened.sent).toHaveLength(1);
    expect(opened.sent[0].conversationId).toBe(personalChatOf(SAM));
    expect(textOf(cardOf(opened.sent[0]))).toContain('Fernsby');
  });

  test('someone who may not open the case gets the same answer in their own chat as anywhere else', async () => {
    const c = await allocated();
    const opened = await b.execute(ALEX, 'openInPersonalChat', { command: `case ${c.reference}` }, channel);
    expect(textOf(cardOf(opened.sent[0]))).toBe(`There is no case ${c.reference} that you can open.`);
  });
});

describe('someone not in the staff directory', () => {
  test('leaves no conversation reference behind', async () => {
    const stranger = { id: '99999999-0000-4999-8999-999999999999', name: 'Stranger', aadObjectId: '99999999-0000-4999-8999-999999999999' };
    const conversation = { id: 'a:stranger-chat', conversationType: 'personal' };
    const [reply] = await b.send({ type: 'message', text: 'my cases', from: stranger as never, conversation: conversation as never });
    expect(textOf(cardOf(reply))).toContain('not in the Early Help staff directory');
    await b.send({ type: 'installationUpdate', action: 'add', from: stranger as never, conversation: conversation as never });
    await b.send({ type: 'invoke', name: 'adaptiveCard/action', from: stranger as never, conversation: conversation as never, value: { action: { type: 'Action.Execute', verb: 'myCases', data: {} } } });
    const rows = await t.db.query('SELECT 1 FROM conversation_references WHERE conversation_id = $1', [conversation.id]);
    expect(rows).toEqual([]);
  });
});
