/**
 * The baseline a user would build instead of this platform, for the pipeline comparison: one
 * pg-boss job per email, worker processes each running `boss.work(queue, {batchSize}, handler)`,
 * the handler rendering each message (subject and body templates with the contact's first name
 * and company) and sending the batch through nodemailer's pooled SMTP transport; pg-boss
 * completes the whole batch when the handler resolves. No limits, no warm-up, no send log,
 * no uncertain-send handling: that is the point of the comparison.
 *
 * Run as `node dist/scripts/bench/pgboss-worker.js` with an IPC channel; it waits for its
 * settings (one message, so the database URL never appears on a command line), starts, and
 * stops gracefully on SIGTERM (jobs in flight finish).
 */
import nodemailer from 'nodemailer';
import PgBoss from 'pg-boss';

export interface PgBossWorkerSettings {
  type: 'start';
  databaseUrl: string;
  queue: string;
  batchSize: number;
  /** boss.work() subscriptions in this process (pg-boss's way to fetch while a batch sends). */
  workersPerProcess: number;
  /** Polling interval of each subscription, in seconds (pg-boss's minimum is 0.5). */
  pollingIntervalSeconds: number;
  smtpPort: number;
  smtpConnections: number;
  from: string;
  subject: string;
  body: string;
}

export interface EmailJob {
  to: string;
  firstName: string | null;
  company: string | null;
}

/** `{{first_name|fallback}}` placeholders, as a user would write them for a handful of fields. */
export function render(template: string, fields: Record<string, string | null>): string {
  return template.replace(/\{\{\s*(\w+)\s*(?:\|([^}]*))?\}\}/g, (_match, key: string, fallback: string | undefined) => fields[key] || fallback || '');
}

async function start(settings: PgBossWorkerSettings): Promise<void> {
  const boss = new PgBoss({
    connectionString: settings.databaseUrl,
    application_name: 'bench-pgboss-worker',
    // The bench created the schema and the queue; maintenance and cron belong to one process,
    // not to every worker.
    migrate: false,
    supervise: false,
    schedule: false,
  });
  boss.on('error', (error: Error) => process.stderr.write(`pgboss-worker: ${error.message}\n`));
  await boss.start();
  const transport = nodemailer.createTransport({
    pool: true,
    host: '127.0.0.1',
    port: settings.smtpPort,
    secure: false,
    auth: { user: 'bench', pass: 'bench' },
    maxConnections: settings.smtpConnections,
    maxMessages: 100,
  });

  const handler = async (jobs: PgBoss.Job<EmailJob>[]) => {
    await Promise.all(
      jobs.map((job) => {
        const fields = { first_name: job.data.firstName, company: job.data.company };
        return transport.sendMail({
          from: settings.from,
          to: job.data.to,
          subject: render(settings.subject, fields),
          text: `${render(settings.body, fields)}\n\nUnsubscribe: https://bench.test/u/${job.id}`,
          messageId: `<${job.id}@bench.test>`,
          headers: { 'List-Unsubscribe': `<https://bench.test/u/${job.id}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
        });
      }),
    );
  };
  for (let i = 0; i < settings.workersPerProcess; i++) {
    await boss.work<EmailJob>(settings.queue, { batchSize: settings.batchSize, pollingIntervalSeconds: settings.pollingIntervalSeconds }, handler);
  }

  process.once('SIGTERM', () => {
    void (async () => {
      await boss.stop({ graceful: true, wait: true, timeout: 10_000 }).catch(() => undefined);
      transport.close();
      process.exit(0);
    })();
  });
  process.send?.({ type: 'started' });
}

process.once('message', (message: PgBossWorkerSettings) => {
  start(message).catch((error: unknown) => {
    process.stderr.write(`pgboss-worker: ${(error as Error).message}\n`);
    process.exit(1);
  });
});
