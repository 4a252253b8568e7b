import type { Express } from 'express';
import request from 'supertest';
import { hashApiKey } from '../../src/sponsors/api-key';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

describe('sponsor admin routes and the sponsor lead API', () => {
  const t = useTestDatabase();
  let app: Express;
  let world: World;

  beforeAll(async () => {
    // Its sponsors deliver to a loopback URL, which only the owner's allow-list opens.
    app = testApp(t.db, testConfig({}, { sponsors: { deliveryHostAllowList: ['127.0.0.1'] } }));
    world = await createWorld(t.db, app, 'sp');
  });

  async function sponsorWithKey(token = world.a.adminToken) {
    const sponsor = await request(app).post('/api/sponsors').set(bearer(token)).send({ name: 'Acme Leads', deliveryUrl: 'http://127.0.0.1:9/leads' });
    expect(sponsor.status).toBe(201);
    const key = await request(app).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(token));
    expect(key.status).toBe(201);
    const offer = await request(app)
      .post(`/api/sponsors/${sponsor.body.id}/offers`)
      .set(bearer(token))
      .send({ name: 'Free trial', description: 'Thirty days', leadFields: ['first_name', 'company'], payoutCents: 250 });
    expect(offer.status).toBe(201);
    return { sponsorId: sponsor.body.id as string, deliverySecret: sponsor.body.deliverySecret as string, key: key.body.key as string, keyId: key.body.id as string, offerId: offer.body.id as string };
  }

  const lead = (offerId: string, extra: Record<string, unknown> = {}) => ({ offerId, email: 'Lead.Person@Example.com', firstName: 'Lea', data: { source: 'webinar', score: 7 }, ...extra });

  describe('admin side', () => {
    it('creates a sponsor, shows an API key once and stores only its hash', async () => {
      const { sponsorId, key, keyId, deliverySecret } = await sponsorWithKey();
      expect(key).toMatch(/^sk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
      expect(deliverySecret).toMatch(/^whsec_/);
      const stored = await t.db.selectFrom('sponsor_api_keys').selectAll().where('id', '=', keyId).executeTakeFirstOrThrow();
      expect(stored.key_hash).toBe(hashApiKey(key));
      expect(JSON.stringify(stored)).not.toContain(key.slice('sk_'.length + 12 + 1));
      const sponsorRow = await t.db.selectFrom('sponsors').selectAll().where('id', '=', sponsorId).executeTakeFirstOrThrow();
      expect(sponsorRow.delivery_secret_encrypted).not.toContain(deliverySecret);

      const listed = await request(app).get(`/api/sponsors/${sponsorId}/keys`).set(bearer(world.a.adminToken));
      expect(listed.status).toBe(200);
      expect(JSON.stringify(listed.body)).not.toContain(key);
      expect(listed.body.keys[0]).toMatchObject({ id: keyId, prefix: key.split('_')[1], revokedAt: null });
      const fetched = await request(app).get(`/api/sponsors/${sponsorId}`).set(bearer(world.a.adminToken));
      expect(fetched.body.deliverySecret).toBeUndefined();
    });

    it("gives another client's users 404 on every sponsor route and viewers no writes", async () => {
      const { sponsorId, keyId } = await sponsorWithKey();
      const b = bearer(world.b.adminToken);
      expect((await request(app).get(`/api/sponsors/${sponsorId}`).set(b)).status).toBe(404);
      expect((await request(app).post(`/api/sponsors/${sponsorId}/keys`).set(b)).status).toBe(404);
      expect((await request(app).get(`/api/sponsors/${sponsorId}/keys`).set(b)).status).toBe(404);
      expect((await request(app).delete(`/api/sponsors/${sponsorId}/keys/${keyId}`).set(b)).status).toBe(404);
      expect((await request(app).post(`/api/sponsors/${sponsorId}/offers`).set(b).send({ name: 'x' })).status).toBe(404);
      expect((await request(app).get(`/api/sponsors/${sponsorId}/offers`).set(b)).status).toBe(404);
      const list = await request(app).get('/api/sponsors').set(b);
      expect(list.body.sponsors.map((s: { id: string }) => s.id)).not.toContain(sponsorId);
      expect((await request(app).post('/api/sponsors').set(bearer(world.a.viewerToken)).send({ name: 'v' })).status).toBe(403);
      expect((await request(app).post('/api/sponsors').send({ name: 'anon' })).status).toBe(401);
    });

    it('refuses bad sponsor and offer input with field paths', async () => {
      const bad = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: 'x\r\nBcc: all@example.com', deliveryUrl: 'javascript:alert(1)', extra: 1 });
      expect(bad.status).toBe(400);
      const paths = bad.body.error.details.issues.map((i: { path: string }) => i.path);
      expect(paths).toEqual(expect.arrayContaining(['name', 'deliveryUrl']));
      const { sponsorId } = await sponsorWithKey();
      const offer = await request(app).post(`/api/sponsors/${sponsorId}/offers`).set(bearer(world.a.adminToken)).send({ name: 'o', leadFields: ['Bad Field', 'email'], payoutCents: -1 });
      expect(offer.status).toBe(400);
      expect(offer.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(expect.arrayContaining(['leadFields.0', 'leadFields.1', 'payoutCents']));
    });
  });

  describe('API key authentication', () => {
    it("lists only the calling sponsor's active offers", async () => {
      const mine = await sponsorWithKey();
      const theirs = await sponsorWithKey();
      await t.db.insertInto('offers').values({ client_id: world.a.clientId, sponsor_id: mine.sponsorId, name: 'Paused', status: 'paused', lead_fields: '[]' }).execute();
      const res = await request(app).get('/api/sponsors/offers').set('X-Api-Key', mine.key);
      expect(res.status).toBe(200);
      expect(res.body.offers.map((o: { id: string }) => o.id)).toEqual([mine.offerId]);
      expect(res.body.offers[0]).toMatchObject({ name: 'Free trial', leadFields: ['first_name', 'company'], payoutCents: 250 });
      expect(res.body.offers.map((o: { id: string }) => o.id)).not.toContain(theirs.offerId);
    });

    it('refuses a key in the query string with 400, even a valid one, and a missing, malformed or revoked key with 401', async () => {
      const { key, keyId, sponsorId } = await sponsorWithKey();
      for (const query of [{ api_key: key }, { apiKey: key }, { key }, { foo: key }]) {
        const res = await request(app).get('/api/sponsors/offers').query(query);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('api_key_in_query');
      }
      const both = await request(app).get('/api/sponsors/offers').query({ api_key: key }).set('X-Api-Key', key);
      expect(both.status).toBe(400);

      expect((await request(app).get('/api/sponsors/offers')).status).toBe(401);
      expect((await request(app).get('/api/sponsors/offers').set('X-Api-Key', 'sk_nothing')).status).toBe(401);
      expect((await request(app).get('/api/sponsors/offers').set('X-Api-Key', `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`)).status).toBe(401);
      expect((await request(app).get('/api/sponsors/offers').set('Authorization', `Bearer ${key}`)).status).toBe(401);

      expect((await request(app).delete(`/api/sponsors/${sponsorId}/keys/${keyId}`).set(bearer(world.a.adminToken))).status).toBe(204);
      const revoked = await request(app).get('/api/sponsors/offers').set('X-Api-Key', key);
      expect(revoked.status).toBe(401);
      expect(revoked.body.error.code).toBe('unauthorized');
      expect((await request(app).post('/api/sponsors/leads').set('X-Api-Key', key).set('Idempotency-Key', 'r1').send(lead(sponsorId))).status).toBe(401);
    });
  });

  describe('POST /api/sponsors/leads', () => {
    it('stores a lead with its delivery queued, and a retry with the same Idempotency-Key returns the original', async () => {
      const { key, offerId, sponsorId } = await sponsorWithKey();
      const first = await request(app).post('/api/sponsors/leads').set('X-Api-Key', key).set('Idempotency-Key', 'order-1').send(lead(offerId));
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ offerId, email: 'lead.person@example.com', data: { source: 'webinar', score: 7, firstName: 'Lea' } });
      const again = await request(app)
        .post('/api/sponsors/leads')
        .set('X-Api-Key', key)
        .set('Idempotency-Key', 'order-1')
        .send({ data: { score: 7, source: 'webinar' }, firstName: 'Lea', email: 'Lead.Person@Example.com', offerId });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const leads = await t.db.selectFrom('leads').select('id').where('sponsor_id', '=', sponsorId).execute();
      expect(leads).toHaveLength(1);
      const deliveries = await t.db.selectFrom('lead_deliveries').selectAll().where('lead_id', '=', first.body.id).execute();
      expect(deliveries).toHaveLength(1);
      expect(deliveries[0]!.status).toBe('pending');
    });

    it('answers 409 when the same Idempotency-Key comes with a different body', async () => {
      const { key, offerId } = await sponsorWithKey();
      expect((await request(app).post('/api/sponsors/leads').set('X-Api-Key', key).set('Idempotency-Key', 'k-409').send(lead(offerId))).status).toBe(201);
      const conflict = await request(app).post('/api/sponsors/leads').set('X-Api-Key', key).set('Idempotency-Key', 'k-409').send(lead(offerId, { email: 'other@example.com' }));
      expect(conflict.status).toBe(409);
      expect(conflict.body.error.code).toBe('idempotency_conflict');
    });

    it('keeps one lead when the same request races itself', async () => {
      const { key, offerId, sponsorId } = await sponsorWithKey();
      const results = await Promise.all(
        Array.from({ length: 5 }, () => request(app).post('/api/sponsors/leads').set('X-Api-Key', key).set('Idempotency-Key', 'race').send(lead(offerId))),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 201]);
      expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
      expect(await t.db.selectFrom('leads').select('id').where('sponsor_id', '=', sponsorId).execute()).toHaveLength(1);
    });

    it('refuses missing and malformed fields, wrong types, unknown fields, oversize bodies and bad JSON', async () => {
      const { key, offerId } = await sponsorWithKey();
      const post = (body: unknown, idem: string | null = 'bad-input') => {
        const r = request(app).post('/api/sponsors/leads').set('X-Api-Key', key);
        if (idem !== null) r.set('Idempotency-Key', idem);
        return typeof body === 'string' ? r.set('Content-Type', 'application/json').send(body) : r.send(body as object);
      };
      const cases: [unknown, string[]][] = [
        [{}, ['offerId', 'email']],
        [{ offerId: 'not-a-uuid', email: 'nobody' }, ['offerId', 'email']],
        [{ offerId, email: 42 }, ['email']],
        [{ offerId, email: 'a@example.com', firstName: ['x'] }, ['firstName']],
        [{ offerId, email: 'a@example.com', firstName: 'Eve\r\nBcc: x@example.com' }, ['firstName']],
        [{ offerId, email: 'a@example.com', phone: 'call me' }, ['phone']],
        [{ offerId, email: 'a@example.com', data: { 'bad key!': 1 } }, ['data.bad key!']],
        [{ offerId, email: 'a@example.com', data: { nested: { deep: true } } }, ['data.nested']],
        [{ offerId, email: 'a@example.com', isAdmin: true }, []],
      ];
      for (const [body, paths] of cases) {
        const res = await post(body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('validation_failed');
        const got = res.body.error.details.issues.map((i: { path: string }) => i.path);
        for (const path of paths) expect(got).toContain(path);
      }
      const noKey = await post(lead(offerId), null);
      expect(noKey.status).toBe(400);
      expect(noKey.body.error.details.issues[0].path).toBe('header.Idempotency-Key');
      expect((await post(lead(offerId), 'has space')).status).toBe(400);

      const oversize = await post(lead(offerId, { data: { blob: 'x'.repeat(900), ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'y'.repeat(900)])) } }));
      expect(oversize.status).toBe(413);
      const huge = await post(JSON.stringify({ ...lead(offerId), data: { blob: 'z'.repeat(2_000_000) } }));
      expect(huge.status).toBe(413);
      const badJson = await post('{"offerId": ');
      expect(badJson.status).toBe(400);
      expect(badJson.body.error.code).toBe('invalid_json');
    });

    it("answers 404 for another sponsor's offer and 422 for a paused one", async () => {
      const mine = await sponsorWithKey();
      const theirs = await sponsorWithKey(world.b.adminToken);
      const foreign = await request(app).post('/api/sponsors/leads').set('X-Api-Key', mine.key).set('Idempotency-Key', 'f1').send(lead(theirs.offerId));
      expect(foreign.status).toBe(404);
      await t.db.updateTable('offers').set({ status: 'paused' }).where('id', '=', mine.offerId).execute();
      const paused = await request(app).post('/api/sponsors/leads').set('X-Api-Key', mine.key).set('Idempotency-Key', 'p1').send(lead(mine.offerId));
      expect(paused.status).toBe(422);
      expect(paused.body.error.code).toBe('offer_inactive');
    });
  });
});
