import fs from 'node:fs';
import path from 'node:path';
import { TURN_ERROR_REPLY } from '../../bot/adapter';
import { BotConfigError, botConfigFromEnv } from '../../bot/config';
import { EchoBot } from '../../bot/echoBot';
import { log } from '../../bot/log';
import { RunningBot, startBot } from '../../bot/main';
import { DEMO_STAFF } from '../../bot/playground/demoTeam';
import { activityProblem, MAX_ACTIVITY_BYTES, RunningServer, startServer } from '../../bot/server';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { LoopbackConnector, startConnector } from '../helpers/connector';
import { readReference, SHARED_DIR } from '../helpers/shared';

/** The bot over real HTTP in local mode (no credentials), replying through a loopback connector. */
let t: TestDatabase;
let bot: RunningBot;
let connector: LoopbackConnector;
let failures: jest.SpyInstance;

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
// Every failed turn or request is logged at error level: a test that expects none checks this spy.
beforeEach(() => {
  failures = jest.spyOn(log, 'error');
});
afterEach(() => failures.mockRestore());

async function post(url: string, body: string, contentType = 'application/json') {
  const res = await fetch(`${url}/api/messages`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: res.status, text: await res.text() };
}

/** The reason a refusal gives: ours say `error`, restify's say `message`. */
function reasonOf(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: string; message?: string };
    return body.error ?? body.message ?? text;
  } catch {
    return text;
  }
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
    expect((await post(bot.server.url, message('case EH-1003', 'm1'))).status).toBe(200);
    const [reply] = connector.received.slice(before);
    expect(reply.path).toBe('/v3/conversations/a%3Apersonal-sam/activities/m1');
    expect(reply.body.summary).toBe('Case EH-1003');
    expect(JSON.stringify(reply.body)).toContain('Calloway'); // the card itself, in the worker's own chat
    expect(String(reply.body.summary)).not.toContain('Calloway');
    expect(failures).not.toHaveBeenCalled();
  });

  test('/healthz answers', async () => {
    const res = await fetch(`${bot.server.url}/healthz`);
    expect(res.status).toBe(200);
  });

  const activity = { type: 'message', id: 'bad', channelId: 'msteams', serviceUrl: 'http://127.0.0.1:9/', from: { id: '29:u' }, recipient: { id: '28:b' }, conversation: { id: 'a:c' } };
  test.each([
    ['a body that is not JSON', 'this is not json', 'application/json', 400, /Invalid JSON/],
    ['a body sent as plain text', JSON.stringify(activity), 'text/plain', 415, /must be JSON/],
    ['an empty body', '', 'application/json', 400, /must be a Bot Framework activity/],
    ['JSON null', 'null', 'application/json', 400, /must be a Bot Framework activity/],
    ['JSON that is not an activity', JSON.stringify({ hello: 'world' }), 'application/json', 400, /must be a Bot Framework activity/],
    ['an array', JSON.stringify([{ type: 'message' }]), 'application/json', 400, /must be a Bot Framework activity/],
    ['an activity whose type is not a string', JSON.stringify({ ...activity, type: 5 }), 'application/json', 400, /must be a Bot Framework activity/],
    ['an activity with no service URL to answer on', JSON.stringify({ ...activity, serviceUrl: undefined }), 'application/json', 400, /serviceUrl/],
    ['an activity with a service URL that is not http(s)', JSON.stringify({ ...activity, serviceUrl: 'file:///etc/passwd' }), 'application/json', 400, /serviceUrl/],
    ['an activity with no conversation', JSON.stringify({ ...activity, conversation: 'a:c' }), 'application/json', 400, /"conversation" with an "id"/],
    ['an activity with no sender', JSON.stringify({ ...activity, from: undefined }), 'application/json', 400, /"from" with an "id"/],
    ['an oversized body', JSON.stringify({ ...activity, text: 'x'.repeat(MAX_ACTIVITY_BYTES + 10) }), 'application/json', 413, /larger than 256 KB/],
  ])('%s is refused with a reason, runs no turn, and the server stays up', async (_name, body, contentType, status, reason) => {
    const before = connector.received.length;
    const res = await post(bot.server.url, body, contentType);
    expect(res.status).toBe(status);
    expect(reasonOf(res.text)).toMatch(reason);
    expect(connector.received.length).toBe(before);
    expect((await fetch(`${bot.server.url}/healthz`)).status).toBe(200);
  });
});

