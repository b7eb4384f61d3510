import { AuthenticationHandler, Client, Context, GraphError, HTTPMessageHandler, Middleware, MiddlewareOptions } from '@microsoft/microsoft-graph-client';
import { createTokenProvider, GraphTokenProvider } from './auth';
import { GraphConfig } from './config';
import { KeyedSemaphore } from '../concurrency';

/**
 * The Graph client: `@microsoft/microsoft-graph-client` over msal-node's app-only tokens, pointed
 * at GRAPH_ENDPOINT, with this middleware chain:
 *
 *     tokens (AuthenticationHandler) -> retry -> per-mailbox limit -> send hook -> fetch
 *
 * - retry: 429, 503 and 504 (Graph's throttling and transient answers) are tried again after
 *   their Retry-After, plus jitter so that senders held together do not come back together;
 *   without one, after a doubling backoff. A Retry-After longer than `maxWaitMs`, or the last
 *   attempt, goes back to the caller with the answer (the outbox reschedules it). A request that
 *   never left (connection refused) is tried again; a 500 or 502, or a connection lost mid-request,
 *   only for a GET: a POST may have done its work.
 * - limit: at most 4 requests at once per mailbox (`/users/{id}/...`), Exchange Online's limit;
 *   a request waiting out a Retry-After holds no slot.
 * - send hook: per request (`SendOptions`), the last step before the request leaves (the outbox's
 *   `begin()`), and no retry here for requests whose caller decides.
 */

/** Per-request options: `client.api(path).middlewareOptions([new SendOptions({ ... })])`. */
export class SendOptions implements MiddlewareOptions {
  constructor(
    readonly options: {
      /** False: one try; the caller decides what an answer means (the outbox does, for messages). */
      retry?: boolean;
      /** Called just before the request leaves, after the token and a slot are held; false: it must not be sent. */
      beforeSend?: () => Promise<boolean>;
    },
  ) {}
}

export interface RetryPolicy {
  /** Tries in all, the first included. */
  maxAttempts: number;
  /** A Retry-After longer than this is not waited out here: the answer goes back to the caller. */
  maxWaitMs: number;
  /** Without a Retry-After: `baseDelayMs * 2^(try - 1)`. */
  baseDelayMs: number;
  /** Up to this much is added at random to every wait. */
  jitterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, maxWaitMs: 30_000, baseDelayMs: 1_000, jitterMs: 1_000 };

/** Exchange Online serves at most 4 concurrent requests per mailbox, per app. */
export const PER_MAILBOX_CONCURRENCY = 4;

/** Graph's `$batch` takes at most 20 requests. */
export const MAX_BATCH = 20;

/** The answers Graph asks to be tried again: throttled, unavailable, gateway timeout. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([429, 503, 504]);

/** A request that never left this process (refused, name not found): safe to send again. */
export const NOT_SENT = new Set(['NotSent', 'ConnectFailed', 'TokenUnavailable']);

