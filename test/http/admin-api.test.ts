import request from 'supertest';
import { useTestDatabase } from '../helpers/database';
import { bearer, createWorld, login, testApp, type World } from './admin-api.helpers';

const t = useTestDatabase();

describe('clients and users API', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'cu');
  });

  it('lets the owner create, list, update and delete clients', async () => {
    const owner = bearer(world.ownerToken);
    const created = await request(world.app).post('/api/clients').set(owner).send({ name: 'Globex', postalAddress: '5 Road\nTown', trackingDomain: 'Track.Globex.com' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Globex', trackingDomain: 'track.globex.com' });
    expect((await request(world.app).post('/api/clients').set(owner).send({ name: 'globex' })).status).toBe(409);
    expect((await request(world.app).post('/api/clients').set(owner).send({ name: 'Bad\r\nName' })).status).toBe(400);
    expect((await request(world.app).post('/api/clients').set(owner).send({ name: 'X', dailyLimit: -1 })).status).toBe(400);
    expect((await request(world.app).get('/api/clients').set(owner)).body.clients.length).toBeGreaterThanOrEqual(3);
    expect((await request(world.app).patch(`/api/clients/${created.body.id}`).set(owner).send({ dailyLimit: 1000 })).body.dailyLimit).toBe(1000);
    expect((await request(world.app).delete(`/api/clients/${created.body.id}`).set(owner)).status).toBe(204);
  });

  it('lets a client admin edit their own client but see no other', async () => {
    const admin = bearer(world.a.adminToken);
    expect((await request(world.app).get('/api/clients').set(admin)).body.clients.map((c: { id: string }) => c.id)).toEqual([world.a.clientId]);
    expect((await request(world.app).patch(`/api/clients/${world.a.clientId}`).set(admin).send({ postalAddress: '2 New St' })).body.postalAddress).toBe('2 New St');
  });

  it('lets a client admin manage users of their client only, with client roles only', async () => {
    const admin = bearer(world.a.adminToken);
    const created = await request(world.app).post('/api/users').set(admin).send({ email: 'New.Viewer@cu.example.com', password: 'long enough password', role: 'client_viewer', clientId: world.b.clientId });
    expect(created.status).toBe(201);
    // A client admin's clientId in the body is ignored: the user always joins the admin's own client.
    expect(created.body).toMatchObject({ email: 'new.viewer@cu.example.com', role: 'client_viewer', clientId: world.a.clientId, disabled: false });
    expect(JSON.stringify(created.body)).not.toMatch(/password|hash/i);
    expect((await request(world.app).post('/api/users').set(admin).send({ email: 'new.viewer@cu.example.com', password: 'long enough password', role: 'client_viewer' })).status).toBe(409);
    expect((await request(world.app).post('/api/users').set(admin).send({ email: 'x@cu.example.com', password: 'short', role: 'client_viewer' })).status).toBe(400);
    const tokens = await login(world.app, 'new.viewer@cu.example.com', 'long enough password');

    const promoted = await request(world.app).patch(`/api/users/${created.body.id}`).set(admin).send({ role: 'client_admin' });
    expect(promoted.body.role).toBe('client_admin');
    // A role change ends the user's sessions so the new rights apply at once.
    expect((await request(world.app).get('/api/auth/me').set(bearer(tokens.accessToken))).status).toBe(401);
    expect((await request(world.app).patch(`/api/users/${created.body.id}`).set(admin).send({ role: 'owner' })).status).toBe(400);
    expect((await request(world.app).patch(`/api/users/${world.a.adminId}`).set(admin).send({ disabled: true })).status).toBe(409);
    expect((await request(world.app).delete(`/api/users/${world.a.adminId}`).set(admin)).status).toBe(409);
    const users = await request(world.app).get('/api/users').set(admin);
    expect(users.body.users.every((u: { clientId: string }) => u.clientId === world.a.clientId)).toBe(true);
    expect((await request(world.app).delete(`/api/users/${created.body.id}`).set(admin)).status).toBe(204);
  });

  it('lets the owner create users for a named client and other owners', async () => {
    const owner = bearer(world.ownerToken);
    const missing = await request(world.app).post('/api/users').set(owner).send({ email: 'c@cu.example.com', password: 'long enough password', role: 'client_admin' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details.issues[0].path).toBe('clientId');
    const unknownClient = await request(world.app).post('/api/users').set(owner).send({ email: 'c@cu.example.com', password: 'long enough password', role: 'client_admin', clientId: '00000000-0000-4000-8000-000000000000' });
    expect(unknownClient.status).toBe(404);
    const ok = await request(world.app).post('/api/users').set(owner).send({ email: 'c@cu.example.com', password: 'long enough password', role: 'client_admin', clientId: world.b.clientId });
    expect(ok.body.clientId).toBe(world.b.clientId);
    const secondOwner = await request(world.app).post('/api/users').set(owner).send({ email: 'o2@cu.example.com', password: 'long enough password', role: 'owner' });
    expect(secondOwner.body).toMatchObject({ role: 'owner', clientId: null });
  });
});

describe('suppressions API', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'sup');
  });

  it('adds an address, cancels its waiting mail, and lists it', async () => {
    const admin = bearer(world.a.adminToken);
    const first = await request(world.app).post('/api/suppressions').set(admin).send({ email: 'Stop@Example.com' });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ email: 'stop@example.com', added: true });
    expect((await request(world.app).post('/api/suppressions').set(admin).send({ email: 'stop@example.com' })).body.added).toBe(false);
    expect((await request(world.app).post('/api/suppressions').set(admin).send({ email: 'nope' })).status).toBe(400);
    const listed = await request(world.app).get('/api/suppressions?search=stop').set(admin);
    expect(listed.body.suppressions).toEqual([expect.objectContaining({ email: 'stop@example.com', reason: 'manual' })]);
  });

  it('removes manual suppressions but never an unsubscribe or complaint', async () => {
    const admin = bearer(world.a.adminToken);
    const rows = await t.db
      .insertInto('suppressions')
      .values([
        { client_id: world.a.clientId, email: 'unsub@example.com', reason: 'unsubscribed' },
        { client_id: world.a.clientId, email: 'manual@example.com', reason: 'manual' },
      ])
      .returning('id')
      .execute();
    expect((await request(world.app).delete(`/api/suppressions/${rows[0]!.id}`).set(admin)).status).toBe(409);
    expect((await request(world.app).delete(`/api/suppressions/${rows[1]!.id}`).set(admin)).status).toBe(204);
    expect((await request(world.app).delete(`/api/suppressions/${rows[1]!.id}`).set(admin)).status).toBe(404);
  });

  it('imports a CSV of addresses with a report, and rejects malformed CSV', async () => {
    const admin = bearer(world.a.adminToken);
    const res = await request(world.app).post('/api/suppressions/import').set(admin).attach('file', Buffer.from('email,note\nx1@example.com,a\nbad,b\nx1@example.com,c\nstop@example.com,d\n'), 's.csv');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rows: 4, added: 1, alreadySuppressed: 2, invalid: 1, errors: [{ line: 3, message: 'not a valid email address' }] });
    const bad = await request(world.app).post('/api/suppressions/import').set(admin).attach('file', Buffer.from('email\n"x9@example.com\n'), 's.csv');
    expect(bad.status).toBe(400);
    expect(await t.db.selectFrom('suppressions').select('id').where('email', '=', 'x9@example.com').executeTakeFirst()).toBeUndefined();
  });

  it('exports CSV that a spreadsheet shows as text, never as formulas', async () => {
    await t.db
      .insertInto('suppressions')
      .values([
        { client_id: world.a.clientId, email: '=cmd@example.com', reason: 'manual', source: '=HYPERLINK("http://evil")' },
        { client_id: world.a.clientId, email: '+x@example.com', reason: 'manual', source: '@SUM(A1)' },
        { client_id: world.a.clientId, email: '-y@example.com', reason: 'manual', source: '\tTAB' },
      ])
      .execute();
    const res = await request(world.app).get('/api/suppressions/export').set(bearer(world.a.viewerToken));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toContain('suppressions.csv');
    const lines = res.text.trim().split('\n');
    expect(lines[0]).toBe('email,reason,source,created_at,client_id');
    expect(res.text).toContain(`'=cmd@example.com,manual,"'=HYPERLINK(""http://evil"")"`);
    expect(res.text).toContain(`'+x@example.com,manual,'@SUM(A1)`);
    expect(res.text).toContain(`'-y@example.com,manual,'\tTAB`);
    for (const line of lines.slice(1)) expect(line).not.toMatch(/(^|,)"?[=+\-@\t]/);
  });
});

