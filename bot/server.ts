import type { ActivityHandler, CloudAdapter } from 'botbuilder';
import restify from 'restify';
import { validationToken } from '../src/graph/calendarSync';
import { z } from 'zod';
import type { Database } from '../src/storage/database';
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

const ACTIVITY_REQUIRED = 'The body must be a Bot Framework activity: a JSON object with a "type".';
const carrying = (field: string) => `The activity must carry "${field}" with an "id".`;

/** Absent and null are the same thing in an activity: botbuilder reads both as "not given". */
const optionalText = z.string().nullish();
/** A person or conversation; `required` is what to say when it or its id is missing. */
const account = (required?: string) => {
  const said = required ? { error: required } : undefined;
  return z.looseObject({ id: z.string(said).min(1, said), name: optionalText, aadObjectId: optionalText, role: optionalText }, said);
};
const withId = z.looseObject({ id: z.string() }).nullish();

/** An entity: botbuilder lower-cases every `type` looking for mentions, and reads who a mention names. */
const entity = z
  .looseObject({ type: z.string(), text: optionalText, mentioned: account().optional() })
  .refine((e) => e.type.toLowerCase() !== 'mention' || e.mentioned !== undefined, { path: ['mentioned'], error: 'must name who is mentioned, with an "id"' });

/**
 * The parts of an activity that botbuilder and the bot read, with the types they assume: a field of
 * the wrong type fails inside the turn ("Sorry, something went wrong") instead of telling the
 * caller, so it is refused here. Anything else an activity carries passes through untouched.
 */
const ACTIVITY = z
  .looseObject(
    {
      type: z.string({ error: ACTIVITY_REQUIRED }).min(1, { error: ACTIVITY_REQUIRED }),
      serviceUrl: z.string({ error: 'The activity must carry an http(s) "serviceUrl".' }).regex(/^https?:\/\/[^\s/]+/i, { error: 'The activity must carry an http(s) "serviceUrl".' }),
      conversation: account(carrying('conversation')).extend({ conversationType: optionalText, tenantId: optionalText, isGroup: z.boolean().nullish() }),
      from: account(carrying('from')),
      recipient: account(carrying('recipient')),
      id: optionalText,
      channelId: optionalText,
      name: optionalText,
      action: optionalText,
      text: optionalText,
      textFormat: optionalText,
      summary: optionalText,
      locale: optionalText,
      replyToId: optionalText,
      deliveryMode: optionalText,
      timestamp: optionalText,
      localTimestamp: optionalText,
      // null is refused too: botbuilder reads the entities of every message as a list.
      entities: z.array(entity).optional(),
      attachments: z.array(z.looseObject({ contentType: z.string(), name: optionalText })).nullish(),
      membersAdded: z.array(account()).nullish(),
      membersRemoved: z.array(account()).nullish(),
      channelData: z.looseObject({ tenant: withId, team: withId, channel: withId, eventType: optionalText }).nullish(),
      relatesTo: z.looseObject({}).nullish(),
    },
    { error: ACTIVITY_REQUIRED },
  )
  .refine((a) => a.type !== 'invoke' || a.value === undefined || a.value === null || isObject(a.value), { path: ['value'], error: 'must be an object on an invoke' });

/** How a field is wrong, in words: "must be a string". */
function fieldProblem(issue: { code: string; expected?: string; origin?: string }): string | undefined {
  if (issue.code === 'invalid_type') return `must be ${{ string: 'a string', object: 'an object', array: 'a list', boolean: 'true or false' }[issue.expected ?? ''] ?? `a ${issue.expected}`}`;
  if (issue.code === 'too_small' && issue.origin === 'string') return 'must not be empty';
  return undefined;
}

/** `entities[0].mentioned.id`, as a reader of the activity would write the path. */
const pathOf = (path: PropertyKey[]) => path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');

/**
 * Why a parsed body is not an activity the adapter can take, or undefined if it is one. The reason
 * names the field, so that whoever sent it can fix it; the field's value is never quoted.
 */
