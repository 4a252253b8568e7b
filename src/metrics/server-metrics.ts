/**
 * The server's Prometheus registry (names and labels: src/metrics/README.md).
 *
 * Workers serve no HTTP, so what they do reaches /metrics through the database they already
 * write: gauges are read at scrape time from indexed queries, and counters of events the
 * server does not see itself (sends, inbound messages, opens and clicks) are advanced by the
 * rows added since the last scrape. Domain rates read a window of history, so they are
 * refreshed in the background and the scrape shows the last result.
 *
 * A scrape never slows the send path: plain selects (no locks) in one read-only transaction
 * under its own statement_timeout, at most one database read at a time, and a result reused
 * for `metrics.cacheMs`.
 */
import { sql } from 'kysely';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from '../config';
import type { Db, DbOrTx } from '../db/connection';
import type { SendOutcome } from '../db/database';
import { domainRates } from '../domains/domain-rates';
import { sendingDomains } from '../domains/domain-rates.repository';
import type { Logger } from '../logger';
import { effectiveDailyLimit, windowStarts } from '../sending/limits';
import { PROVIDER_FAMILIES, providerFamily } from './provider-family';
import { WAITING_QUEUE_STATES, domainAuthRows, mailboxRows, openBlocklistListings, maxIds, newInboundMessages, newSends, newTrackingEvents, queueFigures, workerStateCounts, type MailboxRow } from './metrics.repository';

const OUTCOMES: readonly SendOutcome[] = ['accepted', 'transient', 'recipient_hard', 'recipient_soft', 'sender_reputation', 'sender_auth', 'auth', 'unknown', 'reconciled'];
const TRANSPORTS = ['smtp', 'gmail', 'sink'] as const;
const REPLY_CLASSES = ['2xx', '4xx', '5xx', 'none'] as const;
const INBOUND_KINDS = ['bounce', 'delay', 'delivered', 'complaint', 'reply', 'auto_reply', 'unmatched'] as const;
const ACCOUNT_STATUSES = ['active', 'paused', 'suspended', 'disabled', 'crashed'] as const;

export interface ServerMetrics {
  registry: Registry;
  /** The exposition text; a cached one when the last is younger than metrics.cacheMs. */
  scrape(): Promise<string>;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  workersStarted(count: number): void;
  workerCrashed(): void;
  /** Accounts that want a worker but wait for a slot under orchestrator.maxWorkers (set each reconcile). */
  workersWaitingForSlot(count: number): void;
  stop(): void;
}

export interface ServerMetricsDeps {
  config: Config;
  db: Db;
  logger: Logger;
  clock?: () => Date;
}

