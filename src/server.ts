/**
 * Starting and stopping the whole server: database (given or embedded), migrations, HTTP.
 * Later parts (orchestrator, schedules) hook into start and stop here.
 */
import http from 'node:http';
import path from 'node:path';
import { sql } from 'kysely';
import type { Config } from './config';
import { ensureDatabase, withDatabase } from './db/admin';
import { createDb, type Db } from './db/connection';
import { startEmbeddedPostgres, type EmbeddedPostgresHandle } from './db/embedded-postgres';
import { migrateToLatest } from './db/migrate';
import { createApp } from './http/app';
import type { Logger } from './logger';

export interface RunningServer {
  url: string;
  db: Db;
  stop(): Promise<void>;
}

const EMBEDDED_DATABASE = 'outreach';

/** host:port of a connection string, for messages that must not show the password. */
export function describeDatabase(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    return `${url.hostname}:${url.port || 5432}${url.pathname}`;
  } catch {
    return '(unparseable DATABASE_URL)';
  }
}

async function connectAndMigrate(connectionString: string, config: Config): Promise<Db> {
  const db = createDb(connectionString, { ...config.database, applicationName: `outreach-server-${config.nodeId}` });
  try {
    await sql`select 1`.execute(db);
  } catch (error) {
    await db.destroy();
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`Cannot connect to the database at ${describeDatabase(connectionString)}: ${reason}`, { cause: error });
  }
  await migrateToLatest(db);
  return db;
}

export async function startServer(config: Config, logger: Logger): Promise<RunningServer> {
  let embedded: EmbeddedPostgresHandle | undefined;
  let connectionString = config.databaseUrl;
  if (!connectionString) {
    embedded = await startEmbeddedPostgres({ dataDir: path.join(config.dataDir, 'postgres'), password: config.embeddedPostgresPassword, logger });
    await ensureDatabase(embedded.connectionString, EMBEDDED_DATABASE);
    connectionString = withDatabase(embedded.connectionString, EMBEDDED_DATABASE);
  }

  let db: Db;
  try {
    db = await connectAndMigrate(connectionString, config);
  } catch (error) {
    await embedded?.stop();
    throw error;
  }

  const app = createApp({ config, db, logger });
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  }).catch(async (error: NodeJS.ErrnoException) => {
    await db.destroy();
    await embedded?.stop();
    throw new Error(`Cannot listen on ${config.host}:${config.port}: ${error.code ?? error.message}`, { cause: error });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info('server listening', { port, database: describeDatabase(connectionString), embedded: Boolean(embedded) });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      // Stop taking requests, let in-flight ones finish, then drop idle keep-alive sockets.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const forced = setTimeout(() => server.closeAllConnections(), config.server.shutdownTimeoutMs);
      await closed;
      clearTimeout(forced);
      await db.destroy();
      await embedded?.stop();
      logger.info('server stopped');
    })();
    return stopping;
  };

  return { url: `http://127.0.0.1:${port}`, db, stop };
}
