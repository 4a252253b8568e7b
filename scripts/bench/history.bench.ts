/**
 * History at scale (issue 17): fills HISTORY_SENDS sends of realistic history (history-fill.ts;
 * default 1,000,000 and 10,000,000, each in a database of its own) and measures, at each size:
 * - the statistics requests through the app's routes (campaign stats of several campaigns,
 *   account stats over the default 30 days for all clients and for one): p95;
 * - a worker's claim (claimBatch for mailboxes with due rows), the orchestrator's demand query
 *   for all 1,200 mailboxes (listAccountDemand, what reconcile reads) and a pixel write
 *   (insertOpenEvents of one first open, rollup trigger included): medians;
 * - the database size per million sends.
 * The fill runs as a bulk load (triggers and non-unique indexes off, indexes rebuilt after) and the
 * rollups are then built by migration 0027's backfill (what an upgrade does).
 *
 * Prints history_stats_p95_ms_<size>, history_{claim,reconcile,pixel}_ms_<size>, and with two
 * sizes history_{claim,reconcile,pixel}_growth_<big>_vs_<small>; history_db_mb_per_million_sends.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql, type Kysely } from 'kysely';
import { loadConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { hashPassword } from '../../src/auth/password';
import { claimBatch } from '../../src/queue/claim';
import { listAccountDemand } from '../../src/orchestrator/account-demand.repository';
import { insertOpenEvents } from '../../src/tracking/tracking-event.repository';
import { backfill } from '../../db/migrations/0027_stats_rollups';
import { purgeHistory } from '../../src/orchestrator/history-retention';
import { withBenchDatabase } from './bench-database';
import { fillHistory } from './history-fill';
import type { BenchContext } from './registry';

export const name = 'history';

const TRIGGERED = ['email_queue', 'open_events', 'click_events', 'bounces', 'complaints', 'replies', 'campaign_contacts', 'send_logs'];
const ROLLUPS = ['queue_stats_rows', 'stats_campaign_rollup', 'stats_account_rollup', 'stats_campaign_days'];

function sizes(): number[] {
  const raw = process.env.HISTORY_SENDS ?? '1000000,10000000';
  return raw.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n >= 1000).sort((a, b) => a - b);
}

function label(sends: number): string {
  return sends % 1_000_000 === 0 ? `${sends / 1_000_000}m` : `${Math.round(sends / 1000)}k`;
}

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
};
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * Loads history the way a bulk load should be done, so that 10 M sends fill in minutes on a small
 * machine instead of hours: the filled tables' triggers off (the rollups are built afterwards by
 * the upgrade's backfill; foreign-key checks too, when we may: the fill is consistent by
 * construction) and their non-unique indexes dropped, then rebuilt by sorting once at the end.
 */
export async function bulkLoad(db: Kysely<unknown>, fill: () => Promise<void>): Promise<void> {
  const superuser = (await sql<{ s: boolean }>`select rolsuper as s from pg_roles where rolname = current_user`.execute(db)).rows[0]?.s;
  const triggers = sql.raw(superuser ? 'all' : 'user');
  const indexes = await sql<{ name: string; def: string }>`
    select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def from pg_index i
    where i.indrelid = any(${TRIGGERED}::regclass[]) and not i.indisunique`.execute(db);
  for (const table of TRIGGERED) await sql`alter table ${sql.table(table)} disable trigger ${triggers}`.execute(db);
  for (const { name } of indexes.rows) await sql`drop index ${sql.raw(name)}`.execute(db);
  await fill();
  await db.connection().execute(async (conn) => {
    await sql`set maintenance_work_mem = '512MB'`.execute(conn);
    for (const { def } of indexes.rows) await sql.raw(def).execute(conn);
  });
  for (const table of TRIGGERED) await sql`alter table ${sql.table(table)} enable trigger ${triggers}`.execute(db);
}

interface SizeFigures {
  statsP95: number;
  claim: number;
  reconcile: number;
  pixel: number;
  dbMb: number;
  deleteRowsPerS: number;
}

