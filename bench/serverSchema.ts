import { Database, openDatabase } from '../src/storage/database';

/** The PostgreSQL server the benchmarks use beside PGlite. */
export const BENCH_SERVER = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Runs `fn` on the server in a schema of the benchmark's own, dropped afterwards whatever happens. */
export async function inServerSchema<T>(prefix: string, fn: (db: Database) => Promise<T>): Promise<T> {
  const schema = `${prefix}_${Date.now().toString(36)}`;
  const admin = await openDatabase({ databaseUrl: BENCH_SERVER });
  try {
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = await openDatabase({ databaseUrl: `${BENCH_SERVER}${BENCH_SERVER.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}` });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  } finally {
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await admin.close();
  }
}
