/**
 * Alerts reaching people through their channels, against local peers: a Telegram Bot API and a
 * Slack webhook and a webhook receiver (test/alerts/http-peer.ts), an SMTP relay
 * (test/helpers/smtp-peer.ts). A mailbox paused by a real complaint reaches Telegram once and
 * its resume sends one "resolved"; repeats bump a counter; a channel takes so many messages an
 * hour; a 500 is retried; webhooks are signed; each client sees only its own; bad input is a 400.
 */
import crypto from 'node:crypto';
import request from 'supertest';
import { raiseAlert, resolveAlerts } from '../../src/alerts/alerts';
import { runAlertDeliveries } from '../../src/alerts/alert-delivery.service';
import type { Config } from '../../src/config';
import { ingestInboundMessage } from '../../src/inbound/ingest';
import { pauseSenderDomain, resumeAfterProbe } from '../../src/sending/account-state.repository';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { account, fixture, inboundDeps, inboundWorld } from '../inbound/inbound-world';
import { startHttpPeer, type HttpPeer } from './http-peer';

const t = useTestDatabase();
const BOT_TOKEN = '123456:AAbbCCddEEffGGhhIIjjKKllMMnn';
let peer: HttpPeer;
let smtp: SmtpPeer;
let config: Config;
let world: World;
let worlds = 0;

beforeAll(async () => {
  peer = await startHttpPeer();
  smtp = await startSmtpPeer();
  config = testConfig({}, {
    alerts: {
      telegramApiBaseUrl: `${peer.url}/telegram`,
      slackWebhookUrlPrefix: `${peer.url}/services/`,
      webhookHostAllowList: ['127.0.0.1'],
      emailSmtpHost: '127.0.0.1',
      emailSmtpPort: smtp.port,
      emailFrom: 'alerts@ops.test',
    },
  });
  world = await createWorld(t.db, testApp(t.db, config), 'alc');
});

afterAll(async () => {
  await peer.close();
  await smtp.close();
});

/** A world of its own: its clients' channels receive only its alerts. */
async function freshWorld(): Promise<World> {
  worlds += 1;
  return createWorld(t.db, world.app, `alc${worlds}`);
}

const deliver = (at = new Date(), c: Config = config) => runAlertDeliveries(t.db, at, c);
const telegramTo = (chatId: string) => peer.requests.filter((r) => r.path.startsWith('/telegram/') && (JSON.parse(r.body) as { chat_id: string }).chat_id === chatId);
const textOf = (r: { body: string }) => (JSON.parse(r.body) as { text: string }).text;

