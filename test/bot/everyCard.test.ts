import { embeddedDatabase, TestDatabase } from '../helpers/database';
import { BotUnderTest, botUnderTest, cardOf, openChat, personalChatOf, recordProactiveSends, Sent, settleDelivery, textOf } from '../helpers/botHarness';
import { DEMO_STAFF, DemoPerson } from '../../bot/playground/demoTeam';
import { seedDemo } from '../../bot/demo';
import { createBotServices } from '../../bot/services';
import { recordWork } from '../../src/caseWork';
import { list } from '../../src/delivery/outbox';
import { StaffMember } from '../../src/staff';

/**
 * Every command and every card action, as each demo person, some with a chat with the bot and some
 * who have never opened it: each person who acts gets an answer (a card; a refusal is a polite
 * card, never a failed turn), and every message the outbox holds is delivered once, to the right
 * chat, or waits for a person who cannot yet be reached; none failed, none dropped. Then the people
 * who had cards waiting open the bot, and get them, once, oldest first.
 *
 * The real bot and the real dispatcher on PGlite, over botbuilder's TestAdapter (test/helpers/botHarness.ts).
 */
jest.setTimeout(240_000);

const PEOPLE = Object.keys(DEMO_STAFF) as DemoPerson[];
const staff = (p: DemoPerson) => DEMO_STAFF[p] as StaffMember;
const { manager, worker, worker2, dutyManager } = DEMO_STAFF;
const TODAY = '2026-11-23'; // a Monday

/** Opened the bot before anything happens; the others have never opened it. */
const WITH_CHAT: DemoPerson[] = ['manager', 'worker', 'businessSupport'];
const NEVER_OPENED: DemoPerson[] = ['worker2', 'dutyManager', 'administrator'];

let t: TestDatabase;
let b: BotUnderTest;
let proactive: Sent[];

beforeAll(async () => {
  t = await embeddedDatabase();
  // The demo team and cases of local mode, written as of the harness's today.
  await seedDemo(createBotServices(t.db, { now: () => new Date(`${TODAY}T10:00:00Z`) }));
  b = await botUnderTest(t.db, Object.values(DEMO_STAFF) as StaffMember[]);
  proactive = recordProactiveSends(b.adapter);
  for (const p of WITH_CHAT) await b.install(staff(p));
});
afterAll(async () => {
  await b?.delivery.stop();
  await t?.dispose();
});

// ---------------------------------------------------------------------------------------------
// What the outbox should hold: every message an action queues, in order.

interface Queued {
  kind: 'case-view' | 'allocation-email' | 'command-view';
  /** The person it is for; none for the allocation e-mail, which carries its own addresses. */
  to: DemoPerson | null;
  reference: string | null;
  /** What the card shows its person when delivered. */
  shows?: RegExp;
  /** For the allocation e-mail: the worker it is addressed to. */
  emailTo?: DemoPerson;
  /** The notification preview, where it is not "Case <reference>". */
  summary?: string;
}

const expected: Queued[] = [];
/** Sends outside the outbox that an action makes on purpose (a card sent to the actor's own chat). */
let directSends = 0;

const personOf = (staffId: string | null): DemoPerson | null => (staffId ? (PEOPLE.find((p) => DEMO_STAFF[p].id === staffId) ?? null) : null);

async function references(): Promise<Map<string, string>> {
  const rows = await t.db.query<{ id: string; reference: string }>('SELECT id, reference FROM cases');
  return new Map(rows.map((r) => [r.id, r.reference]));
}

async function caseIdOf(reference: string): Promise<string> {
  const [row] = await t.db.query<{ id: string }>('SELECT id FROM cases WHERE reference = $1', [reference]);
  if (!row) throw new Error(`no case ${reference}`);
  return row.id;
}

/** The CAF submission awaiting (the latest one) on a case. */
async function submissionOf(reference: string): Promise<string> {
  const [row] = await t.db.query<{ id: string }>(
    `SELECT e.id FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference = $1 AND e.type = 'caf-submitted' ORDER BY e.sequence DESC LIMIT 1`,
    [reference],
  );
  if (!row) throw new Error(`no CAF submitted on ${reference}`);
  return row.id;
}

interface OutboxRow {
  id: number;
  kind: string;
  status: string;
  recipient_staff_id: string | null;
  conversation_id: string | null;
  case_id: string | null;
  payload: Record<string, unknown>;
  delivered_activity_id: string | null;
  attempts: number;
  claimed_by: string | null;
  last_error: string | null;
}

