import { AdaptiveCard } from '../../bot/cards/template';
import { caseState } from '../../src/caseState';
import { StaffMember } from '../../src/staff';
import { attendeeOf } from '../../src/taf/booking';
import { cardSchemaValidator, parseWarnings, walkCard } from '../helpers/adaptiveCards';
import { BotUnderTest, botUnderTest, cardOf, personalChatOf, textOf } from '../helpers/botHarness';
import { ENGINES, TestDatabase } from '../helpers/database';
import { ALEX, JO, MORGAN, SAM, TEAM } from '../helpers/demoStaff';

/**
 * A case's TAF members as the worker manages them in Teams (issue 9): the card reached from the
 * case card's Manage actions, Add and Remove with the core's refusals shown beside the field, the
 * case log as the record, and the preview naming the case only. The real bot, on both databases.
 */
jest.setTimeout(120_000);

/** A worker of another team. */
const RIVER: StaffMember = { id: '77777777-7777-4777-8777-777777777777', name: 'River Stone', email: 'river.stone@council.example', role: 'worker', team: 'South', capacityPoints: 20, active: true };

const FAMILY = /Fernsby|Jade|Tallulah/;
const validate = cardSchemaValidator();

function expectValidCard(card: AdaptiveCard, reference: string): void {
  expect(validate(card) ? [] : validate.errors).toEqual([]);
  expect(parseWarnings(card)).toEqual([]);
  expect(JSON.stringify(card)).not.toContain('${');
  // What a notification may show: the case reference, never the family nor a family member.
  expect(card.fallbackText).toBe(`TAF members: case ${reference}`);
}

/** Every action a card offers (nested in show cards and action sets too), by title, in order. */
function actionsOf(card: AdaptiveCard): Array<{ title: string; verb?: string; data?: Record<string, unknown> }> {
  const found: Array<{ title: string; verb?: string; data?: Record<string, unknown> }> = [];
  walkCard([card.body, card.actions], (n) => {
    if (typeof n.type === 'string' && n.type.startsWith('Action.') && typeof n.title === 'string') found.push(n as never);
  });
  return found;
}

/** The Add form's items, in order, and its inputs by id. */
function formOf(card: AdaptiveCard): { items: Array<Record<string, unknown>>; inputs: Map<string, Record<string, unknown>> } {
  let items: Array<Record<string, unknown>> = [];
  walkCard(card.body, (n) => {
    if (n.type === 'Container' && Array.isArray(n.items) && n.items.some((i: Record<string, unknown>) => i.id === 'memberName')) items = n.items;
  });
  return { items, inputs: new Map(items.filter((i) => typeof i.id === 'string').map((i) => [i.id as string, i])) };
}

/** The message shown right under an input of the Add form, if any. */
function besideField(card: AdaptiveCard, id: string): string | undefined {
  const { items } = formOf(card);
  const next = items[items.findIndex((i) => i.id === id) + 1];
  return next?.type === 'TextBlock' && next.color === 'Attention' ? String(next.text) : undefined;
}

/** The Remove button beside a member, found by the name shown beside it. */
function removeOf(card: AdaptiveCard, name: string): Record<string, unknown> {
  let data: Record<string, unknown> | undefined;
  walkCard(card.body, (n) => {
    if (n.type === 'ColumnSet' && JSON.stringify(n).includes(`"text":"${name}"`)) {
      walkCard(n, (a) => {
        if (a.type === 'Action.Execute' && a.verb === 'removeTafMember') data = a.data;
      });
    }
  });
  if (!data) throw new Error(`no Remove beside ${name}`);
  return data;
}