describe('activities of the wrong shape are refused at the edge, naming the field', () => {
  // Each of these used to reach the turn and fail inside it ("Sorry, something went wrong").
  const from = { id: '29:sam', name: 'Sam Patel', aadObjectId: DEMO_STAFF.worker.id };
  const base = { id: 'shape', channelId: 'msteams', from, recipient: { id: '28:bot', name: 'Early Help' }, conversation: { id: 'a:personal-sam', conversationType: 'personal' } };
  const msg = { ...base, type: 'message', text: 'help' };
  const invoke = { ...base, type: 'invoke', name: 'adaptiveCard/action', value: { action: { type: 'Action.Execute', verb: 'myCases', data: { verb: 'myCases' } }, trigger: 'manual' } };
  const update = { ...base, type: 'conversationUpdate', membersAdded: [{ id: '28:bot' }] };
  const mention = { type: 'mention', text: '<at>Early Help</at>', mentioned: { id: '28:bot', name: 'Early Help' } };

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['text that is a number', { ...msg, text: 42 }, /"text" must be a string/],
    ['text that is an object', { ...msg, text: { value: 'help' } }, /"text" must be a string/],
    ['text that is a list', { ...msg, text: ['help'] }, /"text" must be a string/],
    ['a sender whose aadObjectId is a number', { ...msg, from: { ...from, aadObjectId: 7 } }, /"from.aadObjectId" must be a string/],
    ['a sender whose aadObjectId is an object', { ...msg, from: { ...from, aadObjectId: { id: DEMO_STAFF.worker.id } } }, /"from.aadObjectId" must be a string/],
    ['a sender whose name is a number', { ...msg, from: { ...from, name: 3 } }, /"from.name" must be a string/],
    ['a recipient whose name is an object', { ...msg, recipient: { id: '28:bot', name: { text: 'Early Help' } } }, /"recipient.name" must be a string/],
    ['entities that are a string', { ...msg, entities: 'mention' }, /"entities" must be a list/],
    ['entities that are an object', { ...msg, entities: { 0: mention } }, /"entities" must be a list/],
    ['entities that are null', { ...msg, entities: null }, /"entities" must be a list/],
    ['an entity that is null', { ...msg, entities: [null] }, /"entities\[0\]" must be an object/],
    ['an entity that is a string', { ...msg, entities: ['mention'] }, /"entities\[0\]" must be an object/],
    ['an entity with no type', { ...msg, entities: [{ text: '<at>Early Help</at>' }] }, /"entities\[0\].type" must be a string/],
    ['an entity whose type is a number', { ...msg, entities: [mention, { type: 7 }] }, /"entities\[1\].type" must be a string/],
    ['a mention that names no one', { ...msg, entities: [{ type: 'mention', text: '<at>Early Help</at>' }] }, /"entities\[0\].mentioned" must name who is mentioned/],
    ['a mention whose mentioned id is a number', { ...msg, entities: [{ ...mention, mentioned: { id: 28 } }] }, /"entities\[0\].mentioned.id" must be a string/],
    ['membersAdded that is a string', { ...update, membersAdded: '28:bot' }, /"membersAdded" must be a list/],
    ['membersAdded holding null', { ...update, membersAdded: [null] }, /"membersAdded\[0\]" must be an object/],
    ['a member added with no id', { ...update, membersAdded: [{ name: 'Early Help' }] }, /"membersAdded\[0\].id" must be a string/],
    ['a member added whose id is a number', { ...update, membersAdded: [{ id: 28 }] }, /"membersAdded\[0\].id" must be a string/],
    ['membersRemoved that is an object', { ...update, membersAdded: undefined, membersRemoved: { id: '29:sam' } }, /"membersRemoved" must be a list/],
    ['membersRemoved holding ids, not members', { ...update, membersAdded: undefined, membersRemoved: ['29:sam'] }, /"membersRemoved\[0\]" must be an object/],
    ['an invoke whose value is a string', { ...invoke, value: 'myCases' }, /"value" must be an object on an invoke/],
    ['an invoke whose value is a list', { ...invoke, value: [invoke.value] }, /"value" must be an object on an invoke/],
    ['an invoke whose value is a number', { ...invoke, value: 1 }, /"value" must be an object on an invoke/],
    ['an invoke whose name is a number', { ...invoke, name: 5 }, /"name" must be a string/],
    ['a conversation type that is a number', { ...msg, conversation: { id: 'a:personal-sam', conversationType: 1 } }, /"conversation.conversationType" must be a string/],
    ['a conversation tenant that is an object', { ...msg, conversation: { ...base.conversation, tenantId: { id: 't' } } }, /"conversation.tenantId" must be a string/],
    ['a conversation whose isGroup is a string', { ...msg, conversation: { ...base.conversation, isGroup: 'yes' } }, /"conversation.isGroup" must be true or false/],
    ['attachments that are an object', { ...msg, attachments: { contentType: 'text/html', content: '<p>hi</p>' } }, /"attachments" must be a list/],
    ['an attachment that is a string', { ...msg, attachments: ['<p>hi</p>'] }, /"attachments\[0\]" must be an object/],
    ['an attachment with no content type', { ...msg, attachments: [{ content: '<p>hi</p>' }] }, /"attachments\[0\].contentType" must be a string/],
    ['channel data that is a string', { ...msg, channelData: 'tenant' }, /"channelData" must be an object/],
    ['a tenant id that is a number', { ...msg, channelData: { tenant: { id: 42 } } }, /"channelData.tenant.id" must be a string/],
    ['an activity id that is a number', { ...msg, id: 12 }, /"id" must be a string/],
    ['a replyToId that is an object', { ...msg, replyToId: { id: 'm1' } }, /"replyToId" must be a string/],
    ['an installation action that is a number', { ...base, type: 'installationUpdate', action: 1 }, /"action" must be a string/],
  ])('%s gets a 400 naming the field, runs no turn, and the server stays up', async (_name, shape, reason) => {
    const before = connector.received.length;
    const res = await post(bot.server.url, JSON.stringify({ ...shape, serviceUrl: connector.url }));
    expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({ status: 400, reason: expect.stringMatching(reason) });
    expect(connector.received.length).toBe(before);
    expect(failures).not.toHaveBeenCalled();
    expect((await fetch(`${bot.server.url}/healthz`)).status).toBe(200);
  });

  test('the same activities, well formed, are taken', async () => {
    for (const activity of [msg, invoke, update, { ...msg, entities: [mention], text: '<at>Early Help</at> help' }]) {
      const res = await post(bot.server.url, JSON.stringify({ ...activity, id: `shape-ok-${Math.random()}`, serviceUrl: connector.url }));
      expect(res.status).toBe(200);
    }
    expect(failures).not.toHaveBeenCalled();
  });
});

