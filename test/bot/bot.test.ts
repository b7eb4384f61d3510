import { Activity } from 'botbuilder';
import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, textOf } from '../helpers/botHarness';
import { ALEX, DUTY, JO, MORGAN, SAM } from '../helpers/demoStaff';
import { readReference } from '../helpers/shared';
import { pendingMessages } from '../../src/delivery/outbox';

let t: TestDatabase;
let b: BotUnderTest;

beforeAll(async () => {
  t = await embeddedDatabase();
  b = await botUnderTest(t.db);
  for (const m of [MORGAN, DUTY, SAM, ALEX, JO]) await b.install(m);
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});
beforeEach(() => {
  b.today.value = '2026-11-23';
});

const allocation = (extra: Record<string, unknown> = {}) => b.allocationForm(extra);
const allocated = (extra: Record<string, unknown> = {}) => b.allocate(MORGAN, extra);

describe('install and commands', () => {
  test('installing sends one welcome card; reloading the chat (another install and conversationUpdate) sends none', async () => {
    const first = await b.install(ALEX);
    expect(first).toEqual([]); // already welcomed in beforeAll
    const member = { id: '77777777-7777-4777-8777-777777777777', name: 'New Worker', email: 'new@council.example', role: 'worker' as const, team: 'North', capacityPoints: 10, active: true };
    await b.services.directory.save([member], 'test');
    const welcome = await b.install(member);
    expect(welcome).toHaveLength(1);
    expect(textOf(cardOf(welcome[0]))).toContain('I keep track of every timescale');
    const again = await b.send({ type: 'conversationUpdate', membersAdded: [{ id: '28:bot', name: 'Early Help' }], from: { id: '29:x', aadObjectId: member.id } as never, conversation: { id: personalChatOf(member), conversationType: 'personal' } as never });
    expect(again).toEqual([]);
    expect(await b.services.conversations.personalChatOf(member.id)).toMatchObject({ conversationType: 'personal' });
  });

  test('someone not in the staff directory gets a polite card saying who to ask, and nothing else', async () => {
    const stranger = { id: '99999999-9999-4999-8999-999999999999', name: 'Stranger', email: 's@x.example', role: 'worker' as const, team: 'North', capacityPoints: 0, active: true };
    const [reply] = await b.say(stranger, 'my cases');
    expect(textOf(cardOf(reply))).toMatch(/not in the Early Help staff directory.*ask your Early Help systems administrator/s);
  });

  test.each([
    ['help', /What I can do/],
    ['HELP please', /What I can do/],
    ['what is for lunch', /I did not understand "what is for lunch"/],
    ['my cases', /Your cases/],
    ['Due', /Due by /],
  ])('"%s" gets the right card', async (text, expected) => {
    const [reply] = await b.say(SAM, text);
    expect(textOf(cardOf(reply))).toMatch(expected);
    expect(reply.activity.summary).toBe(cardOf(reply).fallbackText);
  });

  test('allocate shows managers the form with each worker\u2019s points against capacity; workers are told it is for managers', async () => {
    const [form] = await b.say(MORGAN, 'allocate');
    expect(textOf(cardOf(form))).toMatch(/Sam Patel \(\d+ \/ 20 points\)/);
    expect(textOf(cardOf(form))).toContain('Alex Kim (0 / 20 points)');
    const [refused] = await b.say(SAM, 'allocate');
    expect(textOf(cardOf(refused))).toContain('Only managers allocate cases.');
  });
});

