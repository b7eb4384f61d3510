import { NewCaseEvent } from '../../src/caseEvents';
import { parseLocalDate } from '../../src/localDate';
import { StaffMember } from '../../src/staff';
import { AdaptiveCard } from '../../bot/cards/template';
import { editDistance, nearestCommand, referenceOf } from '../../bot/commands';
import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, textOf } from '../helpers/botHarness';
import { ALEX, DUTY, JO, MORGAN, SAM, SOUTH } from '../helpers/demoStaff';

/**
 * Issue 7, "Lists a manager and a worker can act on": `my cases`, `due`, `approvals`, `team` and a
 * worker's caseload from the team card, on Monday 23 November 2026.
 */

let t: TestDatabase;
let b: BotUnderTest;
const d = parseLocalDate;
const ids: Record<string, string> = {};

async function open(reference: string, family: string, lead: StaffMember, allocatedOn: string, points: number, then: Array<Omit<NewCaseEvent, 'by'> & { by?: string }> = []) {
  const record = await b.services.caseLog.openCase({
    reference,
    actor: MORGAN.id,
    allocation: {
      type: 'allocated',
      by: MORGAN.id,
      effectiveOn: d(allocatedOn),
      data: { family: { name: family, children: [{ name: `Child ${family}` }] }, leadProfessional: lead.id, manager: MORGAN.id, caseloadPoints: points, initialActions: 'Call', cafRequired: true, source: 'referral' },
    },
  });
  if (then.length) await b.services.caseLog.append(record.caseId, 1, then.map((e) => ({ by: lead.id, ...e })) as NewCaseEvent[], { actor: lead.id });
  ids[reference] = record.caseId;
}

const visit = { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true };
const FAMILIES = ['Ashdown', 'Brightwell', 'Calloway', 'Dunmore', 'Ellery', 'Fairley', 'Garside'];

beforeAll(async () => {
  t = await embeddedDatabase();
  b = await botUnderTest(t.db);
  b.today.value = '2026-11-23';
  // Sam: one case of each status, allocated so that the references' order is not the urgency order.
  await open('EH-4001', 'Brightwell', SAM, '2026-11-19', 4); // telephone contact due today (Thu + 2 WD)
  await open('EH-4002', 'Dunmore', SAM, '2026-11-23', 4, [
    { type: 'telephone-contact-made', effectiveOn: d('2026-11-23'), data: {} },
    { type: 'visit', effectiveOn: d('2026-11-23'), data: visit },
    { type: 'case-recorded', effectiveOn: d('2026-11-23'), data: {} },
  ] as NewCaseEvent[]); // on track: the CAF by Mon 21 Dec
  await open('EH-4003', 'Calloway', SAM, '2026-11-23', 4); // telephone contact due soon (Wed 25 Nov)
  await open('EH-4004', 'Ashdown', SAM, '2026-11-17', 4); // telephone contact overdue (Thu 19 Nov)
  await open('EH-1003', 'Ellery', SAM, '2026-11-23', 4);
  // Alex: a CAF awaiting authorisation and a closure awaiting approval (with two contacts overdue).
  await open('EH-4010', 'Fairley', ALEX, '2026-11-02', 12, [
    { type: 'telephone-contact-made', effectiveOn: d('2026-11-03'), data: {} },
    { type: 'visit', effectiveOn: d('2026-11-05'), data: visit },
    { type: 'case-recorded', effectiveOn: d('2026-11-05'), data: {} },
    { type: 'caf-submitted', effectiveOn: d('2026-11-20'), data: {} },
  ] as NewCaseEvent[]);
  await open('EH-4011', 'Garside', ALEX, '2026-11-09', 12, [{ type: 'closure-requested', effectiveOn: d('2026-11-20'), data: { reason: 'consent-withdrawn', summary: 'Family withdrew consent' } }] as NewCaseEvent[]);
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});

interface Row {
  reference: string;
  family: string;
  status: string;
  next: string;
  selectData: Record<string, unknown>;
  openButton: Record<string, unknown>;
}

/** Each row of a list card as a person sees it, with what clicking the row and its button sends. */
function rowsOf(card: AdaptiveCard): Row[] {
  return (card.body as Array<Record<string, any>>)
    .filter((item) => item.type === 'ColumnSet' && item.selectAction)
    .map((row) => {
      const [who, what, open] = row.columns as Array<{ items: Array<Record<string, any>> }>;
      const button = open.items[0].actions[0];
      return { reference: who.items[0].text, family: who.items[1]?.text ?? '', status: what.items[0].text, next: what.items[1].text, selectData: { verb: row.selectAction.verb, ...row.selectAction.data }, openButton: { type: button.type, title: button.title, verb: button.verb, ...button.data } };
    });
}