describe('real Teams activities, as captured from Teams, over HTTP', () => {
  test('the captured activities are in ../shared/reference/teams-activities', () => {
    const folder = path.join(SHARED_DIR, 'reference', 'teams-activities');
    if (!fs.existsSync(folder)) throw new Error(`These tests need the captured Teams activities in ${folder}: clone the project with its shared/ folder beside it.`);
  });

  test.each([
    ['a channel message with an @mention and an HTML attachment', 'teamsnet-TeamsActivityTests-json.json'],
    ['an adaptiveCard/action invoke from a personal chat', 'teamsnet-TeamsActivityTests-jsonInvoke.json'],
    ['a conversationUpdate for a new channel, with team and tenant data', 'msteams-docs-conversationUpdate-channelCreated.json'],
    ['a message carrying an Adaptive Card with mentions', 'teamsnet-AdaptiveCardActivity.json'],
  ])('%s (%s) is accepted and handled without error', async (_name, file) => {
    const captured = JSON.parse(readReference(`teams-activities/${file}`)) as Record<string, unknown>;
    expect(activityProblem(captured)).toBeUndefined();
    const before = connector.received.length;
    // Answered on the loopback connector instead of Teams' service.
    const res = await post(bot.server.url, JSON.stringify({ ...captured, serviceUrl: connector.url }));
    // The invoke carries no verb: the bot's own answer is an invoke response (a 400 saying so), not a failure.
    if (captured.type === 'invoke') expect(JSON.parse(res.text)).toMatchObject({ statusCode: res.status });
    else expect(res.status).toBe(200);
    expect(res.status).toBeLessThan(500);
    expect(failures).not.toHaveBeenCalled();
    const replies = connector.received.slice(before).map((r) => JSON.stringify(r.body));
    expect(replies.join('\n')).not.toContain(TURN_ERROR_REPLY);
  });
});

