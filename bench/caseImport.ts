import { inServerSchema } from './serverSchema';
import { parseCaseImport } from '../src/caseImport';
import { addDays, LocalDate, londonDateOf } from '../src/localDate';
import { StaffMember } from '../src/staff';
import { createCaseLog } from '../src/storage/caseLog';
import { Database, openDatabase } from '../src/storage/database';
import { migrate } from '../src/storage/migrations';
import { createStaffDirectory } from '../src/storage/staffDirectory';

/**
 * `earlyhelp cases import` at an authority's scale (issue 8): 100,000 cases of 20 events each
 * (the allocation and 19 events since) into the PostgreSQL server and into PGlite in memory.
 * Timed from checking the document (`parseCaseImport`, with the staff directory read as the CLI
 * reads it) through the committed transaction; building the document is not timed. On PGlite a
 * smaller count is measured when 100,000 would take more than a minute, and the line says so.
 */
const CASES = Number(process.env.BENCH_IMPORT_CASES ?? 100_000);
const EVENTS_PER_CASE = 20;
/** PGlite's budget for the full count; beyond it a smaller, round count is measured instead. */
const PGLITE_BUDGET_S = 60;
const WORKERS = 1_000;
const MANAGERS = 50;

const guid = (kind: number, n: number) => `${kind.toString(16).padStart(8, '0')}-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

function benchStaff(): StaffMember[] {
  const managers = Array.from({ length: MANAGERS }, (_, m): StaffMember => ({ id: guid(1, m), name: `Manager ${m}`, email: `manager.${m}@bench.example`, role: 'manager', team: `Team ${m}`, capacityPoints: 0, active: true }));
  const workers = Array.from({ length: WORKERS }, (_, w): StaffMember => ({
    id: guid(2, w),
    name: `Worker ${w}`,
    email: `worker.${w}@bench.example`,
    role: 'worker',
    team: `Team ${w % MANAGERS}`,
    lineManager: managers[w % MANAGERS].id,
    capacityPoints: 400,
    active: true,
  }));
  return [...managers, ...workers];
}

/** A case as an authority's file gives it: staff by e-mail, the manager left to the line manager, 19 events after the allocation. */
function fileCase(prefix: string, n: number, today: LocalDate): Record<string, unknown> {
  const allocatedOn = addDays(today, -100 - (n % 600));
  const worker = `worker.${n % WORKERS}@bench.example`;
  const manager = `manager.${n % WORKERS % MANAGERS}@bench.example`;
  const j = n % 4;
  const on = (days: number) => addDays(allocatedOn, days);
  const event = (type: string, days: number, data: Record<string, unknown> = {}, by = worker) => ({ type, effectiveOn: on(days), by, data });
  return {
    reference: `${prefix}-${n}`,
    allocatedOn,
    leadProfessional: worker,
    caseloadPoints: 1 + (n % 5),
    cafRequired: n % 10 !== 0,
    source: 'referral',
    referralReason: 'Attendance and behaviour at school',
    family: { name: `Family ${n}`, children: [{ name: `Child ${n}`, dateOfBirth: addDays(allocatedOn, -3000 - (n % 2000)) }] },
    events: [
      event('telephone-contact-made', 1 + j),
      event('case-recorded', 2 + j),
      event('visit', 4 + j, { childSeen: true, consentForm: true, medicalForm: true, homeChecked: true }),
      event('case-recorded', 6 + j),
      event('information-received', 9, { from: 'school' }),
      event('supervision-held', 20, {}, manager),
      event('caf-submitted', 24 + j, { to: manager }),
      event('caf-authorised', 28 + j, {}, manager),
      event('supervision-record-returned', 30, { supervisionDate: on(20) }, manager),
      event('taf-held', 33 + j),
      event('case-recorded', 35 + j),
      event('supervision-record-authorised', 44, { supervisionDate: on(20) }, manager),
      event('minutes-shared', 50 + j, { tafDate: on(33 + j) }),
      event('supervision-held', 52, {}, manager),
      event('telephone-contact-made', 60, { note: 'Spoke to the family about the plan' }),
      event('taf-held', 75 + j * 4, { review: true }),
      event('case-recorded', 77 + j * 4),
      event('needs-escalated', 80, { reason: 'new concern' }),
      event('minutes-shared', 90 + j * 4, { tafDate: on(75 + j * 4) }),
    ],
  };
}

/** Imports `count` cases and returns the seconds taken, from checking the document to the commit. */
async function timedImport(db: Database, prefix: string, count: number, today: LocalDate): Promise<number> {
  const document = { cases: Array.from({ length: count }, (_, n) => fileCase(prefix, n, today)) };
  const start = process.hrtime.bigint();
  const staff = await createStaffDirectory(db).all();
  const cases = parseCaseImport(document, { staff, today });
  await createCaseLog(db).importCases(cases, { actor: 'bench', file: 'bench.json' });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const [row] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE reference LIKE $1`, [`${prefix}-%`]);
  if (row.n !== count) throw new Error(`case import bench: ${row.n} of ${count} cases written`);
  return seconds;
}

const figures = (count: number, seconds: number) =>
  `${count.toLocaleString('en-GB')} cases \u00d7 ${EVENTS_PER_CASE} events in ${seconds.toFixed(1)} s (${Math.round(count / seconds).toLocaleString('en-GB')} cases/s, ${Math.round((count * EVENTS_PER_CASE) / seconds).toLocaleString('en-GB')} events/s)`;

async function prepared(db: Database): Promise<void> {
  await migrate(db);
  await createStaffDirectory(db).save(benchStaff(), 'bench');
}

export async function benchCaseImport(): Promise<string[]> {
  const lines: string[] = [];
  const today = londonDateOf(new Date());
  const warmUp = Math.min(1_000, CASES);

  // The server, in a schema of the benchmark's own, dropped afterwards.
  try {
    await inServerSchema('bench_import', async (db) => {
      await prepared(db);
      await timedImport(db, 'WARM', warmUp, today); // warms the JIT and the connection, not reported
      lines.push(`case import, PostgreSQL: ${figures(CASES, await timedImport(db, 'BENCH', CASES, today))}`);
    });
  } catch (e) {
    lines.push(`case import, PostgreSQL: not measured (${(e as Error).message.slice(0, 80)})`);
  }

  const db = await openDatabase({ dataDir: 'memory://' });
  try {
    await prepared(db);
    // A sample sets the count: the full one if it fits the budget, else the largest round count that does.
    const sampleSeconds = await timedImport(db, 'WARM', warmUp, today);
    const projected = (sampleSeconds * CASES) / warmUp;
    const count = projected <= PGLITE_BUDGET_S ? CASES : ([50_000, 20_000, 10_000, 5_000, 2_000].find((n) => n < CASES && (sampleSeconds * n) / warmUp <= PGLITE_BUDGET_S / 2) ?? warmUp);
    const note = count < CASES ? `; ${CASES.toLocaleString('en-GB')} would take about ${Math.round(projected)} s, so ${count.toLocaleString('en-GB')} were measured` : '';
    lines.push(`case import, PGlite (in memory): ${figures(count, await timedImport(db, 'BENCH', count, today))}${note}`);
  } catch (e) {
    lines.push(`case import, PGlite: not measured (${(e as Error).message.slice(0, 80)})`);
  } finally {
    await db.close();
  }
  return lines;
}

if (require.main === module) {
  benchCaseImport().then((lines) => lines.forEach((l) => console.log(l)));
}
