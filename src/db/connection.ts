/**
 * Kysely over a pg Pool. Type parsers are set once here: int8 (counts, identity ids) as
 * number, and date as its plain 'YYYY-MM-DD' text so a calendar day never shifts with the
 * process time zone.
 */
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import { sessionSettingsFor } from '../erasure/address-hash';
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
  /**
   * The erasure hash key (config.addressHashKey): given to every session so address_hash()
   * (migration 0026) can match erased addresses on the suppression list. Without it, hashed
   * entries match nothing in this pool's sessions.
   */
  addressHashKey?: Buffer;
  /** Told when a pooled connection loses its server (restart, failover, network). */
  onConnectionError?: (error: Error) => void;
}

/** The longest a pool's end waits for its sessions to close (a server that stopped answering). */
const POOL_END_WAIT_MS = 5_000;

function sessionSettingOptions(addressHashKey: Buffer | undefined): string[] {
  if (!addressHashKey) return [];
  return Object.entries(sessionSettingsFor(addressHashKey)).map(([name, value]) => `-c ${name}=${value}`);
}

export function createDb(connectionString: string, options: DbOptions): Db {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax,
    idleTimeoutMillis: options.idleTimeoutMs,
    connectionTimeoutMillis: 10_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: options.applicationName ?? 'outreach',
    // Only prepared statements (see prepared()) are affected: their plan is made once. Postgres
    // would otherwise keep planning them anew whenever a plan made for the given arrays looks
    // cheaper than the generic one, which for the journal's write it always does (~0.9 ms of
    // planning per call, measured).
    options: ['-c plan_cache_mode=force_generic_plan', ...sessionSettingOptions(options.addressHashKey)].join(' '),
  });
  // A client losing its server (restart: 57P01, failover, network) emits 'error'. pg-pool
  // listens only while a client is idle (and re-emits it on the pool); a client checked out
  // by a request or a transaction has no listener, and an unhandled 'error' event ends the
  // process. Every client gets one listener for its whole life: the query in flight fails
  // on its own (callers see a database-unavailable error, see http/db-errors.ts), pg marks
  // the client unusable and the pool drops it on release, so the next query connects anew.
  const onConnectionError = options.onConnectionError ?? (() => undefined);
  const open = new Set<import('pg').PoolClient>();
  pool.on('connect', (client) => {
    open.add(client);
    client.once('end', () => open.delete(client));
    client.on('error', onConnectionError);
    prepareMarkedStatements(client);
  });
  pool.on('error', () => undefined);
  // pg-pool's end() resolves once it has told its clients to end, not once their sessions are
  // gone: a Postgres stopped right after (the embedded one, when the server stops) would still
  // find them and end them with 57P01, which reads as a lost connection. Wait for the sockets.
  const endPool = pool.end.bind(pool);
  pool.end = (async () => {
    await endPool();
    const closing = [...open].map((client) => new Promise<void>((resolve) => client.once('end', () => resolve())));
    await Promise.race([Promise.all(closing), new Promise<void>((resolve) => setTimeout(resolve, POOL_END_WAIT_MS).unref())]);
  }) as typeof pool.end;
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/**
 * A hot statement opts in to a plan Postgres keeps per connection by starting with
 * `${prepared('name')}`: the name must be unique and the statement's text must never vary
 * (arrays as parameters, never `in (…)` lists of changing length), and its one generic plan must
 * be a good one for every input (find rows by id, not through partial indexes whose entries churn).
 * Why: Postgres parses and plans every unnamed statement anew, and for the send journal's
 * one-statement write (a dozen CTEs) that was ~0.9 ms of Postgres CPU per call against ~0.18 ms
 * for the whole call with a kept plan (measured on this machine kind). Kysely sends only unnamed
 * statements, so the pool's clients turn marked text into a named one.
 */
export function prepared(name: string) {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`prepared statement name "${name}": lower-case letters, digits and _ only`);
  return sql.raw(`/* prepared:${name} */ `);
}

const PREPARED_MARK = /^\/\* prepared:([a-z0-9_]+) \*\//;

function prepareMarkedStatements(client: import('pg').PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
    const name = typeof config === 'string' ? PREPARED_MARK.exec(config)?.[1] : undefined;
    if (name) return query({ name, text: config, values }, callback);
    return query(config, values, callback);
  };
}

/** Runs `fn` in the caller's transaction when given one, else in a transaction of its own. */
export function inTransaction<T>(db: DbOrTx, fn: (tx: DbOrTx) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db) : (db as Db).transaction().execute(fn);
}

/**
 * For the rest of the transaction: no JIT compilation. The planner prices queries with
 * per-row subqueries over many rows (per account, per campaign) as if each read hundreds of
 * rows, above jit_above_cost, and compiling them cost seconds of CPU for queries that run in
 * milliseconds (campaign completion; the orchestrator's account demand).
 */
export async function withoutJit(db: DbOrTx): Promise<void> {
  await sql`set local jit = off`.execute(db);
}
