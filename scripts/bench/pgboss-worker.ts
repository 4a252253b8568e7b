/**
 * The baseline a user would build instead of this platform, for the pipeline comparison: one
 * pg-boss job per email, worker processes each running `boss.work(queue, {batchSize}, handler)`,
 * the handler rendering each message (subject and body templates with the contact's first name
 * and company) and sending the batch through nodemailer's pooled SMTP transport; pg-boss
 * completes the whole batch when the handler resolves. No limits, no warm-up, no send log,
 * no uncertain-send handling: that is the point of the comparison.
 *
 * The message itself is the one our workers send for the same step, as a user who must meet
 * the same bulk-sender rules would build it: a text and an HTML part (the HTML made from the
 * text), a footer with the postal address and a visible unsubscribe link, an open-tracking
 * pixel, List-Unsubscribe (one-click) and Feedback-ID headers, the tracking URLs signed with an
 * HMAC. Why: the comparison is of the pipelines; a baseline that sends a smaller, simpler
 * message would also be measuring a cheaper message (composing it, and the sink parsing it).
 *
 * Run as `node dist/scripts/bench/pgboss-worker.js` with an IPC channel; it waits for its
 * settings (one message, so the database URL never appears on a command line), starts, and
 * stops gracefully on SIGTERM (jobs in flight finish).
 */
import crypto from 'node:crypto';
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
  postalAddress: string;
  /** Feedback-ID, as our workers set it (campaign:client:account:sender). */
  feedbackId: string;
  trackingSecret: string;
  trackingBaseUrl: string;
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

const escapeHtml = (value: string): string =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

/** Text and HTML parts with the footer every bulk message carries, as our message builder makes them. */
export function messageParts(settings: PgBossWorkerSettings, jobId: string, fields: Record<string, string | null>) {
  const sign = (payload: string) => `${payload}.${crypto.createHmac('sha256', settings.trackingSecret).update(payload).digest('base64url').slice(0, 22)}`;
  const unsubscribeUrl = `${settings.trackingBaseUrl}/u/${sign(`u${jobId}`)}`;
  const openUrl = `${settings.trackingBaseUrl}/t/o/${sign(`o${jobId}`)}.gif`;
  const body = render(settings.body, fields).trim();
  const postal = settings.postalAddress;
  const html =
    `<div>${escapeHtml(body).replace(/\r?\n/g, '<br>\n')}</div>` +
    `<div style="margin-top:24px;font-size:12px;color:#777">${escapeHtml(postal)}<br><a href="${escapeHtml(unsubscribeUrl)}">Unsubscribe</a></div>` +
    `<img src="${escapeHtml(openUrl)}" width="1" height="1" alt="" style="display:none">`;
  const text = `${body}\n\n--\n${postal}\nUnsubscribe: ${unsubscribeUrl}\n`;
  return { text, html, unsubscribeUrl };
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
        const { text, html, unsubscribeUrl } = messageParts(settings, job.id, fields);
        return transport.sendMail({
          from: settings.from,
          to: job.data.to,
          subject: render(settings.subject, fields),
          text,
          html,
          messageId: `<${job.id}@bench.test>`,
          headers: { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click', 'Feedback-ID': settings.feedbackId },
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
