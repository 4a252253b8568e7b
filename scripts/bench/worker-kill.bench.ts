/**
 * uncertain_rows_per_worker_kill: how many rows end `unknown` (outcome uncertain, to be looked
 * up in the sender's Sent mail or held for an operator, invariant 2) each time a worker
 * process dies by SIGKILL in the middle of a steady send. Goal ≤ 1: a row is `sending` only
 * while it is in the transport's hands, so a kill can catch at most the message on the wire of
 * each SMTP connection.
 *
 * Compiled workers (dist/workers/send-worker.js) at the per-mailbox settings of
 * config/default.json (claim batch sending.claimBatchSize, one SMTP connection per mailbox,
 * lease sending.leaseMs), limits lifted so they send continuously, to a sink that answers
 * 250 after a few ms. KILLS times: wait a random moment, SIGKILL a random worker that has been
 * sending for a while, wait until its Postgres backend is gone, count its rows left `sending`
 * (and `claimed`, which go straight back to the queue), settle them with the sweeper limited
 * to that account (its leases treated as expired; `sending` → `unknown` → `held`, since a
 * plain SMTP sink cannot be searched) and start the worker again. At the end every row must be
 * sent, held or still queued: none `claimed`, `sending` or `unknown`, none sent twice.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { WORKER_RUNTIME_ENV } from '../../src/orchestrator/worker-runtime';
import { sweepExpiredLeases } from '../../src/queue/sweeper';
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import { stopProcesses } from './bench-children';
import { seedBenchCampaign } from './bench-seed';
import { withBenchDatabase } from './bench-database';
import { PgActivity } from './pg-activity';
import type { BenchContext } from './registry';
import { startSink } from './smtp-sink';

export const name = 'worker-kill';

const WORKERS = 4;
const KILLS = 20;
const EMAILS = 20_000;
/** The sink's answer to DATA comes this long after the message's end, as a real server's would. */
const SINK_REPLY_MS = 5;
/** A victim has been sending at least this long since it (re)started: a steady send, not a start. */
const MIN_SENDING_MS = 1_000;
/** Random pause before each kill. */
const PAUSE_MS = { min: 200, max: 1_200 };
const KEY_ID = 'bench';

interface Worker {
  accountId: string;
  child: ChildProcess;
  sendingSince?: number;
}

async function seed(db: Db, sinkPort: number, cipher: ReturnType<typeof createCredentialCipher>): Promise<string[]> {
  const subject = 'Hello {{first_name|there}}';
  const body = 'Hi {{first_name|there}},\n\nA short note about {{company|your company}}.';
  return (await seedBenchCampaign(db, { label: 'kill', mailboxes: WORKERS, sinkPort, cipher, subject, body, contacts: { first: 1, count: EMAILS } })).accountIds;
}