/** Server errors a read may be tried again after; a write that got one may have been done. */
const READ_RETRY_STATUSES: ReadonlySet<number> = new Set([500, 502]);

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface GraphClientOptions {
  retry?: Partial<RetryPolicy>;
  perMailboxConcurrency?: number;
  /** One try's limit; a request that takes longer is abandoned (it may have been done). */
  requestTimeoutMs?: number;
  tokens?: GraphTokenProvider;
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface BatchRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Relative to the version root, e.g. `/users/{id}/manager`. */
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface BatchResponse {
  status: number;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: unknown;
}

export interface Graph {
  readonly config: GraphConfig;
  readonly client: Client;
  readonly tokens: GraphTokenProvider;
  /**
   * Sends the requests in `$batch`es of at most 20 and answers each, in order. A request answered
   * 429, 503 or 504 inside a batch is sent again in a later batch after the longest Retry-After
   * (plus jitter), up to the retry policy's tries; then its last answer is returned.
   */
  batch(requests: readonly BatchRequest[]): Promise<BatchResponse[]>;
  /** Every item of a collection, following `@odata.nextLink`. */
  getAll<T>(path: string): Promise<T[]>;
}

/** What a failed Graph request amounts to, in the outbox's terms. */
export interface GraphFailure {
  /** The HTTP status, when Graph answered. */
  status?: number;
  /** Graph's error code (`ErrorInvalidRecipients`), or what went wrong before an answer. */
  code: string;
  retryAfterMs?: number;
  /** Whether the request may have done its work: no (never left), maybe (no answer, or a 5xx). */
  sent: 'no' | 'maybe' | 'answered';
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Reads an error thrown by the Graph client (or the token provider) as a `GraphFailure`. */
export function graphFailureOf(e: unknown): GraphFailure {
  if (e instanceof GraphError && e.statusCode > 0) {
    return { status: e.statusCode, code: e.code || `Http${e.statusCode}`, retryAfterMs: retryAfterMs(e.headers?.get('retry-after')), sent: 'answered' };
  }
  const code = (e as { code?: unknown })?.code;
  const name = typeof code === 'string' && code ? code : ((e as Error)?.name ?? 'Error');
  return { code: name, sent: NOT_SENT.has(name) ? 'no' : 'maybe' };
}

/** The mailbox a request is for: `/users/{id or address}/...`, in lower case; undefined for others. */
export function mailboxOf(url: string): string | undefined {
  const path = url.replace(/^https:\/\/[^/]+/, '');
  const match = /^\/[^/]+\/users\/([^/?]+)/.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]).replace(/^'(.*)'$/, '$1').toLowerCase();
  } catch {
    return match[1].toLowerCase();
  }
}

const sendOptionsOf = (context: Context) => context.middlewareControl?.getMiddlewareOptions(SendOptions) as SendOptions | undefined;
const methodOf = (context: Context) => (context.options?.method ?? (typeof context.request === 'string' ? 'GET' : context.request.method)).toUpperCase();
const urlOf = (context: Context) => (typeof context.request === 'string' ? context.request : context.request.url);

/** A named error the Graph client passes on as its `code`. */
function namedError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

class RetryMiddleware implements Middleware {
  private next!: Middleware;

  constructor(
    private readonly policy: RetryPolicy,
    private readonly random: () => number,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const tries = sendOptionsOf(context)?.options.retry === false ? 1 : Math.max(1, this.policy.maxAttempts);
    const idempotent = methodOf(context) === 'GET';
    for (let attempt = 1; ; attempt++) {
      context.response = undefined;
      let wait: number | undefined;
      try {
        await this.next.execute(context);
      } catch (e) {
        const name = (e as Error)?.name;
        // Never sent, or (a read) sent and lost: try again; a write that may have been done is the caller's.
        const again = name === 'ConnectFailed' || (idempotent && name === 'ConnectionLost');
        if (!again || attempt >= tries) throw e;
        wait = this.backoff(attempt) + Math.round(this.random() * this.policy.jitterMs);
      }
      const response = context.response as Response | undefined;
      if (response) {
        const retryable = RETRY_STATUSES.has(response.status) || (idempotent && READ_RETRY_STATUSES.has(response.status));
        if (!retryable || attempt >= tries) return;
        const asked = retryAfterMs(response.headers.get('retry-after'));
        if (asked !== undefined && asked > this.policy.maxWaitMs) return;
        wait = (asked ?? this.backoff(attempt)) + Math.round(this.random() * this.policy.jitterMs);
        // The answer is dropped: its connection goes back to the pool.
        await response.arrayBuffer().catch(() => undefined);
      }
      await this.sleep(wait ?? 0);
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.policy.maxWaitMs, this.policy.baseDelayMs * 2 ** (attempt - 1));
  }
}

class MailboxLimitMiddleware implements Middleware {
  private next!: Middleware;

  constructor(private readonly semaphore: KeyedSemaphore) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const mailbox = mailboxOf(urlOf(context));
    if (!mailbox) return this.next.execute(context);
    const release = await this.semaphore.acquire(mailbox);
    try {
      await this.next.execute(context);
    } finally {
      release();
    }
  }
}

class SendHookMiddleware implements Middleware {
  private next!: Middleware;

