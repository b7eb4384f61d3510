import { generateKeyPairSync, KeyObject } from 'node:crypto';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import jwt from 'jsonwebtoken';
import { RunningBot, startBot } from '../../bot/main';
import { serverDatabase, TestDatabase } from '../helpers/database';

/**
 * With credentials configured, the bot accepts only requests carrying a valid Bot Framework token.
 * The OpenID metadata and signing keys are served on loopback (BotOpenIdMetadata), as the Bot
 * Framework publishes them, and tokens are signed here with a test key.
 */
const APP_ID = 'a7c4f0b2-1d3e-4f5a-9b8c-7d6e5f4a3b2c';
const ISSUER = 'https://api.botframework.com';
const SERVICE_URL = 'https://smba.trafficmanager.net/emea/';
/** The organisation the single-tenant bot is registered in, and another one. */
const TENANT = '0f3c9a52-6b1d-4e8f-a7c2-5d4e3f2a1b09';
const OTHER_TENANT = '9e8d7c6b-5a49-4382-b1c0-f9e8d7c6b5a4';

const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
let keys: http.Server;
let keysUrl: string;
let t: TestDatabase;
let bot: RunningBot;
/** The same bot registered as single-tenant in TENANT (MicrosoftAppTenantId). */
let tenantBot: RunningBot;

beforeAll(async () => {
  keys = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openidconfiguration') res.end(JSON.stringify({ issuer: ISSUER, jwks_uri: `${keysUrl}/keys`, id_token_signing_alg_values_supported: ['RS256'] }));
    else if (req.url === '/keys') res.end(JSON.stringify({ keys: [{ ...(trusted.publicKey.export({ format: 'jwk' }) as object), kid: 'trusted-key', use: 'sig', endorsements: ['msteams'] }] }));
    else res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => keys.listen(0, '127.0.0.1', r));
  keysUrl = `http://127.0.0.1:${(keys.address() as AddressInfo).port}`;
  t = await serverDatabase();
  const credentials = { DATABASE_URL: t.url, MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'test-secret', BotOpenIdMetadata: `${keysUrl}/.well-known/openidconfiguration`, LOG_LEVEL: 'silent' };
  bot = await startBot({ ...credentials, MicrosoftAppType: 'MultiTenant' }, { port: 0 });
  tenantBot = await startBot({ ...credentials, MicrosoftAppType: 'SingleTenant', MicrosoftAppTenantId: TENANT }, { port: 0 });
});
afterAll(async () => {
  await bot?.close();
  await tenantBot?.close();
  await t?.dispose();
  await new Promise((r) => keys?.close(r));
});

function token(options: { key?: KeyObject; kid?: string; audience?: string; issuer?: string; expiresIn?: number; serviceUrl?: string } = {}) {
  return jwt.sign({ serviceurl: options.serviceUrl ?? SERVICE_URL }, (options.key ?? trusted.privateKey).export({ format: 'pem', type: 'pkcs8' }) as string, {
    algorithm: 'RS256',
    keyid: options.kid ?? 'trusted-key',
    issuer: options.issuer ?? ISSUER,
    audience: options.audience ?? APP_ID,
    expiresIn: options.expiresIn ?? 300,
  });
}

let n = 0;
/**
 * A conversationUpdate in a channel: the bot only stores the conversation reference (kept for a
 * channel whoever added it), so an accepted request sends nothing out. `tenant` is what
 * channelData.tenant.id says (null: no tenant at all).
 */