export function createServerMetrics({ config, db, logger, clock = () => new Date() }: ServerMetricsDeps): ServerMetrics {
  const m = config.metrics;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'outreach_' });
  // prom-client names these gauges *_total, which promtool's lint rejects (a counter suffix).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(`outreach_${name}`);
  const reg = { registers: [registry] };

  const sends = new Counter({ ...reg, name: 'outreach_sends_total', help: 'Send attempts recorded, by outcome class, transport and recipient provider family.', labelNames: ['outcome', 'transport', 'provider'] as const });
  const replies = new Counter({ ...reg, name: 'outreach_smtp_replies_total', help: 'SMTP reply classes of send attempts (none: no SMTP reply).', labelNames: ['class'] as const });
  const queueRows = new Gauge({ ...reg, name: 'outreach_queue_rows', help: 'Queue rows waiting or in flight, by state.', labelNames: ['state'] as const });
  const queueAge = new Gauge({ ...reg, name: 'outreach_queue_oldest_due_age_seconds', help: 'Age of the oldest due queue row, by state (0 when none is due).', labelNames: ['state'] as const });
  const workers = new Gauge({ ...reg, name: 'outreach_workers', help: 'Send workers by their last heartbeat state (stale: heartbeat too old).', labelNames: ['state'] as const });
  const workerStarts = new Counter({ ...reg, name: 'outreach_worker_starts_total', help: 'Worker processes this server started.', labelNames: ['node'] as const });
  const workersWaiting = new Gauge({ ...reg, name: 'outreach_workers_waiting_for_slot', help: 'Accounts with work due that wait for a worker slot (orchestrator.maxWorkers) on this node.', labelNames: ['node'] as const });
  const workerCrashes = new Counter({ ...reg, name: 'outreach_worker_crashes_total', help: 'Worker crashes this server saw (unexpected exit, missed heartbeats).', labelNames: ['node'] as const });
  const mailboxes = new Gauge({ ...reg, name: 'outreach_mailboxes', help: 'Sender mailboxes by status.', labelNames: ['status'] as const });
  const mailboxUp = new Gauge({ ...reg, name: 'outreach_mailbox_up', help: 'One per mailbox, labelled with its status.', labelNames: ['mailbox', 'client', 'domain', 'status'] as const });
  const mailboxHealth = new Gauge({ ...reg, name: 'outreach_mailbox_health_score', help: 'Mailbox health score (0-100).', labelNames: ['mailbox', 'client', 'domain'] as const });
  const mailboxSentToday = new Gauge({ ...reg, name: 'outreach_mailbox_sent_today', help: "Sends reserved today on the mailbox's daily counter.", labelNames: ['mailbox', 'client', 'domain'] as const });
  const mailboxLimit = new Gauge({ ...reg, name: 'outreach_mailbox_daily_limit', help: 'Effective daily limit today (configured, warm-up, health).', labelNames: ['mailbox', 'client', 'domain'] as const });
  const domainSends = new Gauge({ ...reg, name: 'outreach_domain_sends', help: 'Sends of a sender domain in the rolling rate window.', labelNames: ['client', 'domain'] as const });
  const domainComplaintRate = new Gauge({ ...reg, name: 'outreach_domain_complaint_rate', help: 'Complaints per send of a sender domain in the rolling window (ratio).', labelNames: ['client', 'domain'] as const });
  const domainBounceRate = new Gauge({ ...reg, name: 'outreach_domain_bounce_rate', help: 'Hard bounces per send of a sender domain in the rolling window (ratio).', labelNames: ['client', 'domain'] as const });
  const inbound = new Counter({ ...reg, name: 'outreach_inbound_messages_total', help: 'Inbound messages and ESP events classified, by kind.', labelNames: ['kind'] as const });
  const tracking = new Counter({ ...reg, name: 'outreach_tracking_events_total', help: 'Opens and clicks recorded (automated: scanners, privacy proxies).', labelNames: ['event', 'automated'] as const });
  const httpDuration = new Histogram({
    ...reg,
    name: 'outreach_http_request_duration_seconds',
    help: 'HTTP request latency by route template.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const domainAuthOk = new Gauge({ ...reg, name: 'outreach_domain_auth_ok', help: 'Last DNS check of a sender domain: 1 passed, 0 failed (unchecked domains absent).', labelNames: ['client', 'domain', 'check'] as const });
  const blocklistListed = new Gauge({ ...reg, name: 'outreach_blocklist_listed', help: 'A sending IP or domain listed on a blocklist zone (1 while the listing lasts).', labelNames: ['target', 'zone'] as const });
  const databaseUp = new Gauge({ ...reg, name: 'outreach_database_up', help: 'Whether the database answered the last /metrics read (1) or not (0).' });
  const scrapeDuration = new Gauge({ ...reg, name: 'outreach_metrics_scrape_duration_seconds', help: 'Time the last /metrics database read took.' });

  // Every known label combination starts at 0, so increase() sees the first event.
  for (const outcome of OUTCOMES) for (const transport of TRANSPORTS) for (const provider of PROVIDER_FAMILIES) sends.inc({ outcome, transport, provider }, 0);
  for (const replyClass of REPLY_CLASSES) replies.inc({ class: replyClass }, 0);
  for (const kind of INBOUND_KINDS) inbound.inc({ kind }, 0);
  for (const event of ['open', 'click']) for (const automated of ['true', 'false']) tracking.inc({ event, automated }, 0);
  workerStarts.inc({ node: config.nodeId }, 0);
  workerCrashes.inc({ node: config.nodeId }, 0);
  workersWaiting.set({ node: config.nodeId }, 0);

  // The last ids counted; undefined until the first scrape (counters start there).
  let lastIds: Awaited<ReturnType<typeof maxIds>> | undefined;

  async function advanceCounters(tx: DbOrTx): Promise<void> {
    if (!lastIds) {
      lastIds = await maxIds(tx);
      return;
    }
    const settle = m.counterSettleSeconds;
    const sent = await newSends(tx, lastIds.sendLogs, settle);
    for (const g of sent.groups) {
      sends.inc({ outcome: g.outcome, transport: g.transport, provider: providerFamily(g.recipient_domain) }, g.count);
      replies.inc({ class: g.smtp_class }, g.count);
    }
    const received = await newInboundMessages(tx, lastIds.inbound, settle);
    for (const g of received.groups) inbound.inc({ kind: g.kind }, g.count);
    const opens = await newTrackingEvents(tx, 'open_events', lastIds.opens, settle);
    for (const g of opens.groups) tracking.inc({ event: 'open', automated: String(g.automated) }, g.count);
    const clicks = await newTrackingEvents(tx, 'click_events', lastIds.clicks, settle);
    for (const g of clicks.groups) tracking.inc({ event: 'click', automated: String(g.automated) }, g.count);
    lastIds = { sendLogs: sent.lastId, inbound: received.lastId, opens: opens.lastId, clicks: clicks.lastId };
  }

  async function readGauges(tx: DbOrTx, now: Date): Promise<void> {
    queueRows.reset();
    queueAge.reset();
    for (const state of WAITING_QUEUE_STATES) {
      queueRows.set({ state }, 0);
      queueAge.set({ state }, 0);
    }
    for (const q of await queueFigures(tx)) {
      queueRows.set({ state: q.state }, q.rows);
      queueAge.set({ state: q.state }, q.oldestDueAgeSeconds);
    }

    workers.reset();
    for (const w of await workerStateCounts(tx, config.orchestrator.heartbeatStaleMs)) workers.set({ state: w.state }, w.workers);

    domainAuthOk.reset();
    for (const d of await domainAuthRows(tx)) {
      for (const [check, status] of [['spf', d.spf_status], ['dkim', d.dkim_status], ['dmarc', d.dmarc_status]] as const) {
        if (status === 'pass' || status === 'fail') domainAuthOk.set({ client: d.client, domain: d.domain, check }, status === 'pass' ? 1 : 0);
      }
    }
    blocklistListed.reset();
    for (const l of await openBlocklistListings(tx)) blocklistListed.set({ target: l.target, zone: l.zone }, 1);

    const rows = await mailboxRows(tx);
    mailboxes.reset();
    mailboxUp.reset();
    mailboxHealth.reset();
    mailboxSentToday.reset();
    mailboxLimit.reset();
    for (const status of ACCOUNT_STATUSES) mailboxes.set({ status }, 0);
    for (const row of rows) {
      const labels = { mailbox: row.email, client: row.client, domain: row.email.split('@')[1]?.toLowerCase() ?? '' };
      mailboxes.inc({ status: row.status });
      mailboxUp.set({ ...labels, status: row.status }, 1);
      mailboxHealth.set(labels, row.health_score);
      mailboxSentToday.set(labels, sentToday(row, now));
      mailboxLimit.set(labels, effectiveDailyLimit(row, config.warmup, now));
    }
  }

  // Domain rates: refreshed in the background, started by the first scrape.
  let domainTimer: NodeJS.Timeout | undefined;
  let firstDomainRefresh: Promise<void> | undefined;
  async function refreshDomainRates(): Promise<void> {
    try {
      const now = clock();
      const byClient = new Map<string, string[]>();
      for (const d of await sendingDomains(db, { clientId: null })) byClient.set(d.clientId, [...(byClient.get(d.clientId) ?? []), d.domain]);
      const clientNames = new Map((await db.selectFrom('clients').select(['id', 'name']).execute()).map((c) => [c.id, c.name]));
      domainSends.reset();
      domainComplaintRate.reset();
      domainBounceRate.reset();
      for (const [clientId, domains] of byClient) {
        const rates = await domainRates(db, clientId, domains, config.inbound, now);
        for (const domain of domains) {
          const r = rates.get(domain);
          const labels = { client: clientNames.get(clientId) ?? clientId, domain };
          domainSends.set(labels, r?.sends ?? 0);
          domainComplaintRate.set(labels, r && r.sends > 0 ? r.complaints / r.sends : 0);
          domainBounceRate.set(labels, r && r.sends > 0 ? r.hardBounces / r.sends : 0);
        }
      }
    } catch (error) {
      logger.warn('metrics: domain rates not refreshed', { error: (error as Error).message });
    }
  }

  let cached: { text: string; at: number } | undefined;
  let inFlight: Promise<string> | undefined;

  async function readAll(): Promise<string> {
    if (!firstDomainRefresh) {
      firstDomainRefresh = refreshDomainRates();
      domainTimer = setInterval(() => void refreshDomainRates(), m.domainRefreshSeconds * 1000);
      domainTimer.unref();
    }
    await firstDomainRefresh;
    const started = performance.now();
    try {
      await db.transaction().execute(async (tx) => {
        await sql`set transaction read only`.execute(tx);
        await sql`select set_config('statement_timeout', ${String(m.statementTimeoutMs)}, true)`.execute(tx);
        await advanceCounters(tx);
        await readGauges(tx, clock());
      });
      databaseUp.set(1);
    } catch (error) {
      // Still an answer: the alert on outreach_database_up needs one, and the in-process
      // figures (HTTP, workers' starts and crashes) hold; the database's keep their last values.
      databaseUp.set(0);
      logger.warn('metrics: database read failed', { error: (error as Error).message });
    }
    scrapeDuration.set((performance.now() - started) / 1000);
    const text = await registry.metrics();
    cached = { text, at: Date.now() };
    return text;
  }

  return {
    registry,
    httpDuration,
    async scrape() {
      if (cached && Date.now() - cached.at < m.cacheMs) return cached.text;
      // Concurrent scrapes share one read.
      inFlight ??= readAll().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
    workersStarted: (count) => workerStarts.inc({ node: config.nodeId }, count),
    workerCrashed: () => workerCrashes.inc({ node: config.nodeId }),
    workersWaitingForSlot: (count) => workersWaiting.set({ node: config.nodeId }, count),
    stop: () => clearInterval(domainTimer),
  };
}

/** The day counter counts today only when its window is the account's current local day. */
function sentToday(row: MailboxRow, now: Date): number {
  if (row.day_count === null || row.day_window_start === null) return 0;
  return new Date(row.day_window_start).getTime() === windowStarts(now, row.time_zone).accountDay.getTime() ? row.day_count : 0;
}
