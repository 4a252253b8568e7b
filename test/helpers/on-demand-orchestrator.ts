/**
 * A real orchestrator for the tests of workers that come and go (issue 18): real PM2 with its
 * own home and daemon, the compiled worker (`npm run build` first), a real SMTP peer, its own
 * data directory and config file. A reconcile interval of 10 minutes, so that only what a test
 * exercises (a wake timer, a nudge, a reconcile it asks for) starts a worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import type { Db } from '../../src/db/connection';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { useTestDatabase } from './database';
import { startSmtpPeer, type SmtpPeer } from './smtp-peer';

type TestDatabase = ReturnType<typeof useTestDatabase>;

export interface OnDemandOrchestrator {
  orchestrator: Orchestrator;
  peer: SmtpPeer;
  config: Config;
  /** Its data directory and config file, for a worker started by hand beside it. */
  dataDir: string;
  configFile: string;
  /** Stops the orchestrator and its daemon, closes the peer, removes the directory. */
  stop(): Promise<void>;
}

/**
 * The test file's database and, on it, its orchestrator: started once the database is
 * (beforeAll), stopped before the database is dropped (afterAll hooks run in the order they
 * are declared). Fields are set once beforeAll has run.
 */
export function useOnDemandOrchestrator(options: OnDemandOptions): { t: TestDatabase; harness: OnDemandOrchestrator } {
  const harness = {} as OnDemandOrchestrator;
  afterAll(async () => harness.stop?.());
  const t = useTestDatabase();
  beforeAll(async () => {
    Object.assign(harness, await startOnDemandOrchestrator(t, options));
  });
  return { t, harness };
}

type OnDemandOptions = { name: string; listen: boolean; sending?: Record<string, unknown>; orchestrator: { workerKeepAliveSeconds: number; workerWakeLeadSeconds: number } & Record<string, unknown> };

async function startOnDemandOrchestrator(
  database: { db: Db; url: string },
  options: OnDemandOptions,
): Promise<OnDemandOrchestrator> {
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), `outreach-${options.name}-`));
  const configFile = path.join(tempDir, 'config.json');
  const dataDir = path.join(tempDir, 'data');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      ...(options.sending ? { sending: options.sending } : {}),
      orchestrator: { reconcileIntervalMs: 600_000, heartbeatIntervalMs: 500, nodeLeaseMs: 60_000, workerStopTimeoutMs: 10_000, ...options.orchestrator },
    }),
  );
  const config = loadConfig({ DATA_DIR: dataDir, CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: `node-${options.name}`, LOG_LEVEL: 'warn' });
  const peer = await startSmtpPeer();
  const orchestrator = new Orchestrator({ db: database.db, connectionString: database.url, config, logger: createLogger('error'), workerEnv: { CONFIG_FILE: configFile }, listen: options.listen });
  await orchestrator.start();
  return {
    orchestrator,
    peer,
    config,
    dataDir,
    configFile,
    stop: async () => {
      await orchestrator.stop({ killDaemon: true });
      await peer.close();
      fs.rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