describe('allocation from the card', () => {
  test('the manager allocates; the worker gets the case card in personal chat; the e-mail is queued; points count on the next form', async () => {
    const { status, card, sent, caseId, reference } = await allocated();
    expect(status).toBe(200);
    expect(textOf(card)).toContain(`Case ${reference} allocated to Sam Patel`);
    const toWorker = sent.find((s) => s.conversationId === personalChatOf(SAM));
    expect(textOf(cardOf(toWorker))).toContain(`Case ${reference} has been allocated to you by Morgan Reid.`);
    expect(toWorker!.activity.summary).toBe(`Case ${reference}`);
    expect((await pendingMessages(t.db, 'allocation-email')).some((m) => m.caseId === caseId)).toBe(true);
    const [form] = await b.say(MORGAN, 'allocate');
    expect(textOf(cardOf(form))).toMatch(/Sam Patel \((\d+) \/ 20 points\)/);
  });

  test('bad input re-shows the form with the message and what was typed, and records nothing', async () => {
    const before = (await t.db.query<{ c: number }>('SELECT count(*)::int AS c FROM cases'))[0].c;
    const { card } = await b.execute(MORGAN, 'allocateCase', allocation({ source: 'sgcp-step-down', existingPlan: '' }));
    expect(textOf(card)).toContain('A CIN or SGCP step-down arrives with a plan');
    expect(JSON.stringify(card)).toContain('Tallulah Fernsby, 2019-04-02');
    expect((await t.db.query<{ c: number }>('SELECT count(*)::int AS c FROM cases'))[0].c).toBe(before);
  });

  test('a worker cannot allocate from a crafted card', async () => {
    const { card } = await b.execute(SAM, 'allocateCase', allocation());
    expect(textOf(card)).toContain('Only managers allocate cases.');
  });

  test('a retried invoke (same activity id) allocates once', async () => {
    const form = allocation();
    const activity = {
      id: 'retried-activity',
      type: 'invoke',
      name: 'adaptiveCard/action',
      from: { id: '29:m', aadObjectId: MORGAN.id },
      conversation: { id: personalChatOf(MORGAN), conversationType: 'personal' },
      value: { action: { type: 'Action.Execute', verb: 'allocateCase', data: { verb: 'allocateCase', ...form } } },
    } as unknown as Partial<Activity>;
    await b.send(activity);
    await b.send({ ...activity });
    const rows = await t.db.query('SELECT id FROM cases WHERE reference = $1', [form.reference]);
    expect(rows).toHaveLength(1);
  });
});

describe('the worker records from the case card', () => {
  test('a telephone contact is recorded and the card shows it met; a future date re-shows the card with the message', async () => {
    const { caseId, reference } = await allocated();
    b.today.value = '2026-11-24';
    const future = await b.execute(SAM, 'logTelephoneContact', { caseId, caseVersion: 1, contactDate: '2026-11-30' });
    expect(textOf(future.card)).toContain('The contact date cannot be in the future.');
    expect(textOf(future.card)).toContain(`Case ${reference}`);
    const done = await b.execute(SAM, 'logTelephoneContact', { caseId, caseVersion: 1, contactDate: '2026-11-24' });
    expect(textOf(done.card)).toContain(`Contact recorded on case ${reference}.`);
    expect(textOf(done.card)).not.toContain('Telephone contact\n');
  });

  test('another worker cannot act on the case, whatever the card says', async () => {
    const { caseId } = await allocated();
    const { card } = await b.execute(ALEX, 'logTelephoneContact', { caseId, contactDate: '2026-11-23' });
    expect(textOf(card)).toMatch(/You cannot record work on case EH-/);
  });

  test('a malformed or tampered card gets a clear answer and writes nothing', async () => {
    expect(textOf((await b.execute(SAM, 'logVisit', { caseId: "'; DROP TABLE cases; --" })).card)).toContain('This card is out of date.');
    expect(textOf((await b.execute(SAM, 'logVisit', {})).card)).toContain('This card is out of date.');
    const { caseId } = await allocated();
    const long = await b.execute(SAM, 'tafHeld', { caseId, tafHeldDate: 'x'.repeat(100_000) });
    expect(textOf(long.card)).toContain('Date: must be a date, YYYY-MM-DD.');
    const impossible = await b.execute(SAM, 'tafHeld', { caseId, tafHeldDate: '2026-02-30' });
    expect(textOf(impossible.card)).toContain('Date: must be a real date, YYYY-MM-DD.');
    const events = await t.db.query<{ type: string }>('SELECT type FROM case_events WHERE case_id = $1', [caseId]);
    expect(events.map((e) => e.type)).toEqual(['allocated']);
  });

  test('an Action.Submit from an older client is handled as the same action, and replaces the card it came from', async () => {
    const { caseId, reference } = await allocated();
    const sent = await b.send({
      type: 'message',
      replyToId: 'card-activity-1',
      from: { id: `29:${SAM.id}`, aadObjectId: SAM.id } as never,
      conversation: { id: personalChatOf(SAM), conversationType: 'personal' } as never,
      value: { verb: 'logTelephoneContact', caseId, contactDate: '2026-11-23' },
    });
    expect(sent).toEqual([]);
    const update = b.adapter.updated.at(-1)!;
    expect(update.activity.id).toBe('card-activity-1');
    expect(textOf(update.activity.attachments![0].content)).toContain(`Contact recorded on case ${reference}.`);
    const events = await t.db.query<{ type: string }>('SELECT type FROM case_events WHERE case_id = $1 ORDER BY sequence', [caseId]);
    expect(events.map((e) => e.type)).toEqual(['allocated', 'telephone-contact-made']);
  });

  test('an unknown verb gets a polite card, not a crash', async () => {
    const { status, card } = await b.execute(SAM, 'launchRockets', {});
    expect(status).toBe(200);
    expect(textOf(card)).toContain('That card is out of date.');
  });
});

