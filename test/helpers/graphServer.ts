import { constants, createHash, createPublicKey, KeyObject, randomBytes, randomUUID, verify, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import path from 'node:path';
import { CalendarControls, createCalendarService } from './graphCalendar';
import { readReference } from './shared';

/**
 * Entra ID and Microsoft Graph on loopback, over HTTPS (test/fixtures/tls: a test CA trusted
 * through NODE_EXTRA_CA_CERTS, as `npm test` sets it), following their published contracts, so
 * that the real msal-node and the real Graph client talk to it unchanged:
 *
 * Entra ID (https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
 * - `GET /{tenant}/v2.0/.well-known/openid-configuration`: the OIDC discovery document;
 * - `POST /{tenant}/oauth2/v2.0/token`: client credentials with a client secret or a client
 *   assertion (a JWT signed by the app's certificate, checked against it), scope
 *   `{endpoint}/.default`; answers `{ token_type, expires_in, ext_expires_in, access_token }` or
 *   Entra's error body (`{ error, error_description, error_codes, ... }`).
 *
 * Graph v1.0, each request's bearer token checked (and its `roles`, the application permissions):
 * - `POST /users/{id}/sendMail` (Mail.Send): the body checked against the `sendMail` action and the
 *   `message` type in Graph's CSDL (../shared/reference/graph/v1.0-cleanMetadata.xml), extended
 *   property ids against Graph's syntax; 202; the message filed in the mailbox's Sent Items unless
 *   `SaveToSentItems` is false (after `sentItemsDelayMs`, as Exchange files it a moment later);
 * - `GET /users/{id}/mailFolders/sentitems/messages` (Mail.ReadBasic.All or Mail.Read): newest
 *   first, `$select` checked against `message` in the CSDL, `$top`, pages linked by
 *   `@odata.nextLink`, and `$filter` in exactly one form,
 *   `singleValueExtendedProperties/Any(ep: ep/id eq '{property id}' and ep/value eq '{value}')`
 *   (the id's name matched with case, the value without, as Graph documents), which needs Mail.Read:
 *   Mail.ReadBasic.All leaves out extended properties (403 ErrorAccessDenied); any other filter is
 *   a 400 ErrorInvalidUrlQueryFilter;
 * - `POST /users/{id}/teamwork/installedApps` (TeamsAppInstallation.ReadWriteSelfForUser.All):
 *   `teamsApp@odata.bind` to the catalog app; 201, or 409 Conflict when already installed;
 * - `GET /groups/{id}/members/microsoft.graph.user` (GroupMember.Read.All and User.Read.All):
 *   `$select` checked against `user` in the CSDL, `$top`, pages linked by `@odata.nextLink`;
 * - `GET /users/{id}/manager` (User.Read.All): the manager, or 404 when there is none;
 * - Outlook calendars (Calendars.ReadWrite), served by graphCalendar.ts: `getSchedule`, events
 *   (create with `transactionId`, get, update, delete, cancel), `calendarView/delta`, and
 *   `/subscriptions` with Graph's validation handshake and change notifications; its test
 *   controls (what a person does in Outlook) are `server.calendar`;
 * - `POST /$batch`: at most 20 requests, each answered as above, `{ responses: [...] }`.
 *
 * Errors carry Graph's error body `{ error: { code, message, innerError: { date, request-id } } }`.
 * `fail()` makes the next N matching requests (top-level or inside a batch) answer 429 with
 * Retry-After, 503 or 504, or lose their connection; before or after doing the work. Every request
 * is recorded, with the peak concurrency per mailbox.
 */

// From test/helpers, or from dist/test/helpers when compiled (the benchmarks).
export const TLS_DIR = [path.resolve(__dirname, '../fixtures/tls'), path.resolve(__dirname, '../../../test/fixtures/tls')].find((d) => fs.existsSync(d)) ?? path.resolve(__dirname, '../fixtures/tls');
export const TEST_CA = path.join(TLS_DIR, 'ca.pem');
/** The test app registration's certificate and key (GRAPH_CLIENT_CERTIFICATE_PATH). */
export const APP_CREDENTIAL = path.join(TLS_DIR, 'app-credential.pem');

export const ALL_ROLES = ['Mail.Send', 'Mail.Read', 'User.Read.All', 'GroupMember.Read.All', 'TeamsAppInstallation.ReadWriteSelfForUser.All', 'Calendars.ReadWrite'];

export interface DirectoryUser {
  id: string;
  displayName: string;
  mail: string | null;
  userPrincipalName: string;
  accountEnabled: boolean;
}

export interface RecordedRequest {
  method: string;
  /** The path with the version, and the query: `/v1.0/users/x/sendMail`. */
  path: string;
  status: number;
  inBatch: boolean;
  at: number;
}

export interface SentMail {
  mailbox: string;
  message: Record<string, unknown>;
  saveToSentItems?: boolean;
  at: number;
}

export interface Fault {
  /** The answer's status; ignored with `dropConnection`. */
  status: number;
  /** Seconds (Retry-After), for a 429 or 503. */
  retryAfter?: number;
  code?: string;
  /** Which requests it hits (a batch's steps have `inBatch`); default every request but the `$batch` envelope itself. */
  match?: (request: { method: string; path: string; inBatch: boolean }) => boolean;
  /** The request is done, and then answered with the fault (a gateway timing out on work that went through). */
  afterWork?: boolean;
  /** No answer: the connection is closed (inside a batch, the batch's). Recorded with status 0. */
  dropConnection?: boolean;
}

/** A message in a mailbox's Sent Items, as sent (its extended properties included). */
export interface SentItem {
  id: string;
  mailbox: string;
  message: Record<string, unknown>;
  sentDateTime: string;
  /** When Exchange has filed it: it is not listed before. */
  filedAt: number;
}

export interface GraphServerOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The app's certificate (PEM): client assertions signed with its key are accepted. */
  clientCertificate?: string;
  tokenLifetimeSeconds?: number;
  /** The application permissions tokens carry. */
  roles?: string[];
  /** Each Graph request is answered after this long (so that concurrency shows). */
  latencyMs?: number;
  /** Members per page unless `$top` says fewer. */
  pageSize?: number;
  teamsAppCatalogId?: string;
  /** How long after a sendMail its copy appears in Sent Items (Exchange files it a moment later). */
  sentItemsDelayMs?: number;
}

