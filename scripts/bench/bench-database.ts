/**
 * A freshly migrated database for one benchmark: on DATABASE_URL's server if set, else on an
 * embedded cluster in a temporary directory. Dropped (and the cluster stopped) afterwards.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { dropDatabase, ensureDatabase, withDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';
import { startEmbeddedPostgres } from '../../src/db/embedded-postgres';
import { migrateToLatest } from '../../src/db/migrate';
import { createLogger } from '../../src/logger';

export interface BenchDatabase {
  db: Db;
  url: string;
  /** The database's name, and a URL of its server for other databases on it. */
  name: string;
  adminUrl: string;
}

/** The bench's own connections are named `bench-harness`, so a bench can tell them from the measured processes'. */
export async function withBenchDatabase<T>(fn: (database: BenchDatabase) => Promise<T>, poolMax = 10): Promise<T> {
  const config = loadConfig();
  let adminUrl = config.databaseUrl;
  let tempDir: string | undefined;
  let stopEmbedded: (() => Promise<void>) | undefined;
  if (!adminUrl) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-bench-pg-'));
    const embedded = await startEmbeddedPostgres({
      dataDir: path.join(tempDir, 'cluster'),
      password: crypto.randomBytes(16).toString('hex'),
      logger: createLogger('warn'),
      persistent: false,
    });
    adminUrl = embedded.connectionString;
    stopEmbedded = embedded.stop;
  }
  const name = `outreach_bench_${crypto.randomBytes(4).toString('hex')}`;
  await ensureDatabase(adminUrl, name);
  const url = withDatabase(adminUrl, name);
  const db = createDb(url, { poolMax, idleTimeoutMs: 5000, applicationName: 'bench-harness' });
  try {
    await migrateToLatest(db);
    return await fn({ db, url, name, adminUrl });
  } finally {
    await db.destroy();
    await dropDatabase(adminUrl, name).catch(() => undefined);
    await stopEmbedded?.();
    if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
