import type { ActivityHandler, CloudAdapter } from 'botbuilder';
import restify from 'restify';
import { createAdapter, describeError } from './adapter';
import { BotConfig } from './config';
import { log } from './log';

/** Teams caps a message at about 28 KB and a card at 40 KB: anything far larger is not Teams. */
export const MAX_ACTIVITY_BYTES = 256 * 1024;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Why a parsed body is not an activity the adapter can take, or undefined if it is one. The Bot
 * Framework always sends a type, the conversation, the sender, the recipient and the service URL to
 * answer on; without them botbuilder fails inside the turn (a 200 and a logged TypeError) rather
 * than telling the caller, so they are checked here.
 */
export function activityProblem(body: unknown): string | undefined {
  if (!isObject(body)) return 'The body must be a Bot Framework activity: a JSON object with a "type".';
  if (typeof body.type !== 'string' || body.type === '') return 'The body must be a Bot Framework activity: a JSON object with a "type".';
  if (typeof body.serviceUrl !== 'string' || !/^https?:\/\/[^\s/]+/i.test(body.serviceUrl)) return 'The activity must carry an http(s) "serviceUrl".';
  for (const field of ['conversation', 'from', 'recipient'] as const) {
    const value = body[field];
    if (!isObject(value) || typeof value.id !== 'string' || value.id === '') return `The activity must carry "${field}" with an "id".`;
  }
  return undefined;
}

/**
 * restify serving `POST /api/messages` for the Bot Framework, and `GET /healthz`. A body that is
 * not an activity gets a 4xx with a reason before the adapter sees it; nothing crashes the process.
 * Without an adapter, botbuilder's CloudAdapter is made from the config.
 */
export async function startServer(options: { config: BotConfig; bot: ActivityHandler; adapter?: CloudAdapter; host?: string }): Promise<RunningServer> {
  const adapter = options.adapter ?? createAdapter(options.config);
  const server = restify.createServer({ name: 'earlyhelp-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: MAX_ACTIVITY_BYTES, mapParams: false, rejectUnknown: true }));

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'ok' });
  });

  server.post('/api/messages', async (req, res) => {
    const problem = activityProblem(req.body);
    if (problem) {
      log.warn({ status: 400, reason: problem }, 'request refused');
      res.send(400, { error: problem });
      return;
    }
    try {
      await adapter.process(req, res, (context) => options.bot.run(context));
    } catch (e) {
      // botbuilder's schema check of the activity throws here, outside the turn: the caller's fault.
      const invalid = (e as Error)?.name === 'ZodError';
      log.error({ activityId: (req.body as { id?: unknown }).id, ...describeError(e) }, invalid ? 'activity refused' : 'request failed');
      if (!res.headersSent) res.send(invalid ? 400 : 500, { error: invalid ? 'The activity does not match the Bot Framework schema.' : 'The request could not be processed.' });
    }
  });

  server.on('restifyError', (_req, _res, err, callback) => {
    // Oversized, unparseable or not JSON: restify answers with its code and a reason (said plainly
    // here where restify's is terse); the body is never logged.
    const status = (err as { statusCode?: number }).statusCode;
    const reason = status === 413 ? `The body is larger than ${MAX_ACTIVITY_BYTES / 1024} KB.` : status === 415 ? 'The body must be JSON (content-type: application/json).' : undefined;
    if (reason) {
      const code = (err as { body?: { code?: string } }).body?.code;
      (err as { toJSON?: () => unknown }).toJSON = () => ({ code, message: reason });
    }
    log.warn({ status, err: err.name }, 'request refused');
    return callback();
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.config.port, host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.config.port;
  return {
    url: `http://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive sockets from clients would hold the server open.
        (server.server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}
