import http from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A Bot Framework connector on loopback, as the Teams service exposes it to a bot: it records the
 * activities the bot sends (`POST /v3/conversations/:id/activities[/:replyTo]`) and updates
 * (`PUT .../activities/:id`), and answers with an id, as the real one does.
 *
 * `answers` scripts what it says instead, request by request (then 200 once the list runs out):
 * a status, or a status with headers (Retry-After) and a body (a Bot Framework error such as
 * `{ error: { code: 'ConversationNotFound' } }`). Every request is recorded with its answer and
 * when it came.
 */
export interface ReceivedRequest {
  method: string;
  path: string;
  body: Record<string, unknown>;
  /** The status answered. */
  status: number;
  /** When it arrived (Date.now()). */
  at: number;
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface LoopbackConnector {
  url: string;
  received: ReceivedRequest[];
  /** The requests answered with a 2xx: what reached the chat. */
  readonly delivered: ReceivedRequest[];
  close(): Promise<void>;
}

export interface ConnectorOptions {
  delayMs?: number;
  /** In order, one per activity request; a function is asked for each (its index from 0, and the request). Undefined: 200. */
  answers?: Array<number | ScriptedAnswer> | ((n: number, request: { method: string; path: string; body: Record<string, unknown> }) => number | ScriptedAnswer | undefined);
}

const errorCode = (status: number) => (status === 429 ? 'Throttled' : status === 403 ? 'BotNotInConversationRoster' : status === 404 ? 'ConversationNotFound' : `Http${status}`);

export async function startConnector(options: ConnectorOptions = {}): Promise<LoopbackConnector> {
  const received: ReceivedRequest[] = [];
  let n = 0;
  let requests = 0;
  const answerFor = (index: number, request: { method: string; path: string; body: Record<string, unknown> }): ScriptedAnswer => {
    const scripted = typeof options.answers === 'function' ? options.answers(index, request) : options.answers?.[index];
    if (scripted === undefined) return { status: 200 };
    return typeof scripted === 'number' ? { status: scripted } : scripted;
  };
  const server = http.createServer((req, res) => {
    let body = '';
    const arrived = Date.now();
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const reply = () => {
        if (/^\/v3\/conversations\/[^/]+\/activities/.test(req.url ?? '')) {
          const request = { method: req.method ?? '', path: req.url ?? '', body: body ? JSON.parse(body) : {} };
          const answer = answerFor(requests++, request);
          received.push({ ...request, status: answer.status, at: arrived });
          if (answer.status >= 200 && answer.status < 300) {
            res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
            res.end(JSON.stringify(answer.body ?? { id: `sent-${++n}` }));
          } else {
            res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
            res.end(JSON.stringify(answer.body ?? { error: { code: errorCode(answer.status), message: 'scripted answer' } }));
          }
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
    get delivered() {
      return received.filter((r) => r.status >= 200 && r.status < 300);
    },
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
