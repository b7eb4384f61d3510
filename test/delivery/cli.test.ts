import { enqueueCard } from '../../bot/delivery';
import { CliIo, runCli } from '../../src/cli/main';
import { beginSend, claim, markDelivered, markFailed, markWaiting } from '../../src/delivery/outbox';
import { readAudit } from '../../src/storage/audit';
import { createStaffDirectory } from '../../src/storage/staffDirectory';
import { serverDatabase, TestDatabase } from '../helpers/database';
import { MORGAN, SAM } from '../helpers/demoStaff';

let t: TestDatabase;
const ids: Record<'waiting' | 'inDoubt' | 'refused' | 'delivered' | 'pending', number> = { waiting: 0, inDoubt: 0, refused: 0, delivered: 0, pending: 0 };

async function cli(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { USER: 'ada', DATABASE_URL: t.url! }, now: () => new Date() };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

const familyCard = (n: number) => ({ type: 'AdaptiveCard' as const, version: '1.4', body: [{ type: 'TextBlock', text: `The Calloway family, card ${n}` }], fallbackText: 'Case EH-4321' });

beforeAll(async () => {
  t = await serverDatabase();
  await createStaffDirectory(t.db).save([MORGAN, SAM], 'test');
  await t.db.query("INSERT INTO cases (id, reference, version) VALUES ('case-1', 'EH-4321', 1)");
  const queue = (n: number, to = SAM.id) => enqueueCard(t.db, { to: { staffId: to }, card: familyCard(n), caseId: 'case-1' }).then((id) => id!);
  ids.waiting = await queue(1);
  ids.inDoubt = await queue(2, MORGAN.id);
  ids.refused = await queue(3, 'someone-gone');
  ids.delivered = await queue(4, 'someone-else');
  const now = new Date(Date.now() + 60_000);
  const { messages } = await claim(t.db, { claimer: 'cli-test', limit: 10, leaseMs: 60_000, kinds: ['card'], now });
  const held = (id: number) => ({ id, claim: messages.find((m) => m.id === id)!.claim, now });
  await markWaiting(t.db, { staffId: SAM.id }, { held: held(ids.waiting), reason: 'no chat with the bot', now });
  await beginSend(t.db, { ...held(ids.inDoubt), leaseMs: 60_000 });
  await markFailed(t.db, { ...held(ids.inDoubt), reason: 'http 500 Http500: may have been delivered', inDoubt: true });
  await markFailed(t.db, { ...held(ids.refused), reason: 'http 400 BadArgument' });
  await markDelivered(t.db, held(ids.delivered));
  ids.pending = await queue(5, MORGAN.id);
});
afterAll(async () => t?.dispose());

describe('earlyhelp outbox', () => {
  test('lists what waits, with who it is for and the case reference, never what the card says', async () => {
    const { code, stdout } = await cli('outbox');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^id\s+kind\s+to\s+case\s+status\s+tries\s+created\s+last error$/m);
    expect(stdout).toMatch(new RegExp(`^${ids.waiting}\\s+card\\s+Sam Patel <sam.patel@council.example>\\s+EH-4321\\s+waiting\\s+0\\s+.*no chat with the bot$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${ids.pending}\\s+card\\s+Morgan Reid <morgan.reid@council.example>\\s+EH-4321\\s+pending\\s`, 'm'));
    expect(stdout).not.toMatch(new RegExp(`^(${ids.inDoubt}|${ids.delivered}|${ids.refused})\\s`, 'm'));
    expect(stdout).not.toContain('Calloway');
  });

  test('--failed lists what failed, saying which may have been delivered', async () => {
    const { code, stdout } = await cli('outbox', '--failed');
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^${ids.inDoubt}\\s+card\\s+Morgan Reid.*failed \\(in doubt\\)\\s+1\\s+.*http 500 Http500: may have been delivered$`, 'm'));
    expect(stdout).toMatch(new RegExp(`^${ids.refused}\\s+card\\s+staff someone-gone\\s+EH-4321\\s+failed\\s+0\\s+.*http 400 BadArgument$`, 'm'));
    expect(stdout).not.toContain('Calloway');
  });

  test('--json carries the same, without any payload', async () => {
    const { code, stdout } = await cli('outbox', '--failed', '--json');
    expect(code).toBe(0);
    const entries = JSON.parse(stdout) as Array<Record<string, unknown>>;
    expect(entries.map((e) => [e.id, e.status, e.inDoubt])).toEqual([
      [ids.inDoubt, 'failed', true],
      [ids.refused, 'failed', false],
    ]);
    expect(stdout).not.toContain('payload');
    expect(stdout).not.toContain('Calloway');
  });

  test('retry sends a failed message again, says so when it was in doubt, and is audited', async () => {
    const { code, stdout } = await cli('outbox', 'retry', String(ids.inDoubt));
    expect(code).toBe(0);
    expect(stdout).toBe(`message ${ids.inDoubt} will be sent again (it was in doubt: if it had in fact arrived, they will see it twice)\n`);
    const [row] = await t.db.query<{ status: string; attempts: number }>('SELECT status, attempts FROM outbox WHERE id = $1', [ids.inDoubt]);
    expect(row).toEqual({ status: 'pending', attempts: 0 });
    const [audit] = await readAudit(t.db, { actor: 'cli:ada', limit: 1 });
    expect(audit).toMatchObject({ action: 'outbox.retry', detail: { outboxId: ids.inDoubt, wasInDoubt: true } });
    expect((await cli('outbox', 'retry', String(ids.refused))).stdout).toBe(`message ${ids.refused} will be sent again\n`);
  });

  test.each([
    [['outbox', 'retry', 'twelve'], /^earlyhelp: <id>: "twelve" is not a message id/],
    [['outbox', 'retry', '987654321'], /^earlyhelp: <id>: there is no message 987654321 in the outbox/],
    [['outbox', 'retry'], /missing required argument 'id'/],
  ])('bad input: %j exits 2 naming the field', async (argv, message) => {
    const { code, stderr } = await cli(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  test('a delivered message is not sent again', async () => {
    const { code, stderr } = await cli('outbox', 'retry', String(ids.delivered));
    expect(code).toBe(2);
    expect(stderr).toBe(`earlyhelp: <id>: message ${ids.delivered} is delivered: it is not sent again\n`);
  });
});