describe('every card reaches its person', () => {
  test('allocated to a worker who has never opened the bot: the manager is told the truth, and the case card arrives once when the worker opens it', async () => {
    const newcomer = { id: '88888888-8888-4888-8888-888888888888', name: 'Nia Newcomer', email: 'nia@council.example', role: 'worker' as const, team: 'North', lineManager: MORGAN.id, capacityPoints: 20, active: true };
    await b.services.directory.save([newcomer], 'test');
    const form = allocation({ leadProfessional: newcomer.id });
    const { card, sent } = await b.execute(MORGAN, 'allocateCase', form);
    expect(textOf(card)).toContain('Nia Newcomer will get the case card when they next open Early Help in Teams');
    expect(sent).toEqual([]);
    const opened = await b.install(newcomer);
    const cards = opened.filter((s) => textOf(cardOf(s)).includes(`Case ${form.reference} has been allocated to you by Morgan Reid.`));
    expect(cards).toHaveLength(1);
    expect(cards[0].activity.summary).toBe(`Case ${form.reference}`);
    expect(await b.install(newcomer)).toEqual([]);
    const [say] = await b.say(newcomer, 'help');
    expect(textOf(cardOf(say))).not.toContain(form.reference);
  });

  test('allocated to a worker who has the bot: the manager is told the worker has the card', async () => {
    const { card, sent } = await b.execute(MORGAN, 'allocateCase', allocation());
    expect(textOf(card)).toContain('Sam Patel has the case card');
    expect(sent.filter((s) => s.conversationId === personalChatOf(SAM))).toHaveLength(1);
  });
});

