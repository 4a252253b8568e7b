/**
 * bounce_pause_sends_after: ten mailboxes send steadily (compiled workers, dist/workers/
 * send-worker.js); one of them sends through a real Postfix (test/peers/postfix-peer) whose
 * remote MX refuses every fifth recipient with 550 5.1.1 after Postfix accepted the message,
 * so 20 % of its mail comes back as Postfix's DSNs into its Dovecot mailbox, read by the real
 * IMAP reader (InboundPoller into ingestion, as src/server.ts wires it). The figure: how many
 * mails that mailbox sends after the DSN that crosses its bounce threshold (health.*, at
 * defaults: over 5 % of at least 20 sends) has arrived in its inbox. Goal ≤ 3.
 *
 * Time is scaled down 30× so a run takes about two minutes rather than an hour: the mailboxes'
 * gap between sends is 3 s instead of sending.minGapSeconds' 90 s (jitter as configured), and
 * the reader polls the sending mailbox every 2 s instead of inbound.activePollIntervalSeconds'
 * 60 s (idle ones 10 s instead of 300 s): the figure depends on their ratio, which stays the
 * default one. Hourly/daily limits are lifted (the default
 * hourly 20 would stop a mailbox before the 20 sends the bounce rate needs); everything else is
 * config/default.json. Also printed: how long the reader took to ingest the crossing DSN after
 * it arrived, and how many mails went after the pause was recorded (what the workers' own
 * check adds).
 *
 * Needs root, Postfix and Dovecot (scripts/test-prerequisites.sh) and a build that includes
 * the test peers (`npm run build` compiles them as this file's imports).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { inboundDeliveryTarget } from '../../src/inbound/readers/delivery-target';
import { InboundPoller } from '../../src/inbound/readers/inbound-poller';
import { createLogger } from '../../src/logger';
import { WORKER_RUNTIME_ENV } from '../../src/orchestrator/worker-runtime';
import { loadOrCreateGeneratedSecrets } from '../../src/secrets';
import { startSmtpPeer } from '../../test/helpers/smtp-peer';
import { startImapPeer } from '../../test/peers/imap-peer';
import { startPostfixPeer } from '../../test/peers/postfix-peer';
import { stopProcesses } from './bench-children';
import { seedBenchCampaign } from './bench-seed';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';
import { startSink } from './smtp-sink';

export const name = 'bounce-pause';

const MAILBOXES = 10;
const RUNS = 3;
const CONTACTS = 3_000;
/** Time scaled down 30×: 90 s → 3 s between a mailbox's sends, 300 s → 10 s between polls. */
const TIME_SCALE = 30;
/** Every BOUNCE_EVERY-th recipient at the remote MX does not exist: 20 %. */
const BOUNCE_EVERY = 5;
/** How long sending continues after the pause, to see whether anything else goes out. */
const AFTER_PAUSE_MS = 10_000;
const RUN_LIMIT_MS = 300_000;
const KEY_ID = 'bench';

interface RunResult {
  sendsAfterArrival: number;
  sendsAfterPause: number;
  readerLatencyMs: number;
  crossedBy: string;
}

/** The maildir file holding the message with this Message-ID, and when Postfix put it there. */
function arrivalOf(maildir: string, messageId: string): number {
  for (const sub of ['new', 'cur']) {
    const dir = path.join(maildir, sub);
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir)) {
      const full = path.join(dir, file);
      if (fs.readFileSync(full, 'utf8').includes(messageId)) return fs.statSync(full).mtimeMs;
    }
  }
  throw new Error(`bounce-pause: the crossing DSN ${messageId} is not in the maildir`);
}