const outboxRows = () =>
  t.db.query<OutboxRow>(
    'SELECT id, kind, status, recipient_staff_id, conversation_id, case_id, payload, delivered_activity_id, attempts, claimed_by, last_error FROM outbox ORDER BY id',
  );

/**
 * The invariant after every action: the outbox holds exactly what the actions queued, in order;
 * each card is delivered (one send, with the id the outbox recorded, to its person's own chat) or,
 * for a person with no chat with the bot, waits; the allocation e-mail waits for the mail sender
 * (the Teams sender never takes it); nothing failed; and the bot sent nothing proactively that is
 * not one of these.
 */
async function checkOutbox(step: string): Promise<void> {
  await settleDelivery(b);
  const rows = await outboxRows();
  const refs = await references();
  const describe = (r: OutboxRow) => `${r.kind} ${refs.get(r.case_id ?? '') ?? r.case_id} to ${personOf(r.recipient_staff_id) ?? r.conversation_id ?? 'nobody'}`;
  expect({ step, outbox: rows.map(describe) }).toEqual({ step, outbox: expected.map((q) => `${q.kind} ${q.reference} to ${q.to ?? 'nobody'}`) });
  const delivered = new Set<string>();
  for (const [i, row] of rows.entries()) {
    const want = expected[i];
    const where = `${step}: outbox ${row.id} (${describe(row)}, ${row.status}${row.last_error ? `: ${row.last_error}` : ''})`;
    expect({ where, status: row.status }).not.toEqual({ where, status: 'failed' });
    if (row.kind === 'allocation-email') {
      // Not a Teams card: it waits for the mail sender, untouched by the Teams dispatcher.
      expect({ where, status: row.status, attempts: row.attempts, claimedBy: row.claimed_by, to: row.payload.to }).toEqual({ where, status: 'pending', attempts: 0, claimedBy: null, to: [staff(want.emailTo!).email] });
      expect(row.recipient_staff_id).toBeNull();
      continue;
    }
    const chat = await b.services.conversations.personalChatOf(row.recipient_staff_id!);
    if (!chat) {
      expect({ where, status: ['waiting', 'pending'].includes(row.status), attempts: row.attempts, activity: row.delivered_activity_id }).toEqual({ where, status: true, attempts: 0, activity: null });
      continue;
    }
    expect({ where, status: row.status }).toEqual({ where, status: 'delivered' });
    const sends = proactive.filter((s) => s.activity.id === row.delivered_activity_id);
    expect({ where, sends: sends.length, to: sends[0]?.conversationId }).toEqual({ where, sends: 1, to: personalChatOf(staff(want.to!)) });
    if (want.shows) expect({ where, card: textOf(cardOf(sends[0])) }).toEqual({ where, card: expect.stringMatching(want.shows) });
    expect(sends[0].activity.summary).toBe(want.summary ?? `${row.kind === 'case-view' && (row.payload as { view?: string }).view === 'caf-authorisation' ? `CAF for case ${want.reference} awaiting authorisation.` : `Case ${want.reference}`}`);
    delivered.add(row.delivered_activity_id!);
  }
  const outside = proactive.filter((s) => !delivered.has(s.activity.id!));
  expect({ step, sendsOutsideTheOutbox: outside.length }).toEqual({ step, sendsOutsideTheOutbox: directSends });
}

// ---------------------------------------------------------------------------------------------
// Acting as a person: a typed command, or a card action; each must get an answer.

/** A person types in their personal chat; returns the card the bot answered with (exactly one, in that chat). */
async function say(who: DemoPerson, text: string): Promise<string> {
  const sent = await b.say(staff(who), text);
  const proactiveSends = new Set(proactive.map((s) => s.activity));
  const answers = sent.filter((s) => !proactiveSends.has(s.activity));
  expect({ who, text, answers: answers.map((s) => s.conversationId) }).toEqual({ who, text, answers: [personalChatOf(staff(who))] });
  return textOf(cardOf(answers[0]));
}

/** A person clicks a card button; returns the card that replaces it (a 200, never a failed turn). */
async function act(who: DemoPerson, verb: string, data: Record<string, unknown>, conversation?: { id: string; conversationType: string }): Promise<string> {
  const { status, card } = await b.execute(staff(who), verb, data, conversation);
  expect({ who, verb, status }).toEqual({ who, verb, status: 200 });
  const text = textOf(card);
  expect(text.trim()).not.toBe('');
  return text;
}

