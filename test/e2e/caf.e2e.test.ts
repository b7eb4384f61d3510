import { Scenario, startScenario } from './harness';

/**
 * End to end, through Microsoft 365 Agents Playground in headless Chromium: a manager and a worker,
 * each in their own playground, against one bot on the embedded database.
 */
jest.setTimeout(180_000);

let s: Scenario;
beforeAll(async () => {
  s = await startScenario();
});
afterAll(async () => s?.close());

test('the manager allocates, the worker logs contact and submits the CAF, the manager approves, the worker is told', async () => {
  const manager = await s.open('manager');
  const worker = await s.open('worker');
  await manager.botMessage('I keep track of every timescale');

  await manager.say('allocate');
  const form = await manager.botMessage('Allocate a case');
  await manager.fill(form, 'Case reference, e.g. EH-2041', 'EH-9001');
  await manager.fill(form, 'Family name', 'Fictional');
  await manager.fill(form, 'Children', 'Test Child, 2019-04-02');
  await manager.choose(form, 'Worker', /Sam Patel/);
  await manager.fill(form, 'Caseload points', '5');
  await manager.fill(form, 'Initial actions', 'Telephone the family and arrange a home visit.');
  await manager.screenshot('1-manager-allocation-form');
  await manager.click(form, 'Allocate');
  await manager.botMessage('Case EH-9001 allocated to Sam Patel');
  await manager.screenshot('2-manager-allocated');

  const caseCard = await worker.botMessage('Case EH-9001 has been allocated to you by Morgan Reid.');
  await worker.screenshot('3-worker-receives-case');
  await worker.click(caseCard, 'Log contact');
  await worker.click(caseCard, 'Save contact');
  const afterContact = await worker.botMessage('Contact recorded on case EH-9001.');
  await worker.screenshot('4-worker-logged-contact');

  await worker.click(afterContact, 'Log visit');
  await afterContact.getByText('Consent form returned').click();
  await worker.click(afterContact, 'Save visit');
  const afterVisit = await worker.botMessage('Visit recorded on case EH-9001.');
  await worker.click(afterVisit, 'More');
  await worker.click(afterVisit, 'Submit CAF');
  await worker.click(afterVisit, 'Send for authorisation');
  await worker.botMessage('CAF for case EH-9001 sent for authorisation.');
  await worker.screenshot('5-worker-submitted-caf');

  const authorisation = await manager.botMessage('CAF awaiting authorisation: case EH-9001');
  await manager.screenshot('6-manager-caf-authorisation');
  await manager.click(authorisation, 'Approve');
  await manager.botMessage(/CAF approved: case EH-9001/);
  await manager.screenshot('7-manager-approved');

  await worker.botMessage(/CAF approved by Morgan Reid/);
  await worker.screenshot('8-worker-told');

  const events = await s.bot.services.db.query<{ type: string }>(`SELECT e.type FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference = 'EH-9001' ORDER BY e.sequence`);
  expect(events.map((e) => e.type)).toEqual(['allocated', 'telephone-contact-made', 'visit', 'caf-submitted', 'caf-authorised']);
});