describe('CAF authorisation', () => {
  async function cafSubmitted() {
    const c = await allocated();
    await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true', childSeen: 'true', medicalForm: 'false', homeChecked: 'true' });
    const submitted = await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: b.today.value });
    const [row] = await t.db.query<{ id: string }>(`SELECT id FROM case_events WHERE case_id = $1 AND type = 'caf-submitted'`, [c.caseId]);
    return { ...c, submitted, submissionId: row.id };
  }

  test('the worker submits; the line manager gets the authorisation card, with the good-assessment checklist, in personal chat and without refresh', async () => {
    const { submitted, reference } = await cafSubmitted();
    expect(textOf(submitted.card)).toContain(`CAF for case ${reference} sent for authorisation.`);
    const toManager = submitted.sent.find((s) => s.conversationId === personalChatOf(MORGAN));
    const card = cardOf(toManager);
    expect(textOf(card)).toContain(`CAF awaiting authorisation: case ${reference}`);
    expect(textOf(card)).toContain('includes the voice of the child');
    expect(textOf(card)).toContain('Approve');
    expect(card.refresh).toBeUndefined();
    expect(toManager!.activity.summary).toBe(`CAF for case ${reference} awaiting authorisation.`);
  });

  test('the manager approves: the card shows who decided and when, and the worker is told', async () => {
    const { caseId, submissionId, reference } = await cafSubmitted();
    const { card, sent } = await b.execute(MORGAN, 'approveCaf', { caseId, submissionId, comments: 'Good analysis' });
    expect(textOf(card)).toContain(`CAF approved: case ${reference}`);
    expect(textOf(card)).toContain('Morgan Reid');
    expect(textOf(card)).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
    expect(card.refresh).toBeUndefined();
    expect(card.actions ?? []).toEqual([]);
    const toWorker = sent.find((s) => s.conversationId === personalChatOf(SAM));
    expect(textOf(cardOf(toWorker))).toContain(`Case ${reference}`);
    expect(textOf(cardOf(toWorker))).toContain('CAF approved by Morgan Reid. Comments: Good analysis');
    expect(toWorker!.activity.summary).toBe(`Case ${reference}`);
  });

  test('a second click or a stale card gets "already decided by X at T", never a second decision', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    await b.execute(MORGAN, 'approveCaf', { caseId, submissionId });
    const second = await b.execute(DUTY, 'returnCaf', { caseId, submissionId, comments: 'late' });
    expect(textOf(second.card)).toMatch(/Already decided by Morgan Reid at \d{4}-\d{2}-\d{2} \d{2}:\d{2}\./);
    const decisions = await t.db.query(`SELECT 1 FROM case_events WHERE case_id = $1 AND type IN ('caf-authorised', 'caf-returned')`, [caseId]);
    expect(decisions).toHaveLength(1);
  });

  test('the worker cannot authorise their own CAF from a crafted card', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    const { card } = await b.execute(SAM, 'approveCaf', { caseId, submissionId });
    expect(textOf(card)).toMatch(/You cannot authorise the CAF of case/);
  });

  test('a CAF returned with comments reaches the worker on their case card, which shows the comments until the CAF is resubmitted', async () => {
    const { caseId, submissionId, reference } = await cafSubmitted();
    const { sent } = await b.execute(MORGAN, 'returnCaf', { caseId, submissionId, comments: "Add the father's view" });
    const toWorker = cardOf(sent.find((s) => s.conversationId === personalChatOf(SAM)));
    expect(textOf(toWorker)).toMatch(/CAF returned by Morgan Reid on Mon 23 Nov\nAdd the father's view/);
    const [again] = await b.say(SAM, `case ${reference}`);
    expect(textOf(cardOf(again))).toContain("Add the father's view");
    await b.execute(SAM, 'submitCaf', { caseId, cafDate: '2026-11-23' });
    const [resubmitted] = await b.say(SAM, `case ${reference}`);
    expect(textOf(cardOf(resubmitted))).not.toContain("Add the father's view");
    expect(textOf(cardOf(resubmitted))).toContain('Required: awaiting authorisation since Mon 23 Nov');
  });

  test('returning needs comments: the card is re-shown with the message', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    const { card } = await b.execute(MORGAN, 'returnCaf', { caseId, submissionId, comments: '' });
    expect(textOf(card)).toContain('Say what needs changing when returning a CAF.');
    expect(textOf(card)).toContain('Return with comments');
  });

  test('posted in a group, the card refreshes for the deciders: the manager sees the buttons, everyone else the status', async () => {
    const { caseId, submissionId } = await cafSubmitted();
    const group = { id: 'group-chat-north', conversationType: 'groupChat' };
    const manager = await b.execute(MORGAN, 'refreshCafAuthorisation', { caseId, submissionId }, group);
    expect(textOf(manager.card)).toContain('Approve');
    expect((manager.card.refresh as { userIds: string[] }).userIds).toEqual(expect.arrayContaining([MORGAN.id, DUTY.id]));
    expect((manager.card.refresh as { userIds: string[] }).userIds.length).toBeLessThanOrEqual(60);
    const support = await b.execute(JO, 'refreshCafAuthorisation', { caseId, submissionId }, group);
    expect(textOf(support.card)).not.toContain('Approve');
    expect(textOf(support.card)).toContain('Waiting for Morgan Reid to decide.');
    await b.execute(MORGAN, 'approveCaf', { caseId, submissionId }, group);
    const after = await b.execute(JO, 'refreshCafAuthorisation', { caseId, submissionId }, group);
    expect(textOf(after.card)).toContain('Morgan Reid');
    expect(after.card.refresh).toBeUndefined();
  });

  test('"case <ref>" shows a manager who may decide the CAF awaiting authorisation; others see the case, or nothing if it is not theirs', async () => {
    const { reference } = await cafSubmitted();
    const [manager] = await b.say(MORGAN, `case ${reference.toLowerCase()}`);
    expect(textOf(cardOf(manager))).toContain(`CAF awaiting authorisation: case ${reference}`);
    const [worker] = await b.say(SAM, `case ${reference}`);
    expect(textOf(cardOf(worker))).toContain(`Case ${reference}`);
    expect(textOf(cardOf(worker))).toMatch(/Required: awaiting authorisation since Mon 23 Nov/);
    const [other] = await b.say(ALEX, `case ${reference}`);
    expect(textOf(cardOf(other))).toBe(`There is no case ${reference} that you can open.`);
    const [missing] = await b.say(ALEX, 'case EH-0000');
    expect(textOf(cardOf(missing))).toBe('There is no case EH-0000 that you can open.');
  });

  test('work from a case card acted on in a group chat records nothing there and points to the personal chat', async () => {
    const c = await allocated();
    const group = { id: 'group-chat-north-2', conversationType: 'groupChat' };
    const visit = await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' }, group);
    expect(textOf(visit.card)).toContain('Case details are for your personal chat.');
    expect(textOf(visit.card)).not.toContain('Fernsby');
    expect(visit.sent).toEqual([]);
    const events = await t.db.query<{ type: string }>('SELECT type FROM case_events WHERE case_id = $1', [c.caseId]);
    expect(events.map((e) => e.type)).toEqual(['allocated']);
  });

  test("a manager's case list and week start with the CAFs awaiting their authorisation", async () => {
    const { reference } = await cafSubmitted();
    const [cases] = await b.say(MORGAN, 'my cases');
    const text = textOf(cardOf(cases));
    expect(text).toContain('North team cases');
    expect(text.indexOf(reference)).toBeLessThan(text.indexOf('Telephone contact by'));
    expect(text).toMatch(new RegExp(`${reference}\\nFernsby\\n🟣 Awaiting you\\nCAF awaiting your authorisation since Mon 23 Nov`));
    const [due] = await b.say(MORGAN, 'due');
    expect(textOf(cardOf(due))).toContain('CAF awaiting your authorisation since Mon 23 Nov');
    const [worker] = await b.say(SAM, 'my cases');
    expect(textOf(cardOf(worker))).not.toContain('awaiting your authorisation');
  });

  test('while the line manager is on leave the duty manager gets the card; after it, the line manager again', async () => {
    const c = await allocated();
    await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' });
    await b.services.directory.save([{ ...MORGAN, absentUntil: '2026-11-27' }], 'test');
    try {
      b.today.value = '2026-11-27';
      const submitted = await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: b.today.value });
      expect(submitted.sent.some((s) => s.conversationId === personalChatOf(DUTY))).toBe(true);
      expect(submitted.sent.some((s) => s.conversationId === personalChatOf(MORGAN))).toBe(false);
      b.today.value = '2026-11-30';
      const [row] = await t.db.query<{ id: string }>(`SELECT id FROM case_events WHERE case_id = $1 AND type = 'caf-submitted'`, [c.caseId]);
      await b.execute(DUTY, 'returnCaf', { caseId: c.caseId, submissionId: row.id, comments: 'Add the father\'s view' });
      const again = await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: b.today.value });
      expect(again.sent.some((s) => s.conversationId === personalChatOf(MORGAN))).toBe(true);
    } finally {
      await b.services.directory.save([MORGAN], 'test');
    }
  });

  test('when the line manager has left the duty manager gets the card', async () => {
    const c = await allocated();
    await b.execute(SAM, 'logVisit', { caseId: c.caseId, visitDate: '2026-11-23', consentForm: 'true' });
    await b.services.directory.save([{ ...MORGAN, active: false }], 'test');
    try {
      const submitted = await b.execute(SAM, 'submitCaf', { caseId: c.caseId, cafDate: b.today.value });
      expect(submitted.sent.some((s) => s.conversationId === personalChatOf(DUTY))).toBe(true);
      expect(submitted.sent.some((s) => s.conversationId === personalChatOf(MORGAN))).toBe(false);
    } finally {
      await b.services.directory.save([MORGAN], 'test');
    }
  });
});

