import { CloudAdapter, ConfigurationBotFrameworkAuthentication, ConfigurationServiceClientCredentialFactory, TurnContext } from 'botbuilder';
import { BotConfig } from './config';
import { log } from './log';

/** botbuilder's CloudAdapter, authenticated as configured (or open, in local mode). */
export function createAdapter(config: BotConfig): CloudAdapter {
  const credentials = new ConfigurationServiceClientCredentialFactory({
    MicrosoftAppId: config.appId,
    MicrosoftAppPassword: config.appPassword,
    MicrosoftAppType: config.appType,
    MicrosoftAppTenantId: config.tenantId,
    ...(config.certificateThumbprint ? { CertificateThumbprint: config.certificateThumbprint, CertificatePrivateKey: config.certificatePrivateKey } : {}),
  });
  const auth = new ConfigurationBotFrameworkAuthentication(
    {
      MicrosoftAppId: config.appId,
      MicrosoftAppTenantId: config.tenantId,
      ...(config.openIdMetadata ? { BotOpenIdMetadata: config.openIdMetadata } : {}),
    },
    credentials,
  );
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    // Never the message text or card data: these are children at risk. Ids and types only.
    log.error({ activityId: context.activity.id, type: context.activity.type, name: context.activity.name, err: error.name, message: error.message.slice(0, 200) }, 'turn failed');
    if (context.activity.type === 'message') await context.sendActivity('Sorry, something went wrong. Please try again.').catch(() => undefined);
  };
  return adapter;
}
