import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { DATABASE_UNAVAILABLE_REPLY } from '../../bot/adapter';
import { isDatabaseUnavailable } from '../../src/storage/database';
import { DEMO_STAFF } from '../../bot/playground/demoTeam';
import { LoopbackConnector, startConnector } from '../helpers/connector';
import { serverDatabase, TestDatabase } from '../helpers/database';

/**
 * The bot on a PostgreSQL server losing its connections: it must stay up, tell the person to try
 * again, say so on /healthz and /readyz, and carry on once the database is back. The bot runs in a
 * child process, as `npm start` runs it, so that a crash is seen as a crash and not a failed test
 * worker.
 */
const FIXTURE = path.join(__dirname, 'fixtures', 'botProcess.ts');
/** Starting the bot under tsx takes a few seconds, more on a loaded machine. */
const STARTING_A_PROCESS_MS = 60_000;

interface BotProcess {
  url: string;
  /** Whether the process is still running. */
  alive(): boolean;
  /** What it printed, for a failure message. */
  output(): string;
  stop(): Promise<void>;
}

function startBotProcess(databaseUrl: string): Promise<BotProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE], {
      // The scheduler off: its background work (the demo cases' TAF bookings, reminders) would add its own
      // connections to the ones the test counts waiting on the lock.
      env: { ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn', PORT: '0', MicrosoftAppId: '', EARLYHELP_SCHEDULER: 'off' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (b: Buffer) => {
      output += b;
      const listening = output.match(/^listening (\S+)$/m);
      if (listening) resolve(running(listening[1]));
    };
    const running = (url: string): BotProcess => ({
      url,
      alive: () => child.exitCode === null && child.signalCode === null,
      output: () => output,
      stop: () =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          child.once('exit', () => done());
          child.kill('SIGKILL');
        }),
    });
    child.stdout!.on('data', collect);
    child.stderr!.on('data', (b: Buffer) => (output += b));
    child.on('error', reject);
    child.on('exit', (code, signal) => reject(new Error(`the bot exited before listening (${code ?? signal}): ${output}`)));
  });
}

/** A TCP proxy in front of the PostgreSQL server that can be taken down (every connection cut) and brought back on the same port. */
async function startProxy(target: { host: string; port: number }) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server = net.createServer((client) => {
        const upstream = net.connect(target.port, target.host);
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('error', () => undefined);
          s.on('close', () => {
            sockets.delete(s);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve((server!.address() as net.AddressInfo).port));
    });
  const port = await listen(0);
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server!.close(() => resolve());
    });
  return { port, down, up: async () => void (await listen(port)), close: () => (server!.listening ? down() : Promise.resolve()) };
}

let n = 0;
/** An allocation by the demo manager (Action.Execute, verb allocateCase) to the demo worker. */
function allocation(reference: string, serviceUrl: string) {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id: `loss-${++n}-${Date.now()}`,
    channelId: 'msteams',
    serviceUrl,
    from: { id: '29:morgan', name: 'Morgan Reid', aadObjectId: DEMO_STAFF.manager.id },
    recipient: { id: '28:bot', name: 'Early Help' },
    conversation: { id: 'a:personal-morgan', conversationType: 'personal' },
    value: {
      action: {
        type: 'Action.Execute',
        verb: 'allocateCase',
        data: { verb: 'allocateCase', reference, familyName: 'Testfamily', children: '', referralReason: '', source: 'referral', existingPlan: '', leadProfessional: DEMO_STAFF.worker.id, caseloadPoints: '1', initialActions: '', cafRequired: 'true' },
      },
      trigger: 'manual',
    },
  };
}

/** A message from the demo manager in their personal chat. */
function message(text: string, serviceUrl: string) {
  return { type: 'message', id: `loss-${++n}-${Date.now()}`, text, channelId: 'msteams', serviceUrl, from: { id: '29:morgan', name: 'Morgan Reid', aadObjectId: DEMO_STAFF.manager.id }, recipient: { id: '28:bot', name: 'Early Help' }, conversation: { id: 'a:personal-morgan', conversationType: 'personal' } };
}

