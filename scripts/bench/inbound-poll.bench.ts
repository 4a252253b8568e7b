/**
 * inbound_poll_cpu_pct / inbound_poll_rss_mb: the server's inbox reading (the same
 * InboundPoller, default inbound.* settings: 8 polls at a time) over N IMAP mailboxes
 * (--workers N, default 1,200) on a private Dovecot with N users in a passwd-file.
 *
 * A first cycle reads every mailbox once (cursors set, Maildirs created: not measured). Then
 * a cycle with no new mail, and a cycle after one new message was delivered into each inbox
 * (Maildir files, as a delivery agent writes them). Every mailbox is made due at once, so a
 * cycle runs back to back; its CPU is this process's (process.cpuUsage: the reader, and the
 * classifier run on every message handed on, standing for ingestion, whose storage is not
 * counted), reported at the 5-minute cadence: cycle CPU seconds / 300 s, in % of one core.
 * RSS is this process's peak during the cycles (sampled every 50 ms): everything that reads.
 * Dovecot's and Postgres's CPU are the servers', not counted.
 */
import crypto from 'node:crypto';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import type { Db } from '../../src/db/connection';
import { classifyInbound } from '../../src/inbound/classify-inbound';
import { addReadableMailboxes } from '../../src/inbound/readers/inbound-mailbox.repository';
import { InboundPoller } from '../../src/inbound/readers/inbound-poller';
import { createLogger } from '../../src/logger';
import { withBenchDatabase } from './bench-database';
import { startDovecotFleet } from './dovecot-fleet';
import type { BenchContext } from './registry';

export const name = 'inbound-poll';

const CADENCE_S = 300;

function message(user: string, n: number): string {
  return [
    `From: Lee Lead <lee-${n}@example.org>`,
    `To: ${user}`,
    `Message-ID: <reply-${n}.${crypto.randomBytes(4).toString('hex')}@example.org>`,
    `In-Reply-To: <m-${n}@outreach.invalid>`,
    `References: <m-${n}@outreach.invalid>`,
    'Subject: Re: Quick question',
    `Date: ${new Date().toUTCString()}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Thanks, not right now. Maybe next quarter.',
    '',
    '> Hello Lee, would you have ten minutes this week?',
    '',
  ].join('\r\n');
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const count = context.workers ?? 1200;
  const config = loadConfig();
  const fleet = await startDovecotFleet(count);
  try {
    return await withBenchDatabase(async ({ db }) => {
      const cipher = createCredentialCipher([{ id: 'bench', key: crypto.randomBytes(32) }]);
      const client = await db.insertInto('clients').values({ name: 'bench-inbound', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
      for (let i = 0; i < fleet.users.length; i += 500) {
        await db
          .insertInto('sender_accounts')
          .values(
            fleet.users.slice(i, i + 500).map((u) => ({
              client_id: client.id,
              email: u.user,
              transport: 'smtp' as const,
              transport_settings: JSON.stringify({ host: '127.0.0.1', port: 2525, imap: { host: fleet.host, port: fleet.port, secure: false } }),
              credentials_encrypted: cipher.encrypt(JSON.stringify({ user: u.user, pass: u.pass })),
            })),
          )
          .execute();
      }
      let handedOn = 0;
      const poller = new InboundPoller({
        db,
        nodeId: 'bench',
        settings: config.inbound,
        cipher,
        logger: createLogger('warn'),
        deliver: async (m) => {
          handedOn += 1;
          return { id: m.sourceKey, duplicate: false, kind: classifyInbound(m.raw).kind };
        },
      });

      const cycle = async (label: string) => {
        await sql`update inbound_mailboxes set next_poll_at = now() - interval '1 second'`.execute(db);
        const before = handedOn;
        let peakRss = process.memoryUsage().rss;
        const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
        const cpu = process.cpuUsage();
        const started = process.hrtime.bigint();
        await poller.drain();
        const wallS = Number(process.hrtime.bigint() - started) / 1e9;
        const used = process.cpuUsage(cpu);
        clearInterval(sampler);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
        const cpuS = (used.user + used.system) / 1e6;
        const failed = await failedMailboxes(db);
        context.log(
          `${label}: ${count} mailboxes in ${wallS.toFixed(1)} s wall, ${cpuS.toFixed(2)} s CPU (${((cpuS / count) * 1000).toFixed(2)} ms a mailbox), ${handedOn - before} messages handed on, ${failed} failed, peak RSS ${(peakRss / 1048576).toFixed(0)} MB`,
        );
        return { cpuPct: (cpuS / CADENCE_S) * 100, rssMb: peakRss / 1048576 };
      };

      await addReadableMailboxes(db, config.inbound.pollIntervalSeconds * 1000, 3_600_000);
      await cycle('first read');
      const idle = await cycle('no new mail');
      fleet.users.forEach((u, i) => fleet.deliver(u.user, message(u.user, i)));
      const withMail = await cycle('one new message each');
      await poller.stop();
      return {
        inbound_poll_cpu_pct: round(idle.cpuPct),
        inbound_poll_cpu_pct_new_mail: round(withMail.cpuPct),
        inbound_poll_rss_mb: Math.round(Math.max(idle.rssMb, withMail.rssMb)),
      };
    }, 12);
  } finally {
    await fleet.stop();
  }
}

const round = (value: number) => Math.round(value * 100) / 100;

async function failedMailboxes(db: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from inbound_mailboxes where last_error is not null`.execute(db);
  return rows[0]?.n ?? 0;
}
