/**
 * The public webhook endpoints refuse what their provider did not send, with keys the test
 * makes: forged and re-serialised signatures, signing certificates off the topic's SNS host,
 * stale timestamps, replayed Mailgun tokens, foreign topics, malformed and oversized bodies;
 * and accept what it did (SNS as text/plain, SignatureVersion 1 and 2), storing it once.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { createLogger } from '../../src/logger';
import { createSnsClientFor } from '../../src/http/app';
import { runWebhookDeliveries, webhookProcessingOptionsFrom } from '../../src/webhooks/webhook-processor';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import {
  CERT_URL,
  createSendgridSigner,
  createSnsSigner,
  mailgunSigned,
  sesBounce,
  snsNotification,
  snsSubscriptionConfirmation,
  startSnsPeer,
  TOPIC_ARN,
  type SendgridSigner,
  type SnsPeer,
  type SnsSigner,
} from './esp-peers';

const t = useTestDatabase();
const MAILGUN_KEY = 'key-0123456789abcdef0123456789abcdef';
const BODY_LIMIT_KB = 16;

let peer: SnsPeer;
let sns: SnsSigner;
let sendgrid: SendgridSigner;
let config: Config;
let app: Express;
let world: World;
const urls = { ses: '', sendgrid: '', mailgun: '' };

beforeAll(async () => {
  sns = createSnsSigner();
  sendgrid = createSendgridSigner();
  peer = await startSnsPeer(sns.certificatePem);
  config = testConfig({}, { webhooks: { bodyLimitKb: BODY_LIMIT_KB, sns: { originOverride: peer.origin } } });
  app = testApp(t.db, config);
  world = await createWorld(t.db, app, 'wh');
  const admin = bearer(world.a.adminToken);
  const create = async (body: object) => {
    const res = await request(app).post('/api/webhook-endpoints').set(admin).send(body);
    expect(res.status).toBe(201);
    return new URL(res.body.url as string).pathname;
  };
  urls.ses = await create({ provider: 'ses', name: 'SES us-east-1', topicArns: [TOPIC_ARN] });
  urls.sendgrid = await create({ provider: 'sendgrid', name: 'SendGrid', verificationKey: sendgrid.verificationKey });
  urls.mailgun = await create({ provider: 'mailgun', name: 'Mailgun', signingKey: MAILGUN_KEY });
});

afterAll(async () => {
  await peer?.close();
});

beforeEach(async () => {
  await t.db.deleteFrom('webhook_deliveries').execute();
  peer.requests.length = 0;
});

const stored = async () => t.db.selectFrom('webhook_deliveries').select(['provider', 'status']).execute();
const postSns = (message: object, path = urls.ses) => request(app).post(path).set('Content-Type', 'text/plain; charset=UTF-8').send(JSON.stringify(message));
const bounceEvent = () => sesBounce('<wh-1@mail.example.test>', [{ email: 'gone@example.org', status: '5.1.1', diagnostic: 'smtp; 550 5.1.1 user unknown' }]);

describe('Amazon SES through SNS', () => {
  it('accepts a Notification posted as text/plain, signed with SignatureVersion 1 and with 2', async () => {
    for (const version of ['1', '2'] as const) {
      const res = await postSns(sns.sign(snsNotification(bounceEvent()), version));
      expect({ version, status: res.status, body: res.body }).toEqual({ version, status: 200, body: { received: true, duplicate: false } });
    }
    expect(await stored()).toEqual([{ provider: 'ses', status: 'pending' }, { provider: 'ses', status: 'pending' }]);
    // The certificate was fetched once (cached), from the path of the checked SigningCertURL.
    expect(peer.requests).toEqual([new URL(CERT_URL).pathname]);
  });

  it('refuses a forged signature: a field changed after signing, or signed by another key', async () => {
    const signed = sns.sign(snsNotification(bounceEvent()));
    const altered = await postSns({ ...signed, Message: signed.Message!.replace('gone@example.org', 'someone-else@example.org') });
    expect(altered.status).toBe(401);
    expect(altered.body.error.code).toBe('invalid_signature');
    const other = createSnsSigner();
    const foreign = await postSns(other.sign(snsNotification(bounceEvent())));
    expect(foreign.status).toBe(401);
    const v1AsV2 = await postSns({ ...sns.sign(snsNotification(bounceEvent()), '1'), SignatureVersion: '2' });
    expect(v1AsV2.status).toBe(401);
    expect(await stored()).toEqual([]);
  });

  it('refuses a SigningCertURL off the topic’s SNS host before fetching anything', async () => {
    const hosts = [
      'https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-1.pem',
      'https://s3.amazonaws.com/my-bucket/SimpleNotificationService-1.pem',
      'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-1.pem',
      'http://sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      'https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-1.pem',
      'https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      'https://evil.example/sns.us-east-1.amazonaws.com/SimpleNotificationService-1.pem',
      'https://sns.us-east-1.amazonaws.com/not-a-certificate',
    ];
    for (const url of hosts) {
      const res = await postSns(sns.sign(snsNotification(bounceEvent(), { SigningCertURL: url })));
      expect({ url, status: res.status, code: res.body.error?.code }).toEqual({ url, status: 401, code: 'invalid_signing_certificate' });
    }
    expect(peer.requests).toEqual([]);
    expect(await stored()).toEqual([]);
  });

  it('refuses a message older (or newer) than the timestamp window', async () => {
    const tolerance = config.webhooks.timestampToleranceSeconds * 1000;
    for (const offset of [-(tolerance + 60_000), tolerance + 60_000]) {
      const res = await postSns(sns.sign(snsNotification(bounceEvent(), { Timestamp: new Date(Date.now() + offset).toISOString() })));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('stale_timestamp');
    }
  });

  it('refuses, with 403, a topic the endpoint does not list (anyone can subscribe an endpoint to a topic of their own)', async () => {
    const foreignTopic = 'arn:aws:sns:us-east-1:999999999999:attacker';
    const res = await postSns(sns.sign(snsNotification(bounceEvent(), { TopicArn: foreignTopic })));
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('topic_not_allowed');
  });

  it('confirms a subscription only once its signature verified, and through the host-checked SubscribeURL', async () => {
    const forged = snsSubscriptionConfirmation();
    const refused = await postSns({ ...sns.sign(forged), Token: 'another-token' });
    expect(refused.status).toBe(401);

    const offHost = sns.sign(snsSubscriptionConfirmation({ SubscribeURL: `https://evil.example/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(TOPIC_ARN)}&Token=x` }));
    const badUrl = await postSns(offHost);
    expect(badUrl.status).toBe(400);

    const genuine = snsSubscriptionConfirmation();
    const accepted = await postSns(sns.sign(genuine));
    expect(accepted.status).toBe(200);
    expect(peer.requests.filter((r) => r.includes('ConfirmSubscription'))).toEqual([]);
    const pass = await runWebhookDeliveries(t.db, new Date(), webhookProcessingOptionsFrom(config, createSnsClientFor(config), createLogger('error')));
    expect(pass).toMatchObject({ claimed: 1, done: 1, events: 0 });
    const subscribe = new URL(genuine.SubscribeURL!);
    expect(peer.requests.filter((r) => r.includes('ConfirmSubscription'))).toEqual([subscribe.pathname + subscribe.search]);
  });

  it('retries a confirmation SNS did not take, and then confirms it', async () => {
    expect((await postSns(sns.sign(snsSubscriptionConfirmation()))).status).toBe(200);
    const options = webhookProcessingOptionsFrom(config, createSnsClientFor(config), createLogger('error'));
    peer.confirmStatus = 503;
    const now = new Date();
    expect(await runWebhookDeliveries(t.db, now, options)).toMatchObject({ claimed: 1, retrying: 1 });
    const waiting = await t.db.selectFrom('webhook_deliveries').select(['status', 'attempts', 'last_error', 'next_attempt_at']).executeTakeFirstOrThrow();
    expect(waiting).toMatchObject({ status: 'pending', attempts: 1, last_error: expect.stringContaining('HTTP 503') });
    peer.confirmStatus = 200;
    expect(await runWebhookDeliveries(t.db, new Date(waiting.next_attempt_at.getTime() + 1000), options)).toMatchObject({ claimed: 1, done: 1 });
  });

  it('answers 400 for a body that is not an SNS message, or whose Message is not an SES event', async () => {
    const notJson = await request(app).post(urls.ses).set('Content-Type', 'text/plain').send('{"Type": "Notification",');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_body');
    const noFields = await postSns({ Type: 'Notification' });
    expect(noFields.status).toBe(400);
    expect(noFields.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['MessageId', 'Signature']));
    const notSes = await postSns(sns.sign(snsNotification('hello', { Message: 'hello from the console' })));
    expect(notSes.status).toBe(400);
  });
});

describe('SendGrid Event Webhook', () => {
  const batch = () => JSON.stringify([{ email: 'gone@example.org', timestamp: Math.floor(Date.now() / 1000), event: 'bounce', sg_event_id: crypto.randomUUID(), type: 'bounce', status: '5.1.1', reason: '550 5.1.1 no such user', bounce_classification: 'Invalid Address' }]);
  const post = (body: string, signed: { signature: string; timestamp: string } | undefined) => {
    const req = request(app).post(urls.sendgrid).set('Content-Type', 'application/json');
    if (signed) req.set('X-Twilio-Email-Event-Webhook-Signature', signed.signature).set('X-Twilio-Email-Event-Webhook-Timestamp', signed.timestamp);
    return req.send(body);
  };

  it('accepts a batch signed over its timestamp and exact bytes', async () => {
    const body = batch();
    const res = await post(body, sendgrid.sign(body));
    expect(res.status).toBe(200);
    expect(await stored()).toEqual([{ provider: 'sendgrid', status: 'pending' }]);
  });

  it('refuses the same events re-serialised, another key’s signature, no signature, and a stale timestamp', async () => {
    const body = batch();
    const signed = sendgrid.sign(body);
    const reserialised = JSON.stringify(JSON.parse(body), null, 2);
    expect((await post(reserialised, signed)).status).toBe(401);
    expect((await post(body, createSendgridSigner().sign(body))).status).toBe(401);
    const missing = await post(body, undefined);
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('missing_signature');
    const old = Math.floor(Date.now() / 1000) - config.webhooks.timestampToleranceSeconds - 60;
    const stale = await post(body, sendgrid.sign(body, old));
    expect(stale.status).toBe(401);
    expect(stale.body.error.code).toBe('stale_timestamp');
    expect(await stored()).toEqual([]);
  });

  it('stores a batch delivered again once (a cheap duplicate), and acts once per sg_event_id across batches', async () => {
    const event = { email: 'nobody@example.org', timestamp: Math.floor(Date.now() / 1000), event: 'spamreport', sg_event_id: 'sg-dup-1' };
    const first = JSON.stringify([event]);
    expect((await post(first, sendgrid.sign(first))).body).toEqual({ received: true, duplicate: false });
    expect((await post(first, sendgrid.sign(first))).body).toEqual({ received: true, duplicate: true });
    const second = JSON.stringify([event, { ...event, sg_event_id: 'sg-dup-2', event: 'delivered' }]);
    expect((await post(second, sendgrid.sign(second))).body).toEqual({ received: true, duplicate: false });
    expect(await stored()).toHaveLength(2);
    const pass = await runWebhookDeliveries(t.db, new Date(), webhookProcessingOptionsFrom(config, createSnsClientFor(config), createLogger('error')));
    expect(pass).toMatchObject({ claimed: 2, done: 2, events: 2 });
    const inbound = await t.db.selectFrom('inbound_messages').select(['source_key', 'client_id']).where('source', '=', 'sendgrid').orderBy('source_key').execute();
    expect(inbound).toEqual([{ source_key: 'sg-dup-1', client_id: world.a.clientId }, { source_key: 'sg-dup-2', client_id: world.a.clientId }]);
  });

  it('answers 400 for a signed body that is not an event batch, or holds text the database cannot store', async () => {
    for (const body of ['{"event": "bounce"}', JSON.stringify([{ email: 'a@example.org', event: 'bounce' }]), JSON.stringify([{ email: 'a@example.org', timestamp: 1, event: 'bounce', sg_event_id: 'x', reason: 'nul \u0000 here' }])]) {
      const res = await post(body, sendgrid.sign(body));
      expect({ body, status: res.status }).toEqual({ body, status: 400 });
    }
  });
});

describe('Mailgun', () => {
  const failed = () => ({ id: crypto.randomUUID(), event: 'failed', severity: 'permanent', timestamp: Date.now() / 1000, recipient: 'gone@example.org', 'delivery-status': { code: 550, message: '5.1.1 no such user' } });
  const post = (body: string) => request(app).post(urls.mailgun).set('Content-Type', 'application/json').send(body);

  it('accepts a signed event once, and refuses its token when replayed', async () => {
    const body = mailgunSigned(MAILGUN_KEY, failed());
    expect((await post(body)).status).toBe(200);
    const replay = await post(body);
    expect(replay.status).toBe(403);
    expect(replay.body.error.code).toBe('replayed_token');
    // The same token under another body (its signature covers only timestamp + token) is a replay too.
    const token = (JSON.parse(body) as { signature: { token: string; timestamp: string } }).signature;
    const reused = await post(mailgunSigned(MAILGUN_KEY, failed(), { token: token.token, timestamp: Number(token.timestamp) }));
    expect(reused.status).toBe(403);
    expect(await stored()).toEqual([{ provider: 'mailgun', status: 'pending' }]);
    expect(await t.db.selectFrom('webhook_tokens').select('token').execute()).toEqual([{ token: token.token }]);
  });

  it('refuses another key’s signature, a missing signature and a stale timestamp', async () => {
    expect((await post(mailgunSigned('key-of-someone-else-000000000000', failed()))).status).toBe(401);
    const missing = await post(JSON.stringify({ 'event-data': failed() }));
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('missing_signature');
    const stale = await post(mailgunSigned(MAILGUN_KEY, failed(), { timestamp: Math.floor(Date.now() / 1000) - config.webhooks.timestampToleranceSeconds - 60 }));
    expect(stale.status).toBe(401);
    expect(stale.body.error.code).toBe('stale_timestamp');
    expect(await stored()).toEqual([]);
  });
});

describe('every provider', () => {
  it('answers 413 for a body over webhooks.bodyLimitKb, counted on the bytes read (chunked too), before verifying anything', async () => {
    const big = 'x'.repeat(BODY_LIMIT_KB * 1024 + 1);
    for (const url of [urls.ses, urls.sendgrid, urls.mailgun]) {
      const res = await request(app).post(url).set('Content-Type', 'text/plain').send(big);
      expect({ url, status: res.status }).toEqual({ url, status: 413 });
    }
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const port = (server.address() as AddressInfo).port;
        const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: urls.sendgrid, headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        for (let offset = 0; offset < big.length; offset += 1024) req.write(big.slice(offset, offset + 1024));
        req.end();
      });
      expect(status).toBe(413);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await stored()).toEqual([]);
  });

  it('answers 404 for an endpoint that does not exist, or is for another provider', async () => {
    const sendgridId = urls.sendgrid.split('/').pop()!;
    for (const path of [`/webhooks/ses/${crypto.randomUUID()}`, `/webhooks/ses/${sendgridId}`, `/webhooks/postmark/${sendgridId}`, '/webhooks/ses/not-an-id']) {
      const res = await request(app).post(path).set('Content-Type', 'text/plain').send('{}');
      expect({ path, status: res.status }).toEqual({ path, status: 404 });
    }
  });
});
