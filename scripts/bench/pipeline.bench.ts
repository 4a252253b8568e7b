/**
 * pipeline_emails_per_s: emails claimed (FOR UPDATE SKIP LOCKED + every limit reserved), built,
 * sent over SMTP by the real SMTP transport to a local smtp-server sink, and recorded (sent,
 * send_logs, follow-up check, health), by compiled worker processes, one per account, with
 * limits lifted. Measured in the steady state: rows whose sent_at falls between the 5th and
 * 95th percentile, over that span, so process start-up is not counted.
 *
 * --workers N sets the number of accounts / worker processes (default 4).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { SMTPServer } from 'smtp-server';
import { PROJECT_ROOT } from '../../src/config';
import { WORKER_RUNTIME_ENV } from '../../src/orchestrator/worker-runtime';
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'pipeline';

const EMAILS = 20_000;
const BATCH = 100;
const CONNECTIONS_PER_WORKER = 4;

async function startSink(): Promise<{ port: number; received: () => number; close(): Promise<void> }> {
  let received = 0;
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    onAuth: (auth, _session, callback) => callback(null, { user: auth.username }),
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received += 1;
        callback(null);
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { port, received: () => received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

async function seed(db: Db, accounts: number, sinkPort: number, cipher: ReturnType<typeof createCredentialCipher>): Promise<{ accountIds: string[]; campaignId: string }> {
  const client = await db.insertInto('clients').values({ name: `bench-${Date.now()}`, postal_address: '1 Bench Road', settings: '{}' }).returning('id').executeTakeFirstOrThrow();
  const accountIds: string[] = [];
  for (let i = 0; i < accounts; i++) {
    const row = await db
      .insertInto('sender_accounts')
      .values({
        client_id: client.id,
        email: `sender${i}@bench${i}.test`,
        display_name: `Bench ${i}`,
        transport: 'smtp',
        transport_settings: JSON.stringify({ host: '127.0.0.1', port: sinkPort, maxConnections: CONNECTIONS_PER_WORKER }),
        credentials_encrypted: cipher.encrypt(JSON.stringify({ user: 'bench', pass: 'bench' })),
        daily_limit: 1_000_000,
        hourly_limit: 1_000_000,
        min_gap_seconds: 0,
        warmup_enabled: false,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    accountIds.push(row.id);
  }
  const campaign = await db
    .insertInto('campaigns')
    .values({ client_id: client.id, name: 'bench', status: 'running', send_days: [1, 2, 3, 4, 5, 6, 7], window_start_minute: 0, window_end_minute: 1440 })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db
    .insertInto('sequence_steps')
    .values({ campaign_id: campaign.id, step_number: 1, subject: 'Hello {{first_name|there}}', body_text: 'Hi {{first_name|there}},\n\nA short note about {{company|your company}}.\n\nBest,\nBench', body_html: '', delay_minutes: 0 })
    .execute();
  await db.insertInto('campaign_senders').values(accountIds.map((id) => ({ campaign_id: campaign.id, account_id: id }))).execute();
  await sql`
    insert into contacts (client_id, email, email_domain, first_name, company)
    select ${client.id}, 'c' || g || '@r' || (g % 50) || '.test', 'r' || (g % 50) || '.test', 'Name' || g, 'Company ' || g
    from generate_series(1, ${EMAILS}) g
  `.execute(db);
  await sql`insert into campaign_contacts (campaign_id, contact_id) select ${campaign.id}, id from contacts where client_id = ${client.id}`.execute(db);
  await enqueueCampaign(db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'bench.test' });
  await sql`vacuum analyze email_queue`.execute(db);
  return { accountIds, campaignId: campaign.id };
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const workers = context.workers ?? 4;
  const keyId = 'bench';
  const key = crypto.randomBytes(32);
  const cipher = createCredentialCipher([{ id: keyId, key }]);
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-pipeline-'));
  fs.writeFileSync(
    path.join(tempDir, 'config.json'),
    JSON.stringify({
      sending: { claimBatchSize: BATCH, globalPerMinute: 100_000_000, recipientDomainDailyLimit: 100_000_000, senderDomainDailyLimit: 100_000_000, idlePollMs: 200 },
    }),
  );
  // Created once here: workers starting together would otherwise race to create it.
  loadOrCreateGeneratedSecrets(path.join(tempDir, 'data'));
  const sink = await startSink();
  const children: ChildProcess[] = [];
  const stopChildren = async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  };
  try {
    return await withBenchDatabase(async ({ db, url }) => {
      try {
        const { accountIds, campaignId } = await seed(db, workers, sink.port, cipher);
        context.log(`${EMAILS} emails queued for ${workers} worker processes (batch ${BATCH}, ${CONNECTIONS_PER_WORKER} SMTP connections each)`);
        const started = Date.now();
        for (const accountId of accountIds) {
          const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
            env: {
              ...WORKER_RUNTIME_ENV,
              DATABASE_URL: url,
              CREDENTIALS_KEYS: `${keyId}:${key.toString('base64')}`,
              DATA_DIR: path.join(tempDir, 'data'),
              CONFIG_FILE: path.join(tempDir, 'config.json'),
              JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0',
              LOG_LEVEL: 'warn',
            },
            stdio: ['ignore', 'ignore', 'inherit'],
          });
          children.push(child);
        }
        for (;;) {
          await new Promise((r) => setTimeout(r, 250));
          const row = await sql<{ n: number }>`select count(*)::int as n from email_queue where campaign_id = ${campaignId} and status = 'sent'`.execute(db);
          const sent = row.rows[0]?.n ?? 0;
          if (sent >= EMAILS) break;
          if (children.every((c) => c.exitCode !== null)) throw new Error(`pipeline: every worker exited; ${sent} of ${EMAILS} sent`);
          if (Date.now() - started > 600_000) throw new Error(`pipeline: only ${sent} of ${EMAILS} sent after 10 minutes`);
        }
        const wall = (Date.now() - started) / 1000;
        const times = await sql<{ t: number }>`
          select extract(epoch from sent_at) * 1000 as t from email_queue where campaign_id = ${campaignId} and status = 'sent' order by sent_at
        `.execute(db);
        const ms = times.rows.map((r) => Number(r.t));
        const lo = Math.floor(ms.length * 0.05);
        const hi = Math.floor(ms.length * 0.95);
        const spanS = ((ms[hi] ?? 0) - (ms[lo] ?? 0)) / 1000;
        const steady = spanS > 0 ? (hi - lo) / spanS : 0;
        const duplicates = sink.received() - EMAILS;
        context.log(`all ${EMAILS} sent in ${wall.toFixed(1)} s wall (including process start); sink received ${sink.received()} (${duplicates} extra)`);
        return { pipeline_emails_per_s: Math.round(steady) };
      } finally {
        await stopChildren();
      }
    }, 4);
  } finally {
    await stopChildren();
    await sink.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