async function auditCount(): Promise<number> {
  const [row] = await t.db.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
  return row.n;
}

/** What one user action writes to the audit log. */
async function audited(action: () => Promise<unknown>) {
  const [{ last }] = await t.db.query<{ last: number }>('SELECT coalesce(max(id), 0)::int AS last FROM audit_log');
  await action();
  return t.db.query<{ actor: string; action: string; case_id: string }>('SELECT actor, action, case_id FROM audit_log WHERE id > $1 ORDER BY id', [last]);
}

describe('my cases and due', () => {
  test('my cases: overdue first, then due today, then the soonest; the family beside the reference; dates as people write them', async () => {
    const [reply] = await b.say(SAM, 'my cases');
    const rows = rowsOf(cardOf(reply));
    expect(rows.map((r) => [r.reference, r.family, r.status, r.next])).toEqual([
      ['EH-4004', 'Ashdown', '🔴 Overdue', 'Telephone contact by Thu 19 Nov'],
      ['EH-4001', 'Brightwell', '🟠 Due today', 'Telephone contact by Mon 23 Nov'],
      ['EH-1003', 'Ellery', '🟡 Due soon', 'Telephone contact by Wed 25 Nov'],
      ['EH-4003', 'Calloway', '🟡 Due soon', 'Telephone contact by Wed 25 Nov'],
      ['EH-4002', 'Dunmore', '🟢 On track', 'CAF completed by Mon 21 Dec'],
    ]);
  });

  test('each row opens its case: the row itself (selectAction), and a visible "Open" button for where Teams shows no selectAction', async () => {
    const [reply] = await b.say(SAM, 'my cases');
    for (const row of rowsOf(cardOf(reply))) {
      expect(row.selectData).toEqual({ verb: 'openCase', caseId: ids[row.reference] });
      expect(row.openButton).toEqual({ type: 'Action.Execute', title: 'Open', verb: 'openCase', caseId: ids[row.reference] });
    }
    const opened = await b.execute(SAM, 'openCase', rowsOf(cardOf(reply))[0].openButton);
    expect(textOf(opened.card)).toContain('Case EH-4004');
  });

  test('the notification preview names no family: the title stays "Your cases"', async () => {
    const [reply] = await b.say(SAM, 'my cases');
    expect(cardOf(reply).fallbackText).toBe('Your cases');
    expect(reply.activity.summary).toBe('Your cases');
    for (const family of FAMILIES) expect(reply.activity.summary).not.toContain(family);
    const [due] = await b.say(SAM, 'due');
    for (const family of FAMILIES) expect(`${due.activity.summary}`).not.toContain(family);
  });

  test('due: what is overdue or due by Friday, most pressing first, titled with the day as people write it', async () => {
    const [reply] = await b.say(SAM, 'due');
    const card = cardOf(reply);
    expect(card.fallbackText).toBe('Due by Fri 27 Nov');
    const rows = rowsOf(card);
    expect(rows.slice(0, 2).map((r) => [r.reference, r.status, r.next])).toEqual([
      ['EH-4004', '🔴 Overdue', 'Telephone contact by Thu 19 Nov'],
      ['EH-4001', '🟠 Due today', 'Telephone contact by Mon 23 Nov'],
    ]);
    expect(rows.map((r) => [r.reference, r.status, r.next])).toEqual([
      ['EH-4004', '🔴 Overdue', 'Telephone contact by Thu 19 Nov'],
      ['EH-4001', '🟠 Due today', 'Telephone contact by Mon 23 Nov'],
      ['EH-4004', '🟡 Due soon', 'Personal contact (visit) by Tue 24 Nov'],
      ['EH-1003', '🟡 Due soon', 'Telephone contact by Wed 25 Nov'],
      ['EH-4003', '🟡 Due soon', 'Telephone contact by Wed 25 Nov'],
      // Due this week, but more than 2 working days away.
      ['EH-4001', '🟢 On track', 'Personal contact (visit) by Thu 26 Nov'],
    ]);
  });

  test.each([
    ['my cases', 'worker', SAM, 5],
    ['due', 'worker', SAM, 5],
    ['my cases', 'manager', MORGAN, 7],
    ['due', 'manager', MORGAN, 7],
    ['team', 'manager', MORGAN, 7],
    ['approvals', 'manager', MORGAN, 7],
  ] as const)('"%s" for a %s writes one audit read a case it read, and nothing more', async (command, _role, member, cases) => {
    const before = await auditCount();
    const rows = await audited(() => b.say(member, command));
    expect(rows).toHaveLength(cases);
    expect(rows.every((r) => r.action === 'case.read' && r.actor === member.id)).toBe(true);
    expect(new Set(rows.map((r) => r.case_id)).size).toBe(cases);
    expect(await auditCount()).toBe(before + cases);
  });
});

