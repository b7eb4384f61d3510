import { createPrivateKey, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import { z } from 'zod';

/**
 * Who the product is to Microsoft Graph, read from the environment (issue 9).
 *
 * The identity defaults to the bot's own app registration, as bot/config.ts reads it:
 * `MicrosoftAppId`, its secret `MicrosoftAppPassword` or its certificate
 * (`MicrosoftAppCertificateThumbprint` with `MicrosoftAppCertificatePrivateKey`), and
 * `MicrosoftAppTenantId`. These override it:
 *
 * | variable | what it is |
 * | --- | --- |
 * | `GRAPH_CLIENT_ID` | another app registration for Graph (then its own secret or certificate is required) |
 * | `GRAPH_CLIENT_SECRET` | that app's client secret |
 * | `GRAPH_CLIENT_CERTIFICATE_PATH` | a PEM file holding that app's certificate and its private key (unencrypted), as Azure's own tools take it; the SHA-256 thumbprint is computed from it |
 * | `GRAPH_TENANT_ID` | the tenant (a GUID or a verified domain) |
 * | `GRAPH_ENDPOINT` | Graph's root, default `https://graph.microsoft.com` (a national cloud: `https://graph.microsoft.us`, `https://microsoftgraph.chinacloudapi.cn`) |
 * | `AZURE_AUTHORITY_HOST` | Entra ID's root, default `https://login.microsoftonline.com` |
 * | `EARLYHELP_MAILBOX` | the service mailbox e-mail is sent from |
 * | `TEAMS_APP_CATALOG_ID` | the Early Help app's id in the tenant's app catalog (for `earlyhelp staff install-app`) |
 *
 * Graph is "wanted" when any of GRAPH_CLIENT_ID, GRAPH_CLIENT_SECRET, GRAPH_CLIENT_CERTIFICATE_PATH,
 * GRAPH_TENANT_ID, EARLYHELP_MAILBOX or TEAMS_APP_CATALOG_ID is set: then anything missing is an
 * error naming the variable. Otherwise the bot's registration is used if it is complete (an id, a
 * secret or certificate, a tenant), and without one Graph is off (local mode): `null`.
 */
export type GraphCredential =
  | { kind: 'secret'; secret: string }
  | { kind: 'certificate'; privateKey: string; thumbprintSha256?: string; thumbprint?: string };

export interface GraphConfig {
  clientId: string;
  tenantId: string;
  credential: GraphCredential;
  /** Graph's root, without a trailing slash or version: `https://graph.microsoft.com`. */
  endpoint: string;
  /** Entra ID's root, without a trailing slash: `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** The service mailbox e-mail goes from; without it no e-mail is sent. */
  mailbox?: string;
  /** The app catalog id of the Early Help Teams app (not the manifest id). */
  teamsAppCatalogId?: string;
  /** Which registration signs in: its own (GRAPH_CLIENT_ID) or the bot's (MicrosoftAppId). */
  identity: 'graph' | 'bot';
}

/** A Graph setting the product cannot start with; the message names the variable to fix. */
export class GraphConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'GraphConfigError';
  }
}

export const DEFAULT_GRAPH_ENDPOINT = 'https://graph.microsoft.com';
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

const WANTED = ['GRAPH_CLIENT_ID', 'GRAPH_CLIENT_SECRET', 'GRAPH_CLIENT_CERTIFICATE_PATH', 'GRAPH_TENANT_ID', 'EARLYHELP_MAILBOX', 'TEAMS_APP_CATALOG_ID'] as const;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i;

/** An https root: scheme, host and port only (Graph and Entra ID are never spoken to in clear). */
const httpsRoot = z
  .string()
  .trim()
  .transform((s) => s.replace(/\/+$/, ''))
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'https:' && (u.pathname === '/' || u.pathname === '') && !u.search && !u.hash && !u.username;
    } catch {
      return false;
    }
  }, 'must be an https:// address with no path, e.g. https://graph.microsoft.com');

const optionalText = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim() || undefined);

