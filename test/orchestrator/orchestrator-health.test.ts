/**
 * How the orchestrator keeps waiting workers cheap and still supervised, with real PM2 (its
 * own PM2_HOME in a temp dir), the real compiled worker (dist/workers/send-worker.js: run
 * `npm run build` first), real Postgres and a real SMTP peer: queue notifications wake
 * waiting workers (they do not poll), IPC heartbeats reach worker_heartbeats, a hung worker
 * is restarted, a dead PM2 daemon leaves no worker sending unsupervised, and GET /api/workers
 * shows the fleet.
 *
 * The reconcile interval and idlePollMs are 10 minutes here, so nothing in these tests happens
 * because of a periodic reconcile or a worker's own poll: only notifications, nudges,
 * heartbeats and the reconciles the tests run themselves (standing in for the periodic one).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Express } from 'express';
import { sql } from 'kysely';
import request from 'supertest';
import { loadConfig, type Config } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import type { WorkerProcess } from '../../src/orchestrator/pm2-supervisor';
import { Schedules } from '../../src/orchestrator/schedules';
import { createSweep } from '../../src/orchestrator/sweep';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { bearer, createUser, JWT_SECRET, login } from '../http/admin-api.helpers';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';
import { waitFor as waitForValue } from '../helpers/wait-for';

jest.setTimeout(60_000);

const IDLE_POLL_MS = 600_000;
const HEARTBEAT_INTERVAL_MS = 500;
// Long enough that a loaded CI machine delaying a few heartbeats does not look like a hang.
const HEARTBEAT_STALE_MS = 8000;

/** Worker pids a test stopped or may leave behind; cleaned up whatever happens. */
const touchedPids = new Set<number>();

// Stop the fleet before the test database is dropped (afterAll hooks run in definition order).
afterAll(async () => {
  for (const pid of touchedPids) signal(pid, 'SIGCONT');
  await schedules?.stop();
  await orchestrator?.stop({ killDaemon: true });
  for (const pid of touchedPids) if (!isGone(pid)) signal(pid, 'SIGKILL');
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
let app: Express;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-orch-health-'));
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      sending: { leaseMs: 3000, idlePollMs: IDLE_POLL_MS, unknownPolicy: 'hold' },
      orchestrator: {
        reconcileIntervalMs: 600_000,
        heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
        heartbeatStaleMs: HEARTBEAT_STALE_MS,
        restartBackoffBaseMs: 100,
        restartBackoffMaxMs: 400,
        maxRestartsPerHour: 3,
        nodeLeaseMs: 60_000,
        // A SIGSTOPped worker ignores SIGTERM: PM2 kills it after this.
        workerStopTimeoutMs: 3000,
        workerLogs: 'file',
        sweepIntervalMs: 1000,
        // Resident workers: these tests watch one wait for a row an hour ahead (idle exits: idle-exit.test.ts).
        workerKeepAliveSeconds: 0,
      },
    }),
  );
  config = loadConfig({
    DATA_DIR: path.join(tempDir, 'data'),
    CONFIG_FILE: configFile,
    PM2_HOME: path.join(tempDir, 'pm2'),
    NODE_ID: 'node-health',
    LOG_LEVEL: 'warn',
    JWT_SECRET,
  });
  peer = await startSmtpPeer();
  orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger, workerEnv: { CONFIG_FILE: configFile }, listen: true });
  schedules = new Schedules({ db: t.db, config, logger, sweep: createSweep(config, logger), onNewDay: () => undefined });
  await orchestrator.start();
  await schedules.start();
  app = createApp({ config, db: t.db, logger, orchestrator: () => orchestrator });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const waitFor = <T>(probe: () => Promise<T | undefined | false>, what: string, limitMs = 30_000): Promise<T> => waitForValue(probe, what, limitMs);

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

/** Gone, or a zombie nobody has reaped yet (it can no longer do anything). */
function isGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function seedAccountWithWork(
  emails: number,
  values: { status?: 'active' | 'paused'; minGapSeconds?: number; dailyLimit?: number } = {},
) {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, {
    transport: 'sink',
    transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
    status: values.status ?? 'active',
    min_gap_seconds: values.minGapSeconds ?? 0,
    ...(values.dailyLimit ? { daily_limit: values.dailyLimit } : {}),
  });
  // Take its lease now rather than at the next lease round (every nodeLeaseMs / 3).
  await orchestrator!.leases.tick();
  const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
  await addContacts(t.db, client.id, campaign.id, emails);
  await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'health.test' });
  return { clientId: client.id, accountId: account.id, email: account.email, campaignId: campaign.id };
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

async function heartbeatOf(accountId: string) {
  return t.db.selectFrom('worker_heartbeats').select(['state', 'beat_at', 'pid']).where('account_id', '=', accountId).executeTakeFirst();
}

