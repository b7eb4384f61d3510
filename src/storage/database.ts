import fs from 'node:fs';
import path from 'node:path';

/**
 * PostgreSQL, two ways, one SQL: embedded PGlite (a data folder, no server to install) by default,
 * or a PostgreSQL server through `DATABASE_URL`. Both return the same shapes: `date` columns as
 * `YYYY-MM-DD` strings, `timestamptz` as ISO 8601 UTC strings, `jsonb` as objects.
 */
export interface Database {
  readonly kind: 'pglite' | 'postgres';
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** Runs a script of several statements, without parameters (migrations). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` in one transaction, rolled back if it throws. A transaction inside a transaction joins it. */
  transaction<T>(fn: (tx: Database) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** A PostgreSQL server; when unset, PGlite is used. */
  databaseUrl?: string;
  /** PGlite's data folder, or `memory://` for a database that lives only in this process. */
  dataDir?: string;
}

export const DEFAULT_DATA_DIR = path.join('data', 'pglite');

const OID = { date: 1082, timestamp: 1114, timestamptz: 1184, int8: 20 } as const;
const asIsoInstant = (value: string) => new Date(value.includes('T') || /[+-]\d\d(:\d\d)?$/.test(value) ? value : `${value}Z`).toISOString();
const asDate = (value: string) => value;
const asNumber = (value: string) => Number(value);

export async function openDatabase(options: DatabaseOptions = {}): Promise<Database> {
  return options.databaseUrl ? openServer(options.databaseUrl) : openEmbedded(options.dataDir ?? DEFAULT_DATA_DIR);
}

/** Options from the environment: `DATABASE_URL`, else PGlite under `EARLYHELP_DATA_DIR` (default `./data`). */
export function databaseOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): DatabaseOptions {
  if (env.DATABASE_URL) return { databaseUrl: env.DATABASE_URL };
  // `memory://` keeps the embedded database in the process only (a throwaway demo).
  if (env.EARLYHELP_DATA_DIR?.startsWith('memory://')) return { dataDir: 'memory://' };
  return { dataDir: path.join(env.EARLYHELP_DATA_DIR ?? 'data', 'pglite') };
}

async function openEmbedded(dataDir: string): Promise<Database> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PGlite } = require('@electric-sql/pglite') as typeof import('@electric-sql/pglite');
  if (!dataDir.startsWith('memory://')) fs.mkdirSync(dataDir, { recursive: true });
  const pg = new PGlite(dataDir, {
    parsers: { [OID.date]: asDate, [OID.timestamptz]: asIsoInstant, [OID.timestamp]: asIsoInstant, [OID.int8]: asNumber },
  });
  await pg.waitReady;
  type Queryable = { query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>; exec(sql: string): Promise<unknown> };
  const wrap = (q: Queryable, inTransaction: boolean): Database => ({
    kind: 'pglite',
    async query<R>(sql: string, params?: unknown[]) {
      return (await q.query<R>(sql, params)).rows;
    },
    async exec(sql: string) {
      await q.exec(sql);
    },
    transaction<T>(fn: (tx: Database) => Promise<T>) {
      if (inTransaction) return fn(wrap(q, true));
      // PGlite runs one transaction at a time and queues the rest.
      return pg.transaction((tx) => fn(wrap(tx as unknown as Queryable, true)));
    },
    async close() {
      if (!inTransaction) await pg.close();
    },
  });
  return wrap(pg as unknown as Queryable, false);
}

async function openServer(databaseUrl: string): Promise<Database> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pgModule = require('pg') as typeof import('pg');
  const parsers: Record<number, (v: string) => unknown> = { [OID.date]: asDate, [OID.timestamptz]: asIsoInstant, [OID.timestamp]: asIsoInstant, [OID.int8]: asNumber };
  const types = {
    getTypeParser: (oid: number, format?: string) => parsers[oid] ?? pgModule.types.getTypeParser(oid, format as 'text'),
  };
  const pool = new pgModule.Pool({ connectionString: databaseUrl, types: types as never, max: 10 });
  // An idle client that loses its server must not bring the process down.
  pool.on('error', () => undefined);
  type Client = { query(sql: string, params?: unknown[]): Promise<{ rows: unknown[] }> };
  const inClient = (client: Client): Database => ({
    kind: 'postgres',
    async query<R>(sql: string, params?: unknown[]) {
      return (await client.query(sql, params)).rows as R[];
    },
    async exec(sql: string) {
      await client.query(sql);
    },
    transaction: (fn) => fn(inClient(client)),
    async close() {},
  });
  const db: Database = {
    kind: 'postgres',
    async query<R>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as R[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Database) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(inClient(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
  await db.query('select 1');
  return db;
}
