/**
 * The calendar sender as a process of its own, for the crash test (crash.test.ts): the booking
 * dispatcher with Graph's calendar, against the database in DATABASE_URL and the Graph server in
 * the GRAPH_* environment, with a short claim lease (LEASE_MS) so that a sender started after a
 * kill takes over quickly. It says "ready" once connected, then books until it is killed.
 */
import { calendarFor } from '../../src/calendar';
import { graphCalendar } from '../../src/graph/calendar';
import { createGraph } from '../../src/graph/client';
import { graphConfigFromEnv } from '../../src/graph/config';
import { loadPolicy } from '../../src/policy';
import { openDatabase } from '../../src/storage/database';
import { createCalendarDispatcher } from '../../src/taf/calendarDelivery';

async function main() {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL! });
  const policy = loadPolicy();
  const graph = createGraph(graphConfigFromEnv(process.env)!, { retry: { baseDelayMs: 50, jitterMs: 50 } });
  const now = new Date(process.env.NOW!);
  const sender = createCalendarDispatcher({
    db,
    port: graphCalendar(graph),
    policy,
    calendar: calendarFor(policy),
    now: () => now,
    dispatcher: { leaseMs: Number(process.env.LEASE_MS ?? 400), pollMs: 20, backoff: { baseMs: 20, maxMs: 200 }, claimer: `booker-${process.pid}` },
  });
  await db.query('SELECT 1 FROM taf_meetings LIMIT 1');
  sender.start();
  process.stdout.write('ready\n');
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack}\n`);
  process.exit(1);
});
