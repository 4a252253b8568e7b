/**
 * Kysely over a pg Pool. Type parsers are set once here: int8 (counts, identity ids) as
 * number, and date as its plain 'YYYY-MM-DD' text so a calendar day never shifts with the
 * process time zone.
 */
import { Kysely, PostgresDialect, type Transaction } from 'kysely';
import type { Database } from './database';

/**
 * pg checks at load whether it runs on Cloudflare Workers with `new Response(...)` unless
 * `navigator` exists. Node 20 has no `navigator`, and its first touch of `Response` loads the
 * bundled undici: ~5 MB in every process, 6 GB across a 1,200-worker fleet, for nothing. The
 * lazy global is hidden while pg loads and put back untouched. (Node ≥ 21 has `navigator`.)
 */
function requirePg(): typeof import('pg') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = () => require('pg') as typeof import('pg');
  const response = Object.getOwnPropertyDescriptor(globalThis, 'Response');
  if ('navigator' in globalThis || !response?.configurable) return load();
  delete (globalThis as { Response?: unknown }).Response;
  try {
    return load();
  } finally {
    Object.defineProperty(globalThis, 'Response', response);
  }
}

const pg = requirePg();

pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (value) => Number.parseFloat(value));
pg.types.setTypeParser(pg.types.builtins.DATE, (value) => value);

export type Db = Kysely<Database>;
/** What repositories accept: the database or an open transaction. */
export type DbOrTx = Kysely<Database> | Transaction<Database>;

export interface DbOptions {
  poolMax: number;
  idleTimeoutMs: number;
  statementTimeoutMs?: number;
  applicationName?: string;
  /** Told when a pooled connection loses its server (restart, failover, network). */
  onConnectionError?: (error: Error) => void;
}

export function createDb(connectionString: string, options: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax,
    idleTimeoutMillis: options.idleTimeoutMs,
    connectionTimeoutMillis: 10_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName ?? 'outreach',
  });
  // A client losing its server (restart: 57P01, failover, network) emits 'error'. pg-pool
  // listens only while a client is idle (and re-emits it on the pool); a client checked out
  // by a request or a transaction has no listener, and an unhandled 'error' event ends the
  // process. Every client gets one listener for its whole life: the query in flight fails
  // on its own (callers see a database-unavailable error, see http/db-errors.ts), pg marks
  // the client unusable and the pool drops it on release, so the next query connects anew.
  const onConnectionError = options.onConnectionError ?? (() => undefined);
  pool.on('connect', (client) => client.on('error', onConnectionError));
  pool.on('error', () => undefined);
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Runs `fn` in the caller's transaction when given one, else in a transaction of its own. */
export function inTransaction<T>(db: DbOrTx, fn: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : (db as Db).transaction().execute(fn);
}
