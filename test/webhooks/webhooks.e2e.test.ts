/**
 * ESP webhooks end to end: a client sets up a two-step campaign and its webhook endpoints
 * through the API, the real SendWorker sends step 1 through the real SMTP transport to a local
 * smtp-server, and the providers' signed events about those very messages (by their
 * Message-IDs, or by recipient alone) come in through the public endpoints: SES (through SNS)
 * bounces two recipients in one notification, SendGrid reports a complaint and a soft
 * "Technical Failure" bounce, Mailgun a permanent failure. The processing loop turns them into
 * the same effects as DSNs and ARF reports: suppressions, stopped sequences, a paused mailbox,
 * campaign statistics; once, however often they are delivered.
 */
import crypto from 'node:crypto';
import { simpleParser } from 'mailparser';
import request from 'supertest';
import { createCredentialCipher } from '../../src/crypto/credential-cipher';
import { createSnsClientFor } from '../../src/http/app';
import { createLogger } from '../../src/logger';
import { openAccountTransport } from '../../src/sending/account-transport';
import { SendWorker } from '../../src/sending/send-worker';
import { trackingSignerFor } from '../../src/tracking/tracking-signer';
import { runWebhookDeliveries, webhookProcessingOptionsFrom } from '../../src/webhooks/webhook-processor';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, testConfig } from '../http/admin-api.helpers';
import { ControlledClock, runUntil, silentLogger, workerSettings } from '../sending/worker-harness';
import { createSendgridSigner, createSnsSigner, mailgunSigned, sesBounce, snsNotification, startSnsPeer, TOPIC_ARN, type SnsPeer } from './esp-peers';

const t = useTestDatabase();
const SMTP_LOGIN = { user: 'esp-login', pass: 'esp-password' };
const PEOPLE = ['ses-one', 'ses-two', 'sg-complainer', 'sg-soft', 'mg-gone', 'fine'] as const;
const MAILGUN_KEY = 'key-e2e-0123456789abcdef0123456789';

