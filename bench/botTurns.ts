process.env.LOG_LEVEL = 'silent';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createAdapter } from '../bot/adapter';
import { botConfigFromEnv } from '../bot/config';
import { EchoBot } from '../bot/echoBot';
import { RunningBot, startBot } from '../bot/main';
import { DEMO_STAFF } from '../bot/playground/demoTeam';
import { startServer } from '../bot/server';
import { startConnector } from '../test/helpers/connector';
import { Database, openDatabase } from '../src/storage/database';
import { Worker } from 'node:worker_threads';
import type { LoadFigures, LoadSpec } from './loadWorker';

/**
 * Card action round trips (an `adaptiveCard/action` invoke over HTTP on loopback, the event
 * written to the database) against a bare echo turn on the same stack, at 10 and 50 concurrent
 * clients. Each level runs for a bounded time and talks only to loopback.
 */
const LEVELS = [10, 50];
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);

/** Runs the load in a worker thread: the clients do not share the bot's event loop. */
function load(spec: Omit<LoadSpec, 'seconds'>): Promise<LoadFigures> {
  const compiled = __filename.endsWith('.js');
  const worker = new Worker(path.join(__dirname, compiled ? 'loadWorker.js' : 'loadWorker.ts'), {
    workerData: { ...spec, seconds: SECONDS },
    execArgv: compiled ? [] : ['--require', 'tsx/cjs'],
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (figures: LoadFigures) => {
      void worker.terminate();
      resolve(figures);
    });
    worker.once('error', reject);
  });
}

const show = (f: LoadFigures) => `${f.perSecond.toFixed(0)} turns/s, p50 ${f.p50.toFixed(1)} ms, p99 ${f.p99.toFixed(1)} ms (${f.turns} turns${f.errors ? `, ${f.errors} errors` : ''})`;

export async function benchBotTurns(): Promise<string[]> {
  const lines: string[] = [];
  const connector = await startConnector();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-bench-'));
  const echoConfig = { ...botConfigFromEnv({}), port: 0 };
  const echo = await startServer({ config: echoConfig, adapter: createAdapter(echoConfig), bot: new EchoBot() });
  const engines: Array<[string, NodeJS.ProcessEnv]> = [['embedded PGlite', { EARLYHELP_DATA_DIR: dataDir }]];
  // On the server, a schema of the benchmark's own, dropped afterwards.
  const server = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const schema = `bench_${Date.now().toString(36)}`;
  let admin: Database | null = null;
  try {
    admin = await openDatabase({ databaseUrl: server });
    await admin.query(`CREATE SCHEMA ${schema}`);
    engines.push(['PostgreSQL server', { DATABASE_URL: `${server}${server.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` }]);
  } catch (e) {
    lines.push(`card action round trip on the PostgreSQL server: not measured (${(e as Error).message.slice(0, 80)})`);
  }
  try {
    for (const concurrency of LEVELS) {
      const echoLoad = { url: echo.url, concurrency, kind: 'echo' as const, serviceUrl: connector.url };
      await load(echoLoad); // warm-up pass, not reported
      lines.push(`bot echo turn, ${concurrency} clients: ${show(await load(echoLoad))}`);
    }
    for (const [engine, env] of engines) {
      let bot: RunningBot;
      try {
        bot = await startBot({ ...env, LOG_LEVEL: 'silent', EARLYHELP_DEMO: 'on' }, { port: 0 });
      } catch (e) {
        lines.push(`card action round trip on ${engine}: not measured (${(e as Error).message.slice(0, 80)})`);
        continue;
      }
      try {
        // 200 cases to act on, as a team's caseload: no one case's log grows long, and clients rarely collide.
        const stamp = Date.now().toString(36).toUpperCase();
        for (let c = 0; c < 200; c++) {
          await bot.services.caseLog.openCase({
            reference: `BENCH-${stamp}-${c}`,
            actor: 'bench',
            allocation: { type: 'allocated', by: DEMO_STAFF.manager.id, effectiveOn: bot.services.today(), data: { leadProfessional: DEMO_STAFF.worker.id, manager: DEMO_STAFF.manager.id, caseloadPoints: 1, initialActions: '', cafRequired: true, source: 'referral' } },
          });
        }
        const cases = await bot.services.db.query<{ id: string }>(`SELECT id FROM cases WHERE reference LIKE $1`, [`BENCH-${stamp}-%`]);
        for (const concurrency of LEVELS) {
          const cardLoad = { url: bot.server.url, concurrency, kind: 'card-action' as const, serviceUrl: connector.url, aadObjectId: DEMO_STAFF.worker.id, caseIds: cases.map((c) => c.id) };
          await load(cardLoad); // warm-up pass, not reported
          const before = await recordedEvents(bot, stamp);
          const figures = await load(cardLoad);
          // Every turn counted must have written its event: a refused action (a card re-shown) is not the round trip measured.
          const written = (await recordedEvents(bot, stamp)) - before;
          lines.push(`card action round trip (${engine}, event written), ${concurrency} clients: ${show(figures)}; ${written} events written`);
        }
      } finally {
        await bot.close();
      }
    }
  } finally {
    if (admin) {
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
      await admin.close();
    }
    await echo.close();
    await connector.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return lines;
}

async function recordedEvents(bot: RunningBot, stamp: string): Promise<number> {
  const [row] = await bot.services.db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM case_events e JOIN cases c ON c.id = e.case_id WHERE c.reference LIKE $1 AND e.type = 'case-recorded'`,
    [`BENCH-${stamp}-%`],
  );
  return row.n;
}

if (require.main === module) {
  benchBotTurns().then((lines) => lines.forEach((l) => console.log(l)));
}