async function measureSize(sends: number, context: BenchContext): Promise<SizeFigures> {
  const config = loadConfig();
  return withBenchDatabase(async ({ db, name: dbName }) => {
    const now = new Date();
    const started = Date.now();
    await bulkLoad(db as unknown as Kysely<unknown>, () => fillHistory(db as unknown as Kysely<unknown>, { sends, now }));
    const filled = Date.now();
    await backfill(db as unknown as Kysely<unknown>);
    await sql`vacuum analyze`.execute(db);
    const dbBytes = Number((await sql<{ n: string }>`select pg_database_size(${dbName}) as n`.execute(db)).rows[0]!.n);
    const rollupBytes = Number((await sql<{ n: string }>`select sum(pg_total_relation_size(t::regclass)) as n from unnest(${ROLLUPS}::text[]) t`.execute(db)).rows[0]!.n);
    context.log(`${label(sends)}: filled in ${round((filled - started) / 1000)} s, rollups backfilled in ${round((Date.now() - filled) / 1000)} s; database ${Math.round(dbBytes / 2 ** 20)} MB (rollups ${Math.round(rollupBytes / 2 ** 20)} MB)`);

    // The stats requests, through the app's routes, as the owner.
    const email = 'owner@history.bench';
    await db.insertInto('users').values({ email, role: 'owner', client_id: null, password_hash: await hashPassword('bench-password-1') }).execute();
    const server = http.createServer(createApp({ config, db, logger: createLogger('error') }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const login = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'bench-password-1' }) });
      const { accessToken } = (await login.json()) as { accessToken: string };
      const get = async (path: string) => {
        const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${accessToken}` } });
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
        await res.arrayBuffer();
      };
      const campaigns = await db.selectFrom('campaigns').select(['id', 'client_id']).orderBy('id').limit(20).execute();
      const paths = [...campaigns.map((c) => `/api/campaigns/${c.id}/stats`), '/api/stats/accounts', `/api/stats/accounts?clientId=${campaigns[0]!.client_id}`];
      for (const path of paths) await get(path);
      const times: Record<string, number[]> = {};
      for (let round = 0; round < 5; round++) {
        for (const path of paths) {
          const kind = path.startsWith('/api/campaigns') ? 'campaign' : path.includes('clientId') ? 'accounts_one_client' : 'accounts_all';
          (times[kind] ??= []).push(await timed(() => get(path)));
        }
      }
      const all = Object.values(times).flat();
      for (const [kind, values] of Object.entries(times)) context.log(`${label(sends)}: stats ${kind}: median ${round(quantile(values, 0.5))} ms, p95 ${round(quantile(values, 0.95))} ms`);

      // A worker's claim: mailboxes with due rows of their own.
      const claimSettings = {
        batchSize: config.sending.claimBatchSize, leaseMs: config.sending.leaseMs, gapJitterPct: config.sending.gapJitterPct,
        globalPerMinute: 1_000_000, recipientDomainDailyLimit: 1_000_000, senderDomainDailyLimit: 1_000_000,
        cooldownMinutes: config.health.cooldownMinutes, warmup: config.warmup,
      };
      // Every day, all day, and the mailboxes' health periods started after their old
      // complaints (as after a resume), so a claim gets as far as taking rows.
      await sql`update campaigns set send_days = '{1,2,3,4,5,6,7}', window_start_minute = 0, window_end_minute = 1440`.execute(db);
      await sql`update sender_accounts set resumed_at = now()`.execute(db);
      const due = await sql<{ account_id: string }>`select distinct account_id from email_queue where status = 'queued' and account_id is not null and run_after <= now() limit 25`.execute(db);
      const claims: number[] = [];
      const kinds: Record<string, number> = {};
      for (const { account_id } of due.rows) {
        let kind = '';
        claims.push(await timed(async () => (kind = (await claimBatch(db, account_id, new Date(), claimSettings)).kind)));
        kinds[kind] = (kinds[kind] ?? 0) + 1;
      }

      const accountIds = (await db.selectFrom('sender_accounts').select('id').execute()).map((a) => a.id);
      const reconciles: number[] = [];
      for (let i = 0; i < 7; i++) reconciles.push(await timed(() => listAccountDemand(db, accountIds, config.orchestrator.reconcileIntervalMs)));

      // First opens of sent rows nobody opened yet: the rollup trigger's full path.
      const unopened = await sql<{ id: string }>`select q.id from email_queue q join queue_stats_rows r on r.queue_id = q.id
        where q.sent_at is not null and r.opened_at is null order by q.id desc limit 60`.execute(db);
      const pixels: number[] = [];
      for (const { id } of unopened.rows) {
        pixels.push(await timed(() => insertOpenEvents(db, [{ queueId: Number(id), ip: '203.0.113.9', userAgent: 'Mozilla/5.0', automatedReason: null, occurredAt: new Date() }])));
      }
      const figures: SizeFigures = {
        statsP95: round(quantile(all, 0.95)),
        claim: round(quantile(claims, 0.5), 2),
        reconcile: round(quantile(reconciles, 0.5), 2),
        pixel: round(quantile(pixels.slice(10), 0.5), 2),
        dbMb: dbBytes / 2 ** 20,
        deleteRowsPerS: 0,
      };
      // Retention by batched deletes: the oldest day of events and send logs (what the nightly
      // job removes each night once history is older than the period).
      const oldest = (await sql<{ at: Date }>`select min(created_at) as at from send_logs`.execute(db)).rows[0]!.at;
      const days = (now.getTime() - new Date(oldest).getTime()) / 86_400_000 - 1;
      let deleted = 0;
      const deleteMs = await timed(async () => {
        const r = await purgeHistory(db, { trackingEventsDays: days, sendLogsDays: days, sinkMessagesDays: 3650, deleteBatchSize: config.retention.deleteBatchSize }, now);
        deleted = r.openEvents + r.clickEvents + r.sendLogs;
      });
      figures.deleteRowsPerS = Math.round(deleted / (deleteMs / 1000));
      context.log(`${label(sends)}: retention deleted ${deleted} rows (the oldest day) in ${round(deleteMs)} ms: ${figures.deleteRowsPerS} rows/s`);
      context.log(`${label(sends)}: claim median ${figures.claim} ms (${JSON.stringify(kinds)}), demand query ${figures.reconcile} ms, pixel write ${figures.pixel} ms`);
      return figures;
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 10);
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const bySize = new Map<number, SizeFigures>();
  for (const sends of sizes()) {
    const f = await measureSize(sends, context);
    bySize.set(sends, f);
    const l = label(sends);
    Object.assign(out, { [`history_stats_p95_ms_${l}`]: f.statsP95, [`history_claim_ms_${l}`]: f.claim, [`history_reconcile_ms_${l}`]: f.reconcile, [`history_pixel_ms_${l}`]: f.pixel, [`history_retention_delete_rows_per_s_${l}`]: f.deleteRowsPerS });
  }
  const measured = [...bySize.keys()];
  if (measured.length >= 2) {
    const [small, big] = [measured[0]!, measured[measured.length - 1]!];
    const [a, b] = [bySize.get(small)!, bySize.get(big)!];
    const suffix = `${label(big)}_vs_${label(small)}`;
    Object.assign(out, {
      [`history_claim_growth_${suffix}`]: round(b.claim / a.claim, 2),
      [`history_reconcile_growth_${suffix}`]: round(b.reconcile / a.reconcile, 2),
      [`history_pixel_growth_${suffix}`]: round(b.pixel / a.pixel, 2),
    });
  }
  const largest = measured[measured.length - 1]!;
  out.history_db_mb_per_million_sends = Math.round(bySize.get(largest)!.dbMb / (largest / 1_000_000));
  return out;
}
