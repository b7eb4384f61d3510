import { EchoScenario, startEchoScenario } from './harness';

/**
 * The smallest end-to-end check: the echo bot's HTTP service, Microsoft 365 Agents Playground and
 * headless Chromium. If this fails, the bot's own scenarios cannot pass: look here first.
 */
jest.setTimeout(90_000);

let s: EchoScenario;
beforeAll(async () => {
  s = await startEchoScenario();
});
afterAll(async () => s?.close());

test('a message typed in the playground is answered by the bot, in the chat', async () => {
  const user = await s.open('manager');
  await user.say('hello');
  const reply = await user.botMessage('echo: hello');
  expect(await reply.textContent()).toContain('echo: hello');
  await user.screenshot('smoke-echo');
});