describe('ESP webhooks about messages the campaign really sent', () => {
  let smtp: SmtpPeer;
  let snsPeer: SnsPeer;
  const sns = createSnsSigner();
  const sendgrid = createSendgridSigner();
  beforeAll(async () => {
    smtp = await startSmtpPeer({ auth: SMTP_LOGIN });
    snsPeer = await startSnsPeer(sns.certificatePem);
  });
  afterAll(async () => {
    await smtp?.close();
    await snsPeer?.close();
  });

  it('suppress, stop and count what SES, SendGrid and Mailgun report, once each', async () => {
    const config = testConfig({}, { webhooks: { sns: { originOverride: snsPeer.origin } } });
    const app = testApp(t.db, config);
    const world = await createWorld(t.db, app, 'esp');
    const admin = bearer(world.a.adminToken);
    const domainId = await addSenderDomain(app, world.a.adminToken, 'mail.esp.example');
    const account = await request(app)
      .post('/api/accounts')
      .set(admin)
      .send({ transport: 'smtp', email: 'eve@mail.esp.example', displayName: 'Eve', domainId, transportSettings: { host: smtp.host, port: smtp.port, secure: false, requireTLS: false }, credentials: SMTP_LOGIN, dailyLimit: 1000, hourlyLimit: 1000, minGapSeconds: 0, warmupEnabled: false });
    expect(account.status).toBe(201);
    const accountId = (account.body as { id: string }).id;
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({
        name: 'ESP', timeZone: 'UTC', sendDays: [1, 2, 3, 4, 5, 6, 7], windowStartMinute: 0, windowEndMinute: 1440, senderAccountIds: [accountId],
        steps: [{ subject: 'A question', bodyText: 'Hi {{first_name|there}}.', bodyHtml: '', delayMinutes: 0 }, { subject: '', bodyText: 'Following up.', bodyHtml: '', delayMinutes: 60 }],
      });
    expect(campaign.status).toBe(201);
    const campaignId = (campaign.body as { id: string }).id;
    const csv = ['email,first_name', ...PEOPLE.map((p) => `${p}@${p}.example,${p}`)].join('\n');
    expect((await request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send(csv)).status).toBe(200);
    expect((await request(app).post(`/api/campaigns/${campaignId}/start`).set(admin)).status).toBe(200);

    // --- Step 1 really goes out, through the SMTP transport. ---
    const sentTo = async () => (await t.db.selectFrom('email_queue').select('to_email').where('campaign_id', '=', campaignId).where('step_number', '=', 1).where('status', '=', 'sent').execute()).length;
    const transport = await openAccountTransport(t.db, accountId, createCredentialCipher(config.credentialKeys));
    if (!transport) throw new Error('no transport');
    try {
      const worker = new SendWorker(accountId, { db: t.db, transport, clock: new ControlledClock(Date.now()), logger: silentLogger, signer: trackingSignerFor(config), settings: workerSettings() });
      expect((await runUntil(worker, async () => (await sentTo()) === PEOPLE.length, 60_000)).reason).toBe('stopped');
    } finally {
      await transport.close();
    }
    const messageIds = new Map<string, string>();
    for (const message of smtp.received) messageIds.set(message.to[0]!, (await simpleParser(message.raw)).messageId!);
    const to = (person: (typeof PEOPLE)[number]) => `${person}@${person}.example`;

    // --- The endpoints, as the client's admin adds them. ---
    const endpoint = async (body: object) => new URL(((await request(app).post('/api/webhook-endpoints').set(admin).send(body)).body as { url: string }).url).pathname;
    const ses = await endpoint({ provider: 'ses', name: 'SES', topicArns: [TOPIC_ARN] });
    const sg = await endpoint({ provider: 'sendgrid', name: 'SendGrid', verificationKey: sendgrid.verificationKey });
    const mg = await endpoint({ provider: 'mailgun', name: 'Mailgun', signingKey: MAILGUN_KEY });

    // SES: one notification, two bounced recipients (not only the first destination).
    const bounce = sesBounce(messageIds.get(to('ses-one'))!, [
      { email: to('ses-one'), status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 The email account that you tried to reach does not exist' },
      { email: to('ses-two'), status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown' },
    ]);
    const notification = JSON.stringify(sns.sign(snsNotification(bounce)));
    const sesAnswer = await request(app).post(ses).set('Content-Type', 'text/plain; charset=UTF-8').send(notification);
    expect(sesAnswer.status).toBe(200);
    // SNS retries a delivery it thinks failed: the same message is stored once.
    expect((await request(app).post(ses).set('Content-Type', 'text/plain; charset=UTF-8').send(notification)).body).toEqual({ received: true, duplicate: true });

    // SendGrid: a complaint matched by recipient alone, a Title-case "Technical Failure" bounce (soft), and a "processed" event (no effect).
    const now = Math.floor(Date.now() / 1000);
    const batch = JSON.stringify([
      { email: to('sg-complainer'), timestamp: now, event: 'spamreport', sg_event_id: crypto.randomUUID(), sg_message_id: 'sg.1' },
      { email: to('sg-soft'), timestamp: now, event: 'bounce', type: 'bounce', sg_event_id: crypto.randomUUID(), 'smtp-id': messageIds.get(to('sg-soft')), status: '5.0.0', reason: 'rejected', bounce_classification: 'Technical Failure' },
      { email: to('fine'), timestamp: now, event: 'processed', sg_event_id: crypto.randomUUID() },
    ]);
    const signed = sendgrid.sign(batch);
    const sgAnswer = await request(app).post(sg).set('Content-Type', 'application/json').set('X-Twilio-Email-Event-Webhook-Signature', signed.signature).set('X-Twilio-Email-Event-Webhook-Timestamp', signed.timestamp).send(batch);
    expect(sgAnswer.status).toBe(200);

    // Mailgun: a permanent failure naming our Message-ID (without brackets, as Mailgun echoes it), and a delivery.
    const mgFailed = mailgunSigned(MAILGUN_KEY, {
      id: crypto.randomUUID(), event: 'failed', severity: 'permanent', reason: 'bounce', timestamp: Date.now() / 1000, recipient: to('mg-gone'),
      message: { headers: { 'message-id': messageIds.get(to('mg-gone'))!.replace(/^<|>$/g, '') } },
      'delivery-status': { code: 550, 'enhanced-code': '5.1.1', message: '5.1.1 mailbox does not exist' },
    });
    expect((await request(app).post(mg).set('Content-Type', 'application/json').send(mgFailed)).status).toBe(200);
    const mgDelivered = mailgunSigned(MAILGUN_KEY, { id: crypto.randomUUID(), event: 'delivered', timestamp: Date.now() / 1000, recipient: to('fine'), 'delivery-status': { code: 250, message: 'OK' } });
    expect((await request(app).post(mg).set('Content-Type', 'application/json').send(mgDelivered)).status).toBe(200);

    // Nothing has acted yet: the requests only stored what they verified.
    expect(await t.db.selectFrom('suppressions').select('email').where('client_id', '=', world.a.clientId).execute()).toEqual([]);
    const listed = await request(app).get('/api/webhook-endpoints').set(admin);
    expect(listed.body.endpoints.map((e: { provider: string; pendingDeliveries: number }) => [e.provider, e.pendingDeliveries])).toEqual([['ses', 1], ['sendgrid', 1], ['mailgun', 2]]);

    // --- The loop processes them. ---
    const options = webhookProcessingOptionsFrom(config, createSnsClientFor(config), createLogger('error'));
    const pass = await runWebhookDeliveries(t.db, new Date(), options);
    expect(pass).toEqual({ claimed: 4, done: 4, retrying: 0, failed: 0, events: 6 });

    const suppressed = await request(app).get('/api/suppressions').set(admin);
    const reasons = Object.fromEntries((suppressed.body.suppressions as Array<{ email: string; reason: string }>).map((s) => [s.email.split('@')[0], s.reason]));
    expect(reasons).toEqual({ 'ses-one': 'hard_bounce', 'ses-two': 'hard_bounce', 'sg-complainer': 'complaint', 'mg-gone': 'hard_bounce' });

    const rows = await t.db
      .selectFrom('email_queue')
      .innerJoin('campaign_contacts', (j) => j.onRef('campaign_contacts.contact_id', '=', 'email_queue.contact_id').onRef('campaign_contacts.campaign_id', '=', 'email_queue.campaign_id'))
      .select(['email_queue.to_email', 'email_queue.status', 'campaign_contacts.status as membership'])
      .where('email_queue.campaign_id', '=', campaignId)
      .where('email_queue.step_number', '=', 2)
      .execute();
    const followUps = Object.fromEntries(rows.map((r) => [r.to_email.split('@')[0], `${r.status}/${r.membership}`]));
    expect(followUps).toEqual({
      'ses-one': 'cancelled/bounced',
      'ses-two': 'cancelled/bounced',
      'sg-complainer': 'cancelled/complained',
      'sg-soft': 'queued/active',
      'mg-gone': 'cancelled/bounced',
      fine: 'queued/active',
    });
    const inbound = await t.db.selectFrom('inbound_messages').select(['source', 'kind', 'sub_kind', 'match_method', 'to_address']).where('client_id', '=', world.a.clientId).orderBy('source').orderBy('to_address').execute();
    expect(inbound).toEqual([
      { source: 'mailgun', kind: 'delivered', sub_kind: null, match_method: 'recipient', to_address: to('fine') },
      { source: 'mailgun', kind: 'bounce', sub_kind: 'recipient_hard', match_method: 'message_id', to_address: to('mg-gone') },
      { source: 'sendgrid', kind: 'complaint', sub_kind: 'abuse', match_method: 'recipient', to_address: to('sg-complainer') },
      { source: 'sendgrid', kind: 'bounce', sub_kind: 'recipient_soft', match_method: 'message_id', to_address: to('sg-soft') },
      { source: 'ses', kind: 'bounce', sub_kind: 'recipient_hard', match_method: 'message_id', to_address: to('ses-one') },
      // The notification names ses-one's Message-ID: ses-two's bounce is matched by its own address, never to ses-one's row.
      { source: 'ses', kind: 'bounce', sub_kind: 'recipient_hard', match_method: 'recipient', to_address: to('ses-two') },
    ]);
    expect((await request(app).get(`/api/accounts/${accountId}`).set(admin)).body).toMatchObject({ status: 'paused', pauseReason: 'complaint' });
    const stats = await request(app).get(`/api/campaigns/${campaignId}/stats`).set(admin);
    expect(stats.body.totals).toMatchObject({ sent: PEOPLE.length, bounced: 3, complained: 1, cancelled: 4 });

    // --- The same events again, in new deliveries (SendGrid re-batches): nothing acts twice. ---
    const again = JSON.stringify([JSON.parse(batch)[0]]);
    const resigned = sendgrid.sign(again);
    expect((await request(app).post(sg).set('Content-Type', 'application/json').set('X-Twilio-Email-Event-Webhook-Signature', resigned.signature).set('X-Twilio-Email-Event-Webhook-Timestamp', resigned.timestamp).send(again)).status).toBe(200);
    expect(await runWebhookDeliveries(t.db, new Date(), options)).toEqual({ claimed: 1, done: 1, retrying: 0, failed: 0, events: 0 });
    expect(await t.db.selectFrom('complaints').select('email').where('client_id', '=', world.a.clientId).execute()).toHaveLength(1);
  }, 120_000);
});
