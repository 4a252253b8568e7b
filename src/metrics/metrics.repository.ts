/**
 * The reads behind /metrics. Each is one indexed query or a bounded aggregate; none takes a
 * lock a sender waits for (plain selects under MVCC). The counters' reads are incremental:
 * rows with an id above the last one counted, grouped.
 */
import { sql } from 'kysely';
import type { DbOrTx } from '../db/connection';

/** States a queue row waits or is in flight in (the terminal ones only grow); queueFigures and the 0023 index (email_queue_open_states_idx) list them too. */
export const WAITING_QUEUE_STATES = ['queued', 'claimed', 'sending', 'unknown', 'held'] as const;

export interface QueueStateFigures {
  state: string;
  rows: number;
  oldestDueAgeSeconds: number;
}

/** On the partial index of waiting rows (0023), so the sent history is never read. */
export async function queueFigures(db: DbOrTx): Promise<QueueStateFigures[]> {
  const { rows } = await sql<{ status: string; rows: string; oldest_due: number | null }>`
    select status, count(*) as rows,
      extract(epoch from now() - min(run_after) filter (where run_after <= now()))::float8 as oldest_due
    from email_queue
    where status in ('queued', 'claimed', 'sending', 'unknown', 'held')
    group by status`.execute(db);
  return rows.map((r) => ({ state: r.status, rows: Number(r.rows), oldestDueAgeSeconds: Math.max(0, r.oldest_due ?? 0) }));
}

export async function workerStateCounts(db: DbOrTx, staleMs: number): Promise<Array<{ state: string; workers: number }>> {
  const { rows } = await sql<{ state: string; workers: string }>`
    select case when beat_at < now() - make_interval(secs => ${staleMs / 1000}) then 'stale' else state end as state, count(*) as workers
    from worker_heartbeats group by 1`.execute(db);
  return rows.map((r) => ({ state: r.state, workers: Number(r.workers) }));
}

export interface MailboxRow {
  email: string;
  client: string;
  status: string;
  health_score: number;
  daily_limit: number;
  hourly_limit: number;
  warmup_enabled: boolean;
  warmup_curve: string | null;
  warmup_started_on: string | null;
  time_zone: string;
  deferral_rate_pct: number;
  /** The account's latest day counter and the window it counts (today's or an older one). */
  day_count: number | null;
  day_window_start: Date | null;
}

/** Every mailbox with its latest day counter (one primary-key probe of rate_counters each). */
export async function mailboxRows(db: DbOrTx): Promise<MailboxRow[]> {
  const { rows } = await sql<MailboxRow>`
    select a.email, c.name as client, a.status, a.health_score::float8 as health_score, a.daily_limit, a.hourly_limit,
      a.warmup_enabled, a.warmup_curve, a.warmup_started_on::text as warmup_started_on, a.time_zone,
      a.deferral_rate_pct::float8 as deferral_rate_pct, d.count as day_count, d.window_start as day_window_start
    from sender_accounts a
    join clients c on c.id = a.client_id
    left join lateral (
      select rc.count, rc.window_start from rate_counters rc
      where rc.scope = 'account' and rc.scope_key = a.id::text and rc.window_kind = 'day'
      order by rc.window_start desc limit 1
    ) d on true`.execute(db);
  return rows;
}

export interface CountedRows<K> {
  groups: Array<K & { count: number }>;
  /** The highest id counted; the next read starts above it. */
  lastId: number;
}

/**
 * Rows are counted only up to the first one younger than `settleSeconds`: a row's id is taken
 * when its transaction inserts it but it becomes visible at commit, so a younger row with a
 * lower id may still appear, and counting past it would skip it for good. At most
 * COUNT_BATCH_ROWS rows per read, so a scrape after a long pause stays short (the rest is
 * counted by the next ones).
 */
const COUNT_BATCH_ROWS = 20_000;

function settledRows(table: 'send_logs' | 'inbound_messages' | 'open_events' | 'click_events', timeColumn: string, afterId: number, settleSeconds: number) {
  return sql`
    fresh as materialized (select * from ${sql.table(table)} where id > ${afterId} order by id limit ${COUNT_BATCH_ROWS}),
    barrier as (select min(id) as id from fresh where ${sql.ref(timeColumn)} >= now() - make_interval(secs => ${settleSeconds})),
    settled as (select * from fresh where id < coalesce((select id from barrier), 9223372036854775807))`;
}

