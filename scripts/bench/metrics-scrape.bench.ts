/**
 * metrics_scrape_ms: the median time of GET /metrics (uncached: metrics.cacheMs 0) over HTTP
 * against a fleet of 1,200 mailboxes (12 clients, 60 sender domains) and 50 running campaigns
 * with history: 100,000 queue rows (70 % sent with their send logs over the last 14 days,
 * 20 % queued and due, the rest held, unknown, bounced or failed), today's day counters,
 * 1,200 worker heartbeats, inbound messages, bounces, complaints, opens and clicks. Between
 * two scrapes 100 new send logs arrive, so each scrape also advances the counters.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { createServerMetrics } from '../../src/metrics/server-metrics';
import type { Db } from '../../src/db/connection';
import { withBenchDatabase } from './bench-database';
import type { BenchContext } from './registry';

export const name = 'metrics-scrape';

const CLIENTS = 12;
const MAILBOXES = 1_200;
const DOMAINS = 60;
const CAMPAIGNS = 50;
const ROWS_PER_CAMPAIGN = 2_000;
const SCRAPES = 21;
const TOKEN = 'bench-metrics-token-0123456789';

async function seed(db: Db): Promise<void> {
  await sql`insert into clients (name, postal_address) select 'bench-client-' || g, '1 Bench Road' from generate_series(1, ${CLIENTS}) g`.execute(db);
  await sql`
    insert into sender_accounts (client_id, email, transport, transport_settings, daily_limit, warmup_enabled, warmup_started_on, health_score, status)
    select c.id, 'sender' || g || '@domain' || (g % ${DOMAINS}) || '.test', 'smtp', '{"host":"127.0.0.1","port":2525}', 200, g % 3 = 0, current_date - (g % 30),
      80 + g % 20, case when g % 97 = 0 then 'paused' else 'active' end
    from generate_series(1, ${MAILBOXES}) g
    join (select id, row_number() over (order by name) - 1 as n from clients) c on c.n = g % ${CLIENTS}`.execute(db);
  await sql`
    insert into campaigns (client_id, name, status, send_days, window_start_minute, window_end_minute)
    select c.id, 'bench campaign ' || g, 'running', '{1,2,3,4,5,6,7}', 0, 1440
    from generate_series(1, ${CAMPAIGNS}) g join (select id, row_number() over (order by name) - 1 as n from clients) c on c.n = g % ${CLIENTS}`.execute(db);
  await sql`insert into sequence_steps (campaign_id, step_number, subject, body_text) select id, 1, 'Hello', 'Hi' from campaigns`.execute(db);
  // Each campaign sends from the mailboxes of its client.
  await sql`insert into campaign_senders (campaign_id, account_id) select c.id, a.id from campaigns c join sender_accounts a on a.client_id = c.client_id`.execute(db);
  await sql`
    insert into contacts (client_id, email, email_domain)
    select c.client_id, 'c' || g || '-' || c.id || '@' || d.domain, d.domain
    from campaigns c, generate_series(1, ${ROWS_PER_CAMPAIGN}) g,
      lateral (select (array['gmail.com', 'outlook.com', 'yahoo.com', 'example.com'])[1 + g % 4] as domain) d`.execute(db);
  await sql`insert into campaign_contacts (campaign_id, contact_id) select c.id, k.id from campaigns c join contacts k on k.email like '%-' || c.id || '@%'`.execute(db);
  await sql`
    insert into email_queue (client_id, campaign_id, contact_id, step_id, step_number, account_id, to_email, recipient_domain, status, run_after, message_id, sent_at)
    select k.client_id, cc.campaign_id, k.id, s.id, 1, a.id, k.email, k.email_domain, st.status, now() - (n % 1440) * interval '14 minutes',
      '<' || k.id || '@bench.test>', case when st.status = 'sent' then now() - (n % 1440) * interval '14 minutes' end
    from (select campaign_id, contact_id, row_number() over (partition by campaign_id order by contact_id) as n from campaign_contacts) cc
    join contacts k on k.id = cc.contact_id
    join sequence_steps s on s.campaign_id = cc.campaign_id
    join lateral (select id from sender_accounts where client_id = k.client_id order by id offset (cc.n % 100) limit 1) a on true
    cross join lateral (select case when n % 100 < 70 then 'sent' when n % 100 < 90 then 'queued' when n % 100 < 94 then 'held' when n % 100 < 96 then 'unknown'
      when n % 100 < 98 then 'bounced' else 'failed' end as status) st`.execute(db);
  await sql`
    insert into send_logs (queue_id, client_id, campaign_id, account_id, message_id, attempt, outcome, smtp_code, created_at)
    select id, client_id, campaign_id, account_id, message_id, 1, case status when 'bounced' then 'recipient_hard' when 'failed' then 'sender_reputation' else 'accepted' end,
      case status when 'bounced' then 550 when 'failed' then 421 else 250 end, coalesce(sent_at, run_after)
    from email_queue where status in ('sent', 'bounced', 'failed')`.execute(db);
  await sql`
    insert into rate_counters (scope, scope_key, window_kind, window_start, count)
    select 'account', id::text, 'day', date_trunc('day', now() at time zone 'UTC') at time zone 'UTC', 40 from sender_accounts`.execute(db);
  await sql`insert into worker_heartbeats (account_id, node_id, pid, state) select id, 'bench-node', 1000, 'sending' from sender_accounts where status = 'active'`.execute(db);
  await sql`
    insert into bounces (client_id, queue_id, account_id, email, bounce_type, received_at)
    select client_id, id, account_id, to_email, 'hard', coalesce(sent_at, run_after) from email_queue where status = 'bounced'`.execute(db);
  await sql`
    insert into complaints (client_id, queue_id, account_id, email, received_at)
    select client_id, id, account_id, to_email, sent_at from email_queue where status = 'sent' and id % 500 = 0`.execute(db);
  await sql`
    insert into inbound_messages (client_id, account_id, source, source_key, received_at, kind, queue_id, campaign_id)
    select client_id, account_id, 'imap', id::text, sent_at, (array['bounce', 'reply', 'auto_reply', 'complaint'])[1 + id % 4], id, campaign_id
    from email_queue where status = 'sent' and id % 20 = 0`.execute(db);
  await sql`insert into open_events (client_id, campaign_id, queue_id, occurred_at) select client_id, campaign_id, id, sent_at from email_queue where status = 'sent' and id % 4 = 0`.execute(db);
  await sql`insert into click_events (client_id, campaign_id, queue_id, occurred_at) select client_id, campaign_id, id, sent_at from email_queue where status = 'sent' and id % 25 = 0`.execute(db);
  await sql`vacuum analyze`.execute(db);
}

/** New send logs arriving between two scrapes, as the workers would write them. */
async function moreSends(db: Db, count: number): Promise<void> {
  await sql`
    insert into send_logs (queue_id, client_id, campaign_id, account_id, message_id, attempt, outcome, smtp_code, created_at)
    select id, client_id, campaign_id, account_id, message_id, 2, 'accepted', 250, now() - interval '1 minute'
    from email_queue where status = 'sent' order by random() limit ${count}`.execute(db);
}

