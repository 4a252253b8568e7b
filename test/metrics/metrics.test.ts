/**
 * GET /metrics against the real app, database and a real SMTP peer: the endpoint asks for its
 * bearer token, `promtool check metrics` accepts what it serves, and the figures follow real
 * actions (a send by the real worker, a mailbox paused through the API, an API request).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import type { Express } from 'express';
import { BLOCKLIST_ALERT } from '../../src/dns/blocklists';
import { raiseAlert } from '../../src/alerts/alerts';
import { createDb } from '../../src/db/connection';
import { findFreePort } from '../../src/db/embedded-postgres';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { startMetricsListener } from '../../src/metrics/metrics-listener';
import { createServerMetrics, type ServerMetrics } from '../../src/metrics/server-metrics';
import { applyEngagementEvent } from '../../src/inbound/esp-engagement';
import { applyFeedbackEvent } from '../../src/inbound/feedback-event';
import { recordHeartbeats } from '../../src/orchestrator/worker.repository';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { transportForAccount } from '../../src/sending/account-transport';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { bearer, createWorld, testConfig, type World } from '../http/admin-api.helpers';
import { inboundDeps, inboundWorld } from '../inbound/inbound-world';
import { addContacts, createAccount, createCampaign } from '../queue/fixtures';
import { ControlledClock, makeWorker, runUntil, testCipher } from '../sending/worker-harness';

const t = useTestDatabase();
const TOKEN = 'metrics-test-token-0123456789';
const CREDENTIALS = { user: 'sender-login', pass: 'right-password' };

/** The value of one sample in the exposition text, undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => present[k] === v)) return Number(match[3]);
  }
  return undefined;
}

describe('GET /metrics', () => {
  let peer: SmtpPeer;
  let metrics: ServerMetrics;
  let app: Express;
  let world: World;
  const scrape = async () => {
    const res = await request(app).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    return res.text;
  };

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: CREDENTIALS });
    // No cache and no settling delay: each scrape reads what the test just did.
    const config = testConfig({ METRICS_BEARER_TOKEN: TOKEN }, { metrics: { cacheMs: 0, counterSettleSeconds: 0 } });
    const logger = createLogger('error');
    metrics = createServerMetrics({ config, db: t.db, logger });
    app = createApp({ config, db: t.db, logger, metrics });
    world = await createWorld(t.db, app, 'metrics');
  });
  afterAll(async () => {
    metrics.stop();
    await peer.close();
  });

  it('answers 401 with a JSON error without the bearer token or with a wrong one', async () => {
    for (const header of [undefined, 'Bearer wrong-token-wrong-token', `Basic ${TOKEN}`]) {
      const req = request(app).get('/metrics');
      const res = await (header ? req.set('Authorization', header) : req);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ code: 'unauthorized' });
    }
  });

  it('counts a real send by outcome, transport and provider family, its SMTP reply class, and the mailbox’s sends today', async () => {
    const before = await scrape();
    const account = await createAccount(t.db, world.a.clientId, {
      email: 'sam@metrics-sender.test',
      transport_settings: JSON.stringify({ host: peer.host, port: peer.port }),
      credentials_encrypted: testCipher.encrypt(JSON.stringify(CREDENTIALS)),
    });
    const campaign = await createCampaign(t.db, world.a.clientId, { senders: [account.id] });
    await addContacts(t.db, world.a.clientId, campaign.id, 1, { domain: 'gmail.com' });
    const start = new Date();
    await enqueueCampaign(t.db, campaign.id, start, { messageIdDomain: 'metrics.test' });
    const queued = await scrape();
    expect(sample(queued, 'outreach_queue_rows', { state: 'queued' })).toBe(1);
    expect(sample(queued, 'outreach_queue_oldest_due_age_seconds', { state: 'queued' })).toBeGreaterThanOrEqual(0);

    const row = await t.db.selectFrom('sender_accounts').selectAll().where('id', '=', account.id).executeTakeFirstOrThrow();
    const { worker } = makeWorker(t.db, account.id, transportForAccount(row, testCipher), new ControlledClock(start.getTime()));
    await runUntil(worker, async () => (await t.db.selectFrom('email_queue').select('status').where('campaign_id', '=', campaign.id).executeTakeFirstOrThrow()).status === 'sent');

    const after = await scrape();
    const accepted = { outcome: 'accepted', transport: 'smtp', provider: 'gmail' };
    expect(sample(before, 'outreach_sends_total', accepted)).toBe(0);
    expect(sample(after, 'outreach_sends_total', accepted)).toBe(1);
    expect(sample(after, 'outreach_smtp_replies_total', { class: '2xx' })).toBe(1);
    expect(sample(after, 'outreach_queue_rows', { state: 'queued' })).toBe(0);
    const mailbox = { mailbox: 'sam@metrics-sender.test', domain: 'metrics-sender.test' };
    expect(sample(after, 'outreach_mailbox_sent_today', mailbox)).toBe(1);
    expect(sample(after, 'outreach_mailbox_daily_limit', mailbox)).toBeGreaterThan(0);
    expect(sample(after, 'outreach_mailbox_up', { ...mailbox, status: 'active' })).toBe(1);
  });

  it('shows a mailbox paused through the API in the status gauges, and the request’s latency under its route template', async () => {
    const account = await createAccount(t.db, world.a.clientId, { email: 'pat@metrics-sender.test' });
    const before = await scrape();
    const paused = await request(app).patch(`/api/accounts/${account.id}`).set(bearer(world.a.adminToken)).send({ status: 'paused' });
    expect(paused.status).toBe(200);
    const after = await scrape();
    expect(sample(after, 'outreach_mailboxes', { status: 'paused' })).toBe((sample(before, 'outreach_mailboxes', { status: 'paused' }) ?? 0) + 1);
    expect(sample(after, 'outreach_mailbox_up', { mailbox: 'pat@metrics-sender.test', status: 'paused' })).toBe(1);
    expect(sample(after, 'outreach_mailbox_up', { mailbox: 'pat@metrics-sender.test', status: 'active' })).toBeUndefined();
    expect(sample(after, 'outreach_http_request_duration_seconds_count', { method: 'PATCH', route: '/api/accounts/:id', status: '2xx' })).toBe(1);
    expect(after).not.toContain(account.id);
  });

  it('records a request answered by the error middleware under its route template too, and an unknown path as unmatched', async () => {
    const missing = await request(app).get('/api/accounts/00000000-0000-4000-8000-000000000000').set(bearer(world.a.adminToken));
    expect(missing.status).toBe(404);
    expect((await request(app).get('/no/such/path/12345')).status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'outreach_http_request_duration_seconds_count', { method: 'GET', route: '/api/accounts/:id', status: '4xx' })).toBe(1);
    expect(sample(text, 'outreach_http_request_duration_seconds_count', { method: 'GET', route: 'unmatched', status: '4xx' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('12345');
  });

  it('counts workers by the state of their heartbeat, and those whose heartbeat is too old as stale', async () => {
    const live = await createAccount(t.db, world.a.clientId);
    const lost = await createAccount(t.db, world.a.clientId);
    const before = await scrape();
    await recordHeartbeats(t.db, 'metrics-node', [
      { accountId: live.id, pid: 101, state: 'waiting', sent: 0, beatAt: new Date() },
      { accountId: lost.id, pid: 102, state: 'sending', sent: 3, beatAt: new Date(Date.now() - 3_600_000) },
    ]);
    const after = await scrape();
    const delta = (state: string) => (sample(after, 'outreach_workers', { state }) ?? 0) - (sample(before, 'outreach_workers', { state }) ?? 0);
    expect(delta('waiting')).toBe(1);
    expect(delta('stale')).toBe(1);
  });

  it('counts inbound events by kind and opens and clicks, and shows each sender domain’s complaint and bounce rates', async () => {
    const sentAt = new Date(Date.now() - 3_600_000);
    const email = (i: number) => `reader${i}@metrics-client.test`;
    const messageId = (i: number) => `<metrics-${i}@metrics-rates.test>`;
    await inboundWorld(t.db, {
      clientId: world.a.clientId,
      accountEmail: 'rita@metrics-rates.test',
      contacts: Array.from({ length: 10 }, (_, i) => ({ email: email(i), messageId: messageId(i) })),
      sentAt,
    });
    const before = await scrape();
    const deps = inboundDeps();
    const event = (i: number, kind: 'complaint' | 'bounce' | 'open' | 'click') => ({
      source: 'ses',
      eventId: `metrics-${kind}-${i}`,
      kind,
      recipient: email(i),
      messageId: messageId(i),
      clientId: world.a.clientId,
      occurredAt: new Date(),
      ...(kind === 'bounce' ? { status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown' } : {}),
    });
    await applyFeedbackEvent(t.db, event(0, 'complaint'), deps);
    await applyFeedbackEvent(t.db, event(1, 'bounce'), deps);
    await applyEngagementEvent(t.db, { ...event(2, 'open'), kind: 'open' }, deps);
    await applyEngagementEvent(t.db, { ...event(3, 'click'), kind: 'click' }, deps);
    const after = await scrape();
    const delta = (name: string, labels: Record<string, string>) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);
    expect(delta('outreach_inbound_messages_total', { kind: 'complaint' })).toBe(1);
    expect(delta('outreach_inbound_messages_total', { kind: 'bounce' })).toBe(1);
    expect(delta('outreach_tracking_events_total', { event: 'open', automated: 'false' })).toBe(1);
    expect(delta('outreach_tracking_events_total', { event: 'click', automated: 'false' })).toBe(1);

    // Domain rates are refreshed in the background; a server started now reads them at its first scrape.
    const fresh = createServerMetrics({ config: testConfig({}, { metrics: { cacheMs: 0 } }), db: t.db, logger: createLogger('error') });
    try {
      const text = await fresh.scrape();
      const domain = { domain: 'metrics-rates.test' };
      expect(sample(text, 'outreach_domain_sends', domain)).toBe(10);
      expect(sample(text, 'outreach_domain_complaint_rate', domain)).toBeCloseTo(0.1);
      expect(sample(text, 'outreach_domain_bounce_rate', domain)).toBeCloseTo(0.1);
    } finally {
      fresh.stop();
    }
  });

  it('shows each sender domain’s DNS checks and the blocklist listings still open', async () => {
    const created = await request(app).post('/api/domains').set(bearer(world.a.adminToken)).send({ domain: 'checked.metrics.test' });
    expect(created.status).toBe(201);
    // What the DNS check (src/dns/) records: SPF passes, DKIM fails, DMARC not checked yet.
    await t.db.updateTable('sender_domains').set({ spf_status: 'pass', dkim_status: 'fail' }).where('id', '=', created.body.id).execute();
    const listing = { kind: 'sending_domain', target: 'checked.metrics.test', zone: 'dbl.example.test', reason: '127.0.1.2' };
    const raised = await raiseAlert(t.db, { clientId: world.a.clientId, accountId: null, severity: 'critical', code: BLOCKLIST_ALERT, entityKey: 'domain:checked.metrics.test@dbl.example.test', message: 'listed', details: listing });
    let text = await scrape();
    const domain = { domain: 'checked.metrics.test' };
    expect(sample(text, 'outreach_domain_auth_ok', { ...domain, check: 'spf' })).toBe(1);
    expect(sample(text, 'outreach_domain_auth_ok', { ...domain, check: 'dkim' })).toBe(0);
    expect(sample(text, 'outreach_domain_auth_ok', { ...domain, check: 'dmarc' })).toBeUndefined();
    expect(sample(text, 'outreach_blocklist_listed', { target: 'checked.metrics.test', zone: 'dbl.example.test' })).toBe(1);
    expect(sample(text, 'outreach_database_up')).toBe(1);
    await t.db.updateTable('alerts').set({ resolved_at: new Date() }).where('id', '=', raised.id).execute();
    text = await scrape();
    expect(sample(text, 'outreach_blocklist_listed', { target: 'checked.metrics.test', zone: 'dbl.example.test' })).toBeUndefined();
  });

  it('still answers when the database does not, with outreach_database_up 0', async () => {
    const port = await findFreePort();
    const gone = createDb(`postgres://postgres@127.0.0.1:${port}/none`, { poolMax: 1, idleTimeoutMs: 1000 });
    const down = createServerMetrics({ config: testConfig({}, { metrics: { cacheMs: 0 } }), db: gone, logger: createLogger('error') });
    try {
      const text = await down.scrape();
      expect(sample(text, 'outreach_database_up')).toBe(0);
    } finally {
      down.stop();
      await gone.destroy();
    }
  });

  it('serves text that `promtool check metrics` accepts without a finding', async () => {
    const text = await scrape();
    // promtool exits non-zero (and names the problem) on a malformed line or a lint finding.
    const findings = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(findings).toBe('');
  });

  it('asks by default for the token generated into DATA_DIR/metrics-token (readable by its owner only)', async () => {
    const config = testConfig();
    const own = createServerMetrics({ config, db: t.db, logger: createLogger('error') });
    try {
      const ownApp = createApp({ config, db: t.db, logger: createLogger('error'), metrics: own });
      const file = path.join(config.dataDir, 'metrics-token');
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      const token = fs.readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThanOrEqual(32);
      expect((await request(ownApp).get('/metrics')).status).toBe(401);
      expect((await request(ownApp).get('/metrics').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    } finally {
      own.stop();
    }
  });

  it('serves /metrics without a token on a port of its own (metrics.port), and not on the main port then', async () => {
    const config = testConfig({}, { metrics: { port: 1, cacheMs: 0 } });
    const own = createServerMetrics({ config, db: t.db, logger: createLogger('error') });
    const listener = await startMetricsListener(own, '127.0.0.1', 0, createLogger('error'));
    try {
      const text = await request(listener).get('/metrics');
      expect(text.status).toBe(200);
      expect(sample(text.text, 'outreach_mailboxes', { status: 'active' })).toBeGreaterThan(0);
      expect((await request(listener).get('/api/accounts')).status).toBe(404);
      const mainApp = createApp({ config, db: t.db, logger: createLogger('error'), metrics: own });
      expect((await request(mainApp).get('/metrics')).status).toBe(404);
    } finally {
      own.stop();
      await new Promise((resolve) => listener.close(resolve));
    }
  });
});
