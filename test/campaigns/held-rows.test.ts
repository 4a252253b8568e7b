/**
 * An operator settles the rows held for them (delivery could not be verified) through the API:
 * as delivered (sent, follow-up queued) or to be sent again (queued now, quota given back), with
 * a send log and an audit row saying who decided; viewers and other clients cannot.
 */
import { sql } from 'kysely';
import request from 'supertest';
import { createLogger } from '../../src/logger';
import { createSweep } from '../../src/orchestrator/sweep';
import { useTestDatabase } from '../helpers/database';
import { bearer } from '../http/admin-api.helpers';
import { campaignInEveryState, type CampaignInEveryState } from './campaign-states.fixture';

const t = useTestDatabase();

describe('POST /api/campaigns/:id/held/resolve', () => {
  let s: CampaignInEveryState;
  const rowOf = async (email: string, step = 1) =>
    t.db.selectFrom('email_queue').selectAll().where('campaign_id', '=', s.campaignId).where('to_email', '=', email).where('step_number', '=', step).executeTakeFirst();
  const resolve = (body: unknown, token = s.world.a.adminToken) => request(s.app).post(`/api/campaigns/${s.campaignId}/held/resolve`).set(bearer(token)).send(body as object);

  beforeAll(async () => {
    s = await campaignInEveryState(t.db, 'held');
    // Both rows whose connection dropped after DATA: held once their reconcile grace is over.
    await createSweep(s.config, createLogger('error'))(t.db, new Date(Date.now() + s.config.sending.reconcileGraceMs + 3 * 3_600_000));
  }, 90_000);
  afterAll(async () => {
    await s?.close();
  });

  it('refuses viewers, other clients and malformed requests, and changes nothing', async () => {
    const lost = (await rowOf(s.email('lost')))!;
    expect(lost.status).toBe('held');
    expect((await resolve({ decision: 'delivered', ids: [lost.id] }, s.world.a.viewerToken)).status).toBe(403);
    expect((await resolve({ decision: 'delivered', ids: [lost.id] }, s.world.b.adminToken)).status).toBe(404);
    const bad = await resolve({ decision: 'maybe', ids: [lost.id] });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: expect.any(String), details: expect.anything() });
    expect((await resolve({ decision: 'delivered', ids: [] })).status).toBe(400);
    expect((await rowOf(s.email('lost')))!.status).toBe('held');
  });

  it('settles a held row as delivered: sent, its follow-up queued, a send log and an audit row naming the operator', async () => {
    const lost = (await rowOf(s.email('lost')))!;
    const sentRow = (await rowOf(s.email('sent-a')))!;
    const res = await resolve({ decision: 'delivered', ids: [lost.id, sentRow.id] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ settled: [lost.id], notHeld: [sentRow.id] });
    expect(await rowOf(s.email('lost'))).toMatchObject({ status: 'sent', last_error: 'operator: delivered' });
    expect(await rowOf(s.email('lost'), 2)).toMatchObject({ status: 'queued', account_id: s.accountId });
    const logs = await t.db.selectFrom('send_logs').select(['outcome', 'response']).where('queue_id', '=', lost.id).orderBy('id').execute();
    expect(logs[logs.length - 1]).toEqual({ outcome: 'reconciled', response: 'operator: delivered' });
    const audit = await t.db.selectFrom('audit_log').selectAll().where('action', '=', 'queue.held_resolved').execute();
    expect(audit).toMatchObject([{ actor_type: 'user', actor_id: s.world.a.adminId, entity_id: s.campaignId, details: { decision: 'delivered', rows: [lost.id] } }]);
  });

  it('queues the rest to be sent again now with the same Message-ID, giving their quota back', async () => {
    const lost2 = (await rowOf(s.email('lost2')))!;
    expect(lost2.status).toBe('held');
    const counted = async () =>
      (await sql<{ n: number }>`select coalesce(sum(count), 0)::int as n from rate_counters where scope = 'account' and window_kind = 'day' and scope_key = ${s.accountId}`.execute(t.db)).rows[0]!.n;
    const before = await counted();
    const res = await resolve({ decision: 'resend' });
    expect(res.body).toEqual({ settled: [lost2.id], notHeld: [] });
    const after = (await rowOf(s.email('lost2')))!;
    expect(after).toMatchObject({ status: 'queued', message_id: lost2.message_id, lease_token: null });
    expect(after.run_after.getTime()).toBeLessThanOrEqual(Date.now());
    expect(await counted()).toBe(before - 1);
    // Nothing held is left: a second call settles nothing.
    expect((await resolve({ decision: 'resend' })).body).toEqual({ settled: [], notHeld: [] });
  });

  it('will not send anything again for a cancelled campaign', async () => {
    expect((await request(s.app).post(`/api/campaigns/${s.campaignId}/cancel`).set(bearer(s.world.a.adminToken))).status).toBe(200);
    const res = await resolve({ decision: 'resend' });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('invalid_state');
    expect((await resolve({ decision: 'delivered' })).status).toBe(200);
  });
});
