/**
 * GET /metrics against the real app, database and a real SMTP peer: the endpoint asks for its
 * bearer token, `promtool check metrics` accepts what it serves, and the figures follow real
 * actions (a send by the real worker, a mailbox paused through the API, an API request).
 */
import { execFileSync } from 'node:child_process';
import request from 'supertest';
import type { Express } from 'express';
import { createApp } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { createServerMetrics, type ServerMetrics } from '../../src/metrics/server-metrics';
import { enqueueCampaign } from '../../src/queue/enqueue';
import { transportForAccount } from '../../src/sending/account-transport';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { bearer, createWorld, testConfig, type World } from '../http/admin-api.helpers';
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

  it('serves text that `promtool check metrics` accepts without a finding', async () => {
    const text = await scrape();
    // promtool exits non-zero (and names the problem) on a malformed line or a lint finding.
    const findings = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(findings).toBe('');
  });
});
