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
  /** Resolves once the database answers a trivial query; rejects while it cannot be reached. */
  ping(): Promise<void>;
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
    // In the process: nothing to lose but the process itself, so this only waits its turn.
    async ping() {
      await q.query('select 1');
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
    async ping() {
      await client.query('select 1');
    },
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
      // A checked-out client is the caller's to watch: the pool listens only to idle ones. Without a
      // listener, a connection lost mid-transaction (the server restarted, an administrator ended
      // the session) is an unhandled 'error' event, and the process exits.
      let broken: Error | undefined;
      const onError = (e: Error) => (broken ??= e);
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(inClient(client));
        await client.query('COMMIT');
        return result;
      } catch (e) {
        if (!broken) await client.query('ROLLBACK').catch((rollbackFailed: Error) => (broken ??= rollbackFailed));
        throw e;
      } finally {
        client.off('error', onError);
        // Released with its error, a broken client is discarded and the pool opens a fresh one.
        client.release(broken);
      }
    },
    async ping() {
      await pool.query('select 1');
    },
    async close() {
      await pool.end();
    },
  };
  await db.ping();
  return db;
}

/** SQLSTATEs that mean the server is not taking this session just now (PostgreSQL, appendix A). */
const UNAVAILABLE_STATES = new Set([
  '57P01', // admin_shutdown: pg_terminate_backend, or the server stopping
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '53300', // too_many_connections
]);
/** Network failures on the way to the server (Node's codes). */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** pg's own errors for a connection that died or never came; they carry no code. */
const UNAVAILABLE_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout exceeded when trying to connect)/;

/**
 * Whether an error means the database could not be reached (its connection was lost, refused or
 * ended by the server), as opposed to a fault in what was asked of it: the caller can say "try
 * again" and mean it. Class 08 is PostgreSQL's connection exceptions.
 */
export function isDatabaseUnavailable(e: unknown, depth = 0): boolean {
  if (!(e instanceof Error) || depth > 4) return false;
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (UNAVAILABLE_STATES.has(code) || UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (UNAVAILABLE_MESSAGES.test(e.message)) return true;
  // A refused connection to a name with several addresses arrives as an AggregateError of them.
  const inner = [(e as { cause?: unknown }).cause, ...((e as { errors?: unknown[] }).errors ?? [])];
  return inner.some((i) => isDatabaseUnavailable(i, depth + 1));
}
