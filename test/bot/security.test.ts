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

const trusted = generateKeyPairSync('rsa', { modulusLength: 2048 });
const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
let keys: http.Server;
let keysUrl: string;
let t: TestDatabase;
let bot: RunningBot;

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
  bot = await startBot(
    { DATABASE_URL: t.url, MicrosoftAppId: APP_ID, MicrosoftAppPassword: 'test-secret', MicrosoftAppType: 'MultiTenant', BotOpenIdMetadata: `${keysUrl}/.well-known/openidconfiguration`, LOG_LEVEL: 'silent' },
    { port: 0 },
  );
});
afterAll(async () => {
  await bot?.close();
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
async function post(authorization?: string, channelId = 'msteams'): Promise<number> {
  // A conversationUpdate: the bot only stores the conversation reference, so an accepted request sends nothing out.
  const activity = {
    type: 'conversationUpdate',
    id: `sec-${++n}`,
    channelId,
    serviceUrl: SERVICE_URL,
    from: { id: '29:someone' },
    recipient: { id: `28:${APP_ID}` },
    conversation: { id: `a:security-${n}`, conversationType: 'personal' },
    channelData: { tenant: { id: 'tenant' } },
  };
  const res = await fetch(`${bot.server.url}/api/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(activity),
  });
  return res.status;
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
    expect(await bot.services.conversations.get(`a:security-${n}`)).not.toBeNull();
  });

  test.each([
    ['no token', () => undefined],
    ['a token that expired an hour ago', () => `Bearer ${token({ expiresIn: -3600 })}`],
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
    expect(await bot.services.conversations.get(`a:security-${n}`)).toBeNull();
  });

  test('a good token on an activity from a channel its key is not endorsed for is refused', async () => {
    // The published key is endorsed for msteams only (the `endorsements` of the JWKS entry).
    const status = await post(`Bearer ${token()}`, 'webchat');
    expect([401, 403]).toContain(status);
    expect(await bot.services.conversations.get(`a:security-${n}`)).toBeNull();
  });
});