describe('the server with any bot (the echo bot)', () => {
  let echo: RunningServer;
  beforeAll(async () => {
    echo = await startServer({ config: { ...botConfigFromEnv({}), port: 0 }, bot: new EchoBot() });
  });
  afterAll(async () => echo?.close());

  test('an unauthenticated message is answered through its serviceUrl, as a reply to it', async () => {
    const before = connector.received.length;
    expect((await post(echo.url, message('hello', 'echo-1'))).status).toBe(200);
    const [reply] = connector.received.slice(before);
    expect(reply).toMatchObject({ method: 'POST', path: '/v3/conversations/a%3Apersonal-sam/activities/echo-1', body: { type: 'message', text: 'echo: hello', replyToId: 'echo-1' } });
  });

  test('a turn that fails is logged with ids and types only, and the user gets a short apology', async () => {
    const failing = new EchoBot();
    failing.onMessage(async () => {
      JSON.parse('Jamie Calloway, 7, lives with mum'); // throws, quoting its input in the message
    });
    const server = await startServer({ config: { ...botConfigFromEnv({}), port: 0 }, bot: failing });
    try {
      const before = connector.received.length;
      expect((await post(server.url, message('Jamie Calloway, 7, lives with mum', 'fails-1'))).status).toBe(200);
      expect(connector.received.slice(before).map((r) => r.body.text)).toEqual(['echo: Jamie Calloway, 7, lives with mum', TURN_ERROR_REPLY]);
      expect(failures).toHaveBeenCalledWith(expect.objectContaining({ activityId: 'fails-1', type: 'message', err: 'SyntaxError' }), 'turn failed');
      expect(JSON.stringify(failures.mock.calls)).not.toContain('Calloway');
    } finally {
      await server.close();
    }
  });
});

