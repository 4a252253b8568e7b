/**
 * A fresh database per test file, cloned from the migrated template made by global-setup.
 * `useTestDatabase()` registers beforeAll/afterAll and returns a handle whose `db` and `url`
 * are ready inside tests.
 */
import crypto from 'node:crypto';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';

export interface TestDatabase {
  db: Db;
  url: string;
  name: string;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run tests through jest (global-setup)`);
  return value;
}

export const adminUrl = (): string => requireEnv('TEST_PG_ADMIN_URL');

export async function createTestDatabase(options: { migrated?: boolean } = {}): Promise<TestDatabase & { drop(): Promise<void> }> {
  const name = `outreach_t_${crypto.randomBytes(6).toString('hex')}`;
  await ensureDatabase(adminUrl(), name, options.migrated === false ? undefined : requireEnv('TEST_PG_TEMPLATE'));
  const url = withDatabase(adminUrl(), name);
  const db = createDb(url, { poolMax: 5, idleTimeoutMs: 1000 });
  return {
    db,
    url,
    name,
    drop: async () => {
      await db.destroy();
      await dropDatabase(adminUrl(), name);
    },
  };
}

export function useTestDatabase(): TestDatabase {
  const handle = {} as TestDatabase;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const created = await createTestDatabase();
    Object.assign(handle, { db: created.db, url: created.url, name: created.name });
    drop = created.drop;
  });
  afterAll(async () => {
    await drop?.();
  });
  return handle;
}