const envSchema = z.object({
  GRAPH_CLIENT_ID: optionalText.refine((s) => !s || GUID.test(s), 'must be an application (client) id, a GUID'),
  GRAPH_CLIENT_SECRET: optionalText,
  GRAPH_CLIENT_CERTIFICATE_PATH: optionalText,
  GRAPH_TENANT_ID: optionalText.refine((s) => !s || GUID.test(s) || DOMAIN.test(s), 'must be a tenant id (a GUID) or a verified domain such as council.onmicrosoft.com'),
  GRAPH_ENDPOINT: optionalText.pipe(httpsRoot.optional()),
  AZURE_AUTHORITY_HOST: optionalText.pipe(httpsRoot.optional()),
  EARLYHELP_MAILBOX: optionalText.refine((s) => !s || z.string().email().safeParse(s).success, 'must be the service mailbox\u2019s e-mail address'),
  TEAMS_APP_CATALOG_ID: optionalText.refine((s) => !s || GUID.test(s), 'must be the app\u2019s id in the tenant app catalog, a GUID (Teams admin center, or GET /appCatalogs/teamsApps?$filter=externalId eq \u2018{manifest id}\u2019)'),
  MicrosoftAppId: optionalText,
  MicrosoftAppPassword: optionalText,
  MicrosoftAppTenantId: optionalText,
  MicrosoftAppCertificateThumbprint: optionalText,
  MicrosoftAppCertificatePrivateKey: optionalText,
});

type Env = z.infer<typeof envSchema>;

/**
 * Reads and checks the Graph settings, failing at startup with the variable to fix; `null` when
 * Graph is not configured (local mode). Reads the certificate file, if one is named.
 */
export function graphConfigFromEnv(env: NodeJS.ProcessEnv = process.env, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): GraphConfig | null {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new GraphConfigError(String(issue.path[0] ?? 'environment'), issue.message);
  }
  const e = parsed.data;
  const wanted = WANTED.some((name) => e[name] !== undefined);
  const own = e.GRAPH_CLIENT_ID !== undefined;
  try {
    return configOf(e, wanted, own, readFile);
  } catch (err) {
    // The bot's own settings are the bot's to check (bot/config.ts): unless Graph is asked for, one
    // that does not suit Graph leaves Graph off rather than stopping the bot.
    if (!wanted && err instanceof GraphConfigError && err.variable.startsWith('Microsoft')) return null;
    throw err;
  }
}

function configOf(e: Env, wanted: boolean, own: boolean, readFile: (file: string) => string): GraphConfig | null {
  if (!own && (e.GRAPH_CLIENT_SECRET || e.GRAPH_CLIENT_CERTIFICATE_PATH) && !e.MicrosoftAppId) {
    throw new GraphConfigError('GRAPH_CLIENT_ID', 'is required with GRAPH_CLIENT_SECRET or GRAPH_CLIENT_CERTIFICATE_PATH (or set MicrosoftAppId to use the bot\u2019s registration)');
  }
  const clientId = e.GRAPH_CLIENT_ID ?? e.MicrosoftAppId;
  if (!clientId) {
    if (wanted) throw new GraphConfigError('GRAPH_CLIENT_ID', 'is required for Microsoft Graph (or MicrosoftAppId, to use the bot\u2019s registration)');
    return null;
  }
  if (!own && !GUID.test(clientId)) throw new GraphConfigError('MicrosoftAppId', 'must be an application (client) id, a GUID');

  const credential = credentialOf(e, own, readFile);
  if (!e.GRAPH_TENANT_ID && e.MicrosoftAppTenantId && !GUID.test(e.MicrosoftAppTenantId) && !DOMAIN.test(e.MicrosoftAppTenantId)) {
    throw new GraphConfigError('MicrosoftAppTenantId', 'must be a tenant id (a GUID) or a verified domain (or set GRAPH_TENANT_ID)');
  }
  const tenantId = e.GRAPH_TENANT_ID ?? e.MicrosoftAppTenantId;
  if (!credential || !tenantId) {
    if (!wanted) return null; // the bot's registration alone, incomplete for Graph: Graph stays off
    if (!credential) {
      throw new GraphConfigError(
        'GRAPH_CLIENT_SECRET',
        own ? 'is required with GRAPH_CLIENT_ID (or GRAPH_CLIENT_CERTIFICATE_PATH)' : 'is required (or GRAPH_CLIENT_CERTIFICATE_PATH, or the bot\u2019s MicrosoftAppPassword or certificate): Graph signs in as a confidential client',
      );
    }
    throw new GraphConfigError('GRAPH_TENANT_ID', 'is required (or MicrosoftAppTenantId): app-only tokens are issued by one tenant');
  }
  return {
    clientId: clientId.toLowerCase(),
    tenantId,
    credential,
    endpoint: e.GRAPH_ENDPOINT ?? DEFAULT_GRAPH_ENDPOINT,
    authorityHost: e.AZURE_AUTHORITY_HOST ?? DEFAULT_AUTHORITY_HOST,
    ...(e.EARLYHELP_MAILBOX ? { mailbox: e.EARLYHELP_MAILBOX.toLowerCase() } : {}),
    ...(e.TEAMS_APP_CATALOG_ID ? { teamsAppCatalogId: e.TEAMS_APP_CATALOG_ID.toLowerCase() } : {}),
    identity: own ? 'graph' : 'bot',
  };
}

