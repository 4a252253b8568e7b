/**
 * Fleet benchmark: N sender accounts (sink transport to a local SMTP sink), each with queued
 * work, one orchestrator on this machine with its own PM2 daemon. Measures:
 *   fleet_workers_running      workers online once the fleet is up
 *   fleet_spawn_s              orchestrator start → all N online
 *   fleet_total_pss_gb         PSS of all workers + the PM2 daemon (smaps_rollup), once idle
 *   fleet_pg_connections_peak  peak backends in pg_stat_activity while they send
 *   fleet_idle_cpu_pct         CPU of workers + daemon over 30 s (one heartbeat interval) with no
 *                              work left, % of one core, after 60 s to settle (V8's memory
 *                              reducer runs a few GCs in each process once it goes idle)
 * `npm run bench -- --only fleet --workers 100`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { Orchestrator } from '../../src/orchestrator/orchestrator';
import { readCpuTicks, readPssBytes } from '../../src/orchestrator/proc-stats';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { startSinkServer } from '../../src/transports/sink-server';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'fleet';
const EMAILS_PER_ACCOUNT = 2;
const IDLE_WINDOW_MS = 30_000;
const SETTLE_MS = 60_000;
const CLOCK_TICKS_PER_S = 100;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const workers = context.workers ?? 1200;
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-fleet-'));
  try {
    return await withBenchDatabase(async ({ db, url }) => {
      const sink = await startSinkServer(db, { port: 0, retainMessages: 1_000_000, pruneEvery: 1_000_000 });
      const configFile = path.join(tempDir, 'config.json');
      fs.writeFileSync(
        configFile,
        JSON.stringify({
          // Long reconcile interval: workers that ran out of work stay up for the idle figure.
          orchestrator: { reconcileIntervalMs: 3_600_000, workerLogs: 'none', heartbeatStaleMs: 3_600_000 },
          // Limits shared by all accounts lifted: 2,400 emails to two recipient domains would
          // otherwise stop at recipientDomainDailyLimit (500 per domain) long before the end.
          sending: { recipientDomainDailyLimit: 100_000_000, senderDomainDailyLimit: 100_000_000, globalPerMinute: 100_000_000 },
        }),
      );
      const config = loadConfig({ ...process.env, DATA_DIR: path.join(tempDir, 'data'), PM2_HOME: path.join(tempDir, 'pm2'), NODE_ID: 'bench', CONFIG_FILE: configFile, LOG_LEVEL: 'warn' });
      const logger = createLogger('warn');

      context.log(`seeding ${workers} accounts × ${EMAILS_PER_ACCOUNT} emails`);
      const client = await db.insertInto('clients').values({ name: 'fleet', postal_address: '1 Main St' }).returning('id').executeTakeFirstOrThrow();
      const accounts = await db
        .insertInto('sender_accounts')
        .values(
          Array.from({ length: workers }, (_, i) => ({
            client_id: client.id,
            email: `fleet${i}@fleet.test`,
            transport: 'sink' as const,
            transport_settings: JSON.stringify({ host: sink.host, port: sink.port }),
            daily_limit: 1000,
            hourly_limit: 1000,
            min_gap_seconds: 0,
            warmup_enabled: false,
          })),
        )
        .returning('id')
        .execute();
      for (const [i, account] of accounts.entries()) {
        const campaign = await db
          .insertInto('campaigns')
          .values({ client_id: client.id, name: `c${i}`, status: 'running', send_days: [0, 1, 2, 3, 4, 5, 6, 7], window_start_minute: 0, window_end_minute: 1440 })
          .returning('id')
          .executeTakeFirstOrThrow();
        await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: 'Hi', body_text: 'Hello {{first_name|there}}' }).execute();
        await db.insertInto('campaign_senders').values({ campaign_id: campaign.id, account_id: account.id }).execute();
        const contacts = await db
          .insertInto('contacts')
          .values(Array.from({ length: EMAILS_PER_ACCOUNT }, (_, j) => ({ client_id: client.id, email: `r${i}-${j}@rcpt${j}.test`, email_domain: `rcpt${j}.test` })))
          .returning('id')
          .execute();
        await db.insertInto('campaign_contacts').values(contacts.map((c) => ({ campaign_id: campaign.id, contact_id: c.id }))).execute();
        await enqueueCampaign(db, campaign.id, new Date(), { messageIdDomain: 'fleet.test' });
      }
      const total = workers * EMAILS_PER_ACCOUNT;

      let peakConnections = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const row = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend'`.execute(db);
          peakConnections = Math.max(peakConnections, row.rows[0]?.n ?? 0);
          await sleep(200);
        }
      })();

      const orchestrator = new Orchestrator({ db, connectionString: url, config, logger, listen: false });
      const startedAt = Date.now();
      let spawnS: number;
      let online = 0;
      try {
        await orchestrator.start();
        const deadline = startedAt + 900_000;
        let lastStartedAtMs = startedAt;
        while (Date.now() < deadline) {
          const running = (await orchestrator.supervisor.list()).filter((p) => p.status === 'online' && p.pid > 0);
          online = running.length;
          lastStartedAtMs = Math.max(startedAt, ...running.map((p) => p.startedAtMs));
          if (online >= workers) break;
          // Seldom: listing 1,200 processes is work for the daemon that is starting them and
          // for this process, taken from the fleet it measures. When the last worker started
          // comes from PM2's own record (pm_uptime), not from when this loop noticed.
          await sleep(5000);
        }
        spawnS = (lastStartedAtMs - startedAt) / 1000;
        context.log(`${online}/${workers} workers online after ${spawnS.toFixed(1)} s`);

        const sendDeadline = Date.now() + 600_000;
        let sent = 0;
        while (Date.now() < sendDeadline) {
          const row = await db.selectFrom('email_queue').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow();
          sent = Number(row.n);
          if (sent >= total) break;
          await sleep(500);
        }
        context.log(`${sent}/${total} emails sent after ${((Date.now() - startedAt) / 1000).toFixed(1)} s; peak connections ${peakConnections}`);

        const procs = (await orchestrator.supervisor.list()).filter((p) => p.status === 'online' && p.pid > 0);
        online = procs.length;
        const daemonPid = orchestrator.supervisor.getDaemonPid();
        const workerPids = procs.map((p) => p.pid);
        const pids = [...workerPids, ...(daemonPid ? [daemonPid] : [])];
        const workerCpuS = workerPids.reduce((sum, pid) => sum + (readCpuTicks(pid) ?? 0), 0) / CLOCK_TICKS_PER_S;
        context.log(`CPU per worker from start to its last send: ${((workerCpuS / Math.max(1, workerPids.length)) * 1000).toFixed(0)} ms (mean)`);

        // Settle: V8's memory reducer runs a few GCs in each worker once it is idle (the first
        // 8 s after its last full GC); idle CPU and memory are measured in the steady state.
        await sleep(SETTLE_MS);
        const before = pids.map((pid) => readCpuTicks(pid) ?? 0);
        await sleep(IDLE_WINDOW_MS);
        const after = pids.map((pid) => readCpuTicks(pid) ?? 0);
        const ticks = after.reduce((sum, v, i) => sum + Math.max(0, v - (before[i] ?? 0)), 0);
        const idleCpuPct = (ticks / CLOCK_TICKS_PER_S / (IDLE_WINDOW_MS / 1000)) * 100;
        const daemonTicks = daemonPid ? (after.at(-1) ?? 0) - (before.at(-1) ?? 0) : 0;
        context.log(`idle CPU: ${idleCpuPct.toFixed(1)} % of a core, of which the PM2 daemon ${((daemonTicks / CLOCK_TICKS_PER_S / (IDLE_WINDOW_MS / 1000)) * 100).toFixed(1)} %`);
        const pssBytes = pids.reduce((sum, pid) => sum + (readPssBytes(pid) ?? 0), 0);
        const daemonPss = daemonPid ? (readPssBytes(daemonPid) ?? 0) : 0;
        context.log(`PSS: ${(pssBytes / 2 ** 30).toFixed(2)} GB, ${((pssBytes - daemonPss) / Math.max(1, workerPids.length) / 2 ** 20).toFixed(1)} MB per worker, PM2 daemon ${(daemonPss / 2 ** 20).toFixed(0)} MB`);

        return {
          fleet_workers_running: online,
          fleet_spawn_s: Math.round(spawnS * 10) / 10,
          fleet_total_pss_gb: Math.round((pssBytes / 2 ** 30) * 1000) / 1000,
          fleet_pg_connections_peak: peakConnections,
          fleet_idle_cpu_pct: Math.round(idleCpuPct * 10) / 10,
        };
      } finally {
        sampling = false;
        await sampler.catch(() => undefined);
        await orchestrator.stop({ killDaemon: true });
        await sink.close();
      }
    }, 5);
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