describe('approvals', () => {
  test.each(['approvals', 'awaiting approval', 'to approve', 'my approvals'])('"%s" shows a manager the CAFs awaiting their authorisation, and nothing else', async (text) => {
    const [reply] = await b.say(MORGAN, text);
    const card = cardOf(reply);
    expect(card.fallbackText).toBe('CAFs awaiting your authorisation');
    expect(rowsOf(card).map((r) => [r.reference, r.family, r.status, r.next])).toEqual([['EH-4010', 'Fairley', '🟣 Awaiting you', 'CAF awaiting your authorisation since Fri 20 Nov']]);
  });

  test('a worker is told approvals are for managers', async () => {
    const [reply] = await b.say(SAM, 'approvals');
    expect(textOf(cardOf(reply))).toContain('Approvals are for managers.');
  });
});

describe('team', () => {
  test.each(['team', 'my team', 'Team'])('"%s": each worker with open cases, points against capacity, overdue items, and CAFs and closures awaiting a decision', async (text) => {
    const [reply] = await b.say(MORGAN, text);
    const card = cardOf(reply);
    expect(card.fallbackText).toBe('North team');
    const rows = (card.body as Array<Record<string, any>>).filter((i) => i.type === 'ColumnSet').map((r) => textOf({ type: 'AdaptiveCard', version: '1.4', body: [r] }).split('\n'));
    expect(rows).toEqual([
      ['Alex Kim', '2 open cases · 24 / 20 points (over capacity)', '🔴 2 overdue', '1 CAF, 1 closure awaiting decision', 'Open'],
      ['Sam Patel', '5 open cases · 20 / 20 points', '🔴 1 overdue', 'No decisions awaiting', 'Open'],
    ]);
    for (const family of FAMILIES) expect(JSON.stringify(card)).not.toContain(family);
  });

  test("each worker's row opens that worker's list, with the same order and words as their own", async () => {
    const [reply] = await b.say(MORGAN, 'team');
    const sam = (cardOf(reply).body as Array<Record<string, any>>).find((i) => i.type === 'ColumnSet' && i.columns[0].items[0].text === 'Sam Patel')!;
    expect(sam.selectAction).toMatchObject({ type: 'Action.Execute', verb: 'workerCases', data: { verb: 'workerCases', workerId: SAM.id } });
    const button = sam.columns[2].items[0].actions[0];
    expect(button).toMatchObject({ type: 'Action.Execute', title: 'Open', verb: 'workerCases', data: { verb: 'workerCases', workerId: SAM.id } });
    const { card } = await b.execute(MORGAN, 'workerCases', { workerId: SAM.id });
    expect(card.fallbackText).toBe('Sam Patel: cases');
    expect(rowsOf(card).map((r) => r.reference)).toEqual(['EH-4004', 'EH-4001', 'EH-1003', 'EH-4003', 'EH-4002']);
    const [own] = await b.say(SAM, 'my cases');
    expect(rowsOf(card).map((r) => [r.status, r.next])).toEqual(rowsOf(cardOf(own)).map((r) => [r.status, r.next]));
  });

  test("a worker's list is for the managers of their team only, decided on the server whatever the card carries", async () => {
    for (const member of [SOUTH, SAM, ALEX, JO]) {
      const rows = await audited(async () => {
        const { card } = await b.execute(member, 'workerCases', { workerId: SAM.id });
        expect(textOf(card)).toBe("A worker's cases are for the managers of their team.");
      });
      expect(rows).toEqual([]);
    }
    expect(textOf((await b.execute(DUTY, 'workerCases', { workerId: ALEX.id })).card)).toContain('EH-4010');
    for (const workerId of [undefined, '', 'x'.repeat(10_000), 42, '99999999-9999-4999-8999-999999999999']) {
      expect(textOf((await b.execute(MORGAN, 'workerCases', { workerId })).card)).toContain('This card is out of date.');
    }
  });

  test('a worker or Business Support typing "team" is told it is for managers', async () => {
    for (const member of [SAM, JO]) {
      const [reply] = await b.say(member, 'team');
      expect(textOf(cardOf(reply))).toBe('The team view is for managers. Type "my cases" to see your cases.');
    }
  });
});

