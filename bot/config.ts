/**
 * The bot's configuration, from the environment. With no app id it runs in local mode for
 * Microsoft 365 Agents Playground (unauthenticated, as botbuilder allows with empty credentials);
 * with one, every request must carry a valid Bot Framework token.
 */
export type AppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

const APP_TYPES: readonly AppType[] = ['MultiTenant', 'SingleTenant', 'UserAssignedMSI'];

export interface BotConfig {
  port: number;
  localMode: boolean;
  appId: string;
  appPassword: string;
  appType: AppType;
  tenantId: string;
  certificateThumbprint: string;
  certificatePrivateKey: string;
  /** Where token signing keys are published; tests point it at a loopback server. */
  openIdMetadata: string;
}

/** A setting the bot cannot start with; the message names the environment variable to fix. */
export class BotConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
    this.name = 'BotConfigError';
  }
}

const setting = (env: NodeJS.ProcessEnv, name: string) => (env[name] ?? '').trim();

/**
 * Reads and checks the bot's settings, failing at startup (not at the first message) with the
 * variable to fix. The rules are botbuilder's own (ConfigurationServiceClientCredentialFactory),
 * said in the operator's terms.
 */
export function botConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const rawPort = setting(env, 'PORT');
  const port = rawPort === '' ? 3978 : Number(rawPort);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BotConfigError('PORT', `"${rawPort}" is not a port number`);

  const rawType = setting(env, 'MicrosoftAppType') || 'MultiTenant';
  const appType = APP_TYPES.find((t) => t.toLowerCase() === rawType.toLowerCase());
  if (!appType) throw new BotConfigError('MicrosoftAppType', `"${rawType}" is not ${APP_TYPES.join(', ')}`);

  const config: BotConfig = {
    port,
    localMode: setting(env, 'MicrosoftAppId') === '',
    appId: setting(env, 'MicrosoftAppId'),
    appPassword: env.MicrosoftAppPassword ?? '',
    appType,
    tenantId: setting(env, 'MicrosoftAppTenantId'),
    certificateThumbprint: setting(env, 'MicrosoftAppCertificateThumbprint'),
    certificatePrivateKey: env.MicrosoftAppCertificatePrivateKey ?? '',
    openIdMetadata: setting(env, 'BotOpenIdMetadata'),
  };
  if (config.localMode) return config;

  if (appType !== 'MultiTenant' && !config.tenantId) throw new BotConfigError('MicrosoftAppTenantId', `is required for a ${appType} bot`);
  const hasCertificate = config.certificateThumbprint !== '' || config.certificatePrivateKey.trim() !== '';
  if (hasCertificate && !config.certificateThumbprint) throw new BotConfigError('MicrosoftAppCertificateThumbprint', 'is required with MicrosoftAppCertificatePrivateKey');
  if (hasCertificate && !config.certificatePrivateKey.trim()) throw new BotConfigError('MicrosoftAppCertificatePrivateKey', 'is required with MicrosoftAppCertificateThumbprint');
  if (appType === 'UserAssignedMSI') {
    if (config.appPassword.trim() || hasCertificate) throw new BotConfigError('MicrosoftAppPassword', 'must not be set for a UserAssignedMSI bot (nor a certificate): the managed identity signs in');
  } else if (!config.appPassword.trim() && !hasCertificate) {
    throw new BotConfigError('MicrosoftAppPassword', `is required for a ${appType} bot (or MicrosoftAppCertificateThumbprint with MicrosoftAppCertificatePrivateKey)`);
  }
  if (config.openIdMetadata && !/^https?:\/\//.test(config.openIdMetadata)) throw new BotConfigError('BotOpenIdMetadata', `"${config.openIdMetadata}" is not an http(s) URL`);
  return config;
}
