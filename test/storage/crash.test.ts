import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseLocalDate } from '../../src/localDate';
import { createCaseLog } from '../../src/storage/caseLog';
import { Database, openDatabase } from '../../src/storage/database';
import { migrate } from '../../src/storage/migrations';
import { serverDatabase } from '../helpers/database';

const FIXTURE = path.join(__dirname, 'fixtures', 'dieMidWrite.ts');

function crashWhileAppending(target: string, caseId: string): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', FIXTURE, target, caseId], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    child.on('error', reject);
    child.on('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve({ signal, stdout }) : reject(new Error(`the writer did not crash as planned: ${stderr}`))));
  });
}

async function openCase(db: Database) {
  return createCaseLog(db).openCase({
    reference: `EH-CRASH-${Date.now()}`,
    actor: 'manager',
    allocation: { type: 'allocated', by: 'manager', effectiveOn: parseLocalDate('2026-11-23'), data: { leadProfessional: 'w', manager: 'manager', caseloadPoints: 1, initialActions: '', cafRequired: true, source: 'referral' } },
  });
}

describe('a crash mid-write leaves the case as it was', () => {
  test('on the PostgreSQL server: a writer killed before commit leaves version and events unchanged', async () => {
    const t = await serverDatabase();
    try {
      const c = await openCase(t.db);
      const crash = await crashWhileAppending(t.url!, c.caseId);
      expect(crash.stdout).toContain('written');
      const read = await createCaseLog(t.db).read(c.caseId, { actor: 'test' });
      expect(read.version).toBe(1);
      expect(read.events.map((e) => e.type)).toEqual(['allocated']);
    } finally {
      await t.dispose();
    }
  });

  test('in the embedded database folder: a writer killed before commit leaves version and events unchanged', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-crash-'));
    try {
      let db = await openDatabase({ dataDir: dir });
      await migrate(db);
      const c = await openCase(db);
      await db.close();
      const crash = await crashWhileAppending(dir, c.caseId);
      expect(crash.stdout).toContain('written');
      db = await openDatabase({ dataDir: dir });
      try {
        const read = await createCaseLog(db).read(c.caseId, { actor: 'test' });
        expect(read.version).toBe(1);
        expect(read.events.map((e) => e.type)).toEqual(['allocated']);
      } finally {
        await db.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
