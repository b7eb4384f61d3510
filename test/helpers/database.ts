import { randomBytes } from 'node:crypto';
import { Database, openDatabase } from '../../src/storage/database';
import { migrate } from '../../src/storage/migrations';

/** The PostgreSQL server the tests use beside PGlite (this machine and CI run one; .ci/run starts it). */
export const SERVER_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  db: Database;
  /** A URL another process can use to reach the same database (a PGlite folder, or the server schema). */
  url?: string;
  schema?: string;
  dispose(): Promise<void>;
}

/** A migrated in-memory PGlite database (about 4 s to start: share one per test file). */
export async function embeddedDatabase(dataDir = 'memory://'): Promise<TestDatabase> {
  const db = await openDatabase({ dataDir });
  await migrate(db);
  return { db, dispose: () => db.close() };
}

/** A migrated database in its own schema on the server, dropped afterwards, so test files never collide. */
export async function serverDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase> {
  const schema = `test_${randomBytes(6).toString('hex')}`;
  let admin: Database;
  try {
    admin = await openDatabase({ databaseUrl: SERVER_URL });
  } catch (e) {
    throw new Error(
      `The storage tests need a PostgreSQL server at ${SERVER_URL} (set TEST_DATABASE_URL, or run .ci/run, which installs and starts one): ${(e as Error).message}`,
    );
  }
  await admin.query(`CREATE SCHEMA ${schema}`);
  const url = `${SERVER_URL}${SERVER_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const db = await openDatabase({ databaseUrl: url });
  if (options.migrated !== false) await migrate(db);
  return {
    db,
    url,
    schema,
    async dispose() {
      await db.close();
      await admin.query(`DROP SCHEMA ${schema} CASCADE`);
      await admin.close();
    },
  };
}

/** Both engines, for `describe.each`: every storage test runs on PGlite and on the server. */
export const ENGINES: Array<[name: string, open: () => Promise<TestDatabase>]> = [
  ['PGlite', () => embeddedDatabase()],
  ['PostgreSQL server', () => serverDatabase()],
];
