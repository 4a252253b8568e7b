/**
 * The database a command-line tool works on: DATABASE_URL, or the embedded one under DATA_DIR
 * (the running server's cluster when the server is up, connecting to the port its
 * postmaster.pid names; else a cluster started for the moment and stopped again by release()).
 */
import path from 'node:path';
import type { Config } from '../src/config';
import { ensureDatabase, withDatabase } from '../src/db/admin';
import { EMBEDDED_DATABASE, startEmbeddedPostgres } from '../src/db/embedded-postgres';
import { runningPostmasterPort } from '../src/db/postmaster';
import { createLogger } from '../src/logger';

export async function cliDatabase(config: Config): Promise<{ connectionString: string; release: () => Promise<void> }> {
  if (config.databaseUrl) return { connectionString: config.databaseUrl, release: async () => undefined };
  const pgDataDir = path.join(config.dataDir, 'postgres');
  const password = config.embeddedPostgresPassword;
  const runningPort = runningPostmasterPort(pgDataDir);
  if (runningPort !== undefined) {
    const server = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${runningPort}/postgres`;
    return { connectionString: withDatabase(server, EMBEDDED_DATABASE), release: async () => undefined };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: pgDataDir, password, logger: createLogger('warn') });
  await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
  return { connectionString: withDatabase(embedded.connectionString, EMBEDDED_DATABASE), release: embedded.stop };
}