export interface GraphServer {
  url: string;
  /** AZURE_AUTHORITY_HOST and GRAPH_ENDPOINT: both this server. */
  authorityHost: string;
  endpoint: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  teamsAppCatalogId: string;
  /** The environment that points the product here (GRAPH_* with the secret). */
  env(extra?: Record<string, string>): NodeJS.ProcessEnv;
  tokenRequests: Array<{ at: number; credential: 'secret' | 'assertion'; granted: boolean }>;
  discoveryRequests: number;
  requests: RecordedRequest[];
  sentMail: SentMail[];
  /** Every mailbox's Sent Items, oldest first. */
  sentItems: SentItem[];
  /** userId -> catalog app ids installed for them. */
  installed: Map<string, Set<string>>;
  /** The sizes of the `$batch`es received. */
  batchSizes: number[];
  /** The most requests in flight at once, per mailbox (`/users/{id}/...`). */
  peakConcurrency: Map<string, number>;
  users: Map<string, DirectoryUser>;
  groups: Map<string, string[]>;
  managers: Map<string, string>;
  /** Paths nobody serves (404), to spot a client asking for something unexpected. */
  unserved: string[];
  /** Outlook calendars and subscriptions: what a person does in Outlook, and what was notified. */
  calendar: CalendarControls;
  /** The next `count` matching requests get this answer instead. */
  fail(count: number, fault: Fault): void;
  /** Forgets what was recorded, Sent Items included (not the directory, installs, tokens, calendars or subscriptions). */
  reset(): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Graph's CSDL: the property names and types of the entity and complex types, the enum members and
// the actions' parameters, read once from the reference file.

interface CsdlType {
  base?: string;
  properties: Map<string, { type: string; nullable: boolean; navigation: boolean }>;
}

export interface Csdl {
  types: Map<string, CsdlType>;
  enums: Map<string, Set<string>>;
  actions: Map<string, Array<{ name: string; type: string; nullable: boolean }>>;
}

let csdlCache: Csdl | undefined;

/** Graph v1.0's schema (microsoft.graph namespace only), from ../shared/reference/graph/v1.0-cleanMetadata.xml. */
export function graphCsdl(): Csdl {
  if (csdlCache) return csdlCache;
  const xml = readReference('graph/v1.0-cleanMetadata.xml');
  const start = xml.indexOf('<Schema Namespace="microsoft.graph"');
  const schema = xml.slice(start, xml.indexOf('</Schema>', start));
  const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];
  const types = new Map<string, CsdlType>();
  for (const m of schema.matchAll(/<(EntityType|ComplexType)\s([^>]*?)(\/?)>([\s\S]*?)(?=<(?:\/EntityType|\/ComplexType|EntityType|ComplexType)[\s>])/g)) {
    const head = m[2];
    const name = attr(` ${head}`, 'Name')!;
    const properties = new Map<string, { type: string; nullable: boolean; navigation: boolean }>();
    if (!m[3]) {
      for (const p of m[4].matchAll(/<(Property|NavigationProperty)\s([^>]*?)\/?>/g)) {
        properties.set(attr(` ${p[2]}`, 'Name')!, { type: attr(` ${p[2]}`, 'Type')!, nullable: attr(` ${p[2]}`, 'Nullable') !== 'false', navigation: p[1] === 'NavigationProperty' });
      }
    }
    types.set(`graph.${name}`, { base: attr(` ${head}`, 'BaseType'), properties });
  }
  const enums = new Map<string, Set<string>>();
  for (const m of schema.matchAll(/<EnumType\s[^>]*?Name="([^"]+)"[^>]*>([\s\S]*?)<\/EnumType>/g)) {
    enums.set(`graph.${m[1]}`, new Set([...m[2].matchAll(/<Member Name="([^"]+)"/g)].map((x) => x[1])));
  }
  const actions = new Map<string, Array<{ name: string; type: string; nullable: boolean }>>();
  for (const m of schema.matchAll(/<Action Name="([^"]+)" IsBound="true"[^>]*>([\s\S]*?)<\/Action>/g)) {
    const params = [...m[2].matchAll(/<Parameter\s([^>]*?)\/>/g)].map((p) => ({ name: attr(` ${p[1]}`, 'Name')!, type: attr(` ${p[1]}`, 'Type')!, nullable: attr(` ${p[1]}`, 'Nullable') !== 'false' }));
    // Several actions share a name (bound to different types): keep the one bound to a user.
    if (params[0]?.type === 'graph.user' || !actions.has(m[1])) actions.set(m[1], params);
  }
  csdlCache = { types, enums, actions };
  return csdlCache;
}