// ---------------------------------------------------------------------------------------------
// Commands: every person, every command, and what each should answer.

const TEAM = DEMO_STAFF.manager.team;
const isManager = (p: DemoPerson) => staff(p).role === 'manager';
const NOT_YOURS = /^There is no case EH-1003 that you can open\.$/;

/** EH-1003 is Sam's demo case with a CAF awaiting Morgan's (or the duty manager's) authorisation. */
const COMMANDS: Array<[text: string, answer: (p: DemoPerson) => RegExp]> = [
  ['help', () => /What I can do/],
  ['my cases', (p) => (staff(p).role === 'worker' ? /Your cases/ : staff(p).role === 'administrator' ? /Administrators see the directory, not cases\./ : new RegExp(`${TEAM} team cases`))],
  ['caseload', (p) => (staff(p).role === 'worker' ? /Your cases/ : staff(p).role === 'administrator' ? /Administrators see the directory/ : /team cases/)],
  ['due', () => /Due by /],
  ['overdue', () => /Due by /],
  ['approvals', (p) => (isManager(p) ? /CAFs awaiting your authorisation/ : /Approvals are for managers\./)],
  ['team', (p) => (isManager(p) ? new RegExp(`^${TEAM} team`) : /The team view is for managers\./)],
  ['allocate', (p) => (isManager(p) ? /Allocate a case/ : /Only managers allocate cases\./)],
  ['case 1003', (p) => (isManager(p) ? /CAF awaiting authorisation: case EH-1003/ : p === 'worker' || p === 'businessSupport' ? /^Case EH-1003/ : NOT_YOURS)],
  ['case EH-0000', () => /^There is no case EH-0000 that you can open\.$/],
  ['deu', () => /I did not understand "deu"\.\nDid you mean "due"\?/],
  ['what is for lunch', () => /I did not understand "what is for lunch"/],
];

