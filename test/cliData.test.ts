import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliIo, runCli } from '../src/cli/main';
import { parseLocalDate } from '../src/localDate';
import { recordAudit } from '../src/storage/audit';
import { createCaseLog } from '../src/storage/caseLog';
import { openDatabase } from '../src/storage/database';
import { createStaffDirectory } from '../src/storage/staffDirectory';
import { serverDatabase, TestDatabase } from './helpers/database';

const MORGAN = '11111111-1111-4111-8111-111111111111';
const SAM = '22222222-2222-4222-8222-222222222222';

let t: TestDatabase;
beforeAll(async () => {
  t = await serverDatabase();
});
afterAll(async () => t?.dispose());

async function cli(env: NodeJS.ProcessEnv, ...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), env: { USER: 'ada', ...env }, now: () => new Date('2026-11-30T10:00:00Z') };
  const code = await runCli(argv, io);
  return { code, stdout: out.join(''), stderr: err.join('') };
}

describe('earlyhelp with a database', () => {
  const server = () => ({ DATABASE_URL: t.url! });

  test('migrate reports what it applied, then that the database is up to date', async () => {
    const fresh = await serverDatabase({ migrated: false });
    try {
      const first = await cli({ DATABASE_URL: fresh.url! }, 'migrate');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^applied 1 case log$/m);
      expect((await cli({ DATABASE_URL: fresh.url! }, 'migrate', '--status')).stdout).toBe('up to date\n');
    } finally {
      await fresh.dispose();
    }
  });

  test('staff import reads a CSV all or nothing, and staff list shows it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'staff-'));
    const good = path.join(dir, 'staff.csv');
    fs.writeFileSync(
      good,
      ['id,name,email,role,team,lineManager,capacityPoints', `${MORGAN},Morgan Reid,morgan@council.example,manager,North,,0`, `${SAM},Sam Patel,sam@council.example,worker,North,morgan@council.example,20`].join('\n'),
    );
    expect(await cli(server(), 'staff', 'import', good)).toMatchObject({ code: 0, stdout: `imported 2 staff from ${good}\n` });
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, ['id,name,email,role,team,lineManager,capacityPoints', `33333333-3333-4333-8333-333333333333,Alex Kim,alex@council.example,worker,North,,20`, `44444444-4444-4444-8444-444444444444,Jo,jo@council,boss,North,,0`].join('\n'));
    const refused = await cli(server(), 'staff', 'import', bad);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/bad\.csv row 3: email: must be an e-mail address/);
    const list = await cli(server(), 'staff', 'list');
    expect(list.stdout).toMatch(/Sam Patel\s+worker\s+North\s+20\s+yes/);
    expect(list.stdout).not.toContain('Alex Kim');
  });

  test('staff absent marks leave from today until a date, and staff back clears it', async () => {
    const away = await cli(server(), 'staff', 'absent', 'morgan@council.example', '--until', '2026-12-04');
    expect(away).toMatchObject({ code: 0, stdout: 'Morgan Reid is away from 2026-11-30 to 2026-12-04 (inclusive)\n' });
    expect((await cli(server(), 'staff', 'list')).stdout).toMatch(/Morgan Reid\s+manager\s+North\s+0\s+yes\s+2026-11-30 to 2026-12-04/);
    expect(await cli(server(), 'staff', 'absent', 'morgan@council.example', '--until', '2026-12-40')).toMatchObject({ code: 2, stderr: expect.stringContaining('--until') });
    expect(await cli(server(), 'staff', 'absent', 'nobody@council.example', '--until', '2026-12-04')).toMatchObject({ code: 2, stderr: expect.stringContaining('nobody@council.example is not in the directory') });
    expect((await cli(server(), 'staff', 'back', MORGAN)).stdout).toBe('Morgan Reid is back\n');
    expect((await cli(server(), 'staff', 'list')).stdout).not.toMatch(/Morgan Reid.*2026-12-04/);
  });

  test('staff absent --from --until sets a leave to come, which staff list shows and staff back cancels', async () => {
    const away = await cli(server(), 'staff', 'absent', SAM, '--from', '2026-12-21', '--until', '2027-01-04');
    expect(away).toMatchObject({ code: 0, stdout: 'Sam Patel is away from 2026-12-21 to 2027-01-04 (inclusive)\n' });
    expect((await cli(server(), 'staff', 'list')).stdout).toMatch(/Sam Patel\s+worker\s+North\s+20\s+yes\s+2026-12-21 to 2027-01-04\s*$/m);
    // The directory keeps both days: the staff file takes them back as they were.
    const db = await openDatabase({ databaseUrl: t.url });
    try {
      expect(await createStaffDirectory(db).get(SAM)).toMatchObject({ absentFrom: '2026-12-21', absentUntil: '2027-01-04' });
    } finally {
      await db.close();
    }
    expect((await cli(server(), 'staff', 'back', 'sam@council.example')).stdout).toBe('Sam Patel is back\n');
    expect((await cli(server(), 'staff', 'list')).stdout).toMatch(/Sam Patel\s+worker\s+North\s+20\s+yes\s*$/m);
  });

  test('staff absent refuses a leave that ends before it starts, or has ended, naming the option, and writes nothing', async () => {
    const auditRows = async () => {
      const db = await openDatabase({ databaseUrl: t.url });
      try {
        return (await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'staff.change'`))[0].n;
      } finally {
        await db.close();
      }
    };
    const before = await auditRows();
    expect(await cli(server(), 'staff', 'absent', SAM, '--from', '2027-01-05', '--until', '2027-01-04')).toMatchObject({ code: 2, stderr: 'earlyhelp: --from: 2027-01-05 is after --until 2027-01-04\n' });
    expect(await cli(server(), 'staff', 'absent', SAM, '--from', '2026-11-20', '--until', '2026-11-27')).toMatchObject({ code: 2, stderr: 'earlyhelp: --until: 2026-11-27 is in the past (today is 2026-11-30)\n' });
    expect(await cli(server(), 'staff', 'absent', SAM, '--from', '2026-13-01', '--until', '2027-01-04')).toMatchObject({ code: 2, stderr: expect.stringMatching(/^earlyhelp: --from: /) });
    expect(await cli(server(), 'staff', 'absent', SAM, '--from', '2026-12-21')).toMatchObject({ code: 2, stderr: expect.stringContaining('--until') });
    // A leave already begun may be set: only its end must be today or later.
    expect(await cli(server(), 'staff', 'absent', SAM, '--from', '2026-11-27', '--until', '2026-11-30')).toMatchObject({ code: 0, stdout: 'Sam Patel is away from 2026-11-27 to 2026-11-30 (inclusive)\n' });
    expect(await auditRows()).toBe(before + 1);
    await cli(server(), 'staff', 'back', SAM);
  });

  test('staff add names a bad field and exits 2', async () => {
    const r = await cli(server(), 'staff', 'add', '--id', 'not-a-guid', '--name', 'X', '--email', 'x@council.example', '--role', 'worker', '--team', 'North');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/staff add: id: must be an Entra ID object id/);
  });

  test('case shows the event log and obligations without family details, and the read is audited', async () => {
    const db = await openDatabase({ databaseUrl: t.url });
    try {
      await createCaseLog(db).openCase({
        reference: 'EH-CLI-1',
        actor: MORGAN,
        allocation: {
          type: 'allocated',
          by: MORGAN,
          effectiveOn: parseLocalDate('2026-11-23'),
          data: { leadProfessional: SAM, manager: MORGAN, caseloadPoints: 4, initialActions: 'Call the family', cafRequired: true, source: 'referral', family: { name: 'Secretname', children: [{ name: 'Hiddenchild' }] } },
        },
      });
    } finally {
      await db.close();
    }
    const shown = await cli(server(), 'case', 'eh-cli-1');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^1\s+allocated\s+2026-11-23/m);
    expect(shown.stdout).toMatch(/^telephone-contact\s+2026-11-25\s+overdue$/m);
    expect(shown.stdout).not.toMatch(/Secretname|Hiddenchild|Call the family/);
    const cases = await cli(server(), 'cases', '--status', 'open');
    expect(cases.stdout).toMatch(/EH-CLI-1\s+Sam Patel\s+Morgan Reid\s+open/);
    const audit = await cli(server(), 'audit', '--case', 'EH-CLI-1');
    expect(audit.stdout).toMatch(/cli:ada\s+case\.read/);
    expect(await cli(server(), 'case', 'EH-NOPE')).toMatchObject({ code: 2, stderr: 'earlyhelp: <reference>: no case EH-NOPE\n' });
  });

  test('cases and audit name the staff and the case, not their ids; unknown actors are shown as they are', async () => {
    const db = await openDatabase({ databaseUrl: t.url });
    let caseId: string;
    try {
      const record = await createCaseLog(db).openCase({
        reference: 'EH-CLI-2',
        actor: MORGAN,
        allocation: { type: 'allocated', by: MORGAN, effectiveOn: parseLocalDate('2026-11-24'), data: { leadProfessional: SAM, manager: MORGAN, caseloadPoints: 2, initialActions: '', cafRequired: true, source: 'referral' } },
      });
      caseId = record.caseId;
      await recordAudit(db, { actor: 'system', action: 'case.read', caseId });
    } finally {
      await db.close();
    }

    const cases = await cli(server(), 'cases');
    expect(cases.code).toBe(0);
    expect(cases.stdout).toMatch(/^EH-CLI-2\s+Sam Patel\s+Morgan Reid\s+open\s+2026-11-24/m);
    expect(cases.stdout).not.toContain(SAM);
    expect(cases.stdout).not.toContain(MORGAN);

    const audit = await cli(server(), 'audit', '--case', 'eh-cli-2');
    expect(audit.code).toBe(0);
    expect(audit.stdout).toMatch(/\ssystem\s+case\.read\s+EH-CLI-2\s/);
    expect(audit.stdout).toMatch(/\sMorgan Reid\s+case\.open\s+EH-CLI-2\s/);
    expect(audit.stdout).not.toContain(MORGAN);
    expect(audit.stdout).not.toContain(caseId);

    const byMorgan = await cli(server(), 'audit', '--actor', 'morgan@council.example');
    expect(byMorgan.stdout).toMatch(/Morgan Reid\s+case\.open\s+EH-CLI-2/);
    expect(byMorgan.stdout).not.toMatch(/cli:ada|system/);
  });

  test('an unreachable database is a failure (exit 1), not bad input', async () => {
    const r = await cli({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' }, 'migrate');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^earlyhelp: /);
  });

  test('with no DATABASE_URL the embedded database in EARLYHELP_DATA_DIR is used', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-data-'));
    try {
      const r = await cli({ EARLYHELP_DATA_DIR: dir }, 'migrate');
      expect(r).toMatchObject({ code: 0 });
      expect(r.stdout).toMatch(/applied 2 /);
      expect(fs.existsSync(path.join(dir, 'pglite', 'PG_VERSION'))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