describe('configuration from the environment', () => {
  test('no app id is local mode on port 3978', () => {
    expect(botConfigFromEnv({})).toMatchObject({ localMode: true, port: 3978, appType: 'MultiTenant' });
  });

  test('an app id with a secret is an authenticated multi-tenant bot; the app type is read in any case', () => {
    expect(botConfigFromEnv({ MicrosoftAppId: 'app', MicrosoftAppPassword: 'secret', MicrosoftAppType: 'multitenant', PORT: '8080' })).toMatchObject({ localMode: false, appType: 'MultiTenant', port: 8080 });
  });

  test.each([
    ['a SingleTenant bot without a tenant', 'MicrosoftAppTenantId', { MicrosoftAppId: 'app', MicrosoftAppPassword: 's', MicrosoftAppType: 'SingleTenant' }],
    ['a UserAssignedMSI bot without a tenant', 'MicrosoftAppTenantId', { MicrosoftAppId: 'app', MicrosoftAppType: 'UserAssignedMSI' }],
    ['a UserAssignedMSI bot given a secret', 'MicrosoftAppPassword', { MicrosoftAppId: 'app', MicrosoftAppType: 'UserAssignedMSI', MicrosoftAppTenantId: 't', MicrosoftAppPassword: 's' }],
    ['an app id with neither a secret nor a certificate', 'MicrosoftAppPassword', { MicrosoftAppId: 'app' }],
    ['a certificate thumbprint without its private key', 'MicrosoftAppCertificatePrivateKey', { MicrosoftAppId: 'app', MicrosoftAppCertificateThumbprint: 'AB12' }],
    ['an unknown app type', 'MicrosoftAppType', { MicrosoftAppId: 'app', MicrosoftAppPassword: 's', MicrosoftAppType: 'Tenantless' }],
    ['a port that is not a number', 'PORT', { PORT: 'http' }],
    ['OpenID metadata that is not a URL', 'BotOpenIdMetadata', { MicrosoftAppId: 'app', MicrosoftAppPassword: 's', BotOpenIdMetadata: 'keys.json' }],
  ])('%s is a startup error naming %s', (_name, variable, env) => {
    expect(() => botConfigFromEnv(env)).toThrow(BotConfigError);
    expect(() => botConfigFromEnv(env)).toThrow(new RegExp(`^${variable}: `));
  });

  test('a certificate instead of a secret is enough', () => {
    expect(botConfigFromEnv({ MicrosoftAppId: 'app', MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: 't', MicrosoftAppCertificateThumbprint: 'AB12', MicrosoftAppCertificatePrivateKey: '-----BEGIN PRIVATE KEY-----' })).toMatchObject({ localMode: false });
  });
});

/**
 * A manager's allocation with a children line of 128,000 commas once held every other request for
 * 9.4 s (a pattern that backtracked, and the card's length limit not enforced on the server). Now
 * the answer and a request made at the same moment both come back at once.
 */
describe('a card input built to be slow to read', () => {
  const envelope = (id: string, from: { id: string; name: string }) => ({
    id,
    channelId: 'msteams',
    serviceUrl: connector.url,
    from: { id: `29:${from.id}`, name: from.name, aadObjectId: from.id },
    recipient: { id: '28:bot', name: 'Early Help' },
    conversation: { id: `a:personal-${from.id}`, conversationType: 'personal' },
  });

  async function timed(body: unknown): Promise<{ ms: number; status: number; text: string }> {
    const started = performance.now();
    const res = await fetch(`${bot.server.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { ms: performance.now() - started, status: res.status, text };
  }

  test.each([128_000, 250_000])('a children line of %i commas is refused at once, and a request made at the same moment is answered at once', async (commas) => {
    const manager = DEMO_STAFF.manager;
    const allocation = {
      ...envelope(`slow-${commas}`, manager),
      type: 'invoke',
      name: 'adaptiveCard/action',
      value: {
        action: {
          type: 'Action.Execute',
          verb: 'allocateCase',
          data: { verb: 'allocateCase', reference: `EH-SLOW${commas}`, familyName: 'Fernsby', children: `Tallulah${','.repeat(commas)}x`, source: 'referral', leadProfessional: DEMO_STAFF.worker.id, caseloadPoints: '3', cafRequired: 'true' },
        },
      },
    };
    const other = { ...envelope(`other-${commas}`, DEMO_STAFF.worker), type: 'message', text: 'help' };
    const [refused, answered] = await Promise.all([timed(allocation), timed(other)]);
    expect(refused.status).toBe(200);
    expect(refused.text).toContain('Children: is longer than 2000 characters.');
    expect(answered.status).toBe(200);
    // Before the fix: 9.4 s for 128,000 commas, 50 s for 250,000.
    expect(refused.ms).toBeLessThan(1000);
    expect(answered.ms).toBeLessThan(1000);
    const rows = await t.db.query('SELECT 1 FROM cases WHERE reference = $1', [`EH-SLOW${commas}`]);
    expect(rows).toEqual([]);
  });
});
