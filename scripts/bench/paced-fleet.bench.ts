/**
 * Paced fleet benchmark (issue 18): the compiled server (dist/src/main.js) as a real process,
 * with its own PM2 daemon and on-demand workers, driving N sink mailboxes (1,200 by default)
 * at the seed's pacing: a minimum gap of 600 s ± sending.gapJitterPct (30 %), 50 a day and
 * 10 an hour, one running campaign whose window covers the run, enough contacts queued that
 * every mailbox always has a row due. Workers exit after their send when the next one is
 * further away than orchestrator.workerKeepAliveSeconds, and the server starts them again
 * workerWakeLeadSeconds before it. Everything else is the product's default configuration.
 *
 *   paced_fleet_peak_rss_gb      peak of the summed RSS of server + PM2 daemon + workers + the
 *                                bench database's Postgres backends, sampled every 0.5 s
 *   paced_fleet_cpu_pct          CPU of that same set over the second half of the run (the
 *                                first half holds the start-up wave: every mailbox's first
 *                                send), % of one core
 *   paced_fleet_quota_use_pct    sends made ÷ sends the limits allowed (paced-fleet-pacing.ts)
 *   paced_fleet_limit_violations gaps shorter than min_gap × (1 − jitter), claims before their
 *                                due, sends over the daily or hourly limit
 *   paced_fleet_late_{p50,p99,max}_s  how late a send went out past its due time
 * How the CPU and memory are counted: paced-fleet-usage.ts. The SMTP sink runs in the bench's
 * own process (not counted); its database writes use the harness's connections.
 *
 * `npm run bench -- --only paced-fleet`; PACED_FLEET_MINUTES (default 20) and
 * PACED_FLEET_ACCOUNTS (default --workers, else 1,200) shorten it for a trial, and
 * PACED_FLEET_GAP_SECONDS (default 600) lets a short trial see more than one send per mailbox.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { loadConfig, PROJECT_ROOT } from '../../src/config';
import type { Db } from '../../src/db/connection';
import { workerName } from '../../src/orchestrator/pm2-supervisor';
import { readEnvironVariable } from '../../src/orchestrator/proc-stats';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { startSinkServer } from '../../src/transports/sink-server';
import { withBenchDatabase } from './bench-database';
import { stopProcesses } from './bench-children';
import { judgePacing, quantile, type AccountPacing } from './paced-fleet-pacing';
import { FleetUsage, type UsageSample } from './paced-fleet-usage';
import { PgActivity } from './pg-activity';
import type { BenchContext } from './registry';

export const name = 'paced-fleet';

/** The seed's pacing; PACED_FLEET_GAP_SECONDS shortens it for a trial (keep it above the keep-alive, 120 s). */
const DEFAULT_GAP_S = 600;
const DAILY_LIMIT = 50;
const SAMPLE_MS = 500;
/** PSS every 10th sample (5 s): smaps_rollup walks each process's page tables. */
const PSS_EVERY = 10;
/** After the window: sends due inside it may still go out (and count as made, however late). */
const GRACE_MS = 60_000;
const GB = 2 ** 30;

/** 10 an hour at the seed's pacing: what a 600 s gap − 30 % allows at most (3600 / 420 → 9), so never the binding limit. */
const hourlyLimit = (gapS: number) => Math.max(10, Math.ceil(3600 / (gapS * 0.7)) + 1);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function positiveEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!(value > 0)) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return value;
}

/** A sending window of 8 hours that covers the run (UTC), or the whole day when that would wrap past midnight. */
function windowCovering(startMs: number, minutes: number): { start: number; end: number } {
  const d = new Date(startMs);
  const start = d.getUTCHours() * 60 + d.getUTCMinutes() - 30;
  const end = start + Math.max(480, minutes + 90);
  return start >= 0 && end <= 1440 ? { start, end } : { start: 0, end: 1440 };
}