async function createChannel(token: string, body: Record<string, unknown>): Promise<string> {
  const res = await request(world.app).post('/api/alert-channels').set(bearer(token)).send(body);
  if (res.status !== 201) throw new Error(`channel: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { id: string }).id;
}

function anAlert(clientId: string, entity: string, code = 'test_condition') {
  return { clientId, accountId: null, severity: 'critical' as const, code, entityKey: entity, message: `Something is wrong with ${entity}`, details: { entity } };
}

describe('a mailbox paused by a complaint', () => {
  it('reaches the Telegram chat once, and once "resolved" after the mailbox resumes', async () => {
    const w = await freshWorld();
    await createChannel(w.a.adminToken, { kind: 'telegram', name: 'Ops chat', botToken: BOT_TOKEN, chatId: '-100200', minSeverity: 'critical' });
    const messageId = '<a1e2c3d4-0101-4e1a-8b1c-e1e1e1e1e201@mail.harbour.test>';
    const mailbox = await inboundWorld(t.db, { clientId: w.a.clientId, accountEmail: 'bob@mail.harbour.test', contacts: [{ email: 'annoyed.reader@aol.test', messageId }], sentAt: new Date('2026-12-03T12:00:00Z') });
    const raw = fixture('complaint/arf-rfc5965-abuse-aol.eml');
    const received = new Date('2026-12-03T13:00:00Z');
    await ingestInboundMessage(t.db, { accountId: mailbox.accountId, source: 'imap', sourceKey: '1:1', raw, receivedAt: received }, inboundDeps({}, () => received));
    expect((await account(t.db, mailbox.accountId)).status).toBe('paused');

    await deliver();
    await deliver();
    const raised = telegramTo('-100200');
    expect(raised).toHaveLength(1);
    expect(raised[0]!.path).toBe(`/telegram/bot${BOT_TOKEN}/sendMessage`);
    expect(textOf(raised[0]!)).toMatch(/^CRITICAL: Sender bob@mail\.harbour\.test was paused \(a recipient reported a message as spam\)/);

    expect(await resumeAfterProbe(t.db, mailbox.accountId, new Date())).toBe(true);
    await deliver();
    await deliver();
    const all = telegramTo('-100200');
    expect(all).toHaveLength(2);
    expect(textOf(all[1]!)).toMatch(/^Resolved: Sender bob@mail\.harbour\.test was paused/);

    const listed = await request(world.app).get('/api/alerts?code=account_paused').set(bearer(w.a.viewerToken));
    expect(listed.status).toBe(200);
    expect(listed.body.total).toBe(1);
    expect(listed.body.alerts[0]).toMatchObject({ code: 'account_paused', accountId: mailbox.accountId, entityKey: `account:${mailbox.accountId}`, occurrences: 1 });
    expect(listed.body.alerts[0].resolvedAt).not.toBeNull();
  });

  it('resolves when an operator sets the mailbox active through the API', async () => {
    const w = await freshWorld();
    await createChannel(w.a.adminToken, { kind: 'telegram', name: 'Ops chat', botToken: BOT_TOKEN, chatId: '-100201' });
    const domain = await request(world.app).post('/api/domains').set(bearer(w.a.adminToken)).send({ domain: 'ops.harbour.test' });
    expect(domain.status).toBe(201);
    const created = await request(world.app)
      .post('/api/accounts')
      .set(bearer(w.a.adminToken))
      .send({ email: 'eve@ops.harbour.test', transport: 'sink', status: 'disabled' });
    expect({ status: created.status, body: created.body }).toMatchObject({ status: 201 });
    const accountId = created.body.id as string;
    await t.db.transaction().execute((tx) => raiseAlert(tx, { clientId: w.a.clientId, accountId, severity: 'critical', code: 'worker_crashed', entityKey: `account:${accountId}`, message: 'Worker for eve kept crashing', details: {} }));
    await deliver();
    const resumed = await request(world.app).patch(`/api/accounts/${accountId}`).set(bearer(w.a.adminToken)).send({ status: 'active' });
    expect(resumed.status).toBe(200);
    await deliver();
    expect(telegramTo('-100201').map(textOf)).toEqual(['CRITICAL: Worker for eve kept crashing', 'Resolved: Worker for eve kept crashing']);
  });
});

describe('a sender domain whose authentication was refused', () => {
  it('raises one alert for the domain, resolved once a probe of one of its mailboxes goes through', async () => {
    const w = await freshWorld();
    await createChannel(w.a.adminToken, { kind: 'telegram', name: 'Ops chat', botToken: BOT_TOKEN, chatId: '-100202' });
    const mailbox = await inboundWorld(t.db, { clientId: w.a.clientId, accountEmail: 'ann@auth.harbour.test', contacts: [], sentAt: new Date() });
    const now = new Date();
    expect(await pauseSenderDomain(t.db, { clientId: w.a.clientId, domain: 'auth.harbour.test', reason: 'sender_auth', until: new Date(now.getTime() + 60_000), now, details: {} })).toBe(1);
    expect(await resumeAfterProbe(t.db, mailbox.accountId, new Date())).toBe(true);
    await deliver();
    expect(telegramTo('-100202').map(textOf)).toEqual([
      expect.stringMatching(/^CRITICAL: Sender domain auth\.harbour\.test: a receiving server refused its authentication/),
      expect.stringMatching(/^Resolved: Sender domain auth\.harbour\.test/),
    ]);
  });
});

describe('Slack, signed webhook and e-mail', () => {
  it('delivers to each, signs the webhook, and retries a 500 until the receiver takes it', async () => {
    const w = await freshWorld();
    const secret = 'whsec-0123456789abcdef';
    await createChannel(w.b.adminToken, { kind: 'slack', name: 'Slack', webhookUrl: `${peer.url}/services/T000/B000/slack-${w.b.clientId}`, minSeverity: 'info' });
    await createChannel(w.b.adminToken, { kind: 'webhook', name: 'PagerBridge', url: `${peer.url}/hook/${w.b.clientId}`, secret });
    await createChannel(w.b.adminToken, { kind: 'email', name: 'On call', to: 'oncall@ops.test' });

    await raiseAlert(t.db, anAlert(w.b.clientId, 'domain:burnt.test'));
    peer.answer(`/hook/${w.b.clientId}`, 500);
    const hookRequests = () => peer.requests.filter((r) => r.path === `/hook/${w.b.clientId}`);
    expect(await deliver()).toMatchObject({ claimed: 3, delivered: 2, retrying: 1 });
    expect(hookRequests()).toHaveLength(1);

    // Whatever failed is due again later (back-off), not at once.
    expect((await deliver()).claimed).toBe(0);
    const later = await deliver(new Date(Date.now() + 24 * 3_600_000));
    expect(later).toMatchObject({ claimed: 1, delivered: 1 });
    expect(hookRequests()).toHaveLength(2);

    const slack = peer.requests.filter((r) => r.path === `/services/T000/B000/slack-${w.b.clientId}`);
    expect(slack.map(textOf)).toEqual(['CRITICAL: Something is wrong with domain:burnt.test']);
    const hook = hookRequests().at(-1)!;
    const signature = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(hook.headers['x-outreach-signature']))!;
    expect(signature).not.toBeNull();
    expect(crypto.createHmac('sha256', secret).update(`${signature[1]}.${hook.body}`).digest('hex')).toBe(signature[2]);
    expect(JSON.parse(hook.body)).toMatchObject({ event: 'raised', alert: { code: 'test_condition', severity: 'critical', clientId: w.b.clientId, entityKey: 'domain:burnt.test' } });

    const mail = smtp.received.filter((m) => m.to.includes('oncall@ops.test'));
    expect(mail).toHaveLength(1);
    expect(mail[0]!.from).toBe('alerts@ops.test');
    expect(mail[0]!.raw).toContain('Subject: [CRITICAL] test_condition');
    expect(mail[0]!.raw).toContain('Something is wrong with domain:burnt.test');
  });
});

describe('deduplication and rate limit', () => {
  it('keeps one open alert per entity: repeats count, send nothing; after it is resolved a new one is sent', async () => {
    const w = await freshWorld();
    await createChannel(w.a.adminToken, { kind: 'telegram', name: 'Dedup', botToken: BOT_TOKEN, chatId: '-100300' });
    const first = await raiseAlert(t.db, anAlert(w.a.clientId, 'domain:dup.test'));
    const again = await raiseAlert(t.db, anAlert(w.a.clientId, 'domain:dup.test'));
    await raiseAlert(t.db, anAlert(w.a.clientId, 'domain:dup.test'));
    expect(first.isNew).toBe(true);
    expect(again).toEqual({ id: first.id, isNew: false });
    // A system alert (no client) is deduplicated alike.
    const system = { ...anAlert(w.a.clientId, 'ip:192.0.2.7', 'blocklist_listed'), clientId: null };
    const listed1 = await raiseAlert(t.db, system);
    expect(await raiseAlert(t.db, system)).toEqual({ id: listed1.id, isNew: false });
    await resolveAlerts(t.db, { clientId: null, entityKey: 'ip:192.0.2.7' });
    await deliver();
    expect(telegramTo('-100300')).toHaveLength(1);
    const listed = await request(world.app).get('/api/alerts?state=open').set(bearer(w.a.adminToken));
    expect(listed.body.alerts).toEqual([expect.objectContaining({ id: first.id, occurrences: 3 })]);

    expect(await resolveAlerts(t.db, { clientId: w.a.clientId, entityKey: 'domain:dup.test' })).toEqual([first.id]);
    const reopened = await raiseAlert(t.db, anAlert(w.a.clientId, 'domain:dup.test'));
    expect(reopened.isNew).toBe(true);
    await deliver();
    // Sent after the repeats, the message counts them.
    expect(telegramTo('-100300').map(textOf)).toEqual([
      'CRITICAL: Something is wrong with domain:dup.test (seen 3 times)',
      'Resolved: Something is wrong with domain:dup.test',
      'CRITICAL: Something is wrong with domain:dup.test',
    ]);
  });

  it('sends a channel at most alerts.channelMessagesPerHour an hour; the rest are kept as rate_limited', async () => {
    const w = await freshWorld();
    const channelId = await createChannel(w.a.adminToken, { kind: 'telegram', name: 'Storm', botToken: BOT_TOKEN, chatId: '-100400' });
    for (const n of [1, 2, 3]) await raiseAlert(t.db, anAlert(w.a.clientId, `domain:storm-${n}.test`));
    const limited = { ...config, alerts: { ...config.alerts, channelMessagesPerHour: 2 } };
    expect(await deliver(new Date(), limited)).toMatchObject({ claimed: 3, delivered: 2, rateLimited: 1 });
    expect(telegramTo('-100400')).toHaveLength(2);
    const rows = await t.db.selectFrom('alert_deliveries').select('status').where('channel_id', '=', channelId).orderBy('id').execute();
    expect(rows.map((r) => r.status)).toEqual(['delivered', 'delivered', 'rate_limited']);
  });
});

describe('tenancy, acknowledgement, test messages', () => {
  it('shows a client only its alerts and channels; the owner’s channel gets every client’s alerts', async () => {
    const w = await freshWorld();
    const aChannel = await createChannel(w.a.adminToken, { kind: 'telegram', name: 'A', botToken: BOT_TOKEN, chatId: '-100500' });
    const ownerChannel = await createChannel(w.ownerToken, { kind: 'telegram', name: 'Owner', botToken: BOT_TOKEN, chatId: '-100501' });
    const aAlert = await raiseAlert(t.db, anAlert(w.a.clientId, 'domain:a.test'));
    await raiseAlert(t.db, anAlert(w.b.clientId, 'domain:b.test'));
    await deliver();
    expect(telegramTo('-100500').map(textOf)).toEqual(['CRITICAL: Something is wrong with domain:a.test']);
    expect(telegramTo('-100501').map(textOf).sort()).toEqual(['CRITICAL: Something is wrong with domain:a.test', 'CRITICAL: Something is wrong with domain:b.test']);
    // Not to disturb the other tests' chats.
    expect((await request(world.app).delete(`/api/alert-channels/${ownerChannel}`).set(bearer(w.ownerToken))).status).toBe(204);

    const b = bearer(w.b.adminToken);
    const bAlerts = await request(world.app).get('/api/alerts').set(b);
    expect(bAlerts.body.alerts.map((x: { entityKey: string }) => x.entityKey)).toEqual(['domain:b.test']);
    expect((await request(world.app).get(`/api/alert-channels/${aChannel}`).set(b)).status).toBe(404);
    expect((await request(world.app).post(`/api/alerts/${aAlert.id}/acknowledge`).set(b)).status).toBe(404);
    expect((await request(world.app).post(`/api/alert-channels/${aChannel}/test`).set(b)).status).toBe(404);
    expect((await request(world.app).get('/api/alert-channels').set(b)).body.total).toBe(0);
    expect((await request(world.app).post(`/api/alerts/${aAlert.id}/acknowledge`).set(bearer(w.a.viewerToken))).status).toBe(403);

    const acked = await request(world.app).post(`/api/alerts/${aAlert.id}/acknowledge`).set(bearer(w.a.adminToken));
    expect(acked.status).toBe(200);
    expect(acked.body).toMatchObject({ id: aAlert.id, acknowledgedBy: w.a.adminId });
    expect((await request(world.app).get('/api/alerts?acknowledged=false').set(bearer(w.a.adminToken))).body.total).toBe(0);

    const channel = await request(world.app).get(`/api/alert-channels/${aChannel}`).set(bearer(w.a.viewerToken));
    expect(channel.body).toMatchObject({ kind: 'telegram', chatId: '-100500', hasSecret: true, clientId: w.a.clientId });
    expect(JSON.stringify(channel.body)).not.toContain(BOT_TOKEN);
    const stored = await t.db.selectFrom('alert_channels').select('secret_encrypted').where('id', '=', aChannel).executeTakeFirstOrThrow();
    expect(stored.secret_encrypted).not.toContain(BOT_TOKEN);

    const test = await request(world.app).post(`/api/alert-channels/${aChannel}/test`).set(bearer(w.a.adminToken));
    expect(test.status).toBe(202);
    await deliver();
    expect(telegramTo('-100500').map(textOf).at(-1)).toMatch(/^Test message/);
  });

  it('answers 400 naming the field for bad channels and filters', async () => {
    const admin = bearer(world.a.adminToken);
    const cases: Array<[object, string]> = [
      [{ kind: 'telegram', name: 'T', botToken: 'not-a-token', chatId: '-1' }, 'botToken'],
      [{ kind: 'telegram', name: 'T', botToken: BOT_TOKEN, chatId: 'chat one' }, 'chatId'],
      [{ kind: 'slack', name: 'S', webhookUrl: 'https://evil.test/services/x' }, 'webhookUrl'],
      [{ kind: 'webhook', name: 'W', url: 'ftp://x.test/', secret: '0123456789abcdef' }, 'url'],
      [{ kind: 'webhook', name: 'W', url: 'http://10.1.2.3/hook', secret: '0123456789abcdef' }, 'url'],
      [{ kind: 'webhook', name: 'W', url: `${peer.url}/hook`, secret: 'short' }, 'secret'],
      [{ kind: 'email', name: 'E', to: 'not an address' }, 'to'],
      [{ kind: 'email', name: 'E', to: 'a@b.test', minSeverity: 'panic' }, 'minSeverity'],
      [{ kind: 'pager', name: 'P' }, 'kind'],
    ];
    for (const [body, path] of cases) {
      const res = await request(world.app).post('/api/alert-channels').set(admin).send(body);
      expect({ body, status: res.status, code: res.body.error?.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    expect((await request(world.app).get('/api/alerts?state=bogus').set(admin)).status).toBe(400);
    // A malformed id names nothing, like a foreign one (api-router.ts).
    expect((await request(world.app).post('/api/alerts/abc/acknowledge').set(admin)).status).toBe(404);
    expect((await request(world.app).post('/api/alerts/999999999/acknowledge').set(admin)).status).toBe(404);
    const channelId = await createChannel(world.a.adminToken, { kind: 'email', name: 'E', to: 'a@b.test' });
    const mismatch = await request(world.app).patch(`/api/alert-channels/${channelId}`).set(admin).send({ kind: 'slack', name: 'x' });
    expect(mismatch.status).toBe(409);
    expect((await request(world.app).post('/api/alert-channels').set(bearer(world.a.viewerToken)).send({ kind: 'email', name: 'E', to: 'a@b.test' })).status).toBe(403);
  });
});
