/**
 * The orchestrator starts no more workers while `orchestrator.maxStartingWorkers` of them are
 * still starting (not yet through their first claim). Real PM2 (own PM2_HOME), the compiled
 * worker (`npm run build` first), real Postgres and an SMTP peer.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addContacts, createAccount, createCampaign, createClient } from '../queue/fixtures';
import { waitFor } from '../helpers/wait-for';

jest.setTimeout(120_000);

let tempDir: string;
let peer: SmtpPeer;
let orchestrator: Orchestrator | undefined;
afterAll(async () => {
  await orchestrator?.stop({ killDaemon: true });
  await peer?.close();
  fs.rmSync(tempDir, { recursive: true, force: true });
});
const t = useTestDatabase();

beforeAll(async () => {
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-starting-'));
  peer = await startSmtpPeer();
});

it('starts the next worker only once the one starting has made its first claim', async () => {
  const configFile = path.join(tempDir, 'config.json');
  // One worker per batch, three batches at once, but one worker starting at a time.
  fs.writeFileSync(configFile, JSON.stringify({ orchestrator: { reconcileIntervalMs: 600_000, startBatchSize: 1, startConcurrency: 3, maxStartingWorkers: 1, workerLogs: 'none' } }));
  const config = loadConfig({ DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'node-starting', LOG_LEVEL: 'warn' });

  const client = await createClient(t.db);
  const accountIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const account = await createAccount(t.db, client.id, { transport: 'sink', transport_settings: JSON.stringify({ host: peer.host, port: peer.port }) });
    const campaign = await createCampaign(t.db, client.id, { senders: [account.id] });
    await addContacts(t.db, client.id, campaign.id, 1);
    await enqueueCampaign(t.db, campaign.id, new Date(), { messageIdDomain: 'starting.test' });
    accountIds.push(account.id);
  }

  orchestrator = new Orchestrator({ db: t.db, connectionString: t.url, config, logger: createLogger('error'), workerEnv: { CONFIG_FILE: configFile }, listen: false });
  await orchestrator.start();
  const workers = await waitFor(async () => {
    const online = (await orchestrator!.supervisor.list()).filter((p) => accountIds.includes(p.accountId) && p.status === 'online');
    return online.length === 3 && online;
  }, 'three workers online');

  const firstClaimMs = new Map<string, number>();
  for (const accountId of accountIds) {
    const row = await waitFor(
      () => t.db.selectFrom('email_queue').select(['claimed_at']).where('claimed_by_account_id', '=', accountId).where('claimed_at', 'is not', null).executeTakeFirst(),
      'a claim by each worker',
    );
    firstClaimMs.set(accountId, new Date(row.claimed_at as Date).getTime());
  }
  const byStart = [...workers].sort((a, b) => a.startedAtMs - b.startedAtMs);
  for (let i = 1; i < byStart.length; i++) {
    const previous = byStart[i - 1]!;
    expect(byStart[i]!.startedAtMs).toBeGreaterThanOrEqual(firstClaimMs.get(previous.accountId)!);
  }
});
