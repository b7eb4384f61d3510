import { AuthenticationConstants, AuthenticationError } from 'botframework-connector';
import { CallerIdConstants, CloudAdapter, ConfigurationBotFrameworkAuthentication, ConfigurationServiceClientCredentialFactory, TurnContext } from 'botbuilder';
import { BotConfig } from './config';
import { log } from './log';

/**
 * botbuilder lets a token with a bad signature (or malformed) escape as a plain error, which its
 * adapter answers with a 500. A bad token is the caller's fault: answer 401.
 */
class EarlyHelpAdapter extends CloudAdapter {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async processActivity(...args: any[]): Promise<any> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return await (super.processActivity as any).apply(this, args);
    } catch (e) {
      const name = (e as Error)?.name;
      if (name === 'JsonWebTokenError' || name === 'TokenExpiredError' || name === 'NotBeforeError') throw new AuthenticationError(`Unauthorized. ${(e as Error).message}`, 401);
      throw e;
    }
  }
}

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
      // botbuilder treats any one of these settings as "all are given": with custom OpenID metadata,
      // the rest of the public cloud's settings must be spelled out or every token is refused.
      ...(config.openIdMetadata
        ? {
            BotOpenIdMetadata: config.openIdMetadata,
            ValidateAuthority: true,
            ToChannelFromBotLoginUrl: AuthenticationConstants.ToChannelFromBotLoginUrl,
            ToChannelFromBotOAuthScope: AuthenticationConstants.ToChannelFromBotOAuthScope,
            ToBotFromChannelTokenIssuer: AuthenticationConstants.ToBotFromChannelTokenIssuer,
            OAuthUrl: AuthenticationConstants.OAuthUrl,
            ToBotFromEmulatorOpenIdMetadataUrl: AuthenticationConstants.ToBotFromEmulatorOpenIdMetadataUrl,
            CallerId: CallerIdConstants.PublicAzureChannel,
          }
        : {}),
    },
    credentials,
  );
  const adapter = new EarlyHelpAdapter(auth);
  adapter.onTurnError = async (context: TurnContext, error: Error) => {
    // Never the message text or card data: these are children at risk. Ids and types only.
    log.error({ activityId: context.activity.id, type: context.activity.type, name: context.activity.name, err: error.name, message: error.message.slice(0, 200) }, 'turn failed');
    if (context.activity.type === 'message') await context.sendActivity('Sorry, something went wrong. Please try again.').catch(() => undefined);
  };
  return adapter;
}
