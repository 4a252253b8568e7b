/**
 * The two systems the pipeline comparison runs side by side, behind one shape: `prepare` puts
 * a round's emails in its queue (not timed), `start` starts its worker processes, `settled`
 * says when its own bookkeeping has caught up with what the sink received.
 *
 *  - ours: sender accounts, a running campaign of one step, its contacts, rows enqueued by
 *    enqueueCampaign; compiled send workers (dist/workers/send-worker.js --account <id>), as
 *    the orchestrator starts them, limits lifted;
 *  - pg-boss + nodemailer: one job per email inserted in bulk, scripts/bench/pgboss-worker.ts.
 *
 * Both send the same personalised message (subject and body templates with the contact's
 * first name and company) to the same sink, with the same processes, SMTP connections per
 * process and batch size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import PgBoss from 'pg-boss';
import { PROJECT_ROOT } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { WORKER_RUNTIME_ENV } from '../../src/orchestrator/worker-runtime';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import type { EmailJob, PgBossWorkerSettings } from './pgboss-worker';

export interface PipelineShape {
  emails: number;
  processes: number;
  connectionsPerProcess: number;
  batchSize: number;
  sinkPort: number;
}

export interface BenchSystem {
  label: string;
  /** application_name of its worker processes' Postgres connections. */
  isOwnBackend(applicationName: string): boolean;
  prepare(round: number): Promise<void>;
  start(): ChildProcess[];
  /** Queries the database once (the bench counts it: it is a transaction of its own). */
  settled(): Promise<boolean>;
  close(): Promise<void>;
}

export const SUBJECT = 'Hello {{first_name|there}}';
export const BODY = 'Hi {{first_name|there}},\n\nA short note about {{company|your company}}.\n\nBest,\nBench';

/** pg-boss polls every 0.5 s at most, and waits out the rest of that interval after a batch. */
const PGBOSS_POLLING_INTERVAL_S = 0.5;
const PGBOSS_QUEUE = 'bench-email';
const JWT_SECRET = 'bench-secret-bench-secret-bench-secret-0';

function contactRow(round: number, i: number) {
  const g = round * 1_000_000 + i;
  return { email: `c${g}@r${g % 50}.test`, domain: `r${g % 50}.test`, firstName: `Name${g}`, company: `Company ${g}` };
}

export function ourPipeline(db: Db, url: string, shape: PipelineShape, tempDir: string): BenchSystem {
  const keyId = 'bench';
  const key = crypto.randomBytes(32);
  const cipher = createCredentialCipher([{ id: keyId, key }]);
  const configFile = path.join(tempDir, 'config.json');
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      sending: { claimBatchSize: shape.batchSize, globalPerMinute: 100_000_000, recipientDomainDailyLimit: 100_000_000, senderDomainDailyLimit: 100_000_000, idlePollMs: 200 },
    }),
  );
  // Created once here: workers starting together would otherwise race to create it.
  loadOrCreateGeneratedSecrets(path.join(tempDir, 'data'));
  let accountIds: string[] = [];
  let campaignId = '';

  return {
    label: 'ours',
    isOwnBackend: (name) => name.startsWith('send-worker:'),
    async prepare(round) {
      const client = await db.insertInto('clients').values({ name: `bench-${round}-${Date.now()}`, postal_address: '1 Bench Road', settings: '{}' }).returning('id').executeTakeFirstOrThrow();
      accountIds = [];
      for (let i = 0; i < shape.processes; i++) {
        const row = await db
          .insertInto('sender_accounts')
          .values({
            client_id: client.id,
            email: `sender${i}@bench${round}-${i}.test`,
            display_name: `Bench ${i}`,
            transport: 'smtp',
            transport_settings: JSON.stringify({ host: '127.0.0.1', port: shape.sinkPort, maxConnections: shape.connectionsPerProcess }),
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
        .values({ client_id: client.id, name: `bench ${round}`, status: 'running', send_days: [1, 2, 3, 4, 5, 6, 7], window_start_minute: 0, window_end_minute: 1440 })
        .returning('id')
        .executeTakeFirstOrThrow();
      campaignId = campaign.id;
      await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: SUBJECT, body_text: BODY, body_html: '', delay_minutes: 0 }).execute();
      await db.insertInto('campaign_senders').values(accountIds.map((id) => ({ campaign_id: campaign.id, account_id: id }))).execute();
      const base = round * 1_000_000;
      await sql`
        insert into contacts (client_id, email, email_domain, first_name, company)
        select ${client.id}, 'c' || g || '@r' || (g % 50) || '.test', 'r' || (g % 50) || '.test', 'Name' || g, 'Company ' || g
        from generate_series(${base + 1}::int, ${base + shape.emails}::int) g
      `.execute(db);
      await sql`insert into campaign_contacts (campaign_id, contact_id) select ${campaign.id}, id from contacts where client_id = ${client.id}`.execute(db);
      await enqueueCampaign(db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'bench.test' });
      await sql`vacuum analyze email_queue`.execute(db);
    },
    start() {
      return accountIds.map((accountId) =>
        spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
          env: {
            ...WORKER_RUNTIME_ENV,
            DATABASE_URL: url,
            CREDENTIALS_KEYS: `${keyId}:${key.toString('base64')}`,
            DATA_DIR: path.join(tempDir, 'data'),
            CONFIG_FILE: configFile,
            JWT_SECRET,
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        }),
      );
    },
    async settled() {
      const row = await sql<{ n: number }>`select count(*)::int as n from email_queue where campaign_id = ${campaignId} and status = 'sent'`.execute(db);
      return (row.rows[0]?.n ?? 0) >= shape.emails;
    },
    close: async () => undefined,
  };
}

