/**
 * Webhook endpoints in the admin API: one per client and ESP account, the URL to give the
 * provider in every answer, keys write-only (stored encrypted), each provider's fields checked
 * by the schema, viewers read-only, and an endpoint deleted stops answering.
 */
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';
import { createSendgridSigner, TOPIC_ARN } from './esp-peers';

const t = useTestDatabase();
let world: World;

beforeAll(async () => {
  world = await createWorld(t.db, testApp(t.db, testConfig()), 'whe');
});

describe('webhook endpoints', () => {
  it('creates one per provider, answering its public URL and never its key', async () => {
    const admin = bearer(world.a.adminToken);
    const sendgrid = createSendgridSigner();
    const created = await request(world.app).post('/api/webhook-endpoints').set(admin).send({ provider: 'sendgrid', name: 'SendGrid main', verificationKey: sendgrid.verificationKey });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ provider: 'sendgrid', name: 'SendGrid main', clientId: world.a.clientId, hasKey: true, topicArns: [], pendingDeliveries: 0, failedDeliveries: 0, lastReceivedAt: null });
    expect(created.body.url).toBe(`http://track.test/webhooks/sendgrid/${created.body.id}`);
    expect(JSON.stringify(created.body)).not.toContain(sendgrid.verificationKey);
    const row = await t.db.selectFrom('webhook_endpoints').select('verification_key_encrypted').where('id', '=', created.body.id).executeTakeFirstOrThrow();
    expect(row.verification_key_encrypted).not.toContain(sendgrid.verificationKey);

    const mailgun = await request(world.app).post('/api/webhook-endpoints').set(admin).send({ provider: 'mailgun', name: 'Mailgun', signingKey: 'key-abcdef0123456789' });
    expect(mailgun.status).toBe(201);
    expect(JSON.stringify(mailgun.body)).not.toContain('key-abcdef0123456789');
    const ses = await request(world.app).post('/api/webhook-endpoints').set(admin).send({ provider: 'ses', name: 'SES', topicArns: [TOPIC_ARN, TOPIC_ARN] });
    expect(ses.body).toMatchObject({ topicArns: [TOPIC_ARN], hasKey: false });

    const listed = await request(world.app).get('/api/webhook-endpoints').set(bearer(world.a.viewerToken));
    expect(listed.status).toBe(200);
    expect(listed.body).toMatchObject({ total: 3, limit: 100, offset: 0 });
    expect((await request(world.app).get('/api/webhook-endpoints').set(bearer(world.b.adminToken))).body.total).toBe(0);
  });

  it('answers 400 naming the field for what a provider would not give, and for another provider’s field', async () => {
    const admin = bearer(world.a.adminToken);
    const cases: Array<[object, string]> = [
      [{ provider: 'ses', name: 'SES', topicArns: [] }, 'topicArns'],
      [{ provider: 'ses', name: 'SES', topicArns: ['arn:aws:s3:::bucket'] }, 'topicArns.0'],
      [{ provider: 'ses', name: 'SES' }, 'topicArns'],
      [{ provider: 'sendgrid', name: 'SG', verificationKey: 'bm90IGEga2V5' }, 'verificationKey'],
      [{ provider: 'mailgun', name: 'MG', signingKey: 'has spaces in it' }, 'signingKey'],
      [{ provider: 'mailgun', name: 'MG', signingKey: 'key-abcdef0123456789', topicArns: [TOPIC_ARN] }, ''],
      [{ provider: 'postmark', name: 'PM' }, 'provider'],
    ];
    for (const [body, path] of cases) {
      const res = await request(world.app).post('/api/webhook-endpoints').set(admin).send(body);
      expect({ body, status: res.status, code: res.body.error.code }).toEqual({ body, status: 400, code: 'validation_failed' });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
  });

  it('updates name, topics or key (the provider stays), refuses viewers, and deletes', async () => {
    const admin = bearer(world.a.adminToken);
    const ses = await request(world.app).post('/api/webhook-endpoints').set(admin).send({ provider: 'ses', name: 'SES', topicArns: [TOPIC_ARN] });
    const id = ses.body.id as string;
    const other = 'arn:aws:sns:eu-west-1:123456789012:ses-eu';
    const updated = await request(world.app).patch(`/api/webhook-endpoints/${id}`).set(admin).send({ provider: 'ses', name: 'SES both', topicArns: [TOPIC_ARN, other] });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ name: 'SES both', topicArns: [TOPIC_ARN, other] });
    const switched = await request(world.app).patch(`/api/webhook-endpoints/${id}`).set(admin).send({ provider: 'mailgun', signingKey: 'key-abcdef0123456789' });
    expect(switched.status).toBe(409);
    expect(switched.body.error.code).toBe('provider_mismatch');
    expect((await request(world.app).patch(`/api/webhook-endpoints/${id}`).set(bearer(world.a.viewerToken)).send({ provider: 'ses', name: 'x' })).status).toBe(403);
    expect((await request(world.app).delete(`/api/webhook-endpoints/${id}`).set(admin)).status).toBe(204);
    expect((await request(world.app).get(`/api/webhook-endpoints/${id}`).set(admin)).status).toBe(404);
    expect((await request(world.app).post(`/webhooks/ses/${id}`).set('Content-Type', 'text/plain').send('{}')).status).toBe(404);
  });

  it('lets the owner add one for a client it names', async () => {
    const owner = bearer(world.ownerToken);
    expect((await request(world.app).post('/api/webhook-endpoints').set(owner).send({ provider: 'ses', name: 'SES', topicArns: [TOPIC_ARN] })).status).toBe(400);
    const created = await request(world.app).post('/api/webhook-endpoints').set(owner).send({ provider: 'ses', name: 'SES', topicArns: [TOPIC_ARN], clientId: world.b.clientId });
    expect(created.status).toBe(201);
    expect(created.body.clientId).toBe(world.b.clientId);
  });
});
