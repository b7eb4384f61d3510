import { DEMO_STAFF } from '../../bot/playground/demoTeam';
import { Scenario, startScenario } from './harness';

/**
 * End to end, through Microsoft 365 Agents Playground in headless Chromium: the hand-off between a
 * manager and a worker who has never opened the bot. The manager allocates; the case card waits in
 * the outbox; the worker opens Early Help and the card arrives, once. The worker submits the CAF,
 * the manager returns it with comments, and the worker sees those words on a card and on their case.
 */
jest.setTimeout(180_000);

const REFERENCE = 'EH-9101';
const COMMENTS = "Add the father's view and the school's attendance figures.";

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
});
afterAll(async () => s?.close());

interface Row {
  view: string;
  to: string;
  status: string;
  attempts: number;
  delivered_activity_id: string | null;
}

/** The outbox rows of the case: which view, to whom (by name), where each stands. */
async function outbox(): Promise<Row[]> {
  return s.bot.services.db.query<Row>(
    `SELECT o.payload->>'view' AS view, st.name AS to, o.status, o.attempts, o.delivered_activity_id
       FROM outbox o JOIN cases c ON c.id = o.case_id LEFT JOIN staff st ON st.id = o.recipient_staff_id
      WHERE c.reference = $1 AND o.kind = 'case-view' ORDER BY o.id`,
    [REFERENCE],
  );
}

test('allocated while the worker has never opened the bot: the card arrives once when they do; a CAF returned with comments shows the worker those comments', async () => {
  const manager = await s.open('manager');
  await manager.botMessage('I keep track of every timescale');

  // The worker has never opened Early Help: nothing of theirs is stored.
  expect(await s.bot.services.conversations.personalChatOf(DEMO_STAFF.worker.id)).toBeNull();

  await manager.say('allocate');
  const form = await manager.botMessage('Allocate a case');
  await manager.fill(form, 'Case reference, e.g. EH-2041', REFERENCE);
  await manager.fill(form, 'Family name', 'Fictional');
  await manager.fill(form, 'Children', 'Test Child, 2019-04-02');
  await manager.choose(form, 'Worker', /Sam Patel/);
  await manager.fill(form, 'Caseload points', '2');
  await manager.fill(form, 'Initial actions', 'Telephone the family and arrange a home visit.');
  await manager.click(form, 'Allocate');
  const told = await manager.botMessage(`Case ${REFERENCE} allocated to Sam Patel`);
  // Told the truth: the worker does not have the card yet.
  expect(await told.textContent()).toContain('Sam Patel will get the case card when they next open Early Help in Teams');
  expect(await told.textContent()).not.toContain('Sam Patel has the case card');
  await manager.screenshot('handoff-1-manager-told-worker-will-get-card');
  // Waiting for Sam: set aside as waiting, or still pending behind Sam's other messages that wait (the demo cases' TAF meeting cards).
  expect(await outbox()).toEqual([expect.objectContaining({ view: 'case', to: 'Sam Patel', status: expect.stringMatching(/^(waiting|pending)$/), attempts: 0, delivered_activity_id: null })]);

  // The worker opens Early Help for the first time: the welcome, and the case card, once.
  const worker = await s.open('worker');
  const allocatedText = `Case ${REFERENCE} has been allocated to you by Morgan Reid.`;
  const caseCard = await worker.botMessage(allocatedText);
  await worker.botMessage('I keep track of every timescale');
  // Both of the page's opening activities (installationUpdate, conversationUpdate) have been handled: still one card.
  await worker.page.waitForTimeout(2000);
  expect(await worker.botMessages(allocatedText).count()).toBe(1);
  expect(await outbox()).toEqual([expect.objectContaining({ view: 'case', to: 'Sam Patel', status: 'delivered', attempts: 1 })]);
  await worker.screenshot('handoff-2-worker-opens-and-gets-case-card');

  // The worker logs contact, a visit with the consent form, and submits the CAF.
  await worker.click(caseCard, 'Log contact');
  await worker.click(caseCard, 'Save contact');
  const afterContact = await worker.botMessage(`Contact recorded on case ${REFERENCE}.`);
  await worker.click(afterContact, 'Log visit');
  await afterContact.getByText('Consent form returned').click();
  await worker.click(afterContact, 'Save visit');
  const afterVisit = await worker.botMessage(`Visit recorded on case ${REFERENCE}.`);
  await worker.click(afterVisit, 'More');
  await worker.click(afterVisit, 'Submit CAF');
  await worker.click(afterVisit, 'Send for authorisation');
  await worker.botMessage(`CAF for case ${REFERENCE} sent for authorisation.`);
  await worker.screenshot('handoff-3-worker-submitted-caf');

  // The manager returns it with comments.
  const authorisation = await manager.botMessage(`CAF awaiting authorisation: case ${REFERENCE}`);
  await manager.fill(authorisation, 'Comments', COMMENTS);
  await manager.screenshot('handoff-4-manager-returns-with-comments');
  await manager.click(authorisation, 'Return with comments');
  await manager.botMessage(`CAF returned: case ${REFERENCE}`);
  await manager.screenshot('handoff-5-manager-returned');

  // The worker gets a card with the manager's words.
  const returned = await worker.botMessage(/The CAF has come back to you/);
  expect(await returned.textContent()).toContain('CAF returned by Morgan Reid');
  expect(await returned.textContent()).toContain(COMMENTS);
  await worker.screenshot('handoff-6-worker-sees-comments');

  // And their case card, asked for again, shows the latest decision with its comments.
  const before = await worker.botMessages(`Case ${REFERENCE}`).count();
  await worker.say(`case ${REFERENCE}`);
  await worker.waitForBotMessages(`Case ${REFERENCE}`, before + 1);
  const latest = worker.botMessages(`Case ${REFERENCE}`).last();
  expect(await latest.textContent()).toMatch(new RegExp(`CAF returned by Morgan Reid on [A-Z][a-z]{2} \\d{1,2} [A-Z][a-z]{2}`));
  expect(await latest.textContent()).toContain(COMMENTS);
  expect(await latest.textContent()).toContain('Required: returned for changes');
  await worker.screenshot('handoff-7-worker-case-card-shows-decision');

  // Each card went once: the case card (since replaced in place by the cards its buttons returned), the CAF card, the decision.
  expect((await outbox()).map((r) => [r.view, r.to, r.status, r.attempts])).toEqual([
    ['case', 'Sam Patel', 'delivered', 1],
    ['caf-authorisation', 'Morgan Reid', 'delivered', 1],
    ['case', 'Sam Patel', 'delivered', 1],
  ]);
  const events = await s.bot.services.db.query<{ type: string }>(`SELECT e.type FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference = $1 ORDER BY e.sequence`, [REFERENCE]);
  expect(events.map((e) => e.type)).toEqual(['allocated', 'telephone-contact-made', 'visit', 'caf-submitted', 'caf-returned']);
});