export async function pgBossPipeline(db: Db, url: string, shape: PipelineShape, workersPerProcess: number): Promise<BenchSystem> {
  // The bench's own instance creates the schema and the queue, and inserts the jobs.
  const boss = new PgBoss({ connectionString: url, application_name: 'bench-harness', supervise: false, schedule: false, max: 2 });
  boss.on('error', (error: Error) => process.stderr.write(`pg-boss (bench): ${error.message}\n`));
  await boss.start();
  await boss.createQueue(PGBOSS_QUEUE);

  return {
    label: 'pg-boss',
    isOwnBackend: (name) => name === 'bench-pgboss-worker',
    async prepare(round) {
      const jobs: PgBoss.JobInsert<EmailJob>[] = [];
      for (let i = 1; i <= shape.emails; i++) {
        const contact = contactRow(round, i);
        jobs.push({ name: PGBOSS_QUEUE, data: { to: contact.email, firstName: contact.firstName, company: contact.company } });
      }
      // In bulk, as a user would insert a campaign's worth of jobs: 1,000 per statement. Through
      // the bench's own connection, whose statistics are reported before the round's commits
      // are counted (pg-boss's pool would report them during the round).
      const viaBench = { executeSql: async (text: string, values: unknown[]) => ({ rows: (await db.executeQuery(CompiledQuery.raw(text, values))).rows as unknown[] }) };
      for (let i = 0; i < jobs.length; i += 1_000) await boss.insert(jobs.slice(i, i + 1_000), { db: viaBench });
      await sql`vacuum analyze pgboss.job`.execute(db);
    },
    start() {
      const settings: PgBossWorkerSettings = {
        type: 'start',
        databaseUrl: url,
        queue: PGBOSS_QUEUE,
        batchSize: shape.batchSize,
        workersPerProcess,
        pollingIntervalSeconds: PGBOSS_POLLING_INTERVAL_S,
        smtpPort: shape.sinkPort,
        smtpConnections: shape.connectionsPerProcess,
        from: 'Bench <sender@bench.test>',
        subject: SUBJECT,
        body: BODY,
      };
      return Array.from({ length: shape.processes }, () => {
        const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/scripts/bench/pgboss-worker.js')], { env: {}, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
        child.send(settings);
        return child;
      });
    },
    async settled() {
      const row = await sql<{ n: number }>`select count(*)::int as n from pgboss.job where name = ${PGBOSS_QUEUE} and state in ('created', 'retry', 'active')`.execute(db);
      return (row.rows[0]?.n ?? 1) === 0;
    },
    close: () => boss.stop({ graceful: false, close: true, wait: true }),
  };
}