  constructor(private readonly timeoutMs: number) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  async execute(context: Context): Promise<void> {
    const beforeSend = sendOptionsOf(context)?.options.beforeSend;
    if (beforeSend && !(await beforeSend())) throw namedError('NotSent', 'not sent: the send was not begun');
    context.options = { ...context.options, signal: AbortSignal.timeout(this.timeoutMs) };
    try {
      await this.next.execute(context);
    } catch (e) {
      const cause = (e as { cause?: { code?: string } })?.cause;
      if (cause?.code && CONNECT_CODES.has(cause.code)) throw namedError('ConnectFailed', `connection failed: ${cause.code}`);
      const name = (e as Error)?.name;
      throw namedError('ConnectionLost', `no answer: ${name === 'TimeoutError' ? `timed out after ${this.timeoutMs} ms` : (cause?.code ?? name ?? 'error')}`);
    }
  }
}

/** A token that could not be had: nothing was sent. */
function tokensNamingFailure(tokens: GraphTokenProvider): GraphTokenProvider {
  return {
    async getAccessToken() {
      try {
        return await tokens.getAccessToken();
      } catch (e) {
        const code = (e as { errorCode?: string })?.errorCode || (e as Error)?.name || 'error';
        throw namedError('TokenUnavailable', `no token from Entra ID: ${code}`);
      }
    },
  };
}

export function createGraph(config: GraphConfig, options: GraphClientOptions = {}): Graph {
  const policy: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const tokens = options.tokens ?? createTokenProvider(config);
  const chain: Middleware[] = [
    new AuthenticationHandler(tokensNamingFailure(tokens)),
    new RetryMiddleware(policy, random, sleep),
    new MailboxLimitMiddleware(new KeyedSemaphore(options.perMailboxConcurrency ?? PER_MAILBOX_CONCURRENCY)),
    new SendHookMiddleware(options.requestTimeoutMs ?? 30_000),
    new HTTPMessageHandler(),
  ];
  const client = Client.initWithMiddleware({
    middleware: chain,
    baseUrl: config.endpoint,
    defaultVersion: 'v1.0',
    // The token goes to GRAPH_ENDPOINT's host and no other.
    customHosts: new Set([new URL(config.endpoint).hostname]),
  });

  async function getAll<T>(path: string): Promise<T[]> {
    const items: T[] = [];
    for (let next: string | undefined = path; next; ) {
      const page = (await client.api(next).get()) as { value?: T[]; '@odata.nextLink'?: string };
      items.push(...(page.value ?? []));
      next = page['@odata.nextLink'];
    }
    return items;
  }

  async function batch(requests: readonly BatchRequest[]): Promise<BatchResponse[]> {
    const answers: BatchResponse[] = new Array(requests.length);
    let pending = requests.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const again: number[] = [];
      let wait = 0;
      for (let start = 0; start < pending.length; start += MAX_BATCH) {
        const chunk = pending.slice(start, start + MAX_BATCH);
        const body = {
          requests: chunk.map((i) => {
            const r = requests[i];
            const headers = r.body !== undefined ? { 'content-type': 'application/json', ...r.headers } : r.headers;
            return { id: String(i), method: r.method, url: r.url, ...(headers ? { headers } : {}), ...(r.body !== undefined ? { body: r.body } : {}) };
          }),
        };
        const result = (await client.api('/$batch').post(body)) as { responses?: Array<{ id: string; status: number; headers?: Record<string, string>; body?: unknown }> };
        const byId = new Map((result.responses ?? []).map((r) => [r.id, r]));
        for (const i of chunk) {
          const r = byId.get(String(i));
          const headers = Object.fromEntries(Object.entries(r?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
          const answer: BatchResponse = r ? { status: r.status, headers, ...(r.body !== undefined ? { body: r.body } : {}) } : { status: 0, headers: {}, body: { error: { code: 'MissingBatchResponse' } } };
          answers[i] = answer;
          if ((RETRY_STATUSES.has(answer.status) || answer.status === 0) && attempt < policy.maxAttempts) {
            const asked = retryAfterMs(headers['retry-after']);
            if (asked !== undefined && asked > policy.maxWaitMs) continue;
            again.push(i);
            wait = Math.max(wait, asked ?? Math.min(policy.maxWaitMs, policy.baseDelayMs * 2 ** (attempt - 1)));
          }
        }
      }
      pending = again;
      if (pending.length > 0) await sleep(wait + Math.round(random() * policy.jitterMs));
    }
    return answers;
  }

  return { config, client, tokens, batch, getAll };
}
