import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CliIo, runCli } from '../src/cli/main';

function captured(now = new Date('2026-12-29T09:00:00Z')) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (t) => void out.push(t), stderr: (t) => void err.push(t), env: {}, now: () => now };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

async function cli(...argv: string[]) {
  const c = captured();
  const code = await runCli(argv, c.io);
  return { code, stdout: c.out(), stderr: c.err() };
}

describe('earlyhelp deadlines', () => {
  test('--json prints every obligation with kind and due, and latest for a TAF review', async () => {
    const { code, stdout } = await cli('deadlines', '--allocated', '2026-12-24', '--taf', '2027-02-01', '--json', '--today', '2026-12-29');
    expect(code).toBe(0);
    const list = JSON.parse(stdout);
    const byKind = Object.fromEntries(list.map((o: { kind: string }) => [o.kind, o]));
    expect(byKind['telephone-contact']).toMatchObject({ due: '2026-12-30', status: 'upcoming' });
    expect(byKind['personal-contact'].due).toBe('2027-01-05');
    expect(byKind['caf-assessment'].due).toBe('2027-01-26');
    expect(byKind['first-taf'].due).toBe('2027-02-02');
    // 8 weeks lands on Easter Monday 2027 (29 March), after Good Friday: brought forward to Thursday 25 March.
    expect(byKind['taf-review']).toMatchObject({ due: '2027-03-15', latest: '2027-03-25' });
    expect(byKind['taf-minutes'].due).toBe('2027-02-22');
    for (const o of list) expect(o.due).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  test('the table lists each obligation on its own line with its rule', async () => {
    const { code, stdout } = await cli('deadlines', '--allocated', '2026-12-24', '--today', '2026-12-29');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^kind\s+due\s+latest\s+status\s+rule$/m);
    expect(stdout).toMatch(/^telephone-contact\s+2026-12-30\s+upcoming\s+Telephone contact within 2 working days of allocation$/m);
  });

  test('today defaults to the date in London', async () => {
    const c = captured(new Date('2026-12-30T23:30:00Z'));
    await runCli(['deadlines', '--allocated', '2026-12-24', '--json'], c.io);
    expect(JSON.parse(c.out())[0]).toMatchObject({ kind: 'telephone-contact', status: 'due-today' });
  });

  test('several TAF meetings each start a review and a minutes clock', async () => {
    const { stdout } = await cli('deadlines', '--allocated', '2026-11-23', '--taf', '2027-02-15', '--taf', '2026-12-30', '--json', '--today', '2027-01-01');
    const reviews = JSON.parse(stdout).filter((o: { kind: string }) => o.kind === 'taf-review');
    expect(reviews.map((r: { from: string }) => r.from)).toEqual(['2026-12-30', '2027-02-15']);
  });

  test('another policy file changes the answer without a code change', async () => {
    const { stdout } = await cli('deadlines', '--allocated', '2026-11-23', '--policy', 'policies/regional-three-monthly.json', '--json', '--today', '2026-11-23');
    expect(JSON.parse(stdout).find((o: { kind: string }) => o.kind === 'caf-assessment').due).toBe('2026-12-21');
  });

  test.each([
    [['deadlines', '--allocated', '2026-02-30'], /--allocated: "2026-02-30" is not a real date/],
    [['deadlines', '--allocated', '2026-12-24', '--taf', '2026-12-01'], /--taf 2026-12-01 is before the allocation date 2026-12-24/],
    [['deadlines', '--allocated', '2026-12-24', '--taf', 'soon'], /--taf: "soon" is not a real date/],
    [['deadlines', '--allocated', '2026-12-24', '--frobnicate'], /unknown option '--frobnicate'/],
    [['deadlines'], /required option '--allocated <date>' not specified/],
    [['deadlines', '--allocated', '2026-12-24', '--policy', 'no/such/policy.json'], /no\/such\/policy\.json: cannot be read/],
  ])('bad input %j exits 2 naming what is wrong', async (argv, message) => {
    const { code, stdout, stderr } = await cli(...argv);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
    expect(stdout).toBe('');
  });

  test('a broken policy is refused with the file, the field and the reason', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-policy-'));
    const file = path.join(dir, 'broken.json');
    const doc = JSON.parse(fs.readFileSync('policies/default.json', 'utf8'));
    doc.timescales.cafAssessment.within = { workingDays: 'twenty' };
    fs.writeFileSync(file, JSON.stringify(doc));
    const { code, stderr } = await cli('deadlines', '--allocated', '2026-12-24', '--policy', file);
    expect(code).toBe(2);
    expect(stderr).toContain(`${file}: timescales.cafAssessment.within`);
  });
});

describe('earlyhelp policy check and working-days', () => {
  test('policy check prints each timescale with its source', async () => {
    const { code, stdout } = await cli('policy', 'check', 'policies/regional-three-monthly.json');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^cafAssessment\s+28 days\s+seed 001/m);
    expect(stdout).toMatch(/^firstTaf\s+20 working days from caf-completed/m);
  });

  test('working-days lists bank holidays and closure days, and counts the working days', async () => {
    const { code, stdout } = await cli('working-days', '--from', '2026-12-24', '--to', '2027-01-05', '--policy', 'policies/regional-three-monthly.json');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^2026-12-29\s+Christmas closure$/m);
    expect(stdout).toContain('2 working days after 2026-12-24 up to and including 2027-01-05');
  });
});

describe('the installed command', () => {
  test('bin/earlyhelp.js runs and exits non-zero on an impossible date', async () => {
    const run = promisify(execFile);
    const ok = await run(process.execPath, ['bin/earlyhelp.js', 'deadlines', '--allocated', '2026-12-24', '--json']);
    expect(JSON.parse(ok.stdout)[0].kind).toBe('telephone-contact');
    await expect(run(process.execPath, ['bin/earlyhelp.js', 'deadlines', '--allocated', '2026-13-01'])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--allocated: "2026-13-01" is not a real date'),
    });
  });
});

describe('the policy in force', () => {
  test('EARLYHELP_POLICY chooses the policy when --policy is not given', async () => {
    const c = captured();
    c.io.env = { EARLYHELP_POLICY: 'policies/regional-three-monthly.json' };
    expect(await runCli(['deadlines', '--allocated', '2026-11-23', '--json', '--today', '2026-11-23'], c.io)).toBe(0);
    expect(JSON.parse(c.out()).find((o: { kind: string }) => o.kind === 'caf-assessment').due).toBe('2026-12-21');
  });
});
