/**
 * The audit trail: every write route registered through ApiRouter is audited (or listed here
 * with the reason it is not), and a representative walk through the API leaves the rows it
 * should — who, what, target, before/after of settings with secrets redacted, from where —
 * readable through GET /api/audit within each caller's scope.
 */
import request from 'supertest';
import { buildAdminApi } from '../../src/http/api';
import { createLogger } from '../../src/logger';
import { useTestDatabase } from '../helpers/database';
import { addSenderDomain, bearer, createWorld, login, testApp, testConfig, type World } from '../http/admin-api.helpers';

/** The only write routes without an audit row, and why (a new opt-out must be added here, with its reason). */
const NOT_AUDITED: Record<string, RegExp> = {
  refreshTokens: /token rotation/,
};

/** Settings routes: their rows hold the target's state before and after. */
const LOADS_STATE = [
  'updateClient', 'deleteClient', 'createClient',
  'createUser', 'updateUser', 'deleteUser',
  'createDomain', 'updateDomain', 'deleteDomain', 'transferDomain',
  'createAccount', 'updateAccount', 'deleteAccount',
  'createCampaign', 'updateCampaign', 'deleteCampaign', 'replaceCampaignSteps', 'replaceCampaignSenders', 'startCampaign', 'pauseCampaign',
  'createAlertChannel', 'updateAlertChannel', 'deleteAlertChannel',
  'createWebhookEndpoint', 'updateWebhookEndpoint', 'deleteWebhookEndpoint',
];

describe('audit coverage of the write routes', () => {
  const api = buildAdminApi({ config: testConfig(), db: {} as never, logger: createLogger('error') });

  it('audits every write route but the listed ones, each opt-out with its reason', () => {
    expect(api.writeRoutes.length).toBeGreaterThan(40);
    const skipped = api.writeRoutes.filter((r) => !r.audited);
    expect(skipped.map((r) => r.operationId).sort()).toEqual(Object.keys(NOT_AUDITED).sort());
    for (const route of skipped) expect(route.skipReason).toMatch(NOT_AUDITED[route.operationId]!);
  });

  it('records the state before and after for the settings routes', () => {
    const loading = new Set(api.writeRoutes.filter((r) => r.loadsState).map((r) => r.operationId));
    expect(LOADS_STATE.filter((id) => !loading.has(id))).toEqual([]);
  });
});

