/**
 * `npm start`: the product in local mode. Starts the bot on the embedded database with the demo
 * team and cases, and one Microsoft 365 Agents Playground (Microsoft's local Teams client) for each
 * demo person asked for: the manager and a worker unless `--as` names others
 * (`npm start -- --as dutyManager`, `--as manager,worker2`). Prints one address per person.
 *
 * The console is for people: the bot's JSON log goes to a file (warnings and errors unless
 * LOG_LEVEL says otherwise), and the console says where.
 */
import os from 'node:os';
import path from 'node:path';
import { DEMO_STAFF, DEMO_TITLES, DemoPerson, parseDemoPeople } from '../bot/playground/demoTeam';
import type { RunningPlayground } from '../bot/playground/launch';

/** Who `npm start` signs in when `--as` is not given: enough to see an allocation reach the worker. */
export const DEFAULT_PEOPLE: DemoPerson[] = ['manager', 'worker'];

/** The people named by `--as <list>` or `--as=<list>`, or the default. Throws on anyone unknown. */
export function peopleFromArgs(argv: string[]): DemoPerson[] {
  const at = argv.findIndex((a) => a === '--as' || a.startsWith('--as='));
  if (at < 0) return DEFAULT_PEOPLE;
  return parseDemoPeople(argv[at].startsWith('--as=') ? argv[at].slice('--as='.length) : (argv[at + 1] ?? ''));
}

/** Where the bot's log goes: EARLYHELP_LOG_FILE, else beside the embedded database, else a temporary file. */
export function logFileFor(env: NodeJS.ProcessEnv): string {
  if (env.EARLYHELP_LOG_FILE) return path.resolve(env.EARLYHELP_LOG_FILE);
  const dataDir = env.EARLYHELP_DATA_DIR ?? 'data';
  return dataDir.startsWith('memory://') ? path.join(os.tmpdir(), `earlyhelp-${process.pid}.log`) : path.resolve(dataDir, 'earlyhelp.log');
}

/**
 * Deprecations raised inside dependencies we cannot change, which a newcomer can do nothing about:
 * restify always loads spdy, whose http-deceiver reads process.binding('http_parser') (DEP0111).
 * Every other warning, ours included, is still printed.
 */
const DEPENDENCY_DEPRECATIONS = new Set(['DEP0111']);

function hideDependencyDeprecations(): void {
  const emitWarning = process.emitWarning.bind(process) as (...args: unknown[]) => void;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (typeof code === 'string' && DEPENDENCY_DEPRECATIONS.has(code)) return;
    emitWarning(warning, ...rest);
  }) as typeof process.emitWarning;
}

/** "Manager  Morgan Reid: http://..." lines, aligned. */
function addressLines(shown: Array<{ person: DemoPerson; url: string }>): string[] {
  const titleWidth = Math.max(...shown.map((s) => DEMO_TITLES[s.person].length));
  const nameWidth = Math.max(...shown.map((s) => DEMO_STAFF[s.person].name.length + 1));
  return shown.map((s) => `  ${DEMO_TITLES[s.person].padEnd(titleWidth)}  ${`${DEMO_STAFF[s.person].name}:`.padEnd(nameWidth)} ${s.url}`);
}

async function main() {
  let people: DemoPerson[];
  try {
    people = peopleFromArgs(process.argv.slice(2));
  } catch (e) {
    console.error((e as Error).message);
    process.exit(2);
  }
  if (process.env.MicrosoftAppId) {
    console.error('npm start runs the local demo; unset MicrosoftAppId (or run `npx tsx bot/main.ts` for a deployment).');
    process.exit(2);
  }
  hideDependencyDeprecations();
  // Read by bot/log.ts when it is first loaded: the bot is required only after they are set (a
  // require, not import(), so that it runs under `node --require tsx/cjs` as under tsx).
  const logFile = logFileFor(process.env);
  process.env.EARLYHELP_LOG_FILE = logFile;
  process.env.LOG_LEVEL ??= 'warn';
  const { startBot } = require('../bot/main') as typeof import('../bot/main');
  const { launchPlayground } = require('../bot/playground/launch') as typeof import('../bot/playground/launch');

  console.log('Starting Early Help in local mode ...');
  const bot = await startBot();
  const basePort = Number(process.env.PLAYGROUND_PORT ?? 56150);
  const dir = path.join(os.tmpdir(), 'earlyhelp-playground');
  const started = await Promise.allSettled(people.map((as, i) => launchPlayground({ botUrl: bot.server.url, port: basePort + i, as, dir })));
  const playgrounds = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(playgrounds.map((p) => p.close()));
    await bot.close();
    throw failed.reason;
  }

  const dataDir = process.env.EARLYHELP_DATA_DIR ?? 'data';
  const database = process.env.DATABASE_URL ? 'the PostgreSQL server in DATABASE_URL' : dataDir.startsWith('memory://') ? 'an embedded database in memory, gone when it stops' : `the embedded database in ${path.resolve(dataDir)}`;
  const shown = people.map((person, i) => ({ person, url: (playgrounds[i] as RunningPlayground).url }));
  const lines = [
    '',
    `Early Help is running in local mode, on ${database}.`,
    shown.length > 1 ? 'Open each address in its own browser tab: each is Teams for one demo person.' : 'Open this address: it is Teams for this demo person.',
    ...addressLines(shown),
    '',
  ];
  const manager = shown.find((s) => DEMO_STAFF[s.person].role === 'manager');
  const worker = shown.find((s) => DEMO_STAFF[s.person].role === 'worker');
  if (manager && worker) {
    const [m, w] = [DEMO_STAFF[manager.person].name, DEMO_STAFF[worker.person].name];
    lines.push(`As ${m}, type "allocate" and give a case to ${w}: the case arrives in ${w}'s chat.`);
  }
  lines.push('Try "my cases", "due", "case EH-1003" or "help". Other demo people: npm start -- --as <person> (see the README).');
  lines.push(`The log (${process.env.LOG_LEVEL} and above) is in ${logFile}. Ctrl-C stops.`, '');
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping ...');
    setTimeout(() => {
      console.error('npm start: did not stop within 10 s; leaving now.');
      process.exit(1);
    }, 10_000).unref();
    try {
      await Promise.all(playgrounds.map((p) => p.close()));
      await bot.close();
      process.exit(0);
    } catch (e) {
      console.error(`npm start: while stopping: ${(e as Error).message}`);
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`npm start: ${(e as Error).message}`);
    process.exit(1);
  });
}
