import type { ActivityHandler, CloudAdapter } from 'botbuilder';
import restify from 'restify';
import { BotConfig } from './config';
import { log } from './log';

export const MAX_ACTIVITY_BYTES = 256 * 1024;

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * restify serving `/api/messages` for the Bot Framework, and `/healthz`. A body that is not an
 * activity gets a 4xx with a reason before the adapter sees it; nothing crashes the process.
 */
export async function startServer(options: { config: BotConfig; adapter: CloudAdapter; bot: ActivityHandler; host?: string }): Promise<RunningServer> {
  const server = restify.createServer({ name: 'earlyhelp-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: MAX_ACTIVITY_BYTES, mapParams: false, rejectUnknown: true }));

  server.get('/healthz', async (_req, res) => {
    res.send(200, { status: 'ok' });
  });

  server.post('/api/messages', async (req, res) => {
    const body = req.body as { type?: unknown } | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || typeof body.type !== 'string') {
      res.send(400, { error: 'The body must be a Bot Framework activity: a JSON object with a "type".' });
      return;
    }
    try {
      await options.adapter.process(req, res, (context) => options.bot.run(context));
    } catch (e) {
      log.error({ err: (e as Error).name, message: (e as Error).message.slice(0, 200) }, 'request failed');
      if (!res.headersSent) res.send(500, { error: 'The request could not be processed.' });
    }
  });

  server.on('restifyError', (_req, _res, err, callback) => {
    // Oversized or unparseable bodies: say why, in JSON, without echoing the body.
    log.warn({ status: (err as { statusCode?: number }).statusCode, err: err.name }, 'request refused');
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