async function sentCountAfter(db: Db, accountId: string, after: Date): Promise<number> {
  const row = await db
    .selectFrom('email_queue')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('claimed_by_account_id', '=', accountId)
    .where('status', '=', 'sent')
    .where('sent_at', '>', after)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function oneRun(context: BenchContext, runNumber: number): Promise<RunResult> {
  const config = loadConfig({});
  const key = crypto.randomBytes(32);
  const cipher = createCredentialCipher([{ id: KEY_ID, key }]);
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-bounce-pause-'));
  const configFile = path.join(tempDir, 'config.json');
  // idlePollMs: no orchestrator nudges a worker here, so an idle one looks for work every second.
  fs.writeFileSync(configFile, JSON.stringify({ sending: { idlePollMs: 1000 } }));
  loadOrCreateGeneratedSecrets(path.join(tempDir, 'data'));
  const gapSeconds = Math.round(config.sending.minGapSeconds / TIME_SCALE);
  const pollIntervalSeconds = Math.max(1, Math.round(config.inbound.pollIntervalSeconds / TIME_SCALE));
  // A sending mailbox's inbox is read every activePollIntervalSeconds: the one that matters here.
  const activePollIntervalSeconds = Math.max(1, Math.round(config.inbound.activePollIntervalSeconds / TIME_SCALE));

  const sink = await startSink({ replyDelayMs: 5 });
  let atMx = 0;
  const mx = await startSmtpPeer({ script: ({ stage, rcpt }) => (stage === 'rcpt' && ++atMx % BOUNCE_EVERY === 0 ? { code: 550, message: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown` } : undefined) });
  const imap = await startImapPeer({ user: `bouncer@bounce-${runNumber}.test`, pass: 'bench-mailbox' });
  const postfix = await startPostfixPeer({ relayTo: { host: mx.host, port: mx.port }, mailboxes: { [imap.user]: imap.maildir }, saslDovecotSocket: imap.authSocket });
  const workers: ChildProcess[] = [];
  let reader: InboundPoller | undefined;
  try {
    return await withBenchDatabase(async ({ db, url }) => {
      const { accountIds } = await seedBenchCampaign(db, { label: `bounce${runNumber}`, mailboxes: MAILBOXES, sinkPort: sink.port, cipher, subject: 'Hello {{first_name|there}}', body: 'Hi {{first_name|there}},\n\nA short note.', contacts: { first: 1, count: CONTACTS } });
      const bouncer = accountIds[0]!;
      await db.updateTable('sender_accounts').set({ min_gap_seconds: gapSeconds }).execute();
      await db
        .updateTable('sender_accounts')
        .set({
          email: imap.user,
          transport_settings: JSON.stringify({ host: postfix.host, port: postfix.port, secure: false, requireTLS: false, imap: { host: imap.host, port: imap.port, secure: false } }),
          credentials_encrypted: cipher.encrypt(JSON.stringify({ user: imap.user, pass: imap.pass })),
        })
        .where('id', '=', bouncer)
        .execute();

      reader = new InboundPoller({ db, nodeId: 'bench', settings: { ...config.inbound, pollIntervalSeconds, activePollIntervalSeconds }, cipher, deliver: inboundDeliveryTarget(db, config), logger: createLogger('warn') });
      reader.start();
      for (const accountId of accountIds) {
        workers.push(
          spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/send-worker.js'), '--account', accountId], {
            env: { ...WORKER_RUNTIME_ENV, DATABASE_URL: url, CREDENTIALS_KEYS: `${KEY_ID}:${key.toString('base64')}`, DATA_DIR: path.join(tempDir, 'data'), CONFIG_FILE: configFile, JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0', LOG_LEVEL: 'warn' },
            stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
          }),
        );
      }

      const deadline = Date.now() + RUN_LIMIT_MS;
      for (;;) {
        const account = await db.selectFrom('sender_accounts').select(['status', 'pause_reason']).where('id', '=', bouncer).executeTakeFirstOrThrow();
        if (account.status === 'paused') {
          if (account.pause_reason !== 'bounce_rate') throw new Error(`bounce-pause: the mailbox paused for ${account.pause_reason}, not its bounce rate`);
          break;
        }
        if (Date.now() > deadline) throw new Error('bounce-pause: the bouncing mailbox never paused');
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, AFTER_PAUSE_MS));
      await stopProcesses(workers);
      // Before the database goes (withBenchDatabase destroys it when this callback returns).
      await reader.stop();

      // The threshold is crossed by a DSN (it makes the rate go over, with enough sends made) or
      // by a send (it fills the window, the DSNs having come before): whichever came last.
      const paused = await db.selectFrom('audit_log').select('created_at').where('entity_id', '=', bouncer).where('action', '=', 'account.auto_paused').orderBy('created_at').executeTakeFirstOrThrow();
      const dsns = await db.selectFrom('inbound_messages').select(['message_id', 'created_at', 'effects']).where('account_id', '=', bouncer).where('kind', '=', 'bounce').orderBy('created_at').execute();
      const crossing =
        dsns.find((m) => (m.effects as Array<{ type: string; reason?: string }>).some((e) => e.type === 'account_paused' && e.reason === 'bounce_rate')) ?? dsns.filter((m) => m.created_at <= paused.created_at).at(-1);
      if (!crossing?.message_id) throw new Error('bounce-pause: no DSN was read before the pause');
      const arrivedAt = arrivalOf(imap.maildir, crossing.message_id);
      const windowSend = await db
        .selectFrom('email_queue')
        .select('sent_at')
        .where('claimed_by_account_id', '=', bouncer)
        .where('status', '=', 'sent')
        .orderBy('sent_at')
        .offset(config.health.bounceWindowSends - 1)
        .limit(1)
        .executeTakeFirstOrThrow();
      const crossedBy = windowSend.sent_at!.getTime() > arrivedAt ? 'a send' : 'a DSN';
      const crossedAt = Math.max(arrivedAt, windowSend.sent_at!.getTime());
      const attempts = await db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('claimed_by_account_id', '=', bouncer).where('status', '=', 'sent').executeTakeFirstOrThrow();
      const result: RunResult = {
        sendsAfterArrival: await sentCountAfter(db, bouncer, new Date(crossedAt)),
        sendsAfterPause: await sentCountAfter(db, bouncer, paused.created_at),
        readerLatencyMs: Math.round(crossing.created_at.getTime() - arrivedAt),
        crossedBy,
      };
      context.log(
        `run ${runNumber}: the mailbox sent ${attempts.n} (the MX refused ${Math.floor(atMx / BOUNCE_EVERY)} of ${atMx}); the threshold was crossed by ${result.crossedBy}; the last DSN before the pause was ingested ${result.readerLatencyMs} ms after it arrived; ${result.sendsAfterArrival} sent after the crossing, ${result.sendsAfterPause} after the pause`,
      );
      return result;
    });
  } finally {
    await stopProcesses(workers);
    await reader?.stop();
    await postfix.stop();
    await imap.stop();
    await mx.close();
    await sink.close();
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const config = loadConfig({});
  context.log(
    `${MAILBOXES} mailboxes, one with ${100 / BOUNCE_EVERY} % hard bounces by Postfix DSN; time scaled ${TIME_SCALE}×: ${Math.round(config.sending.minGapSeconds / TIME_SCALE)} s between sends, IMAP poll of a sending mailbox every ${Math.max(1, Math.round(config.inbound.activePollIntervalSeconds / TIME_SCALE))} s; threshold over ${config.health.bounceRateThresholdPct} % of ≥ ${config.health.bounceWindowSends} sends`,
  );
  const results: RunResult[] = [];
  for (let i = 1; i <= (context.rounds ?? RUNS); i++) results.push(await oneRun(context, i));
  return {
    bounce_pause_sends_after: Math.max(...results.map((r) => r.sendsAfterArrival)),
    bounce_pause_sends_after_mean: Number((results.reduce((sum, r) => sum + r.sendsAfterArrival, 0) / results.length).toFixed(2)),
    bounce_pause_sends_after_pause: Math.max(...results.map((r) => r.sendsAfterPause)),
  };
}