/** A type's property, looked up through its base types. */
export function csdlProperty(csdl: Csdl, typeName: string, property: string): { type: string; nullable: boolean; navigation: boolean } | undefined {
  for (let t: string | undefined = typeName; t; t = csdl.types.get(t)?.base) {
    const p = csdl.types.get(t)?.properties.get(property);
    if (p) return p;
  }
  return undefined;
}

/**
 * The first way `value` does not fit `type` (property names, JSON types, enum members), or null.
 * Instance annotations (`@odata.type`, `x@odata.bind`) are checked only for naming a navigation property.
 */
export function csdlFault(csdl: Csdl, type: string, value: unknown, where: string): string | null {
  const collection = /^Collection\((.+)\)$/.exec(type);
  if (value === null) return null;
  if (collection) {
    if (!Array.isArray(value)) return `${where} must be an array (${type})`;
    for (let i = 0; i < value.length; i++) {
      const fault = csdlFault(csdl, collection[1], value[i], `${where}[${i}]`);
      if (fault) return fault;
    }
    return null;
  }
  if (type === 'Edm.String' || type === 'Edm.DateTimeOffset' || type === 'Edm.Guid' || type === 'Edm.Binary' || type === 'Edm.Date') return typeof value === 'string' ? null : `${where} must be a string (${type})`;
  if (type === 'Edm.Boolean') return typeof value === 'boolean' ? null : `${where} must be a boolean`;
  if (/^Edm\.(Int\d+|Double|Single|Decimal)$/.test(type)) return typeof value === 'number' ? null : `${where} must be a number (${type})`;
  const members = csdl.enums.get(type);
  if (members) return typeof value === 'string' && [...members].some((m) => m.toLowerCase() === value.toLowerCase()) ? null : `${where}: '${String(value)}' is not a member of ${type}`;
  if (!csdl.types.has(type)) return null; // a type from another namespace: not checked here
  if (typeof value !== 'object' || Array.isArray(value)) return `${where} must be an object (${type})`;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key.startsWith('@')) continue;
    const bind = /^(.+)@odata\.bind$/.exec(key);
    if (bind) {
      if (!csdlProperty(csdl, type, bind[1])?.navigation) return `The property '${bind[1]}' does not exist on type '${type.replace('graph.', 'microsoft.graph.')}' as a navigation property`;
      continue;
    }
    if (key.includes('@')) continue;
    const property = csdlProperty(csdl, type, key);
    if (!property) return `The property '${key}' does not exist on type '${type.replace('graph.', 'microsoft.graph.')}'. Make sure to only use property names that are defined by the type.`;
    const fault = csdlFault(csdl, property.type, v, `${where}.${key}`);
    if (fault) return fault;
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Not answered: the connection is closed. */
  dropConnection?: boolean;
}

export interface GraphCall {
  method: string;
  /** Path and query, with the version: `/v1.0/users/x/manager?$select=id`. */
  url: string;
  headers: Record<string, string>;
  body: unknown;
  inBatch: boolean;
  roles: readonly string[];
}

const EMAIL = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;

