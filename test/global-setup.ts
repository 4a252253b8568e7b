/**
 * One Postgres for the whole run: DATABASE_URL's server if set, else an embedded cluster in
 * a temporary directory. A template database is migrated once; every test file clones it
 * (test/helpers/database.ts), so files never see each other's rows.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dropDatabase, ensureDatabase, withDatabase } from '../src/db/admin';
import { createDb } from '../src/db/connection';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from '../src/db/embedded-postgres';
import { migrateToLatest } from '../src/db/migrate';
import { createLogger } from '../src/logger';

declare global {
  var __testPostgres: { embedded?: EmbeddedPostgresHandle; tempDir?: string; adminUrl: string; template: string } | undefined;
}

export default async function globalSetup(): Promise<void> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let tempDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-test-pg-'));
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(tempDir, 'cluster'),
      password: crypto.randomBytes(16).toString('hex'),
      logger: createLogger('warn'),
      persistent: false,
    });
    adminUrl = embedded.connectionString;
  }
  const template = `outreach_tpl_${process.pid}_${Date.now().toString(36)}`;
  await dropDatabase(adminUrl, template);
  await ensureDatabase(adminUrl, template);
  const db = createDb(withDatabase(adminUrl, template), { poolMax: 1, idleTimeoutMs: 1000 });
  try {
    await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = template;
  globalThis.__testPostgres = { embedded, tempDir, adminUrl, template };
}