async function seed(db: Db, gapS: number, accounts: number, contactsPerAccount: number, sink: { host: string; port: number }, window: { start: number; end: number }): Promise<void> {
  const client = await db.insertInto('clients').values({ name: 'paced fleet', postal_address: '1 Bench Road', settings: '{}' }).returning('id').executeTakeFirstOrThrow();
  const ids: string[] = [];
  for (let from = 0; from < accounts; from += 500) {
    const rows = await db
      .insertInto('sender_accounts')
      .values(
        Array.from({ length: Math.min(500, accounts - from) }, (_, j) => ({
          client_id: client.id,
          email: `paced${from + j}@paced-${from + j}.test`,
          transport: 'sink' as const,
          transport_settings: JSON.stringify({ host: sink.host, port: sink.port }),
          daily_limit: DAILY_LIMIT,
          hourly_limit: hourlyLimit(gapS),
          min_gap_seconds: gapS,
          warmup_enabled: false,
          time_zone: 'UTC',
        })),
      )
      .returning('id')
      .execute();
    ids.push(...rows.map((r) => r.id));
  }
  const campaign = await db
    .insertInto('campaigns')
    .values({ client_id: client.id, name: 'paced fleet', status: 'running', send_days: [1, 2, 3, 4, 5, 6, 7], window_start_minute: window.start, window_end_minute: window.end, time_zone: 'UTC' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: 'Hello {{first_name|there}}', body_text: 'Hi {{first_name|there}}, a short note from the paced fleet.', body_html: '', delay_minutes: 0 }).execute();
  await db.insertInto('campaign_senders').values(ids.map((id) => ({ campaign_id: campaign.id, account_id: id }))).execute();
  // 50 recipient domains: the product's 500-a-day recipient-domain limit never binds.
  await sql`
    insert into contacts (client_id, email, email_domain, first_name, company)
    select ${client.id}, 'c' || g || '@r' || (g % 50) || '.test', 'r' || (g % 50) || '.test', 'Name' || g, 'Company ' || g
    from generate_series(1, ${accounts * contactsPerAccount}::int) g
  `.execute(db);
  await sql`insert into campaign_contacts (campaign_id, contact_id) select ${campaign.id}, id from contacts where client_id = ${client.id}`.execute(db);
  await enqueueCampaign(db, campaign.id, new Date(Date.now() - 60_000), { messageIdDomain: 'paced.test' });
  await sql`vacuum analyze email_queue`.execute(db);
}

/** Every next_send_at an account takes, kept for the gap each claim drew (the column is overwritten). */
async function logNextSendAt(db: Db): Promise<void> {
  await sql`create table bench_next_send_log (account_id uuid not null, next_send_at timestamptz, logged_at timestamptz not null default clock_timestamp())`.execute(db);
  await sql`
    create function bench_log_next_send() returns trigger language plpgsql as $$
    begin
      insert into bench_next_send_log (account_id, next_send_at) values (new.id, new.next_send_at);
      return new;
    end $$
  `.execute(db);
  await sql`
    create trigger bench_log_next_send after update of next_send_at on sender_accounts
    for each row when (new.next_send_at is distinct from old.next_send_at) execute function bench_log_next_send()
  `.execute(db);
}

async function loadPacing(db: Db): Promise<AccountPacing[]> {
  const accounts = await db.selectFrom('sender_accounts').select(['id', 'min_gap_seconds', 'daily_limit', 'hourly_limit']).execute();
  const claims = await db
    .selectFrom('email_queue')
    .select(['claimed_by_account_id', 'claimed_at', 'sent_at', 'status'])
    .where('claimed_at', 'is not', null)
    .execute();
  const log = await sql<{ account_id: string; next_send_at: Date; logged_at: Date }>`select account_id, next_send_at, logged_at from bench_next_send_log where next_send_at is not null`.execute(db);
  const byId = new Map<string, AccountPacing>(accounts.map((a) => [a.id, { minGapS: a.min_gap_seconds, dailyLimit: a.daily_limit, hourlyLimit: a.hourly_limit, claims: [], gapLog: [] }]));
  for (const c of claims) {
    byId.get(c.claimed_by_account_id ?? '')?.claims.push({ claimedAtMs: (c.claimed_at as Date).getTime(), sentAtMs: c.status === 'sent' && c.sent_at ? c.sent_at.getTime() : undefined });
  }
  for (const l of log.rows) byId.get(l.account_id)?.gapLog.push({ loggedAtMs: l.logged_at.getTime(), nextSendAtMs: l.next_send_at.getTime() });
  return [...byId.values()];
}

