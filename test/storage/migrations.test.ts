import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/storage/database';
import { migrate, pendingMigrations } from '../../src/storage/migrations';
import { MIGRATIONS } from '../../src/storage/migrations/index';
import { createCaseLog } from '../../src/storage/caseLog';
import { parseLocalDate } from '../../src/localDate';
import { serverDatabase } from '../helpers/database';

describe('versioned migrations', () => {
  test('on the server, migrations apply once, a second run applies nothing, and two instances starting together both succeed', async () => {
    const t = await serverDatabase({ migrated: false });
    try {
      const other = await openDatabase({ databaseUrl: t.url });
      try {
        expect((await pendingMigrations(t.db)).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
        const [a, b] = await Promise.all([migrate(t.db), migrate(other)]);
        expect(a.length + b.length).toBe(MIGRATIONS.length);
        expect(await migrate(t.db)).toEqual([]);
        expect(await pendingMigrations(other)).toEqual([]);
        const rows = await t.db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      } finally {
        await other.close();
      }
    } finally {
      await t.dispose();
    }
  });

  test('the embedded database keeps its data in its folder: closed and reopened, the case is still there and nothing re-migrates', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earlyhelp-pglite-'));
    const first = await openDatabase({ dataDir: dir });
    expect((await migrate(first)).length).toBe(MIGRATIONS.length);
    const opened = await createCaseLog(first).openCase({
      reference: 'EH-PERSIST',
      actor: 'manager',
      allocation: { type: 'allocated', by: 'manager', effectiveOn: parseLocalDate('2026-11-23'), data: { leadProfessional: 'w', manager: 'manager', caseloadPoints: 1, initialActions: '', cafRequired: false, source: 'referral' } },
    });
    await first.close();
    const again = await openDatabase({ dataDir: dir });
    try {
      expect(await migrate(again)).toEqual([]);
      const read = await createCaseLog(again).findByReference('EH-PERSIST', { actor: 'manager' });
      expect(read?.caseId).toBe(opened.caseId);
      expect(read?.events[0].effectiveOn).toBe('2026-11-23');
    } finally {
      await again.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