async function send(bot: BotProcess, activity: object): Promise<{ status: number; text: string }> {
  const res = await fetch(`${bot.url}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  return { status: res.status, text: await res.text() };
}

/** The card Teams would show for an invoke answer, as text. */
function cardShown(answer: { status: number; text: string }): string {
  const body = JSON.parse(answer.text) as { statusCode?: number; type?: string; value?: { type?: string; version?: string; fallbackText?: string } };
  expect(body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: { type: 'AdaptiveCard', version: '1.4' } });
  return JSON.stringify(body.value);
}

const tryAgain = (answer: { status: number; text: string }) => answer.status === 200 && cardShown(answer).includes('cannot be reached');
const allocated = (answer: { status: number; text: string }) => answer.status === 200 && /allocated to Sam Patel/.test(cardShown(answer));

async function until(condition: () => Promise<boolean>, what: string, withinMs = 20_000): Promise<void> {
  const end = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const health = async (bot: BotProcess, route = '/healthz') => {
  const res = await fetch(`${bot.url}${route}`);
  return { status: res.status, body: (await res.json()) as unknown };
};

let t: TestDatabase;
let connector: LoopbackConnector;
beforeAll(async () => {
  t = await serverDatabase({ migrated: false });
  connector = await startConnector();
});
afterAll(async () => {
  await connector?.close();
  await t?.dispose();
});

describe('the bot on a PostgreSQL server that loses its connections', () => {
  test('8 allocations in flight when an administrator ends every session: the bot stays up, each gets an answer, and the next allocation works', async () => {
    const applicationName = `eh-conn-loss-${randomBytes(4).toString('hex')}`;
    const bot = await startBotProcess(`${t.url}&application_name=${applicationName}`);
    let release = () => {};
    try {
      // Every allocation is held at its insert by a lock on the cases table, so that all 8 are
      // mid-transaction, each on its own connection, when the sessions are ended.
      const held = new Promise<void>((r) => (release = r));
      let locked = () => {};
      const isLocked = new Promise<void>((r) => (locked = r));
      const holder = t.db.transaction(async (tx) => {
        await tx.query('LOCK TABLE cases IN EXCLUSIVE MODE');
        locked();
        await held;
      });
      await isLocked;
      const inFlight = Array.from({ length: 8 }, (_, i) => send(bot, allocation(`EH-LOSS-${i + 1}`, connector.url)));
      const waiting = async () => {
        const [row] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [applicationName]);
        return row.n === 8;
      };
      await until(waiting, 'the 8 allocations to wait on the lock');

      const ended = await t.db.query<{ pg_terminate_backend: boolean }>('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      expect(ended.length).toBeGreaterThanOrEqual(8);
      release();
      await holder;

      const settled = await Promise.allSettled(inFlight);
      const unanswered = settled.filter((s) => s.status === 'rejected').length;
      if (unanswered) throw new Error(`${unanswered} of 8 allocations got no HTTP answer; the bot printed:\n${bot.output()}`);
      const answers = settled.map((s) => (s as PromiseFulfilledResult<{ status: number; text: string }>).value);
      for (const answer of answers) expect(tryAgain(answer) || allocated(answer)).toBe(true);
      const [first] = answers;
      expect(tryAgain(first)).toBe(true);
      expect(JSON.parse(first.text).value.fallbackText).toBe(DATABASE_UNAVAILABLE_REPLY);

      expect(await health(bot)).toEqual({ status: 200, body: { status: 'ok', database: 'ok' } });
      // The pool opened fresh connections: a new allocation is recorded, and so is one that was
      // told "nothing was recorded" when it is tried again.
      expect(allocated(await send(bot, allocation('EH-LOSS-NEW', connector.url)))).toBe(true);
      expect(allocated(await send(bot, allocation('EH-LOSS-1', connector.url)))).toBe(true);
      expect(bot.alive()).toBe(true);
    } finally {
      release();
      await bot.stop();
    }
  }, STARTING_A_PROCESS_MS);

  test('/healthz and /readyz say the database is unreachable while it is, and ok once it is back; meanwhile a card action and a message are told to try again', async () => {
    const server = new URL(t.url!);
    const proxy = await startProxy({ host: server.hostname, port: Number(server.port || 5432) });
    const viaProxy = new URL(t.url!);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    const bot = await startBotProcess(viaProxy.toString());
    try {
      expect(await health(bot)).toEqual({ status: 200, body: { status: 'ok', database: 'ok' } });

      await proxy.down();
      const unreachable = { status: 503, body: { status: 'unavailable', database: 'unreachable' } };
      expect(await health(bot)).toEqual(unreachable);
      expect(await health(bot, '/readyz')).toEqual(unreachable);
      expect(tryAgain(await send(bot, allocation('EH-DOWN-1', connector.url)))).toBe(true);
      const before = connector.received.length;
      expect((await send(bot, message('my cases', connector.url))).status).toBe(200);
      const replies = connector.received.slice(before).map((r) => r.body as { summary?: string; attachments?: Array<{ content: { fallbackText?: string } }> });
      expect(replies.map((r) => [r.summary, r.attachments?.[0]?.content.fallbackText])).toEqual([[DATABASE_UNAVAILABLE_REPLY, DATABASE_UNAVAILABLE_REPLY]]);
      expect(bot.alive()).toBe(true);

      await proxy.up();
      await until(async () => (await health(bot)).status === 200, '/healthz to say ok again');
      expect(await health(bot, '/readyz')).toEqual({ status: 200, body: { status: 'ok', database: 'ok' } });
      expect(allocated(await send(bot, allocation('EH-DOWN-1', connector.url)))).toBe(true);
      if (!bot.alive()) throw new Error(`the bot died:\n${bot.output()}`);
    } finally {
      await bot.stop();
      await proxy.close();
    }
  }, STARTING_A_PROCESS_MS);
});

describe('telling a lost database from a fault', () => {
  const error = (message: string, fields: object = {}) => Object.assign(new Error(message), fields);
  test.each<[string, boolean, unknown]>([
    ['a session ended by an administrator (57P01)', true, error('terminating connection due to administrator command', { code: '57P01' })],
    ['a server starting up (57P03)', true, error('the database system is starting up', { code: '57P03' })],
    ['a connection failure (class 08)', true, error('connection failure', { code: '08006' })],
    ['a refused connection', true, error('connect ECONNREFUSED 127.0.0.1:5432', { code: 'ECONNREFUSED' })],
    ['a reset connection', true, error('read ECONNRESET', { code: 'ECONNRESET' })],
    ['a connection that ended under a query', true, error('Connection terminated unexpectedly')],
    ['a client used after its connection died', true, error('Client has encountered a connection error and is not queryable')],
    ['refusals from every address of the host', true, new AggregateError([error('connect ECONNREFUSED ::1:5432', { code: 'ECONNREFUSED' })])],
    ['a duplicate key', false, error('duplicate key value violates unique constraint', { code: '23505' })],
    ['a syntax error in SQL', false, error('syntax error at or near', { code: '42601' })],
    ['a bug in the bot', false, new TypeError('Cannot read properties of undefined')],
    ['something thrown that is not an error', false, 'ECONNREFUSED'],
  ])('%s: database unavailable %s', (_name, unavailable, e) => {
    expect(isDatabaseUnavailable(e)).toBe(unavailable);
  });
});
