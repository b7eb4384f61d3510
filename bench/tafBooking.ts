import { parseCaseImport } from '../src/caseImport';
import { calendarFor } from '../src/calendar';
import { graphCalendar } from '../src/graph/calendar';
import { createGraph, PER_MAILBOX_CONCURRENCY } from '../src/graph/client';
import { graphConfigFromEnv } from '../src/graph/config';
import { LocalDate } from '../src/localDate';
import { loadPolicy } from '../src/policy';
import { StaffMember } from '../src/staff';
import { createCaseLog } from '../src/storage/caseLog';
import { Database, openDatabase } from '../src/storage/database';
import { createMeetingStore } from '../src/storage/meetingStore';
import { migrate } from '../src/storage/migrations';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { bookingPass } from '../src/taf/bookingPass';
import { createCalendarDispatcher } from '../src/taf/calendarDelivery';
import { directoryUser, startGraphServer } from '../test/helpers/graphServer';
import { inServerSchema } from './serverSchema';

/**
 * Booking first TAF meetings (issue 9): 1,000 new cases across 100 workers, booked in Outlook
 * against the loopback Graph server over HTTPS (tokens from its loopback Entra ID), each Graph
 * request answered after LATENCY_MS. Reported: Graph requests per booking (aim: at most 3), and the
 * time from the booking pass to the last meeting booked, against the floor that 4 concurrent
 * requests per mailbox allow (every mailbox's requests, 4 at a time, at the server's latency).
 */
const CASES = Number(process.env.BENCH_TAF_CASES ?? 1_000);
const WORKERS = Number(process.env.BENCH_TAF_WORKERS ?? 100);
const LATENCY_MS = Number(process.env.BENCH_GRAPH_LATENCY_MS ?? 50);

export async function benchTafBooking(): Promise<string[]> {
  const lines = await inServerSchema('bench_taf', (db) => bookFirstTafs(db, 'PostgreSQL'));
  const db = await openDatabase({ dataDir: 'memory://' });
  try {
    lines.push(...(await bookFirstTafs(db, 'PGlite')));
  } finally {
    await db.close();
  }
  return lines;
}

async function bookFirstTafs(db: Database, engine: string): Promise<string[]> {
  const today = '2027-01-11' as LocalDate;
  const now = new Date(`${today}T10:00:00Z`);
  const policy = loadPolicy();
  const calendar = calendarFor(policy);
  const staff: StaffMember[] = [
    { id: '0000000a-0000-4000-8000-000000000000', name: 'Bench Manager', email: 'manager@bench.example', role: 'manager', team: 'Bench', capacityPoints: 0, active: true },
    ...Array.from({ length: WORKERS }, (_, w): StaffMember => ({ id: `0000000b-0000-4000-8000-${String(w).padStart(12, '0')}`, name: `Worker ${w}`, email: `worker.${w}@bench.example`, role: 'worker', team: 'Bench', lineManager: '0000000a-0000-4000-8000-000000000000', capacityPoints: 400, active: true })),
  ];
  const server = await startGraphServer({ latencyMs: LATENCY_MS });
  for (const m of staff) server.users.set(m.id, directoryUser(m.name, { id: m.id, mail: m.email, userPrincipalName: m.email }));
  try {
    await migrate(db);
    await createStaffDirectory(db).save(staff, 'bench');
    const document = { cases: Array.from({ length: CASES }, (_, n) => ({ reference: `TAF-${n}`, allocatedOn: today, leadProfessional: staff[1 + (n % WORKERS)].email, caseloadPoints: 1, cafRequired: true, source: 'referral', family: { name: `Family ${n}`, children: [] }, events: [] })) };
    await createCaseLog(db).importCases(parseCaseImport(document, { staff, today }), { actor: 'bench', file: 'bench.json' });
    const meetings = createMeetingStore(db);
    const graph = createGraph(graphConfigFromEnv(server.env())!);
    // A token first, as a running server has one: the first request's sign-in is not a booking's cost.
    await graph.tokens.getAccessToken();
    server.reset();

    const started = process.hrtime.bigint();
    const pass = await bookingPass({ db, caseLog: createCaseLog(db), meetings, policy, calendar, calendarKind: 'outlook' }, { now });
    const passMs = Number(process.hrtime.bigint() - started) / 1e6;
    const sender = createCalendarDispatcher({ db, port: graphCalendar(graph), policy, calendar, now: () => now, dispatcher: { pollMs: 10 } });
    sender.start();
    while ((await meetings.list({ states: ['booking'], limit: 1 })).length > 0) await new Promise((r) => setTimeout(r, 10));
    const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
    await sender.stop();

    const booked = (await meetings.list({ states: ['booked'] })).length;
    const requests = server.requests.filter((r) => !r.inBatch).length;
    const perMailbox = new Map<string, number>();
    for (const r of server.requests) {
      const mailbox = /^\/v1\.0\/users\/([^/]+)\//.exec(r.path)?.[1];
      if (mailbox) perMailbox.set(mailbox, (perMailbox.get(mailbox) ?? 0) + 1);
    }
    const busiest = Math.max(...perMailbox.values());
    const floorMs = Math.ceil(busiest / PER_MAILBOX_CONCURRENCY) * LATENCY_MS;
    const peak = Math.max(...server.peakConcurrency.values());
    return [
      `taf booking (${engine}): ${pass.planned.length} first TAFs planned for ${CASES} cases across ${WORKERS} workers in ${passMs.toFixed(0)} ms; ${booked} booked in Outlook (loopback Graph, ${LATENCY_MS} ms a request)`,
      `taf booking (${engine}): ${(requests / Math.max(1, booked)).toFixed(2)} Graph requests per booking (aim: at most 3): ${requests} in all, getSchedule and the create`,
      `taf booking (${engine}): ${(totalMs / 1000).toFixed(2)} s from the pass to the last booked; floor ${(floorMs / 1000).toFixed(2)} s (${busiest} requests to the busiest mailbox, ${PER_MAILBOX_CONCURRENCY} at a time); ${(totalMs / floorMs).toFixed(1)}x the floor; at most ${peak} requests at once to one mailbox`,
    ];
  } finally {
    await server.close();
  }
}

if (require.main === module) {
  benchTafBooking().then(
    (lines) => lines.forEach((l) => console.log(l)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
