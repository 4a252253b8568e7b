/**
 * A Postgres restart while the compiled worker has messages on the wire: the worker keeps the
 * results it gets while the database is away, writes them when it is back, and only then
 * claims again. Nothing becomes `unknown`, nothing is sent twice, and the process never exits.
 * The database is a cluster of this test's own (never the shared server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureDatabase, withDatabase } from '../../src/db/admin';
import { createDb, type Db } from '../../src/db/connection';
import { migrateToLatest } from '../../src/db/migrate';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/private-postgres';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { waitFor } from '../helpers/wait-for';
import { WORKER_ENTRY } from '../helpers/worker-process';
import { addContacts, createAccount, createCampaign, createClient, queueRows } from '../queue/fixtures';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';

jest.setTimeout(120_000);

const keyId = 'outage';
const key = crypto.randomBytes(32);
const cipher = createCredentialCipher([{ id: keyId, key }]);
const EMAILS = 30;

let pg: PrivatePostgres;
let db: Db;
let url: string;
let peer: SmtpPeer;
let tempDir: string;
let worker: ChildProcess | undefined;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  await ensureDatabase(pg.url, 'outreach');
  url = withDatabase(pg.url, 'outreach');
  db = createDb(url, { poolMax: 2, idleTimeoutMs: 500 });
  await migrateToLatest(db);
  peer = await startSmtpPeer();
  tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-outage-'));
  fs.writeFileSync(
    path.join(tempDir, 'config.json'),
    JSON.stringify({ sending: { claimBatchSize: 5, leaseMs: 60_000, globalPerMinute: 1_000_000, recipientDomainDailyLimit: 1_000_000, senderDomainDailyLimit: 1_000_000, idlePollMs: 500 } }),
  );
});

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    worker.kill('SIGKILL');
    await new Promise((r) => worker!.once('exit', r));
  }
  await db?.destroy();
  await peer?.close();
  await pg?.destroy();
  if (tempDir) fs.rmSync(tempDir, { recursive: true, force: true });
});

describe('a Postgres restart while messages are on the wire', () => {
  it('keeps the accepted results, writes them once the database is back, and goes on sending without a duplicate', async () => {
    const client = await createClient(db);
    const account = await createAccount(db, client.id, {
      transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
      credentials_encrypted: cipher.encrypt(JSON.stringify({ user: 'u', pass: 'p' })),
    });
    const campaign = await createCampaign(db, client.id, { senders: [account.id] });
    await addContacts(db, client.id, campaign.id, EMAILS);
    await enqueueCampaign(db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'outage.test' });

    // The fourth message is answered 2 s after it arrives: the database goes down meanwhile.
    let taken = 0;
    let onTheWire!: () => void;
    const fourthHandedOver = new Promise<void>((resolve) => (onTheWire = resolve));
    peer.script = async (context) => {
      if (context.stage !== 'data') return undefined;
      taken += 1;
      if (taken === 4) {
        onTheWire();
        await new Promise((r) => setTimeout(r, 2_000));
      }
      return undefined;
    };

    let output = '';
    worker = spawn(process.execPath, [WORKER_ENTRY, '--account', account.id], {
      env: {
        PATH: process.env.PATH ?? '',
        DATABASE_URL: url,
        CREDENTIALS_KEYS: `${keyId}:${key.toString('base64')}`,
        DATA_DIR: path.join(tempDir, 'data'),
        CONFIG_FILE: path.join(tempDir, 'config.json'),
        JWT_SECRET: 'outage-test-secret-outage-test-secret-01',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    worker.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    worker.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    await fourthHandedOver;
    await pg.stop('fast');
    // The answer comes while the database is down; it stays down a while longer.
    await new Promise((r) => setTimeout(r, 6_000));
    expect(worker.exitCode).toBeNull();
    await pg.start();

    await waitFor(async () => (await queueRows(db, campaign.id)).every((r) => r.status === 'sent'), 'every row sent', 60_000);
    expect(worker.exitCode).toBeNull();
    expect(output).toMatch(/database unavailable/);

    const rows = await queueRows(db, campaign.id);
    const outcomes = await db.selectFrom('send_logs').select(['outcome']).where('campaign_id', '=', campaign.id).execute();
    expect(outcomes.filter((o) => o.outcome !== 'accepted')).toEqual([]);
    expect(outcomes).toHaveLength(EMAILS);
    const received = peer.received.map((m) => /^Message-ID:\s*(\S+)/im.exec(m.raw)?.[1]);
    expect(new Set(received).size).toBe(received.length);
    expect(rows.every((r) => received.includes(r.message_id))).toBe(true);

    worker.kill('SIGTERM');
    expect(await new Promise((r) => worker!.once('exit', r))).toBe(0);
  });
});
