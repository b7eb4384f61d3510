/**
 * The scheduler's sweep as a process of its own, for the crash and two-instance tests
 * (crash.test.ts): `sweepReminders` with the default policy against the database in DATABASE_URL,
 * holding the sweep lease as HOLDER. It says "ready" once loaded and connected, then runs one
 * sweep for each line it reads,
 *
 *     sweep <ISO instant> <lease ms> [wait]
 *
 * answering "sweeping" as the sweep starts and "swept <JSON>" (the dedupe keys it planned, the
 * cases it read, and `skipped` when another holds the lease) once it is done. With `wait` it first
 * waits for the lease to be free or run out, as a server restarted after a crash waits for the
 * lease of the one that died. The tests kill it with SIGKILL whenever they like.
 */
import readline from 'node:readline';
import { calendarFor } from '../../src/calendar';
import { loadPolicy } from '../../src/policy';
import { sweepReminders } from '../../src/reminders/sweep';
import { createCaseLog } from '../../src/storage/caseLog';
import { openDatabase } from '../../src/storage/database';
import { createReminderStore } from '../../src/storage/reminderStore';
import { createStaffDirectory } from '../../src/storage/staffDirectory';

export interface SweptAnswer {
  planned: string[];
  casesRead: number;
  skipped?: string;
}

async function main() {
  const db = await openDatabase({ databaseUrl: process.env.DATABASE_URL! });
  const holder = process.env.HOLDER ?? `sweeper-${process.pid}`;
  const policy = loadPolicy();
  const directory = createStaffDirectory(db);
  const store = createReminderStore(db);
  // Warm up what the first sweep would otherwise load, so that "ready" means ready to sweep.
  await db.query('SELECT 1 FROM scheduler_runs LIMIT 1');
  process.stdout.write('ready\n');

  const lines = readline.createInterface({ input: process.stdin });
  for await (const line of lines) {
    const [command, instant, lease, wait] = line.trim().split(/\s+/);
    if (command !== 'sweep') continue;
    const leaseMs = Number(lease);
    if (wait === 'wait') {
      for (;;) {
        const [free] = await db.query<{ free: boolean }>(`SELECT locked_by IS NULL OR locked_until < now() AS free FROM scheduler_runs WHERE name = 'reminders'`);
        if (free.free) break;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    process.stdout.write('sweeping\n');
    const result = await sweepReminders(
      { db, caseLog: createCaseLog(db), store: { ...store, takeLease: (h: string) => store.takeLease(h, leaseMs) }, policy, calendar: calendarFor(policy), staff: () => directory.all() },
      { now: new Date(instant), holder },
    );
    const answer: SweptAnswer = { planned: result.planned.map((p) => p.dedupeKey), casesRead: result.casesRead, ...(result.skipped ? { skipped: result.skipped } : {}) };
    process.stdout.write(`swept ${JSON.stringify(answer)}\n`);
  }
  await db.close();
}

main().catch((e) => {
  process.stderr.write(`sweeper failed: ${(e as Error).stack}\n`);
  process.exit(1);
});