/** The card actions that need no case of one's own: the lists, a worker's caseload, opening a case, and a verb no card has. */
const LIST_ACTIONS: Array<[verb: string, data: () => Promise<Record<string, unknown>>, answer: (p: DemoPerson) => RegExp]> = [
  ['myCases', async () => ({}), (p) => (staff(p).role === 'worker' ? /Your cases/ : /team cases|Administrators see the directory/)],
  ['due', async () => ({}), () => /Due by /],
  ['workerCases', async () => ({ workerId: worker.id }), (p) => (isManager(p) ? /Sam Patel: cases/ : /A worker's cases are for the managers of their team\./)],
  ['openCase', async () => ({ caseId: await caseIdOf('EH-1003') }), (p) => (p === 'worker2' || p === 'administrator' ? /^You cannot open case EH-1003\.$/ : /^Case EH-1003/)],
  ['launchRockets', async () => ({}), () => /That card is out of date\./],
];

async function everyCommand(people: DemoPerson[]): Promise<void> {
  for (const p of people) {
    for (const [text, answer] of COMMANDS) {
      expect({ p, text, card: await say(p, text) }).toEqual({ p, text, card: expect.stringMatching(answer(p)) });
      await checkOutbox(`${p}: ${text}`);
    }
    for (const [verb, data, answer] of LIST_ACTIONS) {
      expect({ p, verb, card: await act(p, verb, await data()) }).toEqual({ p, verb, card: expect.stringMatching(answer(p)) });
      await checkOutbox(`${p}: ${verb}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Case work: a table of steps, each a person's action, what they are answered, and what it queues.

interface Step {
  who: DemoPerson;
  /** A typed command, or a card action's verb and data. */
  say?: string;
  verb?: string;
  data?: () => Promise<Record<string, unknown>>;
  conversation?: { id: string; conversationType: string };
  answer: RegExp;
  queues?: Queued[];
  /** Cards deliberately sent outside the outbox (the actor's own command card, sent to their own chat). */
  direct?: number;
  before?: () => Promise<void>;
}

async function run(steps: Step[]): Promise<void> {
  for (const step of steps) {
    await step.before?.();
    const label = `${step.who}: ${step.say ?? step.verb}`;
    const card = step.say !== undefined ? await say(step.who, step.say) : await act(step.who, step.verb!, await step.data!(), step.conversation);
    expect({ label, card }).toEqual({ label, card: expect.stringMatching(step.answer) });
    expected.push(...(step.queues ?? []));
    directSends += step.direct ?? 0;
    await checkOutbox(label);
  }
}

const allocation = (reference: string, to: DemoPerson) => async () => b.allocationForm({ reference, leadProfessional: DEMO_STAFF[to].id, caseloadPoints: '1' });
const onCase = (reference: string, fields: Record<string, unknown> = {}) => async () => ({ caseId: await caseIdOf(reference), caseVersion: 1, ...fields });
const onCaf = (reference: string, comments = '') => async () => ({ caseId: await caseIdOf(reference), submissionId: await submissionOf(reference), comments });

const caseCard = (to: DemoPerson, reference: string, shows: RegExp): Queued => ({ kind: 'case-view', to, reference, shows });
const cafCard = (to: DemoPerson, reference: string): Queued => ({ kind: 'case-view', to, reference, shows: new RegExp(`CAF awaiting authorisation: case ${reference}`) });
const allocated = (to: DemoPerson, reference: string): Queued[] => [
  { kind: 'allocation-email', to: null, reference, emailTo: to },
  caseCard(to, reference, new RegExp(`Case ${reference} has been allocated to you by Morgan Reid\\.`)),
];
const RETURNED = /The CAF has come back to you: see Morgan Reid's words below\.\nCAF returned by Morgan Reid on Mon 23 Nov\nAdd the father's view/;

const absent = (who: StaffMember, until?: string) => () => b.services.directory.save([{ ...who, absentUntil: until }] as StaffMember[], 'test');

describe('every command and action, as each demo person: every card delivered or waiting, never dropped', () => {
  test('those who have opened the bot: every command and list action gets an answer; nothing is queued', async () => {
    await checkOutbox('installed');
    await everyCommand(WITH_CHAT);
  });

  test('allocation, case work, CAF submission and decisions, to people with a chat and people without', async () => {
    await run([
      // Allocation: to a worker with a chat (delivered at once), and to one who has never opened the bot (waits).
      { who: 'manager', say: 'allocate', answer: /Allocate a case/ },
      { who: 'manager', verb: 'allocateCase', data: allocation('EH-3101', 'worker'), answer: /Case EH-3101 allocated to Sam Patel\nSam Patel has the case card;/, queues: allocated('worker', 'EH-3101') },
      {
        who: 'manager',
        verb: 'allocateCase',
        data: allocation('EH-3102', 'worker2'),
        answer: /Case EH-3102 allocated to Alex Kim\nAlex Kim will get the case card when they next open Early Help in Teams;/,
        queues: allocated('worker2', 'EH-3102'),
      },
      { who: 'manager', verb: 'allocateCase', data: allocation('EH-3103', 'worker'), answer: /Sam Patel has the case card/, queues: allocated('worker', 'EH-3103') },
      { who: 'manager', verb: 'allocateCase', data: allocation('EH-3104', 'worker'), answer: /Sam Patel has the case card/, queues: allocated('worker', 'EH-3104') },
      // Refused allocations: polite, nothing queued.
      { who: 'manager', verb: 'allocateCase', data: allocation('EH-3101', 'worker'), answer: /Case EH-3101 already exists\./ },
      { who: 'worker', verb: 'allocateCase', data: allocation('EH-3199', 'worker'), answer: /^Only managers allocate cases\.$/ },
      { who: 'businessSupport', verb: 'allocateCase', data: allocation('EH-3199', 'worker'), answer: /^Only managers allocate cases\.$/ },

      // The worker's case card actions, and Business Support's forms received.
      { who: 'worker', say: 'case EH-3101', answer: /^Case EH-3101/ },
      { who: 'worker', verb: 'openCase', data: onCase('EH-3101'), answer: /^Case EH-3101/ },
      { who: 'worker', verb: 'logTelephoneContact', data: onCase('EH-3101', { contactDate: TODAY, outcome: 'attempted', method: 'phone' }), answer: /Contact attempt recorded on case EH-3101: it does not count as contact made\./ },
      { who: 'worker', verb: 'logTelephoneContact', data: onCase('EH-3101', { contactDate: TODAY, outcome: 'made' }), answer: /Contact recorded on case EH-3101\./ },
      { who: 'worker', verb: 'logVisit', data: onCase('EH-3101', { visitDate: TODAY, childSeen: 'true', consentForm: 'false', medicalForm: 'false', homeChecked: 'true' }), answer: /Visit recorded on case EH-3101\./ },
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3101', { cafDate: TODAY }), answer: /Record the consent form .* before submitting the CAF\./ },
      { who: 'worker', verb: 'formsReceived', data: onCase('EH-3101', { formsDate: TODAY, formsConsent: 'true', formsMedical: 'false' }), answer: /Forms received recorded on case EH-3101\./ },
      { who: 'businessSupport', verb: 'logVisit', data: onCase('EH-3101', { visitDate: TODAY }), answer: /^You cannot record work on case EH-3101\.$/ },
      { who: 'businessSupport', verb: 'formsReceived', data: onCase('EH-3101', { formsDate: TODAY, formsConsent: 'false', formsMedical: 'true' }), answer: /Forms received recorded on case EH-3101\./ },
      { who: 'worker', verb: 'caseRecorded', data: onCase('EH-3101', { recordedDate: TODAY }), answer: /Case recording noted on case EH-3101\./ },
      { who: 'worker', verb: 'tafHeld', data: onCase('EH-3101', { tafHeldDate: TODAY }), answer: /TAF meeting recorded on case EH-3101\./ },
      { who: 'worker', verb: 'minutesShared', data: onCase('EH-3101', { tafDate: TODAY, minutesDate: TODAY }), answer: /Minutes recorded as shared on case EH-3101\./ },
      { who: 'worker', verb: 'tafHeld', data: onCase('EH-3101', { tafHeldDate: '2026-11-30' }), answer: /The TAF date cannot be in the future\./ },

      // CAF submitted to a line manager with a chat: delivered at once.
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3101', { cafDate: TODAY }), answer: /CAF for case EH-3101 sent for authorisation\./, queues: [cafCard('manager', 'EH-3101')] },
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3101', { cafDate: TODAY }), answer: /The CAF for EH-3101 is already awaiting authorisation\./ },
      { who: 'worker', verb: 'approveCaf', data: onCaf('EH-3101'), answer: /^You cannot authorise the CAF of case EH-3101\.$/ },
      { who: 'businessSupport', verb: 'returnCaf', data: onCaf('EH-3101', 'no'), answer: /^You cannot authorise the CAF of case EH-3101\.$/ },
      { who: 'manager', say: 'approvals', answer: /CAFs awaiting your authorisation[\s\S]*EH-3101/ },
      { who: 'manager', verb: 'refreshCafAuthorisation', data: onCaf('EH-3101'), answer: /CAF awaiting authorisation: case EH-3101/ },
      { who: 'manager', verb: 'returnCaf', data: onCaf('EH-3101', ''), answer: /Say what needs changing when returning a CAF\./ },
      { who: 'manager', verb: 'directReassessment', data: onCaf('EH-3101', ''), answer: /Give the new evidence of need or risk when directing a re-assessment\./ },

      // The decisions reach a worker with a chat at once, with the manager's words.
      { who: 'manager', verb: 'returnCaf', data: onCaf('EH-3101', "Add the father's view"), answer: /CAF returned: case EH-3101/, queues: [caseCard('worker', 'EH-3101', RETURNED)] },
      { who: 'manager', verb: 'approveCaf', data: onCaf('EH-3101'), answer: /Already decided by Morgan Reid at / },
      { who: 'worker', say: 'case EH-3101', answer: /CAF returned by Morgan Reid on Mon 23 Nov\nAdd the father's view/ },
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3101', { cafDate: TODAY }), answer: /CAF for case EH-3101 sent for authorisation\./, queues: [cafCard('manager', 'EH-3101')] },
      {
        who: 'manager',
        verb: 'directReassessment',
        data: onCaf('EH-3101', 'New concerns from school'),
        answer: /CAF re-assessment directed: case EH-3101/,
        queues: [caseCard('worker', 'EH-3101', /Re-assessment directed by Morgan Reid on Mon 23 Nov\nNew concerns from school/)],
      },
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3101', { cafDate: TODAY }), answer: /sent for authorisation/, queues: [cafCard('manager', 'EH-3101')] },
      { who: 'manager', say: 'case EH-3101', answer: /CAF awaiting authorisation: case EH-3101/ },
      { who: 'manager', verb: 'approveCaf', data: onCaf('EH-3101', 'Good analysis'), answer: /CAF approved: case EH-3101/, queues: [caseCard('worker', 'EH-3101', /CAF approved by Morgan Reid\. Comments: Good analysis/)] },

      // From a group chat: the case stays out of the group; a command card goes to the person's own chat, through the outbox (the command waits there, never its answer).
      { who: 'worker', verb: 'logVisit', data: onCase('EH-3103', { visitDate: TODAY, consentForm: 'true' }), conversation: { id: 'group-chat-north', conversationType: 'groupChat' }, answer: /^Case details are for your personal chat\./ },
      { who: 'worker', verb: 'openInPersonalChat', data: async () => ({ command: 'my cases' }), conversation: { id: 'group-chat-north', conversationType: 'groupChat' }, answer: /^Sent to your personal chat with Early Help\.$/, queues: [{ kind: 'command-view', to: 'worker', reference: null, shows: /^Your cases/, summary: 'Your cases' }] },

      // CAFs submitted while the line manager is on leave go to the duty manager, who has never opened the bot: they wait.
      { who: 'worker', verb: 'logVisit', data: onCase('EH-3103', { visitDate: TODAY, childSeen: 'true', consentForm: 'true' }), answer: /Visit recorded on case EH-3103\./ },
      { who: 'worker', verb: 'logVisit', data: onCase('EH-3104', { visitDate: TODAY, childSeen: 'false', consentForm: 'true' }), answer: /The child was not seen at the visit on Mon 23 Nov/ },
      { before: absent(manager, '2026-11-27'), who: 'worker', verb: 'submitCaf', data: onCase('EH-3103', { cafDate: TODAY }), answer: /CAF for case EH-3103 sent for authorisation\./, queues: [cafCard('dutyManager', 'EH-3103')] },
      { who: 'worker', verb: 'submitCaf', data: onCase('EH-3104', { cafDate: TODAY }), answer: /CAF for case EH-3104 sent for authorisation\./, queues: [cafCard('dutyManager', 'EH-3104')] },
    ]);
    await absent(manager)();

    // Alex, who has never opened the bot, does his work where he works (the core, as any other client would use it);
    // the manager returns his CAF: the decision waits for him, behind his case card.
    const c = await caseIdOf('EH-3102');
    await recordWork(b.services, staff('worker2'), c, 'visit', { date: TODAY, childSeen: true, consentForm: true });
    await recordWork(b.services, staff('worker2'), c, 'caf-submitted', { date: TODAY });
    await run([
      { who: 'manager', say: 'approvals', answer: /EH-3102/ },
      { who: 'manager', verb: 'returnCaf', data: onCaf('EH-3102', "Add the father's view"), answer: /CAF returned: case EH-3102/, queues: [caseCard('worker2', 'EH-3102', RETURNED)] },
      { who: 'worker', verb: 'logTelephoneContact', data: onCase('EH-3102', { contactDate: TODAY }), answer: /^You cannot record work on case EH-3102\.$/ },
    ]);

    // Nobody who has never opened the bot was sent anything, and what waits for them is listed as waiting.
    for (const p of NEVER_OPENED) expect(proactive.filter((s) => s.conversationId === personalChatOf(staff(p)))).toEqual([]);
    const waiting = await list(t.db);
    expect(waiting.filter((m) => m.kind === 'case-view').map((m) => [m.recipientName, m.caseReference])).toEqual([
      ['Alex Kim', 'EH-3102'],
      ['Dana Hughes', 'EH-3103'],
      ['Dana Hughes', 'EH-3104'],
      ['Alex Kim', 'EH-3102'],
    ]);
    expect(await list(t.db, { failed: true })).toEqual([]);
  });

  test('each waiting person opens the bot: their cards arrive once each, oldest first; opening again sends nothing more', async () => {
    const arrivals = async (p: DemoPerson, open: () => Promise<Sent[]>) => {
      const before = proactive.length;
      await open();
      await settleDelivery(b);
      return proactive.slice(before).filter((s) => s.conversationId === personalChatOf(staff(p)));
    };
    // Alex installs the app (installationUpdate): the case card, then the returned CAF.
    const alex = await arrivals('worker2', () => b.install(staff('worker2')));
    expect(alex.map((s) => textOf(cardOf(s)))).toEqual([
      expect.stringMatching(/^Case EH-3102[\s\S]*Case EH-3102 has been allocated to you by Morgan Reid\./),
      expect.stringMatching(/^Case EH-3102[\s\S]*The CAF has come back to you[\s\S]*Add the father's view/),
    ]);
    // Dana opens the chat she already has (conversationUpdate): the two CAFs, in the order they were submitted.
    const dana = await arrivals('dutyManager', () => openChat(b, staff('dutyManager')));
    expect(dana.map((s) => textOf(cardOf(s)))).toEqual([expect.stringMatching(/^CAF awaiting authorisation: case EH-3103[\s\S]*Approve/), expect.stringMatching(/^CAF awaiting authorisation: case EH-3104[\s\S]*Approve/)]);
    // The administrator opens the bot by writing to it: nothing waited for them, and nothing comes but the answer.
    expect(await say('administrator', 'help')).toMatch(/What I can do/);
    expect(proactive.filter((s) => s.conversationId === personalChatOf(staff('administrator')))).toEqual([]);

    const rows = await outboxRows();
    const forThem = rows.filter((r) => r.kind === 'case-view' && [worker2.id, dutyManager.id].includes(r.recipient_staff_id!));
    expect(forThem.map((r) => r.status)).toEqual(['delivered', 'delivered', 'delivered', 'delivered']);
    // Oldest first: delivered in the order queued, for each person.
    for (const id of [worker2.id, dutyManager.id]) {
      const sends = forThem.filter((r) => r.recipient_staff_id === id).map((r) => proactive.findIndex((s) => s.activity.id === r.delivered_activity_id));
      expect(sends).toEqual([...sends].sort((x, y) => x - y));
    }
    await checkOutbox('opened');

    // Opening again (a reload, another install) sends nothing more.
    expect(await arrivals('worker2', () => b.install(staff('worker2')))).toEqual([]);
    expect(await arrivals('dutyManager', () => openChat(b, staff('dutyManager')))).toEqual([]);
    await checkOutbox('opened again');
  });

  test('those who have just opened the bot: every command, and the work that was waiting for them', async () => {
    await everyCommand(NEVER_OPENED);
    await run([
      // The duty manager decides the CAFs that waited for her; the worker (with a chat) hears at once.
      { who: 'dutyManager', say: 'approvals', answer: /EH-3103[\s\S]*EH-3104/ },
      { who: 'dutyManager', verb: 'returnCaf', data: onCaf('EH-3103', 'Add the voice of the child'), answer: /CAF returned: case EH-3103/, queues: [caseCard('worker', 'EH-3103', /CAF returned by Dana Hughes on Mon 23 Nov\nAdd the voice of the child/)] },
      { who: 'dutyManager', verb: 'approveCaf', data: onCaf('EH-3104'), answer: /CAF approved: case EH-3104/, queues: [caseCard('worker', 'EH-3104', /CAF approved by Dana Hughes\./)] },
      { who: 'manager', verb: 'approveCaf', data: onCaf('EH-3104'), answer: /Already decided by Dana Hughes at / },
      // Alex works his case from the card that waited for him, and resubmits the CAF to his line manager.
      { who: 'worker2', verb: 'logTelephoneContact', data: onCase('EH-3102', { contactDate: TODAY, outcome: 'made' }), answer: /Contact recorded on case EH-3102\./ },
      { who: 'worker2', verb: 'submitCaf', data: onCase('EH-3102', { cafDate: TODAY }), answer: /CAF for case EH-3102 sent for authorisation\./, queues: [cafCard('manager', 'EH-3102')] },
      { who: 'worker2', verb: 'logVisit', data: onCase('EH-3101', { visitDate: TODAY }), answer: /^You cannot record work on case EH-3101\.$/ },
      { who: 'manager', verb: 'approveCaf', data: onCaf('EH-3102'), answer: /CAF approved: case EH-3102/, queues: [caseCard('worker2', 'EH-3102', /CAF approved by Morgan Reid\./)] },
      // The administrator keeps the directory: every case action is refused politely.
      { who: 'administrator', verb: 'openCase', data: onCase('EH-3101'), answer: /^You cannot open case EH-3101\.$/ },
      { who: 'administrator', verb: 'logVisit', data: onCase('EH-3101', { visitDate: TODAY }), answer: /^You cannot record work on case EH-3101\.$/ },
      { who: 'administrator', verb: 'formsReceived', data: onCase('EH-3104', { formsDate: TODAY, formsMedical: 'true' }), answer: /^You cannot record forms received on case EH-3104\.$/ },
      { who: 'administrator', verb: 'approveCaf', data: onCaf('EH-3101'), answer: /^You cannot authorise the CAF of case EH-3101\.$/ },
      { who: 'administrator', verb: 'allocateCase', data: allocation('EH-3199', 'worker'), answer: /^Only managers allocate cases\.$/ },
    ]);

    // In the end: every card delivered once; only the allocation e-mails wait, for the mail sender.
    const rows = await outboxRows();
    expect(rows.filter((r) => r.kind !== 'allocation-email').every((r) => r.status === 'delivered')).toBe(true);
    expect(rows.filter((r) => r.kind === 'allocation-email').map((r) => r.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    expect(new Set(rows.map((r) => r.delivered_activity_id).filter(Boolean)).size).toBe(rows.filter((r) => r.status === 'delivered').length);
  });
});

describe('cards whose person cannot act on them', () => {
  test('a CAF submitted by the line manager on a worker\u2019s case goes to a manager who may decide it, not back to its submitter', async () => {
    // A manager may record work on their team's cases, the CAF included; they may not authorise a CAF they submitted.
    await act('manager', 'allocateCase', await allocation('EH-3106', 'worker')());
    await act('manager', 'logVisit', await onCase('EH-3106', { visitDate: TODAY, childSeen: 'true', consentForm: 'true' })());
    expect(await act('manager', 'submitCaf', await onCase('EH-3106', { cafDate: TODAY })())).toMatch(/CAF for case EH-3106 sent for authorisation\./);
    await settleDelivery(b);
    const [row] = await t.db.query<OutboxRow>(
      `SELECT o.* FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.reference = 'EH-3106' AND o.payload->>'view' = 'caf-authorisation'`,
    );
    const card = textOf(cardOf(proactive.find((s) => s.activity.id === row.delivered_activity_id)));
    // The one card sent asks someone who can decide (the duty manager), with the buttons, and never "wait for yourself".
    expect({ to: personOf(row.recipient_staff_id), waitsForItself: /Waiting for Morgan Reid to decide/.test(card) }).toEqual({ to: 'dutyManager', waitsForItself: false });
    expect(card).toMatch(/Approve/);
  });

  test('a CAF card that waited for the duty manager, decided meanwhile by the line manager, is not left as a failed delivery', async () => {
    // The duty manager cannot be reached (the app was removed from her chat: the reference is dropped, as Teams' 403 does).
    await b.services.conversations.forget(personalChatOf(staff('dutyManager')));
    await act('manager', 'allocateCase', await allocation('EH-3105', 'worker')());
    await act('worker', 'logVisit', await onCase('EH-3105', { visitDate: TODAY, childSeen: 'true', consentForm: 'true' })());
    await absent(manager, '2026-11-27')();
    try {
      await act('worker', 'submitCaf', await onCase('EH-3105', { cafDate: TODAY })());
    } finally {
      await absent(manager)();
    }
    const cafRow = async () =>
      (await t.db.query<OutboxRow>(`SELECT o.* FROM outbox o JOIN cases c ON c.id = o.case_id WHERE c.reference = 'EH-3105' AND o.payload->>'view' = 'caf-authorisation'`))[0];
    expect({ to: personOf((await cafRow()).recipient_staff_id), status: (await cafRow()).status }).toEqual({ to: 'dutyManager', status: 'waiting' });
    // Back from leave, the line manager decides it.
    expect(await act('manager', 'approveCaf', await onCaf('EH-3105')())).toMatch(/CAF approved: case EH-3105/);
    // The duty manager opens the bot again: no Approve buttons for a CAF already decided, and nothing for a person to "check and retry".
    const before = proactive.length;
    await openChat(b, staff('dutyManager'));
    await settleDelivery(b);
    const toDana = proactive.slice(before).filter((s) => s.conversationId === personalChatOf(staff('dutyManager')));
    expect(toDana.filter((s) => /Approve/.test(textOf(cardOf(s))))).toEqual([]);
    const row = await cafRow();
    expect({ status: row.status, lastError: row.last_error }).not.toMatchObject({ status: 'failed' });
    expect((await list(t.db, { failed: true })).map((m) => `${m.caseReference} to ${m.recipientName}: ${m.lastError}`)).toEqual([]);
  });
});