describe('audit rows', () => {
  const t = useTestDatabase();
  let w: World;
  const rows = (action: string) => t.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

  beforeAll(async () => {
    const app = testApp(t.db);
    w = await createWorld(t.db, app, 'au');
  });

  it('records a login without its password, and a logout without its token', async () => {
    const tokens = await login(w.app, 'au-a-admin@example.com');
    await request(w.app).post('/api/auth/logout').send({ refreshToken: tokens.refreshToken }).expect(204);
    const [loginRow] = (await rows('login')).slice(-1);
    expect(loginRow).toMatchObject({ actor_email: 'au-a-admin@example.com', method: 'POST', path: '/api/auth/login', status: 200 });
    expect(JSON.stringify(loginRow)).not.toContain('correct horse');
    const [logoutRow] = await rows('logout');
    expect(JSON.stringify(logoutRow)).not.toContain(tokens.refreshToken);
  });

  it('records a settings change with who, from where, and the target before and after (secrets redacted)', async () => {
    const admin = bearer(w.a.adminToken);
    await addSenderDomain(w.app, w.a.adminToken, 'audit-a.example');
    const created = await request(w.app)
      .post('/api/accounts')
      .set(admin)
      .set('User-Agent', 'audit-test/1.0')
      .send({ email: 'box@audit-a.example', transport: 'smtp', transportSettings: { host: 'smtp.audit-a.example', port: 587 }, credentials: { user: 'box', pass: 'hunter2-very-secret' } });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await request(w.app).patch(`/api/accounts/${id}`).set(admin).send({ dailyLimit: 33 })).status).toBe(200);

    const [create] = await rows('createAccount');
    expect(create).toMatchObject({ client_id: w.a.clientId, actor_type: 'user', actor_id: w.a.adminId, actor_email: 'au-a-admin@example.com', actor_role: 'client_admin', entity_id: id, method: 'POST', path: '/api/accounts', status: 201, user_agent: 'audit-test/1.0', before: null });
    expect(create!.ip).toMatch(/127\.0\.0\.1|::1/);
    expect(create!.changes).toMatchObject({ email: 'box@audit-a.example', credentials: '[redacted]' });
    expect(JSON.stringify(create)).not.toContain('hunter2');
    expect(create!.after).toMatchObject({ id, email: 'box@audit-a.example' });

    const [update] = await rows('updateAccount');
    expect(update).toMatchObject({ entity_id: id, changes: { dailyLimit: 33 }, path: `/api/accounts/${id}` });
    expect((update!.before as { daily_limit?: number; dailyLimit?: number })).not.toMatchObject({ dailyLimit: 33 });
    expect(JSON.stringify(update!.after)).toContain('33');
  });

  it('records campaign, client, user and alert-channel writes, with secrets redacted', async () => {
    const owner = bearer(w.ownerToken);
    const admin = bearer(w.a.adminToken);
    const client = await request(w.app).post('/api/clients').set(owner).send({ name: 'Audited Co', postalAddress: '2 Main St' });
    expect(client.status).toBe(201);
    await request(w.app).patch(`/api/clients/${client.body.id}`).set(owner).send({ name: 'Audited Co Ltd' }).expect(200);
    const [clientRow] = await rows('updateClient');
    expect(clientRow).toMatchObject({ client_id: client.body.id, before: { name: 'Audited Co' }, after: { name: 'Audited Co Ltd' } });

    const campaign = await request(w.app).post('/api/campaigns').set(admin).send({ name: 'Audit me', steps: [{ subject: 'Hi', bodyText: 'Hello' }] });
    expect(campaign.status).toBe(201);
    await request(w.app).put(`/api/campaigns/${campaign.body.id}/steps`).set(admin).send({ steps: [{ subject: 'Hi again', bodyText: 'Hello' }] }).expect(200);
    const [steps] = await rows('replaceCampaignSteps');
    expect(JSON.stringify(steps!.before)).toContain('"Hi"');
    expect(JSON.stringify(steps!.after)).toContain('Hi again');

    const user = await request(w.app).post('/api/users').set(admin).send({ email: 'au-new@example.com', password: 'a-long-password-123', role: 'client_viewer' });
    expect(user.status).toBe(201);
    const [userRow] = await rows('createUser');
    expect(userRow!.changes).toMatchObject({ email: 'au-new@example.com', password: '[redacted]' });

    const channel = await request(w.app).post('/api/alert-channels').set(admin).send({ kind: 'telegram', name: 'Hook', chatId: '12345', botToken: '123456:abcdef0123456789-signing' });
    expect([channel.status, JSON.stringify(channel.body)]).toEqual([201, expect.any(String)]);
    const [channelRow] = await rows('createAlertChannel');
    expect(JSON.stringify(channelRow)).not.toContain('abcdef0123456789-signing');
    expect(channelRow!.after).toMatchObject({ name: 'Hook', secret_encrypted: '[redacted]' });

    await request(w.app).delete(`/api/alert-channels/${channel.body.id}`).set(admin).expect(204);
    const [deleted] = await rows('deleteAlertChannel');
    expect(deleted).toMatchObject({ status: 204, entity_id: channel.body.id, after: null, before: { name: 'Hook' } });
  });

  it('writes no row for a refused or failed write', async () => {
    const before = (await t.db.selectFrom('audit_log').select('id').execute()).length;
    expect((await request(w.app).post('/api/campaigns').set(bearer(w.a.viewerToken)).send({ name: 'x' })).status).toBe(403);
    expect((await request(w.app).patch('/api/accounts/00000000-0000-4000-8000-000000000000').set(bearer(w.a.adminToken)).send({ dailyLimit: 1 })).status).toBe(404);
    expect((await request(w.app).post('/api/auth/login').send({ email: 'au-a-admin@example.com', password: 'wrong password' })).status).toBe(401);
    expect((await t.db.selectFrom('audit_log').select('id').execute()).length).toBe(before);
  });

  it('answers GET /api/audit: the owner all, a client admin its client, a viewer 403; filters and pages', async () => {
    const all = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ limit: 500 });
    expect(all.status).toBe(200);
    expect(all.body.total).toBeGreaterThan(5);
    const clientsSeen = new Set((all.body.entries as Array<{ clientId: string | null }>).map((e) => e.clientId));
    expect(clientsSeen.has(w.a.clientId)).toBe(true);

    const own = await request(w.app).get('/api/audit').set(bearer(w.a.adminToken)).query({ limit: 500 });
    expect(own.status).toBe(200);
    expect((own.body.entries as Array<{ clientId: string }>).every((e) => e.clientId === w.a.clientId)).toBe(true);
    expect((await request(w.app).get('/api/audit').set(bearer(w.b.adminToken))).body.entries.some((e: { clientId: string }) => e.clientId === w.a.clientId)).toBe(false);
    expect((await request(w.app).get('/api/audit').set(bearer(w.a.viewerToken))).status).toBe(403);

    const byAction = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ action: 'updateAccount' });
    expect(byAction.body.entries.map((e: { action: string }) => e.action)).toEqual(['updateAccount']);
    const entry = byAction.body.entries[0];
    expect(entry).toMatchObject({ actor: { type: 'user', email: 'au-a-admin@example.com', role: 'client_admin' }, method: 'PATCH', status: 200 });
    const byTarget = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ target: entry.targetId });
    expect(byTarget.body.entries.map((e: { action: string }) => e.action).sort()).toEqual(['createAccount', 'updateAccount']);
    const byActor = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ actor: 'AU-A-ADMIN@example.com', action: 'createAccount' });
    expect(byActor.body.total).toBe(1);
    const future = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ from: new Date(Date.now() + 60_000).toISOString() });
    expect(future.body).toMatchObject({ entries: [], total: 0 });
    const paged = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ limit: 2, offset: 1 });
    expect(paged.body).toMatchObject({ limit: 2, offset: 1 });
    expect(paged.body.entries).toHaveLength(2);

    const bad = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ from: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('validation_failed');
    const backwards = await request(w.app).get('/api/audit').set(bearer(w.ownerToken)).query({ from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' });
    expect(backwards.status).toBe(400);
  });
});