function spread(values: number[]): string {
  return `min ${quantile(values, 0)} / median ${quantile(values, 0.5)} / max ${quantile(values, 1)}`;
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const accounts = Math.round(positiveEnv('PACED_FLEET_ACCOUNTS') ?? context.workers ?? 1200);
  const minutes = positiveEnv('PACED_FLEET_MINUTES') ?? 20;
  const gapS = Math.round(positiveEnv('PACED_FLEET_GAP_SECONDS') ?? DEFAULT_GAP_S);
  const runMs = minutes * 60_000;
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'outreach-paced-'));
  const pm2Home = path.join(tempDir, 'pm2');
  const defaults = loadConfig({ DATA_DIR: path.join(tempDir, 'defaults') });
  const jitterPct = defaults.sending.gapJitterPct;
  try {
    return await withBenchDatabase(async ({ db, url, name: datname, adminUrl }) => {
      const sink = await startSinkServer(db, { port: 0, retainMessages: 10_000_000, pruneEvery: 10_000_000 });
      // Sends an account can make in the run, plus slack: every mailbox always has a row due.
      const contactsPerAccount = Math.ceil(runMs / (gapS * 1000 * (1 - jitterPct / 100))) + 3;
      const window = windowCovering(Date.now(), minutes);
      context.log(`seeding ${accounts} accounts (gap ${gapS} s ± ${jitterPct} %, ${DAILY_LIMIT}/day, ${hourlyLimit(gapS)}/h, window ${window.start}–${window.end} min UTC), ${contactsPerAccount} contacts each`);
      await seed(db, gapS, accounts, contactsPerAccount, sink, window);
      await logNextSendAt(db);

      const configFile = path.join(tempDir, 'config.json');
      // The product's defaults, but no dev sink in the server: the bench's own receives the mail.
      fs.writeFileSync(configFile, JSON.stringify({ sink: { enabled: false } }));
      const pg = await PgActivity.connect(adminUrl);
      const sessionsBefore = (await pg.databaseStats(datname)).sessions;
      const serverLog: string[] = [];
      const server = spawn(process.execPath, [path.join(PROJECT_ROOT, 'dist', 'src', 'main.js')], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: url,
          PORT: '0',
          HOST: '127.0.0.1',
          NODE_ID: 'paced-bench',
          DATA_DIR: path.join(tempDir, 'data'),
          PM2_HOME: pm2Home,
          CONFIG_FILE: configFile,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const startMs = Date.now();
      for (const stream of [server.stdout, server.stderr]) stream.on('data', (chunk: Buffer) => serverLog.push(...chunk.toString().split('\n').filter(Boolean)));
      const usage = new FleetUsage(server.pid as number, pm2Home, pg, datname);
      const steadyFromMs = startMs + runMs / 2;
      const endMs = startMs + runMs;
      const loads: number[] = [];
      let peak: UsageSample | undefined;
      let peakPss: UsageSample | undefined;
      const statements = new Map<string, number>();
      const total = (s: UsageSample) => s.rssBytes.server + s.rssBytes.pm2 + s.rssBytes.workers + s.rssBytes.postgres;
      try {
        let nextReportMs = startMs + 60_000;
        let marked = false;
        while (Date.now() < endMs) {
          if (server.exitCode !== null) throw new Error(`server exited (${server.exitCode}): ${serverLog.slice(-5).join(' | ')}`);
          const sample = await usage.sample(usage.samples.length % PSS_EVERY === 0);
          // A sampling profile of the database: which statements are running, for whom.
          if (sample.atMs >= steadyFromMs) {
            for (const s of await pg.activeStatements(datname)) {
              if (s.application_name === 'bench-harness') continue;
              const key = `${s.application_name.replace(/:.*$/, '')}: ${s.query}`;
              statements.set(key, (statements.get(key) ?? 0) + 1);
            }
          }
          if (!peak || total(sample) > total(peak)) peak = sample;
          if (sample.pssBytes !== undefined && (!peakPss || sample.pssBytes > (peakPss.pssBytes ?? 0))) peakPss = sample;
          if (!marked && sample.atMs >= steadyFromMs) {
            usage.mark('steady');
            marked = true;
          }
          if (sample.atMs >= nextReportMs) {
            nextReportMs += 60_000;
            loads.push(os.loadavg()[0] ?? 0);
            const sent = await db.selectFrom('email_queue').select((eb) => eb.fn.countAll<string>().as('n')).where('status', '=', 'sent').executeTakeFirstOrThrow();
            context.log(`${Math.round((sample.atMs - startMs) / 60_000)} min: ${sent.n} sent, ${sample.workers} workers, ${sample.backends} backends, RSS ${(total(sample) / GB).toFixed(2)} GB, load ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
          }
          await sleep(Math.max(0, SAMPLE_MS - (Date.now() - sample.atMs)));
        }
        usage.mark('end');
        const sessions = (await pg.databaseStats(datname)).sessions - sessionsBefore;
        // Sends due inside the window may still be on their way.
        await sleep(GRACE_MS);

        const cpu = usage.cpuBetween('steady', 'end');
        const windowS = (usage.samples.at(-1)?.atMs ?? endMs) - (usage.samples.find((s) => s.atMs >= steadyFromMs)?.atMs ?? steadyFromMs);
        const windowSteadyS = windowS / 1000;
        const cpuTotalS = cpu.server + cpu.pm2AndWorkers + cpu.postgres;
        const cpuPct = (cpuTotalS / windowSteadyS) * 100;

        const pacing = judgePacing(await loadPacing(db), startMs, endMs, jitterPct);
        const sentInSteady = await db
          .selectFrom('email_queue')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('status', '=', 'sent')
          .where('sent_at', '>=', new Date(steadyFromMs))
          .where('sent_at', '<', new Date(endMs))
          .executeTakeFirstOrThrow();
        const statuses = await db.selectFrom('email_queue').select(['status', (eb) => eb.fn.countAll<string>().as('n')]).groupBy('status').execute();

        const steadySamples = usage.samples.filter((s) => s.atMs >= steadyFromMs);
        const perMinute = new Map<number, number>();
        for (const seenMs of usage.workerFirstSeen.values()) perMinute.set(Math.floor((seenMs - startMs) / 60_000), (perMinute.get(Math.floor((seenMs - startMs) / 60_000)) ?? 0) + 1);
        const startsSteady = [...usage.workerFirstSeen.values()].filter((t) => t >= steadyFromMs && t < endMs).length;

        context.log(`window: ${round(windowSteadyS / 60, 1)} min from minute ${minutes / 2} to ${minutes}; ${sentInSteady.n} sent in it (${round(Number(sentInSteady.n) / windowSteadyS, 2)}/s, steady state would be ${round(accounts / gapS, 2)}/s)`);
        context.log(`CPU in it: server ${round(cpu.server, 1)} s, PM2 daemon + workers ${round(cpu.pm2AndWorkers, 1)} s (daemon itself ${round(cpu.pm2Own, 1)} s), Postgres backends ${round(cpu.postgres, 1)} s (${[...cpu.postgresByApp].map(([app, cpuS]) => `${app} ${round(cpuS, 1)} s`).join(', ')}); ${round((cpuTotalS * 1000) / Math.max(1, Number(sentInSteady.n)), 0)} ms per send`);
        const steadyCount = usage.samples.filter((x) => x.atMs >= steadyFromMs).length;
        for (const [statement, n] of [...statements].sort((a, b) => b[1] - a[1]).slice(0, 8)) context.log(`active in ${round((n / Math.max(1, steadyCount)) * 100, 1)} % of samples: ${statement}`);
        context.log(`Postgres sessions opened in the run: ${sessions}; backends the samples saw: ${usage.backendsSeenBetween('steady', 'end')} in the window`);
        if (peak) {
          const mb = (b: number) => Math.round(b / 2 ** 20);
          context.log(`peak RSS at minute ${round((peak.atMs - startMs) / 60_000, 1)}: server ${mb(peak.rssBytes.server)} MB, PM2 daemon ${mb(peak.rssBytes.pm2)} MB, ${peak.workers} workers ${mb(peak.rssBytes.workers)} MB, ${peak.backends} backends ${mb(peak.rssBytes.postgres)} MB`);
        }
        if (peakPss) context.log(`peak PSS (every ${(SAMPLE_MS * PSS_EVERY) / 1000} s) at minute ${round((peakPss.atMs - startMs) / 60_000, 1)}: ${((peakPss.pssBytes ?? 0) / GB).toFixed(3)} GB with ${peakPss.workers} workers and ${peakPss.backends} backends`);
        context.log(`workers resident, whole run: ${spread(usage.samples.map((s) => s.workers))}; second half: ${spread(steadySamples.map((s) => s.workers))}`);
        context.log(`worker starts per minute: ${[...Array(Math.ceil(minutes)).keys()].map((m) => perMinute.get(m) ?? 0).join(' ')}; second half ${round(startsSteady / (windowSteadyS / 60), 1)}/min`);
        context.log(`first sends after start: median ${round(quantile(pacing.firstSendS, 0.5), 1)} s, max ${round(quantile(pacing.firstSendS, 1), 1)} s (${pacing.firstSendS.length} accounts)`);
        context.log(`allowed ${pacing.allowed}, made ${pacing.made}; violations: gap ${pacing.gapViolations}, early ${pacing.earlyClaims}, daily ${pacing.dailyOver}, hourly ${pacing.hourlyOver}; gaps not found in the log ${pacing.unmatchedGaps}`);
        context.log(`late: ${pacing.lateS.length} sends, p50 ${round(quantile(pacing.lateS, 0.5), 2)} s, p90 ${round(quantile(pacing.lateS, 0.9), 2)} s, p99 ${round(quantile(pacing.lateS, 0.99), 2)} s, max ${round(quantile(pacing.lateS, 1), 2)} s`);
        context.log(`rows: ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}`);
        context.log(`load average (1 min) per minute: ${loads.map((l) => l.toFixed(1)).join(' ')}`);
        // Warnings and errors of the server (crashes, start failures), counted by message.
        const problems = new Map<string, number>();
        for (const line of serverLog) {
          let message = line;
          try {
            const parsed = JSON.parse(line) as { level?: string; message?: string; reason?: string };
            if (parsed.level !== 'warn' && parsed.level !== 'error') continue;
            message = `${parsed.level}: ${parsed.message ?? ''}${parsed.reason ? ` (${parsed.reason})` : ''}`;
          } catch {
            // not JSON: counted as it is
          }
          problems.set(message, (problems.get(message) ?? 0) + 1);
        }
        for (const [message, count] of problems) context.log(`server log ×${count}: ${message.slice(0, 300)}`);
        if (process.env.PACED_FLEET_SERVER_LOG) {
          fs.writeFileSync(process.env.PACED_FLEET_SERVER_LOG, `${serverLog.join('\n')}\n`);
          // Beside it, the logs of the workers the server judged crashed (they go with the temp dir).
          const crashed = serverLog.filter((line) => line.includes('worker crashed')).map((line) => /"account":"([0-9a-f-]{36})"/.exec(line)?.[1] ?? '');
          const accounts = crashed.length > 0 ? await db.selectFrom('sender_accounts').select(['id', 'email']).where('id', 'in', crashed).execute() : [];
          const names = new Set(accounts.map((a) => `${workerName(a)}.log`));
          const logDir = path.join(tempDir, 'data', 'logs');
          const logs = fs.existsSync(logDir) ? fs.readdirSync(logDir).filter((f) => names.has(f)) : [];
          const text = logs.map((f) => `== ${f}\n${fs.readFileSync(path.join(logDir, f), 'utf8')}`).join('\n');
          fs.writeFileSync(`${process.env.PACED_FLEET_SERVER_LOG}.crashed-workers`, text);
        }

        return {
          paced_fleet_peak_rss_gb: round((peak ? total(peak) : 0) / GB, 3),
          paced_fleet_peak_pss_gb: round((peakPss?.pssBytes ?? 0) / GB, 3),
          paced_fleet_cpu_pct: round(cpuPct, 1),
          paced_fleet_quota_use_pct: round((pacing.made / Math.max(1, pacing.allowed)) * 100, 2),
          paced_fleet_limit_violations: pacing.gapViolations + pacing.earlyClaims + pacing.dailyOver + pacing.hourlyOver,
          paced_fleet_late_p50_s: round(quantile(pacing.lateS, 0.5), 2),
          paced_fleet_late_p99_s: round(quantile(pacing.lateS, 0.99), 2),
          paced_fleet_late_max_s: round(quantile(pacing.lateS, 1), 2),
        };
      } finally {
        await stopProcesses([server], 90_000);
        // The server stops its own daemon ('if-own'); make sure, by its pid file.
        try {
          const daemonPid = Number.parseInt(fs.readFileSync(path.join(pm2Home, 'pm2.pid'), 'utf8').trim(), 10);
          if (daemonPid > 0 && readEnvironVariable(daemonPid, 'PM2_HOME') === pm2Home) process.kill(daemonPid, 'SIGKILL');
        } catch {
          // gone already
        }
        await pg.close();
        await sink.close();
      }
    }, 5);
  } finally {
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}
