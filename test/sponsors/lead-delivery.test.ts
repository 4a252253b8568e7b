import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import { sql } from 'kysely';
import pg from 'pg';
import request from 'supertest';
import type { Config } from '../../src/config';
import { leadDeliveryOptionsFrom, runLeadDeliveries, type LeadDeliveryOptions } from '../../src/sponsors/lead-delivery.service';
import { createLeadPoster, type LeadPoster } from '../../src/sponsors/lead-poster';
import { useTestDatabase } from '../helpers/database';
import { waitFor } from '../helpers/wait-for';
import { bearer, createWorld, testApp, testConfig, type World } from '../http/admin-api.helpers';

interface Received {
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A sponsor endpoint on 127.0.0.1 that answers from a script of status codes (then 200). */
async function sponsorEndpoint(script: number[]): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(script.shift() ?? 200, { 'Content-Type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/leads`, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('lead delivery outbox', () => {
  const t = useTestDatabase();
  // The test's sponsor endpoints listen on loopback, which only the owner's allow-list opens.
  const config: Config = testConfig({}, { sponsors: { deliveryHostAllowList: ['127.0.0.1'] } });
  let app: Express;
  let world: World;
  let options: LeadDeliveryOptions;

  beforeAll(async () => {
    app = testApp(t.db, config);
    world = await createWorld(t.db, app, 'ld');
    options = { ...leadDeliveryOptionsFrom(config), random: () => 0.5 };
  });

  async function postLead(deliveryUrl: string, idempotencyKey = 'lead-1') {
    const sponsor = await request(app).post('/api/sponsors').set(bearer(world.a.adminToken)).send({ name: `S ${crypto.randomUUID()}`, deliveryUrl });
    const key = await request(app).post(`/api/sponsors/${sponsor.body.id}/keys`).set(bearer(world.a.adminToken));
    const offer = await request(app).post(`/api/sponsors/${sponsor.body.id}/offers`).set(bearer(world.a.adminToken)).send({ name: 'Trial' });
    const lead = await request(app)
      .post('/api/sponsors/leads')
      .set('X-Api-Key', key.body.key)
      .set('Idempotency-Key', idempotencyKey)
      .send({ offerId: offer.body.id, email: 'buyer@example.com', firstName: 'Bo' });
    expect(lead.status).toBe(201);
    return { leadId: lead.body.id as string, secret: sponsor.body.deliverySecret as string };
  }

  const delivery = (leadId: string) => t.db.selectFrom('lead_deliveries').selectAll().where('lead_id', '=', leadId).executeTakeFirstOrThrow();

  it('delivers a lead exactly once to a sponsor endpoint that fails twice first, with backoff between tries and a valid signature', async () => {
    const endpoint = await sponsorEndpoint([500, 503]);
    try {
      const { leadId, secret } = await postLead(endpoint.url);
      const start = new Date(Date.now() + 1000);

      expect(await runLeadDeliveries(t.db, start, undefined, options)).toMatchObject({ claimed: 1, retrying: 1 });
      const afterFirst = await delivery(leadId);
      expect(afterFirst).toMatchObject({ status: 'pending', attempts: 1, last_error: 'sponsor endpoint answered HTTP 500' });
      // Not due again until the backoff has passed.
      expect(await runLeadDeliveries(t.db, new Date(start.getTime() + 1000), undefined, options)).toMatchObject({ claimed: 0 });
      const secondDue = afterFirst.next_attempt_at;

      expect(await runLeadDeliveries(t.db, secondDue, undefined, options)).toMatchObject({ claimed: 1, retrying: 1 });
      const afterSecond = await delivery(leadId);
      expect(afterSecond.next_attempt_at.getTime() - secondDue.getTime()).toBeGreaterThan(secondDue.getTime() - start.getTime());

      expect(await runLeadDeliveries(t.db, afterSecond.next_attempt_at, undefined, options)).toMatchObject({ claimed: 1, delivered: 1 });
      for (let i = 1; i <= 3; i++) expect(await runLeadDeliveries(t.db, new Date(start.getTime() + i * 86_400_000), undefined, options)).toMatchObject({ claimed: 0 });

      expect(endpoint.received).toHaveLength(3);
      expect(await delivery(leadId)).toMatchObject({ status: 'delivered', attempts: 3, lease_token: null });
      const last = endpoint.received[2]!;
      expect(JSON.parse(last.body)).toMatchObject({ id: leadId, email: 'buyer@example.com', offerName: 'Trial', data: { firstName: 'Bo' } });
      expect(last.headers['idempotency-key']).toBe(leadId);
      const [, t0, mac] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(last.headers['x-outreach-signature']))!;
      expect(mac).toBe(crypto.createHmac('sha256', secret).update(`${t0}.${last.body}`).digest('hex'));
    } finally {
      await endpoint.close();
    }
  });

  it('never delivers twice when two deliverers run at once', async () => {
    const endpoint = await sponsorEndpoint([]);
    try {
      const { leadId } = await postLead(endpoint.url, 'concurrent');
      const now = new Date(Date.now() + 1000);
      const results = await Promise.all([1, 2, 3].map(() => runLeadDeliveries(t.db, now, undefined, options)));
      expect(results.reduce((sum, r) => sum + r.delivered, 0)).toBe(1);
      expect(endpoint.received.filter((r) => JSON.parse(r.body).id === leadId)).toHaveLength(1);
    } finally {
      await endpoint.close();
    }
  });

  it('takes over a delivery whose deliverer died once its lease expires, and ignores the late result of the dead one', async () => {
    const endpoint = await sponsorEndpoint([]);
    try {
      const { leadId } = await postLead(endpoint.url, 'lease');
      const now = new Date(Date.now() + 1000);
      // A deliverer that claims and then never answers (its fetch hangs until aborted).
      let release: (() => void) | undefined;
      let markCalled: () => void = () => undefined;
      const called = new Promise<void>((resolve) => (markCalled = resolve));
      const hanging: LeadPoster = (_url, init) =>
        new Promise((_resolve, reject) => {
          markCalled();
          release = () => reject(new Error('connection reset'));
          init.signal.addEventListener('abort', () => reject(new Error('aborted')));
        });
      const dead = runLeadDeliveries(t.db, now, hanging, { ...options, timeoutMs: 60_000 });
      await called;
      expect((await delivery(leadId)).status).toBe('delivering');
      expect(await runLeadDeliveries(t.db, new Date(now.getTime() + 1000), undefined, options)).toMatchObject({ claimed: 0 });
      const taken = await runLeadDeliveries(t.db, new Date(now.getTime() + options.leaseMs + 1000), undefined, options);
      expect(taken).toMatchObject({ claimed: 1, delivered: 1 });
      release?.();
      expect(await dead).toMatchObject({ claimed: 1, delivered: 0, retrying: 0 });
      expect(await delivery(leadId)).toMatchObject({ status: 'delivered', attempts: 2 });
      expect(endpoint.received).toHaveLength(1);
    } finally {
      await endpoint.close();
    }
  });

  it('gives up after the configured attempts and marks the delivery failed', async () => {
    const endpoint = await sponsorEndpoint([500, 500, 500]);
    try {
      const { leadId } = await postLead(endpoint.url, 'gives-up');
      let now = new Date(Date.now() + 1000);
      const limited = { ...options, maxAttempts: 3 };
      for (let i = 0; i < 3; i++) {
        await runLeadDeliveries(t.db, now, undefined, limited);
        now = new Date(now.getTime() + 86_400_000);
      }
      expect(await delivery(leadId)).toMatchObject({ status: 'failed', attempts: 3 });
      expect(await runLeadDeliveries(t.db, now, undefined, limited)).toMatchObject({ claimed: 0 });
      expect(endpoint.received).toHaveLength(3);
    } finally {
      await endpoint.close();
    }
  });

  describe('when our own database fails mid-pass', () => {
    // The session of the deliverer's query is ended the way a database restart ends it (57P01,
    // pg_terminate_backend), while a lock held by the test keeps that query waiting.
    // The test shares its pool with the deliverer: the ended session may be handed out once more
    // before its error is seen (pg-pool), so the test's own reads wait until a query goes through.
    const poolRecovered = () => waitFor(async () => sql`select 1`.execute(t.db).then(() => true, () => false), 'the pool to connect again');

    async function endSessionBlockedOn(statement: string): Promise<void> {
      const blocked = await waitFor(async () => {
        const { rows } = await sql<{ pid: number }>`
          select pid from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock' and query ilike ${`${statement}%`}`.execute(t.db);
        return rows[0];
      }, `a deliverer waiting on: ${statement}`);
      await sql`select pg_terminate_backend(${blocked.pid})`.execute(t.db);
    }

    it('hands the claim back with no attempt used up when the database fails before the lead is sent, and delivers it on the next pass', async () => {
      const endpoint = await sponsorEndpoint([]);
      const locker = new pg.Client({ connectionString: t.url });
      try {
        const { leadId } = await postLead(endpoint.url, 'db-fails-before-sending');
        const now = new Date(Date.now() + 1000);
        await locker.connect();
        await locker.query('begin');
        await locker.query('lock table leads in access exclusive mode');
        const pass = runLeadDeliveries(t.db, now, undefined, options);
        await endSessionBlockedOn('select * from "leads"');
        await locker.query('rollback');

        expect(await pass).toEqual({ claimed: 1, delivered: 0, retrying: 0, failed: 0 });
        await poolRecovered();
        expect(await delivery(leadId)).toMatchObject({ status: 'pending', attempts: 0, lease_token: null, last_error: null });
        expect(endpoint.received).toHaveLength(0);
        expect(await runLeadDeliveries(t.db, now, undefined, options)).toMatchObject({ claimed: 1, delivered: 1 });
        expect(await delivery(leadId)).toMatchObject({ status: 'delivered', attempts: 1 });
      } finally {
        await locker.end().catch(() => undefined);
        await endpoint.close();
      }
    });

    it('finishes the pass when the delivery a sponsor accepted cannot be recorded, and sends it again under the same id after the lease', async () => {
      const endpoint = await sponsorEndpoint([]);
      const locker = new pg.Client({ connectionString: t.url });
      try {
        const { leadId } = await postLead(endpoint.url, 'db-fails-after-sending');
        const now = new Date(Date.now() + 1000);
        await locker.connect();
        // Holds the claimed row while the lead is on its way, so recording the result waits.
        const lockingPost: LeadPoster = async (url, init) => {
          await locker.query('begin');
          await locker.query('select 1 from lead_deliveries where lead_id = $1 for update', [leadId]);
          return createLeadPoster(options.hostPolicy)(url, init);
        };
        const pass = runLeadDeliveries(t.db, now, lockingPost, options);
        await endSessionBlockedOn('update "lead_deliveries"');
        await locker.query('rollback');

        expect(await pass).toEqual({ claimed: 1, delivered: 0, retrying: 0, failed: 0 });
        await poolRecovered();
        expect(await delivery(leadId)).toMatchObject({ status: 'delivering', attempts: 1 });
        expect(await runLeadDeliveries(t.db, new Date(now.getTime() + options.leaseMs + 1000), undefined, options)).toMatchObject({ claimed: 1, delivered: 1 });
        expect(await delivery(leadId)).toMatchObject({ status: 'delivered', attempts: 2 });
        expect(endpoint.received.map((r) => r.headers['idempotency-key'])).toEqual([leadId, leadId]);
      } finally {
        await locker.end().catch(() => undefined);
        await endpoint.close();
      }
    });
  });
});
