/**
 * `npm start`: the product in local mode. Starts the bot on the embedded database with the demo
 * team and cases, and Microsoft 365 Agents Playground (Microsoft's local Teams client) signed in as
 * the demo manager, or as a worker with `npm start -- --as worker`; prints the address to open.
 */
import os from 'node:os';
import path from 'node:path';
import { startBot } from '../bot/main';
import { launchPlayground } from '../bot/playground/launch';
import { DEMO_STAFF, DemoPerson } from '../bot/playground/demoTeam';

async function main() {
  const asIndex = process.argv.findIndex((a) => a === '--as' || a.startsWith('--as='));
  const as = (asIndex < 0 ? 'manager' : process.argv[asIndex].startsWith('--as=') ? process.argv[asIndex].slice(5) : process.argv[asIndex + 1]) as DemoPerson;
  if (!(as in DEMO_STAFF)) {
    console.error(`--as: choose one of ${Object.keys(DEMO_STAFF).join(', ')}`);
    process.exit(2);
  }
  if (process.env.MicrosoftAppId) {
    console.error('npm start runs the local demo; unset MicrosoftAppId (or run `npx tsx bot/main.ts` for a deployment).');
    process.exit(2);
  }
  const bot = await startBot();
  const playground = await launchPlayground({
    botUrl: bot.server.url,
    port: Number(process.env.PLAYGROUND_PORT ?? 56150),
    as,
    dir: path.join(os.tmpdir(), 'earlyhelp-playground'),
  });
  const dataDir = process.env.EARLYHELP_DATA_DIR ?? 'data';
  const database = process.env.DATABASE_URL ? 'the PostgreSQL server in DATABASE_URL' : dataDir.startsWith('memory://') ? 'an embedded database in memory, gone when it stops' : `the embedded database in ${path.resolve(dataDir)}`;
  console.log(`\nEarly Help is running in local mode, on ${database}.`);
  console.log(`Open ${playground.url} to chat with the bot as ${DEMO_STAFF[as].name} (${DEMO_STAFF[as].role}).`);
  console.log('Try "my cases", "due", "case EH-1003" or "allocate". Ctrl-C stops.\n');
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await playground.close();
    await bot.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((e) => {
  console.error(`npm start: ${(e as Error).message}`);
  process.exit(1);
});