describe('real captured Teams activities', () => {
  test('an adaptiveCard/action invoke from Teams with no verb gets a 400 and no crash', async () => {
    const activity = JSON.parse(readReference('teams-activities/teamsnet-TeamsActivityTests-jsonInvoke.json'));
    const sent = await b.send(activity);
    const response = sent.find((s) => s.activity.type === 'invokeResponse')!.activity.value as { status: number; body: { statusCode: number } };
    expect(response.body.statusCode).toBe(400);
  });

  test('a channel message with an @mention from someone unknown gets the polite card', async () => {
    const activity = JSON.parse(readReference('teams-activities/teamsnet-TeamsActivityTests-json.json'));
    const [reply] = await b.send(activity);
    expect(textOf(cardOf(reply))).toContain('not in the Early Help staff directory');
  });

  test('the same channel message from a known manager is read without its @mention', async () => {
    const activity = JSON.parse(readReference('teams-activities/teamsnet-TeamsActivityTests-json.json'));
    await b.services.directory.save([{ ...MORGAN, id: activity.from.aadObjectId, email: 'captured@council.example' }], 'test');
    activity.text = '<at>ridotest</at> help';
    activity.id = 'captured-2';
    const [reply] = await b.send(activity);
    expect(textOf(cardOf(reply))).toContain('What I can do');
  });

  test('a channelCreated conversationUpdate is stored and welcomes no one', async () => {
    const activity = JSON.parse(readReference('teams-activities/msteams-docs-conversationUpdate-channelCreated.json'));
    expect(await b.send(activity)).toEqual([]);
    expect(await b.services.conversations.get(activity.conversation.id)).toMatchObject({ conversationType: 'channel' });
  });
});
