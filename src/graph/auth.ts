import { ConfidentialClientApplication, Configuration, LogLevel } from '@azure/msal-node';
import type { AuthenticationProvider } from '@microsoft/microsoft-graph-client';
import { DEFAULT_AUTHORITY_HOST, GraphConfig } from './config';

/**
 * App-only tokens for Graph: msal-node's confidential client, client credentials flow, scope
 * `{GRAPH_ENDPOINT}/.default` (the application permissions an administrator consented to).
 *
 * msal-node keeps the token in its in-memory cache and hands it out again until five minutes
 * before it expires (its token renewal offset), so the authority is asked once an hour or so, not
 * per request. Requests that arrive together while no token is held share one token request.
 */
export interface GraphTokenProvider extends AuthenticationProvider {
  getAccessToken(): Promise<string>;
}

/** Entra ID's public clouds: msal-node discovers them itself; any other host is named as known. */
const MICROSOFT_AUTHORITY_HOSTS = new Set(['login.microsoftonline.com', 'login.microsoftonline.us', 'login.partner.microsoftonline.cn', 'login.chinacloudapi.cn', 'login.microsoftonline.de']);

/** The msal-node configuration for `config`: the authority is `{AZURE_AUTHORITY_HOST}/{tenant}`. */
export function msalConfiguration(config: GraphConfig): Configuration {
  const host = new URL(config.authorityHost || DEFAULT_AUTHORITY_HOST).host;
  const credential =
    config.credential.kind === 'secret'
      ? { clientSecret: config.credential.secret }
      : {
          clientCertificate: {
            privateKey: config.credential.privateKey,
            ...(config.credential.thumbprintSha256 ? { thumbprintSha256: config.credential.thumbprintSha256 } : {}),
            ...(config.credential.thumbprint ? { thumbprint: config.credential.thumbprint } : {}),
          },
        };
  return {
    auth: {
      clientId: config.clientId,
      authority: `${config.authorityHost}/${config.tenantId}`,
      // Another host (a sovereign deployment, the tests' loopback authority) is trusted as named and
      // its OpenID configuration read from it, with no instance discovery at login.microsoftonline.com.
      ...(MICROSOFT_AUTHORITY_HOSTS.has(host) ? {} : { knownAuthorities: [host] }),
      ...credential,
    },
    // msal logs nothing of ours; its own errors come back as thrown AuthErrors.
    system: { loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined } },
  };
}

export function createTokenProvider(config: GraphConfig, msal: ConfidentialClientApplication = new ConfidentialClientApplication(msalConfiguration(config))): GraphTokenProvider {
  const scopes = [`${config.endpoint}/.default`];
  let pending: Promise<string> | null = null;
  const acquire = async () => {
    const result = await msal.acquireTokenByClientCredential({ scopes });
    if (!result?.accessToken) throw new Error('Entra ID answered without an access token');
    return result.accessToken;
  };
  return {
    getAccessToken() {
      // msal's cache answers without a request when it holds a token; while it does not, callers share one.
      pending ??= acquire().finally(() => {
        pending = null;
      });
      return pending;
    },
  };
}