async function send(authorization: string | undefined, options: { channelId?: string; to?: RunningBot; tenant?: string | null; conversationTenant?: string } = {}) {
  const tenant = options.tenant === undefined ? 'tenant' : options.tenant;
  const activity = {
    type: 'conversationUpdate',
    id: `sec-${++n}`,
    channelId: options.channelId ?? 'msteams',
    serviceUrl: SERVICE_URL,
    from: { id: '29:someone' },
    recipient: { id: `28:${APP_ID}` },
    conversation: { id: `19:security-${n}@thread.tacv2`, conversationType: 'channel', ...(options.conversationTenant ? { tenantId: options.conversationTenant } : {}) },
    ...(tenant === null ? {} : { channelData: { tenant: { id: tenant } } }),
  };
  const res = await fetch(`${(options.to ?? bot).server.url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(activity),
  });
  const text = await res.text();
  return { status: res.status, reason: text ? ((JSON.parse(text) as { error?: string }).error ?? text) : '' };
}

async function post(authorization?: string, channelId = 'msteams'): Promise<number> {
  return (await send(authorization, { channelId })).status;
}

/** A token signed by the trusted key, with no expiry at all: good for ever, if taken. */
function tokenWithoutExpiry(): string {
  return jwt.sign({ serviceurl: SERVICE_URL }, trusted.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { algorithm: 'RS256', keyid: 'trusted-key', issuer: ISSUER, audience: APP_ID });
}

// botbuilder prints each refused token to the console (CloudAdapter.process): expected here, so kept quiet.
let quiet: jest.SpyInstance;
beforeEach(() => {
  quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterEach(() => quiet.mockRestore());

/** A token with no signature at all, which a careless validator would take at its word. */
function unsignedToken(): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT', kid: 'trusted-key' })}.${part({ iss: ISSUER, aud: APP_ID, serviceurl: SERVICE_URL, iat: now, exp: now + 300 })}.`;
}

describe('with credentials, only Bot Framework tokens get in', () => {
  test('a correctly signed token for this bot is accepted', async () => {
    expect(await post(`Bearer ${token()}`)).toBe(200);
    expect(await bot.services.conversations.get(`19:security-${n}@thread.tacv2`)).not.toBeNull();
  });

  test.each([
    ['no token', () => undefined],
    ['a token that expired an hour ago', () => `Bearer ${token({ expiresIn: -3600 })}`],
    ['a token that expired 6 minutes ago (beyond the 5 minutes of clock tolerance)', () => `Bearer ${token({ expiresIn: -360 })}`],
    ['a token for another bot (wrong audience)', () => `Bearer ${token({ audience: 'another-bot' })}`],
    ['a token signed by another key under the trusted key id', () => `Bearer ${token({ key: stranger.privateKey })}`],
    ['a token signed by a key the metadata does not publish', () => `Bearer ${token({ key: stranger.privateKey, kid: 'unknown-key' })}`],
    ['a token from another issuer', () => `Bearer ${token({ issuer: 'https://evil.example' })}`],
    ['a token minted for another service URL', () => `Bearer ${token({ serviceUrl: 'https://attacker.example/' })}`],
    ['a header that is not a bearer token', () => 'Basic dXNlcjpwYXNz'],
    ['an unsigned token (alg none)', () => `Bearer ${unsignedToken()}`],
    ['a token that is not valid yet', () => `Bearer ${jwt.sign({ serviceurl: SERVICE_URL, nbf: Math.floor(Date.now() / 1000) + 3600 }, trusted.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { algorithm: 'RS256', keyid: 'trusted-key', issuer: ISSUER, audience: APP_ID, expiresIn: 7200 })}`],
  ])('%s is refused and stores nothing', async (_name, authorization) => {
    const status = await post(authorization());
    expect([401, 403]).toContain(status);
    expect(await bot.services.conversations.get(`19:security-${n}@thread.tacv2`)).toBeNull();
  });

  test('a good token on an activity from a channel its key is not endorsed for is refused', async () => {
    // The published key is endorsed for msteams only (the `endorsements` of the JWKS entry).
    const status = await post(`Bearer ${token()}`, 'webchat');
    expect([401, 403]).toContain(status);
    expect(await bot.services.conversations.get(`19:security-${n}@thread.tacv2`)).toBeNull();
  });
});

describe('a token needs an expiry', () => {
  test('a correctly signed token with no expiry is refused with 401 and a reason, and stores nothing', async () => {
    const token = tokenWithoutExpiry();
    expect(jwt.decode(token)).not.toHaveProperty('exp');
    const res = await send(`Bearer ${token}`);
    expect(res).toEqual({ status: 401, reason: expect.stringMatching(/expiry \("exp"\)/) });
    expect(await bot.services.conversations.get(`19:security-${n}@thread.tacv2`)).toBeNull();
  });
});

describe('a bot registered in one tenant serves that tenant only', () => {
  test('an activity from its own tenant is accepted', async () => {
    expect((await send(`Bearer ${token()}`, { to: tenantBot, tenant: TENANT, conversationTenant: TENANT })).status).toBe(200);
    expect(await tenantBot.services.conversations.get(`19:security-${n}@thread.tacv2`)).not.toBeNull();
  });

  test.each([
    ['from another tenant', { tenant: OTHER_TENANT }, /another tenant/],
    ['from another tenant, said in the conversation only', { tenant: null, conversationTenant: OTHER_TENANT }, /another tenant/],
    ['whose channel data and conversation disagree on the tenant', { tenant: TENANT, conversationTenant: OTHER_TENANT }, /another tenant/],
    ['naming no tenant', { tenant: null }, /must name its tenant/],
  ])('an activity %s is refused with 403 and a reason, even with a good token, and stores nothing', async (_name, options, reason) => {
    const res = await send(`Bearer ${token()}`, { to: tenantBot, ...options });
    expect(res.status).toBe(403);
    expect(res.reason).toMatch(reason);
    expect(await tenantBot.services.conversations.get(`19:security-${n}@thread.tacv2`)).toBeNull();
  });

  test('a bot with no tenant configured (multi-tenant) takes any tenant', async () => {
    expect((await send(`Bearer ${token()}`, { tenant: OTHER_TENANT })).status).toBe(200);
  });
});
