import { Database, databaseOptionsFromEnv, openDatabase } from '../storage/database';
import { migrate } from '../storage/migrations';
import type { CliIo } from './main';

/** Opens the database the environment names ($DATABASE_URL, or the embedded one), migrated unless told not to, for one command. */
export async function withDatabase<T>(io: CliIo, fn: (db: Database) => Promise<T>, options: { migrate?: boolean } = { migrate: true }): Promise<T> {
  const db = await openDatabase(databaseOptionsFromEnv(io.env));
  try {
    if (options.migrate !== false) await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
  }
}