/** The worker's own Postgres backends (its pool names them `send-worker:<account prefix>`). */
async function workerBackends(accountId: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and application_name = ${`send-worker:${accountId.slice(0, 8)}`}`.execute(t.db);
  return Number(rows[0]?.n ?? 0);
}

function receivedMessageIds(): string[] {
  return peer.received.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1] ?? '');
}

async function expectEveryRowSentOrHeldOnce(campaignId: string, total: number): Promise<void> {
  const states = await waitFor(async () => {
    const s = await queueStates(campaignId);
    return (s.sent ?? 0) + (s.held ?? 0) === total ? s : undefined;
  }, 'every row sent or held');
  expect((states.sent ?? 0) + (states.held ?? 0)).toBe(total);
  const ids = receivedMessageIds();
  expect(new Set(ids).size).toBe(ids.length);
  const sent = await t.db.selectFrom('email_queue').select('message_id').where('campaign_id', '=', campaignId).where('status', '=', 'sent').execute();
  for (const row of sent) expect(ids).toContain(row.message_id);
}

describe('orchestrator health: waking, heartbeats, hung workers and a dead PM2 daemon', () => {
  let waitingAccount: { accountId: string; email: string; clientId: string } | undefined;

  it('wakes a waiting worker as soon as rows are queued for its campaign, long before its idle poll', async () => {
    // Activated by a status change once the reconciles the seeding triggered are over: the one
    // reconcile that notification triggers starts the worker, and no reconcile lists it after
    // that (a nudge must still reach it).
    const { accountId, clientId, campaignId } = await seedAccountWithWork(1, { status: 'paused' });
    await orchestrator!.reconcile();
    await sleep(500);
    await t.db.updateTable('sender_accounts').set({ status: 'active' }).where('id', '=', accountId).execute();
    const worker = await waitFor(() => workerOf(accountId), 'worker started on activation');
    await waitFor(async () => (await queueStates(campaignId)).sent === 1, 'the only row sent');
    await waitFor(async () => (await heartbeatOf(accountId))?.state === 'waiting', 'worker waiting');

    await addContacts(t.db, clientId, campaignId, 1);
    const queuedAt = Date.now();
    const { queued } = await enqueueCampaign(t.db, campaignId, new Date(), { messageIdDomain: 'health.test' });
    expect(queued).toBe(1);
    await waitFor(async () => (await queueStates(campaignId)).sent === 2, 'the new row sent', 10_000);
    const tookMs = Date.now() - queuedAt;

    // Sent by the same, woken process (not a new one), far sooner than its safety-net poll.
    expect(tookMs).toBeLessThan(5000);
    expect(tookMs).toBeLessThan(IDLE_POLL_MS / 100);
    expect((await workerOf(accountId))?.pid).toBe(worker.pid);
  });

  it('writes the IPC heartbeats of a waiting worker to worker_heartbeats while the worker holds no database connection', async () => {
    // Seeded paused with one of its two rows due in an hour: once active, the worker sends the
    // other and waits with work ahead (an account with none left is stopped by the next
    // reconcile, which a busy machine may run inside this test).
    const { accountId, email, clientId, campaignId } = await seedAccountWithWork(2, { dailyLimit: 40, status: 'paused' });
    const later = await t.db.selectFrom('email_queue').select('id').where('campaign_id', '=', campaignId).orderBy('id', 'desc').limit(1).executeTakeFirstOrThrow();
    await t.db.updateTable('email_queue').set({ run_after: new Date(Date.now() + 3_600_000) }).where('id', '=', later.id).execute();
    await t.db.updateTable('sender_accounts').set({ status: 'active' }).where('id', '=', accountId).execute();
    await orchestrator!.reconcile();
    const worker = await waitFor(() => workerOf(accountId), 'worker online');
    await waitFor(async () => (await queueStates(campaignId)).sent === 1, 'the due row sent');
    // Its pool closes its connection after workerDbIdleTimeoutMs once it starts waiting.
    await waitFor(async () => (await workerBackends(accountId)) === 0, 'worker connection closed', 10_000);
    const quietSince = new Date();

    const beats: Date[] = [];
    for (let i = 0; i < 12; i++) {
      await sleep(250);
      expect(await workerBackends(accountId)).toBe(0);
      const beat = await heartbeatOf(accountId);
      expect(beat?.state).toBe('waiting');
      const last = beats[beats.length - 1];
      if (beat && (!last || beat.beat_at.getTime() !== last.getTime())) beats.push(beat.beat_at);
    }
    // Every interval a newer beat, none from the worker's own connection (it has none).
    expect(beats.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < beats.length; i++) expect(beats[i]!.getTime()).toBeGreaterThan(beats[i - 1]!.getTime());
    expect(beats[beats.length - 1]!.getTime()).toBeGreaterThan(quietSince.getTime());
    expect((await heartbeatOf(accountId))?.pid).toBe(worker.pid);
    waitingAccount = { accountId, email, clientId };
  });

  it('lists every account with its process, memory, restarts, heartbeat, sends today, limit and node on GET /api/workers, for the owner only', async () => {
    expect(waitingAccount).toBeDefined();
    const { accountId, email, clientId } = waitingAccount!;
    await createUser(t.db, 'health-owner@example.com', 'owner', null);
    await createUser(t.db, 'health-admin@example.com', 'client_admin', clientId);
    const owner = await login(app, 'health-owner@example.com');
    const clientAdmin = await login(app, 'health-admin@example.com');
    // Under load the previous test's worker may be in a restart (stale heartbeats): wait for it.
    const worker = await waitFor(() => workerOf(accountId), 'the waiting worker online');
    expect(worker).toBeDefined();

    const res = await request(app).get('/api/workers').set(bearer(owner.accessToken));
    expect(res.status).toBe(200);
    expect(res.body.node).toBe('node-health');
    type Entry = { accountId: string; process: { memoryBytes: unknown }; lastHeartbeatAt: string };
    const entry = (res.body.workers as Entry[]).find((w) => w.accountId === accountId);
    expect(entry).toMatchObject({
      accountId,
      email,
      accountStatus: 'active',
      node: 'node-health',
      process: { state: 'online', pid: worker!.pid },
      restartsLastHour: 0,
      heartbeatState: 'waiting',
      sentToday: 1,
      effectiveDailyLimit: 40,
    });
    expect(entry?.process.memoryBytes).toEqual(expect.any(Number));
    expect(entry!.process.memoryBytes as number).toBeGreaterThan(1024 * 1024);
    expect(Date.now() - new Date(entry!.lastHeartbeatAt).getTime()).toBeLessThan(5000);

    const forbidden = await request(app).get('/api/workers').set(bearer(clientAdmin.accessToken));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body).toEqual({ error: { code: 'forbidden', message: expect.any(String), details: null } });
  });

  it('restarts a hung worker that stopped sending heartbeats, records the restart and sends no email twice', async () => {
    const total = 6;
    const { accountId, campaignId } = await seedAccountWithWork(total, { minGapSeconds: 1 });
    await orchestrator!.reconcile();
    const hung = await waitFor(() => workerOf(accountId), 'worker online');
    await waitFor(async () => ((await queueStates(campaignId)).sent ?? 0) >= 2, 'first sends');
    touchedPids.add(hung.pid);
    process.kill(hung.pid, 'SIGSTOP');
    const stoppedAt = Date.now();

    // The periodic reconcile (run here by hand) notices the missed heartbeats.
    const replacement = await waitFor(async () => {
      await orchestrator!.reconcile();
      const w = await workerOf(accountId);
      return w && w.pid !== hung.pid ? w : undefined;
    }, 'replacement worker');
    touchedPids.add(replacement.pid);
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(HEARTBEAT_STALE_MS);
    expect(isGone(hung.pid)).toBe(true);

    const restarts = await t.db.selectFrom('audit_log').select('details').where('entity_id', '=', accountId).where('action', '=', 'worker.restarted').execute();
    expect(restarts).toEqual([{ details: expect.objectContaining({ reason: 'heartbeats missed', restartNumber: 1 }) }]);
    await expectEveryRowSentOrHeldOnce(campaignId, total);

    const owner = await login(app, 'health-owner@example.com');
    const res = await request(app).get('/api/workers').set(bearer(owner.accessToken));
    expect((res.body.workers as { accountId: string; restartsLastHour: number }[]).find((w) => w.accountId === accountId)?.restartsLastHour).toBe(1);
  });

  it('stops every worker when the PM2 daemon dies, and the next reconcile runs them under a new daemon with no email sent twice', async () => {
    const total = 6;
    const seeded = [await seedAccountWithWork(total, { minGapSeconds: 1 }), await seedAccountWithWork(total, { minGapSeconds: 1 })];
    await orchestrator!.reconcile();
    const before = await Promise.all(seeded.map((s) => waitFor(() => workerOf(s.accountId), 'worker online')));
    for (const w of before) touchedPids.add(w.pid);
    await waitFor(async () => {
      for (const s of seeded) if (((await queueStates(s.campaignId)).sent ?? 0) < 1) return false;
      return true;
    }, 'first sends of both');

    const daemonPid = orchestrator!.supervisor.getDaemonPid();
    expect(daemonPid).toEqual(expect.any(Number));
    process.kill(daemonPid!, 'SIGKILL');

    // Unsupervised, they finish the send in flight and exit by themselves.
    await waitFor(async () => before.every((w) => isGone(w.pid)), 'orphaned workers gone', 8000);
    const sentWhenGone = await Promise.all(seeded.map(async (s) => (await queueStates(s.campaignId)).sent ?? 0));
    await sleep(1500);
    expect(await Promise.all(seeded.map(async (s) => (await queueStates(s.campaignId)).sent ?? 0))).toEqual(sentWhenGone);

    await orchestrator!.reconcile();
    const after = await Promise.all(
      seeded.map((s, i) =>
        waitFor(async () => {
          const w = await workerOf(s.accountId);
          return w && w.pid !== before[i]!.pid ? w : undefined;
        }, 'worker under the new daemon'),
      ),
    );
    for (const w of after) touchedPids.add(w.pid);
    const newDaemonPid = orchestrator!.supervisor.getDaemonPid();
    expect(newDaemonPid).toEqual(expect.any(Number));
    expect(newDaemonPid).not.toBe(daemonPid);
    expect(isGone(daemonPid!)).toBe(true);

    for (const s of seeded) await expectEveryRowSentOrHeldOnce(s.campaignId, total);
  });
});
