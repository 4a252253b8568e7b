/**
 * The orchestrator with real PM2 (its own PM2_HOME in a temp dir), the real compiled worker
 * (dist/workers/send-worker.js: run `npm run build` first), real Postgres and a real SMTP peer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/config';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { Schedules } from '../../src/orchestrator/schedules';
import { createSweep } from '../../src/orchestrator/sweep';
import type { WorkerProcess } from '../../src/orchestrator/pm2-supervisor';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';
import { waitFor } from '../helpers/wait-for';

jest.setTimeout(120_000);

// Stop the fleet before the test database is dropped (afterAll hooks run in definition order).
afterAll(async () => {
  await schedules?.stop();
  await orchestrator?.stop({ killDaemon: true });
  await peer?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});
const t = useTestDatabase();
const logger = createLogger('error');
let tempDir: string;
let config: Config;
let peer: SmtpPeer;
let orchestrator: Orchestrator | undefined;
let schedules: Schedules | undefined;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-orch-'));
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      sending: { leaseMs: 3000, idlePollMs: 300, unknownPolicy: 'hold' },
      orchestrator: {
        reconcileIntervalMs: 600_000,
        heartbeatIntervalMs: 500,
        heartbeatStaleMs: 60_000,
        restartBackoffBaseMs: 100,
        restartBackoffMaxMs: 400,
        maxRestartsPerHour: 3,
        nodeLeaseMs: 60_000,
        workerStopTimeoutMs: 10_000,
        workerLogs: 'file',
        sweepIntervalMs: 1000,
      },
    }),
  );
  config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-test', LOG_LEVEL: 'warn' });
  peer = await startSmtpPeer();
  orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger, workerEnv: { CONFIG_FILE: configFile }, listen: true });
  schedules = new Schedules({ db: t.db, config, logger, sweep: createSweep(config, logger), onNewDay: () => undefined });
  await orchestrator.start();
  await schedules.start();
});

async function seedAccountWithWork(emails: number, values: { status?: 'active' | 'paused'; minGapSeconds?: number } = {}) {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, {
    transport: 'sink',
    transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
    status: values.status ?? 'active',
    min_gap_seconds: values.minGapSeconds ?? 0,
  });
  const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
  await addContacts(t.db, client.id, campaign.id, emails);
  await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'orch.test' });
  return { clientId: client.id, accountId: account.id, campaignId: campaign.id };
}

async function workerOf(accountId: string): Promise<WorkerProcess | undefined> {
  return (await orchestrator!.supervisor.list()).find((p) => p.accountId === accountId && p.status === 'online' && p.pid > 0);
}

async function queueStates(campaignId: string): Promise<Record<string, number>> {
  const rows = await t.db.selectFrom('email_queue').select(['status']).where('campaign_id', '=', campaignId).execute();
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

function receivedMessageIds(): string[] {
  return peer.received.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1] ?? '');
}

describe('orchestrator with real PM2 workers', () => {
  it('starts a worker for an account once it is activated, within one reconcile, and stops it when the account is paused', async () => {
    const { accountId } = await seedAccountWithWork(50, { status: 'paused', minGapSeconds: 2 });
    await orchestrator!.reconcile();
    expect(await workerOf(accountId)).toBeUndefined();

    await t.db.updateTable('sender_accounts').set({ status: 'active' }).where('id', '=', accountId).execute();
    await orchestrator!.reconcile();
    // That one reconcile started it; PM2 reports it online once the process is up.
    const worker = await waitFor(() => workerOf(accountId), 'worker online');
    expect(worker).toBeDefined();
    expect(worker!.name).toMatch(/^w-sender-.*@sender\.test$/);

    await t.db.updateTable('sender_accounts').set({ status: 'paused', pause_reason: 'manual' }).where('id', '=', accountId).execute();
    await orchestrator!.reconcile();
    expect(await workerOf(accountId)).toBeUndefined();
    expect((await orchestrator!.supervisor.list()).filter((p) => p.accountId === accountId)).toEqual([]);
  });

  it('gives a worker only the environment the server passes it, and the worker writes its code cache under DATA_DIR', async () => {
    const { accountId } = await seedAccountWithWork(1);
    await orchestrator!.reconcile();
    const worker = await waitFor(() => workerOf(accountId), 'worker online');
    const names = fs
      .readFileSync(`/proc/${worker.pid}/environ`, 'utf8')
      .split('\0')
      .map((entry) => entry.split('=')[0]);
    expect(names).toEqual(expect.arrayContaining(['DATABASE_URL', 'DATA_DIR', 'CONFIG_FILE', 'MALLOC_TRIM_THRESHOLD_']));
    // The server's own environment (this test process's) stays out, NODE_* variables included.
    expect(process.env.PATH).toBeDefined();
    for (const name of ['PATH', 'HOME', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']) expect(names).not.toContain(name);

    const cacheDir = path.join(config.dataDir, 'code-cache');
    await waitFor(async () => fs.existsSync(cacheDir) && fs.readdirSync(cacheDir).some((file) => file.endsWith('.v8cache')), 'code cache written');
  });

  it('restarts a worker killed with SIGKILL and recovers its claims, with no email lost or sent twice', async () => {
    const total = 8;
    const { accountId, campaignId } = await seedAccountWithWork(total, { minGapSeconds: 1 });
    await orchestrator!.reconcile();
    const first = await waitFor(() => workerOf(accountId), 'first worker');
    // Let it send some, then kill it without warning.
    await waitFor(async () => ((await queueStates(campaignId)).sent ?? 0) >= 2, 'first sends');
    process.kill(first.pid, 'SIGKILL');

    const second = await waitFor(async () => {
      await orchestrator!.reconcile();
      const w = await workerOf(accountId);
      return w && w.pid !== first.pid ? w : undefined;
    }, 'restarted worker');
    expect(second.pid).not.toBe(first.pid);

    // Every row ends sent, or held for an operator when the kill hit mid-send (a plain SMTP
    // relay cannot tell whether it arrived): none lost, none twice.
    const states = await waitFor(async () => {
      const s = await queueStates(campaignId);
      return (s.sent ?? 0) + (s.held ?? 0) === total ? s : undefined;
    }, 'all rows terminal');
    expect((states.sent ?? 0) + (states.held ?? 0)).toBe(total);
    const ids = receivedMessageIds();
    expect(new Set(ids).size).toBe(ids.length);
    const sentIds = await t.db.selectFrom('email_queue').select('message_id').where('campaign_id', '=', campaignId).where('status', '=', 'sent').execute();
    for (const row of sentIds) expect(ids).toContain(row.message_id);

    const restarts = await t.db.selectFrom('audit_log').select('details').where('entity_id', '=', accountId).where('action', '=', 'worker.restarted').execute();
    expect(restarts).toHaveLength(1);
  });

  it('stops restarting a worker that keeps crashing after 3 restarts and marks the account crashed with an alert', async () => {
    const { accountId } = await seedAccountWithWork(200, { minGapSeconds: 5 });
    await orchestrator!.reconcile();
    let current = await waitFor(() => workerOf(accountId), 'worker');
    for (let restart = 1; restart <= 3; restart++) {
      const killed = current.pid;
      process.kill(killed, 'SIGKILL');
      current = await waitFor(async () => {
        await orchestrator!.reconcile();
        const w = await workerOf(accountId);
        return w && w.pid !== killed ? w : undefined;
      }, `restart ${restart}`);
    }
    process.kill(current.pid, 'SIGKILL');
    const account = await waitFor(async () => {
      await orchestrator!.reconcile();
      const a = await t.db.selectFrom('sender_accounts').select(['status', 'pause_reason']).where('id', '=', accountId).executeTakeFirstOrThrow();
      return a.status === 'crashed' ? a : undefined;
    }, 'crashed status');
    expect(account.pause_reason).toMatch(/^worker_crashed: /);
    await orchestrator!.reconcile();
    expect(await workerOf(accountId)).toBeUndefined();

    const alerts = await t.db.selectFrom('alerts').select(['code', 'severity', 'message']).where('account_id', '=', accountId).execute();
    expect(alerts).toEqual([expect.objectContaining({ code: 'worker_crashed', severity: 'critical' })]);
    const audit = await t.db.selectFrom('audit_log').select('action').where('entity_id', '=', accountId).execute();
    expect(audit.filter((a) => a.action === 'worker.restarted')).toHaveLength(3);
    expect(audit.filter((a) => a.action === 'account.crashed')).toHaveLength(1);
  });
});