describe('words people type', () => {
  test.each(['case 1003', 'case EH-1003', 'case eh-1003', 'open case 1003'])('"%s" finds EH-1003', async (text) => {
    const [reply] = await b.say(SAM, text);
    expect(textOf(cardOf(reply))).toContain('Case EH-1003');
    expect(textOf(cardOf(reply))).toContain('Ellery');
  });

  test('a bare number nobody holds is answered with the EH reference', async () => {
    const [reply] = await b.say(SAM, 'case 9999');
    expect(textOf(cardOf(reply))).toBe('There is no case EH-9999 that you can open.');
  });

  test.each([
    ['cases', 'Your cases'],
    ['caseload', 'Your cases'],
    ['my caseload', 'Your cases'],
    ['overdue', 'Due by Fri 27 Nov'],
    ["what's overdue", 'Due by Fri 27 Nov'],
    ['what’s overdue', 'Due by Fri 27 Nov'],
    ['due today', 'Due by Fri 27 Nov'],
  ])('"%s" gets "%s"', async (text, title) => {
    const [reply] = await b.say(SAM, text);
    expect(cardOf(reply).fallbackText).toBe(title);
  });

  test.each([
    ['deu', 'due'],
    ['tema', 'team'],
    ['my csaes', 'my cases'],
    ['csae 1003', 'case EH-1003'],
    ['aprovals', 'approvals'],
  ])('"%s" shows the help card with "Did you mean "%s"?"', async (text, suggestion) => {
    const [reply] = await b.say(SAM, text);
    const shown = textOf(cardOf(reply));
    expect(shown).toContain(`I did not understand "${text}".`);
    expect(shown).toContain(`Did you mean "${suggestion}"?`);
  });

  test('something far from every command gets the help card without a guess', async () => {
    const [reply] = await b.say(SAM, 'what is for lunch');
    expect(textOf(cardOf(reply))).not.toContain('Did you mean');
  });

  test('the nearest command: a small edit distance over the command words, transpositions counted as one', () => {
    expect(editDistance('deu', 'due')).toBe(1);
    expect(editDistance('team', 'team')).toBe(0);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(nearestCommand('overdeu')).toBe('due');
    expect(nearestCommand('alocate')).toBe('allocate');
    expect(nearestCommand('hepl')).toBe('help');
    expect(nearestCommand('xyz')).toBeNull();
    expect(nearestCommand('   ')).toBeNull();
    expect(referenceOf('1003')).toBe('EH-1003');
    expect(referenceOf('eh-1003')).toBe('EH-1003');
  });
});

describe('in a group chat or channel', () => {
  const group = { id: 'group-chat-lists', conversationType: 'groupChat' };
  const from = (m: StaffMember) => ({ id: `29:${m.id}`, name: m.name, aadObjectId: m.id });

  test.each([
    ['team', 'team'],
    ['my team', 'team'],
    ['approvals', 'approvals'],
    ['caseload', 'my cases'],
    ['overdue', 'due'],
    ['case 1003', 'case EH-1003'],
  ])('"%s" answers with the personal-chat card, running "%s" there', async (text, command) => {
    const before = await auditCount();
    const [reply] = await b.send({ type: 'message', text, from: from(MORGAN), conversation: group as never });
    const card = cardOf(reply);
    expect(textOf(card)).toMatch(/personal chat/);
    expect(JSON.stringify(card)).not.toMatch(/Ashdown|Fairley|Sam Patel/);
    const action = (card.actions as Array<{ verb: string; data: { command: string } }>)[0];
    expect(action).toMatchObject({ verb: 'openInPersonalChat', data: { command } });
    expect(await auditCount()).toBe(before);
  });

  test("a worker's list opened from a team card in a group chat shows nothing there", async () => {
    const { card } = await b.execute(MORGAN, 'workerCases', { workerId: SAM.id }, group);
    expect(textOf(card)).toMatch(/personal chat/);
    expect(JSON.stringify(card)).not.toMatch(/Ashdown|EH-4004/);
  });
});