export async function maxIds(db: DbOrTx): Promise<{ sendLogs: number; inbound: number; opens: number; clicks: number }> {
  const { rows } = await sql<{ send_logs: string | null; inbound: string | null; opens: string | null; clicks: string | null }>`
    select (select max(id) from send_logs) as send_logs, (select max(id) from inbound_messages) as inbound,
      (select max(id) from open_events) as opens, (select max(id) from click_events) as clicks`.execute(db);
  const r = rows[0];
  return { sendLogs: Number(r?.send_logs ?? 0), inbound: Number(r?.inbound ?? 0), opens: Number(r?.opens ?? 0), clicks: Number(r?.clicks ?? 0) };
}

export interface SendGroup {
  outcome: string;
  transport: string;
  recipient_domain: string;
  smtp_class: string;
}

export async function newSends(db: DbOrTx, afterId: number, settleSeconds: number): Promise<CountedRows<SendGroup>> {
  const { rows } = await sql<SendGroup & { count: string; last_id: string }>`
    with ${settledRows('send_logs', 'created_at', afterId, settleSeconds)}
    -- Scalar lookups by primary key: a join may be planned as a scan of the whole queue.
    select s.outcome, coalesce((select a.transport from sender_accounts a where a.id = s.account_id), 'unknown') as transport,
      coalesce((select q.recipient_domain from email_queue q where q.id = s.queue_id), '') as recipient_domain,
      case when s.smtp_code between 200 and 599 then (s.smtp_code / 100)::text || 'xx' else 'none' end as smtp_class,
      count(*) as count, max(s.id) as last_id
    from settled s
    group by 1, 2, 3, 4`.execute(db);
  return counted(rows, afterId);
}

export async function newInboundMessages(db: DbOrTx, afterId: number, settleSeconds: number): Promise<CountedRows<{ kind: string }>> {
  const { rows } = await sql<{ kind: string; count: string; last_id: string }>`
    with ${settledRows('inbound_messages', 'created_at', afterId, settleSeconds)}
    select kind, count(*) as count, max(id) as last_id from settled group by kind`.execute(db);
  return counted(rows, afterId);
}

export async function newTrackingEvents(db: DbOrTx, table: 'open_events' | 'click_events', afterId: number, settleSeconds: number): Promise<CountedRows<{ automated: boolean }>> {
  const { rows } = await sql<{ automated: boolean; count: string; last_id: string }>`
    with ${settledRows(table, 'occurred_at', afterId, settleSeconds)}
    select automated_reason is not null as automated, count(*) as count, max(id) as last_id from settled group by 1`.execute(db);
  return counted(rows, afterId);
}

function counted<K extends object>(rows: Array<K & { count: string; last_id: string }>, afterId: number): CountedRows<K> {
  let lastId = afterId;
  const groups = rows.map(({ count, last_id, ...key }) => {
    lastId = Math.max(lastId, Number(last_id));
    return { ...(key as unknown as K), count: Number(count) };
  });
  return { groups, lastId };
}

export interface DomainAuthRow {
  client: string;
  domain: string;
  spf_status: string;
  dkim_status: string;
  dmarc_status: string;
}

/** The last DNS check of every registered sender domain (src/dns/). */
export async function domainAuthRows(db: DbOrTx): Promise<DomainAuthRow[]> {
  const { rows } = await sql<DomainAuthRow>`
    select c.name as client, d.domain, d.spf_status, d.dkim_status, d.dmarc_status
    from sender_domains d join clients c on c.id = d.client_id`.execute(db);
  return rows;
}

/** Blocklist listings not yet gone: the open `blocklist_listed` alerts (src/dns/blocklists.ts). */
export async function openBlocklistListings(db: DbOrTx): Promise<Array<{ target: string; zone: string }>> {
  const { rows } = await sql<{ target: string; zone: string }>`
    select distinct details->>'target' as target, details->>'zone' as zone
    from alerts where resolved_at is null and code = 'blocklist_listed' and details ? 'target' and details ? 'zone'`.execute(db);
  return rows;
}
