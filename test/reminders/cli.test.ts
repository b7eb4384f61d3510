import { allocateCase } from '../../src/caseWork';
import { CliIo, runCli } from '../../src/cli/main';
import { LocalDate } from '../../src/localDate';
import { createCaseLog } from '../../src/storage/caseLog';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { allocationInput } from '../helpers/allocationInput';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { DUTY, MORGAN, SAM, TEAM } from '../helpers/demoStaff';
import { createConversationStore } from '../../src/storage/conversations';

/** `earlyhelp reminders`: one sweep on demand, with its clock set, as a dry run or for real. */

let t: TestDatabase;
let reference: string;
beforeAll(async () => {
  t = await serverDatabase();
  const directory = createStaffDirectory(t.db);
  await directory.save(TEAM, 'test');
  const record = await allocateCase({ caseLog: createCaseLog(t.db), directory, today: () => '2026-12-03' as LocalDate }, MORGAN, allocationInput());
  reference = record.reference;
  const conversations = createConversationStore(t.db);
  for (const m of [MORGAN, SAM, DUTY]) await conversations.save({ conversationId: `personal:${m.id}`, staffId: m.id, conversationType: 'personal', reference: {} });
});
afterAll(async () => t?.dispose());

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { USER: 'ada', DATABASE_URL: t.url! }, now: () => new Date('2026-12-05T12:00:00Z') };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

test('--dry-run --json prints one object per notification, in London time without an offset, and writes nothing', async () => {
  const dry = await cli('reminders', '--now', '2026-12-04T08:30', '--dry-run', '--json');
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout)).toEqual([{ recipient: SAM.email, type: 'digest', day: '2026-12-04', items: [{ case: reference, obligation: 'telephone-contact', due: '2026-12-07', status: 'upcoming', kind: 'item', worker: SAM.email }] }]);
  const [{ n }] = await t.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox WHERE kind = 'reminder'`);
  expect(n).toBe(0);
});

test('for real it plans into the outbox and prints what it planned; at the same instant again it plans nothing', async () => {
  const first = await cli('reminders', '--now', '2026-12-08T08:30');
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/^planned 3 notifications at Tue, 8 Dec 2026, 08:30 London time \(1 cases read\)/);
  expect(first.stdout).toContain('Morgan Reid');
  expect(first.stdout).toContain('escalation');
  expect(first.stdout).not.toContain('Fernsby');
  const again = await cli('reminders', '--now', '2026-12-08T08:30');
  expect(again.stdout).toMatch(/^planned 0 notifications/);
  const rows = await t.db.query<{ dedupe_key: string }>(`SELECT dedupe_key FROM outbox WHERE kind = 'reminder' ORDER BY dedupe_key`);
  // Sam's digest, Morgan's (leading with the escalation still open), and the escalation itself.
  expect(rows.map((r) => r.dedupe_key.split(':')[0])).toEqual(['digest', 'digest', 'escalation']);
});

test('a date alone is that day\u2019s digest time; a bad --now exits 2 naming it', async () => {
  const date = await cli('reminders', '--now', '2026-12-09', '--dry-run', '--json');
  expect(new Set(JSON.parse(date.stdout).map((n: { day: string }) => n.day))).toEqual(new Set(['2026-12-09']));
  const bad = await cli('reminders', '--now', 'next tuesday');
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--now "next tuesday"');
});
