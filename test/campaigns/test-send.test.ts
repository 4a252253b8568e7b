import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { startSmtpPeer, type SmtpPeer } from '../helpers/smtp-peer';
import { addSenderDomain, bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('POST /api/campaigns/:id/test-send', () => {
  let world: World;
  let peer: SmtpPeer;
  let campaignId: string;
  let contactId: string;
  let accountId: string;

  beforeAll(async () => {
    peer = await startSmtpPeer({ auth: { user: 'tester', pass: 'smtp-secret' } });
    world = await createWorld(t.db, testApp(t.db), 'ts');
    const auth = bearer(world.a.adminToken);
    await addSenderDomain(world.app, world.a.adminToken, 'ts.example.com');
    const account = await request(world.app)
      .post('/api/accounts')
      .set(auth)
      .send({ email: 'sender@ts.example.com', displayName: 'Tess', transport: 'smtp', transportSettings: { host: peer.host, port: peer.port, requireTLS: false }, credentials: { user: 'tester', pass: 'smtp-secret' } });
    accountId = account.body.id;
    const campaign = await request(world.app)
      .post('/api/campaigns')
      .set(auth)
      .send({ name: 'Test send', steps: [{ subject: 'Hello {{first_name|there}}', bodyText: 'Hi {{first_name|there}}, quick question.' }], senderAccountIds: [accountId] });
    campaignId = campaign.body.id;
    contactId = (await request(world.app).post('/api/contacts').set(auth).send({ email: 'lee@example.com', firstName: 'Lee' })).body.id;
  });

  afterAll(async () => {
    await peer.close();
  });

  it('sends the rendered step to the test address through the pool’s SMTP account', async () => {
    const res = await request(world.app).post(`/api/campaigns/${campaignId}/test-send`).set(bearer(world.a.adminToken)).send({ stepNumber: 1, to: 'me@example.org', contactId });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ outcome: 'accepted', accountId });
    expect(peer.received).toHaveLength(1);
    const [mail] = peer.received;
    expect(mail!.to).toEqual(['me@example.org']);
    expect(mail!.user).toBe('tester');
    expect(mail!.raw).toContain('Subject: [Test] Hello Lee');
    expect(mail!.raw).toContain('Hi Lee, quick question.');
    expect(mail!.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    // Nothing was queued: a test send is not part of the campaign.
    expect(await t.db.selectFrom('email_queue').select('id').where('campaign_id', '=', campaignId).execute()).toEqual([]);
  });

  it('rejects invalid test addresses, unknown steps and foreign contacts', async () => {
    const auth = bearer(world.a.adminToken);
    const bad = await request(world.app).post(`/api/campaigns/${campaignId}/test-send`).set(auth).send({ stepNumber: 1, to: 'me@example.org\r\nBcc: x@example.com', contactId });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe('to');
    expect((await request(world.app).post(`/api/campaigns/${campaignId}/test-send`).set(auth).send({ stepNumber: 5, to: 'me@example.org', contactId })).status).toBe(404);
    const foreign = await t.db.insertInto('contacts').values({ client_id: world.b.clientId, email: 'b@example.com', email_domain: 'example.com' }).returning('id').executeTakeFirstOrThrow();
    expect((await request(world.app).post(`/api/campaigns/${campaignId}/test-send`).set(auth).send({ stepNumber: 1, to: 'me@example.org', contactId: foreign.id })).status).toBe(404);
    expect((await request(world.app).post(`/api/campaigns/${campaignId}/test-send`).set(bearer(world.b.adminToken)).send({ stepNumber: 1, to: 'me@example.org', contactId })).status).toBe(404);
    expect(peer.received).toHaveLength(1);
  });
});
