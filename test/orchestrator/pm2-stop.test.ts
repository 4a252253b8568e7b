/**
 * Stopping the compiled server with real PM2 (its own PM2_HOME), while a worker has work:
 * under PM2 (ecosystem.config.js, embedded Postgres), `pm2 stop` and `pm2 restart` drain the
 * workers before the embedded Postgres stops; started directly (`npm start`), the server stops
 * the PM2 daemon it spawned for its workers.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../src/config';
import { createDb, type Db } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { isProcessAlive } from '../../src/orchestrator/proc-stats';
import { WORKER_NAMESPACE } from '../../src/orchestrator/pm2-supervisor';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { clusterState } from '../helpers/private-postgres';
import { parseLogLines, startServerProcess, waitForListening } from '../helpers/server-process';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(240_000);

const PM2_BIN = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'pm2');
const run = promisify(execFile);
const t = useTestDatabase();

interface Pm2App {
  name: string;
  pid: number;
  pm2_env: { namespace?: string; status?: string; treekill?: boolean };
}

/** Everything a server needs of its own: data, PM2 home, ports, a config with a free sink port. */
async function serverEnv(dir: string): Promise<{ env: Record<string, string>; port: number; sinkPort: number }> {
  const port = await findFreePort();
  const sinkPort = await findFreePort();
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ sink: { enabled: true, host: '127.0.0.1', port: sinkPort }, orchestrator: { workerStopTimeoutMs: 20_000 } }));
  const env = { DATA_DIR: path.join(dir, 'data'), PM2_HOME: path.join(dir, 'pm2'), PORT: String(port), CONFIG_FILE: configFile, LOG_LEVEL: 'info' };
  return { env, port, sinkPort };
}

/** A sink account with a campaign of `emails` queued, one send a second: its worker stays busy. */
async function seedBusyAccount(db: Db, sinkPort: number, emails: number): Promise<string> {
  const client = await createClient(db);
  const account = await createAccount(db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: '127.0.0.1', port: sinkPort }), min_gap_seconds: 1 });
  const campaign = await createCampaign(db, client.id, { senders: [account.id] });
  await addContacts(db, client.id, campaign.id, emails);
  await enqueueCampaign(db, campaign.id, new Date(), { messageIdDomain: 'pm2-stop.test' });
  return account.id;
}

async function sentCount(db: Db): Promise<number> {
  const row = await db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('stopping the server under PM2 (ecosystem.config.js, embedded Postgres)', () => {
  let dir: string;
  let env: Record<string, string>;
  const pm2 = (...args: string[]) => run(PM2_BIN, args, { cwd: PROJECT_ROOT, env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env } });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-pm2-stop-'));
    // As root the embedded Postgres runs as the postgres user, which must reach DATA_DIR.
    fs.chmodSync(dir, 0o711);
  });
  afterAll(async () => {
    if (env) await pm2('kill').catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('drains the worker fully before the embedded Postgres shuts down cleanly, on pm2 stop and on pm2 restart, and serves again after the restart', async () => {
    const setup = await serverEnv(dir);
    env = setup.env;
    const log = () => ['out', 'error'].map((kind) => fs.readFileSync(path.join(env.PM2_HOME!, 'logs', `outreach-server-${kind}.log`), 'utf8')).join('\n');
    const jlist = async () => JSON.parse((await pm2('jlist')).stdout) as Pm2App[];

    await pm2('start', path.join(PROJECT_ROOT, 'ecosystem.config.js'));
    expect((await waitForListening(setup.port)).status).toBe(200);
    expect((await jlist()).find((a) => a.name === 'outreach-server')?.pm2_env.treekill).toBe(false);

    // The embedded database, as the server started it.
    const started = parseLogLines(log()).find((l) => l.message === 'embedded Postgres started');
    const { embeddedPostgresPassword } = JSON.parse(fs.readFileSync(path.join(env.DATA_DIR!, 'secrets.json'), 'utf8')) as { embeddedPostgresPassword: string };
    const db = createDb(`postgres://postgres:${encodeURIComponent(embeddedPostgresPassword)}@127.0.0.1:${started?.port}/outreach`, { poolMax: 1, idleTimeoutMs: 500 });
    await seedBusyAccount(db, setup.sinkPort, 200);
    await waitFor(async () => (await sentCount(db)) >= 2, 'the worker sending');
    await db.destroy();
    const worker = (await jlist()).find((a) => a.pm2_env.namespace === WORKER_NAMESPACE);
    expect(worker?.pid).toBeGreaterThan(0);

    await pm2('stop', 'outreach-server');
    const dataDir = path.join(env.DATA_DIR!, 'postgres');
    const afterStop = parseLogLines(log()).map((l) => String(l.message));
    expect(log()).not.toMatch(/releasing leases failed|ECONNREFUSED|database connection lost/);
    expect(clusterState(dataDir)).toBe('shut down');
    expect(afterStop.indexOf('orchestrator stopped')).toBeGreaterThanOrEqual(0);
    expect(afterStop.indexOf('orchestrator stopped')).toBeLessThan(afterStop.indexOf('embedded Postgres stopped'));
    expect(afterStop.indexOf('embedded Postgres stopped')).toBeLessThan(afterStop.indexOf('server stopped'));
    expect(isProcessAlive(worker!.pid)).toBe(false);
    expect((await jlist()).filter((a) => a.pm2_env.namespace === WORKER_NAMESPACE)).toEqual([]);
    // The daemon runs the server itself: it stays.
    expect((await jlist()).find((a) => a.name === 'outreach-server')?.pm2_env.status).toBe('stopped');

    await pm2('restart', 'outreach-server');
    expect((await waitForListening(setup.port)).status).toBe(200);
    await waitFor(async () => (await jlist()).some((a) => a.pm2_env.namespace === WORKER_NAMESPACE && a.pm2_env.status === 'online'), 'the worker back');
    await pm2('restart', 'outreach-server');
    expect((await waitForListening(setup.port)).status).toBe(200);
    const messages = parseLogLines(log()).map((l) => String(l.message));
    expect(messages.filter((m) => m === 'embedded Postgres stopped')).toHaveLength(2);
    expect(messages.filter((m) => m === 'server stopped')).toHaveLength(2);
    expect(log()).not.toMatch(/releasing leases failed|ECONNREFUSED|database connection lost/);
  });
});

describe('stopping a server started directly (npm start)', () => {
  it('stops the PM2 daemon it spawned for its workers', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-own-daemon-'));
    const { env, port, sinkPort } = await serverEnv(dir);
    const pidFile = path.join(env.PM2_HOME!, 'pm2.pid');
    await seedBusyAccount(t.db, sinkPort, 50);
    const server = startServerProcess({ ...env, DATABASE_URL: t.url });
    try {
      expect((await waitForListening(port, server)).status).toBe(200);
      await waitFor(async () => (await sentCount(t.db)) >= 1, 'the worker sending');
      const daemonPid = Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10);
      expect(isProcessAlive(daemonPid)).toBe(true);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
      expect(server.output()).toMatch(/"message":"stopping the PM2 daemon this server started for its workers"/);
      expect(isProcessAlive(daemonPid)).toBe(false);
      expect(server.output()).not.toMatch(/releasing leases failed/);
    } finally {
      if (server.child.exitCode === null) server.child.kill('SIGKILL');
      const leftover = fs.existsSync(pidFile) ? Number.parseInt(fs.readFileSync(pidFile, 'utf8'), 10) : 0;
      if (leftover > 0 && isProcessAlive(leftover)) process.kill(leftover, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