export function activityProblem(body: unknown): string | undefined {
  const parsed = ACTIVITY.safeParse(body, { error: (issue) => fieldProblem(issue as never) });
  if (parsed.success) return undefined;
  const [issue] = parsed.error.issues;
  // Our own sentences say it all; zod's short ones are said of the field.
  return /^The /.test(issue.message) ? issue.message : `The activity's "${pathOf(issue.path)}" ${issue.message}.`;
}

/**
 * A bearer token without an expiry would be good for ever: jsonwebtoken checks `exp` only when it is
 * there, and botbuilder asks no more. Refused before its signature is checked, since no signature
 * makes it acceptable; botbuilder then verifies the rest (with its 5 minutes of clock tolerance).
 */
export function tokenProblem(authorization: string | undefined): string | undefined {
  const [scheme, token] = (authorization ?? '').split(' ');
  if (scheme !== 'Bearer' || !token) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return undefined; // not a JWT at all: botbuilder refuses it
  }
  if (!isObject(payload) || typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) return 'The token must carry an expiry ("exp").';
  return undefined;
}

/**
 * A bot registered in one organisation's tenant serves that organisation only: an activity from
 * another tenant, or naming none, is refused even with a good token (a multi-tenant Bot Framework
 * token says which bot it is for, not which organisation it comes from).
 */
export function tenantProblem(activity: Record<string, unknown>, tenantId: string): string | undefined {
  if (!tenantId) return undefined;
  const channelData = isObject(activity.channelData) ? activity.channelData : {};
  const named = [isObject(channelData.tenant) ? channelData.tenant.id : undefined, isObject(activity.conversation) ? activity.conversation.tenantId : undefined].filter((t) => t !== undefined && t !== null);
  if (named.length === 0) return 'The activity must name its tenant (channelData.tenant.id): this bot serves one organisation.';
  if (named.some((t) => typeof t !== 'string' || t.toLowerCase() !== tenantId.toLowerCase())) return 'The activity comes from another tenant: this bot serves one organisation.';
  return undefined;
}

/**
 * A meeting's calendar file for a link on a card (`GET /api/meetings/{id}.ics`): the link's own
 * query carries its permission (bot/meetingLinks.ts), checked by whoever answers.
 */
export type MeetingFiles = (meetingId: string, query: URLSearchParams) => Promise<{ status: 200; ics: string; filename: string } | { status: 403 | 404; error: string }>;

/** How long a health check waits for the database before calling it unreachable. */
const DATABASE_PING_MS = 2000;