/** The secret or certificate to sign in with: GRAPH_* first, then (for the bot's own registration only) the bot's. */
function credentialOf(e: Env, own: boolean, readFile: (file: string) => string): GraphCredential | null {
  if (e.GRAPH_CLIENT_SECRET && e.GRAPH_CLIENT_CERTIFICATE_PATH) throw new GraphConfigError('GRAPH_CLIENT_SECRET', 'set it or GRAPH_CLIENT_CERTIFICATE_PATH, not both');
  if (e.GRAPH_CLIENT_CERTIFICATE_PATH) return certificateFile(e.GRAPH_CLIENT_CERTIFICATE_PATH, readFile);
  if (e.GRAPH_CLIENT_SECRET) return { kind: 'secret', secret: e.GRAPH_CLIENT_SECRET };
  // Another app's credential is never borrowed: the bot's secret signs in as the bot only.
  if (own) return null;
  if (e.MicrosoftAppCertificateThumbprint && e.MicrosoftAppCertificatePrivateKey) {
    const thumbprint = e.MicrosoftAppCertificateThumbprint.replace(/:/g, '');
    if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/i.test(thumbprint)) throw new GraphConfigError('MicrosoftAppCertificateThumbprint', 'must be the certificate\u2019s SHA-1 (40 hex digits) or SHA-256 (64) thumbprint');
    const privateKey = pemPrivateKey(e.MicrosoftAppCertificatePrivateKey, 'MicrosoftAppCertificatePrivateKey');
    return thumbprint.length === 64 ? { kind: 'certificate', privateKey, thumbprintSha256: thumbprint.toUpperCase() } : { kind: 'certificate', privateKey, thumbprint: thumbprint.toUpperCase() };
  }
  if (e.MicrosoftAppPassword) return { kind: 'secret', secret: e.MicrosoftAppPassword };
  return null;
}

function certificateFile(file: string, readFile: (file: string) => string): GraphCredential {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new GraphConfigError('GRAPH_CLIENT_CERTIFICATE_PATH', `${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const certificate = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text)?.[0];
  if (!certificate) throw new GraphConfigError('GRAPH_CLIENT_CERTIFICATE_PATH', `${file} holds no certificate (a PEM file with the certificate and its private key)`);
  let thumbprintSha256: string;
  try {
    thumbprintSha256 = new X509Certificate(certificate).fingerprint256.replace(/:/g, '');
  } catch {
    throw new GraphConfigError('GRAPH_CLIENT_CERTIFICATE_PATH', `${file}: the certificate cannot be read`);
  }
  return { kind: 'certificate', privateKey: pemPrivateKey(text, 'GRAPH_CLIENT_CERTIFICATE_PATH'), thumbprintSha256 };
}

/** The private key in `text`, as PKCS#8 PEM (what msal-node signs with), or an error naming the variable. */
function pemPrivateKey(text: string, variable: string): string {
  const pem = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(text)?.[0];
  if (!pem) throw new GraphConfigError(variable, 'holds no PEM private key');
  if (pem.includes('ENCRYPTED')) throw new GraphConfigError(variable, 'the private key is encrypted: give it unencrypted (kept in a secret store, readable by the service only)');
  try {
    return createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();
  } catch {
    throw new GraphConfigError(variable, 'the private key cannot be read');
  }
}
