/**
 * The database a command run beside the server (`npm run create-admin`, `backup`, `restore`,
 * `rotate-keys`) works on: DATABASE_URL, or the embedded database under DATA_DIR — the running
 * server's cluster when the server is up (connecting to the port its postmaster.pid names),
 * else a cluster the command starts for the moment and stops again in release().
 */
import path from 'node:path';
import type { Config } from '../config';
import { createLogger } from '../logger';
import { ensureDatabase, withDatabase } from './admin';
import { EMBEDDED_DATABASE, startEmbeddedPostgres } from './embedded-postgres';
import { runningPostmasterPort } from './postmaster';

export interface CommandDatabase {
  connectionString: string;
  /** Where it came from, for the command's messages. */
  source: 'DATABASE_URL' | 'embedded (running server)' | 'embedded (started for this command)';
  /** The embedded cluster's data directory (DATA_DIR/postgres); undefined for DATABASE_URL. */
  embeddedDataDir?: string;
  release(): Promise<void>;
}

export async function openCommandDatabase(config: Pick<Config, 'databaseUrl' | 'dataDir' | 'embeddedPostgresPassword'>): Promise<CommandDatabase> {
  if (config.databaseUrl) return { connectionString: config.databaseUrl, source: 'DATABASE_URL', release: async () => undefined };
  const pgDataDir = path.join(config.dataDir, 'postgres');
  const runningPort = runningPostmasterPort(pgDataDir);
  if (runningPort !== undefined) {
    const server = `postgres://postgres:${encodeURIComponent(config.embeddedPostgresPassword)}@127.0.0.1:${runningPort}/postgres`;
    return { connectionString: withDatabase(server, EMBEDDED_DATABASE), source: 'embedded (running server)', embeddedDataDir: pgDataDir, release: async () => undefined };
  }
  const embedded = await startEmbeddedPostgres({ dataDir: pgDataDir, password: config.embeddedPostgresPassword, logger: createLogger('warn') });
  try {
    await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
  } catch (error) {
    await embedded.stop();
    throw error;
  }
  return { connectionString: withDatabase(embedded.connectionString, EMBEDDED_DATABASE), source: 'embedded (started for this command)', embeddedDataDir: pgDataDir, release: embedded.stop };
}