describe('stats API', () => {
  let world: World;
  beforeAll(async () => {
    world = await createWorld(t.db, testApp(t.db), 'st');
  });

  it('counts queued, sent, bounced, opened, clicked, replied and unsubscribed per campaign, step, account and day', async () => {
    const db = t.db;
    const clientId = world.a.clientId;
    const account = await db.insertInto('sender_accounts').values({ client_id: clientId, email: 's@st.example.com', transport: 'sink' }).returning('id').executeTakeFirstOrThrow();
    const campaign = await db.insertInto('campaigns').values({ client_id: clientId, name: 'stats', status: 'running' }).returning('id').executeTakeFirstOrThrow();
    const steps = await db
      .insertInto('sequence_steps')
      .values([1, 2].map((n) => ({ campaign_id: campaign.id, step_number: n, subject: `s${n}` })))
      .returning(['id', 'step_number'])
      .execute();
    const sentAt = new Date('2026-03-02T10:00:00Z');
    const queueIds: number[] = [];
    for (let i = 0; i < 5; i++) {
      const contact = await db.insertInto('contacts').values({ client_id: clientId, email: `c${i}@x.example.com`, email_domain: 'x.example.com' }).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('campaign_contacts').values({ campaign_id: campaign.id, contact_id: contact.id, status: i === 3 ? 'unsubscribed' : 'active', account_id: account.id }).execute();
      const status = i === 4 ? 'queued' : i === 2 ? 'bounced' : 'sent';
      const row = await db
        .insertInto('email_queue')
        .values({
          client_id: clientId, campaign_id: campaign.id, contact_id: contact.id, step_id: steps[0]!.id, step_number: 1, account_id: account.id,
          to_email: `c${i}@x.example.com`, recipient_domain: 'x.example.com', message_id: `<st${i}@x>`, status,
          sent_at: status === 'queued' ? null : sentAt, created_at: new Date('2026-03-01T10:00:00Z'),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      queueIds.push(row.id);
      if (i === 3) await db.insertInto('suppressions').values({ client_id: clientId, email: `c${i}@x.example.com`, reason: 'unsubscribed', created_at: new Date('2026-03-03T08:00:00Z') }).execute();
    }
    const link = await db.insertInto('links').values({ client_id: clientId, campaign_id: campaign.id, step_id: steps[0]!.id, url: 'https://e.example.com' }).returning('id').executeTakeFirstOrThrow();
    const event = { client_id: clientId, campaign_id: campaign.id, occurred_at: new Date('2026-03-02T12:00:00Z') };
    await db.insertInto('open_events').values([{ ...event, queue_id: queueIds[0]! }, { ...event, queue_id: queueIds[0]! }, { ...event, queue_id: queueIds[1]!, automated_reason: 'privacy_proxy' }]).execute();
    await db.insertInto('click_events').values([{ ...event, queue_id: queueIds[0]!, link_id: link.id }]).execute();
    await db.insertInto('bounces').values({ client_id: clientId, queue_id: queueIds[2]!, email: 'c2@x.example.com', bounce_type: 'hard', received_at: new Date('2026-03-02T15:00:00Z') }).execute();
    await db.insertInto('replies').values({ client_id: clientId, campaign_id: campaign.id, queue_id: queueIds[1]!, from_email: 'c1@x.example.com', received_at: new Date('2026-03-03T09:00:00Z') }).execute();
    await db.insertInto('complaints').values({ client_id: clientId, queue_id: queueIds[0]!, account_id: account.id, email: 'c0@x.example.com', received_at: new Date('2026-03-03T10:00:00Z') }).execute();

    const res = await request(world.app).get(`/api/campaigns/${campaign.id}/stats`).set(bearer(world.a.viewerToken));
    expect(res.status).toBe(200);
    const states = { due: 1, scheduled: 0, retrying: 0, inFlight: 0, unknown: 0, held: 0, failed: 0, suppressed: 0, cancelled: 0 };
    const expected = { queued: 1, sent: 4, bounced: 1, opened: 1, clicked: 1, replied: 1, unsubscribed: 1, complained: 1, ...states };
    expect(res.body.totals).toEqual(expected);
    expect(res.body.steps).toEqual([{ stepNumber: 1, ...expected }]);
    expect(res.body.accounts).toEqual([{ accountId: account.id, ...expected }]);
    expect(res.body.days).toEqual([
      { day: '2026-03-01', queued: 5, sent: 0, bounced: 0, opened: 0, clicked: 0, replied: 0, unsubscribed: 0, complained: 0 },
      { day: '2026-03-02', queued: 0, sent: 4, bounced: 1, opened: 1, clicked: 1, replied: 0, unsubscribed: 0, complained: 0 },
      { day: '2026-03-03', queued: 0, sent: 0, bounced: 0, opened: 0, clicked: 0, replied: 1, unsubscribed: 1, complained: 1 },
    ]);

    const accounts = await request(world.app).get('/api/stats/accounts?from=2026-03-01&to=2026-03-31').set(bearer(world.a.adminToken));
    expect(accounts.body.accounts).toEqual([{ accountId: account.id, email: 's@st.example.com', ...expected }]);
    // By default the last 30 UTC days as whole days, today included.
    const dayMs = 86_400_000;
    const today = Math.floor(Date.now() / dayMs) * dayMs;
    const byDefault = await request(world.app).get('/api/stats/accounts').set(bearer(world.a.adminToken));
    expect(byDefault.status).toBe(200);
    expect([byDefault.body.from, byDefault.body.to]).toEqual([new Date(today - 29 * dayMs).toISOString(), new Date(today + dayMs).toISOString()]);
    expect((await request(world.app).get('/api/stats/accounts?from=2026-13-01').set(bearer(world.a.adminToken))).status).toBe(400);
    expect((await request(world.app).get('/api/stats/accounts?from=2026-03-05&to=2026-03-01').set(bearer(world.a.adminToken))).status).toBe(400);
  });
});