function get(port: number): Promise<{ status: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, bytes }));
      })
      .on('error', reject);
  });
}

export async function run(context: BenchContext): Promise<Record<string, number>> {
  return withBenchDatabase(async ({ db }) => {
    const seeding = Date.now();
    await seed(db);
    context.log(`seeded ${MAILBOXES} mailboxes, ${CAMPAIGNS} campaigns, ${CAMPAIGNS * ROWS_PER_CAMPAIGN} queue rows in ${((Date.now() - seeding) / 1000).toFixed(1)} s`);
    const config = loadConfig({ ...process.env, METRICS_BEARER_TOKEN: TOKEN });
    config.metrics = { ...config.metrics, cacheMs: 0, port: null };
    const logger = createLogger('warn');
    const metrics = createServerMetrics({ config, db, logger });
    const server = http.createServer(createApp({ config, db, logger, metrics }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      // The first scrape starts the counters and the domain rates' background refresh.
      const first = await get(port);
      if (first.status !== 200) throw new Error(`GET /metrics answered ${first.status}`);
      const times: number[] = [];
      const readTimes: number[] = [];
      const readGauge = metrics.registry.getSingleMetric('outreach_metrics_scrape_duration_seconds');
      let bytes = 0;
      for (let i = 0; i < SCRAPES; i++) {
        await moreSends(db, 100);
        const started = performance.now();
        const res = await get(port);
        times.push(performance.now() - started);
        readTimes.push(((await readGauge?.get())?.values[0]?.value ?? 0) * 1000);
        bytes = res.bytes;
      }
      times.sort((a, b) => a - b);
      readTimes.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)]!;
      context.log(`${SCRAPES} scrapes of ${Math.round(bytes / 1024)} KB: median ${median.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms, max ${times[times.length - 1]!.toFixed(1)} ms; the database read of it: median ${readTimes[Math.floor(readTimes.length / 2)]!.toFixed(1)} ms`);
      return { metrics_scrape_ms: Math.round(median * 10) / 10 };
    } finally {
      metrics.stop();
      server.close();
    }
  });
}
