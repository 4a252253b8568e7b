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
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import { BENCH_POSTAL_ADDRESS, seedBenchCampaign } from './bench-seed';
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

/**
 * BENCH_WORKER_NODE_ARGS: extra node arguments for every worker process of both systems, to see
 * where each one's CPU goes (`--cpu-prof --cpu-prof-dir=DIR`, or `--perf-basic-prof` under
 * `perf record`). Empty by default: any V8 flag costs our workers their code cache.
 */
function workerNodeArgs(): string[] {
  return (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

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
      ({ accountIds, campaignId } = await seedBenchCampaign(db, {
        label: `r${round}`,
        mailboxes: shape.processes,
        sinkPort: shape.sinkPort,
        maxConnections: shape.connectionsPerProcess,
        cipher,
        subject: SUBJECT,
        body: BODY,
        contacts: { first: round * 1_000_000 + 1, count: shape.emails },
      }));
    },
    start() {
      return accountIds.map((accountId) =>
        spawn(process.execPath, [...workerNodeArgs(), path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
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
        from: 'Bench 0 <sender0@bench.test>',
        subject: SUBJECT,
        body: BODY,
        postalAddress: BENCH_POSTAL_ADDRESS,
        feedbackId: `${crypto.randomUUID()}:${crypto.randomUUID()}:${crypto.randomUUID()}:outreach`,
        trackingSecret: crypto.randomBytes(32).toString('hex'),
        trackingBaseUrl: 'http://localhost:3000',
      };
      return Array.from({ length: shape.processes }, () => {
        const child = spawn(process.execPath, [...workerNodeArgs(), path.join(PROJECT_ROOT, 'dist/scripts/bench/pgboss-worker.js')], { env: {}, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
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
