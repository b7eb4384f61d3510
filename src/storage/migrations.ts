import { Database } from './database';
import { Migration, MIGRATIONS } from './migrations/index';

const LOCK_ID = 7_262_001; // any constant shared by every instance of this product

async function applied(db: Database): Promise<Set<number>> {
  await db.query(`CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  return new Set(rows.map((r) => r.version));
}

/** The migrations not yet applied to this database. */
export async function pendingMigrations(db: Database, all: readonly Migration[] = MIGRATIONS): Promise<Migration[]> {
  const done = await applied(db);
  return all.filter((m) => !done.has(m.version));
}

/**
 * Applies what is pending, each migration in its own transaction, in order. Safe when several
 * instances start at once against one server: they queue on an advisory lock and re-check.
 */
export async function migrate(db: Database, all: readonly Migration[] = MIGRATIONS): Promise<Migration[]> {
  const done: Migration[] = [];
  if (db.kind === 'postgres') {
    // Two instances creating schema_migrations at once would collide: take the lock first.
    await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      await applied(tx);
    });
  }
  for (const migration of all) {
    const ran = await db.transaction(async (tx) => {
      if (tx.kind === 'postgres') await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
      if ((await applied(tx)).has(migration.version)) return false;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
      return true;
    });
    if (ran) done.push(migration);
  }
  return done;
}
