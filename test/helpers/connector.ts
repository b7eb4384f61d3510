import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A Bot Framework connector on loopback, as the Teams service exposes it to a bot: it records the
 * activities the bot sends (`POST /v3/conversations/:id/activities[/:replyTo]`) and updates
 * (`PUT .../activities/:id`), and answers with an id, as the real one does.
 */
export interface LoopbackConnector {
  url: string;
  received: Array<{ method: string; path: string; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export async function startConnector(options: { delayMs?: number } = {}): Promise<LoopbackConnector> {
  const received: LoopbackConnector['received'] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const reply = () => {
        if (/^\/v3\/conversations\/[^/]+\/activities/.test(req.url ?? '')) {
          received.push({ method: req.method ?? '', path: req.url ?? '', body: body ? JSON.parse(body) : {} });
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: `sent-${++n}` }));
        } else {
          res.writeHead(404).end();
        }
      };
      if (options.delayMs) setTimeout(reply, options.delayMs);
      else reply();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