/** Graph's error body, as every Graph service answers a failed request. */
export function graphErrorBody(code: string, message: string, requestId = randomUUID()) {
  return { error: { code, message, innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': requestId, 'client-request-id': requestId } } };
}

const base64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

/** Single-value extended property types (https://learn.microsoft.com/graph/api/resources/extended-properties-overview). */
const EXTENDED_PROPERTY_TYPES = new Set(['binary', 'boolean', 'clsid', 'currency', 'double', 'integer', 'long', 'object', 'short', 'systemtime', 'string']);

/**
 * An extended property id in one of Graph's three formats (`{type} {guid} Name {name}`,
 * `{type} {guid} Id {id}`, `{type} {proptag}`) as compared: the type, GUID and tag without case,
 * a name with case (Graph: "Filtering the string name (Name) in the id of an extended property is
 * case-sensitive"); null when it is none of them.
 */
export function extendedPropertyKey(id: string): string | null {
  const named = /^(\w+) \{([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\} (Name|Id) (\S.*)$/i.exec(id.trim());
  if (named) {
    if (!EXTENDED_PROPERTY_TYPES.has(named[1].toLowerCase())) return null;
    const kind = named[3].toLowerCase();
    if (kind === 'id' && !/^(0x[0-9a-f]{1,4}|\d+)$/i.test(named[4])) return null;
    return `${named[1].toLowerCase()} {${named[2].toLowerCase()}} ${kind} ${kind === 'id' ? named[4].toLowerCase() : named[4]}`;
  }
  const tagged = /^(\w+) (0x[0-9a-f]{4,8})$/i.exec(id.trim());
  return tagged && EXTENDED_PROPERTY_TYPES.has(tagged[1].toLowerCase()) ? id.trim().toLowerCase() : null;
}

/**
 * The one `$filter` form the Sent Items listing understands, Graph's documented filter on a
 * string-valued extended property: `singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')`.
 */
export function extendedPropertyFilter(filter: string): { id: string; value: string } | null {
  const text = `'((?:[^']|'')*)'`;
  const m = new RegExp(`^\\s*singleValueExtendedProperties/any\\(\\s*(\\w+)\\s*:\\s*\\1/id\\s+eq\\s+${text}\\s+and\\s+\\1/value\\s+eq\\s+${text}\\s*\\)\\s*$`, 'i').exec(filter);
  return m ? { id: m[2].replace(/''/g, "'"), value: m[3].replace(/''/g, "'") } : null;
}

export async function startGraphServer(options: GraphServerOptions = {}): Promise<GraphServer> {
  // Node reads its extra CAs once, at start: the test CA cannot be trusted from here.
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  const trusted = extra && fs.existsSync(extra) ? fs.readFileSync(extra, 'utf8') : '';
  if (!trusted.replace(/\s/g, '').includes(fs.readFileSync(TEST_CA, 'utf8').replace(/\s/g, ''))) {
    throw new Error(`The Graph tests need the test CA trusted from the start: run them with NODE_EXTRA_CA_CERTS=test/fixtures/tls/ca.pem (npm test sets it); it is ${process.env.NODE_EXTRA_CA_CERTS ?? 'unset'}`);
  }
  const csdl = graphCsdl();
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? `secret-${randomBytes(12).toString('hex')}`;
  const teamsAppCatalogId = options.teamsAppCatalogId ?? randomUUID();
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const roles = options.roles ?? ALL_ROLES;
  const pageSize = options.pageSize ?? 100;
  const certificate = options.clientCertificate ? new X509Certificate(options.clientCertificate) : undefined;
  const certificateKey: KeyObject | undefined = certificate ? createPublicKey(certificate.toString()) : undefined;

  const tokens = new Map<string, { exp: number; roles: readonly string[] }>();
  const faults: Array<Fault & { left: number }> = [];
  const inFlight = new Map<string, number>();
  const calendar = createCalendarService({
    csdl,
    csdlFault,
    csdlProperty,
    graphError: (status, code, message, headers) => graphError(status, code, message, headers),
    endpoint: () => server.endpoint,
    tenantId,
    clientId,
    users: () => server.users,
  });

  const server: GraphServer = {
    url: '',
    authorityHost: '',
    endpoint: '',
    tenantId,
    clientId,
    clientSecret,
    teamsAppCatalogId,
    env: (extra = {}) => ({
      GRAPH_CLIENT_ID: clientId,
      GRAPH_CLIENT_SECRET: clientSecret,
      GRAPH_TENANT_ID: tenantId,
      GRAPH_ENDPOINT: server.endpoint,
      AZURE_AUTHORITY_HOST: server.authorityHost,
      TEAMS_APP_CATALOG_ID: teamsAppCatalogId,
      ...extra,
    }),
    tokenRequests: [],
    discoveryRequests: 0,
    requests: [],
    sentMail: [],
    sentItems: [],
    installed: new Map(),
    batchSizes: [],
    peakConcurrency: new Map(),
    users: new Map(),
    groups: new Map(),
    managers: new Map(),
    unserved: [],
    calendar: calendar.controls,
    fail(count, fault) {
      faults.push({ ...fault, left: count });
    },
    reset() {
      server.tokenRequests.length = 0;
      server.discoveryRequests = 0;
      server.requests.length = 0;
      server.sentMail.length = 0;
      server.sentItems.length = 0;
      server.batchSizes.length = 0;
      server.peakConcurrency.clear();
      server.unserved.length = 0;
      faults.length = 0;
      calendar.resetRecords();
    },
    close: async () => {
      await calendar.controls.settled();
      await new Promise<void>((resolve) => {
        http.closeAllConnections();
        http.close(() => resolve());
      });
    },
  };

  // --- Entra ID -------------------------------------------------------------------------------

  const discovery = (tenant: string) => ({
    token_endpoint: `${server.authorityHost}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${server.authorityHost}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: `${server.authorityHost}/${tenantId}/v2.0`,
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${server.endpoint}/oidc/userinfo`,
    authorization_endpoint: `${server.authorityHost}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${server.authorityHost}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${server.authorityHost}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid'],
    kerberos_endpoint: `${server.authorityHost}/${tenant}/kerberos`,
    tenant_region_scope: 'EU',
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: new URL(server.endpoint).host,
  });

  const entraError = (status: number, error: string, code: number, description: string): Answer => ({
    status,
    body: { error, error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`, error_codes: [code], timestamp: new Date().toISOString(), trace_id: randomUUID(), correlation_id: randomUUID() },
  });

  /** A client assertion (RFC 7523) signed by the app's certificate, for this token endpoint, not expired. */
  function assertionFault(assertion: string, tokenEndpoint: string): string | null {
    if (!certificate || !certificateKey) return 'no certificate is registered for the app';
    const [h, p, s] = assertion.split('.');
    if (!h || !p || !s) return 'the assertion is not a JWT';
    let header: Record<string, string>;
    let payload: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(h, 'base64url').toString());
      payload = JSON.parse(Buffer.from(p, 'base64url').toString());
    } catch {
      return 'the assertion is not a JWT';
    }
    const raw = certificate.raw;
    const thumbprints = { 'x5t#S256': base64url(createHash('sha256').update(raw).digest()), x5t: base64url(createHash('sha1').update(raw).digest()) };
    if (header['x5t#S256'] !== thumbprints['x5t#S256'] && header.x5t !== thumbprints.x5t) return 'the certificate thumbprint is not registered';
    const data = Buffer.from(`${h}.${p}`);
    const signature = Buffer.from(s, 'base64url');
    const valid =
      header.alg === 'PS256'
        ? verify('sha256', data, { key: certificateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature)
        : header.alg === 'RS256'
          ? verify('sha256', data, certificateKey, signature)
          : false;
    if (!valid) return 'the signature is not valid';
    if (payload.aud !== tokenEndpoint) return `the audience ${String(payload.aud)} is not ${tokenEndpoint}`;
    if (payload.iss !== clientId || payload.sub !== clientId) return 'iss and sub must be the client id';
    if (typeof payload.exp !== 'number' || payload.exp * 1000 < Date.now()) return 'the assertion has expired';
    return null;
  }

  function token(tenant: string, form: URLSearchParams): Answer {
    const credential = form.has('client_assertion') ? 'assertion' : 'secret';
    const record = { at: Date.now(), credential, granted: false } as GraphServer['tokenRequests'][number];
    server.tokenRequests.push(record);
    if (tenant !== tenantId) return entraError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found.`);
    if (form.get('grant_type') !== 'client_credentials') return entraError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== clientId) return entraError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory.`);
    const scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    if (!scopes.includes(`${server.endpoint}/.default`) || scopes.some((s) => s.endsWith('/.default') && s !== `${server.endpoint}/.default`)) {
      return entraError(400, 'invalid_scope', 1002012, `The provided value for scope ${form.get('scope')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.`);
    }
    if (credential === 'assertion') {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return entraError(400, 'invalid_request', 90002, 'client_assertion_type is missing or wrong.');
      const fault = assertionFault(form.get('client_assertion') ?? '', `${server.authorityHost}/${tenant}/oauth2/v2.0/token`);
      if (fault) return entraError(401, 'invalid_client', 700027, `Client assertion failed signature validation: ${fault}.`);
    } else if (form.get('client_secret') !== clientSecret) {
      return entraError(401, 'invalid_client', 7000215, 'Invalid client secret provided.');
    }
    const exp = Math.floor(Date.now() / 1000) + lifetime;
    const accessToken = [
      base64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', x5t: 'test' })),
      base64url(JSON.stringify({ aud: server.endpoint, iss: `https://sts.windows.net/${tenantId}/`, tid: tenantId, appid: clientId, roles, exp, idtyp: 'app' })),
      base64url(randomBytes(32)),
    ].join('.');
    tokens.set(accessToken, { exp, roles });
    record.granted = true;
    return { status: 200, body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: accessToken } };
  }

  // --- Graph ----------------------------------------------------------------------------------

  const graphError = (status: number, code: string, message: string, headers?: Record<string, string>): Answer => ({ status, headers, body: graphErrorBody(code, message) });
  const denied = (role: string) => graphError(403, 'Authorization_RequestDenied', `Insufficient privileges to complete the operation. (The application needs ${role}.)`);

  const selectFault = (query: URLSearchParams): Answer | null => {
    for (const name of (query.get('$select') ?? '').split(',').filter(Boolean)) {
      if (!csdlProperty(csdl, 'graph.user', name)) return graphError(400, 'Request_BadRequest', `Parsing OData Select and Expand failed: Could not find a property named '${name}' on type 'microsoft.graph.user'.`);
    }
    return null;
  };
  const pick = (user: DirectoryUser, query: URLSearchParams) => {
    const select = (query.get('$select') ?? '').split(',').filter(Boolean);
    const all = user as unknown as Record<string, unknown>;
    return { '@odata.type': '#microsoft.graph.user', ...(select.length ? Object.fromEntries(['id', ...select].map((k) => [k, all[k] ?? null])) : all) };
  };

  function sendMail(mailbox: string, call: GraphCall): Answer {
    if (!call.roles.includes('Mail.Send')) return denied('Mail.Send');
    if (!(call.headers['content-type'] ?? '').startsWith('application/json')) return graphError(415, 'UnsupportedMediaType', 'The content type is not supported: application/json is expected.');
    const body = call.body as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) return graphError(400, 'UnableToDeserializePostBody', 'Were unable to deserialize ');
    const parameters = csdl.actions.get('sendMail')!.filter((p) => p.name !== 'bindingParameter');
    const values: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(body)) {
      // Action parameters are matched without regard to case: the CSDL says Message, the documentation message.
      const parameter = parameters.find((p) => p.name.toLowerCase() === key.toLowerCase());
      if (!parameter) return graphError(400, 'BadRequest', `The parameter '${key}' in the request payload is not a valid parameter for the operation 'sendMail'.`);
      const fault = csdlFault(csdl, parameter.type, value, key);
      if (fault) return graphError(400, 'BadRequest', fault);
      values[parameter.name] = value;
    }
    const missing = parameters.find((p) => !p.nullable && values[p.name] === undefined);
    if (missing) return graphError(400, 'ErrorInvalidParameter', `The value of the parameter '${missing.name}' is empty.`);
    const message = values.Message as Record<string, unknown>;
    const recipients = ['toRecipients', 'ccRecipients', 'bccRecipients'].flatMap((k) => (message[k] as Array<{ emailAddress?: { address?: string } }> | undefined) ?? []);
    if (recipients.length === 0) return graphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid., Recipient is missing.');
    if (recipients.some((r) => !EMAIL.test(r.emailAddress?.address ?? ''))) return graphError(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid., A message can\u2019t be sent because it contains no recipients.');
    for (const property of (message.singleValueExtendedProperties as Array<{ id?: unknown }> | undefined) ?? []) {
      if (typeof property?.id !== 'string' || !extendedPropertyKey(property.id)) return graphError(400, 'ErrorInvalidProperty', `The extended property id '${String(property?.id)}' is not valid.`);
    }
    const at = Date.now();
    server.sentMail.push({ mailbox, message, ...(typeof values.SaveToSentItems === 'boolean' ? { saveToSentItems: values.SaveToSentItems } : {}), at });
    if (values.SaveToSentItems !== false) {
      server.sentItems.push({ id: base64url(randomBytes(48)), mailbox, message, sentDateTime: new Date(at).toISOString().replace(/\.\d+Z$/, 'Z'), filedAt: at + (options.sentItemsDelayMs ?? 0) });
    }
    return { status: 202 };
  }

  /** Exchange's answer to a mailbox request the app's permissions do not cover. */
  const mailDenied = () => graphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');

  function sentItems(mailbox: string, folder: string, query: URLSearchParams, call: GraphCall): Answer {
    const readsAll = call.roles.includes('Mail.Read') || call.roles.includes('Mail.ReadWrite');
    if (!readsAll && !call.roles.includes('Mail.ReadBasic.All')) return mailDenied();
    if (folder.toLowerCase() !== 'sentitems') {
      server.unserved.push(`${call.method} ${call.url}`);
      return graphError(404, 'ErrorItemNotFound', 'The specified object was not found in the store.');
    }
    const filterText = query.get('$filter');
    const filter = filterText === null ? null : extendedPropertyFilter(filterText);
    const filterKey = filter ? extendedPropertyKey(filter.id) : null;
    if (filterText !== null && !filterKey) return graphError(400, 'ErrorInvalidUrlQueryFilter', 'The query filter contains one or more invalid nodes.');
    // Mail.ReadBasic.All reads every property but the body, attachments and extended properties.
    if (filter && !readsAll) return mailDenied();
    const select = (query.get('$select') ?? '').split(',').map((n) => n.trim()).filter(Boolean);
    for (const name of select) {
      if (!csdlProperty(csdl, 'graph.message', name) || csdlProperty(csdl, 'graph.message', name)!.navigation) {
        return graphError(400, 'RequestBroker--ParseUri', `Could not find a property named '${name}' on type 'Microsoft.OutlookServices.Message'.`);
      }
      if (!readsAll && (name === 'body' || name === 'uniqueBody')) return mailDenied();
    }
    const top = Math.min(Math.max(Number(query.get('$top') ?? 10) || 10, 1), 1000);
    const skip = Math.max(Number(query.get('$skip') ?? 0) || 0, 0);
    const now = Date.now();
    const matches = (item: SentItem) =>
      !filter ||
      ((item.message.singleValueExtendedProperties as Array<{ id: string; value: string }> | undefined) ?? []).some(
        (p) => extendedPropertyKey(p.id) === filterKey && String(p.value).toLowerCase() === filter.value.toLowerCase(),
      );
    const found = server.sentItems.filter((item) => item.mailbox === mailbox && item.filedAt <= now && matches(item)).reverse();
    const view = (item: SentItem) => {
      const { singleValueExtendedProperties: _extended, ...fields } = item.message;
      const all: Record<string, unknown> = { id: item.id, ...fields, sentDateTime: item.sentDateTime, isDraft: false, parentFolderId: 'sentitems' };
      if (!readsAll) delete all.body;
      return { '@odata.etag': `W/"${createHash('sha1').update(item.id).digest('base64')}"`, ...(select.length ? Object.fromEntries(['id', ...select].map((k) => [k, all[k] ?? null])) : all) };
    };
    const next = new URLSearchParams(query);
    next.set('$skip', String(skip + top));
    return {
      status: 200,
      body: {
        '@odata.context': `${server.endpoint}/v1.0/$metadata#users('${mailbox}')/mailFolders('sentitems')/messages`,
        value: found.slice(skip, skip + top).map(view),
        ...(skip + top < found.length ? { '@odata.nextLink': `${server.endpoint}/v1.0/users/${encodeURIComponent(mailbox)}/mailFolders/sentitems/messages?${next.toString()}` } : {}),
      },
    };
  }

  function installApp(userId: string, call: GraphCall): Answer {
    if (!call.roles.includes('TeamsAppInstallation.ReadWriteSelfForUser.All')) return denied('TeamsAppInstallation.ReadWriteSelfForUser.All');
    const body = call.body as Record<string, unknown> | null;
    const fault = body && typeof body === 'object' ? csdlFault(csdl, 'graph.userScopeTeamsAppInstallation', body, 'body') : 'the body must be a JSON object';
    if (fault) return graphError(400, 'BadRequest', fault);
    const bind = String(body!['teamsApp@odata.bind'] ?? '');
    const app = new RegExp(`^${server.endpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(v1\\.0|beta)/appCatalogs/teamsApps/([^/]+)$`).exec(bind)?.[2];
    if (!app) return graphError(400, 'BadRequest', 'teamsApp@odata.bind must name an app in the catalog: {endpoint}/v1.0/appCatalogs/teamsApps/{id}.');
    if (app !== teamsAppCatalogId) return graphError(404, 'NotFound', `The app ${app} was not found in the tenant app catalog.`);
    if (server.users.size > 0 && !server.users.has(userId)) return graphError(404, 'NotFound', `User ${userId} was not found.`);
    const installed = server.installed.get(userId) ?? new Set<string>();
    if (installed.has(app)) return graphError(409, 'Conflict', 'App is already installed.');
    installed.add(app);
    server.installed.set(userId, installed);
    return { status: 201 };
  }

  function members(groupId: string, query: URLSearchParams, call: GraphCall): Answer {
    if (!call.roles.includes('GroupMember.Read.All')) return denied('GroupMember.Read.All');
    if (!call.roles.includes('User.Read.All')) return denied('User.Read.All');
    const ids = server.groups.get(groupId);
    if (!ids) return graphError(404, 'Request_ResourceNotFound', `Resource '${groupId}' does not exist or one of its queried reference-property objects are not present.`);
    const badSelect = selectFault(query);
    if (badSelect) return badSelect;
    const top = Math.min(Number(query.get('$top') ?? pageSize) || pageSize, 999);
    const token = query.get('$skiptoken');
    const from = token ? Number(/^offset:(\d+)$/.exec(Buffer.from(token, 'base64').toString())?.[1] ?? NaN) : 0;
    if (!Number.isInteger(from)) return graphError(400, 'Request_BadRequest', 'The specified page token value has expired or is invalid.');
    const page = ids.slice(from, from + top).map((id) => server.users.get(id)).filter((u): u is DirectoryUser => !!u);
    const next = new URLSearchParams(query);
    next.set('$skiptoken', Buffer.from(`offset:${from + top}`).toString('base64'));
    return {
      status: 200,
      body: {
        '@odata.context': `${server.endpoint}/v1.0/$metadata#users`,
        value: page.map((u) => pick(u, query)),
        // Graph's page tokens are opaque and percent-encoded; the client must follow the link as given.
        ...(from + top < ids.length ? { '@odata.nextLink': `${server.endpoint}/v1.0/groups/${groupId}/members/microsoft.graph.user?${next.toString().replace(/%24/g, '$').replace(/%2C/g, ',')}` } : {}),
      },
    };
  }

  function manager(userId: string, query: URLSearchParams, call: GraphCall): Answer {
    if (!call.roles.includes('User.Read.All')) return denied('User.Read.All');
    if (!server.users.has(userId)) return graphError(404, 'Request_ResourceNotFound', `Resource '${userId}' does not exist or one of its queried reference-property objects are not present.`);
    const badSelect = selectFault(query);
    if (badSelect) return badSelect;
    const managerId = server.managers.get(userId);
    const found = managerId ? server.users.get(managerId) : undefined;
    if (!found) return graphError(404, 'Request_ResourceNotFound', "Resource 'manager' does not exist or one of its queried reference-property objects are not present.");
    return { status: 200, body: { '@odata.context': `${server.endpoint}/v1.0/$metadata#directoryObjects/$entity`, ...pick(found, query) } };
  }

  async function batch(call: GraphCall): Promise<Answer> {
    const requests = (call.body as { requests?: unknown })?.requests;
    if (!Array.isArray(requests) || requests.length === 0) return graphError(400, 'BadRequest', 'Invalid batch payload format.');
    if (requests.length > 20) return graphError(400, 'BadRequest', 'Number of batch request steps exceeds the maximum of 20.');
    server.batchSizes.push(requests.length);
    const ids = new Set<string>();
    const responses = [];
    for (const r of requests as Array<{ id?: unknown; method?: unknown; url?: unknown; headers?: Record<string, string>; body?: unknown }>) {
      if (typeof r.id !== 'string' || ids.has(r.id) || typeof r.method !== 'string' || typeof r.url !== 'string' || /^https?:/i.test(r.url)) {
        return graphError(400, 'BadRequest', 'Each batch request needs a unique id, a method and a relative url.');
      }
      ids.add(r.id);
      const headers = Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
      if (r.body !== undefined && !headers['content-type']) {
        responses.push({ id: r.id, status: 400, headers: { 'content-type': 'application/json' }, body: graphErrorBody('BadRequest', 'Content-Type header must be specified for a request with a body.') });
        continue;
      }
      const answer = await graphCall({ method: r.method.toUpperCase(), url: `/v1.0${r.url.startsWith('/') ? '' : '/'}${r.url}`, headers, body: r.body, inBatch: true, roles: call.roles });
      if (answer.dropConnection) return answer;
      responses.push({ id: r.id, status: answer.status, headers: { 'content-type': 'application/json', ...answer.headers }, ...(answer.body !== undefined ? { body: answer.body } : {}) });
    }
    return { status: 200, body: { responses } };
  }

  function injected(method: string, url: string, inBatch: boolean, afterWork: boolean): Answer | null {
    const fault = faults.find((f) => f.left > 0 && Boolean(f.afterWork) === afterWork && (f.match ? f.match({ method, path: url, inBatch }) : !url.startsWith('/v1.0/$batch')));
    if (!fault) return null;
    fault.left--;
    if (fault.dropConnection) return { status: 0, dropConnection: true };
    const code = fault.code ?? (fault.status === 429 ? 'TooManyRequests' : fault.status === 503 ? 'serviceNotAvailable' : fault.status === 504 ? 'gatewayTimeout' : 'generalException');
    const message = fault.status === 429 ? 'Too many requests. Please retry after the time given in Retry-After.' : 'The service is temporarily unavailable.';
    return graphError(fault.status, code, message, fault.retryAfter !== undefined ? { 'Retry-After': String(fault.retryAfter) } : undefined);
  }

  async function graphCall(call: GraphCall): Promise<Answer> {
    const parsed = new URL(call.url, 'https://graph.invalid');
    const path = decodeURIComponent(parsed.pathname);
    const query = parsed.searchParams;
    const worked = await (async (): Promise<Answer> => {
      const fault = injected(call.method, call.url, call.inBatch, false);
      if (fault) return fault;
      let m: RegExpExecArray | null;
      if (call.method === 'POST' && path === '/v1.0/$batch' && !call.inBatch) return batch(call);
      if ((m = /^\/v1\.0\/users\/([^/]+)\/sendMail$/.exec(path)) && call.method === 'POST') return sendMail(m[1].toLowerCase(), call);
      if ((m = /^\/v1\.0\/users\/([^/]+)\/mailFolders\/([^/]+)\/messages$/.exec(path)) && call.method === 'GET') return sentItems(m[1].toLowerCase(), m[2], query, call);
      if ((m = /^\/v1\.0\/users\/([^/]+)\/teamwork\/installedApps$/.exec(path)) && call.method === 'POST') return installApp(m[1].toLowerCase(), call);
      if ((m = /^\/v1\.0\/groups\/([^/]+)\/members\/microsoft\.graph\.user$/.exec(path)) && call.method === 'GET') return members(m[1].toLowerCase(), query, call);
      if ((m = /^\/v1\.0\/users\/([^/]+)\/manager$/.exec(path)) && call.method === 'GET') return manager(m[1].toLowerCase(), query, call);
      const calendarAnswer = await calendar.route(call, path, query);
      if (calendarAnswer) return calendarAnswer;
      server.unserved.push(`${call.method} ${call.url}`);
      return graphError(400, 'BadRequest', `Resource not found for the segment '${path.split('/').pop()}'.`);
    })();
    const answer = (worked.status >= 200 && worked.status < 400 && injected(call.method, call.url, call.inBatch, true)) || worked;
    server.requests.push({ method: call.method, path: call.url, status: answer.status, inBatch: call.inBatch, at: Date.now() });
    return answer;
  }

  // --- HTTP -----------------------------------------------------------------------------------

  const send = (res: ServerResponse, answer: Answer) => {
    const requestId = randomUUID();
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    res.writeHead(answer.status, { 'request-id': requestId, 'client-request-id': requestId, ...(body ? { 'content-type': 'application/json' } : {}), ...answer.headers });
    res.end(body);
  };

  async function handle(req: IncomingMessage, raw: string): Promise<Answer> {
    const url = req.url ?? '/';
    const { pathname } = new URL(url, server.url);
    const method = req.method ?? 'GET';
    let m: RegExpExecArray | null;
    if (method === 'GET' && (m = /^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/.exec(pathname))) {
      server.discoveryRequests++;
      return { status: 200, body: discovery(m[1]) };
    }
    if (method === 'GET' && /^\/[^/]+\/discovery\/v2\.0\/keys$/.test(pathname)) return { status: 200, body: { keys: [] } };
    if (method === 'POST' && (m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(pathname))) return token(m[1], new URLSearchParams(raw));
    if (!pathname.startsWith('/v1.0/')) {
      server.unserved.push(`${method} ${url}`);
      return { status: 404, body: graphErrorBody('NotFound', `${pathname} is not served here`) };
    }

    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const held = tokens.get(bearer);
    if (!held) return graphError(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed.');
    if (held.exp * 1000 <= Date.now()) return graphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.');
    let body: unknown;
    if (raw) {
      try {
        body = JSON.parse(raw);
      } catch {
        return graphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
      }
    }
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
    const mailbox = /^\/v1\.0\/users\/([^/]+)\//.exec(pathname)?.[1];
    const key = mailbox ? decodeURIComponent(mailbox).toLowerCase() : undefined;
    if (key) {
      const now = (inFlight.get(key) ?? 0) + 1;
      inFlight.set(key, now);
      server.peakConcurrency.set(key, Math.max(server.peakConcurrency.get(key) ?? 0, now));
    }
    try {
      if (options.latencyMs) await new Promise((r) => setTimeout(r, options.latencyMs));
      return await graphCall({ method, url, headers, body, inBatch: false, roles: held.roles });
    } finally {
      if (key) inFlight.set(key, inFlight.get(key)! - 1);
    }
  }

  const http = https.createServer({ cert: fs.readFileSync(path.join(TLS_DIR, 'server.pem')), key: fs.readFileSync(path.join(TLS_DIR, 'server-key.pem')) }, (req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      handle(req, raw).then(
        (answer) => (answer.dropConnection ? req.socket.destroy() : send(res, answer)),
        (e: Error) => send(res, { status: 500, body: graphErrorBody('generalException', `test server: ${e.message}`) }),
      );
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  server.url = `https://127.0.0.1:${(http.address() as AddressInfo).port}`;
  server.authorityHost = server.url;
  server.endpoint = server.url;
  return server;
}

/** A user of the loopback directory, with a fresh id. */
export function directoryUser(name: string, overrides: Partial<DirectoryUser> = {}): DirectoryUser {
  const local = name.toLowerCase().replace(/[^a-z]+/g, '.');
  return { id: randomUUID(), displayName: name, mail: `${local}@council.example`, userPrincipalName: `${local}@council.example`, accountEnabled: true, ...overrides };
}
