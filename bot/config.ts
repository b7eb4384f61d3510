/**
 * The bot's configuration, from the environment. With no app id it runs in local mode for
 * Microsoft 365 Agents Playground (unauthenticated, as botbuilder allows with empty credentials);
 * with one, every request must carry a valid Bot Framework token.
 */
export type AppType = 'MultiTenant' | 'SingleTenant' | 'UserAssignedMSI';

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

export class BotConfigError extends Error {
  constructor(readonly variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'BotConfigError';
  }
}

export function botConfigFromEnv(env: NodeJS.ProcessEnv = process.env): BotConfig {
  const port = Number(env.PORT ?? 3978);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new BotConfigError('PORT', `${env.PORT} is not a port number`);
  const appId = env.MicrosoftAppId ?? '';
  const appType = (env.MicrosoftAppType ?? 'MultiTenant') as AppType;
  if (!['MultiTenant', 'SingleTenant', 'UserAssignedMSI'].includes(appType)) throw new BotConfigError('MicrosoftAppType', `${appType} is not MultiTenant, SingleTenant or UserAssignedMSI`);
  const tenantId = env.MicrosoftAppTenantId ?? '';
  const config: BotConfig = {
    port,
    localMode: appId === '',
    appId,
    appPassword: env.MicrosoftAppPassword ?? '',
    appType,
    tenantId,
    certificateThumbprint: env.MicrosoftAppCertificateThumbprint ?? '',
    certificatePrivateKey: env.MicrosoftAppCertificatePrivateKey ?? '',
    openIdMetadata: env.BotOpenIdMetadata ?? '',
  };
  if (!config.localMode) {
    if ((appType === 'SingleTenant' || appType === 'UserAssignedMSI') && !tenantId) throw new BotConfigError('MicrosoftAppTenantId', `is required for a ${appType} bot`);
    if (appType !== 'UserAssignedMSI' && !config.appPassword && !(config.certificateThumbprint && config.certificatePrivateKey)) {
      throw new BotConfigError('MicrosoftAppPassword', 'is required (or MicrosoftAppCertificateThumbprint with MicrosoftAppCertificatePrivateKey)');
    }
  }
  return config;
}
