/**
 * SSRF: a sponsor's delivery URL must reach a public address, unless the owner allow-lists its
 * host. Checked when the URL is stored and again on the address each delivery connects to.
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import request from 'supertest';
import type { Config } from '../../src/config';
import { leadDeliveryOptionsFrom, runLeadDeliveries } from '../../src/sponsors/lead-delivery.service';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

const REFUSED_URLS = [
  'http://127.0.0.1:8080/leads',
  'http://127.9.9.9/leads',
  'http://[::1]/leads',
  'http://10.1.2.3/leads',
  'http://172.16.0.1/leads',
  'http://192.168.1.1/leads',
  'http://169.254.169.254/latest/meta-data/',
  'http://100.64.0.1/leads',
  'http://0.0.0.0/leads',
  'http://224.0.0.1/leads',
  'http://255.255.255.255/leads',
  'http://[::ffff:127.0.0.1]/leads',
  'http://[::127.0.0.1]/leads',
  'http://[::]/leads',
  'http://[fd00::1]/leads',
  'http://[fe80::1]/leads',
  'http://[64:ff9b::a00:1]/leads',
  'http://2130706433/leads',
  'http://0177.0.0.1/leads',
  'http://0x7f.1/leads',
  'https://localhost/leads',
  'http://LOCALHOST:9/leads',
];

describe('sponsor delivery URLs (SSRF)', () => {
  const t = useTestDatabase();
  // One configuration (one credential key) in two variants: the default, and the owner
  // allowing the loopback hosts the test's endpoint listens on.
  const strict: Config = testConfig();
  const allowingLoopback: Config = { ...strict, sponsors: { ...strict.sponsors, deliveryHostAllowList: ['127.0.0.1', 'LocalHost', '[::1]'] } };
  let app: Express;
  let world: World;

  beforeAll(async () => {
    app = testApp(t.db, strict);
    world = await createWorld(t.db, app, 'ssrf');
  });

  const createSponsor = (on: Express, deliveryUrl: string) => request(on).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: `S ${crypto.randomUUID()}`, deliveryUrl });

  it.each(REFUSED_URLS)('refuses %s when a sponsor is created, naming deliveryUrl, and stores nothing', async (url) => {
    const res = await createSponsor(app, url);
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues).toEqual([{ path: 'deliveryUrl', message: expect.stringMatching(/^must reach a public address: .*not a public address/) }]);
    expect(await t.db.selectFrom('sponsors').select('id').where('delivery_url', '=', url).execute()).toEqual([]);
  });

  it('accepts a public address, and a private one only once the owner allow-lists its host', async () => {
    expect((await createSponsor(app, 'https://93.184.215.14/hooks/leads')).status).toBe(201);
    const allowing = testApp(t.db, allowingLoopback);
    for (const url of ['http://127.0.0.1:9/leads', 'http://localhost:9/leads', 'http://[::1]:9/leads']) expect((await createSponsor(allowing, url)).status).toBe(201);
    expect((await createSponsor(allowing, 'http://10.1.2.3/leads')).status).toBe(400);
  });

  describe('when delivering', () => {
    // A sponsor endpoint on loopback that counts what reaches it.
    let endpoint: http.Server;
    let port: number;
    let received = 0;
    beforeAll(async () => {
      endpoint = http.createServer((req, res) => {
        received += 1;
        req.resume();
        res.end('{}');
      });
      await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
      port = (endpoint.address() as AddressInfo).port;
    });
    afterAll(async () => {
      await new Promise((resolve) => endpoint.close(resolve));
    });

    /** A lead for a sponsor stored while its host was allowed (or resolved elsewhere): the deliverer must check again. */
    async function leadFor(deliveryUrl: string): Promise<string> {
      const allowing = testApp(t.db, allowingLoopback);
      const sponsor = await createSponsor(allowing, deliveryUrl);
      expect(sponsor.status).toBe(201);
      const key = await request(allowing).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(world.a.adminToken));
      const offer = await request(allowing).post(`/api/sponsors/${sponsor.body.id}/offers`).set(bearer(world.a.adminToken)).send({ name: 'Trial' });
      const lead = await request(allowing).post('/api/sponsors/leads').set('X-Api-Key', key.body.key).set('Idempotency-Key', crypto.randomUUID()).send({ offerId: offer.body.id, email: 'buyer@example.com' });
      expect(lead.status).toBe(201);
      return lead.body.id as string;
    }

    const deliveryOf = (leadId: string) => t.db.selectFrom('lead_deliveries').select(['status', 'last_error']).where('lead_id', '=', leadId).executeTakeFirstOrThrow();

    it('refuses to connect to a loopback IP literal or a name that now resolves to loopback, and delivers once the host is allowed', async () => {
      const literal = await leadFor(`http://127.0.0.1:${port}/leads`);
      const named = await leadFor(`http://localhost:${port}/leads`);
      const now = new Date(Date.now() + 1000);

      expect(await runLeadDeliveries(t.db, now, undefined, { ...leadDeliveryOptionsFrom(strict), random: () => 0.5 })).toMatchObject({ claimed: 2, delivered: 0, retrying: 2 });
      expect(received).toBe(0);
      expect(await deliveryOf(literal)).toEqual({ status: 'pending', last_error: 'refused: 127.0.0.1 is not a public address (loopback)' });
      expect(await deliveryOf(named)).toEqual({ status: 'pending', last_error: expect.stringMatching(/^refused: localhost resolves to (127\.0\.0\.1|::1) is not a public address \(loopback\)$/) });

      const allowing = { ...leadDeliveryOptionsFrom(allowingLoopback), random: () => 0.5 };
      expect(await runLeadDeliveries(t.db, new Date(now.getTime() + 86_400_000), undefined, allowing)).toMatchObject({ claimed: 2, delivered: 2 });
      expect(received).toBe(2);
    });
  });
});
