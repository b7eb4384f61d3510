import fs from 'node:fs';
import { createGraph } from '../../src/graph/client';
import { GraphConfig, GraphConfigError, graphConfigFromEnv } from '../../src/graph/config';
import { APP_CREDENTIAL, directoryUser, GraphServer, startGraphServer } from '../helpers/graphServer';

/** The Graph identity from the environment, and msal-node's app-only tokens from a loopback Entra ID over HTTPS. */

const APP = '0b5a7c1e-8d2f-4a3b-9c6d-1e2f3a4b5c6d';
const BOT = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';
const TENANT = '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d';

const configError = (env: NodeJS.ProcessEnv) => {
  try {
    graphConfigFromEnv(env);
  } catch (e) {
    if (e instanceof GraphConfigError) return e;
    throw e;
  }
  throw new Error('no error');
};

describe('the Graph identity from the environment', () => {
  test('with no credentials at all Graph is off (local mode)', () => {
    expect(graphConfigFromEnv({})).toBeNull();
  });

  test("defaults to the bot's registration: its id, secret and tenant, Graph and Entra ID's public cloud", () => {
    expect(graphConfigFromEnv({ MicrosoftAppId: BOT, MicrosoftAppPassword: 'bot-secret', MicrosoftAppTenantId: TENANT })).toEqual({
      clientId: BOT,
      tenantId: TENANT,
      credential: { kind: 'secret', secret: 'bot-secret' },
      endpoint: 'https://graph.microsoft.com',
      authorityHost: 'https://login.microsoftonline.com',
      identity: 'bot',
    });
  });

  test("GRAPH_* override the bot's registration, and never borrow the bot's secret for another app", () => {
    const bot = { MicrosoftAppId: BOT, MicrosoftAppPassword: 'bot-secret', MicrosoftAppTenantId: TENANT };
    const config = graphConfigFromEnv({ ...bot, GRAPH_CLIENT_ID: APP, GRAPH_CLIENT_SECRET: 'graph-secret', GRAPH_TENANT_ID: 'council.onmicrosoft.com', GRAPH_ENDPOINT: 'https://graph.microsoft.us/', AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.us', EARLYHELP_MAILBOX: 'EarlyHelp@Council.example' });
    expect(config).toMatchObject({ clientId: APP, tenantId: 'council.onmicrosoft.com', credential: { secret: 'graph-secret' }, endpoint: 'https://graph.microsoft.us', authorityHost: 'https://login.microsoftonline.us', mailbox: 'earlyhelp@council.example', identity: 'graph' });
    expect(configError({ ...bot, GRAPH_CLIENT_ID: APP }).variable).toBe('GRAPH_CLIENT_SECRET');
  });

  test("a bot registration incomplete for Graph leaves Graph off, unless Graph is asked for: then the missing variable is named", () => {
    expect(graphConfigFromEnv({ MicrosoftAppId: BOT, MicrosoftAppPassword: 'bot-secret' })).toBeNull();
    expect(configError({ MicrosoftAppId: BOT, MicrosoftAppPassword: 'bot-secret', EARLYHELP_MAILBOX: 'earlyhelp@council.example' }).message).toMatch(/^GRAPH_TENANT_ID: is required/);
    expect(configError({ EARLYHELP_MAILBOX: 'earlyhelp@council.example' }).variable).toBe('GRAPH_CLIENT_ID');
    expect(configError({ GRAPH_CLIENT_SECRET: 'x', GRAPH_TENANT_ID: TENANT }).variable).toBe('GRAPH_CLIENT_ID');
  });

  test("the bot's settings that do not suit Graph leave Graph off rather than stop the bot, unless Graph is asked for", () => {
    const odd = { MicrosoftAppId: 'app', MicrosoftAppPassword: 's', MicrosoftAppTenantId: 't' };
    expect(graphConfigFromEnv(odd)).toBeNull();
    expect(configError({ ...odd, EARLYHELP_MAILBOX: 'earlyhelp@council.example' }).variable).toBe('MicrosoftAppId');
    expect(configError({ ...odd, MicrosoftAppId: BOT, EARLYHELP_MAILBOX: 'earlyhelp@council.example' }).variable).toBe('MicrosoftAppTenantId');
  });

  test('each bad value is refused with its variable named', () => {
    const good = { GRAPH_CLIENT_ID: APP, GRAPH_CLIENT_SECRET: 's', GRAPH_TENANT_ID: TENANT };
    expect(configError({ ...good, GRAPH_ENDPOINT: 'http://graph.microsoft.com' }).message).toMatch(/^GRAPH_ENDPOINT: must be an https:\/\/ address/);
    expect(configError({ ...good, AZURE_AUTHORITY_HOST: 'https://login.microsoftonline.com/common' }).variable).toBe('AZURE_AUTHORITY_HOST');
    expect(configError({ ...good, GRAPH_CLIENT_ID: 'early-help' }).variable).toBe('GRAPH_CLIENT_ID');
    expect(configError({ ...good, GRAPH_TENANT_ID: 'not a tenant' }).variable).toBe('GRAPH_TENANT_ID');
    expect(configError({ ...good, EARLYHELP_MAILBOX: 'early help' }).variable).toBe('EARLYHELP_MAILBOX');
    expect(configError({ ...good, TEAMS_APP_CATALOG_ID: 'com.council.earlyhelp' }).variable).toBe('TEAMS_APP_CATALOG_ID');
    expect(configError({ ...good, GRAPH_CLIENT_CERTIFICATE_PATH: APP_CREDENTIAL }).message).toMatch(/^GRAPH_CLIENT_SECRET: set it or GRAPH_CLIENT_CERTIFICATE_PATH, not both/);
  });

  test('a certificate is read from GRAPH_CLIENT_CERTIFICATE_PATH (certificate and key in one PEM), its SHA-256 thumbprint computed', () => {
    const config = graphConfigFromEnv({ GRAPH_CLIENT_ID: APP, GRAPH_CLIENT_CERTIFICATE_PATH: APP_CREDENTIAL, GRAPH_TENANT_ID: TENANT });
    expect(config?.credential).toEqual({ kind: 'certificate', privateKey: expect.stringMatching(/^-----BEGIN PRIVATE KEY-----/), thumbprintSha256: expect.stringMatching(/^[0-9A-F]{64}$/) });
    expect(configError({ GRAPH_CLIENT_ID: APP, GRAPH_CLIENT_CERTIFICATE_PATH: '/nowhere/app.pem', GRAPH_TENANT_ID: TENANT }).message).toBe('GRAPH_CLIENT_CERTIFICATE_PATH: /nowhere/app.pem cannot be read (ENOENT)');
    const keyOnly = fs.readFileSync(APP_CREDENTIAL, 'utf8').replace(/-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----/, '');
    expect(() => graphConfigFromEnv({ GRAPH_CLIENT_ID: APP, GRAPH_CLIENT_CERTIFICATE_PATH: 'app.pem', GRAPH_TENANT_ID: TENANT }, () => keyOnly)).toThrow(/^GRAPH_CLIENT_CERTIFICATE_PATH: app.pem holds no certificate/);
  });
});

describe('app-only tokens from Entra ID (msal-node, over HTTPS to a loopback authority)', () => {
  let server: GraphServer;
  const fast = { retry: { baseDelayMs: 20, jitterMs: 20 } };
  const sam = directoryUser('Sam Patel');
  const morgan = directoryUser('Morgan Reid');

  const configFor = (s: GraphServer, env: Record<string, string> = {}) => graphConfigFromEnv(s.env(env)) as GraphConfig;

  beforeAll(async () => {
    server = await startGraphServer();
    server.users.set(sam.id, sam).set(morgan.id, morgan);
    server.managers.set(sam.id, morgan.id);
  });
  afterAll(() => server?.close());
  beforeEach(() => server.reset());

  test('the token is taken once and reused for every request until near its expiry; discovery is read once', async () => {
    const graph = createGraph(configFor(server), fast);
    for (let i = 0; i < 5; i++) expect(await graph.client.api(`/users/${sam.id}/manager`).select('id').get()).toMatchObject({ id: morgan.id });
    await Promise.all(Array.from({ length: 10 }, () => graph.client.api(`/users/${sam.id}/manager`).get()));
    expect(server.tokenRequests).toEqual([{ at: expect.any(Number), credential: 'secret', granted: true }]);
    expect(server.discoveryRequests).toBe(1);
    expect(server.requests.filter((r) => r.status === 200)).toHaveLength(15);
    expect(server.unserved).toEqual([]);
  });

  test('requests that arrive together before any token is held share one token request', async () => {
    const graph = createGraph(configFor(server), fast);
    await Promise.all(Array.from({ length: 8 }, () => graph.client.api(`/users/${sam.id}/manager`).get()));
    expect(server.tokenRequests).toHaveLength(1);
  });

  test('a token within five minutes of its expiry is not used: a new one is taken', async () => {
    const shortLived = await startGraphServer({ tokenLifetimeSeconds: 200 });
    try {
      shortLived.users.set(sam.id, sam);
      const graph = createGraph(configFor(shortLived), fast);
      for (let i = 0; i < 3; i++) await graph.client.api(`/users/${sam.id}/manager`).get().catch(() => undefined);
      expect(shortLived.tokenRequests).toHaveLength(3);
    } finally {
      await shortLived.close();
    }
  });

  test("a certificate credential signs a client assertion that the authority checks against the app's certificate", async () => {
    const withCertificate = await startGraphServer({ clientCertificate: fs.readFileSync(APP_CREDENTIAL, 'utf8') });
    try {
      withCertificate.users.set(sam.id, sam);
      const env = withCertificate.env({ GRAPH_CLIENT_CERTIFICATE_PATH: APP_CREDENTIAL });
      delete env.GRAPH_CLIENT_SECRET;
      const graph = createGraph(graphConfigFromEnv(env) as GraphConfig, fast);
      await expect(graph.client.api(`/users/${sam.id}/manager`).get()).rejects.toMatchObject({ statusCode: 404, code: 'Request_ResourceNotFound' });
      expect(withCertificate.tokenRequests).toEqual([expect.objectContaining({ credential: 'assertion', granted: true })]);
    } finally {
      await withCertificate.close();
    }
  });

  test('a wrong secret: no token, and nothing reaches Graph', async () => {
    const graph = createGraph(configFor(server, { GRAPH_CLIENT_SECRET: 'not-the-secret' }), fast);
    await expect(graph.client.api(`/users/${sam.id}/manager`).get()).rejects.toMatchObject({ code: 'TokenUnavailable', message: expect.stringContaining('invalid_client') });
    expect(server.tokenRequests.length).toBeGreaterThan(0);
    expect(server.tokenRequests.every((t) => !t.granted)).toBe(true);
    expect(server.requests).toEqual([]);
  });
});
