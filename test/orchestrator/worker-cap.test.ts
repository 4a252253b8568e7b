/**
 * orchestrator.maxWorkers with the real orchestrator, real PM2 (own PM2_HOME), the compiled
 * worker (`npm run build` first), real Postgres and a real SMTP peer: a cap of 2 and four
 * accounts with work due. Each account's second row waits for its minimum gap (8 s), beyond
 * the keep-alive (2 s), so its worker exits after each send and frees its slot.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { isProcessAlive } from '../../src/orchestrator/proc-stats';
import { resolveMaxWorkers } from '../../src/orchestrator/worker-cap';
import { countRecentRestarts } from '../../src/orchestrator/worker.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';

jest.setTimeout(240_000);

let tempDir: string;
let peer: SmtpPeer;
let orchestrator: Orchestrator | undefined;

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-worker-cap-'));
  peer = await startSmtpPeer();
});
afterAll(async () => {
  await orchestrator?.stop({ killDaemon: true });
  await peer?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});
// After the afterAll above: the orchestrator stops before its database goes.
const t = useTestDatabase();

describe('a cap on the workers of one node (orchestrator.maxWorkers)', () => {
  it('never runs more than 2 workers for 4 accounts with due work, starts the soonest due first, and sends every row', async () => {
    const client = await createClient(t.db);
    const minutesAgo = [4, 3, 2, 1];
    const accounts: string[] = [];
    for (const ago of minutesAgo) {
      const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: peer.host, port: peer.port }), min_gap_seconds: 8 });
      const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
      await addContacts(t.db, client.id, campaign.id, 2);
      await enqueueCampaign(t.db, campaign.id, new Date(Date.now() - ago * 60_000), { messageIdDomain: 'cap.test' });
      accounts.push(account.id);
    }

    const configFile = path.join(tempDir, 'config.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({
        sending: { gapJitterPct: 0 },
        orchestrator: { maxWorkers: 2, reconcileIntervalMs: 600_000, heartbeatIntervalMs: 500, nodeLeaseMs: 60_000, workerStopTimeoutMs: 10_000, workerKeepAliveSeconds: 2, workerWakeLeadSeconds: 1 },
      }),
    );
    const config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-cap', LOG_LEVEL: 'warn' });
    let mostWaiting = 0;
    const events = { workersStarted: () => undefined, workerCrashed: () => undefined, workersWaitingForSlot: (count: number) => (mostWaiting = Math.max(mostWaiting, count)) };
    orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger: createLogger('error'), workerEnv: { CONFIG_FILE: configFile }, listen: true, events });
    expect(orchestrator.maxWorkers).toBe(2);

    // Every live worker process PM2 lists, sampled until every row is sent.
    let mostAtOnce = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const live = (await orchestrator!.supervisor.list().catch(() => [])).filter((p) => (p.status === 'online' || p.status === 'launching') && p.pid > 0 && isProcessAlive(p.pid));
        mostAtOnce = Math.max(mostAtOnce, live.length);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    await orchestrator.start();
    const sent = await waitFor(
      async () => {
        const rows = await t.db.selectFrom('email_queue').select(['claimed_by_account_id', 'sent_at', 'message_id']).where('status', '=', 'sent').orderBy('sent_at').execute();
        return rows.length === 8 ? rows : undefined;
      },
      'all 8 rows sent',
      180_000,
    );
    sampling = false;
    await sampler;

    expect(mostAtOnce).toBeGreaterThan(0);
    expect(mostAtOnce).toBeLessThanOrEqual(2);
    expect(mostWaiting).toBe(2);
    // The two accounts whose rows were due first sent first: the others had no worker until one exited.
    expect(new Set(sent.slice(0, 2).map((r) => r.claimed_by_account_id))).toEqual(new Set(accounts.slice(0, 2)));
    for (const accountId of accounts) expect(sent.filter((r) => r.claimed_by_account_id === accountId)).toHaveLength(2);
    expect(new Set(sent.map((r) => r.message_id)).size).toBe(8);
    for (const accountId of accounts) expect(await countRecentRestarts(t.db, accountId, 3_600_000)).toBe(0);
  });

  it('sizes "auto" from memory: about 190 workers on a 4 GB machine, at least 1, and null means no cap', () => {
    expect(resolveMaxWorkers('auto', 3.8 * 2 ** 30)).toBeGreaterThanOrEqual(150);
    expect(resolveMaxWorkers('auto', 3.8 * 2 ** 30)).toBeLessThanOrEqual(200);
    expect(resolveMaxWorkers('auto', 16 * 2 ** 30)).toBeGreaterThanOrEqual(1200);
    expect(resolveMaxWorkers('auto', 1 * 2 ** 30)).toBe(1);
    expect(resolveMaxWorkers(null)).toBeNull();
    expect(resolveMaxWorkers(7)).toBe(7);
  });
});
