/**
 * A worker that fails (an error that is not the database being away) says so: in process its
 * run() rejects and its last state is `failed`, never `stopped`; as a real PM2 process under the
 * orchestrator it exits non-zero, is counted as a crash, restarted with back-off, and after
 * orchestrator.maxRestartsPerHour the account becomes `crashed` with an alert (and /metrics
 * counts the starts and crashes).
 *
 * The failure is a real one: this file's own database loses a column the claim reads (as a
 * half-applied migration or a bug would leave it), so every claim fails with Postgres 42703.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { createServerMetrics } from '../../src/metrics/server-metrics';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { transportForAccount } from '../../src/sending/account-transport';
import { systemClock } from '../../src/sending/send-worker';
import { useTestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';
import { makeWorker, testCipher } from '../sending/worker-harness';

jest.setTimeout(120_000);

afterAll(async () => {
  await orchestrator?.stop({ killDaemon: true });
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});
const t = useTestDatabase();
const logger = createLogger('error');
let tempDir: string;
let config: Config;
let orchestrator: Orchestrator | undefined;

async function accountWithWork() {
  const client = await createClient(t.db);
  const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: '127.0.0.1', port: 9 }) });
  const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
  await addContacts(t.db, client.id, campaign.id, 2);
  await enqueueCampaign(t.db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'failure.test' });
  return account;
}

beforeAll(async () => {
  // Every claim now fails with "column a.next_send_at does not exist".
  await sql`alter table sender_accounts rename column next_send_at to next_send_at_gone`.execute(t.db);
});

describe('a worker that fails', () => {
  it('rejects from run() and reports failed, not stopped, to its parent and in its heartbeat row', async () => {
    const account = await accountWithWork();
    const row = await t.db.selectFrom('sender_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
    const transport = transportForAccount(row, testCipher);
    const { worker, messages } = makeWorker(t.db, account.id, transport, systemClock);
    await expect(worker.run()).rejects.toMatchObject({ code: '42703' });
    await transport.close();
    const states = messages.filter((m) => m.type === 'status').map((m) => m.state);
    expect(states).toContain('failed');
    expect(states).not.toContain('stopped');
    const beat = await t.db.selectFrom('worker_heartbeats').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(beat.state).toBe('failed');
  });

  it('is counted as a crash by the orchestrator, restarted with back-off, and its account ends crashed with an alert', async () => {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-failure-'));
    const configFile = path.join(tempDir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        orchestrator: { reconcileIntervalMs: 500, heartbeatIntervalMs: 500, restartBackoffBaseMs: 100, restartBackoffMaxMs: 200, maxRestartsPerHour: 2, workerStopTimeoutMs: 5_000, nodeLeaseMs: 60_000 },
      }),
    );
    config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-failure', LOG_LEVEL: 'error' });
    const account = await accountWithWork();
    const metrics = createServerMetrics({ config, db: t.db, logger });
    orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger, workerEnv: { CONFIG_FILE: configFile }, listen: false, events: metrics });
    await orchestrator.start();
    const crashed = await waitFor(
      async () => {
        const row = await t.db.selectFrom('sender_accounts').select(['status', 'pause_reason']).where('id', '=', account.id).executeTakeFirstOrThrow();
        return row.status === 'crashed' ? row : undefined;
      },
      'account marked crashed',
      90_000,
    );
    expect(crashed.pause_reason).toMatch(/^worker_crashed/);
    const restarts = await t.db.selectFrom('audit_log').select('details').where('entity_id', '=', account.id).where('action', '=', 'worker.restarted').execute();
    expect(restarts).toHaveLength(2);
    const alerts = await t.db.selectFrom('alerts').select(['code', 'severity']).where('account_id', '=', account.id).execute();
    expect(alerts).toEqual([{ code: 'worker_crashed', severity: 'critical' }]);
    // /metrics: per account (this one and the first test's, which has work too) the first start
    // and two restarts, and three crashes (the last one marks the account).
    await waitFor(async () => (await t.db.selectFrom('sender_accounts').select('id').where('status', '=', 'crashed').execute()).length === 2 || undefined, 'both accounts crashed', 90_000);
    const text = await metrics.scrape();
    metrics.stop();
    expect(text).toContain('outreach_worker_starts_total{node="node-failure"} 6\n');
    expect(text).toContain('outreach_worker_crashes_total{node="node-failure"} 6\n');
    expect(text).toContain('outreach_mailboxes{status="crashed"} 2\n');
  });
});
