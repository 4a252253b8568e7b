/**
 * GET /campaigns/:id/stats/engagement: human and automated opens and clicks apart, in total,
 * per step, per reason and per day; scoped to the caller's client like every campaign read.
 */
import type { Express } from 'express';
import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('campaign engagement figures', () => {
  let app: Express;
  let world: World;
  let campaignId: string;

  beforeAll(async () => {
    app = testApp(t.db);
    world = await createWorld(t.db, app, 'engage');
    const admin = bearer(world.a.adminToken);
    await addSenderDomain(app, world.a.adminToken, 'engage-sink.example');
    const account = await request(app).post('/api/accounts').set(admin).send({ transport: 'sink', email: 'sender@engage-sink.example' });
    const campaign = await request(app)
      .post('/api/campaigns')
      .set(admin)
      .send({ name: 'Engagement', senderAccountIds: [account.body.id], steps: [{ subject: 'Hi', bodyText: 'Hello' }, { subject: 'Again', bodyText: 'Hello again', delayMinutes: 60 }] });
    campaignId = campaign.body.id;
    await request(app).post(`/api/campaigns/${campaignId}/contacts/import`).set(admin).set('Content-Type', 'text/csv').send('email\nhuman@engage.example\nproxy@engage.example\nquiet@engage.example\n');
    expect((await request(app).post(`/api/campaigns/${campaignId}/start`).set(admin)).status).toBe(200);

    // The queue rows as sent, and tracking events as the tracking endpoints record them.
    const rows = await t.db.selectFrom('email_queue').select(['id', 'to_email', 'client_id']).where('campaign_id', '=', campaignId).execute();
    await t.db.updateTable('email_queue').set({ status: 'sent', sent_at: new Date('2026-03-02T10:00:00Z') }).where('campaign_id', '=', campaignId).execute();
    const rowOf = (email: string) => rows.find((r) => r.to_email === email)!;
    const open = (email: string, automated_reason: string | null, at: string) => ({ client_id: rowOf(email).client_id, campaign_id: campaignId, queue_id: rowOf(email).id, automated_reason, occurred_at: new Date(at) });
    await t.db
      .insertInto('open_events')
      .values([
        open('human@engage.example', 'apple_mpp', '2026-03-02T10:01:00Z'),
        open('human@engage.example', null, '2026-03-03T09:00:00Z'),
        open('human@engage.example', null, '2026-03-03T09:05:00Z'),
        open('proxy@engage.example', 'apple_mpp', '2026-03-02T10:02:00Z'),
      ])
      .execute();
    await t.db
      .insertInto('click_events')
      .values([{ ...open('proxy@engage.example', 'link_scanner', '2026-03-02T10:03:00Z'), link_id: 0 }])
      .execute();
  });

  it('counts rows opened by a person apart from rows only a proxy or scanner fetched', async () => {
    const res = await request(app).get(`/api/campaigns/${campaignId}/stats/engagement`).set(bearer(world.a.viewerToken));
    expect(res.status).toBe(200);
    expect(res.body.totals).toEqual({ opened: 1, openedAutomatedOnly: 1, clicked: 0, clickedAutomatedOnly: 1, humanOpens: 2, automatedOpens: 2, humanClicks: 0, automatedClicks: 1 });
    expect(res.body.steps).toEqual([{ stepNumber: 1, ...res.body.totals }]);
    expect(res.body.automatedReasons).toEqual([
      { reason: 'apple_mpp', opens: 2, clicks: 0 },
      { reason: 'link_scanner', opens: 0, clicks: 1 },
    ]);
    expect(res.body.days).toEqual([
      { day: '2026-03-02', humanOpens: 0, automatedOpens: 2, humanClicks: 0, automatedClicks: 1 },
      { day: '2026-03-03', humanOpens: 2, automatedOpens: 0, humanClicks: 0, automatedClicks: 0 },
    ]);
  });

  it('answers zeros for a campaign nobody opened, and 404 to another client and to a malformed id', async () => {
    const empty = await request(app).post('/api/campaigns').set(bearer(world.a.adminToken)).send({ name: 'Quiet' });
    const quiet = await request(app).get(`/api/campaigns/${empty.body.id}/stats/engagement`).set(bearer(world.a.adminToken));
    expect(quiet.status).toBe(200);
    expect(quiet.body).toMatchObject({ steps: [], automatedReasons: [], days: [], totals: { opened: 0, automatedOpens: 0 } });

    const foreign = await request(app).get(`/api/campaigns/${campaignId}/stats/engagement`).set(bearer(world.b.adminToken));
    expect(foreign.status).toBe(404);
    expect(foreign.body.error.code).toBe('not_found');
    expect((await request(app).get('/api/campaigns/not-a-uuid/stats/engagement').set(bearer(world.a.adminToken))).status).toBe(404);
    expect((await request(app).get(`/api/campaigns/${campaignId}/stats/engagement`)).status).toBe(401);
  });
});