/** Whether the database answers, within DATABASE_PING_MS; a hung connection counts as unreachable. */
async function databaseReachable(database: Pick<Database, 'ping'>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('ping timed out'), { code: 'ETIMEDOUT' })), DATABASE_PING_MS);
  });
  try {
    await Promise.race([database.ping(), timedOut]);
    return true;
  } catch (e) {
    log.warn({ ...describeError(e) }, 'database unreachable');
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * restify serving `POST /api/messages` for the Bot Framework, `GET /healthz` and `GET /readyz`
 * (503 while the database cannot be reached), and with `meetingFiles` `GET /api/meetings/{id}.ics`.
 * A body that is not an activity, a token without an expiry, or an activity from another tenant
 * gets a 4xx with a reason before the adapter sees it;
 * nothing crashes the process. Without an adapter, botbuilder's CloudAdapter is made from the config.
 */
/** Graph's change notifications on workers' calendars, applied after the answer (src/graph/calendarSync.ts). */
export type CalendarNotifications = (body: unknown) => Promise<void>;

export async function startServer(options: {
  config: BotConfig;
  bot: ActivityHandler;
  adapter?: CloudAdapter;
  host?: string;
  database?: Pick<Database, 'ping'>;
  meetingFiles?: MeetingFiles;
  calendarNotifications?: CalendarNotifications;
}): Promise<RunningServer> {
  const adapter = options.adapter ?? createAdapter(options.config);
  const server = restify.createServer({ name: 'earlyhelp-bot', handleUncaughtExceptions: false });
  server.use(restify.plugins.bodyParser({ maxBodySize: MAX_ACTIVITY_BYTES, mapParams: false, rejectUnknown: true }));

  // Liveness and readiness answer alike: either way, a bot without its database can record nothing.
  const health: restify.RequestHandler = async (_req, res) => {
    const database = options.database;
    if (!database) res.send(200, { status: 'ok' });
    else if (await databaseReachable(database)) res.send(200, { status: 'ok', database: 'ok' });
    else res.send(503, { status: 'unavailable', database: 'unreachable' });
  };
  server.get('/healthz', health);
  server.get('/readyz', health);

  const refuse = (res: restify.Response, status: number, reason: string) => {
    log.warn({ status, reason }, 'request refused');
    res.send(status, { error: reason });
  };

  server.post('/api/messages', async (req, res) => {
    const problem = activityProblem(req.body);
    if (problem) return refuse(res, 400, problem);
    const authorization = req.header('authorization');
    const badToken = tokenProblem(authorization);
    if (badToken) return refuse(res, 401, badToken);
    const otherTenant = options.config.localMode ? undefined : tenantProblem(req.body as Record<string, unknown>, options.config.tenantId);
    if (otherTenant) return refuse(res, 403, otherTenant);
    try {
      await adapter.process(req, res, (context) => options.bot.run(context));
    } catch (e) {
      // botbuilder's schema check of the activity throws here, outside the turn: the caller's fault.
      const invalid = (e as Error)?.name === 'ZodError';
      log.error({ activityId: (req.body as { id?: unknown }).id, ...describeError(e) }, invalid ? 'activity refused' : 'request failed');
      if (!res.headersSent) res.send(invalid ? 400 : 500, { error: invalid ? 'The activity does not match the Bot Framework schema.' : 'The request could not be processed.' });
    }
  });

  // A browser opening "Add to my calendar" (local mode): no Teams identity, so the link is signed and expires.
  const meetingFiles = options.meetingFiles;
  if (meetingFiles) {
    server.get('/api/meetings/:file', async (req, res) => {
      const id = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.ics$/i.exec(String(req.params?.file ?? ''))?.[1];
      if (!id) return refuse(res, 404, 'There is no such meeting.');
      try {
        const answer = await meetingFiles(id.toLowerCase(), new URL(req.url ?? '/', 'http://localhost').searchParams);
        if (answer.status !== 200) return refuse(res, answer.status, answer.error);
        res.setHeader('content-type', 'text/calendar; charset=utf-8');
        res.setHeader('content-disposition', `attachment; filename="${answer.filename.replace(/[^A-Za-z0-9._-]/g, '_')}"`);
        res.setHeader('cache-control', 'no-store');
        res.sendRaw(200, answer.ics);
      } catch (e) {
        log.error({ ...describeError(e) }, 'calendar file failed');
        if (!res.headersSent) res.send(500, { error: 'The calendar file could not be made.' });
      }
    });
  }

  // Microsoft Graph: the validation handshake (the token back, as text, within 10 s), then change
  // notifications, answered 202 at once (Graph wants an answer within 3 s) and applied after.
  const calendarNotifications = options.calendarNotifications;
  if (calendarNotifications) {
    server.post('/api/graph/notifications', async (req, res) => {
      const token = validationToken(req.url ?? '/');
      if (token !== null) {
        res.setHeader('content-type', 'text/plain; charset=utf-8');
        res.sendRaw(200, token);
        return;
      }
      if (!req.body || typeof req.body !== 'object' || !Array.isArray((req.body as { value?: unknown }).value)) return refuse(res, 400, 'A change notification must be a JSON object with a value array.');
      res.send(202);
      calendarNotifications(req.body).catch((e) => log.warn({ ...describeError(e) }, 'calendar notification not applied; the delta reconciliation will catch it'));
    });
  }

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
