/**
 * Invariant 5 over the whole admin API: a client user tries every route that takes an id with
 * ids belonging to another client and always gets 404 (owner-only routes: 403), nothing of the
 * other client changes, and list routes never show foreign rows. Viewers cannot write at all.
 */
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from './admin-api.helpers';

const t = useTestDatabase();

interface Ids {
  client: string;
  user: string;
  domain: string;
  account: string;
  campaign: string;
  contact: string;
  suppression: number;
  inbound: number;
  webhookEndpoint: string;
  alert: number;
  alertChannel: string;
}

async function seedClientData(world: World, tenant: 'a' | 'b'): Promise<Ids> {
  const { clientId, viewerId } = world[tenant];
  const db = t.db;
  const domain = await db.insertInto('sender_domains').values({ client_id: clientId, domain: `${tenant}-mail.example.com` }).returning('id').executeTakeFirstOrThrow();
  const account = await db
    .insertInto('sender_accounts')
    .values({ client_id: clientId, email: `sender@${tenant}-mail.example.com`, transport: 'sink', domain_id: domain.id })
    .returning('id')
    .executeTakeFirstOrThrow();
  const campaign = await db.insertInto('campaigns').values({ client_id: clientId, name: `${tenant} campaign` }).returning('id').executeTakeFirstOrThrow();
  await db.insertInto('sequence_steps').values({ campaign_id: campaign.id, step_number: 1, subject: 'Hello {{first_name|there}}', body_text: 'Hi' }).execute();
  await db.insertInto('campaign_senders').values({ campaign_id: campaign.id, account_id: account.id }).execute();
  const contact = await db
    .insertInto('contacts')
    .values({ client_id: clientId, email: `person@${tenant}-customer.example.com`, email_domain: `${tenant}-customer.example.com`, first_name: 'Pat' })
    .returning('id')
    .executeTakeFirstOrThrow();
  await db.insertInto('campaign_contacts').values({ campaign_id: campaign.id, contact_id: contact.id }).execute();
  const suppression = await db
    .insertInto('suppressions')
    .values({ client_id: clientId, email: `gone@${tenant}-customer.example.com`, reason: 'manual' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const inbound = await db
    .insertInto('inbound_messages')
    .values({ client_id: clientId, account_id: account.id, account_key: account.id, source: 'imap', source_key: '1:1', received_at: new Date(), kind: 'unmatched', headers: '{}', classification: '{}', effects: '[]', history: '[]' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const webhookEndpoint = await db
    .insertInto('webhook_endpoints')
    .values({ client_id: clientId, provider: 'ses', name: `${tenant} SES`, topic_arns: ['arn:aws:sns:us-east-1:123456789012:ses-events'] })
    .returning('id')
    .executeTakeFirstOrThrow();
  const alert = await db
    .insertInto('alerts')
    .values({ client_id: clientId, account_id: account.id, severity: 'warning', code: 'test', entity_key: `account:${account.id}`, message: `${tenant} alert`, last_seen_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const alertChannel = await db
    .insertInto('alert_channels')
    .values({ client_id: clientId, kind: 'email', name: `${tenant} on call`, settings: JSON.stringify({ to: `oncall@${tenant}.example.com` }) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return {
    client: clientId, user: viewerId, domain: domain.id, account: account.id, campaign: campaign.id, contact: contact.id, suppression: suppression.id, inbound: inbound.id, webhookEndpoint: webhookEndpoint.id,
    alert: alert.id, alertChannel: alertChannel.id,
  };
}

describe('tenant isolation', () => {
  let world: World;
  let a: Ids;
  let b: Ids;

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'ten');
    a = await seedClientData(world, 'a');
    b = await seedClientData(world, 'b');
  });

  /** Every admin route with a path parameter, with a body that passes validation. */
  const foreignCalls = (x: Ids) => [
    ['get', `/api/clients/${x.client}`],
    ['patch', `/api/clients/${x.client}`, { name: 'taken over' }],
    ['get', `/api/users/${x.user}`],
    ['patch', `/api/users/${x.user}`, { disabled: true }],
    ['delete', `/api/users/${x.user}`],
    ['get', `/api/domains/${x.domain}`],
    ['patch', `/api/domains/${x.domain}`, { dailyLimit: 1 }],
    ['delete', `/api/domains/${x.domain}`],
    ['get', `/api/domains/${x.domain}/dns`],
    ['post', `/api/domains/${x.domain}/dns/check`],
    ['get', `/api/accounts/${x.account}`],
    ['patch', `/api/accounts/${x.account}`, { dailyLimit: 1 }],
    ['post', `/api/accounts/${x.account}/verify`],
    ['get', `/api/accounts/${x.account}/sends`],
    ['get', `/api/accounts/${x.account}/history`],
    ['delete', `/api/accounts/${x.account}`],
    ['get', `/api/campaigns/${x.campaign}`],
    ['patch', `/api/campaigns/${x.campaign}`, { name: 'taken over' }],
    ['put', `/api/campaigns/${x.campaign}/steps`, { steps: [{ subject: 'x', bodyText: 'y' }] }],
    ['put', `/api/campaigns/${x.campaign}/senders`, { senderAccountIds: [] }],
    ['post', `/api/campaigns/${x.campaign}/contacts`, { contactIds: [x.contact] }],
    ['post', `/api/campaigns/${x.campaign}/start`],
    ['post', `/api/campaigns/${x.campaign}/pause`],
    ['post', `/api/campaigns/${x.campaign}/resume`],
    ['post', `/api/campaigns/${x.campaign}/cancel`],
    ['get', `/api/campaigns/${x.campaign}/steps/1/preview?contactId=${x.contact}`],
    ['get', `/api/campaigns/${x.campaign}/stats`],
    ['get', `/api/campaigns/${x.campaign}/stats/engagement`],
    ['get', `/api/campaigns/${x.campaign}/messages`],
    ['post', `/api/campaigns/${x.campaign}/held/resolve`, { decision: 'delivered' }],
    ['post', `/api/campaigns/${x.campaign}/test-send`, { stepNumber: 1, to: 'me@example.org', contactId: x.contact }],
    ['delete', `/api/campaigns/${x.campaign}`],
    ['get', `/api/contacts/${x.contact}`],
    ['patch', `/api/contacts/${x.contact}`, { firstName: 'Mallory' }],
    ['delete', `/api/contacts/${x.contact}`],
    ['delete', `/api/suppressions/${x.suppression}`],
    ['get', `/api/inbound/${x.inbound}`],
    ['post', `/api/inbound/${x.inbound}/reclassify`, { kind: 'reply' }],
    ['get', `/api/webhook-endpoints/${x.webhookEndpoint}`],
    ['patch', `/api/webhook-endpoints/${x.webhookEndpoint}`, { provider: 'ses', name: 'taken over' }],
    ['delete', `/api/webhook-endpoints/${x.webhookEndpoint}`],
    ['post', `/api/alerts/${x.alert}/acknowledge`],
    ['get', `/api/alert-channels/${x.alertChannel}`],
    ['patch', `/api/alert-channels/${x.alertChannel}`, { kind: 'email', name: 'taken over' }],
    ['post', `/api/alert-channels/${x.alertChannel}/test`],
    ['delete', `/api/alert-channels/${x.alertChannel}`],
  ] as Array<[string, string, object?]>;

  it('answers 404 for every route called with another client’s ids, and changes nothing', async () => {
    const statuses: string[] = [];
    for (const [method, path, body] of foreignCalls(b)) {
      const call = (request(world.app) as unknown as Record<string, (p: string) => request.Test>)[method]!(path).set(bearer(world.a.adminToken));
      const res = body ? await call.send(body) : await call;
      statuses.push(`${method.toUpperCase()} ${path.replace(/[0-9a-f-]{36}|\/\d+$/g, ':id')} ${res.status}`);
    }
    expect(statuses.filter((s) => !s.endsWith(' 404'))).toEqual([]);

    const upload = await request(world.app)
      .post(`/api/campaigns/${b.campaign}/contacts/import`)
      .set(bearer(world.a.adminToken))
      .attach('file', Buffer.from('email\nx@example.com\n'), 'c.csv');
    expect(upload.status).toBe(404);

    // Client B's data is exactly as it was.
    const campaign = await t.db.selectFrom('campaigns').selectAll().where('id', '=', b.campaign).executeTakeFirstOrThrow();
    expect(campaign).toMatchObject({ name: 'b campaign', status: 'draft' });
    expect(await t.db.selectFrom('contacts').select('first_name').where('id', '=', b.contact).executeTakeFirst()).toEqual({ first_name: 'Pat' });
    expect(await t.db.selectFrom('suppressions').select('id').where('id', '=', b.suppression).executeTakeFirst()).toBeDefined();
    expect(await t.db.selectFrom('sender_accounts').select('daily_limit').where('id', '=', b.account).executeTakeFirstOrThrow()).toEqual({ daily_limit: 50 });
    expect(await t.db.selectFrom('users').select('disabled_at').where('id', '=', b.user).executeTakeFirstOrThrow()).toEqual({ disabled_at: null });
    expect(await t.db.selectFrom('clients').select('name').where('id', '=', b.client).executeTakeFirstOrThrow()).toEqual({ name: 'ten-b' });
    expect(await t.db.selectFrom('email_queue').select('id').where('campaign_id', '=', b.campaign).execute()).toEqual([]);
    expect(await t.db.selectFrom('webhook_endpoints').select('name').where('id', '=', b.webhookEndpoint).executeTakeFirstOrThrow()).toEqual({ name: 'b SES' });
    expect(await t.db.selectFrom('alerts').select('acknowledged_at').where('id', '=', b.alert).executeTakeFirstOrThrow()).toEqual({ acknowledged_at: null });
    expect(await t.db.selectFrom('alert_channels').select('name').where('id', '=', b.alertChannel).executeTakeFirstOrThrow()).toEqual({ name: 'b on call' });
    expect(await t.db.selectFrom('alert_deliveries').select('id').where('channel_id', '=', b.alertChannel).execute()).toEqual([]);
  });

  it('covers every documented admin route that takes an id (sponsor routes are tested with the sponsor API)', async () => {
    const doc = await request(world.app).get('/api/openapi.json');
    const covered = new Set(foreignCalls(b).map(([method, path]) => `${method} ${path.split('?')[0]!.replace(/[0-9a-f-]{36}/g, '{id}').replace('/steps/1/', '/steps/{stepNumber}/').replace(/\/\d+(?=\/|$)/g, '/{id}')}`));
    covered.add('post /api/campaigns/{id}/contacts/import');
    covered.add('delete /api/clients/{id}'); // owner-only: 403 for every client user (last test)
    covered.add('get /api/sink/messages/{id}'); // owner-only: 403 for client users (test/transports/sink-message.routes.test.ts)
    covered.add('post /api/domains/{id}/transfer'); // owner-only: 403 for every client user (last test)
    const withIds: string[] = [];
    for (const [path, operations] of Object.entries(doc.body.paths as Record<string, Record<string, unknown>>)) {
      if (!path.includes('{') || path.startsWith('/api/sponsors')) continue;
      for (const method of Object.keys(operations)) withIds.push(`${method} ${path}`);
    }
    expect(withIds.filter((route) => !covered.has(route))).toEqual([]);
  });

  it('answers 404 for malformed ids rather than telling them apart', async () => {
    for (const path of ['/api/campaigns/not-a-uuid', '/api/contacts/1', '/api/suppressions/abc', '/api/accounts/../users']) {
      expect((await request(world.app).get(path).set(bearer(world.a.adminToken))).status).toBe(404);
    }
  });

  it('refuses to mix another client’s rows into one’s own (sender pool, domain, contacts, preview)', async () => {
    const pool = await request(world.app).put(`/api/campaigns/${a.campaign}/senders`).set(bearer(world.a.adminToken)).send({ senderAccountIds: [a.account, b.account] });
    expect(pool.status).toBe(404);
    expect(pool.body.error.details.issues).toEqual([{ path: 'senderAccountIds.1', message: 'no such account' }]);

    const created = await request(world.app).post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'sneaky', senderAccountIds: [b.account] });
    expect(created.status).toBe(404);

    const domain = await request(world.app).patch(`/api/accounts/${a.account}`).set(bearer(world.a.adminToken)).send({ domainId: b.domain });
    expect(domain.status).toBe(404);

    const attach = await request(world.app).post(`/api/campaigns/${a.campaign}/contacts`).set(bearer(world.a.adminToken)).send({ contactIds: [b.contact] });
    expect(attach.status).toBe(200);
    expect(attach.body.attached).toBe(0);

    const preview = await request(world.app).get(`/api/campaigns/${a.campaign}/steps/1/preview?contactId=${b.contact}`).set(bearer(world.a.adminToken));
    expect(preview.status).toBe(404);
  });

  it('lists only the caller’s own rows, even when a client user asks for another clientId', async () => {
    for (const path of ['/api/clients', '/api/users', '/api/domains', '/api/accounts', '/api/campaigns', '/api/contacts', '/api/suppressions', '/api/stats/accounts', '/api/webhook-endpoints']) {
      const res = await request(world.app).get(`${path}?clientId=${b.client}`).set(bearer(world.a.adminToken));
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      for (const id of [b.client, b.domain, b.account, b.campaign, b.contact, b.webhookEndpoint]) expect(text).not.toContain(id);
      expect(text).not.toContain('b-customer.example.com');
    }
    const exported = await request(world.app).get('/api/suppressions/export').set(bearer(world.a.adminToken));
    expect(exported.text).toContain('gone@a-customer.example.com');
    expect(exported.text).not.toContain('b-customer');
  });

  it('lets the owner see every client, or narrow to one with ?clientId=', async () => {
    const all = await request(world.app).get('/api/campaigns').set(bearer(world.ownerToken));
    expect(all.body.campaigns.map((c: { id: string }) => c.id).sort()).toEqual([a.campaign, b.campaign].sort());
    const onlyB = await request(world.app).get(`/api/campaigns?clientId=${b.client}`).set(bearer(world.ownerToken));
    expect(onlyB.body.campaigns.map((c: { id: string }) => c.id)).toEqual([b.campaign]);
    expect((await request(world.app).get('/api/campaigns?clientId=nope').set(bearer(world.ownerToken))).status).toBe(400);
  });

  it('gives viewers read access and refuses every write with 403', async () => {
    expect((await request(world.app).get(`/api/campaigns/${a.campaign}`).set(bearer(world.a.viewerToken))).status).toBe(200);
    const doc = await request(world.app).get('/api/openapi.json');
    const refused: string[] = [];
    let writes = 0;
    for (const [path, operations] of Object.entries(doc.body.paths as Record<string, Record<string, { security?: unknown[] }>>)) {
      if (path.startsWith('/api/auth/')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        // Only routes signed in with a user's JWT (sponsor API-key routes have their own auth).
        if (method === 'get' || !JSON.stringify(operation.security ?? []).includes('bearerAuth')) continue;
        writes++;
        const concrete = path.replace('{id}', a.campaign).replace('{stepNumber}', '1');
        const res = await (request(world.app) as unknown as Record<string, (p: string) => request.Test>)[method]!(concrete).set(bearer(world.a.viewerToken)).send({});
        if (res.status === 403) refused.push(`${method} ${path}`);
        else refused.push(`${method} ${path} -> ${res.status}`);
      }
    }
    expect(writes).toBeGreaterThan(20);
    expect(refused.filter((r) => r.includes('->'))).toEqual([]);
  });

  it('keeps owner-only routes from client admins', async () => {
    expect((await request(world.app).post('/api/clients').set(bearer(world.a.adminToken)).send({ name: 'mine now' })).status).toBe(403);
    expect((await request(world.app).delete(`/api/clients/${a.client}`).set(bearer(world.a.adminToken))).status).toBe(403);
    expect((await request(world.app).get('/api/workers').set(bearer(world.a.adminToken))).status).toBe(403);
    expect((await request(world.app).post(`/api/domains/${a.domain}/transfer`).set(bearer(world.a.adminToken)).send({ clientId: b.client })).status).toBe(403);
    const owner = await request(world.app).post('/api/users').set(bearer(world.a.adminToken)).send({ email: 'boss@x.example.com', password: 'long enough pw', role: 'owner' });
    expect(owner.status).toBe(403);
  });
});
