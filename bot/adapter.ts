import { AuthenticationConstants, AuthenticationError } from 'botframework-connector';
import { CallerIdConstants, CloudAdapter, ConfigurationBotFrameworkAuthentication, ConfigurationServiceClientCredentialFactory, TurnContext } from 'botbuilder';
import { isDatabaseUnavailable } from '../src/storage/database';
import { noticeCard } from './cards/cards';
import { attachment, CARD_CONTENT_TYPE } from './cards/template';
import { BotConfig } from './config';
import { log } from './log';

/** What a user is told when their turn fails: nothing about why (the log has that). */
export const TURN_ERROR_REPLY = 'Sorry, something went wrong. Please try again.';

/**
 * What a user is told when the case database could not be reached: a transaction that lost its
 * connection was never committed, and a retried card action is recorded once (keyed on its
 * activity id), so "try again" is safe advice.
 */
export const DATABASE_UNAVAILABLE_REPLY = 'The case database cannot be reached just now: nothing was recorded. Please try again in a minute.';

function databaseUnavailableCard() {
  return noticeCard({ title: 'The case database cannot be reached just now: nothing was recorded.', text: 'Please try again in a minute.', summary: DATABASE_UNAVAILABLE_REPLY });
}

/**
 * Tells the user the database is out of reach: a card in the chat for a message, and for a card
 * action the card Teams shows in place of the one clicked (without it, Teams shows an error).
 */
async function answerDatabaseUnavailable(context: TurnContext): Promise<void> {
  const card = databaseUnavailableCard();
  const { type, name } = context.activity;
  if (type === 'message') await context.sendActivity({ type: 'message', summary: card.fallbackText, attachments: [attachment(card)] });
  else if (type === 'invoke' && name === 'adaptiveCard/action') {
    await context.sendActivity({ type: 'invokeResponse', value: { status: 200, body: { statusCode: 200, type: CARD_CONTENT_TYPE, value: card } } });
  }
}

/**
 * An error described for the log without its message: a message can quote the input it choked on
 * (JSON.parse does), and the input here is a child's case. The class, a code and where it was
 * thrown are enough to find the fault.
 */
export function describeError(e: unknown): { err: string; code?: string | number; at?: string[] } {
  if (!(e instanceof Error)) return { err: typeof e };
  const { code, statusCode } = e as { code?: unknown; statusCode?: unknown };
  const described: { err: string; code?: string | number; at?: string[] } = { err: e.name };
  if (typeof code === 'string' || typeof code === 'number') described.code = code;
  else if (typeof statusCode === 'number') described.code = statusCode;
  const frames = (e.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line));
  if (frames.length) described.at = frames.slice(0, 3).map((line) => line.trim().slice(3));
  return described;
}

const TOKEN_ERRORS = new Set(['JsonWebTokenError', 'TokenExpiredError', 'NotBeforeError']);

/**
 * botbuilder lets a token with a bad signature (or a malformed one) escape as a plain error, which
 * its adapter answers with a 500: a bad token is the caller's fault, so it is a 401 here. Any other
 * error leaving the adapter is logged safely and replaced by one without detail, because
 * `CloudAdapter.process` prints what it catches to the console and sends its message to the caller.
 */
class EarlyHelpAdapter extends CloudAdapter {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override async processActivity(...args: any[]): Promise<any> {
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return await (super.processActivity as any).apply(this, args);
    } catch (e) {
      if (e instanceof AuthenticationError) throw e;
      const name = (e as Error)?.name;
      if (TOKEN_ERRORS.has(name)) throw new AuthenticationError(`Unauthorized. ${(e as Error).message}`, 401);
      const activity = args[1] as { id?: string; type?: string } | undefined;
      log.error({ activityId: activity?.id, type: activity?.type, ...describeError(e) }, 'activity failed');
      throw new Error('The activity could not be processed.');
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
    const databaseUnavailable = isDatabaseUnavailable(error);
    // Ids and types only, never the message text or card data: these are children at risk.
    log.error({ activityId: context.activity.id, type: context.activity.type, name: context.activity.name, databaseUnavailable, ...describeError(error) }, 'turn failed');
    if (databaseUnavailable) await answerDatabaseUnavailable(context).catch(() => undefined);
    else if (context.activity.type === 'message') await context.sendActivity(TURN_ERROR_REPLY).catch(() => undefined);
  };
  return adapter;
}