async function leftBy(db: Db, accountId: string): Promise<{ sending: string[]; claimed: number }> {
  const rows = await db.selectFrom('email_queue').select(['status', 'message_id']).where('claimed_by_account_id', '=', accountId).where('status', 'in', ['claimed', 'sending']).execute();
  return { sending: rows.filter((r) => r.status === 'sending').map((r) => r.message_id), claimed: rows.filter((r) => r.status === 'claimed').length };
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const defaults = loadConfig({}).sending;
  const key = crypto.randomBytes(32);
  const cipher = createCredentialCipher([{ id: KEY_ID, key }]);
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-kill-'));
  const configFile = path.join(tempDir, 'config.json');
  // Only the limits are lifted (and the idle poll shortened: no orchestrator nudges here).
  fs.writeFileSync(configFile, JSON.stringify({ sending: { globalPerMinute: 100_000_000, recipientDomainDailyLimit: 100_000_000, senderDomainDailyLimit: 100_000_000, idlePollMs: 200 } }));
  loadOrCreateGeneratedSecrets(path.join(tempDir, 'data'));
  const sink = await startSink({ replyDelayMs: SINK_REPLY_MS, keepMessageIds: true });
  const workers: Worker[] = [];
  try {
    return await withBenchDatabase(async ({ db, url, name: dbName, adminUrl }) => {
      const activity = await PgActivity.connect(adminUrl);
      try {
        const accountIds = await seed(db, sink.port, cipher);
        const startWorker = (accountId: string): Worker => {
          const child = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
            env: { ...WORKER_RUNTIME_ENV, DATABASE_URL: url, CREDENTIALS_KEYS: `${KEY_ID}:${key.toString('base64')}`, DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0', LOG_LEVEL: 'warn' },
            stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          });
          const worker: Worker = { accountId, child };
          // The worker reports its state to its parent, as it does to the orchestrator.
          child.on('message', (message: { type?: string; state?: string }) => {
            if (message.type === 'status') worker.sendingSince = message.state === 'sending' ? (worker.sendingSince ?? Date.now()) : undefined;
          });
          return worker;
        };
        context.log(`${EMAILS} emails, ${WORKERS} workers, claim batch ${defaults.claimBatchSize}, 1 SMTP connection each, sink answers after ${SINK_REPLY_MS} ms; ${KILLS} kills`);
        for (const accountId of accountIds) workers.push(startWorker(accountId));

        let uncertain = 0;
        let uncertainDelivered = 0;
        let kills = 0;
        const deadline = Date.now() + 300_000;
        while (kills < KILLS) {
          if (Date.now() > deadline) throw new Error(`worker-kill: only ${kills} kills in 5 minutes (workers not sending?)`);
          await new Promise((r) => setTimeout(r, PAUSE_MS.min + Math.random() * (PAUSE_MS.max - PAUSE_MS.min)));
          const steady = workers.filter((w) => w.sendingSince !== undefined && Date.now() - w.sendingSince >= MIN_SENDING_MS);
          const victim = steady[Math.floor(Math.random() * steady.length)];
          if (!victim) continue;
          const queued = await db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'queued').executeTakeFirstOrThrow();
          if (Number(queued.n) < 500) throw new Error(`worker-kill: the queue ran dry after ${kills} kills; raise EMAILS`);

          const appName = `send-worker:${victim.accountId.slice(0, 8)}`;
          const exited = new Promise((r) => victim.child.once('exit', r));
          victim.child.kill('SIGKILL');
          await exited;
          // Its backend ends its transaction (rolled back unless already committing) when it sees the socket close.
          await activity.waitForBackendsGone(dbName, (b) => b.application_name !== appName);
          const left = await leftBy(db, victim.accountId);
          const delivered = left.sending.filter((id) => sink.messageIds().has(id)).length;
          const report = await sweepExpiredLeases(db, new Date(Date.now() + defaults.leaseMs + 1_000), { unknownPolicy: 'hold', transportFor: async () => undefined, accountId: victim.accountId });
          if (report.held !== left.sending.length) throw new Error(`worker-kill: ${left.sending.length} rows left sending, but the sweeper held ${report.held}`);
          kills += 1;
          uncertain += left.sending.length;
          uncertainDelivered += delivered;
          context.log(`kill ${kills}: ${left.sending.length} rows left sending (${delivered} of them had reached the sink), ${left.claimed} claimed (back to the queue)`);
          workers[workers.indexOf(victim)] = startWorker(victim.accountId);
        }

        await stopProcesses(workers.map((w) => w.child));
        const byStatus = await db.selectFrom('email_queue').select((eb) => ['status', eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
        const counts = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
        const stray = (counts.claimed ?? 0) + (counts.sending ?? 0) + (counts.unknown ?? 0);
        const duplicates = sink.received() - sink.messageIds().size;
        context.log(`end: ${counts.sent ?? 0} sent, ${counts.held ?? 0} held, ${counts.queued ?? 0} still queued; sink ${sink.received()} messages, ${duplicates} sent twice`);
        if (stray > 0) throw new Error(`worker-kill: ${stray} rows left claimed, sending or unknown after the workers stopped`);
        if (duplicates > 0) throw new Error(`worker-kill: ${duplicates} messages reached the sink twice`);
        return {
          worker_kills: kills,
          uncertain_rows: uncertain,
          uncertain_rows_delivered: uncertainDelivered,
          uncertain_rows_per_worker_kill: Number((uncertain / kills).toFixed(2)),
        };
      } finally {
        await stopProcesses(workers.map((w) => w.child));
        await activity.close();
      }
    });
  } finally {
    await sink.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
