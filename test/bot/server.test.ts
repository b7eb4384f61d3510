import { RunningBot, startBot } from '../../bot/main';
import { DEMO_STAFF } from '../../bot/playground/demoTeam';
import { MAX_ACTIVITY_BYTES } from '../../bot/server';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { LoopbackConnector, startConnector } from '../helpers/connector';

/** The bot over real HTTP in local mode (no credentials), replying through a loopback connector. */
let t: TestDatabase;
let bot: RunningBot;
let connector: LoopbackConnector;

beforeAll(async () => {
  t = await serverDatabase();
  connector = await startConnector();
  bot = await startBot({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' }, { port: 0 });
});
afterAll(async () => {
  await bot?.close();
  await connector?.close();
  await t?.dispose();
});

async function post(body: string, contentType = 'application/json') {
  const res = await fetch(`${bot.server.url}/api/messages`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, text: await res.text() };
}

const message = (text: string, id: string) =>
  JSON.stringify({
    type: 'message',
    id,
    text,
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: '29:sam', name: 'Sam Patel', aadObjectId: DEMO_STAFF.worker.id },
    recipient: { id: '28:bot', name: 'Early Help' },
    conversation: { id: 'a:personal-sam', conversationType: 'personal' },
  });

describe('the bot over HTTP in local mode', () => {
  test('local mode writes the demo team, and a message gets its reply through the connector, previewing the case reference only', async () => {
    const before = connector.received.length;
    expect((await post(message('case EH-1003', 'm1'))).status).toBe(200);
    const [reply] = connector.received.slice(before);
    expect(reply.path).toBe('/v3/conversations/a%3Apersonal-sam/activities/m1');
    expect(reply.body.summary).toBe('Case EH-1003');
    expect(JSON.stringify(reply.body)).toContain('Calloway'); // the card itself, in the worker's own chat
    expect(String(reply.body.summary)).not.toContain('Calloway');
  });

  test('/healthz answers', async () => {
    const res = await fetch(`${bot.server.url}/healthz`);
    expect(res.status).toBe(200);
  });

  test.each([
    ['a body that is not JSON', 'this is not json', 400, /Invalid JSON/],
    ['JSON that is not an activity', JSON.stringify({ hello: 'world' }), 400, /must be a Bot Framework activity/],
    ['an array', JSON.stringify([{ type: 'message' }]), 400, /must be a Bot Framework activity/],
    ['an oversized body', JSON.stringify({ type: 'message', text: 'x'.repeat(MAX_ACTIVITY_BYTES + 10) }), 413, /./],
  ])('%s is refused with a reason, and the server stays up', async (_name, body, status, reason) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.text).toMatch(reason);
    expect((await fetch(`${bot.server.url}/healthz`)).status).toBe(200);
  });
});
