/**
 * The pool of src/db/connection.ts against a cluster of the test's own that is restarted
 * under it: a connection checked out at that moment must not take the process down.
 */
import { sql } from 'kysely';
import { createDb, type Db } from '../../src/db/connection';
import { isDatabaseUnavailable } from '../../src/db/unavailable';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';

describe('the database pool across a database restart', () => {
  let cluster: PrivatePostgres;
  let db: Db;
  const connectionErrors: Error[] = [];

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    db = createDb(cluster.url, { poolMax: 3, idleTimeoutMs: 60_000, onConnectionError: (error) => connectionErrors.push(error) });
  }, 120_000);
  afterAll(async () => {
    await db?.destroy();
    await cluster?.destroy();
  });

  it('fails a transaction whose connection the restart ended with a database-unavailable error, reports the lost connection, and connects anew for the next query', async () => {
    // The transaction's client is checked out and idle when Postgres ends its session: pg emits
    // 'error' on it, which would be an uncaught exception without the pool's listener.
    let restarted!: () => void;
    let open!: () => void;
    const restartDone = new Promise<void>((resolve) => (restarted = resolve));
    const transactionOpen = new Promise<void>((resolve) => (open = resolve));
    const transaction = db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      open();
      await restartDone;
      await sql`select 1`.execute(trx);
    });
    const failure = transaction.then(
      () => undefined,
      (error: unknown) => error,
    );
    await transactionOpen;
    await cluster.restart({ downMs: 500 });
    restarted();

    const error = await failure;
    expect(error).toBeInstanceOf(Error);
    expect(isDatabaseUnavailable(error)).toBe(true);
    expect(connectionErrors.map((e) => (e as Error & { code?: string }).code)).toContain('57P01');

    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it('fails queries with a database-unavailable error while the database is down, and serves them again once it is back', async () => {
    await cluster.stop();
    try {
      const error = await sql`select 1`.execute(db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      await cluster.start();
    }
    expect((await sql<{ one: number }>`select 1 as one`.execute(db)).rows).toEqual([{ one: 1 }]);
  });
});
