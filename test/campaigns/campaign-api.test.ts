import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, testApp, type World } from '../http/admin-api.helpers';

const t = useTestDatabase();

describe('campaigns API', () => {
  let world: World;
  let accountId: string;
  const api = () => request(world.app);
  const auth = () => bearer(world.a.adminToken);

  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'camp');
    const account = await t.db
      .insertInto('sender_accounts')
      .values({ client_id: world.a.clientId, email: 'sender@camp.example.com', display_name: 'Sam Sender', transport: 'sink' })
      .returning('id')
      .executeTakeFirstOrThrow();
    accountId = account.id;
  });

  const validCampaign = () => ({
    name: 'Spring outreach',
    timeZone: 'Europe/Berlin',
    sendDays: [1, 2, 3, 4, 5],
    windowStartMinute: 540,
    windowEndMinute: 1020,
    trackOpens: true,
    trackClicks: true,
    steps: [
      { subject: 'Hi {{first_name|there}}', bodyHtml: '<p>Hello {{first_name|there}} at {{company}}, see <a href="https://example.com/x">this</a></p>' },
      { subject: '', bodyText: 'Following up', delayMinutes: 2880 },
    ],
    senderAccountIds: [accountId],
  });

  it('creates a campaign with steps, sender pool, window and tracking, and reads it back', async () => {
    const created = await api().post('/api/campaigns').set(auth()).send(validCampaign());
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Spring outreach', status: 'draft', timeZone: 'Europe/Berlin', trackOpens: true, senderAccountIds: [accountId] });
    expect(created.body.steps.map((s: { stepNumber: number; delayMinutes: number }) => [s.stepNumber, s.delayMinutes])).toEqual([
      [1, 0],
      [2, 2880],
    ]);
    const read = await api().get(`/api/campaigns/${created.body.id}`).set(auth());
    expect(read.body).toEqual(created.body);
  });

  it('rejects header injection in names and subjects, bad windows and wrong types with field paths', async () => {
    const cases: Array<[object, string]> = [
      [{ ...validCampaign(), name: 'x\r\nBcc: all@example.com' }, 'name'],
      [{ ...validCampaign(), steps: [{ subject: 'Hi\nBcc: all@example.com', bodyText: 'x' }] }, 'steps.0.subject'],
      [{ ...validCampaign(), windowStartMinute: 2000 }, 'windowStartMinute'],
      [{ ...validCampaign(), sendDays: [0, 8] }, 'sendDays.0'],
      [{ ...validCampaign(), timeZone: 'Mars/Base' }, 'timeZone'],
      [{ ...validCampaign(), trackOpens: 'yes' }, 'trackOpens'],
      [{ ...validCampaign(), senderAccountIds: ['nope'] }, 'senderAccountIds.0'],
      [{ steps: [] }, 'name'],
    ];
    for (const [body, path] of cases) {
      const res = await api().post('/api/campaigns').set(auth()).send(body);
      expect({ path, status: res.status }).toEqual({ path, status: 400 });
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
  });

  it('refuses to start an incomplete campaign and says what is missing', async () => {
    const empty = await api().post('/api/campaigns').set(auth()).send({ name: 'Empty' });
    const res = await api().post(`/api/campaigns/${empty.body.id}/start`).set(auth());
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path).sort()).toEqual(['contacts', 'senderAccountIds', 'steps']);
  });

  it('refuses to start when a field without fallback is missing for some contact', async () => {
    const campaign = await api().post('/api/campaigns').set(auth()).send(validCampaign());
    await api()
      .post(`/api/campaigns/${campaign.body.id}/contacts/import`)
      .set(auth())
      .attach('file', Buffer.from('email,first_name,company\nwith@example.com,Wes,Acme\nwithout@example.com,Nia,\n'), 'c.csv');
    const res = await api().post(`/api/campaigns/${campaign.body.id}/start`).set(auth());
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues).toEqual([
      expect.objectContaining({ path: 'steps', details: expect.objectContaining({ field: 'company', missingCount: 1, sampleEmails: ['without@example.com'] }) }),
    ]);
  });

  it('starts, pauses, resumes and cancels a campaign, queueing step 1 and cancelling what waits', async () => {
    const campaign = await api().post('/api/campaigns').set(auth()).send(validCampaign());
    const id = campaign.body.id as string;
    await t.db.insertInto('suppressions').values({ client_id: world.a.clientId, email: 'blocked@example.com', reason: 'manual' }).execute();
    const imported = await api()
      .post(`/api/campaigns/${id}/contacts/import`)
      .set(auth())
      .attach('file', Buffer.from('email,first_name,company\na1@example.com,A,Acme\na2@example.com,B,Acme\nblocked@example.com,C,Acme\n'), 'c.csv');
    expect(imported.body).toMatchObject({ imported: 2, suppressed: 1, attachedToCampaign: 2 });

    const started = await api().post(`/api/campaigns/${id}/start`).set(auth());
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ campaign: { status: 'running' }, queued: 2 });
    expect((await api().post(`/api/campaigns/${id}/start`).set(auth())).status).toBe(409);

    // Contacts uploaded to a running campaign are queued straight away.
    const late = await api().post(`/api/campaigns/${id}/contacts/import`).set(auth()).attach('file', Buffer.from('email,company\nlate@example.com,Acme\n'), 'c.csv');
    expect(late.body).toMatchObject({ imported: 1, queued: 1 });

    expect((await api().post(`/api/campaigns/${id}/pause`).set(auth())).body.campaign.status).toBe('paused');
    expect((await api().post(`/api/campaigns/${id}/pause`).set(auth())).status).toBe(409);
    const resumed = await api().post(`/api/campaigns/${id}/resume`).set(auth());
    expect(resumed.body).toMatchObject({ campaign: { status: 'running' }, queued: 0 });

    const stats = await api().get(`/api/campaigns/${id}/stats`).set(auth());
    expect(stats.status).toBe(200);
    expect(stats.body.totals).toMatchObject({ queued: 3, due: 3, scheduled: 0, sent: 0, bounced: 0, failed: 0, cancelled: 0, opened: 0, clicked: 0, replied: 0, unsubscribed: 0 });
    expect(stats.body.steps).toEqual([expect.objectContaining({ stepNumber: 1, queued: 3, due: 3 })]);

    const cancelled = await api().post(`/api/campaigns/${id}/cancel`).set(auth());
    expect(cancelled.body).toMatchObject({ campaign: { status: 'cancelled' }, cancelledQueueRows: 3 });
    const rows = await t.db.selectFrom('email_queue').select('status').where('campaign_id', '=', id).execute();
    expect(rows.map((r) => r.status)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect((await api().post(`/api/campaigns/${id}/resume`).set(auth())).status).toBe(409);
    expect((await api().patch(`/api/campaigns/${id}`).set(auth()).send({ name: 'x' })).status).toBe(409);
    expect((await api().delete(`/api/campaigns/${id}`).set(auth())).status).toBe(409);
  });

  it('edits settings, steps and the sender pool of a draft, and deletes it', async () => {
    const campaign = await api().post('/api/campaigns').set(auth()).send(validCampaign());
    const id = campaign.body.id as string;
    const patched = await api().patch(`/api/campaigns/${id}`).set(auth()).send({ name: 'Renamed', dailyLimit: 100, stopOnReply: false });
    expect(patched.body).toMatchObject({ name: 'Renamed', dailyLimit: 100, stopOnReply: false });
    const steps = await api().put(`/api/campaigns/${id}/steps`).set(auth()).send({ steps: [{ subject: 'Only step', bodyText: 'Body' }] });
    expect(steps.body.steps).toHaveLength(1);
    expect((await api().put(`/api/campaigns/${id}/steps`).set(auth()).send({ steps: [] })).status).toBe(400);
    const pool = await api().put(`/api/campaigns/${id}/senders`).set(auth()).send({ senderAccountIds: [] });
    expect(pool.body.senderAccountIds).toEqual([]);
    expect((await api().delete(`/api/campaigns/${id}`).set(auth())).status).toBe(204);
    expect((await api().get(`/api/campaigns/${id}`).set(auth())).status).toBe(404);
  });

  it('previews a step for one contact with personalisation, footer and tracking', async () => {
    const campaign = await api().post('/api/campaigns').set(auth()).send(validCampaign());
    const contact = await api().post('/api/contacts').set(auth()).send({ email: 'pia@example.com', firstName: '<Pia>', company: 'Acme' });
    const res = await api().get(`/api/campaigns/${campaign.body.id}/steps/1/preview?contactId=${contact.body.id}`).set(auth());
    expect(res.status).toBe(200);
    expect(res.body.subject).toBe('Hi <Pia>');
    expect(res.body.html).toContain('Hello &lt;Pia&gt; at Acme');
    expect(res.body.html).toContain('1 Main St');
    expect(res.body.from).toBe('sender@camp.example.com');
    expect(res.body.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect((await api().get(`/api/campaigns/${campaign.body.id}/steps/9/preview?contactId=${contact.body.id}`).set(auth())).status).toBe(404);
    expect((await api().get(`/api/campaigns/${campaign.body.id}/steps/1/preview`).set(auth())).status).toBe(400);
  });

  it('filters the campaign list by status', async () => {
    const res = await api().get('/api/campaigns?status=cancelled').set(auth());
    expect(res.body.campaigns.every((c: { status: string }) => c.status === 'cancelled')).toBe(true);
    expect((await api().get('/api/campaigns?status=bogus').set(auth())).status).toBe(400);
    expect((await api().get('/api/campaigns?limit=0').set(auth())).status).toBe(400);
  });
});