describe.each(ENGINES)('on %s', (_engine, open) => {
  let t: TestDatabase;
  let b: BotUnderTest;
  let caseId: string;
  let reference: string;

  beforeAll(async () => {
    t = await open();
    b = await botUnderTest(t.db, [...TEAM, RIVER]);
    for (const m of [MORGAN, SAM]) await b.install(m);
    ({ caseId, reference } = await b.allocate(MORGAN));
  });
  afterAll(async () => {
    await b?.delivery.stop();
    await t?.dispose();
  });

  const events = () =>
    t.db.query<{ type: string; by_staff: string; data: Record<string, unknown> }>(`SELECT type, by_staff, data FROM case_events WHERE case_id = $1 ORDER BY sequence`, [caseId]);
  const members = async () => caseState((await b.services.caseLog.read(caseId, { actor: SAM.id })).events).tafMembers;
  const add = (who: StaffMember, fields: Record<string, unknown>) => b.execute(who, 'addTafMember', { caseId, memberFamily: 'false', ...fields });

  test('the worker opens "TAF members" from the case card\u2019s Manage actions: nobody yet, the line on who is invited, and the Add form', async () => {
    const [shown] = await b.say(SAM, `case ${reference}`);
    const open = actionsOf(cardOf(shown)).find((a) => a.title === 'TAF members');
    expect(open).toMatchObject({ verb: 'tafMembers', data: { verb: 'tafMembers', caseId } });
    // Manage holds TAF members for the worker; reallocation and supervision stay the manager's.
    expect(actionsOf(cardOf(shown)).map((a) => a.title)).not.toContain('Reallocate');

    const { status, card } = await b.execute(SAM, 'tafMembers', open!.data!);
    expect(status).toBe(200);
    expectValidCard(card, reference);
    const text = textOf(card);
    expect(text).toContain(`Case ${reference} \u00b7 Fernsby`);
    expect(text).toContain('Everyone listed is invited to the TAF meetings booked from now on. Family members are invited by e-mail address only, so their name is not shown to the agencies.');
    expect(text).toContain('No one yet');
    expect([...formOf(card).inputs.keys()]).toEqual(['memberName', 'memberAgency', 'memberEmail', 'memberFamily']);
    expect(actionsOf(card).map((a) => a.title)).toEqual(['Add', 'Open case']);
  });

  test('the manager finds TAF members beside Reallocate; Business Support, who may not record work, does not', async () => {
    const [asManager] = await b.say(MORGAN, `case ${reference}`);
    expect(actionsOf(cardOf(asManager)).map((a) => a.title)).toEqual(expect.arrayContaining(['TAF members', 'Reallocate']));
    const [asSupport] = await b.say(JO, `case ${reference}`);
    expect(actionsOf(cardOf(asSupport)).map((a) => a.title)).not.toContain('TAF members');
  });

  test('an agency\u2019s professional and a family member are added: the list shows the agency or "Family", and the preview names the case only', async () => {
    const school = await add(SAM, { memberName: 'Pat Head', memberAgency: 'Greenfield Primary', memberEmail: 'Head@Greenfield.sch.example' });
    expectValidCard(school.card, reference);
    expect(textOf(school.card)).toContain('Pat Head (Greenfield Primary) will be invited to the TAF meetings booked from now on.');
    expect(textOf(school.card)).toContain('Greenfield Primary \u00b7 head@greenfield.sch.example');
    // The form is empty again for the next person.
    expect(formOf(school.card).inputs.get('memberName')!.value).toBe('');

    const mum = await add(SAM, { memberName: 'Jade Fernsby', memberAgency: '', memberEmail: 'parent.one@family.example', memberFamily: 'true' });
    expectValidCard(mum.card, reference);
    expect(textOf(mum.card)).toContain('Jade Fernsby (family) will be invited');
    expect(textOf(mum.card)).toContain('Family \u00b7 parent.one@family.example');
    expect(String(mum.card.fallbackText)).not.toMatch(FAMILY);

    const now = await members();
    expect(now.map((m) => [m.name, m.agency, m.email, m.family])).toEqual([
      ['Pat Head', 'Greenfield Primary', 'head@greenfield.sch.example', false],
      ['Jade Fernsby', undefined, 'parent.one@family.example', true],
    ]);
    // As the card says: the family member is invited by address alone.
    expect(now.map(attendeeOf)).toEqual([{ email: 'head@greenfield.sch.example', name: 'Pat Head (Greenfield Primary)' }, { email: 'parent.one@family.example' }]);
    expect((await events()).filter((e) => e.type === 'taf-member-added').map((e) => [e.by_staff, e.data.name])).toEqual([
      [SAM.id, 'Pat Head'],
      [SAM.id, 'Jade Fernsby'],
    ]);
  });

  test('a bad e-mail and a missing agency are refused beside their field, with what was typed, and nothing is written', async () => {
    const before = (await events()).length;

    const badEmail = await add(SAM, { memberName: 'Kim Nurse', memberAgency: 'Health visiting', memberEmail: 'kim at the clinic' });
    expectValidCard(badEmail.card, reference);
    expect(besideField(badEmail.card, 'memberEmail')).toBe('Give their e-mail address, e.g. name@school.example.');
    expect(besideField(badEmail.card, 'memberAgency')).toBeUndefined();
    const typed = formOf(badEmail.card).inputs;
    expect([typed.get('memberName')!.value, typed.get('memberAgency')!.value, typed.get('memberEmail')!.value]).toEqual(['Kim Nurse', 'Health visiting', 'kim at the clinic']);

    const noAgency = await add(SAM, { memberName: 'Kim Nurse', memberAgency: ' ', memberEmail: 'kim.nurse@nhs.example' });
    expect(besideField(noAgency.card, 'memberAgency')).toBe('Say which agency they are from (school, health visiting, housing ...), or tick "family member".');
    expect(formOf(noAgency.card).inputs.get('memberEmail')!.value).toBe('kim.nurse@nhs.example');
    expect(formOf(noAgency.card).inputs.get('memberFamily')!.value).toBe('false');

    const noName = await add(SAM, { memberName: '', memberEmail: 'x@family.example', memberFamily: 'true' });
    expect(besideField(noName.card, 'memberName')).toBe('Give the name of the person invited.');
    expect(formOf(noName.card).inputs.get('memberFamily')!.value).toBe('true');

    // The card's own bounds, checked on the server whatever the client sent.
    const tooLong = await add(SAM, { memberName: 'K'.repeat(201), memberAgency: 'School', memberEmail: 'k@school.example' });
    expect(besideField(tooLong.card, 'memberName')).toBe('Name: is longer than 200 characters.');

    // The list as it was: still the two members.
    expect(textOf(noAgency.card)).toContain('Pat Head');
    expect((await events()).length).toBe(before);
    expect((await members()).map((m) => m.name)).toEqual(['Pat Head', 'Jade Fernsby']);
  });

  test('the same activity retried adds the member once', async () => {
    const activity = {
      type: 'invoke',
      name: 'adaptiveCard/action',
      id: 'retried-add-1',
      from: { id: `29:${SAM.id}`, name: SAM.name, aadObjectId: SAM.id },
      conversation: { id: personalChatOf(SAM), conversationType: 'personal' },
      value: { action: { type: 'Action.Execute', verb: 'addTafMember', data: { verb: 'addTafMember', caseId, memberName: 'Lee Housing', memberAgency: 'Housing', memberEmail: 'lee@housing.example', memberFamily: 'false' } }, trigger: 'manual' },
    } as const;
    const before = (await events()).length;
    await b.send(activity as never);
    await b.send(activity as never);
    expect((await events()).length).toBe(before + 1);
    expect((await members()).filter((m) => m.email === 'lee@housing.example')).toHaveLength(1);
  });

  test('Remove takes someone off the list; pressing it again on an old card says they are no longer a member', async () => {
    const { card } = await b.execute(SAM, 'tafMembers', { caseId });
    const remove = removeOf(card, 'Pat Head');
    const removed = await b.execute(SAM, 'removeTafMember', remove);
    expectValidCard(removed.card, reference);
    expect(textOf(removed.card)).toContain('Pat Head removed: not invited to the meetings booked from now on.');
    expect(textOf(removed.card)).not.toContain('head@greenfield.sch.example');
    expect((await members()).map((m) => m.name)).toEqual(['Jade Fernsby', 'Lee Housing']);
    const last = (await events()).at(-1)!;
    expect(last).toMatchObject({ type: 'taf-member-removed', by_staff: SAM.id, data: { member: remove.memberId } });

    const before = (await events()).length;
    const again = await b.execute(SAM, 'removeTafMember', remove);
    expect(textOf(again.card)).toContain('That person is not a TAF member of this case.');
    expect((await events()).length).toBe(before);
  });

  test('the manager of the team manages the list too', async () => {
    const added = await add(MORGAN, { memberName: 'Sky Youth', memberAgency: 'Youth service', memberEmail: 'sky@youth.example' });
    expect(textOf(added.card)).toContain('Sky Youth (Youth service) will be invited');
    expect((await events()).at(-1)).toMatchObject({ type: 'taf-member-added', by_staff: MORGAN.id });
  });

  test('another team\u2019s worker, a worker who does not hold the case, and Business Support can neither open the list nor change it', async () => {
    const before = (await events()).length;
    const { card } = await b.execute(SAM, 'tafMembers', { caseId });
    const remove = removeOf(card, 'Jade Fernsby');
    for (const who of [RIVER, ALEX, JO]) {
      for (const [verb, data] of [
        ['tafMembers', { caseId }],
        ['addTafMember', { caseId, memberName: 'Eve Intruder', memberAgency: 'Nowhere', memberEmail: 'eve@nowhere.example', memberFamily: 'false' }],
        ['removeTafMember', remove],
      ] as const) {
        const answer = await b.execute(who, verb, data);
        expect({ who: who.name, verb, text: textOf(answer.card) }).toEqual({ who: who.name, verb, text: `You cannot record work on case ${reference}.` });
        // Nothing of the case in the answer, nor in its preview.
        expect(JSON.stringify(answer.card)).not.toMatch(FAMILY);
      }
    }
    expect((await events()).length).toBe(before);
  });

  test('in a group chat the list is not shown: it is offered in the personal chat', async () => {
    const { card } = await b.execute(SAM, 'tafMembers', { caseId }, { id: 'group-chat-north', conversationType: 'groupChat' });
    expect(textOf(card)).toContain('Case details are for your personal chat.');
    expect(JSON.stringify(card)).not.toMatch(FAMILY);
  });

  test('a card that names no case this bot issued is out of date', async () => {
    const { card } = await b.execute(SAM, 'addTafMember', { caseId: 'not-a-case', memberName: 'A', memberAgency: 'B', memberEmail: 'a@b.example' });
    expect(textOf(card)).toContain('This card is out of date.');
  });

  test('the case log holds each change, by whom: taf-member-added and taf-member-removed', async () => {
    const log = (await events()).filter((e) => e.type.startsWith('taf-member'));
    expect(log.map((e) => [e.type, e.by_staff, e.data.name ?? null])).toEqual([
      ['taf-member-added', SAM.id, 'Pat Head'],
      ['taf-member-added', SAM.id, 'Jade Fernsby'],
      ['taf-member-added', SAM.id, 'Lee Housing'],
      ['taf-member-removed', SAM.id, null],
      ['taf-member-added', MORGAN.id, 'Sky Youth'],
    ]);
  });
});
